/**
 * @troupe/core: typed workflows of tasks and agents, compiled to Effect programs.
 *
 * @since 0.1.0
 */
export * as Breaker from "./Breaker.ts"
export * as Engine from "./Engine.ts"
export * as Events from "./Events.ts"
export * as Expression from "./Expression.ts"
export * as JobStore from "./JobStore.ts"
export * as Loop from "./Loop.ts"
export * as Orchestrator from "./Orchestrator.ts"
export * as Pipeline from "./Pipeline.ts"
export * as Optimizer from "./Optimizer.ts"
export * as Plan from "./Plan.ts"
export * as Report from "./Report.ts"
export * as RunEvent from "./RunEvent.ts"
export * as RunMetrics from "./RunMetrics.ts"
export * as Policy from "./Policy.ts"
export * as RunState from "./RunState.ts"
export * as Schedules from "./Schedules.ts"
export * as Signal from "./Signal.ts"
export * as RunStore from "./RunStore.ts"
export * as Task from "./Task.ts"
export * as TaskCache from "./TaskCache.ts"
export * as TaskHook from "./TaskHook.ts"
export * as Trigger from "./Trigger.ts"
export * as Troupe from "./Troupe.ts"
export * as Workflow from "./Workflow.ts"
export * as WorkflowError from "./WorkflowError.ts"

/**
 * `workflow("name")`: start a workflow (same as `Workflow.make`).
 *
 * @category constructors
 * @since 0.1.0
 */
export { workflow } from "./Workflow.ts"

/**
 * `run(workflow, input, options)` and `start(...)` (same as `Engine.run` / `Engine.start`).
 *
 * @category running
 * @since 0.1.0
 */
export { run, start } from "./Engine.ts"
