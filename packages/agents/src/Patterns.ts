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
import type * as Breaker from "@troupe/core/Breaker"
import * as Engine from "@troupe/core/Engine"
import type * as Policy from "@troupe/core/Policy"
import type * as Task from "@troupe/core/Task"
import * as Workflow from "@troupe/core/Workflow"
import type { WorkflowFailed } from "@troupe/core/WorkflowError"
import { Effect, Schema } from "effect"
import type * as Agent from "./Agent.ts"
import type * as AgentRegistry from "./AgentRegistry.ts"
import type * as AgentTask from "./AgentTask.ts"
import { dependenciesOf, textOf } from "./internal/agentCall.ts"
import { make as makeAgentTask } from "./internal/agentTask.ts"
import { type Failure, make, PatternError } from "./internal/patterns.ts"

// -----------------------------------------------------------------------------
// Models
// -----------------------------------------------------------------------------

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
 * What a pattern task fails with: an agent's failure, a routing error, an open circuit, or a
 * `PatternError`.
 *
 * @category models
 * @since 0.1.0
 */
export type PatternFailure = Failure

/**
 * A pattern's output type for an optional schema: the schema's type, else `Fallback`.
 *
 * @category type-level
 * @since 0.1.0
 */
export type OutputOr<S, Fallback> = S extends Agent.OutputSchema ? S["Type"] : Fallback

// -----------------------------------------------------------------------------
// Errors
// -----------------------------------------------------------------------------

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

// -----------------------------------------------------------------------------
// Supervisor
// -----------------------------------------------------------------------------

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
export type SupervisorFailure = PatternFailure | WorkflowFailed<Agent.AgentError | AgentRegistry.RoutingError | Breaker.CircuitOpen>

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
  /** Most subtasks running at once. Default unbounded (agents' own limits still apply). */
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

/** The builder's `task` without its compile-time checks: subtask ids are only known at run time. */
interface DynamicWorkflow {
  readonly task: (
    id: string,
    options: { readonly dependsOn: ReadonlyArray<string> },
    task: Task.Task<unknown, unknown, unknown, never>
  ) => DynamicWorkflow
}

type SubtaskWorkflow = Workflow.Workflow<
  string,
  Readonly<Record<string, unknown>>,
  Readonly<Record<string, unknown>>,
  Agent.AgentError | AgentRegistry.RoutingError | Breaker.CircuitOpen,
  AgentRegistry.AgentRegistry
>

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
        let builder = Workflow.make(`${session.info.workflow}/${session.taskId}`, {
          description: session.description,
          ...(maxParallel === undefined ? {} : { maxParallel })
        }) as unknown as DynamicWorkflow
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
            }, { dependencies: (ctx) => ({ ...ctx.input, ...dependenciesOf(ctx) }) }) as never
          )
        }
        const result = yield* Engine.run(builder as unknown as SubtaskWorkflow, session.dependencies).pipe(
          Effect.catch((error): Effect.Effect<never, SupervisorFailure> =>
            error._tag === "WorkflowFailed"
              ? Effect.fail(error)
              : session.fail(`the subtasks could not run: ${error.message}`)
          )
        )
        outputs = result.outputs
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

// -----------------------------------------------------------------------------
// Consensus
// -----------------------------------------------------------------------------

/**
 * One agent's vote.
 *
 * @category models
 * @since 0.1.0
 */
export interface Vote<C extends string> {
  readonly agent: string
  readonly decision: C
  readonly reasoning: string
}

/**
 * The result of a vote. `decision` is the option with the most votes when its share (`agreement`)
 * reaches the threshold and no other option has as many; else `null` (and `reached` is false).
 * `reasoning` joins the reasoning of the votes for the decision (of every vote when none was reached).
 *
 * @category models
 * @since 0.1.0
 */
export interface ConsensusResult<C extends string> {
  readonly decision: C | null
  readonly reached: boolean
  /** The share of votes for the leading option, from 0 to 1. */
  readonly agreement: number
  readonly votes: ReadonlyArray<Vote<C>>
  /** Votes per option. */
  readonly tally: Readonly<Record<string, number>>
  readonly reasoning: string
}

/**
 * Options of `consensus`.
 *
 * @category models
 * @since 0.1.0
 */
