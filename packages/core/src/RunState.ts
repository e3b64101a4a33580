/**
 * RunState: the state of a run, derived only from its RunEvents (a fold).
 *
 * `RunState.Tracker` folds events incrementally (the engine uses one per run); `RunState.fold` folds a
 * finished list of events, for example a journal read back from disk. Both run the same `apply`.
 *
 * @since 0.1.0
 */
import type * as Cause from "effect/Cause"
import { index } from "./internal/graph.ts"
import type { Plan } from "./Plan.ts"
import type { RunEvent } from "./RunEvent.ts"

// -----------------------------------------------------------------------------
// Models
// -----------------------------------------------------------------------------

/**
 * @category models
 * @since 0.1.0
 */
export type TaskStatus = "pending" | "running" | "waiting" | "completed" | "failed" | "skipped" | "cancelled"

/**
 * @category models
 * @since 0.1.0
 */
export type RunStatus = "pending" | "running" | "completed" | "failed" | "cancelled"

/**
 * What is known about one task of a run.
 *
 * @category models
 * @since 0.1.0
 */
export interface TaskState {
  readonly id: string
  readonly status: TaskStatus
  /** Attempts started so far. */
  readonly attempts: number
  /** Retries so far (attempts after the first). */
  readonly retries: number
  readonly startedAt?: number | undefined
  readonly finishedAt?: number | undefined
  readonly durationMs?: number | undefined
  readonly output?: unknown
  /** One line describing the error of a failed task. */
  readonly error?: string | undefined
  readonly cause?: Cause.Cause<unknown> | undefined
  /** Why a task was skipped or cancelled. */
  readonly reason?: string | undefined
  /** The output came from the task's fallback. */
  readonly fallbackUsed?: boolean | undefined
  /** The output came from the TaskCache. */
  readonly cached?: boolean | undefined
  /** `completed` or `failed` once the task's compensation ran. */
  readonly compensation?: "completed" | "failed" | undefined
  /** Loop iterations finished so far (for-each and while tasks). */
  readonly iterations?: number | undefined
  /** What a `waiting` task waits for. */
  readonly waitingFor?: Wait | undefined
}

/**
 * What a waiting task waits for (from its `TaskWaiting` event).
 *
 * @category models
 * @since 0.1.0
 */
export interface Wait {
  readonly reason: "signal" | "timer" | "rate-limit"
  readonly name: string
  /** When it started waiting. */
  readonly since: number
  /** When the wait ends at the latest. */
  readonly until?: number | undefined
}

/**
 * Counts over the tasks of a run.
 *
 * @category models
 * @since 0.1.0
 */
export interface Progress {
  readonly total: number
  readonly completed: number
  readonly failed: number
  readonly skipped: number
  readonly cancelled: number
  readonly running: number
  readonly pending: number
  /**
   * Started tasks that wait for a signal, a timer or a rate limit (`TaskWaiting`), not counted in
   * `running`. Always set by the fold.
   */
  readonly waiting?: number | undefined
  /** Finished tasks (completed, failed, skipped, cancelled) as a percentage of all tasks, 0 to 100. */
  readonly percent: number
}

/**
 * @category models
 * @since 0.1.0
 */
export interface RunState {
  readonly runId: string
  readonly workflow: string
  readonly status: RunStatus
  readonly startedAt?: number | undefined
  readonly finishedAt?: number | undefined
  readonly durationMs?: number | undefined
  /** Task states in declaration order. */
  readonly tasks: ReadonlyArray<TaskState>
  readonly progress: Progress
}

// -----------------------------------------------------------------------------
// Tracker
// -----------------------------------------------------------------------------


/**
 * An incremental fold of RunEvents into a RunState.
 *
 * @category models
 * @since 0.1.0
 */
export interface Tracker {
  readonly apply: (event: RunEvent) => void
  readonly progress: () => Progress
  readonly task: (id: string) => TaskState | undefined
  readonly snapshot: () => RunState
}

/**
 * @internal The tracker the engine feeds directly, by task position, when nobody else listens to the run's
 * events: the same fold as `apply` of a `TaskStarted` (first attempt) and a `TaskCompleted` (not cached),
 * without building the event.
 */
export interface FastTracker extends Tracker {
  readonly started: (i: number, at: number) => void
  readonly completed: (i: number, at: number, attempts: number, durationMs: number, output: unknown, fallback: boolean) => void
}

const STATUSES: ReadonlyArray<TaskStatus> = ["pending", "running", "completed", "failed", "skipped", "cancelled", "waiting"]
const RUNNING = 1
const COMPLETED = 2
const FAILED = 3
const SKIPPED = 4
const CANCELLED = 5
const WAITING = 6

/**
 * A run's state in columns, one slot per task (its position in the plan's graph index): typed arrays, and
 * sparse maps for what few tasks have.
 */
