/**
 * @internal The sub-workflow runner: a task whose handler is a workflow runs it as a nested run of the same
 * scheduler. The child was prepared with the top-level run (validation, pools, task checks, before
 * anything ran); it shares the tree's slots, pools and per-key counts (`Shared`), keeps its own strategy,
 * failure mode and deadline, and reports each of its events to the parent as a `SubWorkflowEvent`. Its
 * tasks' paths are prefixed with the sub-workflow task's id (`child/task`), for the TaskHook.
 */
import { Effect } from "effect"
import type { RunEvent } from "../../RunEvent.ts"
import { WorkflowFailed } from "../../WorkflowError.ts"
import { compile, type Compiled, type TaskImpl } from "../workflowPlan.ts"
import { type Sink, sinkOf } from "./events.ts"
import { childSettings } from "./prepare.ts"
import { adopt, childEnded } from "./settlement.ts"
import type { Settings } from "./settings.ts"
import type { Control, Outcome, RunCore, Scope } from "./state.ts"

/** The scheduler's entry point (passed in, so this module does not import the scheduler). */
export type Execute = (
  compiled: Compiled,
  input: unknown,
  settings: Settings,
  runId: string,
  sink: Sink,
  control: Control,
  scope: Scope
) => Effect.Effect<Outcome, never, unknown>

/**
 * Runs `compiled` as a child of the task `taskId` of `run`: its run id and path prefix under the task, its
 * events forwarded as `SubWorkflowEvent`s of the task, its outputs on success, else a `WorkflowFailed`
 * naming the child run. Shared by static sub-workflows and the ones a task starts at run time (`childRun.ts`).
 */
export const nested = (
  run: RunCore,
  task: number,
  taskId: string,
  compiled: Compiled,
  input: unknown,
  childRunId: string,
  prefix: string,
  execute: Execute
): Effect.Effect<Record<string, unknown>, WorkflowFailed<unknown>, unknown> => {
  const forward = (event: RunEvent) =>
    run.emit({ _tag: "SubWorkflowEvent", runId: run.runId, at: event.at, taskId, event })
  const scope: Scope = { ...run.scope, prefix }
  // The parent keeps the child's run for its own compensations (`settlement.compensateTree`) while it owes any.
  let child: RunCore | undefined
  const control: Control = {
    cancel: () => {},
    onRun: (started) => {
      child = started
      adopt(run, task, started)
    }
  }
  return execute(compiled, input, childSettings(compiled.plan), childRunId, sinkOf(childRunId, forward), control, scope)
    .pipe(
      Effect.ensuring(Effect.sync(() => {
        if (child !== undefined) childEnded(run, child)
      })),
      Effect.flatMap((outcome) =>
        outcome.status === "completed"
          ? Effect.succeed(outcome.outputs)
          : Effect.fail(
            new WorkflowFailed({
              workflow: compiled.plan.name,
              runId: childRunId,
              failures: outcome.failures,
              completed: outcome.completed,
              outputs: outcome.outputs,
              compensations: outcome.compensations
            })
          )
      )
    )
}

export const runChild = (
  run: RunCore,
  impl: TaskImpl,
  ctx: Record<string, unknown>,
  execute: Execute
): Effect.Effect<unknown, unknown, unknown> => {
  const child = impl.child!
  const taskId = impl.node.id
  const childInput = child.input === undefined ? undefined : child.input(ctx as never)
  const compiled = compile(child.workflow)
  const task = run.g.indexOf.get(taskId)!
  return nested(run, task, taskId, compiled, childInput, `${run.runId}/${taskId}`, `${run.scope.prefix}${taskId}/`, execute)
}
