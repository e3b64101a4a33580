/**
 * The code review template: real static signals (TypeScript diagnostics through the compiler API, the git
 * diff of the target files), reviewed by LLM agents per focus, combined into a Markdown report; optionally
 * fixed automatically, with patches written and the fixes re-checked.
 *
 * Tasks:
 *
 * | task | does | after |
 * |---|---|---|
 * | `collect-static-signals` | TypeScript diagnostics of the target files, `git diff <baseRef>` of them, their sizes | |
 * | one per focus in `reviewFocus` (below) | an agent task (`requires: ["code_analysis"]`) returning {@link Review} | collect-static-signals |
 * | `generate-review-report` (when `generateReport`) | writes the Markdown report (`reportPath`) | every focus task |
 * | `auto-fix` (when `autoFix`) | applies the reviews' suggested fixes, writes a unified-diff patch per changed file | every focus task |
 * | `verify-fixes` (when `autoFix`) | re-runs the diagnostics; checks each patch with `git apply --check --reverse` | auto-fix |
 *
 * Focus → task: `structure` → `analyze-code-structure`, `security` → `security-analysis`, `performance` →
 * `performance-analysis`, `style` → `style-check`, `types` → `type-check`, `complexity` →
 * `complexity-analysis`, `testing` → `test-coverage-analysis`, `documentation` → `documentation-review`.
 *
 * The workflow requires an `AgentRegistry` with an agent that has the `code_analysis` capability (for
 * example an `LlmAgent`), and `ChildProcessSpawner` (for git).
 *
 * @since 0.1.0
 */
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs"
import { dirname, join, resolve } from "node:path"
import * as AgentTask from "@troupe/agents/AgentTask"
import type * as Agent from "@troupe/agents/Agent"
import type * as AgentRegistry from "@troupe/agents/AgentRegistry"
import type * as Budget from "@troupe/agents/Budget"
import type { PlanNode } from "@troupe/core/Plan"
import * as Workflow from "@troupe/core/Workflow"
import * as Command from "@troupe/node/Command"
import { Effect, Schema } from "effect"
import type { ChildProcessSpawner } from "effect/process"
import * as Ts from "./internal/typescript.ts"
import * as Template from "./Template.ts"

const NAME = "code-review"

// -----------------------------------------------------------------------------
// Parameters
// -----------------------------------------------------------------------------

/**
 * The review focuses, each one task.
 *
 * @category schemas
 * @since 0.1.0
 */
export const Focus = Schema.Literals([
  "structure", "security", "performance", "style", "types", "complexity", "testing", "documentation"
])

/**
 * @category models
 * @since 0.1.0
 */
export type Focus = typeof Focus.Type

/**
 * The task id of each focus.
 *
 * @category constants
 * @since 0.1.0
 */
export const focusTasks = {
  structure: "analyze-code-structure",
  security: "security-analysis",
  performance: "performance-analysis",
  style: "style-check",
  types: "type-check",
  complexity: "complexity-analysis",
  testing: "test-coverage-analysis",
  documentation: "documentation-review"
} as const satisfies Record<Focus, string>

const focusPrompts: Record<Focus, string> = {
  structure: "Review the structure: module boundaries, cohesion, coupling, responsibilities.",
  security: "Review for security problems: injection, unsafe evaluation, secrets, unchecked input, path traversal.",
  performance: "Review for performance problems: needless work in loops, quadratic algorithms, blocking I/O, leaks.",
  style: "Review the style: naming, consistency, dead code, readability.",
  types: "Review the typing, starting from the TypeScript diagnostics given: each is a real compiler error to explain and fix.",
  complexity: "Review the complexity: long functions, deep nesting, branching that could be simpler.",
  testing: "Review the testability and the tests: untested paths, missing edge cases.",
  documentation: "Review the documentation: missing or wrong doc comments on exported symbols."
}

/**
 * The code review template's parameters.
 *
 * @category schemas
 * @since 0.1.0
 */
