/**
 * The flagship example (`npm start`): a report on the packages of a repository, as a Troupe workflow.
 *
 * Nine tasks do real work on local files, through Effect's `FileSystem` and `Path` services:
 *
 * ```text
 *                ┌─ count-lines ───┬─ largest-files ─────────────────────┐
 *   scan ────────┤                 └─ test-ratio ───────┐                │
 *                │                                      ├─ summary ──────┼─ report
 *                └─ read-manifests ┬─ dependency-graph ─┘                │
 *                                  └─ external-deps ─────────────────────┘
 * ```
 *
 * (`summary` also reads `count-lines` and `read-manifests`, and `report` reads `dependency-graph`; the
 * example prints the real graph of the plan before it runs.)
 *
 * - `scan` lists the packages under `<root>/packages/*` (folders with a `package.json`) and their source
 *   files (skipping `node_modules`, `dist` and dot-folders);
 * - two branches then run in parallel: `count-lines` reads every file (all packages at once) and counts
 *   lines, blank lines, comment lines and code; `read-manifests` decodes each `package.json` with a Schema;
 * - `largest-files` and `test-ratio` work on the counts; `dependency-graph` (which workspace package
 *   depends on which, and a build order) and `external-deps` (third-party dependencies, and version
 *   ranges that disagree) work on the manifests;
 * - `summary` joins both branches into one row per package; `report` writes `<root>/.troupe/report.md`
 *   and returns its path.
 *
 * Every handler receives exactly the typed outputs it declared in `dependsOn`. The tasks need
 * `FileSystem | Path`, so the workflow's type says so: `Engine.run` cannot be run until a layer provides
 * them (`NodeServices.layer` here; a test can provide an in-memory file system instead).
 *
 * Run it: `npm start` (this repository), or `npx node --conditions=source examples/src/flagship.ts <root>`.
 *
 * @since 0.1.0
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Engine, Plan, RunState, RunStore, Workflow } from "@troupe/core"
import { Durable } from "@troupe/durable"
import { Ascii } from "@troupe/visualize"
import { Clock, Console, Effect, FileSystem, Path, Schema } from "effect"
import type { PlatformError } from "effect/PlatformError"
import { mkdirSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { type ProgressOptions, progressView, table, taskTable } from "./internal/terminal.ts"

// -----------------------------------------------------------------------------
// Models
// -----------------------------------------------------------------------------

/**
 * What a file is for: `source` (under `src/`), `test` (under `test/`, `typetest/` and the like, or named
 * `*.test.*` / `*.spec.*`), or `other` (configuration, scripts).
 *
 * @category models
 * @since 0.1.0
 */
export type FileKind = "source" | "test" | "other"

/**
 * A source file of a package, relative to the package folder (with `/` separators).
 *
 * @category models
 * @since 0.1.0
 */
export interface SourceFile {
  readonly path: string
  readonly kind: FileKind
}

/**
 * A package found by `scan`.
 *
 * @category models
 * @since 0.1.0
 */
export interface PackageDir {
  /** The folder name under `packages/`. */
  readonly dir: string
  readonly absolutePath: string
  readonly files: ReadonlyArray<SourceFile>
}

/**
 * Line counts. `lines` counts every line (a final newline does not start another); `blank` lines hold
 * only whitespace; `comment` lines start with `//`, `/*` or `*` once trimmed (so the inside and the end
 * of a block comment count too); `code` is the rest.
 *
 * @category models
 * @since 0.1.0
 */
export interface Counts {
  readonly files: number
  readonly lines: number
  readonly blank: number
  readonly comment: number
  readonly code: number
}

/**
 * The counts of one file.
 *
 * @category models
 * @since 0.1.0
 */
export interface FileCounts extends Counts {
  readonly path: string
  readonly kind: FileKind
}

/**
 * The counts of one package: in total, by kind of file, and per file.
 *
 * @category models
 * @since 0.1.0
 */
export interface PackageCounts {
  readonly dir: string
  readonly total: Counts
  readonly byKind: Readonly<Record<FileKind, Counts>>
  readonly files: ReadonlyArray<FileCounts>
}

/**
 * The fields of a `package.json` the report reads.
 *
 * @category schemas
 * @since 0.1.0
 */
export const Manifest = Schema.Struct({
  name: Schema.String,
  version: Schema.optionalKey(Schema.String),
  description: Schema.optionalKey(Schema.String),
  private: Schema.optionalKey(Schema.Boolean),
  dependencies: Schema.optionalKey(Schema.Record(Schema.String, Schema.String)),
  peerDependencies: Schema.optionalKey(Schema.Record(Schema.String, Schema.String)),
  devDependencies: Schema.optionalKey(Schema.Record(Schema.String, Schema.String))
})

