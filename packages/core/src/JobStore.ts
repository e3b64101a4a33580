/**
 * JobStore: where the Orchestrator keeps what must outlive one process: the submitted jobs (priority,
 * status, result or error) and the run history.
 *
 * The Orchestrator writes through this service after each operation (a job submitted, started, finished,
 * forgotten; a run recorded, finished, dropped from the history) and reads everything back once, when its
 * layer is built:
 *
 * - finished jobs and runs come back as they were (`status`, `getTask`, `history`, `stats`);
 * - jobs that were `queued` or `running` when the process stopped are queued again (a job that was running
 *   runs again: at-least-once) if their agent was registered by name (`Orchestrator.layer({ agents })`,
 *   then `submit("name", input)`); a job submitted as a function value cannot be resumed (the function is
 *   not data) and is restored as `failed`, with a message saying so.
 *
 * Writes are ordered: the Orchestrator hands them to one writer fiber, in the order the operations happened.
 * `submit` returns only once its job is stored; later transitions are written in the background. A store
 * that fails is reported in the log (`JobStoreError` says which operation and which record); the job or
 * run goes on in memory.
 *
 * Without a JobStore in its context the Orchestrator keeps everything in memory only. `layerMemory` is the
 * in-memory implementation (two orchestrators built one after the other on the same `layerMemory` behave
 * like a process restart, which is how the restore path is tested); `@troupe/durable` provides SQLite.
 *
 * Records must survive a round trip through JSON for a durable store: a job's `result` and `error` should be
 * JSON values (a durable store may replace what it cannot encode by a description, and says so in
 * `message`).
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { JobStore, Orchestrator } from "@troupe/core"
 *
 * const store = JobStore.layerMemory
 * const orchestrator = Orchestrator.layer({ agents: { double: (n: number) => n * 2 } }).pipe(Layer.provide(store))
 * const program = Effect.gen(function*() {
 *   const o = yield* Orchestrator.Orchestrator
 *   const id = yield* o.submit("double", 21)
 *   return (yield* o.awaitJob(id)).result // 42
 * }).pipe(Effect.provide(orchestrator))
 * ```
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer, Schema } from "effect"
import type * as RunState from "./RunState.ts"
import type * as Task from "./Task.ts"

// -----------------------------------------------------------------------------
// Models
// -----------------------------------------------------------------------------

/**
 * @category models
 * @since 0.1.0
 */
export type JobStatus = "queued" | "running" | "completed" | "failed" | "cancelled"

/**
 * A job as stored: everything the Orchestrator needs to show it again and, while it is not finished, to
 * run it again after a restart.
 *
 * @category models
 * @since 0.1.0
 */
export interface JobRecord {
  readonly id: string
  /** Submission order (FIFO within a priority; restored jobs keep their place). */
  readonly seq: number
  /** 1 (lowest) to 10 (highest). */
  readonly priority: Task.Priority
  readonly metadata: Readonly<Record<string, unknown>>
  readonly status: JobStatus
  readonly submittedAt: number
  readonly startedAt?: number | undefined
  readonly finishedAt?: number | undefined
  /**
   * The name the agent was registered under (`Orchestrator.layer({ agents })`); absent for a job submitted
   * as a function or Task value, which cannot be resumed after a restart.
   */
  readonly agent?: string | undefined
  /** The job's input (stored only for named agents: it is what a resumed job runs with). */
  readonly input?: unknown
  /** The result, when the job completed. */
  readonly result?: unknown
  /** The typed failure, when the job failed with one. */
  readonly error?: unknown
  /** One line describing the failure or cancellation. */
  readonly message?: string | undefined
  /** For a Task value job: the id of the one-task run that executed it. */
  readonly runId?: string | undefined
  /** How many times the job was started (more than 1 when it was resumed after a restart while running). */
  readonly attempts?: number | undefined
}

/**
 * One entry of the run history, as stored.
 *
 * @category models
 * @since 0.1.0
 */
export interface RunRecord {
  readonly runId: string
  readonly workflow: string
  readonly status: RunState.RunStatus
  readonly startedAt: number | undefined
  readonly finishedAt: number | undefined
  readonly durationMs: number | undefined
  readonly progress: RunState.Progress
  /** Ids of the tasks that failed. */
  readonly failedTasks: ReadonlyArray<string>
  /** The job that started this run, when it ran a submitted Task value. */
  readonly jobId?: string | undefined
}

