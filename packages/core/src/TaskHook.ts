/**
 * TaskHook: the one place where a runtime may wrap each task execution without touching scheduling.
 *
 * The engine (scheduling, gates, settlement) stays the same in every mode. A durable runtime provides a
 * `TaskHook` that turns each leaf task execution into a journaled step (an Activity named by the task's
 * stable path), so that on replay stored results come back at once and only unfinished tasks run.
 *
 * Contract (the engine and composite tasks keep it):
 * - `around` receives the whole task stack after the condition and cache lookup, and before the cache
 *   store: attempts, per-attempt timeout, retries, task timeout and fallback happen inside it. So in
 *   durable mode one task execution, with all its retries, is one journaled step.
 * - `path` is stable across processes: the task id at the top level; `child/task` inside a sub-workflow
 *   task named `child`; `task[3]` for the fourth iteration of a loop task; `pipe/step` for a pipeline step.
 * - Sub-workflow tasks are never wrapped themselves: their tasks are (with the prefixed path). Task values
 *   marked `composite` (loops, pipelines) are not wrapped either: they call `around` for each iteration or
 *   step with `TaskInfo.path` as the prefix.
 *   Mark a task value composite with `composite: true` (`Task.Task`); the path a task sees is
 *   `TaskInfo.path`, and `runId`/`workflow` are always the top-level run's.
 * - With no hook (the default), the engine's fast paths are unchanged.
 *
 * @since 0.1.0
 */
import { Context } from "effect"
import type { Effect, Schema } from "effect"

/**
 * One task execution, as a hook sees it.
 *
 * @category models
 * @since 0.1.0
 */
export interface TaskExecution {
  /** The top-level run's id. */
  readonly runId: string
  /** The top-level workflow's name. */
  readonly workflow: string
  /** The stable path of this execution in the run (see the module's contract). */
  readonly path: string
  /** The task's own id (the last segment of the path, without an iteration index). */
  readonly taskId: string
  /**
   * The task's output schema, when it declares one (`output`, or its cache's `output`): a runtime that stores
   * outputs encodes them with it. Set for every task the run meets, including those of a workflow a task
   * starts while running (`TaskInfo.runWorkflow`), which a runtime cannot see when the run starts.
   */
  readonly output?: Schema.Top | undefined
}

/**
 * @category models
 * @since 0.1.0
 */
export interface TaskHookShape {
  readonly around: <A, E, R>(execution: TaskExecution, effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
}

/**
 * The installed hook, if any. Provide one with `Effect.provideService(TaskHook, hook)`.
 *
 * @category references
 * @since 0.1.0
 */
export const TaskHook = Context.Reference<TaskHookShape | undefined>("@troupe/core/TaskHook", {
  defaultValue: () => undefined
})
