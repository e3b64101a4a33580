/**
 * The RunStore contract: every implementation (memory here, SQLite in @troupe/durable) passes it.
 * Time is virtual (TestClock) so created/finished times and pruning are exact.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { TestClock } from "effect/testing"
import { Engine, Plan, RunStore, Workflow } from "@troupe/core"
import type { RunEvent } from "@troupe/core"

const wf = Workflow.make("store-wf")
  .task("a", () => Effect.succeed({ n: 1 }))
  .task("b", { dependsOn: ["a"] }, ({ a }) => Effect.succeed(a.n + 1))
  .task("c", { dependsOn: ["a"] }, () => Effect.fail("nope" as const))

const plan = Plan.fromWorkflow(wf)

/** Runs `wf` for real and collects its events (with the fail-fast failure of `c`). */
const eventsOf = (runId: string) =>
  Effect.gen(function*() {
    const events: Array<RunEvent.RunEvent> = []
    yield* Effect.exit(Engine.run(wf, undefined as never, { runId, onEvent: (e) => events.push(e), failureMode: "continue" }))
    return events
  })

export const runStoreContract = (name: string, layer: () => Layer.Layer<RunStore.RunStore, unknown>) =>
  describe(`RunStore contract: ${name}`, () => {
    const withStore = <A, E>(body: (store: RunStore.RunStoreShape) => Effect.Effect<A, E, RunStore.RunStore>) =>
      Effect.flatMap(RunStore.RunStore, body).pipe(Effect.provide(layer()))

    it.effect("registers runs once, folds events into record, outputs, errors, state and statistics", () =>
      withStore((store) =>
        Effect.gen(function*() {
          yield* TestClock.setTime(1_000)
          const rec = yield* store.register({ runId: "r1", workflow: "store-wf", version: "v1", plan, input: { x: 1 }, durable: true })
          assert.strictEqual(rec.status, "pending")
          assert.deepStrictEqual(rec.tasks, { total: 3, completed: 0, failed: 0 })
          const again = yield* store.register({ runId: "r1", workflow: "other", plan })
          assert.strictEqual(again.workflow, "store-wf")
          const events = yield* eventsOf("r1")
          yield* store.append("r1", events.slice(0, 2))
          yield* store.append("r1", events.slice(2))
          const got = yield* store.get("r1")
          assert.strictEqual(got.status, "failed")
          assert.strictEqual(got.version, "v1")
          assert.strictEqual(got.durable, true)
          assert.deepStrictEqual(got.input, { x: 1 })
          assert.deepStrictEqual(got.tasks, { total: 3, completed: 2, failed: 1 })
          assert.include(got.error ?? "", "c")
          assert.deepStrictEqual(yield* store.outputs("r1"), { a: { n: 1 }, b: 2 })
          const errors = yield* store.errors("r1")
          assert.deepStrictEqual(errors.map((e) => e.path), ["c"])
          assert.strictEqual((yield* store.events("r1")).length, events.length)
          assert.deepStrictEqual((yield* store.events("r1", { after: 2 })).map((e) => e._tag), events.slice(2).map((e) => e._tag))
          const state = yield* RunStore.state("r1")
          assert.deepStrictEqual(state.tasks.map((t) => t.status), ["completed", "completed", "failed"])
          assert.deepStrictEqual((yield* store.plan("r1")).nodes.map((n) => n.id), ["a", "b", "c"])
          const stats = yield* store.durations("store-wf")
          assert.strictEqual(stats.get("a")?.count, 1)
          assert.strictEqual(stats.get("c")?.failures, 1)
          assert.deepStrictEqual(Object.keys(yield* RunStore.estimates("store-wf")).sort(), ["a", "b"])
        })))

    it.effect("lists by workflow, status and time, newest first; unknown runs are RunNotFound", () =>
      withStore((store) =>
        Effect.gen(function*() {
          for (const [i, id] of ["x1", "x2", "x3"].entries()) {
            yield* TestClock.setTime(1_000 * (i + 1))
            yield* store.register({ runId: id, workflow: i === 2 ? "other" : "store-wf", plan })
          }
          yield* store.setStatus("x1", "completed")
          assert.deepStrictEqual((yield* store.list()).map((r) => r.runId), ["x3", "x2", "x1"])
          assert.deepStrictEqual((yield* store.list({ workflow: "store-wf" })).map((r) => r.runId), ["x2", "x1"])
          assert.deepStrictEqual((yield* store.list({ status: "completed" })).map((r) => r.runId), ["x1"])
          assert.deepStrictEqual((yield* store.list({ status: ["pending"], since: 2_000 })).map((r) => r.runId), ["x3", "x2"])
          assert.deepStrictEqual((yield* store.list({ until: 2_000 })).map((r) => r.runId), ["x1"])
          assert.deepStrictEqual((yield* store.list({ limit: 1, offset: 1 })).map((r) => r.runId), ["x2"])
          const missing = yield* Effect.flip(store.get("nope"))
          assert.strictEqual(missing._tag, "RunNotFound")
          assert.include(missing.message, "nope")
        })))

    it.effect("cancel: pending runs end at once, running ones are asked to stop, finished ones stay", () =>
      withStore((store) =>
        Effect.gen(function*() {
          yield* store.register({ runId: "p", workflow: "store-wf", plan })
          yield* store.register({ runId: "r", workflow: "store-wf", plan })
          yield* store.register({ runId: "d", workflow: "store-wf", plan })
          yield* store.setStatus("r", "running")
          yield* store.setStatus("d", "completed")
          assert.strictEqual((yield* store.cancel("p")).status, "cancelled")
          const running = yield* store.cancel("r")
          assert.strictEqual(running.status, "running")
          assert.isTrue(running.cancelRequested)
          assert.strictEqual((yield* store.cancel("d")).status, "completed")
          assert.isFalse((yield* store.get("d")).cancelRequested)
        })))

    it.effect("delete and prune remove only what they say", () =>
      withStore((store) =>
        Effect.gen(function*() {
          yield* TestClock.setTime(0)
          yield* store.register({ runId: "old", workflow: "store-wf", plan })
          yield* store.register({ runId: "old-running", workflow: "store-wf", plan })
          yield* store.setStatus("old", "completed")
          yield* store.setStatus("old-running", "running")
          yield* TestClock.setTime(10 * 86_400_000)
          yield* store.register({ runId: "new", workflow: "store-wf", plan })
          yield* store.setStatus("new", "failed", "boom")
          assert.strictEqual(yield* store.prune({ olderThan: "7 days" }), 1)
          assert.deepStrictEqual((yield* store.list()).map((r) => r.runId).sort(), ["new", "old-running"])
          assert.strictEqual((yield* store.get("new")).error, "boom")
          assert.isTrue(yield* store.delete("new"))
          assert.isFalse(yield* store.delete("new"))
          assert.strictEqual((yield* Effect.flip(store.events("new")))._tag, "RunNotFound")
        })))
  })
