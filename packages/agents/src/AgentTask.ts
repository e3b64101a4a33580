/**
 * Agent tasks: workflow tasks that an agent runs, chosen at run time by the `AgentRegistry`.
 *
 * `AgentTask.make(options)` (also `Agent.task`) returns a core `Task` value. Add it to a workflow like any
 * task; the workflow then requires the `AgentRegistry` service (and `Skills` when the task names skills).
 *
 * - Before the run starts, the task checks that some registered agent can take it (and its fallback
 *   agent exists) and that its skills exist: a missing agent or skill fails the run before any task
 *   runs, naming the task.
 * - When it runs, it loads its skills, routes to an agent (an explicit `agentType` wins; else the agents
 *   that have every required capability, highest priority first, then least loaded; a full agent is
 *   waited for), builds the request (description, parameters, the outputs of its dependencies, skills,
 *   output schema, attempt number), runs the agent and decodes the output with `output` when given.
 * - Resilience: `retry` is a core retry policy that retries the agent's retryable failures only (an
 *   `AgentError` with `retryable: false` never retries) and waits at least the `retryAfterMs` a rate limit
 *   asked for; `fallbackAgent` runs the task on another agent once the policy gives up (at once when the
 *   task has no policy); `breaker` gives every agent its own circuit breaker: routing passes over an agent
 *   whose breaker is open while another candidate is healthy, and fails with `CircuitOpen` when none is.
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Engine, Policy, Workflow } from "@troupe/core"
 * import { Agent, AgentRegistry } from "@troupe/agents"
 *
 * const Review = Schema.Struct({ approved: Schema.Boolean, comments: Schema.Array(Schema.String) })
 *
 * const wf = Workflow.make("review")
 *   .task("diff", () => Effect.succeed("+ added a line"))
 *   .task("review", { dependsOn: ["diff"] }, Agent.task({
 *     description: "review the diff",
 *     requires: ["code_analysis"],
 *     output: Review,
 *     retry: Policy.exponential({ maxRetries: 2, initialDelay: "1 second" }),
 *     fallbackAgent: "senior-reviewer"
 *   }))
 *
 * const reviewer = Agent.fromFunction("reviewer", ["code_analysis"], (request) => ({
 *   approved: String(request.dependencies.diff).startsWith("+"),
 *   comments: []
 * }))
 * const senior = Agent.fromFunction("senior-reviewer", ["code_analysis"], () => ({ approved: false, comments: ["?"] }))
 *
 * const program = Engine.run(wf).pipe(Effect.provide(AgentRegistry.layer([reviewer, senior])))
 * // result.outputs.review: { readonly approved: boolean; readonly comments: ReadonlyArray<string> }
 * ```
 *
 * @since 0.1.0
 */
import type * as Breaker from "@troupe/core/Breaker"
import type * as Policy from "@troupe/core/Policy"
import * as Task from "@troupe/core/Task"
import type { Duration } from "effect"
import type * as Agent from "./Agent.ts"
import type * as AgentRegistry from "./AgentRegistry.ts"
import type * as Budget from "./Budget.ts"
import type * as Capability from "./Capability.ts"
import { retryingRetryable } from "./internal/agentCall.ts"
import type * as Internal from "./internal/agentTask.ts"
import { make as makeImpl, makeBreakers } from "./internal/agentTask.ts"
import type * as Skills from "./Skills.ts"

// -----------------------------------------------------------------------------
// Models
// -----------------------------------------------------------------------------

/**
 * Settings of a circuit breaker (see core `Breaker`): after `maxFailures` failures within `window` the
 * breaker opens; after `resetTimeout` one probe may run.
 *
 * @category models
 * @since 0.1.0
 */
export interface BreakerSettings {
  readonly maxFailures: number
  /** Default 1 minute. */
  readonly window?: Duration.Input | undefined
  readonly resetTimeout: Duration.Input
}

/**
 * A family of circuit breakers, one per agent: each agent of each registry gets its own breaker, made the
 * first time a task that uses the family routes to it. Share one family between tasks so that they
 * share the agents' breakers.
 *
 * @category models
 * @since 0.1.0
 */
export interface Breakers extends Internal.Breakers {
  readonly settings: BreakerSettings
  /** The breaker of an agent in a registry (the registry service value is the key). */
  readonly get: (registry: object, agent: string) => Breaker.Breaker
}

/**
 * What the `breaker` option takes: a shared family, or settings (the task then gets its own family).
 *
 * @category models
 * @since 0.1.0
 */
export type BreakerOption = Breakers | BreakerSettings

/**
 * A task's parameters: a record (shown in the Plan), or a function of the task's context (the workflow
 * input and its dependencies' outputs) computed when it runs.
 *
 * @category models
 * @since 0.1.0
 */
export type Parameters<Needs> =
  | Readonly<Record<string, unknown>>
  | ((ctx: Needs) => Readonly<Record<string, unknown>>)

