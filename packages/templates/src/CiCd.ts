/**
 * The CI/CD template: lint, check formatting, test, scan, build and deploy a repository, each step a real
 * process (a `@troupe/node` command task) whose output lines are run events.
 *
 * Tasks (ids as in the system Troupe replaces):
 *
 * | task | runs | after |
 * |---|---|---|
 * | `lint-code` | `lintCommand` (default `npm run lint --if-present`) | |
 * | `check-formatting` | `formatCommand` (default `npm run format:check --if-present`) | |
 * | `run-tests` | `testCommand` | lint-code, check-formatting |
 * | `security-scan` (when `runSecurityScan`, default true) | a scan of the sources for committed secrets and dangerous calls, then `securityScanCommand` if given | |
 * | `build-artifacts` | `buildCommand`, then lists and hashes the files in `artifactsPath` (default `dist`) | run-tests, security-scan |
 * | `deploy` (when `deployTarget` is given) | the {@link DeployTarget} service | build-artifacts |
 *
 * Before the run starts: the parameters are checked against {@link Parameters}, the repository must be a
 * directory, and every program the commands start must be installed (`CommandNotFound` naming the task).
 *
 * @example
 * ```ts
 * import { NodeServices } from "@effect/platform-node"
 * import { Engine } from "@troupe/core"
 * import { CiCd } from "@troupe/templates"
 * import { Effect, Layer } from "effect"
 *
 * const wf = CiCd.ciCd({
 *   repositoryPath: "./my-app",
 *   testCommand: "npm test",
 *   buildCommand: "npm run build",
 *   deployTarget: "staging"
 * }).task("notify", { dependsOn: ["deploy"] }, ({ deploy }) => Effect.log(`deployed to ${deploy?.location}`))
 *
 * const program = Engine.run(wf).pipe(
 *   Effect.provide(Layer.mergeAll(NodeServices.layer, CiCd.DeployTarget.localDirectory("/srv/releases")))
 * )
 * ```
 *
 * @since 0.1.0
 */
import { cpSync, existsSync, mkdirSync, rmSync, statSync, writeFileSync } from "node:fs"
import { join, resolve } from "node:path"
import * as Command from "@troupe/node/Command"
import type { PlanNode } from "@troupe/core/Plan"
import type { TaskInfo } from "@troupe/core/Task"
import * as Workflow from "@troupe/core/Workflow"
import { Context, Duration, Effect, Layer, Schema } from "effect"
import type { ChildProcessSpawner } from "effect/process"
import { readText, sha256, sizeOf, walk } from "./internal/files.ts"
import * as Template from "./Template.ts"

const NAME = "ci-cd"

// -----------------------------------------------------------------------------
// Parameters
// -----------------------------------------------------------------------------

/**
 * The CI/CD template's parameters.
 *
 * @category schemas
 * @since 0.1.0
 */
export const Parameters = Schema.Struct({
  repositoryPath: Schema.NonEmptyString,
  testCommand: Schema.NonEmptyString,
  buildCommand: Schema.NonEmptyString,
  /** Default `npm run lint --if-present`. */
  lintCommand: Schema.optional(Schema.NonEmptyString),
  /** Default `npm run format:check --if-present`. */
  formatCommand: Schema.optional(Schema.NonEmptyString),
  /** Where the build writes its artifacts, relative to the repository. Default `dist`. */
  artifactsPath: Schema.optional(Schema.NonEmptyString),
  /** A name the {@link DeployTarget} service deploys to; without it there is no `deploy` task. */
  deployTarget: Schema.optional(Schema.NonEmptyString),
  /** Default true. */
  runSecurityScan: Schema.optional(Schema.Boolean),
  /** An extra scanner to run in `security-scan` (e.g. `npm audit --omit=dev`). */
  securityScanCommand: Schema.optional(Schema.NonEmptyString),
  /** Fail `security-scan` on findings of this severity or worse. Default `high`. */
  securityFailOn: Schema.optional(Schema.Literals(["high", "medium", "never"])),
  /** Timeout of each command (default: `defaultTimeout`, else none); the process tree is killed. */
  commandTimeout: Schema.optional(Template.DurationInput),
  ...Template.Common
})

