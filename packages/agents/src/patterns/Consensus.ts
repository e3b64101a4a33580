/**
 * The consensus pattern: agents vote on a decision; a threshold decides.
 *
 * @since 0.1.0
 */
import type * as Task from "@troupe/core/Task"
import { Effect, Schema } from "effect"
import type * as AgentRegistry from "../AgentRegistry.ts"
import { type CommonOptions, type Failure, make } from "../internal/patterns.ts"

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
): Task.Task<ConsensusResult<C>, Failure, AgentRegistry.AgentRegistry, Needs> => {
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
