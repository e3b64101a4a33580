/**
 * docs/examples/rate-limits.ts runs as docs/resilience.md says (on the TestClock: the windows are exact).
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"
import * as rateLimits from "../../docs/examples/rate-limits.ts"

describe("docs examples", () => {
  it.effect("rate-limits.ts", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.forkChild(rateLimits.program, { startImmediately: true })
      yield* TestClock.adjust("1 second")
      const { outputs, started, waits } = yield* Fiber.join(fiber)
      expect(outputs.outro).toBe("outro summarised")
      expect(started).toEqual({ intro: 0, body: 0, index: 0, outro: 1000 })
      expect(waits).toEqual(['outro waits for rate-limit "acme"'])
    }))
})
