import * as NodeServices from "@effect/platform-node/NodeServices"
import { describe, expect, expectTypeOf, it } from "@effect/vitest"
import { Engine, Workflow } from "@troupe/core"
import { Cause, Effect, FileSystem, Path } from "effect"
import type { PlatformError } from "effect/PlatformError"
import { TestConsole } from "effect/testing"
import {
  classify,
  countText,
  defaultRoot,
  main,
  ManifestError,
  repoReport
} from "../src/flagship.ts"
import { progressView, taskTable } from "../src/internal/terminal.ts"

/** Writes `files` (relative path → content) under a fresh temp directory and returns its path. */
const fakeRepo = (files: Readonly<Record<string, string>>) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const root = yield* fs.makeTempDirectoryScoped({ prefix: "troupe-flagship-" })
    for (const [file, content] of Object.entries(files)) {
      const full = path.join(root, file)
      yield* fs.makeDirectory(path.dirname(full), { recursive: true })
      yield* fs.writeFileString(full, content)
    }
    return root
  })

const json = (value: unknown) => JSON.stringify(value, null, 2)
const lines = (n: number, line = "x()") => Array.from({ length: n }, () => line).join("\n") + "\n"

// alpha: src 5 + 3 lines, test 4 lines; beta: src 10 lines, config 2 lines; gamma: manifest only.
const tree = {
  "packages/alpha/package.json": json({
    name: "@fake/alpha",
    version: "1.2.3",
    description: "first",
    dependencies: { lodash: "^4.0.0" }
  }),
  // 5 lines: 1 comment, 2 code, 1 blank, 1 comment (a JSDoc line).
  "packages/alpha/src/index.ts": "// entry\nexport const a = 1\n\nexport const b = 2\n/** doc */\n",
  "packages/alpha/src/util.ts": lines(3),
  "packages/alpha/test/index.test.ts": lines(4),
  "packages/alpha/README.md": lines(50), // not source code
  "packages/alpha/node_modules/dep/index.js": lines(100), // ignored folder
  "packages/alpha/dist/index.js": lines(100), // ignored folder
  "packages/alpha/.cache/x.ts": lines(100), // dot-folder
  "packages/beta/package.json": json({
    name: "@fake/beta",
    version: "0.1.0",
    dependencies: { "@fake/alpha": "1.2.3", lodash: "^4.1.0" },
    peerDependencies: { effect: "^4.1.0" }
  }),
  "packages/beta/src/main.ts": lines(10),
  "packages/beta/tsup.config.ts": lines(2),
  "packages/gamma/package.json": json({ name: "@fake/gamma", devDependencies: { "@fake/beta": "*" } }),
  "packages/not-a-package/src/x.ts": lines(7), // no package.json
  "packages/notes.txt": "not a folder\n"
}

describe("flagship: counting", () => {
  it("counts lines, blanks, comments and code", () => {
    expect(countText("")).toEqual({ files: 1, lines: 0, blank: 0, comment: 0, code: 0 })
    expect(countText("a\n")).toEqual({ files: 1, lines: 1, blank: 0, comment: 0, code: 1 })
    expect(countText("a")).toEqual({ files: 1, lines: 1, blank: 0, comment: 0, code: 1 })
    expect(countText("a\r\n\r\n  // c\n/*\n * d\n */\nb")).toEqual({
      files: 1,
      lines: 7,
      blank: 1,
      comment: 4,
      code: 2
    })
  })

  it("classifies files by where they live", () => {
    expect(classify("src/Engine.ts")).toBe("source")
    expect(classify("src/internal/graph.ts")).toBe("source")
    expect(classify("test/Engine.test.ts")).toBe("test")
    expect(classify("typetest/Workflow.ts")).toBe("test")
    expect(classify("src/engine.spec.ts")).toBe("test")
    expect(classify("tsup.config.ts")).toBe("other")
  })
})

