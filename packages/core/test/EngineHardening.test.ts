/**
 * User code and odd values never crash the process, hang a run or leave it without an end (issue 9):
 * callbacks are isolated, failure values are described without trusting them, a task's bookkeeping failure
 * fails that task (and is retried like any failure), every run ends with exactly one terminal event
 * whatever ends it, numeric options are checked, and user names are names (`__proto__` is a task id).
 * Vitest fails a file on any uncaught exception, so each test here also proves the process survived.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Logger, Stream } from "effect"
import { TestClock } from "effect/testing"
import { Engine, Plan, Policy, RunEvent, RunState, TaskCache, Workflow, WorkflowError } from "@troupe/core"
import { RunAssertions } from "@troupe/testing"

/** A workflow built in a loop (ids known at run time), as the engine sees it. */
type Loose = Workflow.Workflow<string, void, Readonly<Record<string, unknown>>, unknown, never>


const terminals = (events: ReadonlyArray<RunEvent.RunEvent>) => events.filter(RunEvent.isTerminal)

/** Collects the messages logged while `effect` runs. */
const withLogs = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const logs: Array<string> = []
    const logger = Logger.make(({ message }) => {
      logs.push((Array.isArray(message) ? message : [message]).map(String).join(" "))
    })
    const exit = yield* Effect.exit(effect.pipe(Effect.provide(Logger.layer([logger]))))
    return { exit, logs }
  })

const hostile = {
  nullProto: () => Object.create(null) as object,
  throwingToString: () => ({
    toString() {
      throw new Error("toString is a trap")
    }
  }),
  proxy: () =>
    new Proxy({}, {
      get() {
        throw new Error("get trap")
      },
      has() {
        throw new Error("has trap")
      },
      getPrototypeOf() {
        throw new Error("prototype trap")
      }
    })
}

describe("user callbacks are isolated", () => {
  it.effect("an onEvent that throws is reported, detached, and the run completes", () =>
    Effect.gen(function*() {
      let calls = 0
      const wf = Workflow.make("w")
        .task("a", () => Effect.sleep("1 millis").pipe(Effect.as(1)))
        .task("b", { dependsOn: ["a"] }, async ({ a }) => a + 1)
      const { exit, logs } = yield* withLogs(
        RunAssertions.runOnTestClock(
          Engine.run(wf, undefined, {
            onEvent: () => {
              calls++
              throw new Error("subscriber bug")
            }
          }),
          { advanceMs: 1 }
        ).pipe(Effect.flatten)
      )
      expect(Exit.isSuccess(exit) && exit.value.outputs).toEqual({ a: 1, b: 2 })
      expect(calls).toBe(1)
      expect(logs.some((l) => l.includes("onEvent callback threw (subscriber bug)"))).toBe(true)
    }))

  it.effect("an onProgress that throws after an asynchronous task (in a fiber observer) is detached", () =>
    Effect.gen(function*() {
      const seen: Array<string> = []
      const wf = Workflow.make("w")
        .task("a", () => Effect.sleep("5 millis").pipe(Effect.as(1)))
        .task("b", { dependsOn: ["a"] }, () => Effect.sleep("5 millis").pipe(Effect.as(2)))
      const exit = yield* RunAssertions.runOnTestClock(
        Engine.run(wf, undefined, {
          onEvent: (e) => seen.push(e._tag),
          onProgress: (_p, e) => {
            if (e._tag === "TaskCompleted") throw hostile.throwingToString()
          }
        }),
        { advanceMs: 10 }
      )
      expect(Exit.isSuccess(exit)).toBe(true)
      // onEvent (another callback) still sees everything
      expect(seen).toEqual([
        "RunStarted", "TaskStarted", "TaskCompleted", "TaskStarted", "TaskCompleted", "RunCompleted"
      ])
    }))

  it.effect("a cache key function that throws fails its task, at run start and after an async task", () =>
    Effect.gen(function*() {
      const wf = Workflow.make("w")
        .task("first", { cache: { key: () => { throw new Error("key bug") } } }, () => Effect.succeed(1))
        .task("slow", () => Effect.sleep("5 millis").pipe(Effect.as(2)))
        .task("later", {
          dependsOn: ["slow"],
          cache: { key: () => { throw hostile.nullProto() } }
        }, () => Effect.succeed(3))
      const events: Array<RunEvent.RunEvent> = []
      const exit = yield* RunAssertions.runOnTestClock(
        Engine.run(wf, undefined, { failureMode: "continue", onEvent: (e) => events.push(e) }).pipe(
          Effect.provide(TaskCache.layerMemory())
        ),
        { advanceMs: 5 }
      )
      const failed = RunAssertions.failedRun(exit)
      expect(failed.failures.map((f) => f.taskId).sort()).toEqual(["first", "later"])
      expect(events.filter((e) => e._tag === "TaskFailed").map((e) => (e as { message: string }).message)).toEqual([
        "Error: key bug",
        "Error: {}"
      ])
      expect(terminals(events).map((e) => e._tag)).toEqual(["RunFailed"])
    }))

  it.effect("hashing a 10 000-deep dependency output for a cache key fails the dependant, not the process", () =>
    Effect.gen(function*() {
      const deep = () => {
        let v: unknown = 0
        for (let i = 0; i < 10_000; i++) v = { v }
        return v
      }
      const wf = Workflow.make("w")
        .task("deep", { cache: false }, () => Effect.sleep("1 millis").pipe(Effect.as(deep())))
        .task("user", { dependsOn: ["deep"] }, () => Effect.succeed("ok"))
      const exit = yield* RunAssertions.runOnTestClock(
        Engine.run(wf).pipe(Effect.provide(TaskCache.layerMemory())),
        { advanceMs: 1 }
      )
      if (Exit.isSuccess(exit)) {
        // a hasher that copes with the depth is fine too
        expect(exit.value.outputs.user).toBe("ok")
      } else {
        expect(RunAssertions.failedRun(exit).failures.map((f) => f.taskId)).toEqual(["user"])
      }
    }))
})

