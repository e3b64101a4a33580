/**
 * RunStore: where runs are remembered. Each run's record (workflow, version, input, status, times), its
 * plan, its RunEvents, the outputs and errors of its tasks, and per-task duration statistics.
 *
 * Everything a run shows is a fold over its stored events (`state`, `RunMetrics`, reports), so history
 * survives the process that ran it. The durable runtime (`@troupe/durable`) writes every durable run here
 * (SQLite, same database as its journal); {@link layerMemory} keeps runs in memory (tests, and runs that
 * only need history within one process).
 *
 * The store never deletes anything by itself: {@link RunStoreShape.delete} removes one run and
 * {@link RunStoreShape.prune} removes finished runs older than a given age.
 *
 * **Example**
 * ```ts
 * import { Effect } from "effect"
 * import { RunStore } from "@troupe/core"
 *
 * const failedToday = Effect.gen(function*() {
 *   const store = yield* RunStore.RunStore
 *   return yield* store.list({ status: "failed", since: Date.now() - 86_400_000 })
 * }).pipe(Effect.provide(RunStore.layerMemory))
 * ```
 *
 * @since 0.1.0
 */
import { Clock, Context, Duration, Effect, Layer, Schema } from "effect"
import type { Plan } from "./Plan.ts"
import type { RunEvent } from "./RunEvent.ts"
import * as RunState from "./RunState.ts"

// -----------------------------------------------------------------------------
// Models
// -----------------------------------------------------------------------------

/**
 * A run's status in the store. `pending`: registered, not started yet (or waiting to be resumed).
 *
 * @category models
 * @since 0.1.0
 */
export type RunStatus = RunState.RunStatus

/**
 * One run, as listed.
 *
 * @category models
 * @since 0.1.0
 */
export interface RunRecord {
  readonly runId: string
  readonly workflow: string
  /** The workflow version the run started with ("" when the workflow declares none). */
  readonly version: string
  readonly status: RunStatus
  /** Run by the durable runtime (resumable after a crash). */
  readonly durable: boolean
  /** The run's input as JSON data. */
  readonly input: unknown
  /** Milliseconds since the epoch. */
  readonly createdAt: number
  readonly updatedAt: number
  readonly finishedAt?: number | undefined
  readonly durationMs?: number | undefined
  /** Why a failed run failed (one line). */
  readonly error?: string | undefined
  /** `cancel` was asked for while the run was pending or running; its owner stops it. */
  readonly cancelRequested: boolean
  /** Tasks in the plan, and how many completed and failed so far (top-level tasks). */
  readonly tasks: { readonly total: number; readonly completed: number; readonly failed: number }
}

/**
 * What registers a run.
 *
 * @category models
 * @since 0.1.0
 */
export interface NewRun {
  readonly runId: string
  readonly workflow: string
  readonly version?: string | undefined
  readonly durable?: boolean | undefined
  readonly input?: unknown
  readonly plan: Plan
}

/**
 * A failed task of a run.
 *
 * @category models
 * @since 0.1.0
 */
export interface TaskError {
  /** The task's path (`child/task` inside a sub-workflow). */
  readonly path: string
  readonly message: string
  readonly attempts: number
  readonly at: number
}

/**
 * Duration statistics of one task (by path) over the completed executions the store has seen.
 *
 * @category models
 * @since 0.1.0
 */
export interface TaskStats {
  readonly path: string
  /** Completed executions counted. */
  readonly count: number
  /** Failed executions counted. */
  readonly failures: number
  readonly meanMs: number
  readonly minMs: number
  readonly maxMs: number
  readonly lastMs: number
}

/**
 * Filters of {@link RunStoreShape.list}. Runs come newest first.
 *
 * @category models
 * @since 0.1.0
 */
export interface ListOptions {
  readonly workflow?: string | undefined
  readonly status?: RunStatus | ReadonlyArray<RunStatus> | undefined
  /** Created at or after (ms since the epoch). */
  readonly since?: number | undefined
  /** Created before (ms since the epoch). */
  readonly until?: number | undefined
  /** Default 100. */
  readonly limit?: number | undefined
  readonly offset?: number | undefined
}

/**
 * @category models
 * @since 0.1.0
 */
export interface PruneOptions {
  /** Finished runs (completed, failed, cancelled) that finished longer ago than this are removed. */
  readonly olderThan: Duration.Input
  /** Only runs of this workflow. */
  readonly workflow?: string | undefined
}

// -----------------------------------------------------------------------------
// Errors
// -----------------------------------------------------------------------------

/**
 * @category errors
 * @since 0.1.0
 */
export class RunNotFound extends Schema.TaggedError<RunNotFound>()("RunNotFound", {
  runId: Schema.String
}) {
  override get message(): string {
    return `no run with id "${this.runId}" in the run store`
  }
}

