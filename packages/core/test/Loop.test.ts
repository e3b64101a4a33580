import { describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Exit, Fiber, Result, Schema } from "effect"
import { TestClock } from "effect/testing"
import { Engine, Loop, type RunEvent, Workflow } from "@troupe/core"
import { setFlagsFromString } from "node:v8"
import { runInNewContext } from "node:vm"

class Odd extends Schema.TaggedError<Odd>()("Odd", { n: Schema.Number }) {}

type Iteration = RunEvent.Of<"TaskIteration">

const recorder = () => {
  const events: Array<RunEvent.RunEvent> = []
  return {
    events,
    iterations: (): Array<Pick<Iteration, "iteration" | "status" | "message">> =>
      events
        .filter((e): e is Iteration => e._tag === "TaskIteration")
        .map(({ iteration, message, status }) => (message === undefined ? { iteration, status } : { iteration, status, message })),
    onEvent: (event: RunEvent.RunEvent) => {
      events.push(event)
    }
  }
}

const failureOf = (exit: Exit.Exit<unknown, unknown>): unknown => {
  if (!Exit.isFailure(exit)) throw new Error("expected a failure")
  const error = Cause.findErrorOption(exit.cause)
  if (error._tag === "None") throw new Error("expected a typed failure")
  return error.value
}

