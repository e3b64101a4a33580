import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"
import { Engine, Workflow } from "@troupe/core"

describe("smoke", () => {
  it.effect("runs", () =>
    Effect.gen(function*() {
      const wf = Workflow.make("add")
        .task("one", () => Effect.succeed(1))
        .task("two", { dependsOn: ["one"] }, ({ one }) => Effect.succeed(one + 1))
        .task("three", { dependsOn: ["one", "two"] }, ({ one, two }) => Effect.sleep("1 second").pipe(Effect.as(one + two)))
      const fiber = yield* Effect.forkChild(Engine.run(wf))
      yield* TestClock.adjust("1 second")
      const result = yield* Fiber.join(fiber)
      expect(result.outputs).toEqual({ one: 1, two: 2, three: 3 })
      expect(result.durationMs).toBe(1000)
    }))
})