describe("flagship: types", () => {
  it("needs FileSystem and Path, and says how it can fail", () => {
    expectTypeOf<Workflow.Services<typeof repoReport>>().toEqualTypeOf<FileSystem.FileSystem | Path.Path>()
    expectTypeOf<Workflow.Error<typeof repoReport>>().toEqualTypeOf<PlatformError | ManifestError>()
    expectTypeOf<Workflow.Input<typeof repoReport>>().toEqualTypeOf<{ readonly root: string }>()
    expectTypeOf<Workflow.Outputs<typeof repoReport>["report"]>().toEqualTypeOf<string>()
    // Without a layer providing FileSystem and Path, the run cannot be executed.
    // @ts-expect-error FileSystem | Path are not provided
    const unprovided: Effect.Effect<unknown, unknown, never> = Engine.run(repoReport, { root: "." })
    expect(unprovided).toBeDefined()
  })
})

describe("flagship: the workflow on a fake repository", () => {
  it.effect("counts per package, reads manifests, and writes the report", () =>
    Effect.gen(function*() {
      const root = yield* fakeRepo(tree)
      const result = yield* Engine.run(repoReport, { root })
      const out = result.outputs

      // scan: only folders with a package.json, only source files outside ignored folders.
      expect(out.scan.map((p) => [p.dir, p.files.map((f) => `${f.kind}:${f.path}`)])).toEqual([
        ["alpha", ["source:src/index.ts", "source:src/util.ts", "test:test/index.test.ts"]],
        ["beta", ["source:src/main.ts", "other:tsup.config.ts"]],
        ["gamma", []]
      ])

      // count-lines
      const counts = Object.fromEntries(out["count-lines"].map((p) => [p.dir, p]))
      expect(counts["alpha"]!.total).toEqual({ files: 3, lines: 12, blank: 1, comment: 2, code: 9 })
      expect(counts["alpha"]!.byKind.source).toEqual({ files: 2, lines: 8, blank: 1, comment: 2, code: 5 })
      expect(counts["alpha"]!.byKind.test).toEqual({ files: 1, lines: 4, blank: 0, comment: 0, code: 4 })
      expect(counts["beta"]!.total).toEqual({ files: 2, lines: 12, blank: 0, comment: 0, code: 12 })
      expect(counts["beta"]!.byKind.other.lines).toBe(2)
      expect(counts["gamma"]!.total).toEqual({ files: 0, lines: 0, blank: 0, comment: 0, code: 0 })

      // The branches after count-lines.
      expect(out["largest-files"]).toEqual([
        { file: "beta/src/main.ts", lines: 10 },
        { file: "alpha/src/index.ts", lines: 5 },
        { file: "alpha/test/index.test.ts", lines: 4 },
        { file: "alpha/src/util.ts", lines: 3 },
        { file: "beta/tsup.config.ts", lines: 2 }
      ])
      expect(out["test-ratio"]).toEqual([
        { dir: "alpha", sourceCode: 5, testCode: 4, ratio: 0.8 },
        { dir: "beta", sourceCode: 10, testCode: 0, ratio: 0 },
        { dir: "gamma", sourceCode: 0, testCode: 0, ratio: undefined }
      ])

      // The branches after read-manifests.
      expect(out["read-manifests"].map((m) => [m.name, m.version])).toEqual([
        ["@fake/alpha", "1.2.3"],
        ["@fake/beta", "0.1.0"],
        ["@fake/gamma", "0.0.0"]
      ])
      expect(out["dependency-graph"].levels).toEqual([["@fake/alpha"], ["@fake/beta"], ["@fake/gamma"]])
      expect(out["dependency-graph"].edges).toEqual([
        { from: "@fake/beta", to: "@fake/alpha" },
        { from: "@fake/gamma", to: "@fake/beta" }
      ])
      expect(out["dependency-graph"].cyclic).toEqual([])
      expect(out["external-deps"]).toEqual([
        {
          name: "lodash",
          usedBy: [
            { pkg: "@fake/alpha", range: "^4.0.0", kind: "dependencies" },
            { pkg: "@fake/beta", range: "^4.1.0", kind: "dependencies" }
          ],
          mismatched: true
        },
        { name: "effect", usedBy: [{ pkg: "@fake/beta", range: "^4.1.0", kind: "peerDependencies" }], mismatched: false }
      ])

      // The join.
      expect(out.summary.map((s) => [s.name, s.total.lines, s.ratio, s.dependsOn, s.usedBy])).toEqual([
        ["@fake/alpha", 12, 0.8, [], ["@fake/beta"]],
        ["@fake/beta", 12, 0, ["@fake/alpha"], ["@fake/gamma"]],
        ["@fake/gamma", 0, undefined, ["@fake/beta"], []]
      ])

      // The report.
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      expect(out.report).toBe(path.join(root, ".troupe", "report.md"))
      const report = yield* fs.readFileString(out.report)
      expect(report).toContain(`Root: \`${root}\``)
      expect(report).toContain("**3 packages**, 5 files, 24 lines (21 code, 2 comment, 1 blank).")
      expect(report).toContain("| @fake/alpha | 1.2.3 | 3 | 12 | 9 | 0.80 | - | @fake/beta |")
      expect(report).toContain("| @fake/beta | 0.1.0 | 2 | 12 | 12 | 0.00 | @fake/alpha | @fake/gamma |")
      expect(report).toContain("| @fake/gamma | 0.0.0 | 0 | 0 | 0 | - | @fake/beta | - |")
      expect(report).toContain("1. @fake/alpha\n2. @fake/beta\n3. @fake/gamma")
      expect(report).toContain("| beta/src/main.ts | 10 |")
      expect(report).toContain("| lodash | @fake/alpha, @fake/beta | ^4.0.0, ^4.1.0 ⚠ |")
      expect(report).toContain("| effect | @fake/beta (peer) | ^4.1.0 |")

      // Every task ran once and completed.
      expect(result.state.tasks.map((t) => [t.id, t.status, t.attempts])).toEqual([
        ["scan", "completed", 1],
        ["count-lines", "completed", 1],
        ["read-manifests", "completed", 1],
        ["largest-files", "completed", 1],
        ["test-ratio", "completed", 1],
        ["dependency-graph", "completed", 1],
        ["external-deps", "completed", 1],
        ["summary", "completed", 1],
        ["report", "completed", 1]
      ])
    }).pipe(Effect.provide(NodeServices.layer)))

  it.effect("fails the run with a ManifestError for an unreadable package.json, skipping the report", () =>
    Effect.gen(function*() {
      const root = yield* fakeRepo({
        "packages/ok/package.json": json({ name: "ok" }),
        "packages/ok/src/a.ts": lines(1),
        "packages/broken/package.json": json({ version: "1.0.0" }) // no name
      })
      const events: Array<string> = []
      const error = yield* Engine.run(repoReport, { root }, {
        failureMode: "continue",
        onEvent: (e) => {
          if ("taskId" in e) events.push(`${e._tag}:${e.taskId}`)
        }
      }).pipe(Effect.flip)
      expect(error._tag).toBe("WorkflowFailed")
      if (error._tag !== "WorkflowFailed") return
      expect(error.failures.map((f) => f.taskId)).toEqual(["read-manifests"])
      const cause = Cause.findErrorOption(error.failures[0]!.cause)
      expect(cause._tag === "Some" && cause.value).toBeInstanceOf(ManifestError)
      // The code branch still finished; everything downstream of the manifests was skipped.
      expect([...error.completed].sort()).toEqual(["count-lines", "largest-files", "scan", "test-ratio"])
      for (const id of ["dependency-graph", "external-deps", "summary", "report"]) {
        expect(events).toContain(`TaskSkipped:${id}`)
      }
      const fs = yield* FileSystem.FileSystem
      expect(yield* fs.exists(`${root}/.troupe/report.md`)).toBe(false)
    }).pipe(Effect.provide(NodeServices.layer)))

  it.effect("main prints the plan, the task table and the summary; a missing root decodes to the repository", () =>
    Effect.gen(function*() {
      const decoded = yield* Workflow.decodeInput(repoReport, {})
      expect(decoded.root).toBe(defaultRoot)
      const fs = yield* FileSystem.FileSystem
      expect(yield* fs.exists(`${defaultRoot}/packages/core/package.json`)).toBe(true)

      const root = yield* fakeRepo(tree)
      const written: Array<string> = []
      const result = yield* main(root, { tty: false, columns: 80, write: (text) => written.push(text) })
      expect(result.outputs.report).toBe(`${root}/.troupe/report.md`)

      // Plain progress: one line per event, from 0% to 100%.
      expect(written[0]).toBe("[  0%] run repo-report started (9 tasks)\n")
      expect(written).toContain("[  0%] ▶ scan\n")
      expect(written.at(-1)).toMatch(/^\[100%\] run completed in \d+ ms\n$/)

      const log = (yield* TestConsole.logLines).join("\n")
      expect(log).toContain("Workflow repo-report (9 tasks, 5 levels)")
      expect(log).toContain("summary")
      expect(log).toMatch(/task\s+status\s+duration ms\s+attempts/)
      expect(log).toMatch(/report\s+completed\s+\d+\s+1/)
      expect(log).toContain("9 tasks in")
      expect(log).toContain("3 packages, 5 files, 24 lines (21 code).")
      expect(log).toContain(`Report: ${root}/.troupe/report.md`)
    }).pipe(Effect.provide(NodeServices.layer)))
})

