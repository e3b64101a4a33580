/**
 * Running one request on a routed agent: skills, per-agent circuit breakers, output decoding. Shared by
 * `AgentTask` and `Patterns`.
 *
 * @internal
 */
import * as Breaker from "@troupe/core/Breaker"
import * as Policy from "@troupe/core/Policy"
import type { TaskReport } from "@troupe/core/RunEvent"
import type * as Task from "@troupe/core/Task"
import { Cause, Clock, type Duration, Effect, Exit, Option, Schema } from "effect"
import * as Agent from "../Agent.ts"
import type * as AgentRegistry from "../AgentRegistry.ts"
import * as Budget from "../Budget.ts"
import type { Skill } from "../Skill.ts"
import * as Skills from "../Skills.ts"

/** A family of circuit breakers, one per agent (and per registry). @internal */
export interface BreakerFamily {
  readonly get: (registry: object, agent: string) => Breaker.Breaker
}

/** Settings of a per-agent breaker. @internal */
export interface BreakerSettings {
  readonly maxFailures: number
  readonly window?: Duration.Input | undefined
  readonly resetTimeout: Duration.Input
}

/** A breaker family: each agent of each registry gets its own breaker, made on first use. @internal */
export const makeFamily = (settings: BreakerSettings): BreakerFamily => {
  const byRegistry = new WeakMap<object, Map<string, Breaker.Breaker>>()
  return {
    get: (registry, agent) => {
      let byAgent = byRegistry.get(registry)
      if (byAgent === undefined) {
        byAgent = new Map()
        byRegistry.set(registry, byAgent)
      }
      let breaker = byAgent.get(agent)
      if (breaker === undefined) {
        breaker = Breaker.make({
          name: agent,
          maxFailures: settings.maxFailures,
          window: settings.window,
          resetTimeout: settings.resetTimeout
        })
        byAgent.set(agent, breaker)
      }
      return breaker
    }
  }
}

/** The task's context without the workflow input: the outputs of its dependencies. @internal */
export const dependenciesOf = (ctx: unknown): Record<string, unknown> => {
  if (typeof ctx !== "object" || ctx === null) return {}
  const { input: _input, ...rest } = ctx as Record<string, unknown>
  return rest
}

/** Parameters: a record, or a function of the task's context. @internal */
export type Parameters<Needs> =
  | Readonly<Record<string, unknown>>
  | ((ctx: Needs) => Readonly<Record<string, unknown>>)

/** The static part of parameters (what the Plan shows). @internal */
export const staticParameters = <Needs>(
  parameters: Parameters<Needs> | undefined
): Readonly<Record<string, unknown>> | undefined => typeof parameters === "function" ? undefined : parameters

/** Static parameters from the node, plus the dynamic ones computed from the context. @internal */
export const resolveParameters = <Needs>(
  nodeParameters: Readonly<Record<string, unknown>>,
  parameters: Parameters<Needs> | undefined,
  ctx: Needs
): Effect.Effect<Readonly<Record<string, unknown>>> =>
  typeof parameters === "function"
    ? Effect.sync(() => ({ ...nodeParameters, ...parameters(ctx) }))
    : Effect.succeed(nodeParameters)

/**
 * Loads skills by name. Without a `Skills` service in context, any required skill is missing (the
 * catalog is empty).
 *
 * @internal
 */
export const loadSkills = (
  names: ReadonlyArray<string>
): Effect.Effect<ReadonlyArray<Skill>, Skills.SkillNotFound> =>
  names.length === 0
    ? Effect.succeed([])
    : Effect.flatMap(Effect.serviceOption(Skills.Skills), (service) =>
      Option.isSome(service)
        ? service.value.require(names)
        : Effect.fail(new Skills.SkillNotFound({ name: names[0]!, available: [] })))

/**
 * Routes a requirement to an agent with a free slot. With breakers, agents whose breaker is open are
 * passed over while another candidate is healthy; when every candidate's breaker is open the call fails
 * with `CircuitOpen` (its `retryAfterMs` is when the first one half-opens).
 */
