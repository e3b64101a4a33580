/**
 * The `Agent` namespace of the package root (`import { Agent } from "@troupe/agents"`): everything of the
 * `Agent` module plus `Agent.task` (the same function as `AgentTask.make`). It is put together here so
 * that `Agent.ts` does not import `AgentTask.ts`, which (through the registry and the task
 * implementation) imports `Agent.ts`: no import cycle.
 *
 * @internal
 */
export * from "../Agent.ts"

/**
 * A workflow task run by an agent that the `AgentRegistry` chooses at run time: `Agent.task({ description,
 * requires, skills, agentType, parameters, output, retry, fallbackAgent, breaker })`. The same function as
 * `AgentTask.make`; see the `AgentTask` module for routing, checks and resilience.
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Workflow } from "@troupe/core"
 * import { Agent } from "@troupe/agents"
 *
 * const Review = Schema.Struct({ approved: Schema.Boolean })
 * const wf = Workflow.make("review")
 *   .task("diff", () => Effect.succeed("+ a line"))
 *   .task("review", { dependsOn: ["diff"] }, Agent.task({ description: "review", requires: ["code_analysis"], output: Review }))
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export { make as task } from "../AgentTask.ts"
