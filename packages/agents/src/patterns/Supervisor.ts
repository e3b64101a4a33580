/**
 * The supervisor pattern: a coordinating agent plans subtasks for other agents, they run as a workflow built at run time (its events reach the parent run as `SubWorkflowEvent`s), and the coordinator combines the results.
 *
 * @since 0.1.0
 */
import type * as Breaker from "@troupe/core/Breaker"
import type * as Policy from "@troupe/core/Policy"
import type * as Task from "@troupe/core/Task"
import * as Workflow from "@troupe/core/Workflow"
import type { WorkflowFailed } from "@troupe/core/WorkflowError"
import { Effect, Schema } from "effect"
import type * as Agent from "../Agent.ts"
import type * as AgentRegistry from "../AgentRegistry.ts"
import type * as Budget from "../Budget.ts"
import { dependenciesOf } from "../internal/agentCall.ts"
import { make as makeAgentTask } from "../internal/agentTask.ts"
import { type CommonOptions, type Failure, make, type OutputOr } from "../internal/patterns.ts"

/**
 * One subtask of a supervisor's plan. `id` (default `subtask_<n>`) and `dependsOn` (ids of other
 * subtasks whose outputs it needs) are optional; `null` counts as absent.
 *
 * @category schemas
 * @since 0.1.0
 */
export const Subtask = Schema.Struct({
  id: Schema.optional(Schema.NullOr(Schema.String)),
  agent: Schema.String,
  description: Schema.String,
  dependsOn: Schema.optional(Schema.NullOr(Schema.Array(Schema.String)))
})

/**
 * The supervisor's split of a task: `{ subtasks: [{ agent, description }] }`.
 *
 * @category schemas
 * @since 0.1.0
 */
export const SubtaskPlan = Schema.Struct({ subtasks: Schema.Array(Subtask) })

/**
 * @category models
 * @since 0.1.0
 */
export type SubtaskPlan = typeof SubtaskPlan.Type

/**
 * A subtask as it ran.
 *
 * @category models
 * @since 0.1.0
 */
export interface SubtaskResult {
  readonly id: string
  readonly agent: string
  readonly description: string
  readonly dependsOn: ReadonlyArray<string>
  readonly output: unknown
}

/**
 * The supervisor's result: the combined answer and every subtask with its output.
 *
 * @category models
 * @since 0.1.0
 */
export interface SupervisorResult<A> {
  readonly result: A
  readonly subtasks: ReadonlyArray<SubtaskResult>
}

/**
 * The errors of a supervisor task: a pattern failure, or the failure of its subtasks' workflow.
 *
 * @category models
 * @since 0.1.0
 */
export type SupervisorFailure = Failure | WorkflowFailed<SubtaskError>

/** What a subtask fails with. */
type SubtaskError = Agent.AgentError | AgentRegistry.RoutingError | Breaker.CircuitOpen | Budget.BudgetExceeded

/**
 * Options of `supervisor`.
 *
 * @category models
 * @since 0.1.0
 */
export interface SupervisorOptions<S, Needs> extends CommonOptions<Needs> {
  /** The coordinating agent. */
  readonly supervisor: string
  /** The agents the supervisor may assign work to. Default: every registered agent but the supervisor. */
  readonly agents?: ReadonlyArray<string> | undefined
  /** The schema of the combined result. */
  readonly output?: S | undefined
  /** Most subtasks a plan may have. Default unlimited. */
  readonly maxSubtasks?: number | undefined
  /**
   * Most subtasks running at once. Default unbounded (agents' own limits still apply). The subtasks run as
   * a child workflow of the supervisor task (`TaskInfo.runWorkflow`): the parent run's `maxParallel` and
   * resource pools bound them as well, and the supervisor gives its own slot up while they run.
   */
  readonly maxParallel?: number | undefined
  /** Retry policy of each subtask (retryable failures only). */
  readonly subtaskRetry?: Policy.Retry | undefined
}

interface Planned {
  readonly id: string
  readonly agent: string
  readonly description: string
  readonly dependsOn: ReadonlyArray<string>
}

const orderSubtasks = (
  plan: SubtaskPlan,
  allowed: ReadonlyArray<string>,
  maxSubtasks: number | undefined
):
  | { readonly planned: ReadonlyArray<Planned>; readonly ordered: ReadonlyArray<Planned> }
  | { readonly error: string } =>
{
  if (maxSubtasks !== undefined && plan.subtasks.length > maxSubtasks) {
    return { error: `the plan has ${plan.subtasks.length} subtasks, more than the ${maxSubtasks} allowed` }
  }
  const planned: Array<Planned> = []
  const ids = new Set<string>()
  for (const [i, subtask] of plan.subtasks.entries()) {
    const id = subtask.id ?? `subtask_${i + 1}`
    if (id.length === 0 || id === "input") return { error: `subtask ${i + 1} has an invalid id "${id}"` }
    if (ids.has(id)) return { error: `two subtasks have the id "${id}"` }
    if (!allowed.includes(subtask.agent)) {
      return {
        error: `subtask "${id}" is for agent "${subtask.agent}", which is not one of the available agents [${
          allowed.join(", ")
        }]`
      }
    }
    ids.add(id)
    planned.push({ id, agent: subtask.agent, description: subtask.description, dependsOn: [...new Set(subtask.dependsOn ?? [])] })
  }
  for (const p of planned) {
    const unknown = p.dependsOn.find((d) => !ids.has(d) || d === p.id)
    if (unknown !== undefined) return { error: `subtask "${p.id}" depends on "${unknown}", which is not another subtask` }
  }
  // Declaration order for the workflow builder: each subtask after the ones it depends on.
  const ordered: Array<Planned> = []
  const placed = new Set<string>()
  while (ordered.length < planned.length) {
    const next = planned.filter((p) => !placed.has(p.id) && p.dependsOn.every((d) => placed.has(d)))
    if (next.length === 0) {
      const stuck = planned.filter((p) => !placed.has(p.id)).map((p) => `"${p.id}"`)
      return { error: `subtasks ${stuck.join(", ")} depend on each other in a cycle` }
    }
    for (const p of next) {
      ordered.push(p)
      placed.add(p.id)
    }
  }
  return { planned, ordered }
}

