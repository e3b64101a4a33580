/**
 * Rate limits (issue 11): at most `limit` starts per `interval`, per `RateLimit` value and key; a task held
 * back waits without a concurrency slot, visibly (`TaskWaiting` / `TaskResumed` with reason `rate-limit`,
 * `waiting` in progress and state). Everything on TestClock, every instant exact.
 */
import { describe, expect, it } from "@effect/vitest"
import { Clock, Effect, Exit, Fiber } from "effect"
import { TestClock } from "effect/testing"
import { Engine, type RunEvent, type Task, Workflow, WorkflowError } from "@troupe/core"
import { RunAssertions } from "@troupe/testing"

const work = (ms: number) => () => Effect.sleep(`${ms} millis`)

const startsOf = (events: ReadonlyArray<RunEvent.RunEvent>) =>
  events.flatMap((e) => (e._tag === "TaskStarted" ? [`${e.taskId}@${e.at}`] : []))

const waitsOf = (events: ReadonlyArray<RunEvent.RunEvent>) =>
  events.flatMap((e) =>
    e._tag === "TaskWaiting"
      ? [`wait ${e.taskId}@${e.at} ${e.reason} ${e.name} until ${e.until}`]
      : e._tag === "TaskResumed"
      ? [`resume ${e.taskId}@${e.at} ${e.outcome} after ${e.waitedMs}`]
      : []
  )

