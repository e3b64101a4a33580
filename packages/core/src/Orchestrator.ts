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
 * - Events (see `Events`): `on(nameOrPattern, handler)` subscribes to lifecycle events (`task.created`,
 *   `task.completed`, `workflow.failed`, `task.*`, ...), which are the runs' RunEvents and the jobs'
 *   transitions under seed names (a job is a task: `task.completed` sees it); `emit` publishes custom
 *   events (`custom.*`, or a definition with a Schema). Each subscriber has its own bounded buffer and
 *   fiber: a slow or throwing subscriber never blocks or fails a run.
 * - Triggers (see `Trigger`): `addTrigger` starts a workflow whenever a matching event arrives.
 * - Persistence (see `JobStore`): with a JobStore in the context, jobs and history are written after each
 *   operation and restored when the layer is built; jobs submitted by a registered agent's name resume.
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

import { type Cause, Clock, Context, type Deferred, Effect, Layer, Option, Schema, Scope } from "effect"
import type * as Engine from "./Engine.ts"
import * as Events from "./Events.ts"
import { clampPriority, makeJobQueueApi } from "./internal/orchestratorJobs.ts"
import { makeRunRegistry, type RunEntry } from "./internal/orchestratorRuns.ts"
import { makeStoreWriter } from "./internal/orchestratorStore.ts"
import { makeTriggers } from "./internal/orchestratorTriggers.ts"
import type * as JobStore from "./JobStore.ts"
import type { RunEvent } from "./RunEvent.ts"
import type * as RunEventNs from "./RunEvent.ts"
import * as RunMetrics from "./RunMetrics.ts"
import type * as RunState from "./RunState.ts"
import type * as Task from "./Task.ts"
import type { ErrorOf, OutputOf, ServicesOf } from "./Task.ts"
import * as TaskCache from "./TaskCache.ts"
import type * as Trigger from "./Trigger.ts"
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
 * `submit(name, input)` named an agent that was not registered (`Orchestrator.layer({ agents })`).
 *
 * @category errors
 * @since 0.1.0
 */
