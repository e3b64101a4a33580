/**
 * The debate pattern: two agents argue for and against over rounds; a judge decides.
 *
 * @since 0.1.0
 */
import type * as Task from "@troupe/core/Task"
import { Effect, Schema } from "effect"
import type * as AgentRegistry from "../AgentRegistry.ts"
import { textOf } from "../internal/agentCall.ts"
import { type CommonOptions, type Failure, make } from "../internal/patterns.ts"

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
): Task.Task<DebateResult, Failure, AgentRegistry.AgentRegistry, Needs> => {
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
