/**
 * The implementation of agent tasks (see `AgentTask.ts` for the documented API).
 *
 * @internal
 */
import type { PlanNode } from "@troupe/core/Plan"
import * as Policy from "@troupe/core/Policy"
import * as Task from "@troupe/core/Task"
import { Effect } from "effect"
import type * as Agent from "../Agent.ts"
import * as AgentRegistry from "../AgentRegistry.ts"
import * as Budget from "../Budget.ts"
import type * as Breaker from "@troupe/core/Breaker"
import {
  callAgent,
  decodeOutput,
  dependenciesOf,
  loadSkills,
  makeFamily,
  resolveParameters,
  retryingRetryable,
  staticParameters
} from "./agentCall.ts"

/** @internal */
export const BreakersTypeId = "~@troupe/agents/AgentTask/Breakers" as const

/** Settings of a per-agent breaker (documented on `AgentTask.BreakerSettings`). @internal */
export interface BreakerSettings {
  readonly maxFailures: number
  readonly window?: import("effect").Duration.Input | undefined
  readonly resetTimeout: import("effect").Duration.Input
}

/** A family of per-agent breakers (documented on `AgentTask.Breakers`). @internal */
export interface Breakers {
  readonly [BreakersTypeId]: typeof BreakersTypeId
  readonly settings: BreakerSettings
  readonly get: (registry: object, agent: string) => Breaker.Breaker
}

/** @internal */
export type BreakerOption = Breakers | BreakerSettings

/** The options the implementation reads (`AgentTask.Options` is the documented, typed form). @internal */
export interface Options<Needs> extends Omit<Task.Attributes, "description" | "capabilities" | "skills" | "agentType" | "parameters" | "retry" | "breaker" | "output"> {
  readonly description: string
  readonly requires?: ReadonlyArray<string> | undefined
  readonly capabilitySet?: unknown
  readonly skills?: ReadonlyArray<string> | undefined
  readonly agentType?: string | undefined
  readonly taskType?: string | undefined
  readonly parameters?: Readonly<Record<string, unknown>> | ((ctx: Needs) => Readonly<Record<string, unknown>>) | undefined
  readonly output?: Agent.OutputSchema | undefined
  readonly retry?: Policy.Retry | undefined
  readonly fallbackAgent?: string | undefined
  readonly breaker?: BreakerOption | undefined
  readonly budget?: Budget.Limits | undefined
}

/** @internal */
export const makeBreakers = (settings: BreakerSettings): Breakers => {
  const family = makeFamily(settings)
  return Object.freeze({ [BreakersTypeId]: BreakersTypeId, settings, get: family.get })
}

/** The breaker family of a `breaker` option: the shared one, or a new one for settings. @internal */
export const familyOf = (option: BreakerOption | undefined): Breakers | undefined =>
  option === undefined ? undefined : BreakersTypeId in option ? option : makeBreakers(option)

/** Hooks used by patterns that build agent tasks. @internal */
export interface Hooks<Needs> {
  /** What the agent sees as the outputs of dependencies (default: the context without `input`). */
  readonly dependencies?: ((ctx: Needs) => Readonly<Record<string, unknown>>) | undefined
}

/** @internal */
export const requirementOf = (node: PlanNode, taskType: string | undefined): AgentRegistry.Requirement => ({
  taskId: node.id,
  agentType: node.agentType,
  capabilities: node.capabilities,
  taskType
})