const route = (
  registry: AgentRegistry.AgentRegistry["Service"],
  requirement: AgentRegistry.Requirement,
  breakers: BreakerFamily | undefined
) =>
  Effect.gen(function*() {
    if (breakers === undefined) return yield* registry.acquire(requirement)
    const now = yield* Effect.clockWith((clock) => clock.currentTimeMillis)
    const candidates = yield* registry.candidates(requirement)
    const open = candidates.filter((a) => breakers.get(registry, a.name).state(now) === "open")
    if (open.length === 0) return yield* registry.acquire(requirement)
    if (open.length === candidates.length) {
      const waits = open.map((a) => breakers.get(registry, a.name).tryAcquire(now).retryAfterMs)
      return yield* new Breaker.CircuitOpen({
        breaker: candidates[0]!.name,
        taskId: requirement.taskId ?? "",
        retryAfterMs: Math.min(...waits)
      })
    }
    const load = yield* registry.load
    const running = (name: string) => load.find((l) => l.name === name)?.running ?? 0
    const healthy = candidates.filter((a) => !open.includes(a))
    const free = healthy.filter((a) => running(a.name) < a.maxConcurrent)
    const pool = free.length > 0 ? free : healthy
    const best = [...pool].sort((a, b) =>
      b.priority - a.priority || running(a.name) - running(b.name) || pool.indexOf(a) - pool.indexOf(b)
    )[0]!
    return yield* registry.acquire({ taskId: requirement.taskId, agentType: best.name })
  })

/**
 * Where a task's agent calls report to: the task's `TaskInfo` (its `emit`) and the task's own budget.
 *
 * @internal
 */
export interface Channel {
  readonly info?: Task.TaskInfo | undefined
  /** The task's budget (the run's, the `Budget` service, is looked up by `callAgent`). */
  readonly budget?: Budget.Ledger | undefined
}

/** Streamed text: at most one event per interval, unless a delta piles up past `MAX_DELTA`. */
const TEXT_INTERVAL_MS = 100
const MAX_DELTA = 2000
const MAX_TAIL = 2000

/**
 * The hooks handed to an agent for one call: budget checks, usage and tool-call reports, and streamed
 * text coalesced into bounded `AgentText` events (`flush` sends what is pending).
 *
 * @internal
 */
export const makeHooks = (
  agent: string,
  taskId: string,
  emit: ((report: TaskReport) => void) | undefined,
  budgets: ReadonlyArray<Budget.Ledger>
) => {
  let reported = false
  let pending = ""
  let tail = ""
  let lastEmit: number | undefined
  const send = () => {
    if (pending.length === 0 || emit === undefined) return
    emit({ _tag: "AgentText", agent, delta: pending, text: tail })
    pending = ""
  }
  const hooks: Agent.AgentHooks = {
    beforeModelCall: Effect.forEach(budgets, (budget) => budget.check(taskId), { discard: true }),
    modelCalled: (usage) =>
      Effect.sync(() => {
        reported = true
        const call = {
          model: usage.model,
          inputTokens: usage.inputTokens ?? 0,
          outputTokens: usage.outputTokens ?? 0,
          cachedTokens: usage.cachedTokens ?? 0
        }
        for (const budget of budgets) budget.record(call)
        emit?.({
          _tag: "AgentUsage",
          agent,
          inputTokens: call.inputTokens,
          outputTokens: call.outputTokens,
          cachedTokens: call.cachedTokens,
          ...(call.model === undefined ? {} : { model: call.model })
        })
      }),
    toolCalled: (report) =>
      Effect.sync(() =>
        emit?.({
          _tag: "ToolCalled",
          agent,
          tool: report.tool,
          callId: report.callId,
          arguments: report.arguments,
          durationMs: report.durationMs,
          outcome: report.outcome,
          ...(report.message === undefined ? {} : { message: report.message })
        })
      ),
    text: (delta) =>
      emit === undefined ? Effect.void : Effect.map(Clock.currentTimeMillis, (now) => {
        // nothing is dropped: a delta that would overflow the pending text is sent in pieces of MAX_DELTA
        for (let i = 0; i < delta.length; i += MAX_DELTA) {
          const piece = delta.slice(i, i + MAX_DELTA)
          if (pending.length + piece.length > MAX_DELTA) send()
          pending += piece
          tail = (tail + piece).slice(-MAX_TAIL)
        }
        if (lastEmit === undefined || now - lastEmit >= TEXT_INTERVAL_MS || pending.length >= MAX_DELTA) {
          lastEmit = now
          send()
        }
      })
  }
  return { hooks, reported: () => reported, flush: Effect.sync(send) }
}

/**
 * Runs a request on the agent routing chooses, holding one of its slots while it runs; with breakers, the
 * agent's breaker guards the call and records its outcome. Budgets in force (the run's `Budget` service
 * and the channel's task budget) are checked before the call and count its usage; the agent's tool
 * calls, usage and streamed text are reported through the channel's `TaskInfo.emit`.
 *
 * @internal
 */
