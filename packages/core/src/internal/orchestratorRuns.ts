/**
 * @internal The Orchestrator's run registry: it launches runs (in the Orchestrator's scope, with its
 * TaskCache), keeps each run's state tracker and metrics collector, publishes the runs' lifecycle events on
 * the bus, and keeps the history: runs in progress, plus at most `historyLimit` finished runs (the oldest
 * finished first out, as soon as a run finishes, so a burst of runs never stays in memory).
 */
import { type Context, Deferred, Effect, Option, Scope } from "effect"
import * as Engine from "../Engine.ts"
import * as Events from "../Events.ts"
import type * as JobStore from "../JobStore.ts"
import * as Plan from "../Plan.ts"
import { isTerminal, type RunEvent } from "../RunEvent.ts"
import * as RunMetrics from "../RunMetrics.ts"
import * as RunState from "../RunState.ts"
import * as TaskCache from "../TaskCache.ts"
import type * as Workflow from "../Workflow.ts"
import type { DefinitionError } from "../WorkflowError.ts"
import type { StoreWriter } from "./orchestratorStore.ts"

export interface RunEntry {
  readonly seq: number
  readonly runId: string
  readonly workflow: string
  /** Absent for a run restored from the JobStore (only its summary is kept). */
  readonly tracker: RunState.Tracker | undefined
  readonly metrics: RunMetrics.Collector | undefined
  readonly restored: JobStore.RunRecord | undefined
  readonly jobId: string | undefined
  handle: Engine.RunHandle<unknown, unknown> | undefined
  cancelRequested: boolean
  finished: boolean
}

export interface LaunchOptions {
  readonly jobId?: string | undefined
  /**
   * Which of the run's events go on the bus: `all`, or only `task.retrying` (a job's one-task run: the job
   * publishes its own task events).
   */
  readonly publish?: "all" | "retries" | undefined
}

export interface RunRegistry {
  readonly launch: (
    workflow: Workflow.Any,
    input: unknown,
    runOptions: Engine.RunOptions,
    options?: LaunchOptions
  ) => Effect.Effect<Engine.RunHandle<unknown, unknown>, DefinitionError, unknown>
  readonly get: (runId: string) => RunEntry | undefined
  /** Every known run, oldest first. */
  readonly entries: () => IterableIterator<RunEntry>
  readonly summaryOf: (entry: RunEntry) => JobStore.RunRecord
}

type StartFn = (
  workflow: Workflow.Any,
  input: unknown,
  options: Engine.RunOptions
) => Effect.Effect<Engine.RunHandle<unknown, unknown>, DefinitionError, unknown>

const engineStart = Engine.start as unknown as StartFn

let idCounter = 0
export const newId = (prefix: string): string =>
  `${prefix}-${Date.now().toString(36)}-${(idCounter++).toString(36)}-${Math.random().toString(36).slice(2, 8)}`

