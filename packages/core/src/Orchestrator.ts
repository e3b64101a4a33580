/**
 * Orchestrator: the seeds' entry point over Troupe's services, as one Effect service.
 *
 * - Runs: `execute` a workflow (with a progress callback), `start` one in the background, `executeTask`
 *   runs one task ad hoc (as a one-task workflow); every run is recorded, so its `state`, `progress` and
 *   `metrics` (`RunMetrics`: durations, retries, critical path, bottleneck, parallelism) can be read by run
 *   id, it can be `cancel`led, and it appears in `history` and in the aggregate `stats`.
 * - Jobs: `submit(agent, input, { priority, metadata, callback })` queues a job; `workers` jobs (default 4)
 *   run at once, highest priority first and first-in-first-out within a priority. `status(id)`,
 *   `getTask(id)`, `awaitJob(id)` and `cancelJob(id)` follow a job.
 * - Events: `on(name, handler)` subscribes to lifecycle events (`task.completed`, `workflow.failed`,
 *   `job.queued`, ...), which are the runs' RunEvents and the jobs' transitions under seed names;
 *   `emit("custom.name", payload)` publishes custom events to the same handlers.
 * - Cache: `cacheStats`, `invalidateCache` and `clearCache` act on the `TaskCache` provided when the
 *   layer was built; without one the stats say strategy `none`.
 *
 * Priority: Troupe counts 1 to 10 with 10 highest, for tasks and jobs alike (seed 000's convention).
 * Seed 002 counts 1 as highest: map its priorities with {@link fromSeed002Priority} (`11 - p`).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Orchestrator, Workflow } from "@troupe/core"
 *
 * const wf = Workflow.make("greet").task("hello", () => Effect.succeed("hello"))
 *
 * const program = Effect.gen(function*() {
 *   const orchestrator = yield* Orchestrator.Orchestrator
 *   const off = yield* orchestrator.on("task.completed", (event) => console.log(event.taskId))
 *   const result = yield* orchestrator.execute(wf, undefined, {
 *     onProgress: (progress) => console.log(`${progress.percent}%`)
 *   })
 *   yield* off
 *   const jobId = yield* orchestrator.submit((name: string) => `hi ${name}`, "ada", { priority: 8 })
 *   const job = yield* orchestrator.awaitJob(jobId)
 *   return [result.outputs.hello, job.result]
 * }).pipe(Effect.provide(Orchestrator.layer({ workers: 2 })))
 * ```
 *
 * @since 0.1.0
 */
import { Cause, Clock, Context, Deferred, Effect, Exit, type Fiber, Layer, Option, Schema, Scope } from "effect"
import * as Engine from "./Engine.ts"
import { makeJobQueue, type QueueEntry } from "./internal/orchestratorQueue.ts"
import * as Plan from "./Plan.ts"
import { isTerminal, type RunEvent } from "./RunEvent.ts"
import type * as RunEventNs from "./RunEvent.ts"
import * as RunMetrics from "./RunMetrics.ts"
import * as RunState from "./RunState.ts"
import * as Task from "./Task.ts"
import type { ErrorOf, OutputOf, ServicesOf } from "./Task.ts"
import * as TaskCache from "./TaskCache.ts"
import * as Workflow from "./Workflow.ts"
import type { DefinitionError, WorkflowCancelled, WorkflowFailed, WorkflowTimeout } from "./WorkflowError.ts"

// -----------------------------------------------------------------------------
// Errors
// -----------------------------------------------------------------------------

/**
 * No run with this id is known (never started here, or dropped from the history).
 *
 * @category errors
 * @since 0.1.0
 */
export class RunNotFound extends Schema.TaggedError<RunNotFound>()("RunNotFound", {
  runId: Schema.String
}) {
  override get message(): string {
    return `No run "${this.runId}" is known to the orchestrator`
  }
}

/**
 * No job with this id is known.
 *
 * @category errors
 * @since 0.1.0
 */
export class JobNotFound extends Schema.TaggedError<JobNotFound>()("JobNotFound", {
  jobId: Schema.String
}) {
  override get message(): string {
    return `No job "${this.jobId}" is known to the orchestrator`
  }
}

// -----------------------------------------------------------------------------
// Priorities
// -----------------------------------------------------------------------------

const clampPriority = (p: number): Task.Priority =>
  (Number.isFinite(p) ? Math.min(10, Math.max(1, Math.round(p))) : 5) as Task.Priority

/**
 * Maps a seed 002 priority (1 is the highest) onto Troupe's scale (10 is the highest): `11 - p`, so
 * 1 → 10, 2 → 9, ..., 10 → 1. Values outside 1–10 are rounded and clamped first.
 *
 * Troupe uses one convention everywhere, seed 000's: priorities run from 1 (lowest) to 10 (highest),
 * for workflow tasks (`Task.Priority`) and for submitted jobs.
 *
 * @example
 * ```ts
 * import { Orchestrator } from "@troupe/core"
 *
 * Orchestrator.fromSeed002Priority(1) // 10
 * Orchestrator.fromSeed002Priority(3) // 8
 * ```
 *
 * @category priorities
 * @since 0.1.0
 */
