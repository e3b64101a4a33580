/**
 * The agent registry: which agents exist, and which one runs a task.
 *
 * Routing, for a task's requirement:
 * 1. an explicit agent type wins (an unknown type is an `UnknownAgent` error listing the registered agents);
 * 2. otherwise the required capabilities are the task's own, or, when it lists none, the routing table's
 *    entry for its task type (`defaultRouting` plus custom entries); the candidates are the agents that
 *    have all of them (none is a `NoMatchingAgent` error listing each agent with its capabilities);
 * 3. among the candidates with a free slot: highest priority first, then least loaded (fewest running
 *    tasks), then registration order. When every candidate is at its `maxConcurrent`, the task waits
 *    until one of them frees a slot: an agent's limit is never exceeded.
 *
 * `acquire` returns a lease on the chosen agent for the lifetime of the current `Scope`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Agent, AgentRegistry } from "@troupe/agents"
 *
 * const coder = Agent.fromFunction("coder", ["code_generation"], (req) => `code for ${req.description}`)
 * const reviewer = Agent.fromFunction("reviewer", ["code_analysis"], (req) => `review of ${req.description}`)
 *
 * const program = Effect.gen(function*() {
 *   const registry = yield* AgentRegistry.AgentRegistry
 *   const { agent, response } = yield* registry.run(
 *     { taskType: "code_review" },
 *     { taskId: "review", description: "PR 42", parameters: {}, dependencies: {}, skills: [], attempt: 1 }
 *   )
 *   return `${agent}: ${response.output}` // "reviewer: review of PR 42"
 * }).pipe(Effect.provide(AgentRegistry.layer([coder, reviewer])))
 * ```
 *
 * @since 0.1.0
 */
import { Context, Deferred, Effect, Layer, Option, Schema, Scope, Semaphore } from "effect"
import * as Agent from "./Agent.ts"
import type * as Capability from "./Capability.ts"
import { build } from "./internal/agent.ts"

// -----------------------------------------------------------------------------
// Models
// -----------------------------------------------------------------------------

/**
 * What a task asks of the registry.
 *
 * @category models
 * @since 0.1.0
 */
export interface Requirement {
  /** The task's id, for error messages. */
  readonly taskId?: string | undefined
  /** An explicit agent type: routing picks exactly this agent. */
  readonly agentType?: string | undefined
  /** Capabilities the agent must all have. */
  readonly capabilities?: ReadonlyArray<string> | undefined
  /** The task type, looked up in the routing table when `capabilities` is empty. */
  readonly taskType?: string | undefined
}

/**
 * A routing table: task type to the capabilities a task of that type requires.
 *
 * @category models
 * @since 0.1.0
 */
export type Routing = Readonly<Record<string, ReadonlyArray<string>>>

/**
 * An agent as the registry holds it: its services are provided and its failures are `AgentError`s.
 *
 * @category models
 * @since 0.1.0
 */
export type RegisteredAgent = Agent.Agent<string, Agent.AgentError, never>

/**
 * A lease on an agent: one of its `maxConcurrent` slots, held until the scope closes.
 *
 * @category models
 * @since 0.1.0
 */
export interface Lease {
  readonly agent: RegisteredAgent
}

/**
 * The result of `AgentRegistry.run`: the name of the agent that ran the request, and its response.
 *
 * @category models
 * @since 0.1.0
 */
export interface RunResult {
  readonly agent: string
  readonly response: Agent.AgentResponse
}

/**
 * An agent and how many tasks it is running.
 *
 * @category models
 * @since 0.1.0
 */
export interface AgentLoad {
  readonly name: string
  readonly capabilities: ReadonlyArray<string>
  readonly priority: number
  readonly maxConcurrent: number
  readonly running: number
}

/**
 * Options of the registry layers.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options {
  /** Entries added to `defaultRouting` (an entry for an existing task type replaces it). */
  readonly routing?: Routing | undefined
  /** Start from an empty routing table instead of `defaultRouting`. */
  readonly replaceDefaultRouting?: boolean | undefined
}

// -----------------------------------------------------------------------------
// Errors
// -----------------------------------------------------------------------------