/**
 * A stored value cannot be read back (damaged or written by an incompatible version). Nothing is changed
 * or deleted: the error says where the value is so it can be inspected or removed by hand.
 *
 * @category errors
 * @since 0.1.0
 */
export class CorruptRecord extends Schema.TaggedError<CorruptRecord>()("CorruptRecord", {
  /** Where: a table or collection name. */
  table: Schema.String,
  /** Which row: e.g. `run r1, event 12`. */
  key: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `corrupt record in ${this.table} (${this.key}): ${this.detail}; it was left as stored`
  }
}

/**
 * The store could not read or write (the storage's error says why).
 *
 * @category errors
 * @since 0.1.0
 */
export class RunStoreError extends Schema.TaggedError<RunStoreError>()("RunStoreError", {
  operation: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `run store ${this.operation} failed: ${this.detail}`
  }
}

/**
 * @category errors
 * @since 0.1.0
 */
export type StoreError = CorruptRecord | RunStoreError

// -----------------------------------------------------------------------------
// Service
// -----------------------------------------------------------------------------

/**
 * @category services
 * @since 0.1.0
 */
export interface RunStoreShape {
  /** Registers a run (pending). A run already registered is returned unchanged. */
  readonly register: (run: NewRun) => Effect.Effect<RunRecord, StoreError>
  /** Appends events of a run, in order; the record, outputs, errors and statistics follow them. */
  readonly append: (runId: string, events: ReadonlyArray<RunEvent>) => Effect.Effect<void, RunNotFound | StoreError>
  readonly list: (options?: ListOptions) => Effect.Effect<ReadonlyArray<RunRecord>, StoreError>
  readonly get: (runId: string) => Effect.Effect<RunRecord, RunNotFound | StoreError>
  readonly plan: (runId: string) => Effect.Effect<Plan, RunNotFound | StoreError>
  /** The run's events in order (from the `after`-th on, when given). */
  readonly events: (
    runId: string,
    options?: { readonly after?: number | undefined }
  ) => Effect.Effect<ReadonlyArray<RunEvent>, RunNotFound | StoreError>
  /** Outputs of the run's completed top-level tasks, by task id. */
  readonly outputs: (runId: string) => Effect.Effect<Readonly<Record<string, unknown>>, RunNotFound | StoreError>
  /** Failed task executions of the run (all levels, by path). */
  readonly errors: (runId: string) => Effect.Effect<ReadonlyArray<TaskError>, RunNotFound | StoreError>
  /**
   * Asks a pending or running run to stop: the record says `cancelRequested` and the process that owns
   * the run cancels it; a pending run that nobody runs becomes `cancelled` at once. A finished run is
   * returned unchanged.
   */
  readonly cancel: (runId: string) => Effect.Effect<RunRecord, RunNotFound | StoreError>
  /** Removes a run and everything stored about it. `false` when there was no such run. */
  readonly delete: (runId: string) => Effect.Effect<boolean, StoreError>
  /** Removes finished runs older than `olderThan`; returns how many. */
  readonly prune: (options: PruneOptions) => Effect.Effect<number, StoreError>
  /** Per-task duration statistics of a workflow's runs, by task path. */
  readonly durations: (workflow: string) => Effect.Effect<ReadonlyMap<string, TaskStats>, StoreError>
  /** Marks a run's status (the durable runtime uses it when it resumes or abandons a run). */
  readonly setStatus: (runId: string, status: RunStatus, error?: string) => Effect.Effect<void, RunNotFound | StoreError>
}

/**
 * @category services
 * @since 0.1.0
 */
export class RunStore extends Context.Service<RunStore, RunStoreShape>()("@troupe/core/RunStore") {}

// -----------------------------------------------------------------------------
// Shared folds (every implementation applies events the same way)
// -----------------------------------------------------------------------------

/**
 * What one event changes in the store: the record, an output, an error, a duration sample.
 *
 * @category folds
 * @since 0.1.0
 */
export interface EventEffect {
  readonly status?: RunStatus | undefined
  readonly finishedAt?: number | undefined
  readonly durationMs?: number | undefined
  readonly error?: string | undefined
  /** A top-level task completed with this output. */
  readonly output?: { readonly taskId: string; readonly value: unknown } | undefined
  readonly taskError?: TaskError | undefined
  /** A task execution (by path) completed or failed after this many ms. */
  readonly sample?: { readonly path: string; readonly ms: number; readonly failed: boolean } | undefined
  /** +1 to completed or failed top-level task counts. */
  readonly counted?: "completed" | "failed" | undefined
}

/**
 * @category folds
 * @since 0.1.0
 */
