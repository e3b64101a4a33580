/**
 * The machinery shared by the multi-agent patterns: a task value whose run asks named agents through
 * the registry (see `Patterns.ts` for the documented API).
 *
 * @internal
 */
import type * as Breaker from "@troupe/core/Breaker"
import type * as Policy from "@troupe/core/Policy"
import type { PlanNode } from "@troupe/core/Plan"
import * as Task from "@troupe/core/Task"
import { Effect, Schema } from "effect"
import type * as Agent from "../Agent.ts"
import * as AgentRegistry from "../AgentRegistry.ts"
import type * as Budget from "../Budget.ts"
import type * as AgentTask from "../AgentTask.ts"
import type { Breakers } from "../AgentTask.ts"
import {
  callAgent,
  decodeOutput,
  dependenciesOf,
  resolveParameters,
  retryingRetryable,
  staticParameters
} from "./agentCall.ts"
import { familyOf } from "./agentTask.ts"

/**
 * Options every pattern takes: its description, parameters (a record, or a function of the task's
 * context), task attributes (priority, timeout, ...), a retry policy for the whole pattern, and per-agent
 * circuit breakers for the agents it asks.
 *
 * @category models
 * @since 0.1.0
 */
export interface CommonOptions<Needs> extends
  Omit<
    Task.Attributes,
    "description" | "capabilities" | "skills" | "agentType" | "parameters" | "retry" | "breaker" | "output"
  >
{
  readonly description: string
  readonly parameters?: AgentTask.Parameters<Needs> | undefined
  /** Re-runs the whole pattern on retryable failures. */
  readonly retry?: Policy.Retry | undefined
  readonly breaker?: AgentTask.BreakerOption | undefined
}


/**
 * A pattern's output type for an optional schema: the schema's type, else `Fallback`.
 *
 * @category type-level
 * @since 0.1.0
 */
export type OutputOr<S, Fallback> = S extends Agent.OutputSchema ? S["Type"] : Fallback

/**
 * A pattern could not go on: a coordinating agent produced something unusable (a subtask for an agent
 * that is not available, a cycle between subtasks, ...).
 *
 * @internal
 */
export class PatternError extends Schema.TaggedError<PatternError>()("PatternError", {
  pattern: Schema.String,
  taskId: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `The ${this.pattern} pattern of task "${this.taskId}" failed: ${this.reason}`
  }
}

/** What any pattern may fail with. @internal */
export type Failure =
  | Agent.AgentError
  | AgentRegistry.RoutingError
  | Breaker.CircuitOpen
  | Budget.BudgetExceeded
  | PatternError

/** One question to one agent. @internal */
export interface Ask<S> {
  readonly description: string
  readonly parameters?: Readonly<Record<string, unknown>> | undefined
  readonly dependencies?: Readonly<Record<string, unknown>> | undefined
  readonly output?: S | undefined
}

/** An agent's answer. @internal */
export interface Answer<A> {
  readonly agent: string
  readonly output: A
  readonly response: Agent.AgentResponse
}

/** A running pattern: its task, its context, and a way to ask agents. @internal */
export interface Session {
  readonly registry: AgentRegistry.AgentRegistry["Service"]
  readonly info: Task.TaskInfo
  readonly taskId: string
  readonly description: string
  readonly parameters: Readonly<Record<string, unknown>>
  readonly dependencies: Readonly<Record<string, unknown>>
  readonly breakers: Breakers | undefined
  readonly fail: (reason: string) => Effect.Effect<never, PatternError>
  readonly ask: {
    <S extends Agent.OutputSchema>(agentType: string, question: Ask<S> & { readonly output: S }): Effect.Effect<
      Answer<S["Type"]>,
      Failure
    >
    (agentType: string, question: Ask<undefined>): Effect.Effect<Answer<unknown>, Failure>
  }
}

/** Builds a pattern's task value. @internal */
export const make = <A, E, Needs>(
  pattern: string,
  options: CommonOptions<Needs>,
  agents: ReadonlyArray<string>,
  body: (session: Session) => Effect.Effect<A, E, AgentRegistry.AgentRegistry>
): Task.Task<A, E | Failure, AgentRegistry.AgentRegistry, Needs> => {
  const { description, parameters, retry, breaker, ...attributes } = options
  const breakers = familyOf(breaker)
  const named = [...new Set(agents)]

  const run = (ctx: Needs, info: Task.TaskInfo) =>
    Effect.gen(function*() {
      const registry = yield* AgentRegistry.AgentRegistry
      const node = info.node
      const session: Session = {
        registry,
        info,
        taskId: node.id,
        description: node.description.length > 0 ? node.description : description,
        parameters: yield* resolveParameters(node.parameters, parameters, ctx),
        dependencies: dependenciesOf(ctx),
        breakers,
        fail: (reason) => Effect.fail(new PatternError({ pattern, taskId: node.id, reason })),
        ask: ((agentType: string, question: Ask<Agent.OutputSchema | undefined>) => {
          const request: Agent.AgentRequest = {
            taskId: node.id,
            description: question.description,
            parameters: { ...session.parameters, ...question.parameters },
            dependencies: { ...session.dependencies, ...question.dependencies },
            skills: [],
            attempt: info.attempt,
            ...(question.output === undefined ? {} : { outputSchema: question.output })
          }
          return callAgent(registry, { taskId: node.id, agentType }, request, breakers, info.breakerChanged, { info }).pipe(
            Effect.flatMap(({ agent, response }) =>
              Effect.map(
                question.output === undefined
                  ? Effect.succeed(response.output)
                  : decodeOutput(question.output, agent, node.id, response.output),
                (output) => ({ agent, output, response })
              )
            )
          )
        }) as Session["ask"]
      }
      return yield* body(session)
    })

  const check = (node: PlanNode) =>
    AgentRegistry.check(named.map((agentType) => ({ taskId: node.id, agentType })))

  const fixed = staticParameters(parameters)
  return {
    [Task.TypeId]: Task.TypeId,
    taskType: "pattern",
    attributes: {
      ...attributes,
      description,
      ...(fixed === undefined ? {} : { parameters: fixed }),
      ...(retry === undefined ? {} : { retry: retryingRetryable(retry) }),
      metadata: { ...attributes.metadata, pattern, agents: named }
    },
    run,
    check
  }
}