describe("hostile failure values", () => {
  for (const [name, make] of Object.entries(hostile)) {
    it.effect(`a task failing with ${name} fails normally; with a retry policy it is retried and kept`, () =>
      Effect.gen(function*() {
        const value = make()
        let attempts = 0
        const wf = Workflow.make("w").task("bad", {
          retry: Policy.fixed({ maxRetries: 2, initialDelay: "1 millis" })
        }, () => Effect.suspend(() => (attempts++, Effect.fail(value))))
        const events: Array<RunEvent.RunEvent> = []
        const exit = yield* RunAssertions.runOnTestClock(
          Engine.run(wf, undefined, { onEvent: (e) => events.push(e) }),
          { advanceMs: 2 }
        )
        expect(attempts).toBe(3)
        const failed = RunAssertions.failedRun(exit)
        expect(RunAssertions.taskError(failed, "bad")).toBe(value)
        const retrying = events.filter((e) => e._tag === "TaskRetrying")
        expect(retrying).toHaveLength(2)
        const failedEvent = events.find((e) => e._tag === "TaskFailed") as RunEvent.Of<"TaskFailed">
        expect(typeof failedEvent.message).toBe("string")
        expect(terminals(events).map((e) => e._tag)).toEqual(["RunFailed"])
      }))

    it.effect(`a task failing asynchronously with ${name} (a rejected Promise) fails normally`, () =>
      Effect.gen(function*() {
        const value = make()
        const wf = Workflow.make("w").task("bad", () => Promise.reject(value))
        const events: Array<RunEvent.RunEvent> = []
        const exit = yield* Effect.exit(Engine.run(wf, undefined, { onEvent: (e) => events.push(e) }))
        expect(Exit.isFailure(exit)).toBe(true)
        expect(terminals(events).map((e) => e._tag)).toEqual(["RunFailed"])
      }))
  }

  it.effect("a handler that returns a hostile Proxy fails its task", () =>
    Effect.gen(function*() {
      const wf = Workflow.make("w").task("bad", () => hostile.proxy() as unknown as Loose)
      const exit = yield* Effect.exit(Engine.run(wf))
      expect(Exit.isFailure(exit)).toBe(true)
    }))
})

describe("every run ends with exactly one terminal event", () => {
  it.effect("Effect.timeout around run: RunCancelled once, the folded state is not running", () =>
    Effect.gen(function*() {
      const wf = Workflow.make("slow")
        .task("a", () => Effect.sleep("10 seconds"))
        .task("b", { dependsOn: ["a"] }, () => Effect.sleep("10 seconds"))
      const events: Array<RunEvent.RunEvent> = []
      const fiber = yield* Effect.forkChild(
        Effect.exit(Engine.run(wf, undefined, { onEvent: (e) => events.push(e) }).pipe(Effect.timeout("1 second"))),
        { startImmediately: true }
      )
      yield* TestClock.adjust("1 second")
      const exit = yield* Fiber.join(fiber)
      expect(Exit.isFailure(exit)).toBe(true)
      expect(terminals(events).map((e) => e._tag)).toEqual(["RunCancelled"])
      expect(events.at(-1)!._tag).toBe("RunCancelled")
      const state = RunState.fold(Plan.fromWorkflow(wf), events[0]!.runId, events)
      expect(state.status).toBe("cancelled")
      expect(state.tasks.map((t) => t.status)).toEqual(["cancelled", "cancelled"])
    }))

  it.effect("the fiber that called start ends: handle.events completes with one RunCancelled", () =>
    Effect.gen(function*() {
      const wf = Workflow.make("slow").task("a", () => Effect.sleep("10 seconds"))
      let handle: Engine.RunHandle<unknown, unknown> | undefined
      const caller = yield* Effect.forkChild(
        Effect.gen(function*() {
          handle = yield* Engine.start(wf)
          yield* Effect.sleep("1 second")
        }),
        { startImmediately: true }
      )
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(caller)
      const events = yield* Stream.runCollect(handle!.events)
      expect(terminals(events).map((e) => e._tag)).toEqual(["RunCancelled"])
      expect((yield* handle!.state).status).toBe("cancelled")
    }))

  it.effect("a subscriber that joins after a cancelled run ended (replay 0) still gets its end", () =>
    Effect.gen(function*() {
      const wf = Workflow.make("slow").task("a", () => Effect.sleep("10 seconds"))
      const handle = yield* Engine.start(wf, undefined, { replay: 0 })
      yield* handle.cancel
      yield* Effect.exit(handle.await)
      const events = yield* Stream.runCollect(handle.events)
      expect(events.map((e) => e._tag)).toEqual(["RunCancelled"])
    }))
})