export const fromSeed002Priority = (priority: number): Task.Priority => (11 - clampPriority(priority)) as Task.Priority

/**
 * The inverse of {@link fromSeed002Priority}: a Troupe priority on seed 002's scale (1 is the highest).
 *
 * @category priorities
 * @since 0.1.0
 */
export const toSeed002Priority = (priority: Task.Priority): number => 11 - clampPriority(priority)

// -----------------------------------------------------------------------------
// Models: runs
// -----------------------------------------------------------------------------

/**
 * The arguments after the workflow of `execute`/`start`: the input (optional when the workflow takes
 * none), then run options (`onProgress`, `onEvent`, `runId`, `maxParallel`, ...).
 *
 * @category models
 * @since 0.1.0
 */
export type RunArgs<W extends Workflow.Any> = [void] extends [Workflow.Input<W>]
  ? [input?: Workflow.Input<W>, options?: Engine.RunOptions]
  : [input: Workflow.Input<W>, options?: Engine.RunOptions]

/**
 * The errors of a run that started: a task failed, the deadline passed, or it was cancelled.
 *
 * @category models
 * @since 0.1.0
 */
export type RunError<W extends Workflow.Any> =
  | WorkflowFailed<Workflow.Error<W>>
  | WorkflowTimeout
  | WorkflowCancelled

/**
 * One entry of the run history.
 *
 * @category models
 * @since 0.1.0
 */