/** @internal */
export const make = <Needs>(
  options: Options<Needs>,
  hooks?: Hooks<Needs>
): Task.Task<unknown, unknown, unknown, Needs> => {
  const {
    description,
    requires,
    capabilitySet: _capabilitySet,
    skills,
    agentType,
    taskType,
    parameters,
    output,
    retry: userRetry,
    fallbackAgent,
    breaker,
    budget,
    ...attributes
  } = options
  const invalidBudget = budget === undefined ? undefined : Budget.validate(`task ${description}`, budget)
  // The task's budget, per run: its ledger lives from the first attempt to the end of the run.
  const ledgers = new Map<string, Budget.Ledger>()
  const ledgerFor = (info: Task.TaskInfo): Budget.Ledger | undefined => {
    if (budget === undefined) return undefined
    const key = `${info.runId}\u0000${info.path}`
    let ledger = ledgers.get(key)
    if (ledger === undefined || info.attempt === 1) {
      ledger = Budget.ledger(`task ${info.node.id}`, budget)
      ledgers.set(key, ledger)
    }
    return ledger
  }
  const retry = userRetry === undefined ? undefined : retryingRetryable(userRetry)
  const family = familyOf(breaker)
  const withRules = retry !== undefined && retry.rules !== undefined && retry.rules.length > 0
  // Retries made per rule, by run and task, when the policy has rules (see `exhausted`).
  const ledger = new Map<string, Array<number>>()

  /**
   * Whether the engine will give up after this failure: the same decision it makes with the same policy.
   * Without rules the retries made so far are `attempt - 1`; with rules they are counted here.
   */
  const exhausted = (error: unknown, info: Task.TaskInfo): boolean => {
    if (retry === undefined) return true
    if (!withRules) return Policy.decide(retry, error, [info.attempt - 1], 0)._tag === "Stop"
    const key = `${info.runId}\u0000${info.node.id}`
    if (info.attempt === 1) ledger.delete(key)
    const counts = ledger.get(key) ?? []
    const decision = Policy.decide(retry, error, counts, 0)
    if (decision._tag === "Stop") {
      ledger.delete(key)
      return true
    }
    counts[decision.rule] = (counts[decision.rule] ?? 0) + 1
    ledger.set(key, counts)
    return false
  }

  const run = (ctx: Needs, info: Task.TaskInfo) =>
    Effect.gen(function*() {
      const registry = yield* AgentRegistry.AgentRegistry
      const node = info.node
      const loaded = yield* loadSkills(node.skills)
      const request: Agent.AgentRequest = {
        taskId: node.id,
        description: node.description.length > 0 ? node.description : description,
        parameters: yield* resolveParameters(node.parameters, parameters, ctx),
        dependencies: hooks?.dependencies !== undefined ? hooks.dependencies(ctx) : dependenciesOf(ctx),
        skills: loaded,
        attempt: info.attempt,
        ...(output === undefined ? {} : { outputSchema: output })
      }
      if (invalidBudget !== undefined) return yield* invalidBudget
      const channel = { info, budget: ledgerFor(info) }
      const on = (requirement: AgentRegistry.Requirement) =>
        callAgent(registry, requirement, request, family, info.breakerChanged, channel).pipe(
          Effect.flatMap(({ agent, response }) =>
            output === undefined ? Effect.succeed(response.output) : decodeOutput(output, agent, node.id, response.output)
          )
        )
      const primary = on(requirementOf(node, taskType))
      if (fallbackAgent === undefined) return yield* primary
      return yield* primary.pipe(
        Effect.tap(() => withRules ? Effect.sync(() => ledger.delete(`${info.runId}\u0000${node.id}`)) : Effect.void),
        Effect.catch((error) =>
          exhausted(error, info) ? on({ taskId: node.id, agentType: fallbackAgent }) : Effect.fail(error)
        )
      )
    })

  const check = (node: PlanNode) =>
    Effect.gen(function*() {
      if (invalidBudget !== undefined) return yield* invalidBudget
      const registry = yield* AgentRegistry.AgentRegistry
      yield* registry.check([
        requirementOf(node, taskType),
        ...(fallbackAgent === undefined ? [] : [{ taskId: node.id, agentType: fallbackAgent }])
      ])
      yield* loadSkills(node.skills)
    })

  const fixed = staticParameters(parameters)
  return {
    [Task.TypeId]: Task.TypeId,
    taskType: "agent",
    attributes: {
      ...attributes,
      description,
      ...(requires === undefined ? {} : { capabilities: requires }),
      ...(skills === undefined ? {} : { skills }),
      ...(agentType === undefined ? {} : { agentType }),
      ...(fixed === undefined ? {} : { parameters: fixed }),
      ...(retry === undefined ? {} : { retry }),
      metadata: {
        ...attributes.metadata,
        ...(taskType === undefined ? {} : { taskType }),
        ...(fallbackAgent === undefined ? {} : { fallbackAgent })
      }
    },
    run,
    check
  }
}