export const Parameters = Schema.Struct({
  repositoryPath: Schema.NonEmptyString,
  /** Files to review, relative to the repository. */
  targetFiles: Schema.Array(Schema.NonEmptyString).check(Schema.isMinLength(1)),
  reviewFocus: Schema.Array(Focus).check(Schema.isMinLength(1)),
  generateReport: Schema.Boolean,
  autoFix: Schema.Boolean,
  /** What the diff is taken against. Default `HEAD`. */
  baseRef: Schema.optional(Schema.NonEmptyString),
  /** Default `.troupe/review/report.md` in the repository. */
  reportPath: Schema.optional(Schema.NonEmptyString),
  /** Default `.troupe/review/patches` in the repository. */
  patchDirectory: Schema.optional(Schema.NonEmptyString),
  ...Template.Common
})

/**
 * @category models
 * @since 0.1.0
 */
export type Parameters = typeof Parameters.Type

// -----------------------------------------------------------------------------
// Outputs
// -----------------------------------------------------------------------------

/**
 * What each focus task's agent answers: findings, each possibly with a fix (replace `search`, which must
 * occur exactly once in the file, with `replace`).
 *
 * @category schemas
 * @since 0.1.0
 */
export const Review = Schema.Struct({
  summary: Schema.String,
  findings: Schema.Array(Schema.Struct({
    file: Schema.String,
    line: Schema.optional(Schema.Number),
    severity: Schema.Literals(["info", "low", "medium", "high", "critical"]),
    message: Schema.String,
    fix: Schema.optional(Schema.Struct({ search: Schema.String, replace: Schema.String }))
  }))
})

/**
 * @category models
 * @since 0.1.0
 */
export type Review = typeof Review.Type

/**
 * What `collect-static-signals` finds.
 *
 * @category models
 * @since 0.1.0
 */
export interface Signals {
  readonly files: ReadonlyArray<{ readonly path: string; readonly lines: number; readonly content: string }>
  readonly diagnostics: ReadonlyArray<Ts.Diagnostic>
  /** `git diff <baseRef> -- <files>`; undefined outside a git work tree (or without git). */
  readonly diff: string | undefined
}

/**
 * @category models
 * @since 0.1.0
 */
export interface Report {
  readonly path: string
  readonly markdown: string
  readonly findings: number
}

/**
 * @category models
 * @since 0.1.0
 */
export interface Fixes {
  readonly applied: ReadonlyArray<{ readonly file: string; readonly message: string }>
  readonly skipped: ReadonlyArray<{ readonly file: string; readonly message: string; readonly reason: string }>
  /** One patch per changed file (unified diff, paths relative to the repository). */
  readonly patches: ReadonlyArray<{ readonly file: string; readonly path: string }>
}

/**
 * @category models
 * @since 0.1.0
 */
export interface Verification {
  readonly before: number
  readonly after: number
  readonly resolved: ReadonlyArray<string>
  readonly remaining: ReadonlyArray<Ts.Diagnostic>
  readonly patchesChecked: number
}

/**
 * A file to review that does not exist.
 *
 * @category errors
 * @since 0.1.0
 */
export class TargetFileNotFound extends Schema.TaggedError<TargetFileNotFound>()("TargetFileNotFound", {
  template: Schema.String,
  file: Schema.String
}) {
  override get message(): string {
    return `Template "${this.template}": parameter "targetFiles" names ${this.file}, which does not exist`
  }
}

/**
 * The fixes made things worse: new diagnostics, or a patch that does not describe the change.
 *
 * @category errors
 * @since 0.1.0
 */
export class FixVerificationFailed extends Schema.TaggedError<FixVerificationFailed>()("FixVerificationFailed", {
  reason: Schema.String,
  introduced: Schema.Array(Schema.String)
}) {
  override get message(): string {
    return `verify-fixes: ${this.reason}${this.introduced.length === 0 ? "" : `:\n${this.introduced.join("\n")}`}`
  }
}