export interface RunSummary {
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
 * Options of `history`.
 *
 * @category models
 * @since 0.1.0
 */
export interface HistoryOptions {
  /** At most this many runs (the newest). */
  readonly limit?: number | undefined
  /** Only runs of this workflow (a name or a workflow value). */
  readonly workflow?: string | Workflow.Any | undefined
  /** Only runs with this status. */
  readonly status?: RunState.RunStatus | undefined
}

/**
 * Options of `stats`.
 *
 * @category models
 * @since 0.1.0
 */
export interface StatsOptions {
  /** Only runs of this workflow (a name or a workflow value). */
  readonly workflow?: string | Workflow.Any | undefined
}

/**
 * Job counts by status.
 *
 * @category models
 * @since 0.1.0
 */
export interface JobCounts {
  /** Jobs submitted since the layer was built. */
  readonly total: number
  readonly queued: number
  readonly running: number
  readonly completed: number
  readonly failed: number
  readonly cancelled: number
}

/**
 * Aggregate statistics.
 *
 * @category models
 * @since 0.1.0
 */
export interface Stats {
  /**
   * `RunMetrics.aggregate` over the runs kept in the history (see `historyLimit`): runs by status,
   * success rate, wall-time average, p50 and p95, retries, and per-task statistics.
   */
  readonly runs: RunMetrics.Aggregate
  /** Runs in progress. */
  readonly running: number
  /** Jobs known now (finished jobs beyond `jobLimit` are forgotten; `total` counts every submission). */
  readonly jobs: JobCounts
}

// -----------------------------------------------------------------------------
// Models: jobs
// -----------------------------------------------------------------------------

declare const JobTypes: unique symbol

/**
 * A job id. It is a plain string at run time; its phantom type remembers the job's result and error
 * types, so `getTask(id)` and `awaitJob(id)` return a typed job. Any string is accepted where a job id is
 * expected (the job is then `Job<unknown, unknown>`).
 *
 * @category models
 * @since 0.1.0
 */
export type JobId<A = unknown, E = unknown> = string & {
  readonly [JobTypes]?: { readonly _A: A; readonly _E: E }
}

/**
 * @category models
 * @since 0.1.0
 */
export type JobStatus = "queued" | "running" | "completed" | "failed" | "cancelled"

/**
 * A submitted job and, once it finished, its result or error.
 *
 * @category models
 * @since 0.1.0
 */
export interface Job<A = unknown, E = unknown> {
  readonly id: JobId<A, E>
  readonly status: JobStatus
  /** 1 (lowest) to 10 (highest). */
  readonly priority: Task.Priority
  readonly metadata: Readonly<Record<string, unknown>>
  readonly submittedAt: number
  readonly startedAt?: number | undefined
  readonly finishedAt?: number | undefined
  /** From start to finish. */
  readonly durationMs?: number | undefined
  /** The agent's result, when the job completed. */
  readonly result?: A | undefined
  /** The agent's typed failure, when the job failed with one (not for defects). */
  readonly error?: E | undefined
  /** The full Cause, when the job failed. */
  readonly cause?: Cause.Cause<E> | undefined
  /** One line describing the failure or cancellation. */
  readonly message?: string | undefined
  /** For a Task value: the id of the one-task run that executed it (see `history`). */
  readonly runId?: string | undefined
}

/**
 * What `submit` accepts as an agent: a function of the input returning an Effect, a Promise or a value,
 * or a Task value (it receives `{ input }` and runs as a one-task workflow, so its retry policy, timeout
 * and cache policy apply).
 *
 * @category models
 * @since 0.1.0
 */
export type Agent<I, A, E = never, R = never> =
  | ((input: I) => Effect.Effect<A, E, R> | PromiseLike<A> | A)
  | Task.Task<A, E, R, { readonly input: I }>

/**
 * @category models
 * @since 0.1.0
 */
export interface SubmitOptions<A = unknown, E = unknown> {
  /** 1 (lowest) to 10 (highest); default 5. */
  readonly priority?: Task.Priority | undefined
  readonly metadata?: Readonly<Record<string, unknown>> | undefined
  /** Called once with the finished job (completed, failed or cancelled). Exceptions are logged. */
  readonly callback?: ((job: Job<A, E>) => void) | undefined
}

// -----------------------------------------------------------------------------
// Models: events
// -----------------------------------------------------------------------------

/**
 * A run event as a lifecycle event: the RunEvent plus the workflow's name.
 *
 * @category events
 * @since 0.1.0
 */
export type WorkflowEvent<T extends RunEventNs.Tag> = RunEventNs.Of<T> & { readonly workflow: string }

/**
 * @category events
 * @since 0.1.0
 */
export interface JobQueued {
  readonly _tag: "JobQueued"
  readonly jobId: string
  readonly at: number
  readonly priority: Task.Priority
  readonly metadata: Readonly<Record<string, unknown>>
}

/**
 * @category events
 * @since 0.1.0
 */
export interface JobStarted {
  readonly _tag: "JobStarted"
  readonly jobId: string
  readonly at: number
  readonly priority: Task.Priority
  readonly metadata: Readonly<Record<string, unknown>>
}

/**
 * @category events
 * @since 0.1.0
 */
export interface JobCompleted {
  readonly _tag: "JobCompleted"
  readonly jobId: string
  readonly at: number
  readonly durationMs: number
  readonly result: unknown
  readonly metadata: Readonly<Record<string, unknown>>
}

/**
 * @category events
 * @since 0.1.0
 */
export interface JobFailed {
  readonly _tag: "JobFailed"
  readonly jobId: string
  readonly at: number
  readonly durationMs: number
  readonly message: string
  readonly cause: Cause.Cause<unknown>
  readonly metadata: Readonly<Record<string, unknown>>
}

/**
 * @category events
 * @since 0.1.0
 */
export interface JobCancelled {
  readonly _tag: "JobCancelled"
  readonly jobId: string
  readonly at: number
  readonly metadata: Readonly<Record<string, unknown>>
}

/**
 * A custom event published with `emit`.
 *
 * @category events
 * @since 0.1.0
 */
export interface CustomEvent<P = unknown> {
  readonly _tag: "Custom"
  readonly name: CustomName
  readonly at: number
  readonly payload: P
}

/**
 * The lifecycle events and what their handlers receive. Run events map onto them as follows:
 * `RunStarted` → `workflow.started`, `RunCompleted` → `workflow.completed`, `RunFailed` →
 * `workflow.failed`, `RunCancelled` → `workflow.cancelled`, `TaskStarted` → `task.started` (once per
 * attempt), `TaskCompleted` → `task.completed` (also for cache hits), `TaskFailed` → `task.failed`,
 * `TaskSkipped` → `task.skipped`, `TaskRetrying` → `task.retrying`, `TaskCancelled` → `task.cancelled`.
 *
 * @category events
 * @since 0.1.0
 */
export interface Events {
  readonly "workflow.started": WorkflowEvent<"RunStarted">
  readonly "workflow.completed": WorkflowEvent<"RunCompleted">
  readonly "workflow.failed": WorkflowEvent<"RunFailed">
  readonly "workflow.cancelled": WorkflowEvent<"RunCancelled">
  readonly "task.started": WorkflowEvent<"TaskStarted">
  readonly "task.completed": WorkflowEvent<"TaskCompleted">
  readonly "task.failed": WorkflowEvent<"TaskFailed">
  readonly "task.skipped": WorkflowEvent<"TaskSkipped">
  readonly "task.retrying": WorkflowEvent<"TaskRetrying">
  readonly "task.cancelled": WorkflowEvent<"TaskCancelled">
  readonly "job.queued": JobQueued
  readonly "job.started": JobStarted
  readonly "job.completed": JobCompleted
  readonly "job.failed": JobFailed
  readonly "job.cancelled": JobCancelled
}

/**
 * The name of a custom event: anything under `custom.`.
 *
 * @category events
 * @since 0.1.0
 */
export type CustomName = `custom.${string}`

/**
 * A name `on` accepts.
 *
 * @category events
 * @since 0.1.0
 */
export type EventName = keyof Events | CustomName

/**
 * What a handler of an event name receives.
 *
 * @category events
 * @since 0.1.0
 */
export type EventOf<N extends EventName> = N extends keyof Events ? Events[N] : CustomEvent

/**
 * An event handler. It runs synchronously where the event happens; exceptions it throws are logged
 * and do not affect the run or job.
 *
 * @category events
 * @since 0.1.0
 */
export type Handler<N extends EventName> = (event: EventOf<N>) => void

const runEventNames: Partial<Record<RunEventNs.Tag, keyof Events>> = {
  RunStarted: "workflow.started",
  RunCompleted: "workflow.completed",
  RunFailed: "workflow.failed",
  RunCancelled: "workflow.cancelled",
  TaskStarted: "task.started",
  TaskCompleted: "task.completed",
  TaskFailed: "task.failed",
  TaskSkipped: "task.skipped",
  TaskRetrying: "task.retrying",
  TaskCancelled: "task.cancelled"
}

/**
 * The lifecycle event name of a run event, if it has one.
 *
 * @category events
 * @since 0.1.0
 */
export const eventName = (event: RunEvent): keyof Events | undefined => runEventNames[event._tag]

// -----------------------------------------------------------------------------
// Service
// -----------------------------------------------------------------------------

/**
 * Options of {@link layer}.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options {
  /** Jobs running at once. Default 4. */
  readonly workers?: number | undefined
  /** Finished runs kept for `history`, `state` and `metrics` (oldest dropped first). Default 1000. */
  readonly historyLimit?: number | undefined
  /** Finished jobs kept for `status` and `getTask` (oldest dropped first). Default 10000. */
  readonly jobLimit?: number | undefined
}