const AgentSummary = Schema.Struct({
  name: Schema.String,
  capabilities: Schema.Array(Schema.String)
})

const taskSuffix = (taskId: string | undefined): string => taskId === undefined ? "" : ` by task "${taskId}"`

/**
 * No registered agent has all the required capabilities.
 *
 * @category errors
 * @since 0.1.0
 */
export class NoMatchingAgent extends Schema.TaggedError<NoMatchingAgent>()("NoMatchingAgent", {
  taskId: Schema.optional(Schema.String),
  required: Schema.Array(Schema.String),
  /** Every registered agent, with its capabilities. */
  agents: Schema.Array(AgentSummary)
}) {
  override get message(): string {
    const agents = this.agents.length === 0
      ? "none"
      : this.agents.map((a) => `${a.name} [${a.capabilities.join(", ")}]`).join(", ")
    return `No agent has all the capabilities [${this.required.join(", ")}] required${
      taskSuffix(this.taskId)
    }. Registered agents: ${agents}`
  }
}

/**
 * A task names an agent type that is not registered.
 *
 * @category errors
 * @since 0.1.0
 */
export class UnknownAgent extends Schema.TaggedError<UnknownAgent>()("UnknownAgent", {
  taskId: Schema.optional(Schema.String),
  agentType: Schema.String,
  /** The names of the registered agents. */
  agents: Schema.Array(Schema.String)
}) {
  override get message(): string {
    return `Agent type "${this.agentType}" required${taskSuffix(this.taskId)} is not registered. Registered agents: [${
      this.agents.join(", ")
    }]`
  }
}

/**
 * Two agents with one name.
 *
 * @category errors
 * @since 0.1.0
 */
export class DuplicateAgent extends Schema.TaggedError<DuplicateAgent>()("DuplicateAgent", {
  name: Schema.String
}) {
  override get message(): string {
    return `Agent "${this.name}" is registered twice`
  }
}

/**
 * Why a requirement cannot be routed.
 *
 * @category errors
 * @since 0.1.0
 */
export type RoutingError = NoMatchingAgent | UnknownAgent

/**
 * @category guards
 * @since 0.1.0
 */
export const isRoutingError = (u: unknown): u is RoutingError =>
  typeof u === "object" && u !== null && "_tag" in u && (u._tag === "NoMatchingAgent" || u._tag === "UnknownAgent")

// -----------------------------------------------------------------------------
// Routing table
// -----------------------------------------------------------------------------

/**
 * The default routing table, after the seeds' `create_default_routing()`: common task types to the
 * built-in capabilities they require. Custom entries (`Options.routing`) are added to it.
 *
 * @category constants
 * @since 0.1.0
 */
export const defaultRouting: Readonly<Record<string, ReadonlyArray<Capability.Builtin>>> = Object.freeze({
  general: ["general_purpose"],
  general_purpose: ["general_purpose"],
  code_review: ["code_analysis"],
  code_analysis: ["code_analysis"],
  analysis: ["code_analysis"],
  code_generation: ["code_generation"],
  implementation: ["code_generation"],
  refactoring: ["code_analysis", "code_generation"],
  testing: ["testing"],
  test: ["testing"],
  debugging: ["debugging"],
  bug_fix: ["debugging"],
  documentation: ["documentation"],
  docs: ["documentation"],
  data_processing: ["data_processing"],
  etl: ["data_processing"],
  file_operations: ["file_operations"],
  api_integration: ["api_integration"],
  research: ["research"]
})

/**
 * The capabilities a requirement asks for: its own when it lists any, else the routing table's entry for
 * its task type, else none (any agent fits). Duplicates are dropped.
 *
 * @category combinators
 * @since 0.1.0
 */
export const requiredCapabilities = (routing: Routing, requirement: Requirement): ReadonlyArray<string> => {
  const own = requirement.capabilities ?? []
  if (own.length > 0) return [...new Set(own)]
  if (requirement.taskType !== undefined && Object.hasOwn(routing, requirement.taskType)) {
    return [...new Set(routing[requirement.taskType])]
  }
  return []
}

// -----------------------------------------------------------------------------
// Service
// -----------------------------------------------------------------------------

/**
 * The registry service.
 *
 * @category services
 * @since 0.1.0
 */