describe("numeric options are checked", () => {
  const wf = Workflow.make("w").task("a", () => Effect.succeed(1))
  const cases: ReadonlyArray<readonly [string, Engine.RunOptions, string]> = [
    ["maxParallel NaN", { maxParallel: Number.NaN }, "RunOptions.maxParallel"],
    ["maxParallel 0", { maxParallel: 0 }, "RunOptions.maxParallel"],
    ["maxParallel 1.5", { maxParallel: 1.5 }, "RunOptions.maxParallel"],
    ["perKeyLimit -1", { perKeyLimit: -1 }, "RunOptions.perKeyLimit"],
    ["replay NaN", { replay: Number.NaN }, "RunOptions.replay"],
    ["deadline NaN", { deadline: Number.NaN }, "RunOptions.deadline"],
    ["deadline -5", { deadline: -5 }, "RunOptions.deadline"],
    ["resources NaN", { resources: { gpu: Number.NaN } }, "RunOptions.resources.gpu"],
    ["strategy", { strategy: "fast" as never }, "RunOptions.strategy"]
  ]
  for (const [name, options, path] of cases) {
    it.effect(`${name} is an InvalidDefinition naming ${path}`, () =>
      Effect.gen(function*() {
        const error = RunAssertions.errorOf(yield* Effect.exit(Engine.run(wf, undefined, options)))
        expect(error).toBeInstanceOf(WorkflowError.InvalidDefinition)
        expect(error).toMatchObject({ path })
      }))
  }

  it.effect("maxRetries NaN is an InvalidDefinition naming the task's retry", () =>
    Effect.gen(function*() {
      const bad = Workflow.make("w").task("a", { retry: Policy.fixed({ maxRetries: Number.NaN }) }, () => Effect.fail(1))
      const error = RunAssertions.errorOf(yield* Effect.exit(Engine.run(bad)))
      expect(error).toMatchObject({ _tag: "InvalidDefinition", path: "tasks[0].retry.maxRetries", taskId: "a" })
    }))

  it.effect("a workflow's maxParallel NaN is an InvalidDefinition, and so is one in a sub-workflow", () =>
    Effect.gen(function*() {
      const bad = Workflow.make("w", { maxParallel: Number.NaN }).task("a", () => Effect.succeed(1))
      expect(RunAssertions.errorOf(yield* Effect.exit(Engine.run(bad)))).toMatchObject({ path: "maxParallel" })
      const parent = Workflow.make("p").task("x", () => Effect.succeed(0)).task("sub", bad)
      expect(RunAssertions.errorOf(yield* Effect.exit(Engine.run(parent)))).toMatchObject({
        path: "tasks[1].workflow.maxParallel"
      })
    }))
})

describe("task ids are names, not object keys", () => {
  it.effect("a task id __proto__ is in result.outputs and in the context of its dependants", () =>
    Effect.gen(function*() {
      const wf = Workflow.make("w")
        .task("__proto__", () => Effect.succeed({ polluted: true }))
        .task("after", { dependsOn: ["__proto__"] }, (ctx: any) => Effect.succeed(ctx["__proto__"]))
      const result = yield* Engine.run(wf as unknown as Loose)
      const outputs = result.outputs as Record<string, unknown>
      expect(Object.prototype.hasOwnProperty.call(outputs, "__proto__")).toBe(true)
      expect(Object.getOwnPropertyDescriptor(outputs, "__proto__")!.value).toEqual({ polluted: true })
      expect(outputs.after).toEqual({ polluted: true })
      expect((outputs as { polluted?: unknown }).polluted).toBeUndefined()
    }))

  it.effect("a dependency named __proto__ counts in its dependants' cache keys", () =>
    Effect.gen(function*() {
      const make = (value: number) =>
        Workflow.make("w")
          .task("__proto__", { cache: false }, () => Effect.succeed(value))
          .task("after", { dependsOn: ["__proto__"] }, (ctx: any) => Effect.succeed(ctx["__proto__"] * 10))
      const [first, second] = yield* Effect.all([
        Engine.run(make(1) as unknown as Loose),
        Effect.suspend(() => Engine.run(make(2) as unknown as Loose))
      ]).pipe(Effect.provide(TaskCache.layerMemory()))
      expect((first.outputs as Record<string, unknown>).after).toBe(10)
      expect((second.outputs as Record<string, unknown>).after).toBe(20)
    }))
})