/**
 * The orchestrator's operations.
 *
 * @category models
 * @since 0.1.0
 */
export interface OrchestratorApi {
  /**
   * Runs a workflow to the end and records the run. Options are the engine's (`onProgress`,
   * `onEvent`, `runId`, `maxParallel`, `failureMode`, ...). Interrupting the caller cancels the run.
   */
  readonly execute: <W extends Workflow.Any>(
    workflow: W,
    ...args: RunArgs<W>
  ) => Effect.Effect<
    Engine.RunResult<Workflow.Outputs<W>>,
    RunError<W> | DefinitionError,
    Workflow.Services<W>
  >

  /**
   * Starts a workflow in the background and records the run. The run belongs to the orchestrator: it
   * goes on after the calling fiber ends, until it finishes, is cancelled, or the layer is released.
   */
  readonly start: <W extends Workflow.Any>(
    workflow: W,
    ...args: RunArgs<W>
  ) => Effect.Effect<
    Engine.RunHandle<Workflow.Outputs<W>, Workflow.Error<W>>,
    DefinitionError,
    Workflow.Services<W>
  >

  /**
   * Runs one task ad hoc, as a one-task workflow named after `id` (recorded like any run), and returns
   * its output. A handler receives `{ input }`, like a workflow task's.
   */
  readonly executeTask: {
    <A, E, R, I>(
      id: string,
      task: Task.Task<A, E, R, { readonly input: I }>,
      input: I,
      options?: Engine.RunOptions
    ): Effect.Effect<A, WorkflowFailed<E> | WorkflowTimeout | WorkflowCancelled | DefinitionError, R>
    <I, F extends (ctx: { readonly input: I }) => unknown>(
      id: string,
      handler: F,
      input: I,
      options?: Engine.RunOptions
    ): Effect.Effect<
      OutputOf<ReturnType<F>>,
      WorkflowFailed<ErrorOf<ReturnType<F>>> | WorkflowTimeout | WorkflowCancelled | DefinitionError,
      ServicesOf<ReturnType<F>>
    >
  }

  /** The state of a run (live while it runs). */
  readonly state: (runId: string) => Effect.Effect<RunState.RunState, RunNotFound>
  readonly progress: (runId: string) => Effect.Effect<RunState.Progress, RunNotFound>
  /** Cancels a run: running tasks are interrupted, pending ones cancelled; a finished run is left as is. */
  readonly cancel: (runId: string) => Effect.Effect<void, RunNotFound>
  /** Recorded runs, newest first. */
  readonly history: (options?: HistoryOptions) => Effect.Effect<ReadonlyArray<RunSummary>>
  /** What the run measured (`RunMetrics`): per task and per run, critical path, bottleneck, parallelism. */
  readonly metrics: (runId: string) => Effect.Effect<RunMetrics.RunMetrics, RunNotFound>
  /** Aggregate statistics over the recorded runs (optionally of one workflow) and the jobs. */
  readonly stats: (options?: StatsOptions) => Effect.Effect<Stats>

  /** The stats of the TaskCache the layer was built with; strategy `none` without one. */
  readonly cacheStats: Effect.Effect<TaskCache.CacheStats>
  /** Removes every cached output of one task of a workflow; returns how many entries were removed. */
  readonly invalidateCache: (workflow: string | Workflow.Any, taskId: string) => Effect.Effect<number>
  readonly clearCache: Effect.Effect<void>