/**
 * Writing the report or the patches failed.
 *
 * @category errors
 * @since 0.1.0
 */
export class ReviewOutputError extends Schema.TaggedError<ReviewOutputError>()("ReviewOutputError", {
  taskId: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `${this.taskId}: ${this.reason}`
  }
}

/**
 * Every error of the code review workflow.
 *
 * @category errors
 * @since 0.1.0
 */
export type Error =
  | Template.TemplateParameterError
  | Template.RepositoryNotFound
  | TargetFileNotFound
  | Agent.AgentError
  | AgentRegistry.RoutingError
  | Budget.BudgetExceeded
  | FixVerificationFailed
  | ReviewOutputError
  | Command.CommandError

/**
 * The outputs of the code review workflow's tasks (focus tasks, the report and the fixes may be absent).
 *
 * @category models
 * @since 0.1.0
 */
export type Outputs =
  & { readonly "collect-static-signals": Signals }
  & { readonly [F in Focus as (typeof focusTasks)[F]]: Review }
  & { readonly "generate-review-report": Report; readonly "auto-fix": Fixes; readonly "verify-fixes": Verification }

/**
 * The workflow `codeReview` returns.
 *
 * @category models
 * @since 0.1.0
 */
export type CodeReviewWorkflow = Workflow.Workflow<
  "code-review",
  void,
  Outputs,
  Error,
  AgentRegistry.AgentRegistry | ChildProcessSpawner.ChildProcessSpawner,
  never,
  Exclude<keyof Outputs, "collect-static-signals"> & string
>

// -----------------------------------------------------------------------------
// Helpers
// -----------------------------------------------------------------------------

const rel = (file: string) => file.replace(/^\.\//, "")

/** A unified diff of one contiguous change (common leading and trailing lines are context). */
export const unifiedDiff = (file: string, before: string, after: string, context = 3): string => {
  const a = before.split("\n")
  const b = after.split("\n")
  let start = 0
  while (start < a.length && start < b.length && a[start] === b[start]) start++
  let endA = a.length
  let endB = b.length
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--
    endB--
  }
  const from = Math.max(0, start - context)
  const toA = Math.min(a.length, endA + context)
  const toB = Math.min(b.length, endB + context)
  // A file ending in a newline splits into a last empty element that is not a line.
  const lastA = before.endsWith("\n") ? a.length - 1 : a.length
  const lastB = after.endsWith("\n") ? b.length - 1 : b.length
  const hunkA = a.slice(from, Math.min(toA, lastA))
  const hunkB = b.slice(from, Math.min(toB, lastB))
  const lines = [
    `diff --git a/${file} b/${file}`,
    `--- a/${file}`,
    `+++ b/${file}`,
    `@@ -${hunkA.length === 0 ? from : from + 1},${hunkA.length} +${hunkB.length === 0 ? from : from + 1},${hunkB.length} @@`
  ]
  for (let i = from; i < start; i++) lines.push(` ${a[i]}`)
  for (let i = start; i < Math.min(endA, lastA); i++) lines.push(`-${a[i]}`)
  for (let i = start; i < Math.min(endB, lastB); i++) lines.push(`+${b[i]}`)
  for (let i = endA; i < Math.min(toA, lastA); i++) lines.push(` ${a[i]}`)
  return lines.join("\n") + "\n"
}

const severityOrder = ["critical", "high", "medium", "low", "info"] as const