describe("Loop.forEach", () => {
  it.effect("outputs the bodies' results in item order and reports every iteration", () =>
    Effect.gen(function*() {
      const rec = recorder()
      const wf = Workflow.make("words")
        .task("list", () => ["a", "bb", "ccc"] as ReadonlyArray<string>)
        .task(
          "lengths",
          { dependsOn: ["list"] },
          Loop.forEach({
            items: ({ list }: { readonly list: ReadonlyArray<string> }) => list,
            concurrency: 2,
            // Later items finish first: the output is still in item order.
            body: (word, index) => Effect.sleep(`${10 * (3 - index)} millis`).pipe(Effect.as(`${index}:${word.length}`))
          })
        )
      const fiber = yield* Effect.forkChild(Engine.run(wf, undefined, { onEvent: rec.onEvent }))
      yield* TestClock.adjust("100 millis")
      const result = yield* Fiber.join(fiber)
      expect(result.outputs.lengths).toStrictEqual(["0:1", "1:2", "2:3"])
      // concurrency 2: item 2 starts when item 1 (20 ms) finishes, and ends 10 ms later.
      expect(result.durationMs).toBe(30)
      expect(rec.iterations()).toStrictEqual([
        { iteration: 0, status: "started" },
        { iteration: 1, status: "started" },
        { iteration: 1, status: "completed" },
        { iteration: 2, status: "started" },
        { iteration: 0, status: "completed" },
        { iteration: 2, status: "completed" }
      ])
      expect(rec.events.filter((e) => e._tag === "TaskIteration").every((e) => e.taskId === "lengths")).toBe(true)
    }))

  it.effect("never runs more than `concurrency` bodies at once", () =>
    Effect.gen(function*() {
      let running = 0
      let peak = 0
      const task = Loop.forEach({
        items: () => Array.from({ length: 20 }, (_, i) => i),
        concurrency: 3,
        body: (n) =>
          Effect.sync(() => {
            running++
            peak = Math.max(peak, running)
          }).pipe(
            Effect.andThen(Effect.sleep(`${1 + (n % 4)} millis`)),
            Effect.ensuring(Effect.sync(() => running--)),
            Effect.as(n * n)
          )
      })
      const fiber = yield* Effect.forkChild(Engine.run(Workflow.make("sq").task("squares", task)))
      yield* TestClock.adjust("1 second")
      const result = yield* Fiber.join(fiber)
      expect(result.outputs.squares).toStrictEqual(Array.from({ length: 20 }, (_, i) => i * i))
      expect(peak).toBe(3)
    }))

  it.effect("fail-fast: the first failure fails the task and interrupts the running iterations", () =>
    Effect.gen(function*() {
      const rec = recorder()
      const finished: Array<number> = []
      const task = Loop.forEach({
        items: () => [0, 1, 2, 3, 4, 5],
        concurrency: 3,
        body: (n) =>
          n === 1
            ? Effect.sleep("5 millis").pipe(Effect.andThen(Effect.fail(new Odd({ n }))))
            : Effect.sleep("20 millis").pipe(Effect.tap(() => Effect.sync(() => finished.push(n))), Effect.as(n))
      })
      const fiber = yield* Effect.forkChild(Effect.exit(Engine.run(Workflow.make("ff").task("each", task), undefined, {
        onEvent: rec.onEvent
      })))
      yield* TestClock.adjust("1 second")
      const exit = yield* Fiber.join(fiber)
      const error = failureOf(exit)
      expect(error).toMatchObject({ _tag: "WorkflowFailed" })
      const failure = (error as { readonly failures: ReadonlyArray<{ readonly cause: Cause.Cause<unknown> }> }).failures[0]!
      expect(Cause.findErrorOption(failure.cause)).toMatchObject({ _tag: "Some", value: new Odd({ n: 1 }) })
      // Items 0 and 2 were interrupted at 5 ms; items 3..5 never started.
      expect(finished).toStrictEqual([])
      expect(rec.iterations()).toStrictEqual([
        { iteration: 0, status: "started" },
        { iteration: 1, status: "started" },
        { iteration: 2, status: "started" },
        { iteration: 1, status: "failed", message: "Odd" },
        { iteration: 0, status: "failed", message: "interrupted" },
        { iteration: 2, status: "failed", message: "interrupted" }
      ])
    }))

  it.effect("continue: every item runs and the output holds a Result per item", () =>
    Effect.gen(function*() {
      const rec = recorder()
      const wf = Workflow.make<"halves", ReadonlyArray<number>>("halves").task(
        "halves",
        Loop.forEach({
          items: ({ input }: { readonly input: ReadonlyArray<number> }) => input,
          concurrency: 2,
          failureMode: "continue",
          body: (n) => (n % 2 === 0 ? Effect.succeed(n / 2) : Effect.fail(new Odd({ n })))
        })
      )
      const result = yield* Engine.run(wf, [2, 3, 4], { onEvent: rec.onEvent })
      expect(result.outputs.halves).toStrictEqual([Result.succeed(1), Result.fail(new Odd({ n: 3 })), Result.succeed(2)])
      expect(rec.iterations().filter((e) => e.status !== "started")).toStrictEqual([
        { iteration: 0, status: "completed" },
        { iteration: 1, status: "failed", message: "Odd" },
        { iteration: 2, status: "completed" }
      ])
    }))

  it.effect("takes items from an Effect and bodies returning Promises (a rejection is a TaskException)", () =>
    Effect.gen(function*() {
      const ok = Loop.forEach({
        items: () => Effect.succeed(new Set([1, 2, 3])),
        body: async (n) => n * 10
      })
      const result = yield* Engine.run(Workflow.make("p").task("tens", ok))
      expect(result.outputs.tens).toStrictEqual([10, 20, 30])

      const rejecting = Loop.forEach({
        items: () => [1],
        body: async (n): Promise<number> => {
          throw new Error(`no ${n}`)
        }
      })
      const exit = yield* Effect.exit(Engine.run(Workflow.make("p").task("tens", rejecting)))
      const failed = failureOf(exit) as { readonly failures: ReadonlyArray<{ readonly cause: Cause.Cause<unknown> }> }
      expect(Cause.findErrorOption(failed.failures[0]!.cause)).toMatchObject({
        _tag: "Some",
        value: { _tag: "TaskException", taskId: "tens" }
      })
    }))

  it.effect("an empty list gives an empty array", () =>
    Effect.gen(function*() {
      const result = yield* Engine.run(Workflow.make("e").task("none", Loop.forEach({ items: () => [], body: (n: number) => n })))
      expect(result.outputs.none).toStrictEqual([])
    }))

  it.effect("10 000 items with concurrency 16 complete with bounded memory", () =>
    Effect.gen(function*() {
      setFlagsFromString("--expose-gc")
      const gc = runInNewContext("gc") as () => void
      let iterationEvents = 0
      let peak = 0
      const task = Loop.forEach({
        items: () => Array.from({ length: 10_000 }, (_, i) => i),
        concurrency: 16,
        body: (n) => Effect.yieldNow.pipe(Effect.as(n + 1))
      })
      const wf = Workflow.make("big").task("each", task)
      gc()
      const before = process.memoryUsage().heapUsed
      const result = yield* Engine.run(wf, undefined, {
        onEvent: (event) => {
          if (event._tag === "TaskIteration" && ++iterationEvents % 1000 === 0) {
            peak = Math.max(peak, process.memoryUsage().heapUsed)
          }
        }
      })
      gc()
      const after = process.memoryUsage().heapUsed
      const growthMb = (after - before) / 1024 / 1024
      console.log(
        `for-each 10 000 items, concurrency 16: heap ${(before / 1048576).toFixed(1)} MB -> ${
          (after / 1048576).toFixed(1)
        } MB (growth ${growthMb.toFixed(2)} MB, output retained; peak during the run ${(peak / 1048576).toFixed(1)} MB)`
      )
      expect(result.outputs.each).toHaveLength(10_000)
      expect(result.outputs.each[9_999]).toBe(10_000)
      expect(iterationEvents).toBe(20_000)
      expect(growthMb).toBeLessThan(50)
    }))
})