/**
 * @category models
 * @since 0.1.0
 */
export type DependencyKind = "dependencies" | "peerDependencies" | "devDependencies"

/**
 * A package's manifest, read by `read-manifests`.
 *
 * @category models
 * @since 0.1.0
 */
export interface PackageManifest {
  readonly dir: string
  readonly name: string
  readonly version: string
  readonly description: string
  readonly dependencies: ReadonlyArray<{ readonly name: string; readonly range: string; readonly kind: DependencyKind }>
}

/**
 * How workspace packages depend on each other.
 *
 * @category models
 * @since 0.1.0
 */
export interface DependencyGraph {
  /** `from` depends on `to` (package names). */
  readonly edges: ReadonlyArray<{ readonly from: string; readonly to: string }>
  /** Build order: level 0 depends on no other workspace package, level n on something in level n - 1. */
  readonly levels: ReadonlyArray<ReadonlyArray<string>>
  /** Packages on a dependency cycle (they get no level). */
  readonly cyclic: ReadonlyArray<string>
  readonly dependsOn: Readonly<Record<string, ReadonlyArray<string>>>
  readonly usedBy: Readonly<Record<string, ReadonlyArray<string>>>
}

/**
 * A third-party dependency and who uses it.
 *
 * @category models
 * @since 0.1.0
 */
export interface ExternalDependency {
  readonly name: string
  readonly usedBy: ReadonlyArray<{ readonly pkg: string; readonly range: string; readonly kind: DependencyKind }>
  /** True when packages ask for different version ranges. */
  readonly mismatched: boolean
}

/**
 * Test code compared with source code, per package (code lines, not counting blanks and comments).
 *
 * @category models
 * @since 0.1.0
 */
export interface TestRatio {
  readonly dir: string
  readonly sourceCode: number
  readonly testCode: number
  /** `testCode / sourceCode`, or `undefined` when there is no source code. */
  readonly ratio: number | undefined
}

/**
 * One row of the summary: a package with its manifest, counts and relations.
 *
 * @category models
 * @since 0.1.0
 */
export interface PackageSummary {
  readonly dir: string
  readonly name: string
  readonly version: string
  readonly description: string
  readonly total: Counts
  readonly ratio: number | undefined
  readonly dependsOn: ReadonlyArray<string>
  readonly usedBy: ReadonlyArray<string>
}

/**
 * A `package.json` that cannot be read as a manifest.
 *
 * @category errors
 * @since 0.1.0
 */
export class ManifestError extends Schema.TaggedError<ManifestError>()("ManifestError", {
  path: Schema.String,
  reason: Schema.String
}) {}

// -----------------------------------------------------------------------------
// Scanning and counting
// -----------------------------------------------------------------------------

const SOURCE_EXTENSIONS = new Set([".ts", ".tsx", ".mts", ".cts", ".js", ".jsx", ".mjs", ".cjs"])
const IGNORED_FOLDERS = new Set(["node_modules", "dist", "build", "coverage"])
const TEST_FOLDERS = new Set(["test", "tests", "__tests__", "typetest", "typetests"])
const TEST_FILE = /\.(test|spec)\.[cm]?[jt]sx?$/

/**
 * Classifies a file by its path relative to the package folder.
 *
 * @category scanning
 * @since 0.1.0
 */
export const classify = (relativePath: string): FileKind => {
  const segments = relativePath.split("/")
  if (TEST_FILE.test(segments[segments.length - 1]!) || segments.slice(0, -1).some((s) => TEST_FOLDERS.has(s))) {
    return "test"
  }
  return segments[0] === "src" ? "source" : "other"
}

/**
 * Counts the lines of a text (see `Counts`; `files` is 1).
 *
 * @category counting
 * @since 0.1.0
 */
export const countText = (text: string): Counts => {
  if (text.length === 0) return { files: 1, lines: 0, blank: 0, comment: 0, code: 0 }
  const lines = text.split(/\r?\n/)
  if (lines[lines.length - 1] === "") lines.pop()
  let blank = 0
  let comment = 0
  for (const line of lines) {
    const t = line.trim()
    if (t === "") blank++
    else if (t.startsWith("//") || t.startsWith("/*") || t.startsWith("*")) comment++
  }
  return { files: 1, lines: lines.length, blank, comment, code: lines.length - blank - comment }
}

