/**
 * Typed errors raised by Troupe: definition errors (found before anything runs) and run errors.
 *
 * Every definition error says what is wrong and where: the task id, the field path, the known ids,
 * or the cycle's path.
 *
 * @since 0.1.0
 */
import { Data, Schema } from "effect"
import type * as Cause from "effect/Cause"
import { describe } from "./internal/engine/describe.ts"

// -----------------------------------------------------------------------------
// Definition errors
// -----------------------------------------------------------------------------

/**
 * A field of a data definition has the wrong type or value.
 *
 * @category errors
 * @since 0.1.0
 */
export class InvalidDefinition extends Schema.TaggedError<InvalidDefinition>()("InvalidDefinition", {
  /** Where the problem is, for example `tasks[2].priority`. */
  path: Schema.String,
  /** The id of the task the field belongs to, when known. */
  taskId: Schema.optional(Schema.String),
  /** What is wrong, in words. */
  reason: Schema.String
}) {
  override get message(): string {
    const where = this.taskId === undefined ? this.path : `${this.path} (task "${this.taskId}")`
    return `Invalid workflow definition at ${where}: ${this.reason}`
  }
}

/**
 * Two tasks share one id.
 *
 * @category errors
 * @since 0.1.0
 */
export class DuplicateTaskId extends Schema.TaggedError<DuplicateTaskId>()("DuplicateTaskId", {
  taskId: Schema.String,
  /** Position of the first declaration in the task list. */
  first: Schema.Number,
  /** Position of the second declaration. */
  second: Schema.Number
}) {
  override get message(): string {
    return `Task id "${this.taskId}" is declared twice: at tasks[${this.first}] and tasks[${this.second}]`
  }
}

/**
 * A task depends on an id that no task has.
 *
 * @category errors
 * @since 0.1.0
 */
export class UnknownDependency extends Schema.TaggedError<UnknownDependency>()("UnknownDependency", {
  taskId: Schema.String,
  dependency: Schema.String,
  known: Schema.Array(Schema.String)
}) {
  override get message(): string {
    return `Task "${this.taskId}" depends on unknown task "${this.dependency}". Known tasks: [${
      this.known.join(", ")
    }]`
  }
}

/**
 * A task lists itself as a dependency.
 *
 * @category errors
 * @since 0.1.0
 */
export class SelfDependency extends Schema.TaggedError<SelfDependency>()("SelfDependency", {
  taskId: Schema.String
}) {
  override get message(): string {
    return `Task "${this.taskId}" depends on itself`
  }
}

/**
 * The dependencies form a cycle. `path` is one real cycle, first element repeated at the end.
 *
 * @category errors
 * @since 0.1.0
 */
export class CycleDetected extends Schema.TaggedError<CycleDetected>()("CycleDetected", {
  path: Schema.Array(Schema.String)
}) {
  override get message(): string {
    return `Dependency cycle: ${this.path.join(" → ")}`
  }
}

/**
 * A workflow with no tasks.
 *
 * @category errors
 * @since 0.1.0
 */
export class EmptyWorkflow extends Schema.TaggedError<EmptyWorkflow>()("EmptyWorkflow", {
  workflow: Schema.String
}) {
  override get message(): string {
    return `Workflow "${this.workflow}" has no tasks`
  }
}

/**
 * Any error found while checking a definition, before a run starts.
 *
 * @category errors
 * @since 0.1.0
 */
export type DefinitionError =
  | InvalidDefinition
  | DuplicateTaskId
  | UnknownDependency
  | SelfDependency
  | CycleDetected
  | EmptyWorkflow

const definitionTags: ReadonlySet<string> = new Set([
  "InvalidDefinition",
  "DuplicateTaskId",
  "UnknownDependency",
  "SelfDependency",
  "CycleDetected",
  "EmptyWorkflow"
])

/**
 * @category guards
 * @since 0.1.0
 */
