import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { main } from "../src/conditions.ts"

describe("conditions", () => {
  it.effect("runs everything when the condition holds, skips the branch when it does not", () =>
    Effect.gen(function*() {
      const { changed, unchanged } = yield* main
      expect(changed.statuses).toEqual({
        check: "completed",
        publish: "completed",
        announce: "completed",
        summary: "completed"
      })
      expect(changed.summary).toBe("published v1.1.0")

      expect(unchanged.statuses).toEqual({
        check: "completed",
        publish: "skipped",
        announce: "skipped",
        summary: "completed"
      })
      expect(unchanged.reasons).toEqual({
        publish: "condition was false",
        announce: `dependency "publish" was skipped`
      })
      // runIfSkipped: summary ran with publish undefined.
      expect(unchanged.summary).toBe("v1.0.0 is already published")
    }))
})