export class AgentRegistry extends Context.Service<AgentRegistry, {
  /** The registered agents, in registration order. */
  readonly agents: Effect.Effect<ReadonlyArray<RegisteredAgent>>
  /** The routing table in use. */
  readonly routing: Routing
  /** Adds an agent (its services are captured now). Waiting tasks reconsider their candidates. */
  readonly register: <C extends string, E, R>(agent: Agent.Agent<C, E, R>) => Effect.Effect<void, DuplicateAgent, R>
  /** The agents a requirement may run on, best first, ignoring their load. */
  readonly candidates: (requirement: Requirement) => Effect.Effect<ReadonlyArray<RegisteredAgent>, RoutingError>
  /** Fails like `acquire` would, without acquiring: to reject a workflow before it runs. */
  readonly check: (requirements: Iterable<Requirement>) => Effect.Effect<void, RoutingError>
  /** Chooses an agent with a free slot (waiting for one if all candidates are busy) and holds the slot. */
  readonly acquire: (requirement: Requirement) => Effect.Effect<Lease, RoutingError, Scope.Scope>
  /** Acquires an agent, runs the request on it and releases the slot. */
  readonly run: (
    requirement: Requirement,
    request: Agent.AgentRequest
  ) => Effect.Effect<RunResult, RoutingError | Agent.AgentError>
  /** Each agent with its running task count. */
  readonly load: Effect.Effect<ReadonlyArray<AgentLoad>>
}>()("@troupe/agents/AgentRegistry") {}

interface Entry {
  readonly agent: RegisteredAgent
  readonly index: number
  readonly permits: Semaphore.Semaphore
  running: number
}

const byPreference = (a: Entry, b: Entry): number =>
  b.agent.priority - a.agent.priority || a.running - b.running || a.index - b.index

const byRank = (a: Entry, b: Entry): number => b.agent.priority - a.agent.priority || a.index - b.index

const summaries = (entries: ReadonlyArray<Entry>) =>
  entries.map((e) => ({ name: e.agent.name, capabilities: [...e.agent.capabilities] }))