const zero: Counts = { files: 0, lines: 0, blank: 0, comment: 0, code: 0 }

const add = (a: Counts, b: Counts): Counts => ({
  files: a.files + b.files,
  lines: a.lines + b.lines,
  blank: a.blank + b.blank,
  comment: a.comment + b.comment,
  code: a.code + b.code
})

/** Lists the source files under `dir` (paths prefixed with `prefix`), sorted. */
const listFiles = (
  dir: string,
  prefix: string
): Effect.Effect<Array<string>, PlatformError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const entries = yield* fs.readDirectoryEntries(dir)
    const nested = yield* Effect.forEach(
      entries,
      (entry) =>
        Effect.gen(function*() {
          const full = path.join(dir, entry.name)
          const type = entry.type === "Unknown" ? (yield* fs.stat(full)).type : entry.type
          const rel = prefix === "" ? entry.name : `${prefix}/${entry.name}`
          if (type === "Directory") {
            return entry.name.startsWith(".") || IGNORED_FOLDERS.has(entry.name) ? [] : yield* listFiles(full, rel)
          }
          return type === "File" && SOURCE_EXTENSIONS.has(path.extname(entry.name)) ? [rel] : []
        }),
      { concurrency: 8 }
    )
    return nested.flat().sort()
  })

// -----------------------------------------------------------------------------
// The workflow
// -----------------------------------------------------------------------------

/**
 * The repository this file lives in (two folders up from `examples/src/`).
 *
 * @category workflows
 * @since 0.1.0
 */
export const defaultRoot: string = fileURLToPath(new URL("../..", import.meta.url)).replace(/[\\/]$/, "")

/**
 * The input: the repository root. When decoded (`Workflow.decodeInput`, a CLI), a missing `root` means
 * `defaultRoot`.
 *
 * @category schemas
 * @since 0.1.0
 */
export const ReportInput = Schema.Struct({
  root: Schema.String.pipe(Schema.withDecodingDefaultKey(Effect.succeed(defaultRoot)))
})

/**
 * The workflow.
 *
 * @category workflows
 * @since 0.1.0
 */