interface Columns {
  readonly n: number
  readonly status: Uint8Array
  readonly attempts: Int32Array
  readonly retries: Int32Array
  readonly startedAt: Float64Array
  readonly finishedAt: Float64Array
  readonly durations: Float64Array
  readonly outputs: Array<unknown>
  readonly errors: Map<number, string>
  readonly causes: Map<number, Cause.Cause<unknown>>
  readonly reasons: Map<number, string>
  readonly fallbackUsed: Set<number>
  readonly cached: Set<number>
  readonly compensation: Map<number, "completed" | "failed">
  readonly iterations: Map<number, number>
  readonly counts: { completed: number; failed: number; skipped: number; cancelled: number; running: number; waiting: number }
  readonly waits: Map<number, Wait>
  runStatus: RunStatus
  runStartedAt: number | undefined
  runFinishedAt: number | undefined
  runDurationMs: number | undefined
}

const makeColumns = (n: number): Columns => ({
  n,
  status: new Uint8Array(n),
  attempts: new Int32Array(n),
  retries: new Int32Array(n),
  startedAt: new Float64Array(n).fill(NaN),
  finishedAt: new Float64Array(n).fill(NaN),
  durations: new Float64Array(n).fill(NaN),
  outputs: new Array(n),
  errors: new Map(),
  causes: new Map(),
  reasons: new Map(),
  fallbackUsed: new Set(),
  cached: new Set(),
  compensation: new Map(),
  iterations: new Map(),
  counts: { completed: 0, failed: 0, skipped: 0, cancelled: 0, running: 0, waiting: 0 },
  waits: new Map(),
  runStatus: "pending",
  runStartedAt: undefined,
  runFinishedAt: undefined,
  runDurationMs: undefined
})

// ---- task transitions ----------------------------------------------------------------------------------

/** A task reaches a final status (leaving running or waiting). */
const settleTask = (c: Columns, i: number, to: number, at: number) => {
  if (c.status[i] === RUNNING) c.counts.running--
  if (c.status[i] === WAITING) c.counts.waiting--
  if (c.waits.size > 0) c.waits.delete(i)
  c.status[i] = to
  c.finishedAt[i] = at
}

const startTask = (c: Columns, i: number, at: number, attempt: number) => {
  if (c.status[i] === WAITING) {
    c.counts.waiting--
    c.waits.delete(i)
  }
  if (c.status[i] !== RUNNING) c.counts.running++
  c.status[i] = RUNNING
  c.attempts[i] = attempt
  c.retries[i] = attempt - 1
  if (Number.isNaN(c.startedAt[i]!)) c.startedAt[i] = at
}

const completeTask = (
  c: Columns,
  i: number,
  at: number,
  n: number,
  durationMs: number,
  output: unknown,
  fallback: boolean
) => {
  settleTask(c, i, COMPLETED, at)
  c.counts.completed++
  c.attempts[i] = n
  c.retries[i] = Math.max(0, n - 1)
  c.durations[i] = durationMs
  c.outputs[i] = output
  if (c.errors.size > 0) c.errors.delete(i)
  if (fallback) c.fallbackUsed.add(i)
  if (Number.isNaN(c.startedAt[i]!)) c.startedAt[i] = at - durationMs
}

const failTask = (c: Columns, i: number, event: Extract<RunEvent, { _tag: "TaskFailed" }>) => {
  settleTask(c, i, FAILED, event.at)
  c.counts.failed++
  c.attempts[i] = event.attempts
  c.retries[i] = Math.max(0, event.attempts - 1)
  c.durations[i] = event.durationMs
  c.errors.set(i, event.message)
  c.causes.set(i, event.cause)
}

/** A running task waits (a signal, a timer), or a ready one is held back by its rate limit (no slot). */
const waitTask = (c: Columns, i: number, event: Extract<RunEvent, { _tag: "TaskWaiting" }>) => {
  if (c.status[i] === RUNNING) {
    c.counts.running--
    c.counts.waiting++
    c.status[i] = WAITING
  } else if (c.status[i] === 0) {
    // A ready task held back by its rate limit before it starts (it holds no slot).
    c.counts.waiting++
    c.status[i] = WAITING
  }
  if (c.status[i] === WAITING) {
    c.waits.set(i, {
      reason: event.reason,
      name: event.name,
      since: event.at,
      ...(event.until === undefined ? {} : { until: event.until })
    })
  }
}

const resumeTask = (c: Columns, i: number) => {
  if (c.status[i] === WAITING) {
    c.counts.waiting--
    c.counts.running++
    c.status[i] = RUNNING
  }
  c.waits.delete(i)
}

// ---- folding events ------------------------------------------------------------------------------------

/** A run-level event; `false` when the event is about a task. */
const applyRunEvent = (c: Columns, event: RunEvent): boolean => {
  switch (event._tag) {
    case "RunStarted":
      c.runStatus = "running"
      c.runStartedAt = event.at
      return true
    case "RunCompleted":
    case "RunFailed":
    case "RunCancelled":
      c.runStatus = event._tag === "RunCompleted" ? "completed" : event._tag === "RunFailed" ? "failed" : "cancelled"
      c.runFinishedAt = event.at
      c.runDurationMs = event.durationMs
      return true
    // A sub-workflow's own events: its task's state is what the parent run records.
    case "SubWorkflowEvent":
      return true
  }
  return false
}

