/**
 * Template: a typed function of parameters that returns a workflow, plus what a command line or a
 * definition file needs to call it (a name, a description and the parameters' Schema).
 *
 * Every template of this package takes the {@link Common} parameters (most tasks at once, default task
 * timeout, continue on failure, metadata) besides its own. Problems with the parameters are typed errors:
 *
 * - {@link TemplateParameterError}: parameters that do not decode with the template's Schema, naming the
 *   template and the parameter (`sources[1].path`);
 * - {@link RepositoryNotFound}: a repository path that is not a directory;
 * - {@link SourceUnreadable}: an input (file, endpoint, database) that cannot be read, naming the task.
 *
 * Parameters that decode are checked once more when the run starts (paths, installed programs): the
 * workflow's first tasks carry pre-run checks, so these errors fail the run before any task runs.
 *
 * @since 0.1.0
 */
import { existsSync, statSync } from "node:fs"
import type * as Workflow from "@troupe/core/Workflow"
import * as Task from "@troupe/core/Task"
import { Duration, Effect, Result, Schema } from "effect"

// -----------------------------------------------------------------------------
// Errors
// -----------------------------------------------------------------------------

/**
 * Parameters that do not fit a template's Schema.
 *
 * @category errors
 * @since 0.1.0
 */
export class TemplateParameterError extends Schema.TaggedError<TemplateParameterError>()("TemplateParameterError", {
  template: Schema.String,
  /** The parameter's path, e.g. `sources[1].path`; empty for the parameters as a whole. */
  parameter: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    const at = this.parameter === "" ? "parameters" : `parameter "${this.parameter}"`
    return `Template "${this.template}": ${at}: ${this.reason}`
  }
}

/**
 * A repository path that does not exist or is not a directory.
 *
 * @category errors
 * @since 0.1.0
 */
export class RepositoryNotFound extends Schema.TaggedError<RepositoryNotFound>()("RepositoryNotFound", {
  template: Schema.String,
  parameter: Schema.String,
  path: Schema.String
}) {
  override get message(): string {
    return `Template "${this.template}": parameter "${this.parameter}" is ${this.path}, which is not a directory`
  }
}

/**
 * An input of a task that cannot be read (a missing file, an HTTP error, a database that cannot be opened).
 *
 * @category errors
 * @since 0.1.0
 */
export class SourceUnreadable extends Schema.TaggedError<SourceUnreadable>()("SourceUnreadable", {
  template: Schema.String,
  taskId: Schema.String,
  source: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `Template "${this.template}", task "${this.taskId}": cannot read ${this.source}: ${this.reason}`
  }
}

/**
 * No template with that name (from {@link Registry}-style lookups by name).
 *
 * @category errors
 * @since 0.1.0
 */
export class TemplateNotFound extends Schema.TaggedError<TemplateNotFound>()("TemplateNotFound", {
  name: Schema.String,
  available: Schema.Array(Schema.String)
}) {
  override get message(): string {
    return `No template named "${this.name}"; templates: ${this.available.join(", ")}`
  }
}

// -----------------------------------------------------------------------------
// Common parameters
// -----------------------------------------------------------------------------

/**
 * A duration: milliseconds, or a string such as `"5 minutes"`.
 *
 * @category schemas
 * @since 0.1.0
 */
export const DurationInput = Schema.Union([
  Schema.Number.check(Schema.isGreaterThanOrEqualTo(0)),
  Schema.String.check(
    Schema.makeFilter((s: string) =>
      /^\d+(\.\d+)?\s*(nanos?|micros?|millis?|seconds?|minutes?|hours?|days?|weeks?)$/.test(s.trim()) ||
      `is not a duration (expected e.g. "30 seconds" or "5 minutes")`
    )
  )
])

/**
 * The parameters every template takes.
 *
 * @category schemas
 * @since 0.1.0
 */
export const Common = {
  /** Most tasks running at once. */
  maxParallel: Schema.optional(Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))),
  /** Timeout of tasks that declare none. */
  defaultTimeout: Schema.optional(DurationInput),
  /** Keep running the tasks that do not depend on a failed one (the workflow's `continueOnFailure`). */
  continueOnFailure: Schema.optional(Schema.Boolean),
  /** Carried into the workflow's Plan. */
  metadata: Schema.optional(Schema.Record(Schema.String, Schema.Unknown))
}

/**
 * The common parameters' type.
 *
 * @category models
 * @since 0.1.0
 */
export interface CommonParameters {
  readonly maxParallel?: number | undefined
  readonly defaultTimeout?: number | string | undefined
  readonly continueOnFailure?: boolean | undefined
  readonly metadata?: Readonly<Record<string, unknown>> | undefined
}

/**
 * The workflow options the common parameters give: the workflow itself carries its most tasks at once,
 * default task timeout and failure mode (`continueOnFailure`), so a plain `Engine.run` of a template's
 * workflow (or of one extended from it) honours them; the metadata gets `template: <name>`.
 *
 * @category combinators
 * @since 0.1.0
 */