export const repoReport = Workflow.make("repo-report", {
  input: ReportInput,
  description: "Lines of code, tests, manifests and dependencies of a repository's packages"
})
  .task("scan", { description: "find packages/* and their source files", priority: 10 }, ({ input }) =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const packagesDir = path.join(input.root, "packages")
      const names = (yield* fs.readDirectory(packagesDir)).filter((name) => !name.startsWith(".")).sort()
      const found = yield* Effect.forEach(names, (dir) =>
        Effect.gen(function*() {
          const absolutePath = path.join(packagesDir, dir)
          const isDir = (yield* fs.stat(absolutePath)).type === "Directory"
          if (!isDir || !(yield* fs.exists(path.join(absolutePath, "package.json")))) return []
          const files = yield* listFiles(absolutePath, "")
          return [{ dir, absolutePath, files: files.map((p) => ({ path: p, kind: classify(p) })) }]
        }), { concurrency: "unbounded" })
      return found.flat() satisfies ReadonlyArray<PackageDir>
    }))
  // Branch 1: the code.
  .task("count-lines", { dependsOn: ["scan"], description: "count lines of every file, packages in parallel" }, ({ scan }) =>
    Effect.forEach(scan, (pkg) =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const path = yield* Path.Path
        const files = yield* Effect.forEach(
          pkg.files,
          (file) =>
            fs.readFileString(path.join(pkg.absolutePath, file.path)).pipe(
              Effect.map((text): FileCounts => ({ ...countText(text), path: file.path, kind: file.kind }))
            ),
          { concurrency: 16 }
        )
        const byKind: Record<FileKind, Counts> = { source: zero, test: zero, other: zero }
        for (const file of files) byKind[file.kind] = add(byKind[file.kind], file)
        return { dir: pkg.dir, total: files.reduce<Counts>(add, zero), byKind, files } satisfies PackageCounts
      }), { concurrency: "unbounded" }))
  // Branch 2: the manifests.
  .task("read-manifests", { dependsOn: ["scan"], description: "decode each package.json" }, ({ scan }) =>
    Effect.forEach(scan, (pkg) =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const path = yield* Path.Path
        const file = path.join(pkg.absolutePath, "package.json")
        const text = yield* fs.readFileString(file)
        const manifest = yield* Schema.decodeUnknownEffect(Schema.fromJsonString(Manifest))(text).pipe(
          Effect.mapError((error) => new ManifestError({ path: file, reason: error.message }))
        )
        const kinds: ReadonlyArray<DependencyKind> = ["dependencies", "peerDependencies", "devDependencies"]
        return {
          dir: pkg.dir,
          name: manifest.name,
          version: manifest.version ?? "0.0.0",
          description: manifest.description ?? "",
          dependencies: kinds.flatMap((kind) =>
            Object.entries(manifest[kind] ?? {}).map(([name, range]) => ({ name, range, kind }))
          )
        } satisfies PackageManifest
      }), { concurrency: "unbounded" }))
  .task("largest-files", { dependsOn: ["count-lines"], description: "the ten longest files" }, ({ "count-lines": counts }) =>
    Effect.succeed(
      counts
        .flatMap((pkg) => pkg.files.map((file) => ({ file: `${pkg.dir}/${file.path}`, lines: file.lines })))
        .sort((a, b) => b.lines - a.lines || a.file.localeCompare(b.file))
        .slice(0, 10)
    ))
  .task("test-ratio", { dependsOn: ["count-lines"], description: "test code per line of source code" }, ({ "count-lines": counts }) =>
    Effect.succeed(counts.map((pkg): TestRatio => {
      const sourceCode = pkg.byKind.source.code
      const testCode = pkg.byKind.test.code
      return { dir: pkg.dir, sourceCode, testCode, ratio: sourceCode === 0 ? undefined : testCode / sourceCode }
    })))
  .task("dependency-graph", { dependsOn: ["read-manifests"], description: "workspace packages and a build order" }, ({ "read-manifests": manifests }) =>
    Effect.sync((): DependencyGraph => {
      const names = new Set(manifests.map((m) => m.name))
      const dependsOn: Record<string, Array<string>> = {}
      const usedBy: Record<string, Array<string>> = {}
      for (const m of manifests) {
        dependsOn[m.name] = []
        usedBy[m.name] = []
      }
      const edges: Array<{ from: string; to: string }> = []
      for (const m of manifests) {
        for (const to of new Set(m.dependencies.map((d) => d.name).filter((d) => names.has(d) && d !== m.name))) {
          edges.push({ from: m.name, to })
          dependsOn[m.name]!.push(to)
          usedBy[to]!.push(m.name)
        }
      }
      // Kahn's algorithm, one level at a time.
      const levels: Array<Array<string>> = []
      const placed = new Set<string>()
      let level = [...names].filter((n) => dependsOn[n]!.length === 0).sort()
      while (level.length > 0) {
        levels.push(level)
        for (const n of level) placed.add(n)
        level = [...names].filter((n) => !placed.has(n) && dependsOn[n]!.every((d) => placed.has(d))).sort()
      }
      const cyclic = [...names].filter((n) => !placed.has(n)).sort()
      return { edges, levels, cyclic, dependsOn, usedBy }
    }))
  .task("external-deps", { dependsOn: ["read-manifests"], description: "third-party dependencies" }, ({ "read-manifests": manifests }) =>
    Effect.sync((): ReadonlyArray<ExternalDependency> => {
      const workspace = new Set(manifests.map((m) => m.name))
      const byName = new Map<string, Array<ExternalDependency["usedBy"][number]>>()
      for (const m of manifests) {
        for (const d of m.dependencies) {
          if (workspace.has(d.name)) continue
          const users = byName.get(d.name) ?? []
          users.push({ pkg: m.name, range: d.range, kind: d.kind })
          byName.set(d.name, users)
        }
      }
      return [...byName]
        .map(([name, usedBy]) => ({ name, usedBy, mismatched: new Set(usedBy.map((u) => u.range)).size > 1 }))
        .sort((a, b) => b.usedBy.length - a.usedBy.length || a.name.localeCompare(b.name))
    }))
  // The two branches meet.
  .task(
    "summary",
    { dependsOn: ["count-lines", "read-manifests", "test-ratio", "dependency-graph"], description: "one row per package" },
    ({ "count-lines": counts, "read-manifests": manifests, "test-ratio": ratios, "dependency-graph": graph }) =>
      Effect.succeed(manifests.map((m): PackageSummary => {
        const count = counts.find((c) => c.dir === m.dir)
        return {
          dir: m.dir,
          name: m.name,
          version: m.version,
          description: m.description,
          total: count?.total ?? zero,
          ratio: ratios.find((r) => r.dir === m.dir)?.ratio,
          dependsOn: graph.dependsOn[m.name] ?? [],
          usedBy: graph.usedBy[m.name] ?? []
        }
      }))
  )
  .task(
    "report",
    {
      dependsOn: ["summary", "largest-files", "dependency-graph", "external-deps"],
      description: "write .troupe/report.md"
    },
    ({ input, summary, "largest-files": largest, "dependency-graph": graph, "external-deps": external }) =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const path = yield* Path.Path
        const now = yield* Clock.currentTimeMillis
        const dir = path.join(input.root, ".troupe")
        const file = path.join(dir, "report.md")
        yield* fs.makeDirectory(dir, { recursive: true })
        yield* fs.writeFileString(file, renderReport({ root: input.root, at: now, summary, largest, graph, external }))
        return file
      })
  )

