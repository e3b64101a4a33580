/**
 * Troupe: a Promise API over the orchestrator, for code that does not use Effect.
 *
 * `Troupe.make(layer?)` builds a `ManagedRuntime` from the layer plus an in-memory orchestrator (built on
 * top of the layer, so a `TaskCache` in the layer is the orchestrator's cache). Every method runs on that
 * runtime; `dispose()` releases it (running runs and jobs are interrupted).
 *
 * A workflow whose tasks need services can only be run by a Troupe whose layer provides them: passing
 * it to `run` on any other Troupe is a compile error.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Troupe, Workflow } from "@troupe/core"
 *
 * const wf = Workflow.make<"double", number>("double")
 *   .task("double", ({ input }) => Effect.succeed(input * 2))
 *
 * const troupe = Troupe.make()
 * const result = await troupe.run(wf, 21)
 * console.log(result.outputs.double) // 42
 * await troupe.dispose()
 * ```
 *
 * @since 0.1.0
 */
import { Effect, Layer, ManagedRuntime } from "effect"
import type * as Engine from "./Engine.ts"
import * as Events from "./Events.ts"
import * as Orchestrator from "./Orchestrator.ts"
import type * as RunState from "./RunState.ts"
import type * as Task from "./Task.ts"
import type * as Trigger from "./Trigger.ts"
import type { ErrorOf, OutputOf, ServicesOf, TypeError } from "./Task.ts"
import type * as Workflow from "./Workflow.ts"

// -----------------------------------------------------------------------------
// Models
// -----------------------------------------------------------------------------

/**
 * Rejects, at compile time, a workflow that needs services the Troupe's layer does not provide.
 *
 * @category type-level
 * @since 0.1.0
 */
export type CheckServices<Needed, Provided> = [Exclude<Needed, Provided>] extends [never] ? unknown
  : TypeError<"this workflow needs services that the Troupe's layer does not provide"> & {
    readonly missing: Exclude<Needed, Provided>
  }

/**
 * A run started with `start`, seen from Promise code.
 *
 * @category models
 * @since 0.1.0
 */
export interface RunHandle<Outputs> {
  readonly runId: string
  /** Resolves with the result, or rejects with `WorkflowFailed`, `WorkflowTimeout` or `WorkflowCancelled`. */
  readonly result: () => Promise<Engine.RunResult<Outputs>>
  readonly state: () => Promise<RunState.RunState>
  readonly progress: () => Promise<RunState.Progress>
  readonly cancel: () => Promise<void>
}

/**
 * The Promise facade. `R` are the services its layer provides.
 *
 * @category models
 * @since 0.1.0
 */
export interface Troupe<R> {
  /**
   * Runs a workflow. Resolves with its `RunResult` (typed outputs); rejects with the run's typed error
   * (`WorkflowFailed`, `WorkflowTimeout`, `WorkflowCancelled`) or a definition error.
   */
  readonly run: <W extends Workflow.Any>(
    workflow: W & CheckServices<Workflow.Services<W>, R>,
    ...args: Orchestrator.RunArgs<W>
  ) => Promise<Engine.RunResult<Workflow.Outputs<W>>>

  /** Starts a workflow in the background. */
  readonly start: <W extends Workflow.Any>(
    workflow: W & CheckServices<Workflow.Services<W>, R>,
    ...args: Orchestrator.RunArgs<W>
  ) => Promise<RunHandle<Workflow.Outputs<W>>>

  /** Runs one task ad hoc (a handler receives `{ input }`) and resolves with its output. */
  readonly executeTask: <I, F extends (ctx: { readonly input: I }) => unknown>(
    id: string,
    handler: F & CheckServices<ServicesOf<ReturnType<F>>, R>,
    input: I
  ) => Promise<OutputOf<ReturnType<F>>>