describe("rate limits", () => {
  it.effect("at most `limit` starts per interval: 5 tasks at 2 per second start at 0, 0, 1000, 1000, 2000", () =>
    Effect.gen(function*() {
      const perSecond: Task.RateLimit = { limit: 2, interval: "1 second" }
      const wf = Workflow.make("rl")
        .task("a", { rateLimit: perSecond }, work(10))
        .task("b", { rateLimit: perSecond }, work(10))
        .task("c", { rateLimit: perSecond }, work(10))
        .task("d", { rateLimit: perSecond }, work(10))
        .task("e", { rateLimit: perSecond }, work(10))
      const recording = RunAssertions.record()
      const exit = yield* RunAssertions.runOnTestClock(Engine.run(wf, undefined, { onEvent: recording.onEvent }), {
        advanceMs: 2010
      })
      expect(Exit.isSuccess(exit) && exit.value.durationMs).toBe(2010)
      expect(startsOf(recording.events)).toEqual(["a@0", "b@0", "c@1000", "d@1000", "e@2000"])
      expect(waitsOf(recording.events)).toEqual([
        "wait c@0 rate-limit default until 1000",
        "wait d@0 rate-limit default until 1000",
        "wait e@0 rate-limit default until 1000",
        "resume c@1000 elapsed after 1000",
        "resume d@1000 elapsed after 1000",
        "resume e@2000 elapsed after 2000"
      ])
    }))

  it.effect("a task waiting for its rate limit holds no slot: with maxParallel 1, an unlimited task runs meanwhile", () =>
    Effect.gen(function*() {
      const once: Task.RateLimit = { limit: 1, interval: "1 second" }
      const wf = Workflow.make("slots", { maxParallel: 1 })
        .task("r1", { rateLimit: once, priority: 9 }, work(10))
        .task("r2", { rateLimit: once, priority: 9 }, work(10))
        .task("free", { priority: 1 }, work(100))
      const recording = RunAssertions.record()
      const exit = yield* RunAssertions.runOnTestClock(Engine.run(wf, undefined, { onEvent: recording.onEvent }), {
        advanceMs: 1010
      })
      expect(Exit.isSuccess(exit) && exit.value.durationMs).toBe(1010)
      expect(startsOf(recording.events)).toEqual(["r1@0", "free@10", "r2@1000"])
      RunAssertions.assertConcurrencyAtMost(recording.events, 1)
    }))

  it.effect("keys split a limit: a fixed key per task, or a function of the task's context", () =>
    Effect.gen(function*() {
      const perTenant: Task.RateLimit = { limit: 1, interval: "1 minute" }
      const wf = Workflow.make<"tenants", { readonly tenant: string }>("tenants")
        .task("a1", { rateLimit: { ...perTenant, key: "a" } }, work(1))
        .task("a2", { rateLimit: { ...perTenant, key: "a" } }, work(1))
        .task("b1", { rateLimit: { ...perTenant, key: "b" } }, work(1))
      // Spread copies are different values: each keeps its own windows. One shared value, keyed:
      const shared: Task.RateLimit<{ readonly input: { readonly tenant: string } }> = {
        limit: 1,
        interval: "1 minute",
        key: ({ input }) => input.tenant
      }
      const keyed = Workflow.make<"keyed", { readonly tenant: string }>("keyed")
        .task("x", { rateLimit: shared }, work(1))
        .task("y", { rateLimit: shared }, work(1))
      const recording = RunAssertions.record()
      const first = yield* RunAssertions.runOnTestClock(
        Engine.run(wf, { tenant: "t" }, { onEvent: recording.onEvent }),
        { advanceMs: 1 }
      )
      expect(Exit.isSuccess(first)).toBe(true)
      expect(startsOf(recording.events)).toEqual(["a1@0", "a2@0", "b1@0"])

      const again = RunAssertions.record()
      const start = yield* Clock.currentTimeMillis
      const second = yield* RunAssertions.runOnTestClock(
        Engine.run(keyed, { tenant: "t1" }, { onEvent: again.onEvent }),
        { advanceMs: 60_001 }
      )
      expect(Exit.isSuccess(second)).toBe(true)
      expect(startsOf(again.events)).toEqual([`x@${start}`, `y@${start + 60_000}`])
      expect(waitsOf(again.events)[0]).toBe(`wait y@${start} rate-limit t1 until ${start + 60_000}`)
    }))

  it.effect("the limit belongs to the value: a second run within the window waits for the first run's starts", () =>
    Effect.gen(function*() {
      const provider: Task.RateLimit = { limit: 1, interval: "10 seconds" }
      const wf = Workflow.make("call").task("call", { rateLimit: provider }, work(1))
      const first = yield* RunAssertions.runOnTestClock(Engine.run(wf), { advanceMs: 1 })
      expect(Exit.isSuccess(first) && first.value.durationMs).toBe(1)
      const second = yield* RunAssertions.runOnTestClock(Engine.run(wf), { advanceMs: 10_000 })
      expect(Exit.isSuccess(second) && second.value.durationMs).toBe(9_999 + 1)
    }))

  it.effect("progress and state show the task as waiting for the rate limit, not running", () =>
    Effect.gen(function*() {
      const limit: Task.RateLimit = { limit: 1, interval: "1 second" }
      const wf = Workflow.make("view")
        .task("first", { rateLimit: limit }, work(10))
        .task("second", { rateLimit: limit }, work(10))
      const handle = yield* Engine.start(wf)
      yield* TestClock.adjust(20)
      const progress = yield* handle.progress
      expect(progress).toMatchObject({ completed: 1, running: 0, waiting: 1, pending: 0 })
      const state = yield* handle.state
      const second = state.tasks.find((t) => t.id === "second")!
      expect(second.status).toBe("waiting")
      expect(second.waitingFor).toMatchObject({ reason: "rate-limit", name: "default", since: 0, until: 1000 })
      yield* TestClock.adjust(1000)
      const result = yield* handle.await
      expect(result.durationMs).toBe(1010)
    }))

  it.effect("cancelling a run with a task waiting for its rate limit ends it at once", () =>
    Effect.gen(function*() {
      const limit: Task.RateLimit = { limit: 1, interval: "1 hour" }
      const wf = Workflow.make("cancel").task("a", { rateLimit: limit }, work(1)).task("b", { rateLimit: limit }, work(1))
      const handle = yield* Engine.start(wf)
      yield* TestClock.adjust(5)
      yield* handle.cancel
      const exit = yield* Effect.exit(handle.await)
      expect(RunAssertions.errorOf(exit)).toBeInstanceOf(WorkflowError.WorkflowCancelled)
      expect((yield* handle.state).tasks.map((t) => t.status)).toEqual(["completed", "cancelled"])
    }))

  it.effect("a rate limit's key function that throws fails its task", () =>
    Effect.gen(function*() {
      const wf = Workflow.make("bad-key").task("a", {
        rateLimit: {
          limit: 1,
          interval: "1 second",
          key: () => {
            throw new Error("no tenant")
          }
        }
      }, work(1))
      const failed = RunAssertions.failedRun(yield* Effect.exit(Engine.run(wf)))
      expect(failed.failures.map((f) => f.taskId)).toEqual(["a"])
    }))

  it.effect("a limit below 1 or an interval of 0 is an InvalidDefinition naming the task's field", () =>
    Effect.gen(function*() {
      const zero = Workflow.make("z").task("a", { rateLimit: { limit: 0, interval: "1 second" } }, work(1))
      expect(RunAssertions.errorOf(yield* Effect.exit(Engine.run(zero)))).toMatchObject({
        _tag: "InvalidDefinition",
        path: "tasks[0].rateLimit.limit",
        taskId: "a"
      })
      const instant = Workflow.make("i").task("a", { rateLimit: { limit: 1, interval: 0 } }, work(1))
      expect(RunAssertions.errorOf(yield* Effect.exit(Engine.run(instant)))).toMatchObject({
        path: "tasks[0].rateLimit.interval"
      })
    }))

  it.effect("sub-workflow tasks share the value's windows with the parent", () =>
    Effect.gen(function*() {
      const limit: Task.RateLimit = { limit: 1, interval: "1 second" }
      const child = Workflow.make("child").task("inner", { rateLimit: limit }, work(1))
      const parent = Workflow.make("parent").task("outer", { rateLimit: limit }, work(1)).task("sub", child)
      const fiber = yield* Effect.forkChild(Engine.run(parent), { startImmediately: true })
      yield* TestClock.adjust(1001)
      const result = yield* Fiber.join(fiber)
      expect(result.durationMs).toBe(1001)
    }))
})