// -----------------------------------------------------------------------------
// The report
// -----------------------------------------------------------------------------

const ratioText = (ratio: number | undefined): string => ratio === undefined ? "-" : ratio.toFixed(2)

const mdTable = (head: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string | number>>): string =>
  [
    `| ${head.join(" | ")} |`,
    `|${head.map(() => " --- ").join("|")}|`,
    ...rows.map((row) => `| ${row.map((c) => String(c).replace(/\|/g, "\\|")).join(" | ")} |`)
  ].join("\n")

/**
 * Renders the Markdown report.
 *
 * @category report
 * @since 0.1.0
 */
export const renderReport = (data: {
  readonly root: string
  readonly at: number
  readonly summary: ReadonlyArray<PackageSummary>
  readonly largest: ReadonlyArray<{ readonly file: string; readonly lines: number }>
  readonly graph: DependencyGraph
  readonly external: ReadonlyArray<ExternalDependency>
}): string => {
  const total = data.summary.reduce<Counts>((sum, p) => add(sum, p.total), zero)
  const sections = [
    "# Repository report",
    `Root: \`${data.root}\` · generated ${new Date(data.at).toISOString()}`,
    `**${data.summary.length} packages**, ${total.files} files, ${total.lines} lines ` +
    `(${total.code} code, ${total.comment} comment, ${total.blank} blank).`,
    "## Packages",
    mdTable(
      ["package", "version", "files", "lines", "code", "tests/source", "depends on", "used by"],
      data.summary.map((p) => [
        p.name,
        p.version,
        p.total.files,
        p.total.lines,
        p.total.code,
        ratioText(p.ratio),
        p.dependsOn.join(", ") || "-",
        p.usedBy.join(", ") || "-"
      ])
    ),
    "## Build order",
    data.graph.levels.map((level, i) => `${i + 1}. ${level.join(", ")}`).join("\n") +
    (data.graph.cyclic.length > 0 ? `\n\nOn a dependency cycle: ${data.graph.cyclic.join(", ")}` : ""),
    "## Largest files",
    mdTable(["file", "lines"], data.largest.map((f) => [f.file, f.lines])),
    "## External dependencies",
    data.external.length === 0 ? "None." : mdTable(
      ["dependency", "used by", "ranges"],
      data.external.map((d) => [
        d.name,
        d.usedBy.map((u) => u.kind === "dependencies" ? u.pkg : `${u.pkg} (${u.kind.replace("Dependencies", "")})`)
          .join(", "),
        [...new Set(d.usedBy.map((u) => u.range))].join(", ") + (d.mismatched ? " ⚠" : "")
      ])
    )
  ]
  return sections.join("\n\n") + "\n"
}

// -----------------------------------------------------------------------------
// Running
// -----------------------------------------------------------------------------

/**
 * Where `main` draws its live progress: the terminal by default.
 *
 * @category running
 * @since 0.1.0
 */
export const stdoutProgress = (): ProgressOptions => ({
  tty: process.stdout.isTTY === true,
  columns: Math.min(process.stdout.columns || 80, 100),
  write: (text) => process.stdout.write(text)
})

/**
 * Prints the plan, runs the workflow with live progress, then prints a per-task table, the report's
 * path and a summary. Returns the run's result.
 *
 * `root` is decoded with the input Schema, so a missing root means `defaultRoot`.
 *
 * @category running
 * @since 0.1.0
 */
export const main = (root?: string | undefined, output: ProgressOptions = stdoutProgress()) =>
  Effect.gen(function*() {
    const input = yield* Workflow.decodeInput(repoReport, root === undefined ? {} : { root })
    yield* Console.log(Ascii.render(Plan.fromWorkflow(repoReport), { width: output.columns, legend: false }))
    yield* Console.log("")
    const view = progressView(output)
    const result = yield* Engine.run(repoReport, input, { onProgress: view.onProgress }).pipe(
      Effect.ensuring(Effect.sync(view.end))
    )
    yield* printResult(result)
    return result
  })

