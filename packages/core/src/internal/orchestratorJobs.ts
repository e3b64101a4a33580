/**
 * @internal The Orchestrator's job queue: submitted jobs wait in a priority queue (10 first, FIFO within a
 * priority) and `workers` of them run at once. Each transition is published on the bus (as `job.*` and as
 * `task.*` events) and written to the JobStore; jobs found unfinished in the store when the Orchestrator
 * starts are queued again when their agent is registered by name.
 *
 * Settlement runs in a fiber observer, outside any Effect: it never throws (values are described without
 * trusting their `toString`, callbacks are isolated), so a hostile failure value cannot take the process
 * down.
 */
import { Cause, Clock, Context, Deferred, Effect, Exit, type Fiber, Option, Scope } from "effect"
import * as Engine from "../Engine.ts"
import * as Events from "../Events.ts"
import type * as JobStore from "../JobStore.ts"
import type { Job } from "../Orchestrator.ts"
import * as Task from "../Task.ts"
import * as Workflow from "../Workflow.ts"
import type { WorkflowFailed } from "../WorkflowError.ts"
import { type JobQueue, makeJobQueue, type QueueEntry } from "./orchestratorQueue.ts"
import { newId, type RunRegistry } from "./orchestratorRuns.ts"
import type { StoreWriter } from "./orchestratorStore.ts"

/** A job as the queue sees it: the public `Orchestrator.Job`, its id not yet typed. */
export interface JobView extends Omit<Job, "id"> {
  readonly id: string
}

export interface SubmitOptions {
  readonly priority?: number | undefined
  readonly metadata?: Readonly<Record<string, unknown>> | undefined
  readonly callback?: ((job: never) => void) | undefined
}

interface JobEntry extends QueueEntry {
  readonly id: string
  readonly priority: Task.Priority
  readonly metadata: Readonly<Record<string, unknown>>
  readonly submittedAt: number
  readonly context: Context.Context<never>
  readonly program: Effect.Effect<unknown, unknown> | undefined
  readonly callback: ((job: never) => void) | undefined
  readonly done: Deferred.Deferred<JobView>
  readonly agent: string | undefined
  readonly input: unknown
  status: JobStore.JobStatus
  attempts: number
  startedAt?: number | undefined
  finishedAt?: number | undefined
  result?: unknown
  error?: unknown
  cause?: Cause.Cause<unknown> | undefined
  message?: string | undefined
  runId?: string | undefined
  fiber: Fiber.Fiber<unknown, unknown> | undefined
}

export interface JobQueueApi {
  readonly submit: (agent: unknown, input: unknown, options?: SubmitOptions) => Effect.Effect<string, never, unknown>
  readonly get: (jobId: string) => JobView | undefined
  readonly await: (jobId: string) => Effect.Effect<JobView> | undefined
  readonly cancel: (jobId: string) => boolean
  readonly list: (status?: JobStore.JobStatus) => ReadonlyArray<JobView>
  readonly counts: () => {
    total: number
    queued: number
    running: number
    completed: number
    failed: number
    cancelled: number
  }
}

export const clampPriority = (p: number): Task.Priority =>
  (Number.isFinite(p) ? Math.min(10, Math.max(1, Math.round(p))) : 5) as Task.Priority

/** A one-line description of a failure, whatever the values inside it. Never throws. */
const describeCause = (cause: Cause.Cause<unknown>): string => {
  try {
    return Engine.describeCause(cause)
  } catch {
    try {
      const error = Cause.findErrorOption(cause)
      return Events.describe(Option.isSome(error) ? error.value : Cause.squash(cause))
    } catch {
      return "(a failure that could not be described)"
    }
  }
}

const isFinished = (status: JobStore.JobStatus) => status !== "queued" && status !== "running"

const viewOf = (job: JobEntry): JobView => ({
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
  ...(job.runId === undefined ? {} : { runId: job.runId }),
  ...(job.agent === undefined ? {} : { agent: job.agent }),
  ...(job.attempts === 0 ? {} : { attempts: job.attempts })
})

