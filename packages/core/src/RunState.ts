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
  const n = g.size
  const status = new Uint8Array(n)
  const attempts = new Int32Array(n)
  const retries = new Int32Array(n)
  const startedAt = new Float64Array(n).fill(NaN)
  const finishedAt = new Float64Array(n).fill(NaN)
  const durations = new Float64Array(n).fill(NaN)
  const outputs: Array<unknown> = new Array(n)
  const errors = new Map<number, string>()
  const causes = new Map<number, Cause.Cause<unknown>>()
  const reasons = new Map<number, string>()
  const fallbackUsed = new Set<number>()
  const cached = new Set<number>()
  const compensation = new Map<number, "completed" | "failed">()
  const iterations = new Map<number, number>()
  const counts = { completed: 0, failed: 0, skipped: 0, cancelled: 0, running: 0, waiting: 0 }
  const waits = new Map<number, Wait>()
  let runStatus: RunStatus = "pending"
  let runStartedAt: number | undefined
  let runFinishedAt: number | undefined
  let runDurationMs: number | undefined

  const settle = (i: number, to: number, at: number) => {
    if (status[i] === RUNNING) counts.running--
    if (status[i] === WAITING) counts.waiting--
    if (waits.size > 0) waits.delete(i)
    status[i] = to
    finishedAt[i] = at
  }

  const started = (i: number, at: number, attempt = 1) => {
    if (status[i] === WAITING) {
      counts.waiting--
      waits.delete(i)
    }
    if (status[i] !== RUNNING) counts.running++
    status[i] = RUNNING
    attempts[i] = attempt
    retries[i] = attempt - 1
    if (Number.isNaN(startedAt[i]!)) startedAt[i] = at
  }

  const completed = (i: number, at: number, n: number, durationMs: number, output: unknown, fallback: boolean) => {
    settle(i, COMPLETED, at)
    counts.completed++
    attempts[i] = n
    retries[i] = Math.max(0, n - 1)
    durations[i] = durationMs
    outputs[i] = output
    if (errors.size > 0) errors.delete(i)
    if (fallback) fallbackUsed.add(i)
    if (Number.isNaN(startedAt[i]!)) startedAt[i] = at - durationMs
  }

  const apply = (event: RunEvent): void => {
    switch (event._tag) {
      case "RunStarted":
        runStatus = "running"
        runStartedAt = event.at
        return
      case "RunCompleted":
      case "RunFailed":
      case "RunCancelled":
        runStatus = event._tag === "RunCompleted" ? "completed" : event._tag === "RunFailed" ? "failed" : "cancelled"
        runFinishedAt = event.at
        runDurationMs = event.durationMs
        return
      // A sub-workflow's own events: its task's state is what the parent run records.
      case "SubWorkflowEvent":
        return
    }
    const i = g.indexOf.get(event.taskId)
    if (i === undefined) return
    switch (event._tag) {
      case "TaskStarted":
        return started(i, event.at, event.attempt)
      case "TaskRetrying":
      case "TaskFallback":
        errors.set(i, event.message)
        return
      case "TaskCompleted":
        completed(i, event.at, event.attempts, event.durationMs, event.output, event.fallback === true)
        if (event.cached === true) cached.add(i)
        return
      case "TaskFailed":
        settle(i, FAILED, event.at)
        counts.failed++
        attempts[i] = event.attempts
        retries[i] = Math.max(0, event.attempts - 1)
        durations[i] = event.durationMs
        errors.set(i, event.message)
        causes.set(i, event.cause)
        return
      case "TaskSkipped":
        settle(i, SKIPPED, event.at)
        counts.skipped++
        reasons.set(i, event.reason)
        return
      case "TaskCancelled":
        settle(i, CANCELLED, event.at)
        counts.cancelled++
        reasons.set(i, event.reason)
        if (!Number.isNaN(startedAt[i]!)) durations[i] = event.at - startedAt[i]!
        return
      case "TaskIteration":
        if (event.status !== "started") iterations.set(i, (iterations.get(i) ?? 0) + 1)
        return
      case "TaskCompensated":
        compensation.set(i, "completed")
        return
      case "CompensationFailed":
        compensation.set(i, "failed")
        return
      case "BreakerStateChanged":
      case "TaskCached":
      case "ToolCalled":
      case "AgentText":
      case "AgentUsage":
        return
      case "TaskWaiting":
        if (status[i] === RUNNING) {
          counts.running--
          counts.waiting++
          status[i] = WAITING
        } else if (status[i] === 0) {
          // A ready task held back by its rate limit before it starts (it holds no slot).
          counts.waiting++
          status[i] = WAITING
        }
        if (status[i] === WAITING) {
          waits.set(i, {
            reason: event.reason,
            name: event.name,
            since: event.at,
            ...(event.until === undefined ? {} : { until: event.until })
          })
        }
        return
      case "TaskResumed":
        if (status[i] === WAITING) {
          counts.waiting--
          counts.running++
          status[i] = RUNNING
        }
        waits.delete(i)
        return
    }
  }

  const progress = (): Progress => {
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

  // A task's record, without the fields that are still unknown.
  const record = (i: number): TaskState => {
    const out: { -readonly [K in keyof TaskState]: TaskState[K] } = {
      id: g.ids[i]!,
      status: STATUSES[status[i]!]!,
      attempts: attempts[i]!,
      retries: retries[i]!
    }
    if (!Number.isNaN(startedAt[i]!)) out.startedAt = startedAt[i]!
    if (!Number.isNaN(finishedAt[i]!)) out.finishedAt = finishedAt[i]!
    if (!Number.isNaN(durations[i]!)) out.durationMs = durations[i]!
    if (status[i] === COMPLETED) out.output = outputs[i]
    if (errors.has(i)) out.error = errors.get(i)
    if (causes.has(i)) out.cause = causes.get(i)
    if (reasons.has(i)) out.reason = reasons.get(i)
    if (fallbackUsed.has(i)) out.fallbackUsed = true
    if (cached.has(i)) out.cached = true
    if (compensation.has(i)) out.compensation = compensation.get(i)
    if (iterations.has(i)) out.iterations = iterations.get(i)
    if (waits.has(i)) out.waitingFor = waits.get(i)
    return out
  }

  const snapshot = (): RunState => ({
    runId,
    workflow: plan.name,
    status: runStatus,
    startedAt: runStartedAt,
    finishedAt: runFinishedAt,
    durationMs: runDurationMs,
    tasks: Array.from({ length: n }, (_, i) => record(i)),
    progress: progress()
  })

  return {
    apply,
    started: (i, at) => started(i, at),
    completed,
    progress,
    task: (id) => {
      const i = g.indexOf.get(id)
      return i === undefined ? undefined : record(i)
    },
    snapshot
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