export const workflowOptions = (template: string, description: string, params: CommonParameters): Workflow.WorkflowOptions => ({
  description,
  ...(params.maxParallel === undefined ? {} : { maxParallel: params.maxParallel }),
  ...(params.defaultTimeout === undefined ? {} : { defaultTimeout: toDuration(params.defaultTimeout) }),
  ...(params.continueOnFailure === undefined ? {} : { continueOnFailure: params.continueOnFailure }),
  metadata: { ...params.metadata, template }
})

const toDuration = (input: number | string): Duration.Duration =>
  Duration.fromInputUnsafe(typeof input === "number" ? input : input.trim() as Duration.Input)

// -----------------------------------------------------------------------------
// Decoding parameters
// -----------------------------------------------------------------------------

const pathOf = (at: string): string =>
  at.replace(/^\["([^"]*)"\]/, "$1").replace(/\["([^"]*)"\]/g, ".$1").replace(/\[(\d+)\]/g, "[$1]")

/**
 * Decodes parameters with a template's Schema; a failure names the template and the first parameter at
 * fault, with the Schema's message.
 *
 * @category decoding
 * @since 0.1.0
 */
export const decodeParameters = <S extends Schema.Codec<any, any, never, never>>(
  template: string,
  schema: S,
  raw: unknown
): Effect.Effect<S["Type"], TemplateParameterError> => {
  const result = Schema.decodeUnknownResult(schema as Schema.Codec<S["Type"], unknown>, { errors: "all" })(raw)
  if (Result.isSuccess(result)) return Effect.succeed(result.success)
  // The Schema's message lists issues as "<what>\n  at [path]" pairs.
  const issues: Array<{ readonly what: string; readonly at: string }> = []
  const lines = result.failure.message.split("\n")
  for (let i = 0; i < lines.length; i++) {
    const at = /^\s*at (\[.*\])$/.exec(lines[i + 1] ?? "")?.[1]
    issues.push({ what: lines[i]!.trim(), at: at === undefined ? "" : pathOf(at) })
    if (at !== undefined) i++
  }
  const [first, ...rest] = issues
  const lower = (s: string) => s.charAt(0).toLowerCase() + s.slice(1)
  return Effect.fail(
    new TemplateParameterError({
      template,
      parameter: first?.at ?? "",
      reason: lower(first?.what ?? result.failure.message) +
        (rest.length === 0 ? "" : `; also: ${rest.map((r) => `${r.at === "" ? "" : `"${r.at}": `}${lower(r.what)}`).join("; ")}`)
    })
  )
}

// -----------------------------------------------------------------------------
// Pre-run checks
// -----------------------------------------------------------------------------

/**
 * Fails with `RepositoryNotFound` unless the path is a directory.
 *
 * @category checks
 * @since 0.1.0
 */
export const checkDirectory = (
  template: string,
  parameter: string,
  path: string
): Effect.Effect<void, RepositoryNotFound> =>
  Effect.suspend(() => {
    const ok = existsSync(path) && statSync(path).isDirectory()
    return ok ? Effect.void : Effect.fail(new RepositoryNotFound({ template, parameter, path }))
  })

/**
 * A task value with one more pre-run check (run before any task of the run starts).
 *
 * @category combinators
 * @since 0.1.0
 */
export const withCheck = <A, E, R, Needs, E2>(
  task: Task.Task<A, E, R, Needs>,
  check: Effect.Effect<void, E2>
): Task.Task<A, E | E2, R, Needs> => ({
  ...task,
  check: (node) => task.check === undefined ? check : Effect.andThen(check, task.check(node))
})

/**
 * A task value from a handler that receives the context and the run's `TaskInfo` (`Task.make` gives the
 * handler the context only).
 *
 * @category constructors
 * @since 0.1.0
 */
export const task = <A, E, R, Needs>(
  taskType: string,
  attributes: Task.Attributes,
  run: (ctx: Needs, info: Task.TaskInfo) => Effect.Effect<A, E, R>
): Task.Task<A, E, R, Needs> => ({
  [Task.TypeId]: Task.TypeId,
  taskType,
  attributes,
  run
})

// -----------------------------------------------------------------------------
// Registry entries
// -----------------------------------------------------------------------------

/**
 * What the command line and definition files need to know about a template: its name, a one-line
 * description, its parameters' Schema, and its constructor.
 *
 * @category models
 * @since 0.1.0
 */
export interface Template<Name extends string = string, P = any, W extends Workflow.Any = Workflow.Any> {
  readonly name: Name
  readonly description: string
  readonly parameters: Schema.Codec<P, unknown>
  readonly make: (params: P) => W
}

/**
 * Describes a template for a registry.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = <const Name extends string, P, W extends Workflow.Any>(template: {
  readonly name: Name
  readonly description: string
  readonly parameters: Schema.Codec<P, any>
  readonly make: (params: P) => W
}): Template<Name, P, W> => template as Template<Name, P, W>

/**
 * Decodes raw parameters (from JSON, YAML or the command line) with the template's Schema and builds its
 * workflow.
 *
 * @category constructors
 * @since 0.1.0
 */
export const instantiate = <Name extends string, P, W extends Workflow.Any>(
  template: Template<Name, P, W>,
  raw: unknown
): Effect.Effect<W, TemplateParameterError> =>
  decodeParameters(template.name, template.parameters as Schema.Codec<P, unknown>, raw).pipe(
    Effect.map((params) => template.make(params))
  )