const recordOf = (job: JobEntry): JobStore.JobRecord => ({
  id: job.id,
  seq: job.seq,
  priority: job.priority,
  metadata: job.metadata,
  status: job.status,
  submittedAt: job.submittedAt,
  ...(job.startedAt === undefined ? {} : { startedAt: job.startedAt }),
  ...(job.finishedAt === undefined ? {} : { finishedAt: job.finishedAt }),
  ...(job.agent === undefined ? {} : { agent: job.agent, input: job.input }),
  ...(job.status === "completed" ? { result: job.result } : {}),
  ...(job.error === undefined ? {} : { error: job.error }),
  ...(job.message === undefined ? {} : { message: job.message }),
  ...(job.runId === undefined ? {} : { runId: job.runId }),
  ...(job.attempts === 0 ? {} : { attempts: job.attempts })
})

const isWorkflowFailed = (e: unknown): e is WorkflowFailed<unknown> =>
  typeof e === "object" && e !== null && (e as { _tag?: unknown })._tag === "WorkflowFailed"

// ---- transition events: each job transition as job.* and as task.* (a job is a task) ----------------

const publish = (bus: Events.Bus, name: string, make: () => unknown) => {
  if (bus.has(name)) bus.publish(name, make())
}

const taskFields = (job: JobEntry, at: number) => ({
  runId: job.id,
  at,
  taskId: job.id,
  workflow: job.agent ?? "job",
  jobId: job.id
})

const publishQueued = (bus: Events.Bus, job: JobEntry) => {
  publish(bus, "job.queued", () => ({
    _tag: "JobQueued",
    jobId: job.id,
    at: job.submittedAt,
    priority: job.priority,
    metadata: job.metadata
  } satisfies Events.JobQueued))
  publish(bus, "task.created", () => ({
    _tag: "TaskCreated",
    ...taskFields(job, job.submittedAt),
    priority: job.priority
  } satisfies Events.TaskCreated))
}

const publishStarted = (bus: Events.Bus, job: JobEntry) => {
  const at = job.startedAt!
  publish(bus, "job.started", () => ({
    _tag: "JobStarted",
    jobId: job.id,
    at,
    priority: job.priority,
    metadata: job.metadata
  } satisfies Events.JobStarted))
  publish(bus, "task.started", () => ({ _tag: "TaskStarted", ...taskFields(job, at), attempt: job.attempts }))
}

const publishSettled = (bus: Events.Bus, job: JobEntry, at: number, durationMs: number) => {
  const { id: jobId, metadata } = job
  if (job.status === "completed") {
    publish(bus, "job.completed", () => ({
      _tag: "JobCompleted",
      jobId,
      at,
      durationMs,
      result: job.result,
      metadata
    } satisfies Events.JobCompleted))
    publish(bus, "task.completed", () => ({
      _tag: "TaskCompleted",
      ...taskFields(job, at),
      attempts: job.attempts,
      durationMs,
      output: job.result
    }))
  } else if (job.status === "cancelled") {
    publish(bus, "job.cancelled", () => ({ _tag: "JobCancelled", jobId, at, metadata } satisfies Events.JobCancelled))
    publish(bus, "task.cancelled", () => ({ _tag: "TaskCancelled", ...taskFields(job, at), reason: job.message! }))
  } else {
    const cause = job.cause!
    publish(bus, "job.failed", () => ({
      _tag: "JobFailed",
      jobId,
      at,
      durationMs,
      message: job.message!,
      cause,
      metadata
    } satisfies Events.JobFailed))
    publish(bus, "task.failed", () => ({
      _tag: "TaskFailed",
      ...taskFields(job, at),
      attempts: job.attempts,
      durationMs,
      message: job.message!,
      cause
    }))
  }
}

// ---- the queue's state, shared by the parts below ----------------------------------------------------

interface QueueOptions {
  readonly workers: number
  readonly jobLimit: number
  readonly agents: Readonly<Record<string, unknown>>
  readonly bus: Events.Bus
  readonly store: StoreWriter
  readonly runs: RunRegistry
}

interface QueueState extends QueueOptions {
  /** The services of the Orchestrator's layer (restored jobs and named agents run with them). */
  readonly layerContext: Context.Context<never>
  readonly jobs: Map<string, JobEntry>
  /** Finished jobs in the order they finished: the front is forgotten first (beyond jobLimit). */
  readonly finished: Set<JobEntry>
  readonly queue: JobQueue<JobEntry>
  jobSeq: number
  total: number
  runningJobs: number
  closed: boolean
}

const nowOf = (ctx: Context.Context<never>): number => Context.getUnsafe(ctx, Clock.Clock).currentTimeMillisUnsafe()

