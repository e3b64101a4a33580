/**
 * Engine: runs a workflow as an Effect program.
 *
 * The scheduler is event-driven: a task becomes ready the moment its last dependency finishes (never at
 * the end of a dependency level). Ready tasks are dispatched by priority, then by the longest remaining
 * path to a sink, then by declaration order, and never more than `maxParallel` run at once. Every
 * observable step is a RunEvent; run state, progress callbacks and the handle's event stream are folds
 * over them.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Engine, Workflow } from "@troupe/core"
 *
 * const wf = Workflow.make("add")
 *   .task("one", () => Effect.succeed(1))
 *   .task("two", { dependsOn: ["one"] }, ({ one }) => Effect.succeed(one + 1))
 *
 * const result = await Effect.runPromise(Engine.run(wf))
 * console.log(result.outputs.two) // 2
 * ```
 *
 * @since 0.1.0
 */
import { type Cause, type Duration, Effect, Fiber, type Stream } from "effect"
import { describeCause as safeDescribeCause } from "./internal/engine/describe.ts"
import * as Hub from "./internal/engine/events.ts"
import { makeShared } from "./internal/engine/gates.ts"
import { prepare } from "./internal/engine/prepare.ts"
import { execute } from "./internal/engine/scheduler.ts"
import type { Settings } from "./internal/engine/settings.ts"
import type { Control, Outcome, Scope } from "./internal/engine/state.ts"
import type { Plan, Strategy } from "./Plan.ts"
import type { RunEvent } from "./RunEvent.ts"
import type * as RunState from "./RunState.ts"
import type * as Workflow from "./Workflow.ts"
import {
  type DefinitionError,
  type TaskFailure,
  WorkflowCancelled,
  WorkflowFailed,
  WorkflowTimeout
} from "./WorkflowError.ts"

// -----------------------------------------------------------------------------
// Models
// -----------------------------------------------------------------------------

/**
 * What a run does when a task fails:
 * - `fail-fast` (default): interrupt running tasks, cancel the rest, fail the run;
 * - `continue`: skip exactly the tasks that depend (transitively) on a failed task, finish everything
 *   else, then fail the run with every failure.
 *
 * @category models
 * @since 0.1.0
 */
export type FailureMode = "fail-fast" | "continue"

/**
 * @category models
 * @since 0.1.0
 */
export interface RunOptions {
  /**
   * Default: the plan's strategy, else `dag`. `parallel` means "no limit" only when no `maxParallel` was
   * declared (by the run or the workflow): a declared limit holds for every strategy.
   */
  readonly strategy?: Strategy | undefined
  /**
   * Most tasks running at once: a whole number ≥ 1, or `"unbounded"`. Default: the plan's `maxParallel`,
   * else unbounded. Sub-workflows share it (it counts their handlers). Anything else (`NaN`, `0`, `1.5`) is an
   * `InvalidDefinition` naming `RunOptions.maxParallel`, like every numeric option.
   */
  readonly maxParallel?: number | "unbounded" | undefined
  /** Default: `continue` when the plan says `continue_on_failure`, else `fail-fast`. */
  readonly failureMode?: FailureMode | undefined
  /**
   * Called after every event with the progress it produced. A callback that throws is reported (a warning
   * in the Effect log) and detached; the run goes on.
   */
  readonly onProgress?: ((progress: RunState.Progress, event: RunEvent) => void) | undefined
  /** Called with every event (isolated like `onProgress`). */
  readonly onEvent?: ((event: RunEvent) => void) | undefined
  /** Default: a random id. */
  readonly runId?: string | undefined
  /** Deadline for the whole run (default: the workflow's). Whatever still runs then is cancelled. */
  readonly deadline?: Duration.Input | undefined
  /** Capacities of named resource pools (default: the workflow's). */
  readonly resources?: Readonly<Record<string, number>> | undefined
  /** Most tasks with the same concurrency key at once (default: the workflow's). */
  readonly perKeyLimit?: number | undefined
  /**
   * Run compensations of completed tasks when a run in `continue` mode ends with failures or is cancelled
   * (fail-fast runs always compensate, failed or cancelled). Default false.
   */
  readonly compensateOnFailure?: boolean | undefined
  /**
   * How many past events a run handle keeps for subscribers that join late (`Engine.start`): `"all"`
   * (default) or the most recent n (0: none; subscribers see only what happens after they join). Bounds
   * the handle's memory for long runs and large loops.
   */
  readonly replay?: number | "all" | undefined
}