export interface ConsensusOptions<C extends string, Needs> extends CommonOptions<Needs> {
  /** The agents that vote (in parallel). */
  readonly voters: ReadonlyArray<string>
  /** The options to vote on. Default: any answer, compared as trimmed text. */
  readonly choices?: ReadonlyArray<C> | undefined
  /** Share of the votes the decision needs, in (0, 1]. Default 0.5. */
  readonly threshold?: number | undefined
}

/**
 * The schema a vote decodes with.
 *
 * @category schemas
 * @since 0.1.0
 */
export const VoteAnswer = <C extends string>(choices?: ReadonlyArray<C>) =>
  Schema.Struct({
    decision: (choices === undefined ? Schema.String : Schema.Literals(choices)) as Schema.Codec<C>,
    reasoning: Schema.String
  })

/**
 * Tallies votes (see `ConsensusResult`).
 *
 * @category combinators
 * @since 0.1.0
 */
export const tally = <C extends string>(votes: ReadonlyArray<Vote<C>>, threshold: number): ConsensusResult<C> => {
  const counts: Record<string, number> = {}
  for (const vote of votes) counts[vote.decision] = (counts[vote.decision] ?? 0) + 1
  const ranked = Object.entries(counts).sort((a, b) => b[1] - a[1])
  const [top, second] = ranked
  const agreement = top === undefined || votes.length === 0 ? 0 : top[1] / votes.length
  const reached = top !== undefined && agreement >= threshold && (second === undefined || second[1] < top[1])
  const decision = reached ? top[0] as C : null
  const reasons = votes.filter((v) => decision === null || v.decision === decision)
  return {
    decision,
    reached,
    agreement,
    votes,
    tally: counts,
    reasoning: reasons.map((v) => `${v.agent} (${v.decision}): ${v.reasoning}`).join("\n")
  }
}

/**
 * Consensus: several agents vote on the task in parallel; a threshold decides. Each voter gets
 * `parameters.choices` (when given) and answers `{ decision, reasoning }` (`VoteAnswer`).
 *
 * @example
 * ```ts
 * import { Patterns } from "@troupe/agents"
 *
 * const vote = Patterns.consensus({
 *   description: "approve the design?",
 *   voters: ["architect", "security", "ops"],
 *   choices: ["approve", "reject"],
 *   threshold: 2 / 3
 * })
 * // Task<ConsensusResult<"approve" | "reject">, ...>
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const consensus = <const C extends string = string, Needs = unknown>(
  options: ConsensusOptions<C, Needs>
): Task.Task<ConsensusResult<C>, PatternFailure, AgentRegistry.AgentRegistry, Needs> => {
  const { voters, choices, threshold = 0.5, ...common } = options
  if (voters.length === 0) throw new RangeError("consensus: at least one voter is required")
  if (!(threshold > 0 && threshold <= 1)) throw new RangeError(`consensus: threshold must be in (0, 1], got ${threshold}`)
  const schema = VoteAnswer(choices)
  return make("consensus", common, voters, (session) =>
    Effect.gen(function*() {
      const votes = yield* Effect.forEach(voters, (voter, i) =>
        session.ask(voter, {
          description: `Vote on this question and explain why: ${session.description}`,
          parameters: { voter: i + 1, voters: voters.length, ...(choices === undefined ? {} : { choices }) },
          output: schema
        }).pipe(Effect.map(({ output }): Vote<C> => ({
          agent: voter,
          decision: (choices === undefined ? output.decision.trim() : output.decision) as C,
          reasoning: output.reasoning
        }))), { concurrency: "unbounded" })
      return tally(votes, threshold)
    }))
}

// -----------------------------------------------------------------------------
// Debate
// -----------------------------------------------------------------------------

/**
 * A side of a debate.
 *
 * @category models
 * @since 0.1.0
 */
export type Side = "pro" | "con"

/**
 * One argument of a debate.
 *
 * @category models
 * @since 0.1.0
 */
export interface Turn {
  readonly round: number
  readonly side: Side
  readonly agent: string
  readonly argument: string
}

/**
 * The judge's answer.
 *
 * @category schemas
 * @since 0.1.0
 */
export const Verdict = Schema.Struct({ winner: Schema.Literals(["pro", "con"]), verdict: Schema.String })

/**
 * The result of a debate: the winning side (and its agent), the judge's verdict and the transcript.
 *
 * @category models
 * @since 0.1.0
 */
