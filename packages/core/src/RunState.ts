/**
 * RunState: the state of a run, derived only from its RunEvents (a fold).
 *
 * `RunState.Tracker` folds events incrementally (the engine uses one per run); `RunState.fold` folds a
 * finished list of events, for example a journal read back from disk. Both run the same `apply`.
 *
 * @since 0.1.0
 */
import type * as Cause from "effect/Cause"
import type { Plan } from "./Plan.ts"
import type { RunEvent } from "./RunEvent.ts"

// -----------------------------------------------------------------------------
// Models
// -----------------------------------------------------------------------------

/**
 * @category models
 * @since 0.1.0
 */
export type TaskStatus = "pending" | "running" | "completed" | "failed" | "skipped" | "cancelled"

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

interface MutableTask {
  id: string
  status: TaskStatus
  attempts: number
  retries: number
  startedAt?: number | undefined
  finishedAt?: number | undefined
  durationMs?: number | undefined
  output?: unknown
  error?: string | undefined
  cause?: Cause.Cause<unknown> | undefined
  reason?: string | undefined
  fallbackUsed?: boolean | undefined
  cached?: boolean | undefined
  compensation?: "completed" | "failed" | undefined
  iterations?: number | undefined
}

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

/** A task's state without the fields that are still undefined. */
const copy = (task: MutableTask): TaskState => {
  const out: Record<string, unknown> = {}
  for (const key in task) {
    const value = task[key as keyof MutableTask]
    if (value !== undefined) out[key] = value
  }
  return out as unknown as TaskState
}

/**
 * Starts a fold for a run of `plan`: every task pending.
 *
 * @category constructors
 * @since 0.1.0
 */
export const tracker = (plan: Plan, runId: string): Tracker => {
  // Every field is present from the start so all task records share one shape; `snapshot` leaves out
  // the ones that are still undefined.
  const tasks: Array<MutableTask> = plan.nodes.map((node) => ({
    id: node.id,
    status: "pending",
    attempts: 0,
    retries: 0,
    startedAt: undefined,
    finishedAt: undefined,
    durationMs: undefined,
    output: undefined,
    error: undefined,
    cause: undefined,
    reason: undefined,
    fallbackUsed: undefined,
    cached: undefined,
    compensation: undefined,
    iterations: undefined
  }))
  const byId = new Map<string, MutableTask>()
  for (const task of tasks) byId.set(task.id, task)
  const counts = { completed: 0, failed: 0, skipped: 0, cancelled: 0, running: 0 }
  let status: RunStatus = "pending"
  let startedAt: number | undefined
  let finishedAt: number | undefined
  let durationMs: number | undefined

  const leave = (task: MutableTask) => {
    if (task.status === "running") counts.running--
  }

  const apply = (event: RunEvent): void => {
    switch (event._tag) {
      case "RunStarted":
        status = "running"
        startedAt = event.at
        return
      case "RunCompleted":
      case "RunFailed":
      case "RunCancelled":
        status = event._tag === "RunCompleted" ? "completed" : event._tag === "RunFailed" ? "failed" : "cancelled"
        finishedAt = event.at
        durationMs = event.durationMs
        return
    }
    // A sub-workflow's own events: its task's state is what the parent run records.
    if (event._tag === "SubWorkflowEvent") return
    const task = byId.get(event.taskId)
    if (task === undefined) return
    switch (event._tag) {
      case "TaskStarted":
        if (task.status !== "running") counts.running++
        task.status = "running"
        task.attempts = event.attempt
        task.retries = event.attempt - 1
        if (task.startedAt === undefined) task.startedAt = event.at
        return
      case "TaskRetrying":
        task.error = event.message
        return
      case "TaskCompleted":
        leave(task)
        counts.completed++
        task.status = "completed"
        task.attempts = event.attempts
        task.retries = Math.max(0, event.attempts - 1)
        task.finishedAt = event.at
        task.durationMs = event.durationMs
        task.output = event.output
        task.error = undefined
        if (event.fallback === true) task.fallbackUsed = true
        if (event.cached === true) task.cached = true
        if (task.startedAt === undefined) task.startedAt = event.at - event.durationMs
        return
      case "TaskFailed":
        leave(task)
        counts.failed++
        task.status = "failed"
        task.attempts = event.attempts
        task.retries = Math.max(0, event.attempts - 1)
        task.finishedAt = event.at
        task.durationMs = event.durationMs
        task.error = event.message
        task.cause = event.cause
        return
      case "TaskSkipped":
        leave(task)
        counts.skipped++
        task.status = "skipped"
        task.reason = event.reason
        task.finishedAt = event.at
        return
      case "TaskFallback":
        task.error = event.message
        return
      case "TaskIteration":
        if (event.status !== "started") task.iterations = (task.iterations ?? 0) + 1
        return
      case "TaskCompensated":
        task.compensation = "completed"
        return
      case "CompensationFailed":
        task.compensation = "failed"
        return
      case "BreakerStateChanged":
      case "TaskCached":
        return
      case "TaskCancelled":
        leave(task)
        counts.cancelled++
        task.status = "cancelled"
        task.reason = event.reason
        task.finishedAt = event.at
        if (task.startedAt !== undefined) task.durationMs = event.at - task.startedAt
        return
    }
  }

  const progress = (): Progress => {
    const total = tasks.length
    const finished = counts.completed + counts.failed + counts.skipped + counts.cancelled
    return {
      total,
      completed: counts.completed,
      failed: counts.failed,
      skipped: counts.skipped,
      cancelled: counts.cancelled,
      running: counts.running,
      pending: total - finished - counts.running,
      percent: total === 0 ? 100 : Math.round((finished / total) * 1000) / 10
    }
  }

  const snapshot = (): RunState => ({
    runId,
    workflow: plan.name,
    status,
    startedAt,
    finishedAt,
    durationMs,
    tasks: tasks.map(copy),
    progress: progress()
  })

  return {
    apply,
    progress,
    task: (id) => {
      const task = byId.get(id)
      return task === undefined ? undefined : copy(task)
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