export const effectOf = (event: RunEvent, prefix = ""): EventEffect => {
  const top = prefix === ""
  switch (event._tag) {
    case "RunStarted":
      return top ? { status: "running" } : {}
    case "RunCompleted":
      return top ? { status: "completed", finishedAt: event.at, durationMs: event.durationMs } : {}
    case "RunFailed":
      return top
        ? {
          status: "failed",
          finishedAt: event.at,
          durationMs: event.durationMs,
          error: event.deadlineExceeded === true
            ? "deadline exceeded"
            : `failed tasks: ${event.failed.join(", ")}`
        }
        : {}
    case "RunCancelled":
      return top ? { status: "cancelled", finishedAt: event.at, durationMs: event.durationMs } : {}
    case "TaskCompleted":
      return {
        ...(top ? { output: { taskId: event.taskId, value: event.output }, counted: "completed" as const } : {}),
        ...(event.cached === true ? {} : { sample: { path: prefix + event.taskId, ms: event.durationMs, failed: false } })
      }
    case "TaskFailed":
      return {
        ...(top ? { counted: "failed" as const } : {}),
        taskError: { path: prefix + event.taskId, message: event.message, attempts: event.attempts, at: event.at },
        sample: { path: prefix + event.taskId, ms: event.durationMs, failed: true }
      }
    case "SubWorkflowEvent":
      return effectOf(event.event, `${prefix}${event.taskId}/`)
    default:
      return {}
  }
}

/**
 * Folds one duration sample into statistics.
 *
 * @category folds
 * @since 0.1.0
 */
export const addSample = (stats: TaskStats | undefined, path: string, ms: number, failed: boolean): TaskStats => {
  if (failed) {
    return stats === undefined
      ? { path, count: 0, failures: 1, meanMs: 0, minMs: 0, maxMs: 0, lastMs: 0 }
      : { ...stats, failures: stats.failures + 1 }
  }
  if (stats === undefined || stats.count === 0) {
    return { path, count: 1, failures: stats?.failures ?? 0, meanMs: ms, minMs: ms, maxMs: ms, lastMs: ms }
  }
  const count = stats.count + 1
  return {
    path,
    count,
    failures: stats.failures,
    meanMs: stats.meanMs + (ms - stats.meanMs) / count,
    minMs: Math.min(stats.minMs, ms),
    maxMs: Math.max(stats.maxMs, ms),
    lastMs: ms
  }
}

const isFinished = (status: RunStatus): boolean =>
  status === "completed" || status === "failed" || status === "cancelled"

/**
 * Whether a run has ended (completed, failed or cancelled).
 *
 * @category guards
 * @since 0.1.0
 */
export const isFinishedStatus: (status: RunStatus) => boolean = isFinished

const matches = (record: RunRecord, options: ListOptions): boolean => {
  if (options.workflow !== undefined && record.workflow !== options.workflow) return false
  if (options.status !== undefined) {
    const statuses: ReadonlyArray<RunStatus> = typeof options.status === "string" ? [options.status] : options.status
    if (!statuses.includes(record.status)) return false
  }
  if (options.since !== undefined && record.createdAt < options.since) return false
  if (options.until !== undefined && record.createdAt >= options.until) return false
  return true
}

// -----------------------------------------------------------------------------
// In-memory implementation
// -----------------------------------------------------------------------------

interface MemoryRun {
  record: RunRecord
  readonly plan: Plan
  readonly events: Array<RunEvent>
  readonly outputs: Record<string, unknown>
  readonly errors: Array<TaskError>
}

/**
 * A store in memory (its content lives as long as the layer).
 *
 * @category constructors
 * @since 0.1.0
 */