export interface DebateResult {
  readonly winner: Side
  readonly winnerAgent: string
  readonly verdict: string
  readonly transcript: ReadonlyArray<Turn>
}

/**
 * Options of `debate`: the description is the motion.
 *
 * @category models
 * @since 0.1.0
 */
export interface DebateOptions<Needs> extends CommonOptions<Needs> {
  readonly pro: string
  readonly con: string
  readonly judge: string
  /** Rounds of arguments (pro, then con, in each). Default 2. */
  readonly rounds?: number | undefined
}

/**
 * Debate: a pro and a con agent argue for N rounds (pro first in each round), then a judge decides.
 * Debaters get `parameters.side`, `round` and `rounds`, and the transcript so far in
 * `dependencies.transcript`; their output (text) is the argument. The judge gets the transcript and
 * answers with `Verdict` (`{ winner: "pro" | "con", verdict }`).
 *
 * @example
 * ```ts
 * import { Patterns } from "@troupe/agents"
 *
 * const debate = Patterns.debate({ description: "rewrite in Rust?", pro: "optimist", con: "skeptic", judge: "cto", rounds: 3 })
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const debate = <Needs = unknown>(
  options: DebateOptions<Needs>
): Task.Task<DebateResult, PatternFailure, AgentRegistry.AgentRegistry, Needs> => {
  const { pro, con, judge, rounds = 2, ...common } = options
  if (!(Number.isInteger(rounds) && rounds >= 1)) throw new RangeError(`debate: rounds must be a positive integer, got ${rounds}`)
  return make("debate", common, [pro, con, judge], (session) =>
    Effect.gen(function*() {
      const transcript: Array<Turn> = []
      for (let round = 1; round <= rounds; round++) {
        for (const [side, agent] of [["pro", pro], ["con", con]] as const) {
          const answer = yield* session.ask(agent, {
            description: `${side === "pro" ? "Argue for" : "Argue against"} the motion: ${session.description}`,
            parameters: { side, round, rounds },
            dependencies: { transcript: [...transcript] }
          })
          transcript.push({ round, side, agent, argument: textOf(answer.response) })
        }
      }
      const { output } = yield* session.ask(judge, {
        description: `Judge the debate on the motion: ${session.description}. Decide which side argued better.`,
        parameters: { phase: "judge", rounds },
        dependencies: { transcript: [...transcript] },
        output: Verdict
      })
      return {
        winner: output.winner,
        winnerAgent: output.winner === "pro" ? pro : con,
        verdict: output.verdict,
        transcript
      }
    }))
}

// -----------------------------------------------------------------------------
// Chain of thought
// -----------------------------------------------------------------------------

/**
 * One step of a reasoning chain.
 *
 * @category models
 * @since 0.1.0
 */
export interface Thought {
  /** From 1. */
  readonly index: number
  readonly step: string
  readonly thought: string
}

/**
 * The result of a chain of thought: the answer (the last step's output) and every step's thought.
 *
 * @category models
 * @since 0.1.0
 */
export interface ChainResult<A> {
  readonly answer: A
  readonly chain: ReadonlyArray<Thought>
}

/**
 * Options of `chainOfThought`.
 *
 * @category models
 * @since 0.1.0
 */
export interface ChainOptions<S, Needs> extends CommonOptions<Needs> {
  readonly reasoner: string
  /** The steps, in order; the last one produces the answer. */
  readonly steps: ReadonlyArray<string>
  /** The answer's schema (asked of the last step). Without it the answer is the last step's text. */
  readonly output?: S | undefined
}

