/**
 * Agents as values.
 *
 * An agent has a name (its agent type), the capabilities it declares, a priority (1 to 10, higher is
 * preferred by routing), how many tasks it may run at once, and a `run` function from a request (task
 * description, parameters, dependency outputs, loaded skills, expected output schema, attempt number) to
 * an Effect of a response. Function agents and LLM agents are both agents; the `AgentRegistry` routes
 * tasks to them.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Agent } from "@troupe/agents"
 *
 * const reviewer = Agent.make({
 *   name: "reviewer",
 *   capabilities: ["code_analysis"],
 *   priority: 8,
 *   maxConcurrent: 2,
 *   run: (request) => Effect.succeed({ output: `reviewed: ${request.description}` })
 * })
 *
 * const echo = Agent.fromFunction("echo", ["general_purpose"], (request) => request.parameters)
 * ```
 *
 * @since 0.1.0
 */
import { Duration, Effect, Option, Schema } from "effect"
import { dual } from "effect/Function"
import type { Pipeable } from "effect/Pipeable"
import type * as Capability from "./Capability.ts"
import { build, TypeId } from "./internal/agent.ts"
import type { BudgetExceeded } from "./Budget.ts"
import type { Skill } from "./Skill.ts"

// -----------------------------------------------------------------------------
// Models
// -----------------------------------------------------------------------------


/**
 * The schema a task expects its output to decode with. Agents that produce structured output (LLM agents)
 * decode their answer with it; the engine decodes the output again either way.
 *
 * @category models
 * @since 0.1.0
 */
export type OutputSchema = Schema.Codec<unknown, unknown>

/**
 * What an agent is asked to do.
 *
 * @category models
 * @since 0.1.0
 */
export interface AgentRequest {
  readonly taskId: string
  readonly description: string
  readonly parameters: Readonly<Record<string, unknown>>
  /** Outputs of the task's dependencies, by task id. */
  readonly dependencies: Readonly<Record<string, unknown>>
  /** The task's required skills, loaded. */
  readonly skills: ReadonlyArray<Skill>
  /** The schema the output must decode with, when the task declares one. */
  readonly outputSchema?: OutputSchema | undefined
  /** The attempt number, from 1. */
  readonly attempt: number
  /**
   * What the task in which the agent runs wants to hear about (set by agent tasks; absent when an agent is
   * called directly). An agent that calls a model several times (an `LlmAgent` with tools) uses them per
   * call; others need not: their `usage` is counted when they answer.
   */
  readonly hooks?: AgentHooks | undefined
}

/**
 * A tool call an agent made, as reported to its task (a `ToolCalled` event).
 *
 * @category models
 * @since 0.1.0
 */
export interface ToolCallReport {
  readonly tool: string
  /** The id the model gave the call. */
  readonly callId: string
  /** The arguments as the model sent them. */
  readonly arguments: unknown
  readonly durationMs: number
  /** `error`: the error went back to the model; `fatal`: it failed the agent's run. */
  readonly outcome: "success" | "error" | "fatal"
  readonly message?: string | undefined
}

/**
 * Callbacks of the task an agent runs for (see `AgentRequest.hooks`).
 *
 * @category models
 * @since 0.1.0
 */
export interface AgentHooks {
  /** Before each model call: fails when a budget in force is spent. */
  readonly beforeModelCall: Effect.Effect<void, BudgetExceeded>
  /** After each model call, with its usage: counted toward budgets, reported as an `AgentUsage` event. */
  readonly modelCalled: (usage: Usage) => Effect.Effect<void>
  /** After each tool call: reported as a `ToolCalled` event. */
  readonly toolCalled: (report: ToolCallReport) => Effect.Effect<void>
  /** Streamed answer text: reported (coalesced) as `AgentText` events. */
  readonly text: (delta: string) => Effect.Effect<void>
}