export const makeMemory: Effect.Effect<RunStoreShape> = Effect.sync(() => {
  const runs = new Map<string, MemoryRun>()
  const stats = new Map<string, Map<string, TaskStats>>()
  const find = (runId: string) =>
    Effect.suspend(() => {
      const run = runs.get(runId)
      return run === undefined ? Effect.fail(new RunNotFound({ runId })) : Effect.succeed(run)
    })
  const store: RunStoreShape = {
    register: (run) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Effect.sync(() => {
          const existing = runs.get(run.runId)
          if (existing !== undefined) return existing.record
          const record: RunRecord = {
            runId: run.runId,
            workflow: run.workflow,
            version: run.version ?? "",
            status: "pending",
            durable: run.durable === true,
            input: run.input,
            createdAt: now,
            updatedAt: now,
            cancelRequested: false,
            tasks: { total: run.plan.nodes.length, completed: 0, failed: 0 }
          }
          runs.set(run.runId, { record, plan: run.plan, events: [], outputs: {}, errors: [] })
          return record
        })),
    append: (runId, events) =>
      Effect.flatMap(find(runId), (run) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) =>
          Effect.sync(() => {
            let record = run.record
            let byPath = stats.get(record.workflow)
            for (const event of events) {
              run.events.push(event)
              const e = effectOf(event)
              if (e.status !== undefined) {
                record = {
                  ...record,
                  status: e.status,
                  finishedAt: e.finishedAt ?? record.finishedAt,
                  durationMs: e.durationMs ?? record.durationMs,
                  error: e.error ?? record.error
                }
              }
              if (e.output !== undefined) run.outputs[e.output.taskId] = e.output.value
              if (e.taskError !== undefined) run.errors.push(e.taskError)
              if (e.counted !== undefined) {
                record = { ...record, tasks: { ...record.tasks, [e.counted]: record.tasks[e.counted] + 1 } }
              }
              if (e.sample !== undefined) {
                if (byPath === undefined) stats.set(record.workflow, byPath = new Map())
                byPath.set(e.sample.path, addSample(byPath.get(e.sample.path), e.sample.path, e.sample.ms, e.sample.failed))
              }
            }
            run.record = { ...record, updatedAt: now }
          }))),
    list: (options = {}) =>
      Effect.sync(() => {
        const all = [...runs.values()].map((run) => run.record).filter((record) => matches(record, options))
        all.sort((a, b) => b.createdAt - a.createdAt || (a.runId < b.runId ? 1 : -1))
        const offset = options.offset ?? 0
        return all.slice(offset, offset + (options.limit ?? 100))
      }),
    get: (runId) => Effect.map(find(runId), (run) => run.record),
    plan: (runId) => Effect.map(find(runId), (run) => run.plan),
    events: (runId, options) => Effect.map(find(runId), (run) => run.events.slice(options?.after ?? 0)),
    outputs: (runId) => Effect.map(find(runId), (run) => ({ ...run.outputs })),
    errors: (runId) => Effect.map(find(runId), (run) => [...run.errors]),
    cancel: (runId) =>
      Effect.flatMap(find(runId), (run) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) =>
          Effect.sync(() => {
            if (isFinished(run.record.status)) return run.record
            run.record = run.record.status === "pending"
              ? { ...run.record, status: "cancelled", cancelRequested: true, finishedAt: now, updatedAt: now }
              : { ...run.record, cancelRequested: true, updatedAt: now }
            return run.record
          }))),
    delete: (runId) => Effect.sync(() => runs.delete(runId)),
    prune: ({ olderThan, workflow }) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Effect.sync(() => {
          const cutoff = now - Duration.toMillis(Duration.fromInputUnsafe(olderThan))
          let removed = 0
          for (const [id, run] of runs) {
            const r = run.record
            if (workflow !== undefined && r.workflow !== workflow) continue
            if (isFinished(r.status) && (r.finishedAt ?? r.updatedAt) < cutoff) {
              runs.delete(id)
              removed++
            }
          }
          return removed
        })),
    durations: (workflow) => Effect.sync(() => new Map(stats.get(workflow) ?? [])),
    setStatus: (runId, status, error) =>
      Effect.flatMap(find(runId), (run) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) =>
          Effect.sync(() => {
            run.record = {
              ...run.record,
              status,
              updatedAt: now,
              ...(isFinished(status) ? { finishedAt: run.record.finishedAt ?? now } : {}),
              ...(error !== undefined ? { error } : {})
            }
          })))
  }
  return store
})

/**
 * The in-memory store as a layer (a fresh store per layer build).
 *
 * @category layers
 * @since 0.1.0
 */
export const layerMemory: Layer.Layer<RunStore> = Layer.effect(RunStore, makeMemory)

// -----------------------------------------------------------------------------
// Reading and recording
// -----------------------------------------------------------------------------

/**
 * A run's state, folded from its stored plan and events.
 *
 * @category accessors
 * @since 0.1.0
 */
export const state = (runId: string): Effect.Effect<RunState.RunState, RunNotFound | StoreError, RunStore> =>
  Effect.flatMap(RunStore, (store) =>
    Effect.flatMap(
      Effect.all([store.plan(runId), store.events(runId)]),
      ([plan, events]) => Effect.sync(() => RunState.fold(plan, runId, events))
    ))

/**
 * Duration estimates (mean ms by task path) learned from a workflow's past runs, for tasks with at
 * least `minSamples` completed executions (default 1).
 *
 * @category accessors
 * @since 0.1.0
 */
export const estimates = (
  workflow: string,
  options?: { readonly minSamples?: number | undefined }
): Effect.Effect<Readonly<Record<string, number>>, StoreError, RunStore> =>
  Effect.flatMap(RunStore, (store) =>
    Effect.map(store.durations(workflow), (byPath) => {
      const out: Record<string, number> = {}
      for (const [path, stats] of byPath) {
        if (stats.count >= (options?.minSamples ?? 1)) out[path] = stats.meanMs
      }
      return out
    }))
