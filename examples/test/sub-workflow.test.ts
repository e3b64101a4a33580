import { describe, expect, it } from "@effect/vitest"
import { Engine, Plan } from "@troupe/core"
import { Effect } from "effect"
import { TestConsole } from "effect/testing"
import { invoice, main, month } from "../src/sub-workflow.ts"

describe("sub-workflow", () => {
  it.effect("runs the child once per customer and feeds its typed outputs to the parent", () =>
    Effect.gen(function*() {
      const outputs = yield* main(0.2)
      expect(outputs.alice.total).toEqual({ customer: "alice", net: 37, tax: 7.4, gross: 44.4 })
      expect(outputs.bob.total).toEqual({ customer: "bob", net: 40, tax: 8, gross: 48 })
      expect(outputs.alice.net).toBe(37)
      expect(outputs.revenue).toBe(92.4)
      expect((yield* TestConsole.logLines).at(-1)).toBe("revenue 92.40")
    }))

  it.effect("the child runs on its own too, and is a nested plan of the parent", () =>
    Effect.gen(function*() {
      const { outputs } = yield* Engine.run(invoice, {
        customer: "carol",
        lines: [{ item: "tea", quantity: 4, unitPrice: 2.5 }],
        taxRate: 0
      })
      expect(outputs.total).toEqual({ customer: "carol", net: 10, tax: 0, gross: 10 })
      const plan = Plan.fromWorkflow(month)
      const alice = plan.nodes.find((n) => n.id === "alice")!
      expect(alice.taskType).toBe("workflow")
      expect(alice.workflow?.nodes.map((n) => n.id)).toEqual(["net", "total"])
    }))
})