const markdownReport = (params: Parameters, signals: Signals, reviews: ReadonlyArray<[Focus, Review]>): string => {
  const all = reviews.flatMap(([focus, r]) => r.findings.map((f) => ({ focus, ...f })))
  const counts = severityOrder.map((s) => [s, all.filter((f) => f.severity === s).length] as const)
  const out: Array<string> = [
    `# Code review`,
    ``,
    `Repository: \`${params.repositoryPath}\``,
    ``,
    `Files: ${params.targetFiles.map((f) => `\`${f}\``).join(", ")}`,
    ``,
    `| severity | findings |`,
    `|---|---|`,
    ...counts.map(([s, n]) => `| ${s} | ${n} |`),
    ``,
    `## Static signals`,
    ``,
    signals.diagnostics.length === 0
      ? `No TypeScript diagnostics.`
      : signals.diagnostics.map((d) => `- \`${d.file}:${d.line}:${d.column}\` TS${d.code}: ${d.message.split("\n")[0]}`).join("\n"),
    ``,
    signals.diff === undefined
      ? `Not a git repository: no diff.`
      : `Diff against \`${params.baseRef ?? "HEAD"}\`: ${signals.diff.split("\n").filter((l) => /^[+-][^+-]/.test(l)).length} changed line(s).`,
    ``
  ]
  for (const [focus, review] of reviews) {
    out.push(`## ${focus} (\`${focusTasks[focus]}\`)`, ``, review.summary, ``)
    if (review.findings.length === 0) out.push(`No findings.`, ``)
    for (const f of [...review.findings].sort((x, y) => severityOrder.indexOf(x.severity) - severityOrder.indexOf(y.severity))) {
      out.push(`- **${f.severity}** \`${f.file}${f.line === undefined ? "" : `:${f.line}`}\`: ${f.message}${f.fix === undefined ? "" : " (fix suggested)"}`)
    }
    out.push(``)
  }
  return out.join("\n")
}

// -----------------------------------------------------------------------------
// Constructor
// -----------------------------------------------------------------------------

/** Before any task runs: the parameters decode, the repository is a directory, every target file exists. */
const preRunCheck = (params: Parameters, repo: string, files: ReadonlyArray<string>) =>
  Template.decodeParameters(NAME, Parameters, params).pipe(
    Effect.andThen(Template.checkDirectory(NAME, "repositoryPath", repo)),
    Effect.andThen(Effect.forEach(files, (file) =>
      existsSync(join(repo, file)) && statSync(join(repo, file)).isFile()
        ? Effect.void
        : Effect.fail(new TargetFileNotFound({ template: NAME, file }))
    )),
    Effect.asVoid
  )

/** `collect-static-signals`: TypeScript diagnostics, the files' text and (in a git work tree) their diff. */
const collectSignals = (repo: string, files: ReadonlyArray<string>, baseRef: string) =>
  Template.task(
    "static-signals",
    { description: "TypeScript diagnostics and the git diff of the target files" },
    (_: unknown, info) =>
      Effect.gen(function*() {
        const diagnostics = yield* Effect.sync(() => Ts.diagnostics(repo, files))
        const contents = files.map((path) => {
          const content = readFileSync(join(repo, path), "utf8")
          return { path, lines: content.split("\n").length, content: content.slice(0, 20_000) }
        })
        // Outside a git work tree (or without git) there is no diff.
        const inGit = yield* Command.run({ command: "git", args: ["rev-parse", "--is-inside-work-tree"], cwd: repo }).pipe(
          Effect.map((result) => result.stdout.trim() === "true"),
          Effect.catchTags({ CommandFailed: () => Effect.succeed(false), CommandNotFound: () => Effect.succeed(false) })
        )
        const diff = inGit
          ? (yield* Command.run(
            { command: "git", args: ["diff", "--no-color", baseRef, "--", ...files], cwd: repo },
            { taskId: info.node.id }
          )).stdout.slice(0, 40_000)
          : undefined
        return { files: contents, diagnostics, diff } satisfies Signals
      })
  )

/** One focus task: an agent with the `code_analysis` capability answers with a `Review`. */
const focusTask = (focus: Focus, files: ReadonlyArray<string>, repository: string) =>
  AgentTask.make({
    description: `Code review, focus "${focus}". ${focusPrompts[focus]} Answer with findings for the target files; ` +
      `give a fix (an exact snippet of the file to search for, and its replacement) when one is safe.`,
    requires: ["code_analysis"],
    output: Review,
    parameters: { focus, files, repository }
  })

