/**
 * The runnable example of docs/agents.md ("Tools, budgets and streaming").
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as agentsTools from "../../docs/examples/agents-tools.ts"

describe("docs/examples/agents-tools.ts", () => {
  it.effect("a tool-using agent in a workflow: the answer, the tool call and the tokens", () =>
    Effect.gen(function*() {
      const { answer, costUsd, tokens, toolCalls } = yield* agentsTools.program
      expect(answer).toBe("Lisbon: 21 °C and sunny.")
      expect(toolCalls).toEqual([`weather({"city":"Lisbon"}): success`])
      expect(tokens).toBe(270)
      expect(costUsd).toBeCloseTo(2 * (120 * 0.15 + 15 * 0.6) / 1e6, 12)
    }))
})