export const callAgent = (
  registry: AgentRegistry.AgentRegistry["Service"],
  requirement: AgentRegistry.Requirement,
  plainRequest: Agent.AgentRequest,
  breakers?: BreakerFamily | undefined,
  onTransition?: ((breaker: string, transition: Breaker.Transition) => void) | undefined,
  channel?: Channel | undefined
): Effect.Effect<
  AgentRegistry.RunResult,
  Agent.AgentError | AgentRegistry.RoutingError | Breaker.CircuitOpen | Budget.BudgetExceeded
> =>
  Effect.scoped(Effect.gen(function*() {
    const runBudget = yield* Effect.serviceOption(Budget.Budget)
    const budgets = [
      ...(Option.isSome(runBudget) ? [runBudget.value] : []),
      ...(channel?.budget === undefined ? [] : [channel.budget])
    ]
    // a spent budget: no agent is even routed to
    for (const budget of budgets) yield* budget.check(plainRequest.taskId)
    const lease = yield* route(registry, requirement, breakers)
    const agent = lease.agent
    const { flush, hooks, reported } = makeHooks(agent.name, plainRequest.taskId, channel?.info?.emit, budgets)
    const request: Agent.AgentRequest = { ...plainRequest, hooks }
    // agents that do not report per model call: their answer's usage is counted once
    const countUsage = (response: Agent.AgentResponse) =>
      !reported() && response.usage !== undefined ? hooks.modelCalled(response.usage) : Effect.void
    if (breakers === undefined) {
      const response = yield* agent.run(request).pipe(Effect.ensuring(flush))
      yield* countUsage(response)
      return { agent: agent.name, response }
    }
    const breaker = breakers.get(registry, agent.name)
    const now = yield* Effect.clockWith((clock) => clock.currentTimeMillis)
    const permit = breaker.tryAcquire(now)
    if (permit.transition !== undefined) onTransition?.(breaker.name, permit.transition)
    if (!permit.allowed) {
      return yield* new Breaker.CircuitOpen({
        breaker: breaker.name,
        taskId: request.taskId,
        retryAfterMs: permit.retryAfterMs
      })
    }
    const response = yield* agent.run(request).pipe(Effect.ensuring(flush), Effect.onExit((exit) =>
      Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause)
        ? Effect.sync(() => breaker.release()) // interrupted: not the agent's verdict; a probe slot is freed
        : Effect.clockWith((clock) =>
          Effect.map(clock.currentTimeMillis, (at) => {
            const transition = breaker.record(at, Exit.isSuccess(exit))
            if (transition !== undefined) onTransition?.(breaker.name, transition)
          })
        )
    ))
    yield* countUsage(response)
    return { agent: agent.name, response }
  }))

/**
 * The output decoded with the schema: a value that already is of the schema's type (an LLM agent decodes
 * its answer itself) is kept; anything else is decoded from the encoded side. A value that does neither
 * is a retryable `AgentError` of the agent that produced it.
 *
 * @internal
 */
export const decodeOutput = (
  schema: Agent.OutputSchema,
  agent: string,
  taskId: string,
  output: unknown
): Effect.Effect<unknown, Agent.AgentError> =>
  Schema.is(schema)(output)
    ? Effect.succeed(output)
    : Schema.decodeUnknownEffect(schema)(output).pipe(
      Effect.mapError((error) =>
        new Agent.AgentError({
          agent,
          reason: `the output for task "${taskId}" does not match its schema: ${error.message}`,
          retryable: true,
          cause: error
        })
      )
    )

/** The text of a response: its `text`, a string output, or the output as JSON. @internal */
export const textOf = (response: Agent.AgentResponse): string => {
  if (response.text !== undefined) return response.text
  if (typeof response.output === "string") return response.output
  try {
    return JSON.stringify(response.output) ?? String(response.output)
  } catch {
    return String(response.output)
  }
}

/**
 * Failures that no retry can fix: an agent's error that says so, routing errors, a missing skill.
 *
 * @internal
 */
export const isPermanent = (error: unknown): boolean =>
  (Agent.isAgentError(error) && !error.retryable) ||
  (typeof error === "object" && error !== null && "_tag" in error &&
    (error._tag === "NoMatchingAgent" || error._tag === "UnknownAgent" || error._tag === "SkillNotFound" ||
      error._tag === "BudgetExceeded" || error._tag === "InvalidBudget" || error._tag === "StepLimitReached" ||
      error._tag === "ToolFailed"))

/**
 * A retry policy that never retries permanent failures (see `isPermanent`); everything else is as the
 * policy says. A Retry-After (`retryAfterMs`) is honoured by the policy itself.
 *
 * @internal
 */
export const retryingRetryable = (policy: Policy.Retry): Policy.Retry => ({
  ...policy,
  neverRetryOn: [...(policy.neverRetryOn ?? []), Policy.matching(isPermanent)]
})