describe("Loop.whileLoop / Loop.until", () => {
  it.effect("repeats while the condition holds and outputs the final state", () =>
    Effect.gen(function*() {
      const rec = recorder()
      const wf = Workflow.make<"double", number>("double").task(
        "double",
        Loop.whileLoop({
          initial: ({ input }: { readonly input: number }) => input,
          while: (n) => n < 100,
          body: (n) => Effect.sleep("1 second").pipe(Effect.as(n * 2)),
          maxIterations: 10
        })
      )
      const fiber = yield* Effect.forkChild(Engine.run(wf, 3, { onEvent: rec.onEvent }))
      yield* TestClock.adjust("1 minute")
      const result = yield* Fiber.join(fiber)
      // 3 -> 6 -> 12 -> 24 -> 48 -> 96 -> 192: six iterations, one second each.
      expect(result.outputs.double).toBe(192)
      expect(result.durationMs).toBe(6000)
      expect(rec.iterations()).toStrictEqual(
        [0, 1, 2, 3, 4, 5].flatMap((iteration) => [
          { iteration, status: "started" },
          { iteration, status: "completed" }
        ])
      )
      expect(result.state.tasks.find((t) => t.id === "double")?.iterations).toBe(6)
    }))

  it.effect("runs no iteration when the condition is false at once", () =>
    Effect.gen(function*() {
      const result = yield* Engine.run(
        Workflow.make("zero").task(
          "z",
          Loop.whileLoop({ initial: () => 5, while: () => false, body: (n) => Effect.succeed(n + 1), maxIterations: 0 })
        )
      )
      expect(result.outputs.z).toBe(5)
    }))

  it.effect("allows exactly maxIterations iterations, and fails with LoopLimitExceeded past them", () =>
    Effect.gen(function*() {
      const counting = (limit: number) =>
        Workflow.make("count").task(
          "count",
          Loop.whileLoop({ initial: () => 0, while: (n) => n < 3, body: (n) => Effect.succeed(n + 1), maxIterations: limit })
        )
      const exactly = yield* Engine.run(counting(3))
      expect(exactly.outputs.count).toBe(3)

      const exit = yield* Effect.exit(Engine.run(counting(2)))
      const failed = failureOf(exit) as { readonly failures: ReadonlyArray<{ readonly cause: Cause.Cause<unknown> }> }
      const error = Cause.findErrorOption(failed.failures[0]!.cause)
      expect(error).toMatchObject({ _tag: "Some", value: new Loop.LoopLimitExceeded({ taskId: "count", maxIterations: 2 }) })
      expect(error._tag === "Some" && (error.value as Error).message).toBe(
        `Loop of task "count" exceeded its maximum of 2 iterations`
      )
    }))

  it.effect("until inverts the condition; conditions may be Effects", () =>
    Effect.gen(function*() {
      const checks: Array<number> = []
      const wf = Workflow.make("poll").task(
        "poll",
        Loop.until({
          initial: () => ({ attempts: 0, ready: false }),
          until: (state, i) => Effect.sync(() => checks.push(i)).pipe(Effect.as(state.ready)),
          body: (state) =>
            Effect.sleep("10 seconds").pipe(Effect.as({ attempts: state.attempts + 1, ready: state.attempts + 1 >= 4 })),
          maxIterations: 5
        })
      )
      const fiber = yield* Effect.forkChild(Engine.run(wf))
      yield* TestClock.adjust("1 minute")
      const result = yield* Fiber.join(fiber)
      expect(result.outputs.poll).toStrictEqual({ attempts: 4, ready: true })
      expect(checks).toStrictEqual([0, 1, 2, 3, 4])
      expect(result.durationMs).toBe(40_000)
    }))

  it.effect("a failing body fails the task and reports the iteration as failed", () =>
    Effect.gen(function*() {
      const rec = recorder()
      const wf = Workflow.make("boom").task(
        "b",
        Loop.whileLoop({
          initial: () => 1,
          while: () => true,
          body: (n) => (n >= 2 ? Effect.fail(new Odd({ n })) : Effect.succeed(n + 1)),
          maxIterations: 10
        })
      )
      const exit = yield* Effect.exit(Engine.run(wf, undefined, { onEvent: rec.onEvent }))
      expect(failureOf(exit)).toMatchObject({ _tag: "WorkflowFailed" })
      expect(rec.iterations()).toStrictEqual([
        { iteration: 0, status: "started" },
        { iteration: 0, status: "completed" },
        { iteration: 1, status: "started" },
        { iteration: 1, status: "failed", message: "Odd" }
      ])
    }))

  it("rejects a maxIterations that is not an integer of at least 0", () => {
    const make = (maxIterations: number) => () =>
      Loop.whileLoop({ initial: () => 0, while: () => true, body: Effect.succeed, maxIterations })
    expect(make(-1)).toThrow(RangeError)
    expect(make(1.5)).toThrow(RangeError)
    expect(make(Number.POSITIVE_INFINITY)).toThrow("maxIterations must be an integer of at least 0, got Infinity")
  })
})