/** The task table, the per-package table and the summary lines of a finished run. */
const printResult = (result: Engine.RunResult<Workflow.Outputs<typeof repoReport>>) =>
  Effect.gen(function*() {
    const { summary, report } = result.outputs
    const total = summary.reduce<Counts>((sum, p) => add(sum, p.total), zero)
    yield* Console.log("")
    yield* Console.log(taskTable(result.state))
    yield* Console.log("")
    yield* Console.log(table(
      [
        { title: "package" },
        { title: "files", align: "right" },
        { title: "lines", align: "right" },
        { title: "code", align: "right" },
        { title: "tests/source", align: "right" }
      ],
      summary.map((p) => [p.name, String(p.total.files), String(p.total.lines), String(p.total.code), ratioText(p.ratio)])
    ))
    yield* Console.log("")
    yield* Console.log(
      `${result.state.tasks.length} tasks in ${Math.round(result.durationMs)} ms: ${summary.length} packages, ` +
        `${total.files} files, ${total.lines} lines (${total.code} code).`
    )
    yield* Console.log(`Report: ${report}`)
  })

/**
 * `main`, durably (what `npm start` runs): the run is journaled in `<root>/.troupe/flagship.db`
 * (`Durable.layer`). Stop it with Ctrl-C midway and start it again: the unfinished run of the same root is
 * resumed, and the tasks it had finished are skipped (listed). `delayMs` slows each task down (default
 * 0; `npm start` on a terminal uses 400 ms, or `TROUPE_FLAGSHIP_DELAY_MS`) so there is time to stop it.
 *
 * @category running
 * @since 0.1.0
 */
export const mainDurable = (
  root?: string | undefined,
  output: ProgressOptions = stdoutProgress(),
  options: { readonly delayMs?: number | undefined } = {}
) =>
  Effect.gen(function*() {
    const input = yield* Workflow.decodeInput(repoReport, root === undefined ? {} : { root })
    const store = yield* RunStore.RunStore
    const unfinished = (yield* store.list({ workflow: repoReport.name, status: ["pending", "running"] }))
      .filter((r) => (r.input as { readonly root?: unknown } | undefined)?.root === input.root)
    const runId = unfinished[0]?.runId ?? `repo-report-${(yield* Clock.currentTimeMillis).toString(36)}`
    yield* Console.log(
      unfinished.length > 0
        ? `Resuming run ${runId}, interrupted earlier (durable: .troupe/flagship.db).`
        : `Run ${runId} (durable: .troupe/flagship.db; stop it with Ctrl-C, run it again to resume).`
    )
    yield* Console.log(Ascii.render(Plan.fromWorkflow(repoReport), { width: output.columns, legend: false }))
    yield* Console.log("")
    const view = progressView(output)
    const tracker = RunState.tracker(Plan.fromWorkflow(repoReport), runId)
    const delayMs = options.delayMs ?? 0
    const result = yield* Durable.run(repoReport, input, {
      runId,
      onEvent: (event) => {
        tracker.apply(event)
        view.onProgress(tracker.progress(), event)
      },
      ...(delayMs > 0 ? { around: (_execution, effect) => Effect.delay(effect, delayMs) } : {})
    }).pipe(Effect.ensuring(Effect.sync(view.end)))
    if (result.skipped.length > 0) {
      yield* Console.log("")
      yield* Console.log(
        `Skipped ${result.skipped.length} task${result.skipped.length === 1 ? "" : "s"} finished before the ` +
          `interruption: ${result.skipped.join(", ")}.`
      )
    }
    yield* printResult(result)
    return result
  })

if (import.meta.main) {
  const root = process.argv[2] ?? defaultRoot
  mkdirSync(`${root}/.troupe`, { recursive: true })
  const envDelay = process.env["TROUPE_FLAGSHIP_DELAY_MS"]
  const delayMs = envDelay !== undefined ? Number(envDelay) : process.stdout.isTTY ? 400 : 0
  NodeRuntime.runMain(
    mainDurable(root, stdoutProgress(), { delayMs }).pipe(
      Effect.provide(Durable.layer({ filename: `${root}/.troupe/flagship.db` })),
      Effect.provide(NodeServices.layer)
    )
  )
}