  /** Queues a job (see `Orchestrator.submit`) and resolves with its id. */
  readonly submit: {
    <A, E, R2 extends R, I>(
      agent: Task.Task<A, E, R2, { readonly input: I }>,
      input: I,
      options?: Orchestrator.SubmitOptions<A, E>
    ): Promise<Orchestrator.JobId<A, E>>
    <I, F extends (input: I) => unknown>(
      agent: F & CheckServices<ServicesOf<ReturnType<F>>, R>,
      input: I,
      options?: Orchestrator.SubmitOptions<OutputOf<ReturnType<F>>, ErrorOf<ReturnType<F>>>
    ): Promise<Orchestrator.JobId<OutputOf<ReturnType<F>>, ErrorOf<ReturnType<F>>>>
  }
  /** Rejects with `JobNotFound` for an unknown id. */
  readonly status: (jobId: string) => Promise<Orchestrator.JobStatus>
  readonly getTask: <A, E>(jobId: Orchestrator.JobId<A, E>) => Promise<Orchestrator.Job<A, E>>
  /** Resolves when the job finished (completed, failed or cancelled). */
  readonly awaitJob: <A, E>(jobId: Orchestrator.JobId<A, E>) => Promise<Orchestrator.Job<A, E>>
  readonly cancelJob: (jobId: string) => Promise<void>

  readonly state: (runId: string) => Promise<RunState.RunState>
  readonly cancel: (runId: string) => Promise<void>
  readonly history: (options?: Orchestrator.HistoryOptions) => Promise<ReadonlyArray<Orchestrator.RunSummary>>
  readonly stats: (options?: Orchestrator.StatsOptions) => Promise<Orchestrator.Stats>

  /**
   * Subscribes a handler to a lifecycle event, a custom event, a definition or a pattern (`task.*`); call
   * the returned function to unsubscribe. Handlers run in their own fiber (see `Events`).
   */
  readonly on: <const N extends Orchestrator.EventName>(name: N, handler: Orchestrator.Handler<N>) => () => void
  /** Publishes a custom event (`custom.*`, or a definition whose Schema checks the payload). */
  readonly emit: {
    <N extends string, P>(definition: Events.Definition<N, P>, payload: P): Promise<void>
    (name: Orchestrator.CustomName, payload?: unknown): Promise<void>
  }
  /** Resolves when every subscriber has handled the events published so far. */
  readonly flushEvents: () => Promise<void>
  /** Attaches a trigger (see `Trigger`): each matching event starts a run of its workflow. */
  readonly addTrigger: <S extends Events.Selector, W extends Workflow.Any>(
    trigger: Trigger.Trigger<S, W & CheckServices<Workflow.Services<W>, R>>
  ) => Promise<Trigger.Handle>

  /** The runtime underneath, to run Effects with the same services. */
  readonly runtime: ManagedRuntime.ManagedRuntime<R | Orchestrator.Orchestrator, unknown>
  /** Releases the runtime: running runs and jobs are interrupted. */
  readonly dispose: () => Promise<void>
}

/**
 * Options of {@link make}.
 *
 * @category models
 * @since 0.1.0
 */
export interface MakeOptions {
  /** Options of the orchestrator built on the layer. */
  readonly orchestrator?: Orchestrator.Options | undefined
}

// -----------------------------------------------------------------------------
// Constructors
// -----------------------------------------------------------------------------

