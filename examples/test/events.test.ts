import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"
import { main } from "../src/events.ts"

describe("events", () => {
  it.effect("consumes the event stream and cancels the run after two pages", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.forkChild(main)
      yield* TestClock.adjust("5 seconds")
      const { events, completed, progress } = yield* Fiber.join(fiber)

      expect(completed).toEqual(["robots", "sitemap", "home", "about"])
      expect(events[0]?._tag).toBe("RunStarted")
      expect(events.at(-1)?._tag).toBe("RunCancelled")
      const byTask = (tag: string) =>
        events.flatMap((e) => e._tag === tag && "taskId" in e ? [e.taskId] : [])
      expect(byTask("TaskCompleted")).toEqual(["robots", "sitemap", "home", "about"])
      // archive was running and is interrupted; index never started.
      expect(byTask("TaskStarted")).toContain("archive")
      expect(byTask("TaskStarted")).not.toContain("index")
      expect(byTask("TaskCancelled").sort()).toEqual(["archive", "index"])
      // Cancelled at 50 + 100 + 300 ms, long before archive's 2 s.
      const end = events.at(-1)!
      expect(end._tag === "RunCancelled" && end.durationMs).toBe(450)
      expect(progress).toMatchObject({ total: 6, completed: 4, cancelled: 2, running: 0, pending: 0 })
    }))
})