/**
 * @category models
 * @since 0.1.0
 */
export type Parameters = typeof Parameters.Type

// -----------------------------------------------------------------------------
// Deploy targets
// -----------------------------------------------------------------------------

/**
 * A deployment that did not succeed.
 *
 * @category errors
 * @since 0.1.0
 */
export class DeployError extends Schema.TaggedError<DeployError>()("DeployError", {
  target: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `Deploying to "${this.target}" failed: ${this.reason}`
  }
}

/**
 * What a finished deployment reports.
 *
 * @category models
 * @since 0.1.0
 */
export interface Deployment {
  readonly target: string
  /** Where the artifacts went (a directory, a URL, ...). */
  readonly location: string
  readonly files: number
}

/**
 * Where `deploy` puts the built artifacts: a service, so a workflow with a `deployTarget` cannot run
 * without one. Built in: {@link DeployTarget.localDirectory}.
 *
 * @category services
 * @since 0.1.0
 */
export class DeployTarget extends Context.Service<DeployTarget, {
  readonly deploy: (request: {
    /** The `deployTarget` parameter. */
    readonly target: string
    readonly artifacts: Artifacts
  }) => Effect.Effect<Deployment, DeployError>
}>()("@troupe/templates/CiCd/DeployTarget") {
  /**
   * Deploys into `<root>/<target>`: the previous release there is replaced by a copy of the artifacts
   * directory, with a `troupe-release.json` manifest (files and their SHA-256).
   */
  static readonly localDirectory = (root: string): Layer.Layer<DeployTarget> =>
    Layer.succeed(DeployTarget, {
      deploy: ({ target, artifacts }) =>
        Effect.try({
          try: () => {
            const location = resolve(root, target)
            rmSync(location, { recursive: true, force: true })
            mkdirSync(location, { recursive: true })
            cpSync(artifacts.directory, location, { recursive: true })
            writeFileSync(join(location, "troupe-release.json"), JSON.stringify({ target, files: artifacts.files }, null, 2))
            return { target, location, files: artifacts.files.length }
          },
          catch: (cause) => new DeployError({ target, reason: cause instanceof Error ? cause.message : String(cause) })
        })
    })
}

// -----------------------------------------------------------------------------
// Outputs and errors
// -----------------------------------------------------------------------------

/**
 * One finding of `security-scan`.
 *
 * @category models
 * @since 0.1.0
 */
export interface Finding {
  readonly file: string
  readonly line: number
  readonly rule: string
  readonly severity: "high" | "medium"
  readonly excerpt: string
}

/**
 * What `security-scan` reports.
 *
 * @category models
 * @since 0.1.0
 */
export interface SecurityReport {
  readonly scannedFiles: number
  readonly findings: ReadonlyArray<Finding>
  /** The extra scanner's result, when `securityScanCommand` is given. */
  readonly scanner?: Command.Result | undefined
}

/**
 * What `build-artifacts` reports: the build command's result and the files it produced.
 *
 * @category models
 * @since 0.1.0
 */
export interface Artifacts {
  readonly directory: string
  readonly files: ReadonlyArray<{ readonly path: string; readonly size: number; readonly sha256: string }>
  readonly build: Command.Result
}

/**
 * `security-scan` found problems at or above `securityFailOn`.
 *
 * @category errors
 * @since 0.1.0
 */
export class SecurityIssuesFound extends Schema.TaggedError<SecurityIssuesFound>()("SecurityIssuesFound", {
  count: Schema.Number,
  summary: Schema.Array(Schema.String)
}) {
  override get message(): string {
    return `security-scan found ${this.count} problem(s):\n${this.summary.join("\n")}`
  }
}

/**
 * The build succeeded but left no files in the artifacts directory.
 *
 * @category errors
 * @since 0.1.0
 */
export class ArtifactsMissing extends Schema.TaggedError<ArtifactsMissing>()("ArtifactsMissing", {
  directory: Schema.String
}) {
  override get message(): string {
    return `build-artifacts: the build left no files in ${this.directory}`
  }
}

/**
 * Every error of the CI/CD workflow.
 *
 * @category errors
 * @since 0.1.0
 */