/**
 * What a store holds, as read back when an Orchestrator starts.
 *
 * @category models
 * @since 0.1.0
 */
export interface Snapshot {
  /** Jobs in submission order. */
  readonly jobs: ReadonlyArray<JobRecord>
  /** Finished runs, oldest first. */
  readonly runs: ReadonlyArray<RunRecord>
}

// -----------------------------------------------------------------------------
// Errors
// -----------------------------------------------------------------------------

/**
 * A store operation failed: which one, on which record, and why.
 *
 * @category errors
 * @since 0.1.0
 */
export class JobStoreError extends Schema.TaggedError<JobStoreError>()("JobStoreError", {
  operation: Schema.Literals(["load", "putJob", "deleteJobs", "putRun", "deleteRuns"]),
  /** The job or run id(s) concerned, if any. */
  ids: Schema.Array(Schema.String),
  reason: Schema.String,
  cause: Schema.optional(Schema.Defect())
}) {
  override get message(): string {
    const on = this.ids.length === 0 ? "" : ` (${this.ids.slice(0, 5).join(", ")}${this.ids.length > 5 ? ", ..." : ""})`
    return `JobStore ${this.operation}${on} failed: ${this.reason}`
  }
}

// -----------------------------------------------------------------------------
// Services
// -----------------------------------------------------------------------------

/**
 * The operations a store implements. Every write replaces or removes whole records (an upsert by id), so
 * a store needs no knowledge of the Orchestrator's transitions.
 *
 * @category models
 * @since 0.1.0
 */
export interface JobStoreApi {
  /** Everything stored. Called once when an Orchestrator is built. */
  readonly load: Effect.Effect<Snapshot, JobStoreError>
  /** Stores a job's record, replacing the one with the same id. */
  readonly putJob: (job: JobRecord) => Effect.Effect<void, JobStoreError>
  /** Forgets jobs (finished jobs beyond `jobLimit`). Unknown ids are ignored. */
  readonly deleteJobs: (ids: ReadonlyArray<string>) => Effect.Effect<void, JobStoreError>
  /** Stores a run's summary, replacing the one with the same id. */
  readonly putRun: (run: RunRecord) => Effect.Effect<void, JobStoreError>
  /** Forgets runs (finished runs beyond `historyLimit`). Unknown ids are ignored. */
  readonly deleteRuns: (ids: ReadonlyArray<string>) => Effect.Effect<void, JobStoreError>
}

/**
 * The store service. Optional: an Orchestrator without one keeps jobs and history in memory only.
 *
 * @category services
 * @since 0.1.0
 */
export class JobStore extends Context.Service<JobStore, JobStoreApi>()("@troupe/core/JobStore") {}

// -----------------------------------------------------------------------------
// Constructors
// -----------------------------------------------------------------------------

/**
 * An in-memory store (records are kept as given, in insertion order of their first write).
 *
 * @category constructors
 * @since 0.1.0
 */
export const makeMemory = (): JobStoreApi => {
  const jobs = new Map<string, JobRecord>()
  const runs = new Map<string, RunRecord>()
  return {
    load: Effect.sync(() => ({
      jobs: [...jobs.values()].sort((a, b) => a.seq - b.seq),
      runs: [...runs.values()]
    })),
    putJob: (job) =>
      Effect.sync(() => {
        jobs.set(job.id, job)
      }),
    deleteJobs: (ids) =>
      Effect.sync(() => {
        for (const id of ids) jobs.delete(id)
      }),
    putRun: (run) =>
      Effect.sync(() => {
        runs.set(run.runId, run)
      }),
    deleteRuns: (ids) =>
      Effect.sync(() => {
        for (const id of ids) runs.delete(id)
      })
  }
}

// -----------------------------------------------------------------------------
// Layers
// -----------------------------------------------------------------------------

/**
 * A fresh in-memory store. It lives as long as the layer: orchestrators built on the same layer value
 * (memoised) share it, which is how a restart is simulated in tests.
 *
 * @category layers
 * @since 0.1.0
 */
export const layerMemory: Layer.Layer<JobStore> = Layer.sync(JobStore, makeMemory)
