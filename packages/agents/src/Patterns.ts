/**
 * Multi-agent patterns (seed 002): supervisor, consensus, debate, chain of thought and collaborative
 * writing, each a task value with a typed result, usable as a task of any workflow.
 *
 * Every pattern asks agents by name (agent type) through the `AgentRegistry`, so its workflow requires
 * the registry, and the names are checked before the run starts (an unknown agent fails the run before
 * any task runs). Each request carries the pattern's description, its parameters plus the step's own
 * (documented per pattern), the outputs of the task's dependencies plus the pattern's working state
 * (transcript, chain, draft, ...), and an output schema where the pattern needs structured answers
 * (votes, verdicts, subtask plans, contributions). Agents' slots, priorities and circuit breakers apply
 * as for any agent task; `retry` re-runs the whole pattern on retryable failures.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Engine, Workflow } from "@troupe/core"
 * import { Agent, AgentRegistry, Patterns } from "@troupe/agents"
 *
 * const wf = Workflow.make("release")
 *   .task("notes", () => Effect.succeed("v2: faster builds"))
 *   .task("go", { dependsOn: ["notes"] }, Patterns.consensus({
 *     description: "ship v2 today?",
 *     voters: ["qa", "ops", "pm"],
 *     choices: ["ship", "wait"],
 *     threshold: 2 / 3
 *   }))
 *
 * const voter = (name: string, decision: string) =>
 *   Agent.fromFunction(name, ["general_purpose"], () => ({ decision, reasoning: `${name} says ${decision}` }))
 * const program = Engine.run(wf).pipe(
 *   Effect.provide(AgentRegistry.layer([voter("qa", "ship"), voter("ops", "ship"), voter("pm", "wait")]))
 * )
 * // outputs.go: { decision: "ship" | "wait" | null, reached: true, votes: [...], ... }
 * ```
 *
 * @since 0.1.0
 */
export type {
  /**
   * Options every pattern takes: its description, parameters (a record, or a function of the task's
   * context), task attributes (priority, timeout, ...), a retry policy for the whole pattern, and
   * per-agent circuit breakers for the agents it asks.
   *
   * @category models
   * @since 0.1.0
   */
  CommonOptions,
  /**
   * A pattern's output type for an optional schema: the schema's type, else `Fallback`.
   *
   * @category type-level
   * @since 0.1.0
   */
  OutputOr
} from "./internal/patterns.ts"

import type { Failure } from "./internal/patterns.ts"

/**
 * What a pattern task fails with: an agent's failure, a routing error, an open circuit, a spent budget,
 * or a `PatternError`.
 *
 * @category models
 * @since 0.1.0
 */
export type PatternFailure = Failure

export {
  /**
   * A pattern could not go on: for example its supervisor planned a subtask for an agent that is not
   * available, or subtasks that depend on each other in a cycle.
   *
   * @category errors
   * @since 0.1.0
   */
  PatternError
} from "./internal/patterns.ts"

/** @since 0.1.0 */
export * from "./patterns/Supervisor.ts"
/** @since 0.1.0 */
export * from "./patterns/Consensus.ts"
/** @since 0.1.0 */
export * from "./patterns/Debate.ts"
/** @since 0.1.0 */
export * from "./patterns/ChainOfThought.ts"
/** @since 0.1.0 */
export * from "./patterns/Collaborative.ts"