export type Error =
  | Template.TemplateParameterError
  | Template.RepositoryNotFound
  | Command.CommandError
  | SecurityIssuesFound
  | ArtifactsMissing
  | DeployError

/**
 * The outputs of the CI/CD workflow's tasks.
 *
 * @category models
 * @since 0.1.0
 */
export interface Outputs {
  readonly "lint-code": Command.Result
  readonly "check-formatting": Command.Result
  readonly "run-tests": Command.Result
  readonly "security-scan": SecurityReport
  readonly "build-artifacts": Artifacts
  readonly "deploy": Deployment
}

/**
 * The workflow `ciCd` returns. `security-scan` and `deploy` may be absent (they are optional in the
 * result); `R` has `DeployTarget` only when a `deployTarget` is given.
 *
 * @category models
 * @since 0.1.0
 */
export type CiCdWorkflow<R = never> = Workflow.Workflow<
  "ci-cd",
  void,
  Outputs,
  Error,
  ChildProcessSpawner.ChildProcessSpawner | R,
  never,
  "security-scan" | "deploy"
>

// -----------------------------------------------------------------------------
// Security scan
// -----------------------------------------------------------------------------

const rules: ReadonlyArray<{ readonly rule: string; readonly severity: "high" | "medium"; readonly pattern: RegExp }> = [
  { rule: "private-key", severity: "high", pattern: /-----BEGIN (RSA |EC |DSA |OPENSSH )?PRIVATE KEY-----/ },
  { rule: "aws-access-key", severity: "high", pattern: /\bAKIA[0-9A-Z]{16}\b/ },
  {
    rule: "hardcoded-secret",
    severity: "high",
    pattern: /\b(password|passwd|secret|api[_-]?key|access[_-]?token)\b\s*[:=]\s*["'][^"'\s]{8,}["']/i
  },
  { rule: "eval", severity: "medium", pattern: /(^|[^.\w])eval\s*\(/ },
  { rule: "new-function", severity: "medium", pattern: /\bnew\s+Function\s*\(/ },
  { rule: "inner-html", severity: "medium", pattern: /\.innerHTML\s*=/ }
]

const scanSources = (root: string, skip: ReadonlyArray<string>): { scannedFiles: number; findings: Array<Finding> } => {
  const files = walk(root, { skip })
  const findings: Array<Finding> = []
  let scannedFiles = 0
  for (const file of files) {
    const text = readText(join(root, file))
    if (text === undefined) continue
    scannedFiles++
    const lines = text.split("\n")
    for (let i = 0; i < lines.length; i++) {
      for (const { pattern, rule, severity } of rules) {
        if (pattern.test(lines[i]!)) {
          findings.push({ file, line: i + 1, rule, severity, excerpt: lines[i]!.trim().slice(0, 120) })
        }
      }
    }
  }
  return { scannedFiles, findings }
}

// -----------------------------------------------------------------------------
// Constructor
// -----------------------------------------------------------------------------

/**
 * The CI/CD workflow for a repository. Extend it with `.task(...)` like any workflow; it carries the common
 * parameters (`maxParallel`, `defaultTimeout`, `continueOnFailure`), so a plain `Engine.run` honours them.
 *
 * @category constructors
 * @since 0.1.0
 */
export const ciCd = <const P extends Parameters>(
  params: P
): CiCdWorkflow<P extends { readonly deployTarget: string } ? DeployTarget : never> => {
  const repo = resolve(params.repositoryPath)
  const commandTimeout = params.commandTimeout ?? params.defaultTimeout
  const timeout = commandTimeout === undefined
    ? undefined
    : Duration.fromInputUnsafe(typeof commandTimeout === "number" ? commandTimeout : commandTimeout.trim() as Duration.Input)
  const spec = (line: string): Command.Spec => Command.parse(line, { cwd: repo, ...(timeout === undefined ? {} : { timeout }) })
  // The task's own limit is a little longer than the command's, so the command reports its tail first.
  const attributes = (description: string) => ({
    description,
    ...(timeout === undefined ? {} : { timeout: Duration.sum(timeout, Duration.seconds(5)) })
  })
  const preRun = Effect.andThen(
    Template.decodeParameters(NAME, Parameters, params),
    Template.checkDirectory(NAME, "repositoryPath", repo)
  )
  const artifactsDir = resolve(repo, params.artifactsPath ?? "dist")
  const scan = params.runSecurityScan ?? true

  // Which tasks exist depends on the parameters: a dynamic workflow (errors and services checked against the
  // declared ones), given its typed outputs once, on return.
  let wf: Workflow.Dynamic<typeof NAME, void, Error, ChildProcessSpawner.ChildProcessSpawner | DeployTarget> = Workflow
    .dynamic(NAME, Template.workflowOptions(NAME, `CI/CD for ${params.repositoryPath}`, params))
  wf = wf
    .task(
      "lint-code",
      Template.withCheck(Command.task(spec(params.lintCommand ?? "npm run lint --if-present"), attributes("lint the code")), preRun)
    )
    .task(
      "check-formatting",
      Command.task(spec(params.formatCommand ?? "npm run format:check --if-present"), attributes("check formatting"))
    )
    .task("run-tests", Command.task(spec(params.testCommand), attributes("run the tests")))
    .dependsOn("lint-code", "check-formatting")
  if (scan) {
    const scanner = params.securityScanCommand === undefined ? undefined : spec(params.securityScanCommand)
    const failOn = params.securityFailOn ?? "high"
    const scanTask = Template.task(
      "security-scan",
      { description: "scan the sources for secrets and dangerous calls" },
      (_: unknown, info) =>
        Effect.gen(function*() {
          const { findings, scannedFiles } = yield* Effect.sync(() =>
            scanSources(repo, [params.artifactsPath ?? "dist"])
          )
          const result = scanner === undefined
            ? undefined
            : yield* Command.run(scanner, { taskId: info.node.id })
          const failing = findings.filter((f) => failOn !== "never" && (f.severity === "high" || failOn === "medium"))
          if (failing.length > 0) {
            return yield* new SecurityIssuesFound({
              count: failing.length,
              summary: failing.slice(0, 20).map((f) => `${f.severity} ${f.rule} at ${f.file}:${f.line}: ${f.excerpt}`)
            })
          }
          return { scannedFiles, findings, ...(result === undefined ? {} : { scanner: result }) } satisfies SecurityReport
        })
    )
    wf = wf.task(
      "security-scan",
      scanner === undefined ? scanTask : { ...scanTask, check: (node: PlanNode) => Command.ensureInstalled(scanner, node.id) }
    )
  }
  const build = Command.task(spec(params.buildCommand), attributes("build the artifacts"))
  wf = wf
    .task(
      "build-artifacts",
      {
        ...build,
        run: (ctx: unknown, info: TaskInfo) =>
          build.run(ctx, info).pipe(
            Effect.flatMap((result) =>
              Effect.suspend((): Effect.Effect<Artifacts, ArtifactsMissing> => {
                const files = existsSync(artifactsDir) && statSync(artifactsDir).isDirectory() ? walk(artifactsDir) : []
                if (files.length === 0) return Effect.fail(new ArtifactsMissing({ directory: artifactsDir }))
                return Effect.succeed({
                  directory: artifactsDir,
                  files: files.map((path) => ({
                    path,
                    size: sizeOf(join(artifactsDir, path)),
                    sha256: sha256(join(artifactsDir, path))
                  })),
                  build: result
                })
              })
            )
          )
      }
    )
    .dependsOn("run-tests", ...(scan ? ["security-scan"] : []))
  if (params.deployTarget !== undefined) {
    const target = params.deployTarget
    wf = wf.task(
      "deploy",
      { dependsOn: ["build-artifacts"], description: `deploy to ${target}` },
      (ctx) => DeployTarget.use((t) => t.deploy({ target, artifacts: ctx["build-artifacts"] as Artifacts }))
    )
  }
  return wf as never
}

/**
 * The CI/CD template for registries and the command line.
 *
 * @category templates
 * @since 0.1.0
 */
export const template = Template.make({
  name: NAME,
  description: "Lint, check formatting, test, scan, build and deploy a repository with real commands",
  parameters: Parameters,
  make: (params: Parameters) => ciCd(params) as CiCdWorkflow<DeployTarget>
})
