/**
 * The collaborative-writing pattern: agents take turns improving a shared draft until one says it is done.
 *
 * @since 0.1.0
 */
import type * as Task from "@troupe/core/Task"
import { Effect, Schema } from "effect"
import type * as AgentRegistry from "../AgentRegistry.ts"
import { type CommonOptions, type Failure, make } from "../internal/patterns.ts"

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
): Task.Task<CollaborativeResult, Failure, AgentRegistry.AgentRegistry, Needs> => {
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
