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
  failed: Schema.Array(Schema.String),
  /** Set when the run's deadline ended it. */
  deadlineExceeded: Schema.optional(Schema.Boolean)
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
  output: Schema.Unknown,
  /** The output came from the task's fallback after its retries were exhausted. */
  fallback: Schema.optional(Schema.Boolean),
  /** The output came from the TaskCache (the handler did not run). */
  cached: Schema.optional(Schema.Boolean)
})
/** @category schemas @since 0.1.0 */
export const TaskCached = Schema.TaggedStruct("TaskCached", {
  ...base,
  taskId: Schema.String,
  /** The cache key's hash. */
  hash: Schema.String
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

/** @category schemas @since 0.1.0 */
export const TaskFallback = Schema.TaggedStruct("TaskFallback", {
  ...base,
  taskId: Schema.String,
  /** The error that exhausted the retries. */
  message: Schema.String
})
/** @category schemas @since 0.1.0 */
export const TaskIteration = Schema.TaggedStruct("TaskIteration", {
  ...base,
  taskId: Schema.String,
  /** From 0. */
  iteration: Schema.Number,
  status: Schema.Literals(["started", "completed", "failed"]),
  message: Schema.optional(Schema.String)
})
/** @category schemas @since 0.1.0 */
export const TaskCompensated = Schema.TaggedStruct("TaskCompensated", {
  ...base,
  taskId: Schema.String,
  durationMs: Schema.Number
})
/** @category schemas @since 0.1.0 */
export const CompensationFailed = Schema.TaggedStruct("CompensationFailed", {
  ...base,
  taskId: Schema.String,
  message: Schema.String,
  cause: Schema.Cause(Schema.Unknown, Schema.Defect())
})
/** @category schemas @since 0.1.0 */
export const BreakerStateChanged = Schema.TaggedStruct("BreakerStateChanged", {
  ...base,
  breaker: Schema.String,
  /** The task whose call caused the change. */
  taskId: Schema.String,
  from: Schema.Literals(["closed", "open", "half-open"]),
  to: Schema.Literals(["closed", "open", "half-open"])
})

/**
 * A line a task printed (a command task's stdout or stderr), streamed while the task runs.
 *
 * @category schemas
 * @since 0.1.0
 */
export const TaskOutput = Schema.TaggedStruct("TaskOutput", {
  ...base,
  taskId: Schema.String,
  stream: Schema.Literals(["stdout", "stderr"]),
  /** One line, without its line terminator. */
  line: Schema.String
})

/**
 * A tool call an agent made while running a task: the tool, its arguments as the model sent them, how long
 * it ran and how it ended (`success`; `error`: the error went back to the model; `fatal`: the error failed
 * the task).
 *
 * @category schemas
 * @since 0.1.0
 */
export const ToolCalled = Schema.TaggedStruct("ToolCalled", {
  ...base,
  taskId: Schema.String,
  agent: Schema.String,
  tool: Schema.String,
  /** The id the model gave the call. */
  callId: Schema.String,
  arguments: Schema.Unknown,
  durationMs: Schema.Number,
  outcome: Schema.Literals(["success", "error", "fatal"]),
  /** The error's description, when the call failed. */
  message: Schema.optional(Schema.String)
})

/**
 * Text an agent's model streamed while running a task: the new text since the previous event (coalesced,
 * bounded) and the tail of the answer so far (bounded), for progress views.
 *
 * @category schemas
 * @since 0.1.0
 */
export const AgentText = Schema.TaggedStruct("AgentText", {
  ...base,
  taskId: Schema.String,
  agent: Schema.String,
  delta: Schema.String,
  /** The last characters of the text so far. */
  text: Schema.String
})

/**
 * Tokens one model call of an agent used while running a task (summed per task, agent, run and workflow by
 * `RunMetrics`).
 *
 * @category schemas
 * @since 0.1.0
 */
export const AgentUsage = Schema.TaggedStruct("AgentUsage", {
  ...base,
  taskId: Schema.String,
  agent: Schema.String,
  /** The model that answered, when known (used to price the call). */
  model: Schema.optional(Schema.String),
  inputTokens: Schema.Number,
  outputTokens: Schema.Number,
  /** Input tokens served from the provider's prompt cache (part of `inputTokens`). */
  cachedTokens: Schema.Number
})

/**
 * A running task started waiting: for a signal (`Signal.wait`), a timer (`Signal.sleep`) or a rate limit.
 * Until the matching `TaskResumed`, run state and progress count it as `waiting`, not `running`.
 *
 * @category schemas
 * @since 0.1.0
 */
export const TaskWaiting = Schema.TaggedStruct("TaskWaiting", {
  ...base,
  taskId: Schema.String,
  reason: Schema.Literals(["signal", "timer", "rate-limit"]),
  /** The signal's name, the timer's name, or the rate limit's key. */
  name: Schema.String,
  /** When the wait ends at the latest (a timeout, a timer's end), epoch milliseconds. */
  until: Schema.optional(Schema.Number)
})

/**
 * A waiting task goes on: the signal arrived (`signal`), the timer elapsed or the rate limit let it through
 * (`elapsed`), or the wait timed out (`timeout`).
 *
 * @category schemas
 * @since 0.1.0
 */
export const TaskResumed = Schema.TaggedStruct("TaskResumed", {
  ...base,
  taskId: Schema.String,
  reason: Schema.Literals(["signal", "timer", "rate-limit"]),
  name: Schema.String,
  outcome: Schema.Literals(["signal", "elapsed", "timeout"]),
  waitedMs: Schema.Number
})

const members = [
  RunStarted,
  RunCompleted,
  RunFailed,
  RunCancelled,
  TaskStarted,
  TaskCompleted,
  TaskFailed,
  TaskRetrying,
  TaskSkipped,
  TaskCancelled,
  TaskFallback,
  TaskCached,
  TaskIteration,
  TaskCompensated,
  CompensationFailed,
  BreakerStateChanged,
  TaskOutput,
  ToolCalled,
  AgentText,
  AgentUsage,
  TaskWaiting,
  TaskResumed
] as const

const Flat = Schema.Union(members)

/**
 * An event of a sub-workflow's run, seen from the parent run: the task that runs the child, and the
 * child's event (itself possibly a `SubWorkflowEvent` of a grandchild). Progress and state count the
 * sub-workflow as one task; these events let a view show what happens inside it.
 *
 * @category models
 * @since 0.1.0
 */
export interface SubWorkflowEvent {
  readonly _tag: "SubWorkflowEvent"
  readonly runId: string
  readonly at: number
  readonly taskId: string
  readonly event: RunEvent
}

/**
 * The encoded form of a `SubWorkflowEvent`.
 *
 * @category models
 * @since 0.1.0
 */
export interface SubWorkflowEventEncoded {
  readonly _tag: "SubWorkflowEvent"
  readonly runId: string
  readonly at: number
  readonly taskId: string
  readonly event: Encoded
}

/**
 * Every event of a run.
 *
 * @category models
 * @since 0.1.0
 */
export type RunEvent = typeof Flat.Type | SubWorkflowEvent

/**
 * The encoded (JSON) form of a run event.
 *
 * @category models
 * @since 0.1.0
 */
export type Encoded = typeof Flat.Encoded | SubWorkflowEventEncoded

/** @category schemas @since 0.1.0 */
export const SubWorkflowEvent: Schema.Codec<SubWorkflowEvent, SubWorkflowEventEncoded> = Schema.TaggedStruct(
  "SubWorkflowEvent",
  {
    ...base,
    taskId: Schema.String,
    event: Schema.suspend((): Schema.Codec<RunEvent, Encoded> => RunEvent)
  }
)

/**
 * The union schema of all run events.
 *
 * @category schemas
 * @since 0.1.0
 */
export const RunEvent: Schema.Codec<RunEvent, Encoded> = Schema.Union([...members, SubWorkflowEvent])

// -----------------------------------------------------------------------------
// Models
// -----------------------------------------------------------------------------


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

/**
 * An event a task reports about itself through `TaskInfo.emit` (tool calls, streamed model text, token
 * usage, the events of a run it drives itself): the engine adds `runId`, `at` and `taskId`.
 *
 * @category models
 * @since 0.1.0
 */
export type TaskReport =
  | Omit<Of<"ToolCalled">, "runId" | "at" | "taskId">
  | Omit<Of<"AgentText">, "runId" | "at" | "taskId">
  | Omit<Of<"AgentUsage">, "runId" | "at" | "taskId">
  | Omit<Of<"TaskWaiting">, "runId" | "at" | "taskId">
  | Omit<Of<"TaskResumed">, "runId" | "at" | "taskId">
  | Omit<Of<"TaskOutput">, "runId" | "at" | "taskId">
  | { readonly _tag: "SubWorkflowEvent"; readonly event: RunEvent }

/**
 * Is this the last event of a run?
 *
 * @category guards
 * @since 0.1.0
 */
export const isTerminal = (event: RunEvent): boolean =>
  event._tag === "RunCompleted" || event._tag === "RunFailed" || event._tag === "RunCancelled"

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