/**
 * Chain of thought: a reasoner goes through the given steps in order. Each step gets `parameters.step`,
 * `stepIndex` (from 1) and `steps`, and the thoughts so far in `dependencies.chain`; the last step's
 * output, decoded with `output` when given, is the answer.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { Patterns } from "@troupe/agents"
 *
 * const estimate = Patterns.chainOfThought({
 *   description: "how long will the migration take?",
 *   reasoner: "planner",
 *   steps: ["list the tables", "estimate each", "add them up"],
 *   output: Schema.Struct({ days: Schema.Number })
 * })
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const chainOfThought = <S extends Agent.OutputSchema | undefined = undefined, Needs = unknown>(
  options: ChainOptions<S, Needs>
): Task.Task<ChainResult<OutputOr<S, string>>, PatternFailure, AgentRegistry.AgentRegistry, Needs> => {
  const { reasoner, steps, output, ...common } = options
  if (steps.length === 0) throw new RangeError("chainOfThought: at least one step is required")
  return make("chain-of-thought", common, [reasoner], (session) =>
    Effect.gen(function*() {
      const chain: Array<Thought> = []
      let answer: unknown = undefined
      for (const [i, step] of steps.entries()) {
        const last = i === steps.length - 1
        const question = {
          description: `${session.description}\n\nStep ${i + 1} of ${steps.length}: ${step}`,
          parameters: { step, stepIndex: i + 1, steps: steps.length },
          dependencies: { chain: [...chain] }
        }
        const reply = last && output !== undefined
          ? yield* session.ask(reasoner, { ...question, output: output as Agent.OutputSchema })
          : yield* session.ask(reasoner, question)
        const thought = textOf(reply.response)
        chain.push({ index: i + 1, step, thought })
        if (last) answer = output === undefined ? thought : reply.output
      }
      return { answer: answer as OutputOr<S, string>, chain }
    }))
}

// -----------------------------------------------------------------------------
// Collaborative
// -----------------------------------------------------------------------------

/**
 * A collaborator's answer: the whole new draft, and whether it is finished.
 *
 * @category schemas
 * @since 0.1.0
 */
export const Contribution = Schema.Struct({ draft: Schema.String, done: Schema.Boolean })

/**
 * One turn of a collaboration.
 *
 * @category models
 * @since 0.1.0
 */
export interface ContributionTurn {
  readonly round: number
  readonly agent: string
  readonly draft: string
  readonly done: boolean
}

/**
 * The result of a collaboration: the final draft, how many rounds ran, whether an agent declared it
 * done, and every contribution.
 *
 * @category models
 * @since 0.1.0
 */
export interface CollaborativeResult {
  readonly draft: string
  readonly rounds: number
  readonly done: boolean
  readonly contributions: ReadonlyArray<ContributionTurn>
}

/**
 * Options of `collaborative`.
 *
 * @category models
 * @since 0.1.0
 */
export interface CollaborativeOptions<Needs> extends CommonOptions<Needs> {
  /** The agents, in turn order. */
  readonly agents: ReadonlyArray<string>
  /** Most rounds (each agent takes one turn per round). Default 3. */
  readonly maxRounds?: number | undefined
  /** The draft the first agent starts from. Default empty. */
  readonly initialDraft?: string | undefined
}

/**
 * Collaborative: agents take turns on a shared draft until one says it is done or the round limit is
 * reached. Each turn gets `parameters.round`, `maxRounds` and `turn`, and `dependencies.draft` and
 * `dependencies.contributions`; it answers with `Contribution` (`{ draft, done }`).
 *
 * @example
 * ```ts
 * import { Patterns } from "@troupe/agents"
 *
 * const doc = Patterns.collaborative({ description: "write the README", agents: ["writer", "editor"], maxRounds: 4 })
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const collaborative = <Needs = unknown>(
  options: CollaborativeOptions<Needs>
): Task.Task<CollaborativeResult, PatternFailure, AgentRegistry.AgentRegistry, Needs> => {
  const { agents, maxRounds = 3, initialDraft = "", ...common } = options
  if (agents.length === 0) throw new RangeError("collaborative: at least one agent is required")
  if (!(Number.isInteger(maxRounds) && maxRounds >= 1)) {
    throw new RangeError(`collaborative: maxRounds must be a positive integer, got ${maxRounds}`)
  }
  return make("collaborative", common, agents, (session) =>
    Effect.gen(function*() {
      const contributions: Array<ContributionTurn> = []
      let draft = initialDraft
      let rounds = 0
      let turn = 0
      for (let round = 1; round <= maxRounds; round++) {
        rounds = round
        for (const agent of agents) {
          turn++
          const { output } = yield* session.ask(agent, {
            description:
              `Improve the shared draft for this task, and answer done: true when it is finished: ${session.description}`,
            parameters: { round, maxRounds, turn },
            dependencies: { draft, contributions: [...contributions] },
            output: Contribution
          })
          draft = output.draft
          contributions.push({ round, agent, draft, done: output.done })
          if (output.done) return { draft, rounds, done: true, contributions }
        }
      }
      return { draft, rounds, done: false, contributions }
    }))
}
