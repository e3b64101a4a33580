import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"
import { main, ParseError } from "../src/failure-modes.ts"

describe("failure-modes", () => {
  it.effect("fail-fast cancels, continue skips exactly the failed task's descendants", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.forkChild(main)
      // fail-fast ends at 100 ms; continue then runs for 1 s more.
      yield* TestClock.adjust("100 millis")
      yield* TestClock.adjust("1 second")
      const { failFast, keepGoing } = yield* Fiber.join(fiber)

      expect(failFast.statuses).toEqual({
        fetch: "completed",
        parse: "failed",
        validate: "cancelled",
        thumbnails: "cancelled",
        index: "cancelled",
        publish: "cancelled"
      })
      expect(failFast.completed).toEqual(["fetch"])

      expect(keepGoing.statuses).toEqual({
        fetch: "completed",
        parse: "failed",
        validate: "skipped",
        thumbnails: "completed",
        index: "completed",
        publish: "skipped"
      })
      expect([...keepGoing.completed].sort()).toEqual(["fetch", "index", "thumbnails"])

      for (const outcome of [failFast, keepGoing]) {
        const error = outcome.errors["parse"]
        expect(error).toBeInstanceOf(ParseError)
        expect(error?.line).toBe(3)
      }
    }))
})