/** `generate-review-report`: the Markdown report, written to `reportPath`. */
const writeReport = (
  params: Parameters,
  reportPath: string,
  signals: Signals,
  reviews: ReadonlyArray<[Focus, Review]>
): Effect.Effect<Report, ReviewOutputError> =>
  Effect.try({
    try: (): Report => {
      const markdown = markdownReport(params, signals, reviews)
      mkdirSync(dirname(reportPath), { recursive: true })
      writeFileSync(reportPath, markdown)
      return { path: reportPath, markdown, findings: reviews.reduce((n, [, r]) => n + r.findings.length, 0) }
    },
    catch: (e) => new ReviewOutputError({ taskId: "generate-review-report", reason: String(e) })
  })

type Skipped = { file: string; message: string; reason: string }

/**
 * The suggested fixes applied in memory, file by file: a fix applies when its search text occurs exactly
 * once in the file as fixed so far; the others are skipped with the reason.
 */
const applyInMemory = (repo: string, files: ReadonlyArray<string>, reviews: ReadonlyArray<[Focus, Review]>) => {
  const applied: Array<{ file: string; message: string }> = []
  const skipped: Array<Skipped> = []
  const originals = new Map<string, string>()
  const current = new Map<string, string>()
  for (const [, review] of reviews) {
    for (const finding of review.findings) {
      if (finding.fix === undefined) continue
      const file = rel(finding.file)
      if (!files.includes(file)) {
        skipped.push({ file, message: finding.message, reason: "not a target file" })
        continue
      }
      if (!current.has(file)) {
        const text = readFileSync(join(repo, file), "utf8")
        originals.set(file, text)
        current.set(file, text)
      }
      const text = current.get(file)!
      const at = text.indexOf(finding.fix.search)
      if (finding.fix.search === "" || at < 0 || text.indexOf(finding.fix.search, at + 1) >= 0) {
        skipped.push({
          file,
          message: finding.message,
          reason: at < 0 ? "the text to replace is not in the file" : "the text to replace is not unique"
        })
        continue
      }
      current.set(file, text.slice(0, at) + finding.fix.replace + text.slice(at + finding.fix.search.length))
      applied.push({ file, message: finding.message })
    }
  }
  return { applied, skipped, originals, current }
}

/** `auto-fix`: applies the fixes, writes each changed file and a unified-diff patch of it. */
const autoFix = (
  repo: string,
  files: ReadonlyArray<string>,
  patchDir: string,
  reviews: ReadonlyArray<[Focus, Review]>
): Effect.Effect<Fixes, ReviewOutputError> =>
  Effect.try({
    try: (): Fixes => {
      const { applied, current, originals, skipped } = applyInMemory(repo, files, reviews)
      const patches: Array<{ file: string; path: string }> = []
      for (const [file, text] of current) {
        const original = originals.get(file)!
        if (text === original) continue
        const path = join(patchDir, `${file.replace(/[\\/]/g, "__")}.patch`)
        mkdirSync(patchDir, { recursive: true })
        writeFileSync(path, unifiedDiff(file, original, text))
        writeFileSync(join(repo, file), text)
        patches.push({ file, path })
      }
      return { applied, skipped, patches }
    },
    catch: (e) => new ReviewOutputError({ taskId: "auto-fix", reason: String(e) })
  })

/**
 * `verify-fixes`: the diagnostics again (a new one fails the run), and each patch, reversed, must apply to
 * its fixed file (it describes exactly the change made).
 */