export const isDefinitionError = (u: unknown): u is DefinitionError =>
  typeof u === "object" && u !== null && "_tag" in u && definitionTags.has(String(u._tag))

// -----------------------------------------------------------------------------
// Run errors
// -----------------------------------------------------------------------------

/**
 * A task ran longer than its timeout.
 *
 * @category errors
 * @since 0.1.0
 */
export class TaskTimeout extends Schema.TaggedError<TaskTimeout>()("TaskTimeout", {
  taskId: Schema.String,
  timeoutMs: Schema.Number,
  /** `attempt`: one attempt ran too long; `task`: all attempts together did. */
  scope: Schema.Literals(["attempt", "task"])
}) {
  override get message(): string {
    return `Task "${this.taskId}" timed out after ${this.timeoutMs} ms (${
      this.scope === "attempt" ? "one attempt" : "all attempts"
    })`
  }
}

/**
 * A task handler returned a rejected Promise or threw: the thrown value is kept as `cause`.
 *
 * @category errors
 * @since 0.1.0
 */
export class TaskException extends Data.TaggedError("TaskException")<{
  readonly taskId: string
  readonly cause: unknown
}> {
  override get message(): string {
    // Never trusts the thrown value: a throwing toString or a null-prototype object still gives a message.
    const detail = describe(this.cause)
    return `Task "${this.taskId}" threw: ${detail}`
  }
}

/**
 * One failed task of a run: its id and the full Cause of its last attempt.
 *
 * @category models
 * @since 0.1.0
 */
export interface TaskFailure<E> {
  readonly taskId: string
  readonly cause: Cause.Cause<E>
}

/**
 * How one compensation ended.
 *
 * @category models
 * @since 0.1.0
 */
export interface CompensationResult {
  readonly taskId: string
  readonly status: "completed" | "failed"
  readonly cause?: Cause.Cause<unknown> | undefined
}

/**
 * A run did not complete: one or more tasks failed. Carries every failure with its Cause, and the ids of
 * the tasks that did complete (their outputs are in `outputs`), so nothing already done is lost.
 *
 * @category errors
 * @since 0.1.0
 */
export class WorkflowFailed<E = unknown> extends Data.TaggedError("WorkflowFailed")<{
  readonly workflow: string
  readonly runId: string
  readonly failures: ReadonlyArray<TaskFailure<E>>
  /** Compensations that ran (saga), in the order they ran, and how each ended. */
  readonly compensations: ReadonlyArray<CompensationResult>
  readonly completed: ReadonlyArray<string>
  readonly outputs: Readonly<Record<string, unknown>>
}> {
  override get message(): string {
    const ids = this.failures.map((f) => `"${f.taskId}"`).join(", ")
    return `Workflow "${this.workflow}" failed: task${this.failures.length === 1 ? "" : "s"} ${ids} failed`
  }
}

/**
 * A run was cancelled through its handle.
 *
 * @category errors
 * @since 0.1.0
 */
export class WorkflowCancelled extends Schema.TaggedError<WorkflowCancelled>()("WorkflowCancelled", {
  workflow: Schema.String,
  runId: Schema.String,
  completed: Schema.Array(Schema.String)
}) {
  override get message(): string {
    return `Workflow "${this.workflow}" (run ${this.runId}) was cancelled`
  }
}

/**
 * A run passed its deadline: what still ran was cancelled.
 *
 * @category errors
 * @since 0.1.0
 */
export class WorkflowTimeout extends Data.TaggedError("WorkflowTimeout")<{
  readonly workflow: string
  readonly runId: string
  readonly deadlineMs: number
  readonly completed: ReadonlyArray<string>
  readonly outputs: Readonly<Record<string, unknown>>
  readonly compensations: ReadonlyArray<CompensationResult>
}> {
  override get message(): string {
    return `Workflow "${this.workflow}" (run ${this.runId}) passed its deadline of ${this.deadlineMs} ms`
  }
}