/**
 * Supervisor: a coordinating agent splits the task into subtasks for named agents, the subtasks run as
 * a workflow built at run time (independent subtasks in parallel, each an agent task with an explicit
 * agent type), and the supervisor combines their results.
 *
 * The supervisor is asked twice:
 * - `parameters.phase === "plan"`: `parameters.agents` lists the available agents (name, capabilities,
 *   description); the answer decodes with `SubtaskPlan`;
 * - `parameters.phase === "combine"`: `dependencies.subtasks` holds every `SubtaskResult`; the answer
 *   decodes with `output` when given.
 *
 * A subtask's agent receives the subtask's description, the pattern's parameters, and the pattern's
 * dependencies plus the outputs of the subtasks it depends on.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { Patterns } from "@troupe/agents"
 *
 * const Report = Schema.Struct({ summary: Schema.String })
 * const task = Patterns.supervisor({
 *   description: "audit the repository",
 *   supervisor: "lead",
 *   agents: ["security", "docs"],
 *   output: Report
 * })
 * // Task<SupervisorResult<{ readonly summary: string }>, ...>
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const supervisor = <S extends Agent.OutputSchema | undefined = undefined, Needs = unknown>(
  options: SupervisorOptions<S, Needs>
): Task.Task<SupervisorResult<OutputOr<S, unknown>>, SupervisorFailure, AgentRegistry.AgentRegistry, Needs> => {
  const { supervisor: lead, agents, output, maxSubtasks, maxParallel, subtaskRetry, ...common } = options
  return make("supervisor", common, [lead, ...(agents ?? [])], (session) =>
    Effect.gen(function*() {
      const registered = yield* session.registry.agents
      const allowed = agents ?? registered.map((a) => a.name).filter((name) => name !== lead)
      const roster = registered.filter((a) => allowed.includes(a.name)).map((a) => ({
        name: a.name,
        capabilities: a.capabilities,
        ...(a.description === undefined ? {} : { description: a.description })
      }))
      const planned = yield* session.ask(lead, {
        description:
          `Split this task into subtasks, each for one of the available agents (see the parameters): ${session.description}`,
        parameters: { phase: "plan", agents: roster },
        output: SubtaskPlan
      })
      const ordered = orderSubtasks(planned.output, allowed, maxSubtasks)
      if ("error" in ordered) return yield* session.fail(ordered.error)

      let outputs: Readonly<Record<string, unknown>> = {}
      if (ordered.ordered.length > 0) {
        // the subtasks are known only now: a dynamic workflow (public API, errors and services still typed)
        let builder = Workflow.dynamic<string, Readonly<Record<string, unknown>>>(`${session.info.workflow}/${session.taskId}`, {
          description: session.description,
          ...(maxParallel === undefined ? {} : { maxParallel })
        })
        for (const subtask of ordered.ordered) {
          builder = builder.task(
            subtask.id,
            { dependsOn: subtask.dependsOn },
            makeAgentTask<{ readonly input: Readonly<Record<string, unknown>> }>({
              description: subtask.description,
              agentType: subtask.agent,
              parameters: session.parameters,
              ...(subtaskRetry === undefined ? {} : { retry: subtaskRetry }),
              ...(session.breakers === undefined ? {} : { breaker: session.breakers })
            }, { dependencies: (ctx) => ({ ...ctx.input, ...dependenciesOf(ctx) }) }) as Task.Task<
              unknown,
              SubtaskError,
              AgentRegistry.AgentRegistry,
              { readonly input: Readonly<Record<string, unknown>> }
            >
          ) as typeof builder
        }
        // a child workflow of this task: under the parent run's limits and pools, its events reported as
        // SubWorkflowEvents of this task, its tasks' paths `<task>/subtasks/<subtask>`
        outputs = yield* session.info.runWorkflow(builder, session.dependencies, { name: "subtasks" }).pipe(
          Effect.catch((error): Effect.Effect<never, SupervisorFailure> =>
            error._tag === "WorkflowFailed"
              ? Effect.fail(error)
              : session.fail(`the subtasks could not run: ${error.message}`)
          )
        )
      }
      const subtasks: ReadonlyArray<SubtaskResult> = ordered.planned.map((p) => ({ ...p, output: outputs[p.id] }))
      const combined = yield* (output === undefined
        ? session.ask(lead, {
          description: `Combine the results of the subtasks into the answer to this task: ${session.description}`,
          parameters: { phase: "combine" },
          dependencies: { subtasks }
        })
        : session.ask(lead, {
          description: `Combine the results of the subtasks into the answer to this task: ${session.description}`,
          parameters: { phase: "combine" },
          dependencies: { subtasks },
          output: output as Agent.OutputSchema
        }))
      return { result: combined.output as OutputOr<S, unknown>, subtasks }
    }))
}
