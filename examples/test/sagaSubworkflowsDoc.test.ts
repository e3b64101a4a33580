/**
 * docs/examples/saga-subworkflows.ts runs as docs/resilience.md says: when the trip fails fast, the tasks of
 * its sub-workflows are undone where their task is undone, before the task's own compensation, each once.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as saga from "../../docs/examples/saga-subworkflows.ts"

describe("docs/examples/saga-subworkflows.ts", () => {
  it.effect("the run-time child, then the static child's tasks, then the flight task's own compensation", () =>
    Effect.gen(function*() {
      const { undone, events, results } = yield* saga.program
      expect(undone).toEqual(["quote", "meal", "seat", "flight (the task's own)"])
      // The children's events arrive as SubWorkflowEvents of their task.
      expect(events).toEqual(["insurance/quote", "flight/meal", "flight/seat", "flight"])
      expect(results).toEqual([
        "insurance/policy/quote: completed",
        "flight/meal: completed",
        "flight/seat: completed",
        "flight: completed"
      ])
    }))
})
