import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Schema } from "effect"
import { TestClock } from "effect/testing"
import { Engine, type RunEvent, TaskCache, workflow } from "@troupe/core"

const counting = () => {
  const calls: Record<string, number> = {}
  const hit = <A>(id: string, value: A) => Effect.sync(() => ((calls[id] = (calls[id] ?? 0) + 1), value))
  return { calls, hit }
}

describe("engine with a TaskCache", () => {
  it.effect("a second run is served from the cache: no handler runs, TaskCached events, no slot taken", () =>
    Effect.gen(function*() {
      const { calls, hit } = counting()
      const wf = workflow("c")
        .task("a", () => hit("a", 1))
        .task("b", { dependsOn: ["a"] }, ({ a }) => hit("b", a + 1))
      const events: Array<RunEvent.RunEvent> = []
      const first = yield* Engine.run(wf)
      const second = yield* Engine.run(wf, undefined, { maxParallel: 1, onEvent: (e) => events.push(e) })
      expect(calls).toEqual({ a: 1, b: 1 })
      expect(second.outputs).toEqual(first.outputs)
      expect(events.filter((e) => e._tag === "TaskCached").map((e) => e._tag === "TaskCached" && e.taskId))
        .toEqual(["a", "b"])
      expect(events.some((e) => e._tag === "TaskStarted")).toBe(false)
      expect(second.state.tasks.every((t) => t.cached === true && t.status === "completed")).toBe(true)
      const stats = yield* TaskCache.TaskCache.use((c) => c.stats)
      expect(stats.hits).toBe(2)
      expect(stats.misses).toBe(2)
    }).pipe(Effect.provide(TaskCache.layerMemory({ maxEntries: 10 }))))

  it.effect("different input, parameters or version: a miss; cache: false never caches", () =>
    Effect.gen(function*() {
      const { calls, hit } = counting()
      const make = (version: number) =>
        workflow("k", { input: Schema.Number })
          .task("x", { cache: { version } }, ({ input }) => hit("x", input * 2))
          .task("never", { cache: false }, () => hit("never", true))
      yield* Engine.run(make(1), 1)
      yield* Engine.run(make(1), 1)
      yield* Engine.run(make(1), 2)
      yield* Engine.run(make(2), 2)
      expect(calls).toEqual({ x: 3, never: 4 })
    }).pipe(Effect.provide(TaskCache.layerMemory({ maxEntries: 10 }))))

  it.effect("only successful outputs are stored; a failed task runs again next time", () =>
    Effect.gen(function*() {
      let attempts = 0
      const wf = workflow("f").task("flaky", () =>
        Effect.suspend(() => ++attempts === 1 ? Effect.fail("boom" as const) : Effect.succeed(attempts)))
      const failed = yield* Effect.flip(Engine.run(wf))
      expect(failed._tag).toBe("WorkflowFailed")
      expect((yield* Engine.run(wf)).outputs.flaky).toBe(2)
      expect((yield* Engine.run(wf)).outputs.flaky).toBe(2)
      expect(attempts).toBe(2)
    }).pipe(Effect.provide(TaskCache.layerMemory({ maxEntries: 10 }))))

  it.effect("entries expire after their TTL (TestClock)", () =>
    Effect.gen(function*() {
      const { calls, hit } = counting()
      const wf = workflow("ttl").task("t", { cache: { ttl: "1 hour" } }, () => hit("t", "v"))
      yield* Engine.run(wf)
      yield* TestClock.adjust("59 minutes")
      yield* Engine.run(wf)
      expect(calls.t).toBe(1)
      yield* TestClock.adjust("2 minutes")
      yield* Engine.run(wf)
      expect(calls.t).toBe(2)
    }).pipe(Effect.provide(TaskCache.layerMemory({ maxEntries: 10 }))))

  it.effect("a cached value that no longer decodes with the task's output schema is a miss", () =>
    Effect.gen(function*() {
      const { calls, hit } = counting()
      const v1 = workflow("s").task("t", { cache: { output: Schema.String } }, () => hit("t", "text"))
      const v2 = workflow("s").task("t", { cache: { output: Schema.Number } }, () => hit("t", 42))
      yield* Engine.run(v1)
      const result = yield* Engine.run(v2)
      expect(result.outputs.t).toBe(42)
      expect(calls.t).toBe(2)
    }).pipe(Effect.provide(TaskCache.layerMemory({ maxEntries: 10 }))))

  it.effect("without a TaskCache layer nothing is cached", () =>
    Effect.gen(function*() {
      const { calls, hit } = counting()
      const wf = workflow("n").task("t", () => hit("t", 1))
      const fiber = yield* Effect.forkChild(Effect.all([Engine.run(wf), Engine.run(wf)]))
      yield* Fiber.join(fiber)
      expect(calls.t).toBe(2)
    }))
})