/**
 * Makes a registry service (the layers use it; so can tests that build services by hand).
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = Effect.fnUntraced(function*(options?: Options) {
  const routing: Routing = Object.freeze({
    ...(options?.replaceDefaultRouting === true ? {} : defaultRouting),
    ...options?.routing
  })
  const entries: Array<Entry> = []
  let nextIndex = 0
  // Completed (and replaced) whenever a slot frees or an agent is added: waiting acquirers then retry.
  let changed = Deferred.makeUnsafe<void>()

  const signal = Effect.suspend(() => {
    const previous = changed
    changed = Deferred.makeUnsafe<void>()
    return Deferred.succeed(previous, undefined)
  })

  const register = <C extends string, E, R>(agent: Agent.Agent<C, E, R>): Effect.Effect<void, DuplicateAgent, R> =>
    Effect.gen(function*() {
      const context = yield* Effect.context<R>()
      if (entries.some((e) => e.agent.name === agent.name)) {
        return yield* new DuplicateAgent({ name: agent.name })
      }
      const normalized = Agent.normalizeErrors(agent)
      const registered: RegisteredAgent = build({
        name: agent.name,
        description: agent.description,
        capabilities: agent.capabilities,
        priority: agent.priority,
        maxConcurrent: agent.maxConcurrent,
        run: (request) => Effect.provideContext(normalized.run(request), context)
      })
      entries.push({
        agent: registered,
        index: nextIndex++,
        permits: Semaphore.makeUnsafe(agent.maxConcurrent),
        running: 0
      })
      yield* signal
    })

  const resolve = (requirement: Requirement): Effect.Effect<ReadonlyArray<Entry>, RoutingError> =>
    Effect.suspend((): Effect.Effect<ReadonlyArray<Entry>, RoutingError> => {
      if (requirement.agentType !== undefined) {
        const entry = entries.find((e) => e.agent.name === requirement.agentType)
        return entry === undefined
          ? Effect.fail(
            new UnknownAgent({
              taskId: requirement.taskId,
              agentType: requirement.agentType,
              agents: entries.map((e) => e.agent.name)
            })
          )
          : Effect.succeed([entry])
      }
      const required = requiredCapabilities(routing, requirement)
      const found = entries.filter((e) => Agent.covers(e.agent, required))
      return found.length === 0
        ? Effect.fail(new NoMatchingAgent({ taskId: requirement.taskId, required, agents: summaries(entries) }))
        : Effect.succeed(found)
    })

  const release = (entry: Entry) =>
    Effect.suspend(() => {
      entry.running--
      return Effect.andThen(entry.permits.release(1), signal)
    })

  // Takes a slot of the best candidate with a free one, and registers its release in the scope, in one
  // uninterruptible step.
  const tryTake = (candidates: ReadonlyArray<Entry>) =>
    Effect.uninterruptible(Effect.gen(function*() {
      for (const entry of [...candidates].sort(byPreference)) {
        if (yield* entry.permits.takeIfAvailable(1)) {
          entry.running++
          yield* Effect.addFinalizer(() => release(entry))
          return Option.some<Lease>({ agent: entry.agent })
        }
      }
      return Option.none<Lease>()
    }))

  const acquire = (requirement: Requirement): Effect.Effect<Lease, RoutingError, Scope.Scope> =>
    Effect.gen(function*() {
      while (true) {
        // Read the signal before looking: a slot freed after this point completes it, so no wake-up is lost.
        const wake = changed
        const candidates = yield* resolve(requirement)
        const lease = yield* tryTake(candidates)
        if (Option.isSome(lease)) return lease.value
        yield* Deferred.await(wake)
      }
    })

  return AgentRegistry.of({
    agents: Effect.sync(() => entries.map((e) => e.agent)),
    routing,
    register,
    candidates: (requirement) =>
      Effect.map(resolve(requirement), (found) => [...found].sort(byRank).map((e) => e.agent)),
    check: (requirements) =>
      Effect.forEach(requirements, (requirement) => resolve(requirement), { discard: true }),
    acquire,
    run: (requirement, request) =>
      Effect.scoped(Effect.gen(function*() {
        const lease = yield* acquire(requirement)
        const response = yield* lease.agent.run(request)
        return { agent: lease.agent.name, response }
      })),
    load: Effect.sync(() =>
      entries.map((e) => ({
        name: e.agent.name,
        capabilities: e.agent.capabilities,
        priority: e.agent.priority,
        maxConcurrent: e.agent.maxConcurrent,
        running: e.running
      }))
    )
  })
})

// -----------------------------------------------------------------------------
// Layers
// -----------------------------------------------------------------------------

/**
 * A registry of the given agents, in this order (the order breaks ties). The layer needs the services
 * the agents need, and fails with `DuplicateAgent` when two agents share a name.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = <const Agents extends ReadonlyArray<Agent.Any>>(
  agents: Agents,
  options?: Options
): Layer.Layer<AgentRegistry, DuplicateAgent, Agent.Services<Agents[number]>> =>
  Layer.effect(
    AgentRegistry,
    Effect.gen(function*() {
      const registry = yield* make(options)
      for (const agent of agents) {
        // `Agent.Any` erases the services type; the layer's own requirement restores it.
        yield* registry.register(agent as Agent.Agent<string, unknown, Agent.Services<Agents[number]>>)
      }
      return registry
    })
  )

/**
 * A registry with no agents (add some with `register`).
 *
 * @category layers
 * @since 0.1.0
 */
export const layerEmpty: Layer.Layer<AgentRegistry> = Layer.effect(AgentRegistry, make())

// -----------------------------------------------------------------------------
// Accessors
// -----------------------------------------------------------------------------

/**
 * Acquires a lease from the registry in context.
 *
 * @category accessors
 * @since 0.1.0
 */
export const acquire = (requirement: Requirement): Effect.Effect<Lease, RoutingError, AgentRegistry | Scope.Scope> =>
  AgentRegistry.use((registry) => registry.acquire(requirement))

/**
 * Checks requirements against the registry in context.
 *
 * @category accessors
 * @since 0.1.0
 */
export const check = (requirements: Iterable<Requirement>): Effect.Effect<void, RoutingError, AgentRegistry> =>
  AgentRegistry.use((registry) => registry.check(requirements))
