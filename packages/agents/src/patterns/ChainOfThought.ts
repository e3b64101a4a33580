/**
 * The chain-of-thought pattern: agents reason in turn, each building on the chain so far.
 *
 * @since 0.1.0
 */
import type * as Task from "@troupe/core/Task"
import { Effect, Schema } from "effect"
import type * as Agent from "../Agent.ts"
import type * as AgentRegistry from "../AgentRegistry.ts"
import { textOf } from "../internal/agentCall.ts"
import { type CommonOptions, type Failure, make, type OutputOr } from "../internal/patterns.ts"

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
): Task.Task<ChainResult<OutputOr<S, string>>, Failure, AgentRegistry.AgentRegistry, Needs> => {
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