/**
 * Options of an agent task. `C`: the required capabilities (checked against the built-in ones, or
 * against `capabilitySet`); `S`: the output schema; `Sk`: the skill names; `B`: the breaker option;
 * `Needs`: the context the `parameters` function reads.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options<C extends string, S, Sk extends ReadonlyArray<string>, B, Needs, K extends string>
  extends
    Omit<
      Task.Attributes,
      "description" | "capabilities" | "skills" | "agentType" | "parameters" | "retry" | "breaker" | "output"
    >
{
  /** What the agent is asked to do. */
  readonly description: string
  /** Capabilities the agent must all have. */
  readonly requires?: ReadonlyArray<C> | undefined
  /** Admits custom capabilities in `requires` (see `Capability.define`). */
  readonly capabilitySet?: Capability.CapabilitySet<K> | undefined
  /** Skills (SKILL.md) loaded and handed to the agent. */
  readonly skills?: Sk | undefined
  /** Run on this agent, bypassing capability routing. */
  readonly agentType?: string | undefined
  /** A task type of the registry's routing table (e.g. `"code_review"`), used when `requires` is empty. */
  readonly taskType?: string | undefined
  readonly parameters?: Parameters<Needs> | undefined
  /** The output's schema: the agent is asked for it and its output is decoded with it. */
  readonly output?: S | undefined
  /** Retry policy; applies to the agent's retryable failures only. */
  readonly retry?: Policy.Retry | undefined
  /** The agent type that runs the task when the retry policy gives up. */
  readonly fallbackAgent?: string | undefined
  /** A circuit breaker per agent. */
  readonly breaker?: B | undefined
  /**
   * A token and/or money budget for this task's agent calls, across its attempts (see `Budget`): when it
   * is spent the next call fails with `Budget.BudgetExceeded`. A limit that is not positive fails the
   * run's pre-run check with `Budget.InvalidBudget`.
   */
  readonly budget?: Budget.Limits | undefined
}

/**
 * The output type of an agent task: the schema's type, else `unknown`.
 *
 * @category type-level
 * @since 0.1.0
 */
export type Output<S> = S extends Agent.OutputSchema ? S["Type"] : unknown

/**
 * The errors of an agent task: the agent's, routing errors, a missing skill (when it has skills) and an
 * open circuit (when it has breakers).
 *
 * @category type-level
 * @since 0.1.0
 */
export type Error<Sk, B, Bu = undefined> =
  | Agent.AgentError
  | AgentRegistry.RoutingError
  | Budget.BudgetExceeded
  | ([Sk] extends [readonly []] ? never : Skills.SkillNotFound)
  | ([B] extends [undefined] ? never : Breaker.CircuitOpen)
  | ([Bu] extends [undefined] ? never : Budget.InvalidBudget)

/**
 * The services of an agent task: the registry, and the skills service when it has skills.
 *
 * @category type-level
 * @since 0.1.0
 */
export type Services<Sk> = AgentRegistry.AgentRegistry | ([Sk] extends [readonly []] ? never : Skills.Skills)

// -----------------------------------------------------------------------------
// Constructors
// -----------------------------------------------------------------------------

/**
 * An agent task (see the module documentation). `Agent.task` is the same function.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { Workflow } from "@troupe/core"
 * import { AgentTask } from "@troupe/agents"
 *
 * const Summary = Schema.Struct({ title: Schema.String, bullets: Schema.Array(Schema.String) })
 *
 * const wf = Workflow.make("docs", { input: Schema.Struct({ path: Schema.String }) })
 *   .task("summarise", AgentTask.make({
 *     description: "summarise the file",
 *     requires: ["documentation"],
 *     skills: ["house-style"],
 *     parameters: ({ input }: { readonly input: { readonly path: string } }) => ({ path: input.path }),
 *     output: Summary
 *   }))
 * // requires AgentRegistry and Skills; outputs.summarise is a Summary
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = <
  const C extends K = never,
  S extends Agent.OutputSchema | undefined = undefined,
  const Sk extends ReadonlyArray<string> = readonly [],
  B extends BreakerOption | undefined = undefined,
  Needs = unknown,
  K extends string = Capability.Builtin,
  Bu extends Budget.Limits | undefined = undefined
>(
  options: Options<C, S, Sk, B, Needs, K> & { readonly budget?: Bu }
): Task.Task<Output<S>, Error<Sk, B, Bu>, Services<Sk>, Needs> => makeImpl(options) as never

/**
 * A family of per-agent circuit breakers with these settings.
 *
 * @example
 * ```ts
 * import { AgentTask } from "@troupe/agents"
 *
 * const llmBreakers = AgentTask.breakers({ maxFailures: 3, window: "1 minute", resetTimeout: "30 seconds" })
 * const a = AgentTask.make({ description: "a", requires: ["research"], breaker: llmBreakers })
 * const b = AgentTask.make({ description: "b", requires: ["research"], breaker: llmBreakers })
 * // a and b share one breaker per agent
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const breakers = (settings: BreakerSettings): Breakers => makeBreakers(settings)

/**
 * A retry policy that retries only failures another attempt may fix: an `AgentError` with
 * `retryable: false`, a routing error and a missing skill never retry. Agent tasks and patterns apply it
 * to their `retry` option themselves.
 *
 * @category constructors
 * @since 0.1.0
 */
export const retryRetryable = (policy: Policy.Retry): Policy.Retry => retryingRetryable(policy)

// -----------------------------------------------------------------------------
// Guards
// -----------------------------------------------------------------------------

/**
 * Whether a value is an agent task (a task value whose type is `agent`).
 *
 * @category guards
 * @since 0.1.0
 */
export const isAgentTask = (u: unknown): u is Task.Task<unknown, unknown, unknown, never> =>
  Task.isTask(u) && u.taskType === "agent"