/**
 * A Troupe on a runtime built from `layer` (default: no services) plus an orchestrator.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make: {
  (layer?: undefined, options?: MakeOptions): Troupe<never>
  <R, E>(layer: Layer.Layer<R, E, never>, options?: MakeOptions): Troupe<R>
} = <R, E>(layer?: Layer.Layer<R, E, never>, options: MakeOptions = {}): Troupe<R> => {
  const orchestratorLayer = Orchestrator.layer(options.orchestrator)
  const full = (layer === undefined
    ? orchestratorLayer
    : Layer.provideMerge(orchestratorLayer, layer)) as Layer.Layer<R | Orchestrator.Orchestrator, E>
  const runtime = ManagedRuntime.make(full)

  // Handlers live here; one forwarding subscription per event name relays the orchestrator's events to
  // them. Everything that can produce events waits until the forwarding subscriptions are in place.
  const handlers = new Map<string, Set<(event: never) => void>>()
  const forwarding: Array<Promise<unknown>> = []
  const ready = (): Promise<unknown> => forwarding.length === 0 ? Promise.resolve() : Promise.all(forwarding)

  const use = <A, E2>(f: (o: Orchestrator.OrchestratorApi) => Effect.Effect<A, E2, unknown>): Promise<A> =>
    ready().then(() =>
      runtime.runPromise(
        Effect.flatMap(Orchestrator.Orchestrator, f) as Effect.Effect<A, E2, R | Orchestrator.Orchestrator>
      )
    )

  const subscribe = (selector: Orchestrator.EventName): Set<(event: never) => void> => {
    const name = Events.selectorName(selector)
    const existing = handlers.get(name)
    if (existing !== undefined) return existing
    const set = new Set<(event: never) => void>()
    handlers.set(name, set)
    const relay = (event: never) => {
      for (const handler of [...set]) {
        try {
          const result = handler(event) as unknown
          // A rejected Promise is reported and detaches its handler, like a throw.
          if (typeof result === "object" && result !== null && typeof (result as PromiseLike<unknown>).then === "function") {
            ;(result as PromiseLike<unknown>).then(undefined, (error: unknown) => {
              set.delete(handler)
              runtime.runFork(Effect.logWarning(`Troupe: a handler of "${name}" failed and was detached: ${Events.describe(error)}`))
            })
          }
        } catch (error) {
          // Reported and detached (see Events): it receives nothing more; the others go on.
          set.delete(handler)
          runtime.runFork(Effect.logWarning(`Troupe: a handler of "${name}" threw and was detached: ${Events.describe(error)}`))
        }
      }
    }
    forwarding.push(
      runtime.runPromise(Effect.flatMap(Orchestrator.Orchestrator, (o) => o.on(selector, relay as Orchestrator.Handler<typeof selector>)))
    )
    return set
  }

  const toHandle = <Outputs>(handle: Engine.RunHandle<Outputs, unknown>): RunHandle<Outputs> => ({
    runId: handle.runId,
    result: () => runtime.runPromise(handle.await),
    state: () => runtime.runPromise(handle.state),
    progress: () => runtime.runPromise(handle.progress),
    cancel: () => runtime.runPromise(handle.cancel)
  })

  const troupe: Troupe<R> = {
    run: ((workflow: Workflow.Any, input?: unknown, runOptions?: Engine.RunOptions) =>
      use((o) => (o.execute as (w: Workflow.Any, i: unknown, opts?: Engine.RunOptions) => Effect.Effect<unknown, unknown, unknown>)(workflow, input, runOptions))) as Troupe<R>["run"],
    start: ((workflow: Workflow.Any, input?: unknown, runOptions?: Engine.RunOptions) =>
      use((o) =>
        (o.start as (
          w: Workflow.Any,
          i: unknown,
          opts?: Engine.RunOptions
        ) => Effect.Effect<Engine.RunHandle<unknown, unknown>, unknown, unknown>)(workflow, input, runOptions)
      ).then(toHandle)) as Troupe<R>["start"],
    executeTask: ((id: string, handler: unknown, input: unknown) =>
      use((o) =>
        (o.executeTask as (id: string, h: unknown, i: unknown) => Effect.Effect<unknown, unknown, unknown>)(
          id,
          handler,
          input
        )
      )) as Troupe<R>["executeTask"],
    submit: ((agent: unknown, input: unknown, submitOptions?: Orchestrator.SubmitOptions) =>
      use((o) =>
        (o.submit as (a: unknown, i: unknown, opts?: Orchestrator.SubmitOptions) => Effect.Effect<string, never, unknown>)(
          agent,
          input,
          submitOptions
        )
      )) as Troupe<R>["submit"],
    status: (jobId) => use((o) => o.status(jobId)),
    getTask: (jobId) => use((o) => o.getTask(jobId)),
    awaitJob: (jobId) => use((o) => o.awaitJob(jobId)),
    cancelJob: (jobId) => use((o) => o.cancelJob(jobId)),
    state: (runId) => use((o) => o.state(runId)),
    cancel: (runId) => use((o) => o.cancel(runId)),
    history: (historyOptions) => use((o) => o.history(historyOptions)),
    stats: (statsOptions) => use((o) => o.stats(statsOptions)),
    on: (name, handler) => {
      const set = subscribe(name)
      // Wrapped so that subscribing one function twice gives two independent subscriptions.
      const subscription = (event: never) => (handler as (event: never) => void)(event)
      set.add(subscription)
      return () => {
        set.delete(subscription)
      }
    },
    emit: ((name: Orchestrator.CustomName, payload?: unknown) =>
      use((o) => o.emit(name, payload))) as Troupe<R>["emit"],
    flushEvents: () => use((o) => o.flushEvents),
    addTrigger: (trigger) => use((o) => o.addTrigger(trigger as unknown as Trigger.Trigger)),
    runtime: runtime as ManagedRuntime.ManagedRuntime<R | Orchestrator.Orchestrator, unknown>,
    dispose: () => runtime.dispose()
  }
  return troupe
}