/**
 * Token usage reported by an agent (LLM agents fill it in).
 *
 * @category models
 * @since 0.1.0
 */
export interface Usage {
  readonly inputTokens?: number | undefined
  readonly outputTokens?: number | undefined
  readonly totalTokens?: number | undefined
  /** Input tokens served from the provider's prompt cache (part of `inputTokens`). */
  readonly cachedTokens?: number | undefined
  /** The model that answered, when known (used to price the call). */
  readonly model?: string | undefined
}

/**
 * What an agent answers: the output (decoded by the task's schema when it has one), optionally the raw
 * text and token usage.
 *
 * @category models
 * @since 0.1.0
 */
export interface AgentResponse {
  readonly output: unknown
  readonly text?: string | undefined
  readonly usage?: Usage | undefined
}

/**
 * An agent. `C` is the union of its capabilities, `E` and `R` the errors and services of `run`.
 *
 * @category models
 * @since 0.1.0
 */
export interface Agent<out C extends string = Capability.Builtin, out E = never, out R = never> extends Pipeable {
  readonly [TypeId]: typeof TypeId
  /** The agent type: unique within a registry, used by tasks that name their agent explicitly. */
  readonly name: string
  readonly description?: string | undefined
  readonly capabilities: ReadonlyArray<C>
  /** 1 to 10; routing prefers higher. */
  readonly priority: number
  /** How many tasks the agent runs at once; routing waits rather than exceed it. */
  readonly maxConcurrent: number
  readonly run: (request: AgentRequest) => Effect.Effect<AgentResponse, E, R>
}

/**
 * Any agent, whatever its capabilities, errors and services.
 *
 * @category models
 * @since 0.1.0
 */
export type Any = Agent<string, unknown, unknown>

/**
 * The services an agent's `run` needs.
 *
 * @category models
 * @since 0.1.0
 */
export type Services<A> = A extends Agent<string, unknown, infer R> ? R : never

/**
 * The errors an agent's `run` may fail with.
 *
 * @category models
 * @since 0.1.0
 */
export type Error<A> = A extends Agent<string, infer E, unknown> ? E : never

/**
 * The capabilities of an agent.
 *
 * @category models
 * @since 0.1.0
 */
export type Capabilities<A> = A extends Agent<infer C, unknown, unknown> ? C : never

// -----------------------------------------------------------------------------
// Errors
// -----------------------------------------------------------------------------

/**
 * An agent failed. `retryable` tells retry policies whether another attempt may succeed;
 * `retryAfterMs` is the delay a rate limit asked for (an HTTP `Retry-After`), which a retry waits at least.
 *
 * @example
 * ```ts
 * import { Agent } from "@troupe/agents"
 *
 * new Agent.AgentError({ agent: "writer", reason: "rate limited", retryable: true, retryAfterMs: 2000 })
 * ```
 *
 * @category errors
 * @since 0.1.0
 */
export class AgentError extends Schema.TaggedError<AgentError>()("AgentError", {
  /** The agent's name. */
  agent: Schema.String,
  reason: Schema.String,
  retryable: Schema.Boolean,
  retryAfterMs: Schema.optional(Schema.Number),
  cause: Schema.optional(Schema.Defect())
}) {
  override get message(): string {
    const after = this.retryAfterMs === undefined ? "" : ` (retry after ${this.retryAfterMs} ms)`
    return `Agent "${this.agent}" failed: ${this.reason}${after}`
  }
}

/**
 * Whether a value is an `AgentError`.
 *
 * @category guards
 * @since 0.1.0
 */
export const isAgentError = (u: unknown): u is AgentError =>
  typeof u === "object" && u !== null && "_tag" in u && u._tag === "AgentError"

const retryableField = (u: unknown): boolean | undefined =>
  typeof u === "object" && u !== null && "retryable" in u && typeof u.retryable === "boolean"
    ? u.retryable
    : undefined