export class AgentNotFound extends Schema.TaggedError<AgentNotFound>()("AgentNotFound", {
  agent: Schema.String,
  registered: Schema.Array(Schema.String)
}) {
  override get message(): string {
    return `No agent "${this.agent}" is registered with the orchestrator; registered: [${this.registered.join(", ")}]`
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
 * One entry of the run history (stored as is by a `JobStore`).
 *
 * @category models
 * @since 0.1.0
 */
export type RunSummary = JobStore.RunRecord

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
export type JobStatus = JobStore.JobStatus

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
  /** The registered agent's name, for a job submitted by name. */
  readonly agent?: string | undefined
  /** How many times the job was started (more than 1 when it resumed after a restart while running). */
  readonly attempts?: number | undefined
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
// Models: events (see the Events module)
// -----------------------------------------------------------------------------

/**
 * A run event as a lifecycle event: the RunEvent plus the workflow's name.
 *
 * @category events
 * @since 0.1.0
 */
export type WorkflowEvent<T extends RunEventNs.Tag> = Events.WorkflowEvent<T>

/** @category events @since 0.1.0 */
export type JobQueued = Events.JobQueued
/** @category events @since 0.1.0 */
export type JobStarted = Events.JobStarted
/** @category events @since 0.1.0 */
export type JobCompleted = Events.JobCompleted
/** @category events @since 0.1.0 */
export type JobFailed = Events.JobFailed
/** @category events @since 0.1.0 */
export type JobCancelled = Events.JobCancelled

/**
 * A custom event published with `emit`.
 *
 * @category events
 * @since 0.1.0
 */
export type CustomEvent<P = unknown, N extends string = string> = Events.CustomEvent<P, N>

/**
 * The lifecycle events by name (see `Events.Lifecycle`).
 *
 * @category events
 * @since 0.1.0
 */
export type EventMap = Events.Lifecycle

/**
 * The name of an untyped custom event: anything under `custom.`.
 *
 * @category events
 * @since 0.1.0
 */
export type CustomName = Events.CustomName

/**
 * What `on` accepts: a lifecycle name, a custom name, a pattern with `*` (`task.*`), or a definition.
 *
 * @category events
 * @since 0.1.0
 */
export type EventName = Events.Selector

/**
 * What a handler of a name, pattern or definition receives.
 *
 * @category events
 * @since 0.1.0
 */
export type EventOf<N> = Events.EventOf<N>

/**
 * An event handler: it runs in its subscriber's own fiber (see `Events`): it may return nothing, a Promise
 * or an Effect; if it throws it is reported and detached, and it never affects a run or a job.
 *
 * @category events
 * @since 0.1.0
 */
export type Handler<N> = Events.Handler<N>

/**
 * The lifecycle event name of a run event, if it has one.
 *
 * @category events
 * @since 0.1.0
 */
export const eventName = (event: RunEvent): keyof EventMap | undefined => Events.nameOfRunEvent(event)

// -----------------------------------------------------------------------------
// Service
// -----------------------------------------------------------------------------

/**
 * Options of {@link layer}.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options<Agents extends AgentRegistry = {}> {
  /** Jobs running at once. Default 4. */
  readonly workers?: number | undefined
  /**
   * Finished runs kept for `history`, `state` and `metrics` (the oldest finished run is dropped as soon
   * as another finishes beyond the limit; runs in progress are always kept). Default 1000.
   */
  readonly historyLimit?: number | undefined
  /** Finished jobs kept for `status` and `getTask` (oldest dropped first). Default 10000. */
  readonly jobLimit?: number | undefined
  /**
   * Agents registered by name: `submit("name", input)` runs them, and a job submitted by name that was
   * queued or running when the process stopped resumes after a restart (with a durable `JobStore`). Their
   * services are taken from the layer's context.
   */
  readonly agents?: Agents | undefined
}

/**
 * Agents by name (see `Options.agents`).
 *
 * @category models
 * @since 0.1.0
 */
export type AgentRegistry = Readonly<Record<string, Agent<any, unknown, unknown, any>>>

type AgentServices<Agents extends AgentRegistry> = {
  [K in keyof Agents]: Agents[K] extends Task.Task<infer _A, infer _E, infer R, infer _N> ? R
    : Agents[K] extends (input: any) => infer Out ? ServicesOf<Out>
    : never
}[keyof Agents]

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
    /** By the name of an agent registered with the layer (such a job can resume after a restart). */
    (agent: string, input: unknown, options?: SubmitOptions): Effect.Effect<JobId, AgentNotFound>
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

  /**
   * Subscribes a handler to a lifecycle event, a custom event, a definition or a pattern (`task.*`); the
   * returned effect unsubscribes it. See `Events` for delivery (own buffer and fiber per subscriber).
   */
  readonly on: <const N extends EventName>(
    name: N,
    handler: Handler<N>,
    options?: Events.SubscribeOptions
  ) => Effect.Effect<Effect.Effect<void>>
  /** Like `on`, returning the subscription with its stats (delivered, dropped, pending, status). */
  readonly subscribe: <const N extends EventName>(
    name: N,
    handler: Handler<N>,
    options?: Events.SubscribeOptions
  ) => Effect.Effect<Events.Subscription>
  /**
   * Publishes a custom event: a `custom.*` name with any payload, or a definition, whose payload is
   * checked against its Schema first (`InvalidEvent`, and nothing is published, when it does not fit).
   */
  readonly emit: {
    <N extends string, P>(definition: Events.Definition<N, P>, payload: P): Effect.Effect<void, Events.InvalidEvent>
    <P>(name: CustomName, payload: P): Effect.Effect<void>
  }
  /** Waits until every subscriber has handled the events published so far. */
  readonly flushEvents: Effect.Effect<void>
  /** The stats of the subscriptions (including triggers'): the active ones and the last 100 that ended. */
  readonly subscribers: Effect.Effect<ReadonlyArray<Events.SubscriberStats>>

  /**
   * Attaches a trigger: each matching event starts a run of its workflow (see `Trigger`). The runs use the
   * caller's services.
   */
  readonly addTrigger: <S extends Events.Selector, W extends Workflow.Any>(
    trigger: Trigger.Trigger<S, W>
  ) => Effect.Effect<Trigger.Handle, never, Workflow.Services<W>>
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

const nameOf = (workflow: string | Workflow.Any | undefined): string | undefined =>
  workflow === undefined ? undefined : typeof workflow === "string" ? workflow : workflow.name

/** The cache facade: the TaskCache the layer was built with, or stats saying `none`. */
const cacheFacade = (
  cache: Option.Option<TaskCache.TaskCache["Service"]>
): Pick<OrchestratorApi, "cacheStats" | "invalidateCache" | "clearCache"> =>
  Option.isSome(cache)
    ? {
      cacheStats: cache.value.stats,
      invalidateCache: (workflow, taskId) =>
        cache.value.invalidateTask(typeof workflow === "string" ? workflow : workflow.name, taskId),
      clearCache: cache.value.clear
    }
    : { cacheStats: Effect.succeed(noCacheStats), invalidateCache: () => Effect.succeed(0), clearCache: Effect.void }

/**
 * Builds an orchestrator from its parts: the event bus (`Events`), the store writer (`JobStore`), the run
 * registry, the job queue and the cache facade (under `internal/orchestrator*.ts`). Runs, running jobs and
 * subscribers are stopped when the scope closes. The `TaskCache` in the context (if any) is the one
 * `cacheStats`, `invalidateCache` and `clearCache` act on, and runs started through the orchestrator use
 * it; the `JobStore` in the context (if any) is where jobs and history are persisted and restored from.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = <Agents extends AgentRegistry = {}>(
  options: Options<Agents> = {}
): Effect.Effect<OrchestratorApi, never, Scope.Scope | AgentServices<Agents>> =>
  Effect.gen(function*() {
    const workers = Math.max(1, Math.floor(positive(options.workers, 4)))
    const historyLimit = Math.max(1, Math.floor(positive(options.historyLimit, 1000)))
    const jobLimit = Math.max(1, Math.floor(positive(options.jobLimit, 10_000)))
    const agents: Readonly<Record<string, unknown>> = options.agents ?? {}

    const bus = yield* Events.makeBus
    const store = yield* makeStoreWriter
    const runs = yield* makeRunRegistry({ historyLimit, bus, store })
    const jobs = yield* makeJobQueueApi({ workers, jobLimit, agents, bus, store, runs })
    const triggers = makeTriggers(bus, runs)
    const cache = yield* Effect.serviceOption(TaskCache.TaskCache)

    const findRun = (runId: string): Effect.Effect<RunEntry, RunNotFound> =>
      Effect.suspend(() => {
        const entry = runs.get(runId)
        return entry === undefined ? Effect.fail(new RunNotFound({ runId })) : Effect.succeed(entry)
      })
    const liveRun = (runId: string): Effect.Effect<RunEntry & { readonly tracker: RunState.Tracker; readonly metrics: RunMetrics.Collector }, RunNotFound> =>
      Effect.flatMap(findRun(runId), (entry) =>
        entry.tracker === undefined || entry.metrics === undefined
          ? Effect.fail(new RunNotFound({ runId })) // restored from the store: only its summary is kept
          : Effect.succeed(entry as never))

    const awaitRun = <A>(handle: Engine.RunHandle<A, unknown>) => handle.await.pipe(Effect.onInterrupt(() => handle.cancel))

    const executeTask = (id: string, task: unknown, input: unknown, runOptions: Engine.RunOptions = {}) => {
      const wf = Workflow.dynamic<string, unknown>(id).task(id, task as (ctx: unknown) => unknown)
      return runs.launch(wf, input, runOptions).pipe(
        Effect.flatMap(awaitRun),
        Effect.map((result) => (result.outputs as Record<string, unknown>)[id])
      )
    }

    const subscribe = (name: EventName, handler: (event: never) => unknown, subscribeOptions?: Events.SubscribeOptions) =>
      bus.subscribe(Events.selectorName(name), handler, subscribeOptions)

    const emit = (name: CustomName | Events.Definition<string, unknown>, payload: unknown) =>
      Effect.gen(function*() {
        const at = yield* Clock.currentTimeMillis
        if (typeof name === "string") {
          if (!name.startsWith("custom.")) {
            return yield* new Events.InvalidEvent({ name, reason: "untyped custom events are named custom.*" })
          }
          bus.publish(name, { _tag: "Custom", name, at, payload } satisfies Events.CustomEvent)
          return
        }
        if (Events.isReservedName(name.name)) {
          return yield* new Events.InvalidEvent({ name: name.name, reason: "the name is reserved for lifecycle events" })
        }
        const checked = yield* Schema.decodeUnknownEffect(Schema.toType(name.schema as Schema.Codec<unknown>))(payload).pipe(
          Effect.mapError((error) => new Events.InvalidEvent({ name: name.name, reason: error.message }))
        )
        bus.publish(name.name, { _tag: "Custom", name: name.name, at, payload: checked } satisfies Events.CustomEvent)
      })

    const api: OrchestratorApi = {
      execute: ((workflow: Workflow.Any, input?: unknown, runOptions: Engine.RunOptions = {}) =>
        runs.launch(workflow, input, runOptions).pipe(Effect.flatMap(awaitRun))) as OrchestratorApi["execute"],
      start: ((workflow: Workflow.Any, input?: unknown, runOptions: Engine.RunOptions = {}) =>
        runs.launch(workflow, input, runOptions)) as OrchestratorApi["start"],
      executeTask: executeTask as OrchestratorApi["executeTask"],
      state: (runId) => Effect.map(liveRun(runId), (entry) => entry.tracker.snapshot()),
      progress: (runId) => Effect.map(liveRun(runId), (entry) => entry.tracker.progress()),
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
          const entries = [...runs.entries()]
            .filter((entry) => name === undefined || entry.workflow === name)
            .sort((a, b) => b.seq - a.seq)
          const out: Array<RunSummary> = []
          const limit = historyOptions.limit ?? Infinity
          for (const entry of entries) {
            if (out.length >= limit) break
            const summary = runs.summaryOf(entry)
            if (historyOptions.status === undefined || summary.status === historyOptions.status) out.push(summary)
          }
          return out
        }),
      metrics: (runId) => Effect.map(liveRun(runId), (entry) => entry.metrics.snapshot()),
      stats: (statsOptions = {}) =>
        Effect.sync(() => {
          const name = nameOf(statsOptions.workflow)
          let running = 0
          const measured: Array<RunMetrics.RunMetrics> = []
          for (const entry of runs.entries()) {
            if (name !== undefined && entry.workflow !== name) continue
            if (!entry.finished) running++
            if (entry.metrics !== undefined) measured.push(entry.metrics.snapshot())
          }
          return { runs: RunMetrics.aggregate(measured), running, jobs: jobs.counts() }
        }),
      ...cacheFacade(cache),
      submit: ((agent: unknown, input: unknown, submitOptions?: SubmitOptions) =>
        typeof agent === "string" && !Object.hasOwn(agents, agent)
          ? Effect.fail(new AgentNotFound({ agent, registered: Object.keys(agents) }))
          : jobs.submit(agent, input, submitOptions as never)) as OrchestratorApi["submit"],
      status: (jobId) =>
        Effect.suspend(() => {
          const job = jobs.get(jobId)
          return job === undefined ? Effect.fail(new JobNotFound({ jobId })) : Effect.succeed(job.status)
        }),
      getTask: ((jobId: string) =>
        Effect.suspend(() => {
          const job = jobs.get(jobId)
          return job === undefined ? Effect.fail(new JobNotFound({ jobId })) : Effect.succeed(job)
        })) as OrchestratorApi["getTask"],
      awaitJob: ((jobId: string) =>
        Effect.suspend(() => jobs.await(jobId) ?? Effect.fail(new JobNotFound({ jobId })))) as OrchestratorApi["awaitJob"],
      cancelJob: (jobId) =>
        Effect.suspend(() => jobs.cancel(jobId) ? Effect.void : Effect.fail(new JobNotFound({ jobId }))),
      jobs: (jobOptions = {}) => Effect.sync(() => jobs.list(jobOptions.status)),
      on: (name, handler, subscribeOptions) =>
        Effect.map(subscribe(name, handler as never, subscribeOptions), (subscription) => subscription.unsubscribe),
      subscribe: (name, handler, subscribeOptions) => subscribe(name, handler as never, subscribeOptions),
      emit: emit as OrchestratorApi["emit"],
      flushEvents: bus.flush,
      subscribers: bus.stats,
      addTrigger: triggers.add as OrchestratorApi["addTrigger"]
    }
    return api
  })

const positive = (value: number | undefined, fallback: number): number =>
  value !== undefined && Number.isFinite(value) && value > 0 ? value : fallback

// -----------------------------------------------------------------------------
// Layers
// -----------------------------------------------------------------------------

/**
 * The orchestrator: history, jobs and subscriptions live in the process, and are persisted through the
 * `JobStore` when one is provided (jobs queued or running at a restart then resume, see `Options.agents`).
 * Releasing the layer interrupts running runs and jobs. Provide a `TaskCache` layer to it to cache task
 * results and report cache stats. Named agents' services are required by the layer.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = <Agents extends AgentRegistry = {}>(
  options?: Options<Agents>
): Layer.Layer<Orchestrator, never, AgentServices<Agents>> => Layer.effect(Orchestrator, make(options))
