/**
 * Issue 9 in the Orchestrator: hostile failure values through the job queue never crash the process, and
 * the history holds at most historyLimit finished runs even after a burst of concurrent runs.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import * as fc from "fast-check"
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

describe("Orchestrator: a standing guard (generated jobs with hostile outcomes)", () => {
  const hostileValue = fc.constantFrom<() => unknown>(
    () => Object.create(null),
    hostile,
    () => ({ _tag: 42, message: Symbol("not a string") }),
    () => new Proxy({}, { get: () => { throw new Error("proxy bomb") }, getPrototypeOf: () => { throw new Error("proto bomb") } }),
    () => undefined,
    () => "plain"
  )
  const outcome = fc.oneof(
    fc.record({ kind: fc.constant("succeed" as const), delay: fc.nat(3) }),
    fc.record({ kind: fc.constantFrom("fail" as const, "die" as const, "throw" as const, "reject" as const), value: hostileValue }),
    fc.record({ kind: fc.constant("cancel" as const) })
  )
  const spec = fc.record({
    jobs: fc.array(fc.record({ outcome, throwingCallback: fc.boolean(), priority: fc.integer({ min: 1, max: 10 }) }), {
      minLength: 1,
      maxLength: 12
    }),
    workers: fc.integer({ min: 1, max: 4 }),
    throwingSubscriber: fc.boolean()
  })

  it("every job settles once, with one terminal task event; throwing callbacks and subscribers are harmless", async () => {
    await fc.assert(
      fc.asyncProperty(spec, async ({ jobs, workers, throwingSubscriber }) => {
        const program = Effect.gen(function*() {
          const o = yield* Orchestrator.Orchestrator
          const terminal = new Map<string, number>()
          yield* o.on("task.*", (e) => {
            if (e.jobId !== undefined && (e._tag === "TaskCompleted" || e._tag === "TaskFailed" || e._tag === "TaskCancelled")) {
              terminal.set(e.jobId, (terminal.get(e.jobId) ?? 0) + 1)
            }
          }, { bufferSize: 10_000 })
          if (throwingSubscriber) {
            yield* o.on("*", () => {
              throw hostile()
            })
          }
          const ids: Array<string> = []
          for (const job of jobs) {
            const o2 = job.outcome
            const agent = () => {
              switch (o2.kind) {
                case "succeed":
                  return Effect.sleep(`${o2.delay} millis`).pipe(Effect.as(o2.delay))
                case "fail":
                  return Effect.fail(o2.value())
                case "die":
                  return Effect.die(o2.value())
                case "throw":
                  throw o2.value()
                case "reject":
                  return Promise.reject(o2.value())
                case "cancel":
                  return Effect.never
              }
            }
            ids.push(yield* o.submit(agent, undefined, {
              priority: job.priority as 5,
              ...(job.throwingCallback ? { callback: () => { throw hostile() } } : {})
            }))
          }
          yield* Effect.forEach(ids, (id, i) => jobs[i]!.outcome.kind === "cancel" ? o.cancelJob(id) : Effect.void)
          const finished = yield* Effect.forEach(ids, (id) => o.awaitJob(id))
          yield* o.flushEvents
          for (const [i, job] of finished.entries()) {
            expect(["completed", "failed", "cancelled"]).toContain(job.status)
            expect(typeof (job.message ?? "")).toBe("string")
            expect(terminal.get(ids[i]!)).toBe(1)
          }
        }).pipe(Effect.provide(Orchestrator.layer({ workers })))
        const exit = await Effect.runPromiseExit(program)
        if (Exit.isFailure(exit)) throw new Error(`the property program failed: ${String(exit.cause)}`)
      }),
      { numRuns: process.env["TROUPE_SOAK"] === "1" ? 500 : 40 }
    )
  }, 120_000)
})