const retryAfterField = (u: unknown): number | undefined =>
  typeof u === "object" && u !== null && "retryAfterMs" in u && typeof u.retryAfterMs === "number"
    ? u.retryAfterMs
    : undefined

/**
 * Whether a failure may succeed on another attempt: an error with a boolean `retryable` field (such as
 * `AgentError`) says so itself; any other failure is treated as retryable (so a task's retry policy
 * applies to it as to any task).
 *
 * @category guards
 * @since 0.1.0
 */
export const isRetryable = (error: unknown): boolean => retryableField(error) ?? true

/**
 * The delay a failure asks for before the next attempt (a rate limit's `Retry-After`, in the error's
 * `retryAfterMs` field), if any.
 *
 * @category combinators
 * @since 0.1.0
 */
export const retryAfter = (error: unknown): Option.Option<Duration.Duration> => {
  const ms = retryAfterField(error)
  return ms === undefined ? Option.none() : Option.some(Duration.millis(ms))
}

const describe = (u: unknown): string => {
  if (u instanceof globalThis.Error) return u.message
  if (typeof u === "object" && u !== null) {
    if ("message" in u && typeof u.message === "string") return u.message
    if ("_tag" in u && typeof u._tag === "string") return u._tag
  }
  return String(u)
}

/**
 * Turns any failure of the agent named `agent` into an `AgentError`: an `AgentError` is kept as it is;
 * anything else becomes an `AgentError` whose `cause` is the original failure, retryable as `isRetryable`
 * says, keeping its `retryAfterMs` if it has one.
 *
 * @category combinators
 * @since 0.1.0
 */
export const toAgentError = (agent: string, error: unknown): AgentError => {
  if (isAgentError(error)) return error
  const retryAfterMs = retryAfterField(error)
  return new AgentError({
    agent,
    reason: describe(error),
    retryable: isRetryable(error),
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    cause: error
  })
}

// -----------------------------------------------------------------------------
// Constructors
// -----------------------------------------------------------------------------

/**
 * Options shared by the agent constructors.
 *
 * `capabilitySet` admits custom capabilities: pass the set made by `Capability.define` and the
 * capabilities are checked against it (without it, only the built-in ones type-check).
 *
 * @category models
 * @since 0.1.0
 */
export interface Options<K extends string> {
  readonly capabilitySet?: Capability.CapabilitySet<K> | undefined
  /** 1 to 10, default 5. */
  readonly priority?: number | undefined
  /** Default 1. */
  readonly maxConcurrent?: number | undefined
  readonly description?: string | undefined
}