describe("flagship: terminal output", () => {
  it("redraws one line on a terminal and ends it once", () => {
    const written: Array<string> = []
    const view = progressView({ tty: true, columns: 40, write: (t) => written.push(t) })
    const p = { total: 2, completed: 0, failed: 0, skipped: 0, cancelled: 0, running: 1, pending: 1, percent: 0 }
    view.onProgress(p, { _tag: "TaskStarted", runId: "r", at: 0, taskId: "a-very-long-task-name-indeed", attempt: 1 })
    view.onProgress({ ...p, completed: 1, running: 0, percent: 50 }, {
      _tag: "TaskCompleted",
      runId: "r",
      at: 5,
      taskId: "a-very-long-task-name-indeed",
      attempts: 1,
      durationMs: 5,
      output: 1
    })
    view.end()
    view.end()
    expect(written).toEqual([
      // Cut to 39 columns (one less than the terminal, so the cursor never wraps).
      "\r\x1b[2K[  0%] 0/2 done · running: a-very-long…",
      "\r\x1b[2K[ 50%] 1/2 done",
      "\n"
    ])
  })

  it("keeps failures on screen above the live line", () => {
    const written: Array<string> = []
    const view = progressView({ tty: true, columns: 80, write: (t) => written.push(t) })
    const p = { total: 1, completed: 0, failed: 1, skipped: 0, cancelled: 0, running: 0, pending: 0, percent: 100 }
    view.onProgress(p, {
      _tag: "TaskFailed",
      runId: "r",
      at: 5,
      taskId: "scan",
      attempts: 1,
      durationMs: 5,
      message: "NotFound",
      cause: Cause.fail("NotFound")
    })
    expect(written).toEqual(["\r\x1b[2K✗ scan: NotFound\n", "\r\x1b[2K[100%] 1/1 done (1 failed)"])
  })

  it("tabulates task states", () => {
    const text = taskTable({
      runId: "r",
      workflow: "w",
      status: "failed",
      tasks: [
        { id: "build", status: "completed", attempts: 2, retries: 1, durationMs: 1234.4 },
        { id: "deploy", status: "skipped", attempts: 0, retries: 0 }
      ],
      progress: { total: 2, completed: 1, failed: 0, skipped: 1, cancelled: 0, running: 0, pending: 0, percent: 100 }
    })
    expect(text.split("\n")).toEqual([
      "task    status     duration ms  attempts",
      "──────  ─────────  ───────────  ────────",
      "build   completed         1234         2",
      "deploy  skipped              -         0"
    ])
  })
})