const verifyFixes = (repo: string, files: ReadonlyArray<string>, signals: Signals, fixes: Fixes) =>
  Effect.gen(function*() {
    const before = signals.diagnostics
    const after = yield* Effect.sync(() => Ts.diagnostics(repo, files))
    const key = (d: Ts.Diagnostic) => `${d.file} TS${d.code}: ${d.message.split("\n")[0]}`
    const beforeKeys = new Set(before.map(key))
    const afterKeys = new Set(after.map(key))
    const introduced = [...afterKeys].filter((k) => !beforeKeys.has(k))
    if (introduced.length > 0) {
      return yield* new FixVerificationFailed({ reason: "the fixes introduced new diagnostics", introduced })
    }
    for (const patch of fixes.patches) {
      yield* Command.run({ command: "git", args: ["apply", "--check", "--reverse", patch.path], cwd: repo }).pipe(
        Effect.catchTag("CommandFailed", (e) =>
          Effect.fail(new FixVerificationFailed({ reason: `patch ${patch.path} does not match ${patch.file}`, introduced: [...e.tail] })))
      )
    }
    return {
      before: before.length,
      after: after.length,
      resolved: [...beforeKeys].filter((k) => !afterKeys.has(k)),
      remaining: after,
      patchesChecked: fixes.patches.length
    } satisfies Verification
  })

/**
 * The code review workflow. Extend it with `.task(...)`, e.g. to post the report somewhere. It carries the
 * common parameters (`maxParallel`, `defaultTimeout`, `continueOnFailure`), so a plain `Engine.run` honours them.
 *
 * @category constructors
 * @since 0.1.0
 */
export const codeReview = (params: Parameters): CodeReviewWorkflow => {
  const repo = resolve(params.repositoryPath)
  const files = params.targetFiles.map(rel)
  const focuses = [...new Set(params.reviewFocus)]
  const preRun = preRunCheck(params, repo, files)
  const collect = collectSignals(repo, files, params.baseRef ?? "HEAD")
  // The focus tasks and the optional ones depend on the parameters: a dynamic workflow (errors and services
  // checked against the declared ones), given its typed outputs once, on return.
  let wf: Workflow.Dynamic<typeof NAME, void, Error, AgentRegistry.AgentRegistry | ChildProcessSpawner.ChildProcessSpawner> =
    Workflow.dynamic(NAME, Template.workflowOptions(NAME, `Code review of ${files.join(", ")}`, params))
  wf = wf.task("collect-static-signals", Template.withCheck(collect, preRun))
  for (const focus of focuses) {
    wf = wf.task(focusTasks[focus], { dependsOn: ["collect-static-signals"] }, focusTask(focus, files, params.repositoryPath))
  }
  const reviewIds = focuses.map((f) => focusTasks[f])
  const signalsOf = (ctx: Workflow.DynamicContext<void>) => ctx["collect-static-signals"] as Signals
  const reviewsOf = (ctx: Workflow.DynamicContext<void>) => focuses.map((f) => [f, ctx[focusTasks[f]] as Review] as [Focus, Review])
  if (params.generateReport) {
    const reportPath = resolve(repo, params.reportPath ?? ".troupe/review/report.md")
    wf = wf.task(
      "generate-review-report",
      { dependsOn: ["collect-static-signals", ...reviewIds], description: "write the Markdown report" },
      (ctx) => writeReport(params, reportPath, signalsOf(ctx), reviewsOf(ctx))
    )
  }
  if (params.autoFix) {
    const patchDir = resolve(repo, params.patchDirectory ?? ".troupe/review/patches")
    wf = wf
      .task(
        "auto-fix",
        { dependsOn: ["collect-static-signals", ...reviewIds], description: "apply the suggested fixes and write patches" },
        (ctx) => autoFix(repo, files, patchDir, reviewsOf(ctx))
      )
      .task(
        "verify-fixes",
        { dependsOn: ["collect-static-signals", "auto-fix"], description: "re-check the fixed files and the patches" },
        (ctx) => verifyFixes(repo, files, signalsOf(ctx), ctx["auto-fix"] as Fixes)
      )
  }
  return wf as never
}

/**
 * The code review template for registries and the command line.
 *
 * @category templates
 * @since 0.1.0
 */
export const template = Template.make({
  name: NAME,
  description: "Review files with LLM agents over TypeScript diagnostics and the git diff; report and auto-fix",
  parameters: Parameters,
  make: codeReview
})