/**
 * A successful run: every task completed or was skipped by a condition.
 *
 * @category models
 * @since 0.1.0
 */
export interface RunResult<Outputs> {
  readonly runId: string
  readonly workflow: string
  readonly outputs: Outputs
  /** The final state: status, attempts, timings, outputs and errors of every task. */
  readonly state: RunState.RunState
  readonly durationMs: number
}

/**
 * A started run.
 *
 * @category models
 * @since 0.1.0
 */
export interface RunHandle<Outputs, E> {
  readonly runId: string
  /**
   * Every event of the run from its start (late subscribers get the replayed past); ends with the run's
   * one terminal event, however the run ends (completed, failed, cancelled, or interrupted).
   */
  readonly events: Stream.Stream<RunEvent>
  readonly state: Effect.Effect<RunState.RunState>
  readonly progress: Effect.Effect<RunState.Progress>
  /**
   * Interrupts running tasks, cancels pending ones, runs the compensations of completed tasks (by the rules
   * of a failed run); `await` then fails with `WorkflowCancelled`.
   */
  readonly cancel: Effect.Effect<void>
  readonly await: Effect.Effect<RunResult<Outputs>, WorkflowFailed<E> | WorkflowTimeout | WorkflowCancelled>
}

type Args<W extends Workflow.Any> = [void] extends [Workflow.Input<W>]
  ? [input?: Workflow.Input<W>, options?: RunOptions]
  : [input: Workflow.Input<W>, options?: RunOptions]

// -----------------------------------------------------------------------------
// Utilities
// -----------------------------------------------------------------------------

/**
 * One line describing the error in a Cause: never throws, whatever the error (no prototype, a throwing
 * `toString`, a Proxy, very deep values).
 *
 * @category utils
 * @since 0.1.0
 */
export const describeCause: (cause: Cause.Cause<unknown>) => string = safeDescribeCause

let runCounter = 0
const newRunId = (): string =>
  `run-${Date.now().toString(36)}-${(runCounter++).toString(36)}-${Math.random().toString(36).slice(2, 8)}`

// -----------------------------------------------------------------------------
// Running
// -----------------------------------------------------------------------------

/** A top-level run's scope: it shares its slots, pools and per-key counts with its sub-workflows. */
const topScope = (runId: string, workflow: string, settings: Settings, pools: ReadonlyMap<string, number>): Scope => ({
  runId,
  workflow,
  prefix: "",
  shared: makeShared(settings.maxParallel, settings.perKeyLimit, pools)
})

const toResult = <W extends Workflow.Any>(
  plan: Plan,
  settings: Settings,
  runId: string,
  outcome: Outcome,
  tracker: RunState.Tracker
): Effect.Effect<
  RunResult<Workflow.Outputs<W>>,
  WorkflowFailed<Workflow.Error<W>> | WorkflowTimeout | WorkflowCancelled