const warn = (state: QueueState, message: string) => {
  try {
    Effect.runForkWith(state.layerContext)(Effect.logWarning(`Orchestrator: ${message}`))
  } catch {
    // Logging is best effort.
  }
}

const save = (state: QueueState, job: JobEntry) => {
  if (!state.store.enabled) return
  const record = recordOf(job)
  state.store.write((s) => s.putJob(record))
}

// ---- what a job runs ---------------------------------------------------------------------------------

/** Which agent functions may run: a registered name, a Task value or a function. */
const programOf = (runs: RunRegistry, id: string, agent: unknown, input: unknown, job: () => JobEntry) => {
  if (Task.isTask(agent)) {
    const wf = Workflow.dynamic<string, unknown>("job").task("job", agent as Task.Task<unknown, unknown, unknown>)
    return runs.launch(wf, input, {}, { jobId: id, publish: "retries" }).pipe(
      Effect.tap((handle) =>
        Effect.sync(() => {
          job().runId = handle.runId
        })
      ),
      Effect.flatMap((handle) => handle.await.pipe(Effect.onInterrupt(() => handle.cancel))),
      Effect.map((result) => (result.outputs as Record<string, unknown>)["job"]),
      // The job's error is the task's, not the one-task run's WorkflowFailed.
      Effect.catchIf(isWorkflowFailed, (e) =>
        e.failures.length > 0 ? Effect.failCause(e.failures[0]!.cause) : Effect.fail(e))
    )
  }
  return Task.fromHandler(id, () => (agent as (input: unknown) => unknown)(input))
}

interface EntryFields {
  readonly id: string
  readonly seq: number
  readonly priority: Task.Priority
  readonly metadata: Readonly<Record<string, unknown>>
  readonly submittedAt: number
  readonly context: Context.Context<never>
  readonly agent: string | undefined
  readonly agentValue: unknown
  readonly input: unknown
  readonly callback: ((job: never) => void) | undefined
  readonly attempts: number
}

const makeEntry = (runs: RunRegistry, fields: EntryFields): JobEntry => {
  const entry: JobEntry = {
    id: fields.id,
    priority: fields.priority,
    seq: fields.seq,
    removed: false,
    metadata: fields.metadata,
    submittedAt: fields.submittedAt,
    context: fields.context,
    program: undefined,
    callback: fields.callback,
    done: Deferred.makeUnsafe<JobView>(),
    agent: fields.agent,
    input: fields.input,
    status: "queued",
    attempts: fields.attempts,
    fiber: undefined
  }
  ;(entry as { program: Effect.Effect<unknown, unknown> | undefined }).program = programOf(
    runs,
    fields.id,
    fields.agentValue,
    fields.input,
    () => entry
  ) as Effect.Effect<unknown, unknown>
  return entry
}

// ---- settlement (runs in fiber observers: never throws) ----------------------------------------------

/** Writes a job's exit into its entry: completed with a result, cancelled, or failed with a cause. */
const recordExit = (job: JobEntry, exit: Exit.Exit<unknown, unknown>, wasRunning: boolean) => {
  if (Exit.isSuccess(exit)) {
    job.status = "completed"
    job.result = exit.value
  } else if (Cause.hasInterruptsOnly(exit.cause)) {
    job.status = "cancelled"
    job.message = wasRunning ? "job cancelled while running" : "job cancelled before it started"
  } else {
    job.status = "failed"
    job.cause = exit.cause
    job.message = describeCause(exit.cause)
    const error = Cause.findErrorOption(exit.cause)
    if (Option.isSome(error)) job.error = error.value
  }
}

/** Resumes the job's waiters and calls its callback (isolated: a throw is logged). */
const notifySettled = (state: QueueState, job: JobEntry) => {
  const view = viewOf(job)
  Deferred.doneUnsafe(job.done, Effect.succeed(view))
  if (job.callback !== undefined) {
    try {
      job.callback(view as never)
    } catch (error) {
      warn(state, `the callback of job ${job.id} threw: ${Events.describe(error)}`)
    }
  }
}

/** Beyond `jobLimit` finished jobs, the oldest are forgotten (here and in the store). */
const forgetFinished = (state: QueueState) => {
  const { finished, jobLimit, jobs } = state
  if (finished.size <= jobLimit) return
  const dropped: Array<string> = []
  for (const job of finished) {
    if (finished.size <= jobLimit) break
    finished.delete(job)
    jobs.delete(job.id)
    dropped.push(job.id)
  }
  if (dropped.length > 0) state.store.write((s) => s.deleteJobs(dropped))
}

