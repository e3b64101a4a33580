/**
 * @internal The event hub: one per run. Every event the engine emits goes through `emit`, which folds it
 * into the run's state tracker, then tells the user's callbacks (`onEvent`, `onProgress`), then publishes it
 * on the run's PubSub (for `RunHandle.events`; with replay for subscribers that join late).
 *
 * User callbacks are isolated: one that throws is reported (a warning in the Effect log, with the run and
 * the error) and detached for the rest of the run; the run, the other callbacks and the process go on.
 */
import { Effect, PubSub, Stream } from "effect"
import type { Plan } from "../../Plan.ts"
import { isTerminal, type RunEvent } from "../../RunEvent.ts"
import * as RunState from "../../RunState.ts"
import { describe } from "./describe.ts"

export interface HubOptions {
  readonly onProgress?: ((progress: RunState.Progress, event: RunEvent) => void) | undefined
  readonly onEvent?: ((event: RunEvent) => void) | undefined
}

/**
 * Where a run reports its events. `started` (a task's first attempt) and `completed` (a task's output,
 * not from the cache) are the two events every task has: when nobody listens but the state tracker, they
 * are folded into it by task position, without building the event (the same state results).
 */
export interface Sink {
  readonly emit: (event: RunEvent) => void
  readonly started: (i: number, taskId: string, at: number) => void
  readonly completed: (i: number, ...fields: Completed) => void
}

/** What a `TaskCompleted` says, in order. */
type Completed = [taskId: string, at: number, attempts: number, durationMs: number, output: unknown, fallback: boolean]

/** A sink that builds every event and hands it to `emit` (a sub-workflow forwarding to its parent). */
export const sinkOf = (runId: string, emit: (event: RunEvent) => void): Sink => ({
  emit,
  started: (_i, taskId, at) => emit({ _tag: "TaskStarted", runId, at, taskId, attempt: 1 }),
  completed: (_i, ...fields) => emit(completedEvent(runId, ...fields))
})

const completedEvent = (runId: string, ...[taskId, at, attempts, durationMs, output, fallback]: Completed): RunEvent =>
  fallback
    ? { _tag: "TaskCompleted", runId, at, taskId, attempts, durationMs, output, fallback: true }
    : { _tag: "TaskCompleted", runId, at, taskId, attempts, durationMs, output }

export interface EventHub {
  readonly emit: (event: RunEvent) => void
  readonly sink: Sink
  readonly tracker: RunState.Tracker
  /** Every event of the run (the replayed past first), ending with its terminal event. */
  readonly events: Stream.Stream<RunEvent>
  /** Whether the run's terminal event was emitted. */
  readonly ended: () => boolean
}

const noStream: Stream.Stream<RunEvent> = Stream.empty

/**
 * `report` tells about a detached callback (the engine passes one that logs a warning through the run's
 * services); it must not throw (it is guarded anyway). With a `pubsub` (`Engine.start`), events are
 * published on it for the handle's stream (an unbounded PubSub whose replay window is the run's `replay`).
 */
export const make = (
  plan: Plan,
  runId: string,
  options: HubOptions,
  report: (message: string) => void,
  pubsub?: PubSub.PubSub<RunEvent> | undefined
): EventHub => {
  const tracker = RunState.tracker(plan, runId)
  let onEvent = options.onEvent
  let onProgress = options.onProgress
  let ended = false
  const safeReport = (message: string) => {
    try {
      report(message)
    } catch {
      // nothing more can be done: the run goes on
    }
  }
  const detached = (name: string, error: unknown) =>
    safeReport(`run ${runId}: the ${name} callback threw (${describe(error)}); it is detached for the rest of the run`)
  const emit = (event: RunEvent) => {
    if (ended) return
    try {
      tracker.apply(event)
    } catch (error) {
      safeReport(`run ${runId}: the state tracker failed on a ${event._tag} event (${describe(error)})`)
    }
    if (onEvent !== undefined) {
      try {
        onEvent(event)
      } catch (error) {
        onEvent = undefined
        detached("onEvent", error)
      }
    }
    if (onProgress !== undefined) {
      try {
        onProgress(tracker.progress(), event)
      } catch (error) {
        onProgress = undefined
        detached("onProgress", error)
      }
    }
    const terminal = isTerminal(event)
    if (pubsub !== undefined) {
      PubSub.publishUnsafe(pubsub, event)
      // Subscribers that join after the end get the replayed past, then this event (sticky).
      if (terminal) PubSub.endUnsafe(pubsub, event)
    }
    if (terminal) ended = true
  }
  // Nobody but the tracker listens: the two per-task events are folded without being built.
  const quiet = () => onEvent === undefined && onProgress === undefined && pubsub === undefined
  const sink: Sink = {
    emit,
    started: (i, taskId, at) => {
      if (!quiet()) return emit({ _tag: "TaskStarted", runId, at, taskId, attempt: 1 })
      if (!ended) tracker.started(i, at)
    },
    completed: (i, taskId, at, attempts, durationMs, output, fallback) => {
      if (!quiet()) return emit(completedEvent(runId, taskId, at, attempts, durationMs, output, fallback))
      if (!ended) tracker.completed(i, at, attempts, durationMs, output, fallback)
    }
  }
  const events = pubsub === undefined
    ? noStream
    : Stream.fromPubSub(pubsub).pipe(Stream.takeUntil(isTerminal))
  return { emit, sink, tracker, events, ended: () => ended }
}

/** The PubSub of a started run: unbounded, keeping the last `replay` events (`Infinity`: all) for late subscribers. */
export const makePubSub = (replay: number): Effect.Effect<PubSub.PubSub<RunEvent>> =>
  PubSub.unbounded<RunEvent>(replay > 0 ? { replay } : undefined)

/** A `report` that logs a warning with the services of the fiber that started the run. */
export const logWarning = Effect.map(
  Effect.context<never>(),
  (services) => (message: string) => {
    Effect.runForkWith(services)(Effect.logWarning(message))
  }
)
