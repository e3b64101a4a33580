/**
 * RunEvent: everything observable that happens during a run, as one Schema tagged union.
 *
 * Progress callbacks, `RunState`, metrics, journals and terminal views are all folds over the stream of
 * these events; there is no second bookkeeping path. Events are plain objects (cheap to create on the
 * engine's hot path); the `RunEvent` schema encodes and decodes them at boundaries (journals, the wire).
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

// -----------------------------------------------------------------------------
// Schemas
// -----------------------------------------------------------------------------

const base = {
  runId: Schema.String,
  /** Milliseconds since the epoch, read from Effect's `Clock` (so `TestClock` controls it). */
  at: Schema.Number
}

/** @category schemas @since 0.1.0 */
export const RunStarted = Schema.TaggedStruct("RunStarted", {
  ...base,
  workflow: Schema.String,
  total: Schema.Number
})
/** @category schemas @since 0.1.0 */
export const RunCompleted = Schema.TaggedStruct("RunCompleted", { ...base, durationMs: Schema.Number })
/** @category schemas @since 0.1.0 */
export const RunFailed = Schema.TaggedStruct("RunFailed", {
  ...base,
  durationMs: Schema.Number,
  failed: Schema.Array(Schema.String)
})
/** @category schemas @since 0.1.0 */
export const RunCancelled = Schema.TaggedStruct("RunCancelled", { ...base, durationMs: Schema.Number })
/** @category schemas @since 0.1.0 */
export const TaskStarted = Schema.TaggedStruct("TaskStarted", {
  ...base,
  taskId: Schema.String,
  attempt: Schema.Number
})
/** @category schemas @since 0.1.0 */
export const TaskCompleted = Schema.TaggedStruct("TaskCompleted", {
  ...base,
  taskId: Schema.String,
  attempts: Schema.Number,
  durationMs: Schema.Number,
  output: Schema.Unknown
})
/** @category schemas @since 0.1.0 */
export const TaskFailed = Schema.TaggedStruct("TaskFailed", {
  ...base,
  taskId: Schema.String,
  attempts: Schema.Number,
  durationMs: Schema.Number,
  /** A one-line description of the error. */
  message: Schema.String,
  cause: Schema.Cause(Schema.Unknown, Schema.Defect())
})
/** @category schemas @since 0.1.0 */
export const TaskRetrying = Schema.TaggedStruct("TaskRetrying", {
  ...base,
  taskId: Schema.String,
  /** The attempt that failed, from 1. */
  attempt: Schema.Number,
  /** The delay before the next attempt. */
  delayMs: Schema.Number,
  message: Schema.String
})
/** @category schemas @since 0.1.0 */
export const TaskSkipped = Schema.TaggedStruct("TaskSkipped", {
  ...base,
  taskId: Schema.String,
  reason: Schema.String
})
/** @category schemas @since 0.1.0 */
export const TaskCancelled = Schema.TaggedStruct("TaskCancelled", {
  ...base,
  taskId: Schema.String,
  reason: Schema.String
})

/**
 * The union schema of all run events.
 *
 * @category schemas
 * @since 0.1.0
 */
export const RunEvent = Schema.Union([
  RunStarted,
  RunCompleted,
  RunFailed,
  RunCancelled,
  TaskStarted,
  TaskCompleted,
  TaskFailed,
  TaskRetrying,
  TaskSkipped,
  TaskCancelled
])

// -----------------------------------------------------------------------------
// Models
// -----------------------------------------------------------------------------

/**
 * @category models
 * @since 0.1.0
 */
export type RunEvent = typeof RunEvent.Type

/**
 * The tag of a run event.
 *
 * @category models
 * @since 0.1.0
 */
export type Tag = RunEvent["_tag"]

/**
 * The event with a given tag.
 *
 * @category models
 * @since 0.1.0
 */
export type Of<T extends Tag> = Extract<RunEvent, { readonly _tag: T }>

/**
 * Events about one task.
 *
 * @category models
 * @since 0.1.0
 */
export type TaskEvent = Extract<RunEvent, { readonly taskId: string }>

// -----------------------------------------------------------------------------
// Guards
// -----------------------------------------------------------------------------

/**
 * @category guards
 * @since 0.1.0
 */
export const isTaskEvent = (event: RunEvent): event is TaskEvent => "taskId" in event

/**
 * @category guards
 * @since 0.1.0
 */
export const is = <T extends Tag>(tag: T) => (event: RunEvent): event is Of<T> => event._tag === tag
