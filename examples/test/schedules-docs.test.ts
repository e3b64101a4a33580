/**
 * The runnable examples of docs/schedules.md and docs/signals.md (on a TestClock: schedules span days).
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Stream } from "effect"
import { TestClock } from "effect/testing"
import { Orchestrator } from "@troupe/core"
import * as schedules from "../../docs/examples/schedules.ts"
import * as signals from "../../docs/examples/signals.ts"

describe("docs examples: schedules and signals", () => {
  it.effect("schedules.ts: a week of fires", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.parse("2025-01-03T00:00:00Z")) // a Friday
      const bad = yield* schedules.declare
      expect(bad).toBe(`schedule "typo": unknown time zone "Europe/Pariss" (expected an IANA name such as "Europe/Paris")`)
      for (let day = 0; day < 7; day++) yield* TestClock.adjust("1 day")
      const summary = yield* schedules.summary
      // 09:00 in Paris is 08:00 UTC in winter; weekdays only.
      expect(summary.reportFires).toEqual([
        "2025-01-03T08:00:00.000Z completed",
        "2025-01-06T08:00:00.000Z completed",
        "2025-01-07T08:00:00.000Z completed",
        "2025-01-08T08:00:00.000Z completed",
        "2025-01-09T08:00:00.000Z completed"
      ])
      expect(summary.reportRuns[0]).toBe("daily-report@2025-01-03T08:00:00.000Z")
      expect(summary.healthChecks).toBe(7 * 24 * 12)
      expect(summary.launch).toEqual(["new-year launched"])
      expect(summary.next).toBe("2025-01-10T08:00:00.000Z")
      // Across the change to summer time, 09:00 Paris moves from 08:00 to 07:00 UTC.
      expect((yield* schedules.preview).map((d) => d.toISOString())).toEqual([
        "2025-03-31T07:00:00.000Z",
        "2025-04-01T07:00:00.000Z",
        "2025-04-02T07:00:00.000Z"
      ])
    }).pipe(Effect.provide(Layer.mergeAll(schedules.layer, Orchestrator.layer()))))

  it.effect("signals.ts: an approval, a timer, a webhook", () =>
    Effect.gen(function*() {
      const { handle, waiting } = yield* signals.approveOne("release-1.4.0")
      expect(waiting).toBe("approve")
      yield* TestClock.adjust("10 minutes")
      const result = yield* handle.await
      expect(result.outputs.deploy).toBe("app-1.4.0.tgz deployed (approved by ada)")
      const tags = (yield* Stream.runCollect(handle.events)).map((e) => e._tag)
      expect(tags.filter((t) => t === "TaskWaiting" || t === "TaskResumed")).toEqual([
        "TaskWaiting",
        "TaskResumed",
        "TaskWaiting",
        "TaskResumed"
      ])

      // A webhook: a body that does not match the schema is refused with a typed error; a good one goes in.
      yield* signals.approveOne("release-1.4.1")
      const refused = yield* Effect.flip(signals.webhook("nope", { approved: true, by: "x" }))
      expect(refused._tag).toBe("UnknownRun")
      const invalid = yield* Effect.flip(signals.webhook("release-1.4.1", { approved: "yes" }))
      expect(invalid._tag).toBe("InvalidPayload")
      expect(invalid.message).toContain(`Signal "approval" to run "release-1.4.1"`)
      yield* signals.webhook("release-1.4.1", { approved: false, by: "bob", comment: "kept for the next wait" })
    }).pipe(Effect.provide(signals.layer)))
})