> => {
  if (outcome.status === "completed") {
    let state: RunState.RunState | undefined
    return Effect.succeed({
      runId,
      workflow: plan.name,
      // Built on first read (see the outcome).
      get outputs() {
        return outcome.outputs as Workflow.Outputs<W>
      },
      // Taken on first read: the run is over, so the state no longer changes.
      get state() {
        return state ??= tracker.snapshot()
      },
      durationMs: outcome.durationMs
    })
  }
  if (outcome.status === "cancelled") {
    return Effect.fail(new WorkflowCancelled({ workflow: plan.name, runId, completed: [...outcome.completed] }))
  }
  if (outcome.status === "deadline") {
    return Effect.fail(
      new WorkflowTimeout({
        workflow: plan.name,
        runId,
        deadlineMs: settings.deadlineMs ?? 0,
        completed: outcome.completed,
        outputs: outcome.outputs,
        compensations: outcome.compensations
      })
    )
  }
  return Effect.fail(
    new WorkflowFailed({
      workflow: plan.name,
      runId,
      failures: outcome.failures as ReadonlyArray<TaskFailure<Workflow.Error<W>>>,
      completed: outcome.completed,
      outputs: outcome.outputs,
      compensations: outcome.compensations
    })
  )
}

/**
 * Runs a workflow to the end. Succeeds with the typed outputs when every task completed (or was skipped
 * by a condition); fails with `WorkflowFailed` carrying every failure's Cause and the outputs of the tasks
 * that completed. Definition errors (found before anything runs) fail with a `DefinitionError`.
 *
 * @category running
 * @since 0.1.0
 */
export const run = <W extends Workflow.Any>(
  workflow: W,
  ...[input, options = {}]: Args<W>
): Effect.Effect<
  RunResult<Workflow.Outputs<W>>,
  WorkflowFailed<Workflow.Error<W>> | WorkflowTimeout | DefinitionError,
  Workflow.Services<W>
> =>
  Effect.flatMap(prepare(workflow, options), ({ compiled, settings, pools }) =>
    Effect.flatMap(Hub.logWarning, (report) => {
      const runId = options.runId ?? newRunId()
      const { sink, tracker } = Hub.make(compiled.plan, runId, options, report)
      const scope = topScope(runId, compiled.plan.name, settings, pools)
      return execute(compiled, input, settings, runId, sink, { cancel: () => {} }, scope).pipe(
        Effect.flatMap((outcome) => toResult<W>(compiled.plan, settings, runId, outcome, tracker)),
        Effect.catchTag("WorkflowCancelled", Effect.die)
      )
    })) as never

/**
 * Starts a workflow in the background and returns a handle: its event stream, state, progress, a way to
 * cancel it and to await its result. The run is a child of the calling fiber.
 *
 * @category running
 * @since 0.1.0
 */
export const start = <W extends Workflow.Any>(
  workflow: W,
  ...[input, options = {}]: Args<W>
): Effect.Effect<
  RunHandle<Workflow.Outputs<W>, Workflow.Error<W>>,
  DefinitionError | WorkflowFailed<Workflow.Error<W>>,
  Workflow.Services<W>
> =>
  Effect.flatMap(prepare(workflow, options), ({ compiled, settings, pools }) =>
    Effect.gen(function*() {
      const runId = options.runId ?? newRunId()
      const replay = options.replay === undefined || options.replay === "all" ? Infinity : options.replay
      const report = yield* Hub.logWarning
      const pubsub = yield* Hub.makePubSub(replay)
      const { sink, tracker, events } = Hub.make(compiled.plan, runId, options, report, pubsub)
      const control: Control = { cancel: () => {} }
      const scope = topScope(runId, compiled.plan.name, settings, pools)
      const fiber = yield* execute(compiled, input, settings, runId, sink, control, scope).pipe(
        Effect.flatMap((outcome) => toResult<W>(compiled.plan, settings, runId, outcome, tracker)),
        Effect.forkChild({ startImmediately: true })
      )
      const handle: RunHandle<Workflow.Outputs<W>, Workflow.Error<W>> = {
        runId,
        events,
        state: Effect.sync(() => tracker.snapshot()),
        progress: Effect.sync(() => tracker.progress()),
        cancel: Effect.sync(() => control.cancel()),
        await: Fiber.join(fiber)
      }
      return handle
    })) as never