const applyTaskEvent = (c: Columns, i: number, event: RunEvent): void => {
  switch (event._tag) {
    case "TaskStarted":
      return startTask(c, i, event.at, event.attempt)
    case "TaskRetrying":
    case "TaskFallback":
      c.errors.set(i, event.message)
      return
    case "TaskCompleted":
      completeTask(c, i, event.at, event.attempts, event.durationMs, event.output, event.fallback === true)
      if (event.cached === true) c.cached.add(i)
      return
    case "TaskFailed":
      return failTask(c, i, event)
    case "TaskSkipped":
      settleTask(c, i, SKIPPED, event.at)
      c.counts.skipped++
      c.reasons.set(i, event.reason)
      return
    case "TaskCancelled":
      settleTask(c, i, CANCELLED, event.at)
      c.counts.cancelled++
      c.reasons.set(i, event.reason)
      if (!Number.isNaN(c.startedAt[i]!)) c.durations[i] = event.at - c.startedAt[i]!
      return
    case "TaskIteration":
      if (event.status !== "started") c.iterations.set(i, (c.iterations.get(i) ?? 0) + 1)
      return
    case "TaskCompensated":
      c.compensation.set(i, "completed")
      return
    case "CompensationFailed":
      c.compensation.set(i, "failed")
      return
    case "TaskWaiting":
      return waitTask(c, i, event)
    case "TaskResumed":
      return resumeTask(c, i)
    // BreakerStateChanged, TaskCached, ToolCalled, AgentText, AgentUsage: nothing to record here.
  }
}

// ---- reading the state ---------------------------------------------------------------------------------

const progressOf = (c: Columns): Progress => {
  const { counts, n } = c
  const finished = counts.completed + counts.failed + counts.skipped + counts.cancelled
  return {
    total: n,
    completed: counts.completed,
    failed: counts.failed,
    skipped: counts.skipped,
    cancelled: counts.cancelled,
    running: counts.running,
    pending: n - finished - counts.running - counts.waiting,
    waiting: counts.waiting,
    percent: n === 0 ? 100 : Math.round((finished / n) * 1000) / 10
  }
}

/** A task's record, without the fields that are still unknown. */
const recordOf = (c: Columns, id: string, i: number): TaskState => {
  const out: { -readonly [K in keyof TaskState]: TaskState[K] } = {
    id,
    status: STATUSES[c.status[i]!]!,
    attempts: c.attempts[i]!,
    retries: c.retries[i]!
  }
  if (!Number.isNaN(c.startedAt[i]!)) out.startedAt = c.startedAt[i]!
  if (!Number.isNaN(c.finishedAt[i]!)) out.finishedAt = c.finishedAt[i]!
  if (!Number.isNaN(c.durations[i]!)) out.durationMs = c.durations[i]!
  if (c.status[i] === COMPLETED) out.output = c.outputs[i]
  if (c.errors.has(i)) out.error = c.errors.get(i)
  if (c.causes.has(i)) out.cause = c.causes.get(i)
  if (c.reasons.has(i)) out.reason = c.reasons.get(i)
  if (c.fallbackUsed.has(i)) out.fallbackUsed = true
  if (c.cached.has(i)) out.cached = true
  if (c.compensation.has(i)) out.compensation = c.compensation.get(i)
  if (c.iterations.has(i)) out.iterations = c.iterations.get(i)
  if (c.waits.has(i)) out.waitingFor = c.waits.get(i)
  return out
}

/**
 * Starts a fold for a run of `plan`: every task pending.
 *
 * The state is kept in columns (typed arrays, and sparse maps for what few tasks have), so a run of
 * 100 000 tasks does not carry 100 000 records; `task` and `snapshot` build the records when asked.
 *
 * @category constructors
 * @since 0.1.0
 */
export const tracker = (plan: Plan, runId: string): FastTracker => {
  const g = index(plan)
  const c = makeColumns(g.size)
  return {
    apply: (event) => {
      if (applyRunEvent(c, event)) return
      const i = g.indexOf.get((event as { readonly taskId: string }).taskId)
      if (i !== undefined) applyTaskEvent(c, i, event)
    },
    started: (i, at) => startTask(c, i, at, 1),
    completed: (i, at, n, durationMs, output, fallback) => completeTask(c, i, at, n, durationMs, output, fallback),
    progress: () => progressOf(c),
    task: (id) => {
      const i = g.indexOf.get(id)
      return i === undefined ? undefined : recordOf(c, g.ids[i]!, i)
    },
    snapshot: () => ({
      runId,
      workflow: plan.name,
      status: c.runStatus,
      startedAt: c.runStartedAt,
      finishedAt: c.runFinishedAt,
      durationMs: c.runDurationMs,
      tasks: Array.from({ length: c.n }, (_, i) => recordOf(c, g.ids[i]!, i)),
      progress: progressOf(c)
    })
  }
}

/**
 * Folds a list of events into the state they describe.
 *
 * @category constructors
 * @since 0.1.0
 */
export const fold = (plan: Plan, runId: string, events: Iterable<RunEvent>): RunState => {
  const t = tracker(plan, runId)
  for (const event of events) t.apply(event)
  return t.snapshot()
}