  /**
   * Queues a job. A function agent is called with `input`; a Task value receives `{ input }` and runs as
   * a one-task workflow. The services the agent needs are taken from the caller.
   */
  readonly submit: {
    <A, E, R, I>(
      agent: Task.Task<A, E, R, { readonly input: I }>,
      input: I,
      options?: SubmitOptions<A, E>
    ): Effect.Effect<JobId<A, E>, never, R>
    <I, F extends (input: I) => unknown>(
      agent: F,
      input: I,
      options?: SubmitOptions<OutputOf<ReturnType<F>>, ErrorOf<ReturnType<F>>>
    ): Effect.Effect<JobId<OutputOf<ReturnType<F>>, ErrorOf<ReturnType<F>>>, never, ServicesOf<ReturnType<F>>>
  }
  readonly status: (jobId: string) => Effect.Effect<JobStatus, JobNotFound>
  /** The job record, with its result or error once it finished. */
  readonly getTask: <A, E>(jobId: JobId<A, E>) => Effect.Effect<Job<A, E>, JobNotFound>
  /** Waits until the job finished (completed, failed or cancelled) and returns its record. */
  readonly awaitJob: <A, E>(jobId: JobId<A, E>) => Effect.Effect<Job<A, E>, JobNotFound>
  /** Cancels a job: a queued job is removed, a running one interrupted; a finished job is left as is. */
  readonly cancelJob: (jobId: string) => Effect.Effect<void, JobNotFound>
  /** Known jobs in submission order, optionally only those with one status. */
  readonly jobs: (options?: { readonly status?: JobStatus | undefined }) => Effect.Effect<ReadonlyArray<Job>>

  /** Subscribes a handler; the returned effect unsubscribes it. */
  readonly on: <N extends EventName>(name: N, handler: Handler<N>) => Effect.Effect<Effect.Effect<void>>
  /** Publishes a custom event to the handlers of its name. */
  readonly emit: <P>(name: CustomName, payload: P) => Effect.Effect<void>
}

/**
 * The orchestrator service.
 *
 * @category services
 * @since 0.1.0
 */
export class Orchestrator extends Context.Service<Orchestrator, OrchestratorApi>()("@troupe/core/Orchestrator") {}

// -----------------------------------------------------------------------------
// Implementation
// -----------------------------------------------------------------------------

interface RunEntry {
  readonly seq: number
  readonly runId: string
  readonly workflow: string
  readonly tracker: RunState.Tracker
  readonly metrics: RunMetrics.Collector
  readonly jobId: string | undefined
  handle: Engine.RunHandle<unknown, unknown> | undefined
  cancelRequested: boolean
  finished: boolean
}

interface JobEntry extends QueueEntry {
  readonly id: string
  readonly priority: Task.Priority
  readonly metadata: Readonly<Record<string, unknown>>
  readonly submittedAt: number
  readonly context: Context.Context<never>
  readonly program: Effect.Effect<unknown, unknown>
  readonly callback: ((job: Job) => void) | undefined
  readonly done: Deferred.Deferred<Job>
  status: JobStatus
  startedAt?: number | undefined
  finishedAt?: number | undefined
  result?: unknown
  error?: unknown
  cause?: Cause.Cause<unknown> | undefined
  message?: string | undefined
  runId?: string | undefined
  fiber: Fiber.Fiber<unknown, unknown> | undefined
}

let idCounter = 0
const newId = (prefix: string): string =>
  `${prefix}-${Date.now().toString(36)}-${(idCounter++).toString(36)}-${Math.random().toString(36).slice(2, 8)}`

type StartFn = (
  workflow: Workflow.Any,
  input: unknown,
  options: Engine.RunOptions
) => Effect.Effect<Engine.RunHandle<unknown, unknown>, DefinitionError, unknown>

const engineStart = Engine.start as unknown as StartFn

const noCacheStats: TaskCache.CacheStats = {
  strategy: "none",
  hits: 0,
  misses: 0,
  hitRate: 0,
  evictions: 0,
  invalidations: 0,
  size: 0,
  maxSize: undefined
}

const jobView = (job: JobEntry): Job => ({
  id: job.id,
  status: job.status,
  priority: job.priority,
  metadata: job.metadata,
  submittedAt: job.submittedAt,
  ...(job.startedAt === undefined ? {} : { startedAt: job.startedAt }),
  ...(job.finishedAt === undefined ? {} : {
    finishedAt: job.finishedAt,
    durationMs: job.finishedAt - (job.startedAt ?? job.finishedAt)
  }),
  ...(job.status === "completed" ? { result: job.result } : {}),
  ...(job.error === undefined ? {} : { error: job.error }),
  ...(job.cause === undefined ? {} : { cause: job.cause }),
  ...(job.message === undefined ? {} : { message: job.message }),
  ...(job.runId === undefined ? {} : { runId: job.runId })
})

const nameOf = (workflow: string | Workflow.Any | undefined): string | undefined =>
  workflow === undefined ? undefined : typeof workflow === "string" ? workflow : workflow.name

const summaryOf = (entry: RunEntry): RunSummary => {
  const state = entry.tracker.snapshot()
  return {
    runId: entry.runId,
    workflow: entry.workflow,
    status: state.status,
    startedAt: state.startedAt,
    finishedAt: state.finishedAt,
    durationMs: state.durationMs,
    progress: state.progress,
    failedTasks: state.tasks.filter((t) => t.status === "failed").map((t) => t.id),
    ...(entry.jobId === undefined ? {} : { jobId: entry.jobId })
  }
}