/** A running job's worker is free again: start the next job. */
const releaseWorker = (state: QueueState) => {
  state.runningJobs--
  pump(state)
}

const settle = (state: QueueState, job: JobEntry, exit: Exit.Exit<unknown, unknown>) => {
  if (isFinished(job.status)) return
  const wasRunning = job.status === "running"
  const at = nowOf(job.context)
  job.finishedAt = at
  job.fiber = undefined
  const durationMs = at - (job.startedAt ?? at)
  recordExit(job, exit, wasRunning)
  publishSettled(state.bus, job, at, durationMs)
  // On shutdown, unfinished jobs stay unfinished in the store: they resume after a restart.
  if (!state.closed) save(state, job)
  notifySettled(state, job)
  state.finished.add(job)
  if (wasRunning) releaseWorker(state)
  forgetFinished(state)
}

/** Settles a job, whatever happens while doing so (this runs outside any Effect). */
const settleSafely = (state: QueueState, job: JobEntry, exit: Exit.Exit<unknown, unknown>) => {
  try {
    settle(state, job, exit)
  } catch (error) {
    warn(state, `settling job ${job.id} failed: ${Events.describe(error)}`)
    if (!isFinished(job.status)) {
      const wasRunning = job.status === "running"
      job.status = "failed"
      job.message = "the job's failure could not be recorded"
      state.finished.add(job)
      Deferred.doneUnsafe(job.done, Effect.succeed(viewOf(job)))
      if (wasRunning) releaseWorker(state)
    }
  }
}

// ---- dispatch: start queued jobs while a worker is free ----------------------------------------------

function pump(state: QueueState): void {
  while (!state.closed && state.runningJobs < state.workers) {
    const job = state.queue.pop()
    if (job === undefined) return
    start(state, job)
  }
}

const start = (state: QueueState, job: JobEntry) => {
  state.runningJobs++
  job.status = "running"
  job.attempts++
  job.startedAt = nowOf(job.context)
  save(state, job)
  publishStarted(state.bus, job)
  if (job.status !== "running") return // a handler cancelled it
  const fiber = Effect.runForkWith(job.context)(job.program!)
  const exit = fiber.pollUnsafe()
  if (exit !== undefined) {
    settleSafely(state, job, exit)
  } else {
    job.fiber = fiber
    fiber.addObserver((exit) => settleSafely(state, job, exit))
  }
}

const enqueue = (state: QueueState, job: JobEntry) => {
  state.jobs.set(job.id, job)
  state.queue.push(job)
  publishQueued(state.bus, job)
}

// ---- restore what the store held ---------------------------------------------------------------------

/**
 * A stored job: a finished one is kept as it was; an unfinished one is queued again when its agent is
 * registered by name, and fails otherwise (it cannot resume).
 */
const restoreJob = (state: QueueState, record: JobStore.JobRecord) => {
  const { agents, layerContext } = state
  state.jobSeq = Math.max(state.jobSeq, record.seq + 1)
  state.total++
  const named = record.agent !== undefined && Object.hasOwn(agents, record.agent)
  const entry = makeEntry(state.runs, {
    id: record.id,
    seq: record.seq,
    priority: clampPriority(record.priority),
    metadata: Object.freeze({ ...record.metadata }),
    submittedAt: record.submittedAt,
    context: layerContext,
    agent: record.agent,
    agentValue: named ? agents[record.agent!] : undefined,
    input: record.input,
    callback: undefined,
    attempts: record.attempts ?? 0
  })
  if (isFinished(record.status)) {
    Object.assign(entry, {
      status: record.status,
      startedAt: record.startedAt,
      finishedAt: record.finishedAt,
      result: record.result,
      error: record.error,
      message: record.message,
      runId: record.runId
    })
    state.jobs.set(entry.id, entry)
    state.finished.add(entry)
    Deferred.doneUnsafe(entry.done, Effect.succeed(viewOf(entry)))
  } else if (named) {
    enqueue(state, entry)
    save(state, entry)
  } else {
    state.jobs.set(entry.id, entry)
    entry.status = "failed"
    entry.finishedAt = nowOf(layerContext)
    entry.message = record.agent === undefined
      ? "the process stopped before the job finished; it cannot resume: its agent was not registered by name"
      : `the process stopped before the job finished; it cannot resume: no agent "${record.agent}" is registered`
    state.finished.add(entry)
    Deferred.doneUnsafe(entry.done, Effect.succeed(viewOf(entry)))
    save(state, entry)
  }
}