const summaryOf = (entry: RunEntry): JobStore.RunRecord => {
  if (entry.restored !== undefined) return entry.restored
  const state = entry.tracker!.snapshot()
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

// ---- the registry's state, shared by the parts below -------------------------------------------------

interface RegistryState {
  readonly historyLimit: number
  readonly bus: Events.Bus
  readonly store: StoreWriter
  /** Runs are forked in the Orchestrator's scope. */
  readonly scope: Scope.Scope
  readonly layerContext: Context.Context<never>
  readonly cache: Option.Option<TaskCache.TaskCache["Service"]>
  readonly runs: Map<string, RunEntry>
  /** Finished runs in the order they finished: the front is dropped first. */
  readonly finished: Map<string, RunEntry>
  runSeq: number
}

/** The summaries the store held: finished runs, kept as their summary only. */
const restoreRuns = (state: RegistryState) => {
  for (const record of state.store.snapshot.runs) {
    const entry: RunEntry = {
      seq: state.runSeq++,
      runId: record.runId,
      workflow: record.workflow,
      tracker: undefined,
      metrics: undefined,
      restored: record,
      jobId: record.jobId,
      handle: undefined,
      cancelRequested: false,
      finished: true
    }
    state.runs.set(record.runId, entry)
    state.finished.set(record.runId, entry)
  }
}

// ---- history: finished runs beyond historyLimit are forgotten ----------------------------------------

const forget = (state: RegistryState, runId: string) => {
  state.runs.delete(runId)
  state.finished.delete(runId)
}

const prune = (state: RegistryState) => {
  const { finished, historyLimit } = state
  if (finished.size <= historyLimit) return
  const dropped: Array<string> = []
  for (const id of finished.keys()) {
    if (finished.size <= historyLimit) break
    forget(state, id)
    dropped.push(id)
  }
  if (dropped.length > 0) state.store.write((s) => s.deleteRuns(dropped))
}

const onFinished = (state: RegistryState, entry: RunEntry) => {
  entry.finished = true
  state.finished.set(entry.runId, entry)
  if (state.store.enabled) {
    const summary = summaryOf(entry)
    state.store.write((s) => s.putRun(summary))
  }
  prune(state)
}

// ---- each event of a run: tracker, metrics, the user's callback, the bus -----------------------------

const warn = (state: RegistryState, message: string, error: unknown) =>
  Effect.runForkWith(state.layerContext)(Effect.logWarning(`Orchestrator: ${message}: ${Events.describe(error)}`))

/** A run's event on the bus, under its seed-style name; `workflow.started` also announces each task. */
const publishRunEvent = (bus: Events.Bus, entry: RunEntry, plan: Plan.Plan, event: RunEvent, mode: "all" | "retries") => {
  const name = Events.nameOfRunEvent(event)
  if (name === undefined || (mode === "retries" && name !== "task.retrying")) return
  if (name === "workflow.started" && mode === "all" && bus.has("task.created")) {
    for (const node of plan.nodes) {
      bus.publish("task.created", {
        _tag: "TaskCreated",
        runId: entry.runId,
        at: event.at,
        taskId: node.id,
        workflow: entry.workflow,
        priority: node.priority
      } satisfies Events.TaskCreated)
    }
  }
  if (bus.has(name)) {
    bus.publish(name, entry.jobId === undefined
      ? { ...event, workflow: entry.workflow }
      : { ...event, workflow: entry.workflow, jobId: entry.jobId })
  }
}

/** The `onEvent` the engine calls for a launched run (a throwing user callback is reported and detached). */
const eventRecorder = (
  state: RegistryState,
  entry: RunEntry,
  plan: Plan.Plan,
  mode: "all" | "retries",
  userCallback: ((event: RunEvent) => void) | undefined
) => {
  let userOnEvent = userCallback
  const runId = entry.runId
  return (event: RunEvent) => {
    if (event._tag === "RunStarted") {
      forget(state, runId)
      state.runs.set(runId, entry)
    }
    try {
      entry.tracker!.apply(event)
      entry.metrics!.onEvent(event)
    } catch (error) {
      warn(state, `recording an event of run ${runId} failed`, error)
    }
    if (userOnEvent !== undefined) {
      try {
        userOnEvent(event)
      } catch (error) {
        // A throwing callback is reported and detached; the run goes on.
        userOnEvent = undefined
        warn(state, `the onEvent callback of run ${runId} threw and was detached`, error)
      }
    }
    publishRunEvent(state.bus, entry, plan, event, mode)
    if (isTerminal(event)) onFinished(state, entry)
  }
}

// ---- launching a run ---------------------------------------------------------------------------------

const withCache = <A, E, R>(state: RegistryState, effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Option.isSome(state.cache) ? Effect.provideService(effect, TaskCache.TaskCache, state.cache.value) : effect

/**
 * Starts the run in the Orchestrator's scope and hands its handle back once it started (a cancel asked for
 * in between is applied first); the forked fiber lives until the run ends.
 */
const launchRun = (state: RegistryState): RunRegistry["launch"] => (workflow, input, runOptions, launchOptions = {}) =>
  Effect.suspend(() => {
    const runId = runOptions.runId ?? newId("run")
    const plan = Plan.fromWorkflow(workflow)
    const entry: RunEntry = {
      seq: state.runSeq++,
      runId,
      workflow: plan.name,
      tracker: RunState.tracker(plan, runId),
      metrics: RunMetrics.collector(plan),
      restored: undefined,
      jobId: launchOptions.jobId,
      handle: undefined,
      cancelRequested: false,
      finished: false
    }
    const onEvent = eventRecorder(state, entry, plan, launchOptions.publish ?? "all", runOptions.onEvent)
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
    return Effect.forkIn(withCache(state, program), state.scope).pipe(
      Effect.andThen(Deferred.await(handoff))
    )
  })

export const makeRunRegistry = (options: {
  readonly historyLimit: number
  readonly bus: Events.Bus
  readonly store: StoreWriter
}): Effect.Effect<RunRegistry, never, Scope.Scope> =>
  Effect.gen(function*() {
    const state: RegistryState = {
      ...options,
      scope: yield* Effect.scope,
      layerContext: yield* Effect.context<never>(),
      cache: yield* Effect.serviceOption(TaskCache.TaskCache),
      runs: new Map(),
      finished: new Map(),
      runSeq: 0
    }
    restoreRuns(state)
    return {
      launch: launchRun(state),
      get: (runId) => state.runs.get(runId),
      entries: () => state.runs.values(),
      summaryOf
    }
  })