/**
 * Builds an orchestrator. Runs and running jobs are interrupted when the scope closes. The `TaskCache`
 * in the context (if any) is the one `cacheStats`, `invalidateCache` and `clearCache` act on, and runs
 * started through the orchestrator use it.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (options: Options = {}): Effect.Effect<OrchestratorApi, never, Scope.Scope> =>
  Effect.gen(function*() {
    const scope = yield* Effect.scope
    const layerContext = yield* Effect.context<never>()
    const cache = yield* Effect.serviceOption(TaskCache.TaskCache)
    const workers = Math.max(1, Math.floor(options.workers ?? 4))
    const historyLimit = Math.max(1, Math.floor(options.historyLimit ?? 1000))
    const jobLimit = Math.max(1, Math.floor(options.jobLimit ?? 10_000))

    // ---- events --------------------------------------------------------------------------------

    const handlers = new Map<string, Set<(event: never) => void>>()

    const publish = (name: string, event: unknown): void => {
      const set = handlers.get(name)
      if (set === undefined || set.size === 0) return
      for (const handler of [...set]) {
        try {
          ;(handler as (event: unknown) => void)(event)
        } catch (error) {
          Effect.runForkWith(layerContext)(
            Effect.logWarning(`Orchestrator: a handler of "${name}" threw`, error)
          )
        }
      }
    }

    // ---- runs ----------------------------------------------------------------------------------

    const runs = new Map<string, RunEntry>()
    let runSeq = 0
    const prune = () => {
      if (runs.size <= historyLimit) return
      for (const [id, entry] of runs) {
        if (runs.size <= historyLimit) return
        if (entry.finished) runs.delete(id)
      }
    }

    const withCache = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
      Option.isSome(cache) ? Effect.provideService(effect, TaskCache.TaskCache, cache.value) : effect

    const launch = (
      workflow: Workflow.Any,
      input: unknown,
      runOptions: Engine.RunOptions,
      jobId?: string
    ): Effect.Effect<Engine.RunHandle<unknown, unknown>, DefinitionError, unknown> =>
      Effect.suspend(() => {
        const runId = runOptions.runId ?? newId("run")
        const plan = Plan.fromWorkflow(workflow)
        const entry: RunEntry = {
          seq: runSeq++,
          runId,
          workflow: plan.name,
          tracker: RunState.tracker(plan, runId),
          metrics: RunMetrics.collector(plan),
          jobId,
          handle: undefined,
          cancelRequested: false,
          finished: false
        }
        const userOnEvent = runOptions.onEvent
        const onEvent = (event: RunEvent) => {
          if (event._tag === "RunStarted") {
            runs.delete(runId)
            runs.set(runId, entry)
            prune()
          }
          entry.tracker.apply(event)
          entry.metrics.onEvent(event)
          if (isTerminal(event)) entry.finished = true
          if (userOnEvent !== undefined) userOnEvent(event)
          const name = runEventNames[event._tag]
          if (name !== undefined) publish(name, { ...event, workflow: entry.workflow })
        }
        const handoff = Deferred.makeUnsafe<Engine.RunHandle<unknown, unknown>, DefinitionError>()
        const program = engineStart(workflow, input, { ...runOptions, runId, onEvent }).pipe(
          Effect.matchCauseEffect({
            onFailure: (cause) => Deferred.failCause(handoff, cause),
            onSuccess: (handle) =>
              Effect.suspend(() => {
                entry.handle = handle
                return entry.cancelRequested ? handle.cancel : Effect.void
              }).pipe(
                Effect.andThen(Deferred.succeed(handoff, handle)),
                // Keeps the run (a child of this fiber) alive until it ends.
                Effect.andThen(Effect.exit(handle.await))
              )
          })
        )
        return Effect.forkIn(withCache(program), scope).pipe(
          Effect.andThen(Deferred.await(handoff))
        )
      })

    const awaitRun = <A>(handle: Engine.RunHandle<A, unknown>) =>
      handle.await.pipe(Effect.onInterrupt(() => handle.cancel))

    const executeTaskImpl = (
      id: string,
      task: unknown,
      input: unknown,
      runOptions: Engine.RunOptions = {},
      jobId?: string,
      onRun?: (runId: string) => void
    ): Effect.Effect<unknown, unknown, unknown> => {
      const wf = Workflow.dynamic<string, unknown>(id).task(id, task as (ctx: unknown) => unknown)
      return launch(wf, input, runOptions, jobId).pipe(
        Effect.tap((handle) => Effect.sync(() => onRun?.(handle.runId))),
        Effect.flatMap(awaitRun),
        Effect.map((result) => (result.outputs as Record<string, unknown>)[id])
      )
    }

    const findRun = (runId: string): Effect.Effect<RunEntry, RunNotFound> =>
      Effect.suspend(() => {
        const entry = runs.get(runId)
        return entry === undefined ? Effect.fail(new RunNotFound({ runId })) : Effect.succeed(entry)
      })

    // ---- jobs ----------------------------------------------------------------------------------

    const jobs = new Map<string, JobEntry>()
    const queue = makeJobQueue<JobEntry>()
    let jobSeq = 0
    let runningJobs = 0
    let closed = false

    const nowOf = (ctx: Context.Context<never>): number => Context.getUnsafe(ctx, Clock.Clock).currentTimeMillisUnsafe()

    const pruneJobs = () => {
      if (jobs.size <= jobLimit) return
      for (const [id, job] of jobs) {
        if (jobs.size <= jobLimit) return
        if (job.status !== "queued" && job.status !== "running") jobs.delete(id)
      }
    }

    const settleJob = (job: JobEntry, exit: Exit.Exit<unknown, unknown>) => {
      if (job.status !== "queued" && job.status !== "running") return
      const wasRunning = job.status === "running"
      const at = nowOf(job.context)
      job.finishedAt = at
      const durationMs = at - (job.startedAt ?? at)
      if (Exit.isSuccess(exit)) {
        job.status = "completed"
        job.result = exit.value
        publish("job.completed", {
          _tag: "JobCompleted",
          jobId: job.id,
          at,
          durationMs,
          result: exit.value,
          metadata: job.metadata
        } satisfies JobCompleted)
      } else if (Cause.hasInterruptsOnly(exit.cause)) {
        job.status = "cancelled"
        job.message = wasRunning ? "job cancelled while running" : "job cancelled before it started"
        publish("job.cancelled", { _tag: "JobCancelled", jobId: job.id, at, metadata: job.metadata } satisfies JobCancelled)
      } else {
        job.status = "failed"
        job.cause = exit.cause
        job.message = Engine.describeCause(exit.cause)
        const error = Cause.findErrorOption(exit.cause)
        if (Option.isSome(error)) job.error = error.value
        publish("job.failed", {
          _tag: "JobFailed",
          jobId: job.id,
          at,
          durationMs,
          message: job.message,
          cause: exit.cause,
          metadata: job.metadata
        } satisfies JobFailed)
      }
      job.fiber = undefined
      const view = jobView(job)
      Deferred.doneUnsafe(job.done, Effect.succeed(view))
      if (job.callback !== undefined) {
        try {
          job.callback(view)
        } catch (error) {
          Effect.runForkWith(layerContext)(Effect.logWarning(`Orchestrator: the callback of job ${job.id} threw`, error))
        }
      }
      if (wasRunning) {
        runningJobs--
        pump()
      }
      pruneJobs()
    }

    function pump(): void {
      while (!closed && runningJobs < workers) {
        const job = queue.pop()
        if (job === undefined) return
        runningJobs++
        job.status = "running"
        job.startedAt = nowOf(job.context)
        publish("job.started", {
          _tag: "JobStarted",
          jobId: job.id,
          at: job.startedAt,
          priority: job.priority,
          metadata: job.metadata
        } satisfies JobStarted)
        if (job.status !== "running") continue // a handler cancelled it
        const fiber = Effect.runForkWith(job.context)(job.program)
        const exit = fiber.pollUnsafe()
        if (exit !== undefined) {
          settleJob(job, exit)
        } else {
          job.fiber = fiber
          fiber.addObserver((exit) => settleJob(job, exit))
        }
      }
    }

    const submit = (
      agent: unknown,
      input: unknown,
      submitOptions: SubmitOptions<unknown, unknown> = {}
    ): Effect.Effect<string, never, unknown> =>
      Effect.withFiber((fiber) => {
        const context = fiber.context as Context.Context<never>
        const id = newId("job")
        const program: Effect.Effect<unknown, unknown, unknown> = Task.isTask(agent)
          ? executeTaskImpl("job", agent, input, {}, id, (runId) => {
            entry.runId = runId
          }).pipe(
            // The job's error is the task's, not the one-task run's WorkflowFailed.
            Effect.catchIf(
              (e): e is WorkflowFailed<unknown> =>
                typeof e === "object" && e !== null && (e as { _tag?: unknown })._tag === "WorkflowFailed",
              (e) => e.failures.length > 0 ? Effect.failCause(e.failures[0]!.cause) : Effect.fail(e)
            )
          )
          : Task.fromHandler(id, () => (agent as (input: unknown) => unknown)(input))
        const entry: JobEntry = {
          id,
          priority: clampPriority(submitOptions.priority ?? 5),
          seq: jobSeq++,
          removed: false,
          metadata: Object.freeze({ ...submitOptions.metadata }),
          submittedAt: nowOf(context),
          context,
          program: program as Effect.Effect<unknown, unknown>,
          callback: submitOptions.callback,
          done: Deferred.makeUnsafe<Job>(),
          status: "queued",
          fiber: undefined
        }
        jobs.set(id, entry)
        if (closed) {
          settleJob(entry, Exit.interrupt())
          return Effect.succeed(id)
        }
        queue.push(entry)
        publish("job.queued", {
          _tag: "JobQueued",
          jobId: id,
          at: entry.submittedAt,
          priority: entry.priority,
          metadata: entry.metadata
        } satisfies JobQueued)
        pump()
        return Effect.succeed(id)
      })

    const findJob = (jobId: string): Effect.Effect<JobEntry, JobNotFound> =>
      Effect.suspend(() => {
        const job = jobs.get(jobId)
        return job === undefined ? Effect.fail(new JobNotFound({ jobId })) : Effect.succeed(job)
      })

    const cancelJobEntry = (job: JobEntry) => {
      if (job.status === "queued") {
        queue.remove(job)
        settleJob(job, Exit.interrupt())
      } else if (job.status === "running") {
        const fiber = job.fiber
        if (fiber === undefined) settleJob(job, Exit.interrupt())
        else fiber.interruptUnsafe()
      }
    }

    yield* Scope.addFinalizer(
      scope,
      Effect.sync(() => {
        closed = true
        for (const job of jobs.values()) cancelJobEntry(job)
      })
    )

    // ---- the API -------------------------------------------------------------------------------

    const api: OrchestratorApi = {
      execute: ((workflow: Workflow.Any, input?: unknown, runOptions: Engine.RunOptions = {}) =>
        launch(workflow, input, runOptions).pipe(Effect.flatMap(awaitRun))) as OrchestratorApi["execute"],
      start: ((workflow: Workflow.Any, input?: unknown, runOptions: Engine.RunOptions = {}) =>
        launch(workflow, input, runOptions)) as OrchestratorApi["start"],
      executeTask: ((id: string, task: unknown, input: unknown, runOptions?: Engine.RunOptions) =>
        executeTaskImpl(id, task, input, runOptions)) as OrchestratorApi["executeTask"],
      state: (runId) => Effect.map(findRun(runId), (entry) => entry.tracker.snapshot()),
      progress: (runId) => Effect.map(findRun(runId), (entry) => entry.tracker.progress()),
      cancel: (runId) =>
        Effect.flatMap(findRun(runId), (entry) => {
          if (entry.finished) return Effect.void
          if (entry.handle === undefined) {
            entry.cancelRequested = true
            return Effect.void
          }
          return entry.handle.cancel
        }),
      history: (historyOptions = {}) =>
        Effect.sync(() => {
          const name = nameOf(historyOptions.workflow)
          const entries = [...runs.values()]
            .filter((entry) => name === undefined || entry.workflow === name)
            .sort((a, b) => b.seq - a.seq)
          const out: Array<RunSummary> = []
          const limit = historyOptions.limit ?? Infinity
          for (const entry of entries) {
            if (out.length >= limit) break
            const summary = summaryOf(entry)
            if (historyOptions.status === undefined || summary.status === historyOptions.status) out.push(summary)
          }
          return out
        }),
      metrics: (runId) => Effect.map(findRun(runId), (entry) => entry.metrics.snapshot()),
      stats: (statsOptions = {}) =>
        Effect.sync(() => {
          const name = nameOf(statsOptions.workflow)
          let running = 0
          const measured: Array<RunMetrics.RunMetrics> = []
          for (const entry of runs.values()) {
            if (name !== undefined && entry.workflow !== name) continue
            if (!entry.finished) running++
            measured.push(entry.metrics.snapshot())
          }
          const jobCounts = { total: jobSeq, queued: 0, running: 0, completed: 0, failed: 0, cancelled: 0 }
          for (const job of jobs.values()) jobCounts[job.status]++
          return { runs: RunMetrics.aggregate(measured), running, jobs: jobCounts }
        }),
      cacheStats: Option.isSome(cache) ? cache.value.stats : Effect.succeed(noCacheStats),
      invalidateCache: (workflow, taskId) =>
        Option.isSome(cache)
          ? cache.value.invalidateTask(typeof workflow === "string" ? workflow : workflow.name, taskId)
          : Effect.succeed(0),
      clearCache: Option.isSome(cache) ? cache.value.clear : Effect.void,
      submit: submit as OrchestratorApi["submit"],
      status: (jobId) => Effect.map(findJob(jobId), (job) => job.status),
      getTask: ((jobId: string) => Effect.map(findJob(jobId), jobView)) as OrchestratorApi["getTask"],
      awaitJob: ((jobId: string) =>
        Effect.flatMap(findJob(jobId), (job) => Deferred.await(job.done))) as OrchestratorApi["awaitJob"],
      cancelJob: (jobId) => Effect.flatMap(findJob(jobId), (job) => Effect.sync(() => cancelJobEntry(job))),
      jobs: (jobOptions = {}) =>
        Effect.sync(() =>
          [...jobs.values()]
            .filter((job) => jobOptions.status === undefined || job.status === jobOptions.status)
            .map(jobView)
        ),
      on: (name, handler) =>
        Effect.sync(() => {
          let set = handlers.get(name)
          if (set === undefined) {
            set = new Set()
            handlers.set(name, set)
          }
          // Wrapped so that subscribing one function twice gives two independent subscriptions.
          const subscription = (event: never) => (handler as (event: never) => void)(event)
          set.add(subscription)
          return Effect.sync(() => {
            set.delete(subscription)
          })
        }),
      emit: (name, payload) =>
        Effect.flatMap(Clock.currentTimeMillis, (at) =>
          Effect.sync(() => publish(name, { _tag: "Custom", name, at, payload } satisfies CustomEvent)))
    }
    return api
  })

// -----------------------------------------------------------------------------
// Layers
// -----------------------------------------------------------------------------

/**
 * The in-memory orchestrator: history, jobs and subscriptions live in the process and are gone when the
 * layer is released (which interrupts running runs and jobs). Provide a `TaskCache` layer to it to cache
 * task results and report cache stats.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (options?: Options): Layer.Layer<Orchestrator> => Layer.effect(Orchestrator, make(options))