// ---- operations --------------------------------------------------------------------------------------

const submitJob = (state: QueueState): JobQueueApi["submit"] => (agent, input, submitOptions = {}) =>
  Effect.withFiber((fiber) => {
    const { agents, layerContext, store } = state
    const context = fiber.context as Context.Context<never>
    const id = newId("job")
    const name = typeof agent === "string" ? agent : undefined
    if (name !== undefined && !Object.hasOwn(agents, name)) {
      return Effect.die(new globalThis.Error(
        `submit: no agent "${name}" is registered; registered: [${Object.keys(agents).join(", ")}]`
      ))
    }
    const entry = makeEntry(state.runs, {
      id,
      seq: state.jobSeq++,
      priority: clampPriority(submitOptions.priority ?? 5),
      metadata: Object.freeze({ ...submitOptions.metadata }),
      submittedAt: nowOf(context),
      context: name === undefined ? context : Context.merge(layerContext, context),
      agent: name,
      agentValue: name === undefined ? agent : agents[name],
      input,
      callback: submitOptions.callback,
      attempts: 0
    })
    state.total++
    if (state.closed) {
      state.jobs.set(id, entry)
      settleSafely(state, entry, Exit.interrupt())
      return Effect.succeed(id)
    }
    enqueue(state, entry)
    // The job is stored before its id is returned; it starts without waiting for the store.
    const stored = store.enabled ? store.writeAndWait((s) => s.putJob(recordOf(entry))) : Effect.void
    pump(state)
    return Effect.as(stored, id)
  })

/** Interrupts a job: a queued one is removed and settled at once, a running one through its fiber. */
const interruptJob = (state: QueueState, job: JobEntry) => {
  if (job.status === "queued") {
    state.queue.remove(job)
    settleSafely(state, job, Exit.interrupt())
  } else if (job.status === "running") {
    const fiber = job.fiber
    if (fiber === undefined) settleSafely(state, job, Exit.interrupt())
    else fiber.interruptUnsafe()
  }
}

const cancelJob = (state: QueueState, jobId: string): boolean => {
  const job = state.jobs.get(jobId)
  if (job === undefined) return false
  interruptJob(state, job)
  return true
}

/** When the layer is released: nothing starts any more, and every unfinished job is interrupted. */
const shutdown = (state: QueueState) => {
  state.closed = true
  for (const job of state.jobs.values()) interruptJob(state, job)
}

const listJobs = (state: QueueState, status: JobStore.JobStatus | undefined): ReadonlyArray<JobView> => {
  const out: Array<JobView> = []
  for (const job of state.jobs.values()) if (status === undefined || job.status === status) out.push(viewOf(job))
  return out.sort((a, b) => state.jobs.get(a.id)!.seq - state.jobs.get(b.id)!.seq)
}

const countJobs = (state: QueueState) => {
  const counts = { total: state.total, queued: 0, running: 0, completed: 0, failed: 0, cancelled: 0 }
  for (const job of state.jobs.values()) counts[job.status]++
  return counts
}

export const makeJobQueueApi = (options: QueueOptions): Effect.Effect<JobQueueApi, never, Scope.Scope> =>
  Effect.gen(function*() {
    const scope = yield* Effect.scope
    const state: QueueState = {
      ...options,
      layerContext: yield* Effect.context<never>(),
      jobs: new Map(),
      finished: new Set(),
      queue: makeJobQueue<JobEntry>(),
      jobSeq: 0,
      total: 0,
      runningJobs: 0,
      closed: false
    }
    for (const record of options.store.snapshot.jobs) restoreJob(state, record)
    yield* Scope.addFinalizer(scope, Effect.sync(() => shutdown(state)))
    pump(state)
    return {
      submit: submitJob(state),
      get: (jobId) => {
        const job = state.jobs.get(jobId)
        return job === undefined ? undefined : viewOf(job)
      },
      await: (jobId) => {
        const job = state.jobs.get(jobId)
        return job === undefined ? undefined : Deferred.await(job.done)
      },
      cancel: (jobId) => cancelJob(state, jobId),
      list: (status) => listJobs(state, status),
      counts: () => countJobs(state)
    }
  })
