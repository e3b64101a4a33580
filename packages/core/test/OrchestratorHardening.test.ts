/**
 * Issue 9 in the Orchestrator: hostile failure values through the job queue never crash the process, and
 * the history holds at most historyLimit finished runs even after a burst of concurrent runs.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { TestClock } from "effect/testing"
import { Orchestrator, Task, Workflow } from "@troupe/core"

const hostile = () => ({
  toString: () => {
    throw new Error("toString bomb")
  },
  get message(): string {
    throw new Error("message bomb")
  }
})

describe("Orchestrator: hostile values in jobs", () => {
  it.effect("jobs failing with Object.create(null) or a throwing toString settle as failed, with a message", () =>
    Effect.gen(function*() {
      const o = yield* Orchestrator.Orchestrator
      const callbacks: Array<string> = []
      const ids = [
        yield* o.submit(() => Effect.fail(Object.create(null)), undefined),
        yield* o.submit(() => Effect.fail(hostile()), undefined),
        yield* o.submit(() => Effect.die(hostile()), undefined),
        yield* o.submit(() => Effect.sleep("1 second").pipe(Effect.andThen(Effect.fail(hostile()))), undefined, {
          callback: (job) => {
            callbacks.push(job.status)
            throw hostile() // a throwing callback is logged, not fatal
          }
        }),
        yield* o.submit(() => Promise.reject(Object.create(null)), undefined),
        yield* o.submit(Task.make({}, (_: { readonly input: undefined }) => Effect.fail(hostile())), undefined)
      ]
      yield* TestClock.adjust("1 second")
      for (const id of ids) {
        const job = yield* o.awaitJob(id)
        expect(job.status).toBe("failed")
        expect(typeof job.message).toBe("string")
      }
      expect(callbacks).toEqual(["failed"])
      // The queue still works afterwards.
      expect((yield* o.awaitJob(yield* o.submit((n: number) => n * 2, 21))).result).toBe(42)
    }).pipe(Effect.provide(Orchestrator.layer({ workers: 2 }))))
})

describe("Orchestrator: history under a burst", () => {
  const burst = Number(process.env["TROUPE_SOAK"] === "1" ? 50_000 : 10_000)
  it.effect(`${burst} concurrent runs leave at most historyLimit finished runs, without waiting for another run`, () =>
    Effect.gen(function*() {
      const o = yield* Orchestrator.Orchestrator
      const wf = Workflow.make("burst").task("wait", () => Effect.sleep("1 second"))
      const handles = yield* Effect.forEach(Array.from({ length: burst }), () => o.start(wf))
      expect((yield* o.stats()).running).toBe(burst)
      yield* TestClock.adjust("1 second")
      yield* Effect.forEach(handles, (handle) => handle.await, { discard: true })
      const history = yield* o.history()
      expect(history).toHaveLength(100)
      // The newest runs are kept.
      expect(history[0]!.runId).toBe(handles[burst - 1]!.runId)
      expect((yield* o.stats()).running).toBe(0)
    }).pipe(Effect.provide(Orchestrator.layer({ historyLimit: 100 }))), 120_000)
})