/**
 * Makes an agent. Throws a `RangeError` for an empty name, a priority outside 1..10 or a `maxConcurrent`
 * that is not a positive integer (these are mistakes in the program, found when it starts).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Agent, Capability } from "@troupe/agents"
 *
 * const Caps = Capability.define(["translation"] as const)
 * const translator = Agent.make({
 *   name: "translator",
 *   capabilities: ["translation", "general_purpose"],
 *   capabilitySet: Caps,
 *   run: (request) => Effect.succeed({ output: request.description.toUpperCase() })
 * })
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = <const C extends K, E = never, R = never, K extends string = Capability.Builtin>(
  options: Options<K> & {
    readonly name: string
    readonly capabilities: ReadonlyArray<C>
    readonly run: (request: AgentRequest) => Effect.Effect<AgentResponse, E, R>
  }
): Agent<C, E, R> =>
  build({
    name: options.name,
    description: options.description,
    capabilities: options.capabilities,
    priority: options.priority ?? 5,
    maxConcurrent: options.maxConcurrent ?? 1,
    run: options.run
  })

/**
 * Makes an agent from a function of the request. The function returns the output, or an Effect of it;
 * a string output is also the response's `text`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Agent } from "@troupe/agents"
 *
 * const summariser = Agent.fromFunction(
 *   "summariser",
 *   ["documentation", "research"],
 *   (request) => Effect.succeed(`summary of ${Object.keys(request.dependencies).join(", ")}`),
 *   { priority: 7, maxConcurrent: 4 }
 * )
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const fromFunction: {
  <const C extends K, A, E = never, R = never, K extends string = Capability.Builtin>(
    name: string,
    capabilities: ReadonlyArray<C>,
    f: (request: AgentRequest) => Effect.Effect<A, E, R>,
    options?: Options<K>
  ): Agent<C, E, R>
  <const C extends K, A, K extends string = Capability.Builtin>(
    name: string,
    capabilities: ReadonlyArray<C>,
    f: (request: AgentRequest) => A,
    options?: Options<K>
  ): Agent<C>
} = (<C extends string, K extends string>(
  name: string,
  capabilities: ReadonlyArray<C>,
  f: (request: AgentRequest) => unknown,
  options?: Options<K>
): Agent<C, unknown, unknown> =>
  build({
    name,
    description: options?.description,
    capabilities,
    priority: options?.priority ?? 5,
    maxConcurrent: options?.maxConcurrent ?? 1,
    run: (request) =>
      Effect.suspend(() => {
        const result = f(request)
        return Effect.isEffect(result) ? result : Effect.succeed(result)
      }).pipe(Effect.map(toResponse))
  })) as never // the overloads give the precise error and service types of `f`

const toResponse = (output: unknown): AgentResponse =>
  typeof output === "string" ? { output, text: output } : { output }


// -----------------------------------------------------------------------------
// Guards
// -----------------------------------------------------------------------------

/**
 * @category guards
 * @since 0.1.0
 */
export const isAgent = (u: unknown): u is Any => typeof u === "object" && u !== null && TypeId in u

// -----------------------------------------------------------------------------
// Combinators
// -----------------------------------------------------------------------------

/**
 * Whether the agent has every capability of `required`.
 *
 * @category combinators
 * @since 0.1.0
 */
export const covers = (agent: Any, required: ReadonlyArray<string>): boolean =>
  required.every((c) => (agent.capabilities as ReadonlyArray<string>).includes(c))

/**
 * The same agent with another priority.
 *
 * @category combinators
 * @since 0.1.0
 */
export const withPriority: {
  (priority: number): <C extends string, E, R>(self: Agent<C, E, R>) => Agent<C, E, R>
  <C extends string, E, R>(self: Agent<C, E, R>, priority: number): Agent<C, E, R>
} = dual(
  2,
  <C extends string, E, R>(self: Agent<C, E, R>, priority: number): Agent<C, E, R> =>
    build({ ...fieldsOf(self), priority })
)

/**
 * The same agent with another concurrency limit.
 *
 * @category combinators
 * @since 0.1.0
 */
export const withMaxConcurrent: {
  (maxConcurrent: number): <C extends string, E, R>(self: Agent<C, E, R>) => Agent<C, E, R>
  <C extends string, E, R>(self: Agent<C, E, R>, maxConcurrent: number): Agent<C, E, R>
} = dual(
  2,
  <C extends string, E, R>(self: Agent<C, E, R>, maxConcurrent: number): Agent<C, E, R> =>
    build({ ...fieldsOf(self), maxConcurrent })
)

/**
 * The same agent whose failures are all `AgentError`s (see `toAgentError`).
 *
 * @category combinators
 * @since 0.1.0
 */
export const normalizeErrors = <C extends string, E, R>(self: Agent<C, E, R>): Agent<C, AgentError, R> =>
  build({
    ...fieldsOf(self),
    run: (request) => Effect.mapError(self.run(request), (e) => toAgentError(self.name, e))
  })

const fieldsOf = <C extends string, E, R>(self: Agent<C, E, R>) => ({
  name: self.name,
  description: self.description,
  capabilities: self.capabilities,
  priority: self.priority,
  maxConcurrent: self.maxConcurrent,
  run: self.run
})
