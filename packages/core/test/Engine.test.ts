/**
 * Example-based tests of the engine: conditions, handler kinds, retries, timeouts, sub-workflows, the run
 * handle, strategies, the immutability of workflows and Plans, progress and spans. Time is virtual
 * (TestClock); every timestamp asserted below is exact.
 */
import { describe, expect, it } from "@effect/vitest"
import { Context, Data, Effect, Exit, Fiber, Option, Stream, Tracer } from "effect"
import { TestClock } from "effect/testing"
import { Engine, Plan, type RunEvent, type RunState, Workflow, WorkflowError } from "@troupe/core"
import { RunAssertions } from "@troupe/testing"
const { errorOf, taskError } = RunAssertions

class Boom extends Data.TaggedError("Boom")<{ readonly n: number }> {}

/** `"<at> <tag> <task>[ extra]"` per event: compact and exact. */
const lines = (events: ReadonlyArray<RunEvent.RunEvent>): ReadonlyArray<string> =>
  events.map((e) => {
    const task = "taskId" in e ? ` ${e.taskId}` : ""
    const extra = e._tag === "TaskStarted" || e._tag === "TaskRetrying"
      ? ` #${e.attempt}${e._tag === "TaskRetrying" ? ` +${e.delayMs}` : ""}`
      : e._tag === "TaskSkipped" || e._tag === "TaskCancelled"
      ? ` (${e.reason})`
      : ""
    return `${e.at} ${e._tag}${task}${extra}`
  })

const statusOf = (state: RunState.RunState, id: string) => state.tasks.find((t) => t.id === id)?.status



describe("conditions", () => {
  const make = (threshold: number) =>
    Workflow.make("cond")
      .task("a", () => Effect.succeed(1))
      .task("b", { dependsOn: ["a"], when: ({ a }) => a > threshold }, ({ a }) => Effect.succeed(a * 10))
      .task("c", { dependsOn: ["b"] }, ({ b }) => Effect.succeed(b + 1))
      .task(
        "d",
        { dependsOn: ["b"], runIfSkipped: true },
        ({ b }) => Effect.succeed(b === undefined ? "without b" : `with ${b}`)
      )

  it.effect("a false condition skips the task with a reason, and its dependants; runIfSkipped runs anyway", () =>
    Effect.gen(function*() {
      const recording = RunAssertions.record()
      const result = yield* Engine.run(make(5), undefined, { onEvent: recording.onEvent })
      expect(result.outputs).toStrictEqual({ a: 1, d: "without b" })
      expect(lines(recording.events)).toStrictEqual([
        "0 RunStarted",
        "0 TaskStarted a #1",
        "0 TaskCompleted a",
        "0 TaskSkipped b (condition was false)",
        "0 TaskSkipped c (dependency \"b\" was skipped)",
        "0 TaskStarted d #1",
        "0 TaskCompleted d",
        "0 RunCompleted"
      ])
      expect(statusOf(result.state, "b")).toBe("skipped")
      expect(result.state.tasks.find((t) => t.id === "b")?.reason).toBe("condition was false")
      expect(statusOf(result.state, "c")).toBe("skipped")
      expect(result.state.status).toBe("completed")
    }))

  it.effect("a true condition runs the task and its dependants", () =>
    Effect.gen(function*() {
      const result = yield* Engine.run(make(0))
      expect(result.outputs).toStrictEqual({ a: 1, b: 10, c: 11, d: "with 10" })
    }))

  it.effect("conditions may be Effects, read services, and take time", () =>
    Effect.gen(function*() {
      const Enabled = Context.Reference<boolean>("test/Enabled", { defaultValue: () => false })
      const wf = Workflow.make("effectful")
        .task("gate", {
          when: () => Effect.sleep("50 millis").pipe(Effect.andThen(Effect.gen(function*() {
            return yield* Enabled
          })))
        }, () => Effect.succeed("ran"))
        .task("next", { dependsOn: ["gate"] }, ({ gate }) => Effect.succeed(`${gate}!`))
      const off = yield* RunAssertions.runOnTestClock(Engine.run(wf), { advanceMs: 50 })
      expect(Exit.isSuccess(off) && off.value.outputs).toStrictEqual({})
      const on = yield* RunAssertions.runOnTestClock(
        Engine.run(wf).pipe(Effect.provideService(Enabled, true)),
        { advanceMs: 50 }
      )
      expect(Exit.isSuccess(on) && on.value.outputs).toStrictEqual({ gate: "ran", next: "ran!" })
      expect(Exit.isSuccess(on) && on.value.durationMs).toBe(50)
    }))
})

describe("failure modes", () => {
  const wf = Workflow.make("failing")
    .task("bad", () => Effect.sleep("10 millis").pipe(Effect.andThen(Effect.fail(new Boom({ n: 1 })))))
    .task("slow", () => Effect.sleep("50 millis").pipe(Effect.as("slow")))
    .task("child", { dependsOn: ["bad"] }, () => Effect.succeed("child"))
    .task("grandchild", { dependsOn: ["child"], runIfSkipped: true }, () => Effect.succeed("grandchild"))
    .task("rescue", { dependsOn: ["bad"], runIfSkipped: true }, () => Effect.succeed("rescue"))
    .task("other", { dependsOn: ["slow"] }, ({ slow }) => Effect.succeed(`${slow}!`))

  it.effect("fail-fast interrupts running tasks, cancels the rest, and fails the run", () =>
    Effect.gen(function*() {
      const recording = RunAssertions.record()
      const exit = yield* RunAssertions.runOnTestClock(Engine.run(wf, undefined, { onEvent: recording.onEvent }), {
        advanceMs: 10
      })
      const failed = errorOf(exit) as WorkflowError.WorkflowFailed<Boom>
      expect(failed.failures.map((f) => f.taskId)).toStrictEqual(["bad"])
      expect(lines(recording.events)).toStrictEqual([
        "0 RunStarted",
        "0 TaskStarted bad #1",
        "0 TaskStarted slow #1",
        "10 TaskFailed bad",
        "10 TaskCancelled slow (task \"bad\" failed)",
        "10 TaskCancelled child (task \"bad\" failed)",
        "10 TaskCancelled grandchild (task \"bad\" failed)",
        "10 TaskCancelled rescue (task \"bad\" failed)",
        "10 TaskCancelled other (task \"bad\" failed)",
        "10 RunFailed"
      ])
    }))

  it.effect("continue skips every descendant of a failed task, even through runIfSkipped, and runs the rest", () =>
    Effect.gen(function*() {
      const recording = RunAssertions.record()
      const exit = yield* RunAssertions.runOnTestClock(
        Engine.run(wf, undefined, { failureMode: "continue", onEvent: recording.onEvent }),
        { advanceMs: 50 }
      )
      const failed = errorOf(exit) as WorkflowError.WorkflowFailed<Boom>
      expect(failed.failures.map((f) => f.taskId)).toStrictEqual(["bad"])
      RunAssertions.assertSameSet("skipped", RunAssertions.idsWith(recording.events, "skipped"), [
        "child",
        "grandchild",
        "rescue"
      ])
      expect(failed.outputs).toStrictEqual({ slow: "slow", other: "slow!" })
    }))
})

describe("handlers", () => {
  it.effect("Promise handlers (sync and async) produce outputs", () =>
    Effect.gen(function*() {
      const wf = Workflow.make("promises")
        .task("p", () => Promise.resolve(41))
        .task("q", { dependsOn: ["p"] }, async ({ p }) => p + 1)
        .task("plain", { dependsOn: ["q"] }, ({ q }) => `q=${q}`)
      const result = yield* Engine.run(wf)
      expect(result.outputs).toStrictEqual({ p: 41, q: 42, plain: "q=42" })
    }))

  it.effect("a rejected Promise fails the task with TaskException", () =>
    Effect.gen(function*() {
      const recording = RunAssertions.record()
      const wf = Workflow.make("rejects").task("bad", () => Promise.reject(new Error("boom")))
      const exit = yield* Effect.exit(Engine.run(wf, undefined, { onEvent: recording.onEvent }))
      const failed = errorOf(exit)
      expect(failed).toBeInstanceOf(WorkflowError.WorkflowFailed)
      const error = taskError(failed as WorkflowError.WorkflowFailed<unknown>, "bad")
      expect(error).toBeInstanceOf(WorkflowError.TaskException)
      expect((error as WorkflowError.TaskException).taskId).toBe("bad")
      expect(((error as WorkflowError.TaskException).cause as Error).message).toBe("boom")
      const event = recording.events.find((e) => e._tag === "TaskFailed") as RunEvent.Of<"TaskFailed">
      expect(event.message).toBe("Task \"bad\" threw: boom")
    }))
})

describe("retries and timeouts", () => {
  it.effect("retries with TaskRetrying events and exact, capped exponential delays", () =>
    Effect.gen(function*() {
      let calls = 0
      const recording = RunAssertions.record()
      const wf = Workflow.make("retry").task(
        "flaky",
        { retry: { maxRetries: 3, initialDelay: "100 millis", backoffMultiplier: 2, maxDelay: "300 millis" } },
        () =>
          Effect.sleep("10 millis").pipe(
            Effect.andThen(Effect.suspend(() => ++calls < 4 ? Effect.fail(new Boom({ n: calls })) : Effect.succeed("ok")))
          )
      )
      const exit = yield* RunAssertions.runOnTestClock(Engine.run(wf, undefined, { onEvent: recording.onEvent }), {
        advanceMs: 640
      })
      expect(calls).toBe(4)
      expect(lines(recording.events)).toStrictEqual([
        "0 RunStarted",
        "0 TaskStarted flaky #1",
        "10 TaskRetrying flaky #1 +100",
        "110 TaskStarted flaky #2",
        "120 TaskRetrying flaky #2 +200",
        "320 TaskStarted flaky #3",
        "330 TaskRetrying flaky #3 +300",
        "630 TaskStarted flaky #4",
        "640 TaskCompleted flaky",
        "640 RunCompleted"
      ])
      const result = yield* exit
      const task = result.state.tasks[0]!
      expect(task).toMatchObject({ status: "completed", attempts: 4, retries: 3, startedAt: 0, durationMs: 640 })
      expect(recording.events.find((e) => e._tag === "TaskCompleted")).toMatchObject({ attempts: 4, durationMs: 640 })
    }))

  it.effect("a task that keeps failing fails after maxRetries retries, with its last error", () =>
    Effect.gen(function*() {
      let calls = 0
      const recording = RunAssertions.record()
      const wf = Workflow.make("exhaust").task(
        "always",
        { retry: { maxRetries: 2, initialDelay: "5 millis", backoffMultiplier: 1 } },
        () => Effect.suspend(() => Effect.fail(new Boom({ n: ++calls })))
      )
      const exit = yield* RunAssertions.runOnTestClock(Engine.run(wf, undefined, { onEvent: recording.onEvent }), {
        advanceMs: 10
      })
      expect(calls).toBe(3)
      const failed = errorOf(exit) as WorkflowError.WorkflowFailed<Boom>
      expect(taskError(failed, "always")).toStrictEqual(new Boom({ n: 3 }))
      expect(recording.events.find((e) => e._tag === "TaskFailed")).toMatchObject({ attempts: 3, at: 10 })
      expect(recording.events.filter((e) => e._tag === "TaskRetrying").map((e) => e.at)).toStrictEqual([0, 5])
    }))

  it.effect("a task that runs too long fails with TaskTimeout at its timeout", () =>
    Effect.gen(function*() {
      const recording = RunAssertions.record()
      const wf = Workflow.make("slow")
        .task("slow", { timeout: "1 second" }, () => Effect.sleep("1 hour").pipe(Effect.as("late")))
        .task("after", { dependsOn: ["slow"] }, () => Effect.succeed("never"))
      const exit = yield* RunAssertions.runOnTestClock(Engine.run(wf, undefined, { onEvent: recording.onEvent }), {
        advanceMs: 1000
      })
      const failed = errorOf(exit) as WorkflowError.WorkflowFailed<unknown>
      const error = taskError(failed, "slow")
      expect(error).toBeInstanceOf(WorkflowError.TaskTimeout)
      expect(error).toMatchObject({ taskId: "slow", timeoutMs: 1000 })
      expect(recording.events.find((e) => e._tag === "TaskFailed")).toMatchObject({ taskId: "slow", at: 1000 })
      expect(failed.completed).toStrictEqual([])
    }))

  it.effect("the timeout covers all attempts and the delays between them", () =>
    Effect.gen(function*() {
      let calls = 0
      const wf = Workflow.make("slow-retries").task(
        "t",
        { timeout: "1 second", retry: { maxRetries: 10, initialDelay: "50 millis", backoffMultiplier: 1 } },
        () => Effect.sleep("400 millis").pipe(Effect.andThen(Effect.suspend(() => Effect.fail(new Boom({ n: ++calls })))))
      )
      const exit = yield* RunAssertions.runOnTestClock(Engine.run(wf), { advanceMs: 1000 })
      // attempts: 0–400, 450–850, 900– (cut at 1000)
      expect(calls).toBe(2)
      expect(taskError(errorOf(exit) as WorkflowError.WorkflowFailed<unknown>, "t")).toBeInstanceOf(
        WorkflowError.TaskTimeout
      )
    }))
})

describe("sub-workflows", () => {
  const child = Workflow.make<"child", number>("child")
    .task("double", ({ input }) => Effect.succeed(input * 2))
    .task("inc", { dependsOn: ["double"] }, ({ double }) => Effect.sleep("5 millis").pipe(Effect.as(double + 1)))

  it.effect("a sub-workflow's outputs are the task's output", () =>
    Effect.gen(function*() {
      const parent = Workflow.make("parent")
        .task("seed", () => Effect.succeed(20))
        .task("sub", child, { dependsOn: ["seed"], input: ({ seed }) => seed })
        .task("after", { dependsOn: ["sub"] }, ({ sub }) => Effect.succeed(sub.inc + 1))
      const exit = yield* RunAssertions.runOnTestClock(Engine.run(parent), { advanceMs: 5 })
      const result = yield* exit
      expect(result.outputs).toStrictEqual({ seed: 20, sub: { double: 40, inc: 41 }, after: 42 })
      expect(result.durationMs).toBe(5)
    }))

  it.effect("a failing sub-workflow fails its task with the child's WorkflowFailed", () =>
    Effect.gen(function*() {
      const failing = Workflow.make("failing-child")
        .task("ok", () => Effect.succeed(1))
        .task("bad", { dependsOn: ["ok"] }, () => Effect.fail(new Boom({ n: 7 })))
      const parent = Workflow.make("parent")
        .task("sub", failing, { input: () => undefined })
        .task("after", { dependsOn: ["sub"] }, () => Effect.succeed("never"))
      const exit = yield* Effect.exit(Engine.run(parent, undefined, { failureMode: "continue" }))
      const failed = errorOf(exit) as WorkflowError.WorkflowFailed<unknown>
      expect(failed.failures.map((f) => f.taskId)).toStrictEqual(["sub"])
      const inner = taskError(failed, "sub") as WorkflowError.WorkflowFailed<unknown>
      expect(inner).toBeInstanceOf(WorkflowError.WorkflowFailed)
      expect(inner.workflow).toBe("failing-child")
      expect(inner.completed).toStrictEqual(["ok"])
      expect(taskError(inner, "bad")).toStrictEqual(new Boom({ n: 7 }))
    }))
})

describe("Engine.start", () => {
  const wf = Workflow.make("handle")
    .task("a", () => Effect.sleep("10 millis").pipe(Effect.as(1)))
    .task("b", { dependsOn: ["a"] }, ({ a }) => Effect.sleep("20 millis").pipe(Effect.as(a + 1)))

  it.effect("events, state and progress follow the run; the stream ends with RunCompleted", () =>
    Effect.gen(function*() {
      const handle = yield* Engine.start(wf)
      const live = yield* Effect.forkChild(Stream.runCollect(handle.events), { startImmediately: true })
      expect(yield* handle.progress).toMatchObject({ total: 2, running: 1, pending: 1, completed: 0, percent: 0 })
      yield* TestClock.adjust("10 millis")
      const mid = yield* handle.state
      expect(mid.status).toBe("running")
      expect(statusOf(mid, "a")).toBe("completed")
      expect(statusOf(mid, "b")).toBe("running")
      expect(yield* handle.progress).toMatchObject({ completed: 1, running: 1, pending: 0, percent: 50 })
      yield* TestClock.adjust("20 millis")
      const result = yield* handle.await
      expect(result.outputs).toStrictEqual({ a: 1, b: 2 })
      expect(result.runId).toBe(handle.runId)
      const expected = [
        "0 RunStarted",
        "0 TaskStarted a #1",
        "10 TaskCompleted a",
        "10 TaskStarted b #1",
        "30 TaskCompleted b",
        "30 RunCompleted"
      ]
      expect(lines(yield* Fiber.join(live))).toStrictEqual(expected)
      // A late subscriber gets the whole run, and the stream ends.
      expect(lines(yield* Stream.runCollect(handle.events))).toStrictEqual(expected)
      expect(yield* handle.progress).toMatchObject({ completed: 2, running: 0, pending: 0, percent: 100 })
      expect((yield* handle.state).status).toBe("completed")
    }))

  it.effect("cancel interrupts running tasks (their finalizers run), cancels the rest, and await fails", () =>
    Effect.gen(function*() {
      let finalized = false
      const stuck = Workflow.make("stuck")
        .task("quick", () => Effect.sleep("5 millis").pipe(Effect.as("done")))
        .task("forever", () => Effect.never.pipe(Effect.ensuring(Effect.sync(() => void (finalized = true)))))
        .task("later", { dependsOn: ["forever"] }, () => Effect.succeed("never"))
      const handle = yield* Engine.start(stuck)
      yield* TestClock.adjust("100 millis")
      expect(statusOf(yield* handle.state, "forever")).toBe("running")
      yield* handle.cancel
      const exit = yield* Effect.exit(handle.await)
      const error = errorOf(exit)
      expect(error).toBeInstanceOf(WorkflowError.WorkflowCancelled)
      expect((error as WorkflowError.WorkflowCancelled).completed).toStrictEqual(["quick"])
      expect(finalized).toBe(true)
      const state = yield* handle.state
      expect(state.status).toBe("cancelled")
      expect(state.tasks.map((t) => [t.id, t.status])).toStrictEqual([
        ["quick", "completed"],
        ["forever", "cancelled"],
        ["later", "cancelled"]
      ])
      const events = yield* Stream.runCollect(handle.events)
      expect(events[events.length - 1]!._tag).toBe("RunCancelled")
      expect(events[events.length - 1]!.at).toBe(100)
    }))

  it.effect("interrupting Engine.run interrupts its running tasks", () =>
    Effect.gen(function*() {
      let finalized = false
      const stuck = Workflow.make("stuck").task(
        "forever",
        () => Effect.never.pipe(Effect.ensuring(Effect.sync(() => void (finalized = true))))
      )
      const fiber = yield* Effect.forkChild(Engine.run(stuck), { startImmediately: true })
      yield* TestClock.adjust("1 second")
      yield* Fiber.interrupt(fiber)
      expect(finalized).toBe(true)
    }))
})

describe("strategies", () => {
  const independent = Workflow.make("independent")
    .task("low", { priority: 1 }, () => Effect.sleep("10 millis"))
    .task("high", { priority: 9 }, () => Effect.sleep("10 millis"))
    .task("mid", { priority: 5 }, () => Effect.sleep("10 millis"))

  const startTimes = (events: ReadonlyArray<RunEvent.RunEvent>) =>
    events.flatMap((e) => (e._tag === "TaskStarted" ? [`${e.taskId}@${e.at}`] : []))

  it.effect("sequential runs one task at a time, by priority", () =>
    Effect.gen(function*() {
      const recording = RunAssertions.record()
      const exit = yield* RunAssertions.runOnTestClock(
        Engine.run(independent, undefined, { strategy: "sequential", onEvent: recording.onEvent }),
        { advanceMs: 30 }
      )
      expect((yield* exit).durationMs).toBe(30)
      expect(startTimes(recording.events)).toStrictEqual(["high@0", "mid@10", "low@20"])
      RunAssertions.assertConcurrencyAtMost(recording.events, 1)
    }))

  it.effect("the workflow's maxParallel applies unless the run overrides it", () =>
    Effect.gen(function*() {
      const limited = Workflow.make("limited", { maxParallel: 2 })
        .task("a", () => Effect.sleep("10 millis"))
        .task("b", () => Effect.sleep("10 millis"))
        .task("c", () => Effect.sleep("10 millis"))
      const byPlan = yield* RunAssertions.runOnTestClock(Engine.run(limited), { advanceMs: 20 })
      expect((yield* byPlan).durationMs).toBe(20)
      const byRun = yield* RunAssertions.runOnTestClock(Engine.run(limited, undefined, { maxParallel: "unbounded" }), {
        advanceMs: 10
      })
      expect((yield* byRun).durationMs).toBe(10)
    }))

  it.effect("auto picks parallel for independent tasks and sequential for a chain", () =>
    Effect.gen(function*() {
      expect(Plan.recommendStrategy(Plan.fromWorkflow(independent)).strategy).toBe("parallel")
      const recording = RunAssertions.record()
      const exit = yield* RunAssertions.runOnTestClock(
        Engine.run(independent, undefined, { strategy: "auto", onEvent: recording.onEvent }),
        { advanceMs: 10 }
      )
      expect((yield* exit).durationMs).toBe(10)
      expect(startTimes(recording.events)).toStrictEqual(["high@0", "mid@0", "low@0"])

      const chain = Workflow.make("chain")
        .task("one", () => Effect.sleep("10 millis").pipe(Effect.as(1)))
        .task("two", { dependsOn: ["one"] }, ({ one }) => Effect.sleep("10 millis").pipe(Effect.as(one + 1)))
      expect(Plan.recommendStrategy(Plan.fromWorkflow(chain)).strategy).toBe("sequential")
      const chained = yield* RunAssertions.runOnTestClock(Engine.run(chain, undefined, { strategy: "auto" }), {
        advanceMs: 20
      })
      expect((yield* chained).outputs).toStrictEqual({ one: 1, two: 2 })
    }))

  it.effect("auto never runs more tasks at once than an explicit maxParallel", () =>
    Effect.gen(function*() {
      const recording = RunAssertions.record()
      const exit = yield* RunAssertions.runOnTestClock(
        Engine.run(independent, undefined, { strategy: "auto", maxParallel: 1, onEvent: recording.onEvent }),
        { advanceMs: 30 }
      )
      expect(Exit.isSuccess(exit)).toBe(true)
      RunAssertions.assertConcurrencyAtMost(recording.events, 1)
    }))
})

describe("workflow values and Plans", () => {
  it.effect("branching a half-built workflow into two variants does not let one affect the other", () =>
    Effect.gen(function*() {
      const base = Workflow.make("base")
        .task("a", () => Effect.succeed(1))
        .task("x", { priority: 3 }, () => Effect.succeed("x"))
      const baseIds = Plan.fromWorkflow(base).nodes.map((n) => n.id)
      const left = base.task("b", { dependsOn: ["a"] }, ({ a }) => Effect.succeed(a + 1))
      const right = base
        .task("c", { dependsOn: ["a"] }, ({ a }) => Effect.succeed(a * 10))
        .task("b", { dependsOn: ["c"] }, ({ c }) => Effect.succeed(c + 5))
      const ordered = base.dependsOn("a")

      expect(Plan.fromWorkflow(base).nodes.map((n) => n.id)).toStrictEqual(baseIds)
      expect(Plan.fromWorkflow(left).nodes.map((n) => n.id)).toStrictEqual(["a", "x", "b"])
      expect(Plan.fromWorkflow(right).nodes.map((n) => n.id)).toStrictEqual(["a", "x", "c", "b"])
      expect(Plan.fromWorkflow(left).nodes[2]!.dependsOn).toStrictEqual(["a"])
      expect(Plan.fromWorkflow(right).nodes[3]!.dependsOn).toStrictEqual(["c"])
      // .dependsOn on one branch changes only that branch's last task.
      expect(Plan.fromWorkflow(ordered).nodes[1]!.after).toStrictEqual(["a"])
      expect(Plan.fromWorkflow(base).nodes[1]!.after).toStrictEqual([])
      expect(Plan.fromWorkflow(left).nodes[1]!.after).toStrictEqual([])

      expect((yield* Engine.run(left)).outputs).toStrictEqual({ a: 1, x: "x", b: 2 })
      expect((yield* Engine.run(right)).outputs).toStrictEqual({ a: 1, x: "x", c: 10, b: 15 })
      expect((yield* Engine.run(base)).outputs).toStrictEqual({ a: 1, x: "x" })
    }))

  it("Plan.fromWorkflow is deeply frozen and JSON serialisable", () => {
    const wf = Workflow.make("plan", { description: "a plan", metadata: { team: "core" } })
      .task("fetch", {
        description: "fetch things",
        priority: 8,
        timeout: "2 seconds",
        retry: { maxRetries: 2, initialDelay: "100 millis" },
        tags: ["io"],
        capabilities: ["http"],
        parameters: { url: "https://example.com" }
      }, () => Effect.succeed("page"))
      .task("parse", { dependsOn: ["fetch"] }, ({ fetch }) => Effect.succeed(fetch.length))
      .dependsOn("fetch")
      .task("maybe", { when: () => true, cache: { version: 1 } }, () => Effect.succeed(0))
    const plan = Plan.fromWorkflow(wf)
    const notFrozen: Array<string> = []
    const check = (value: unknown, path: string) => {
      if (typeof value !== "object" || value === null) return
      if (!Object.isFrozen(value)) notFrozen.push(path)
      for (const [key, child] of Object.entries(value)) check(child, `${path}.${key}`)
    }
    check(plan, "plan")
    expect(notFrozen).toStrictEqual([])
    expect(() => {
      ;(plan as { name: string }).name = "changed"
    }).toThrow(TypeError)
    expect(() => {
      ;(plan.nodes as Array<unknown>).push({})
    }).toThrow(TypeError)
    const json = JSON.parse(JSON.stringify(plan))
    expect(json).toEqual(plan)
    expect(json.nodes[0]).toMatchObject({
      id: "fetch",
      priority: 8,
      timeoutMs: 2000,
      tags: ["io"],
      capabilities: ["http"],
      parameters: { url: "https://example.com" }
    })
    expect(json.nodes[0].retry).toMatchObject({ maxRetries: 2, initialDelayMs: 100 })
    expect(json.edges).toStrictEqual([
      { from: "fetch", to: "parse", kind: "data" }
    ])
    expect(Plan.fromWorkflow(wf)).toBe(plan)
  })

  it.effect("onProgress reports every event; percent reaches 100", () =>
    Effect.gen(function*() {
      const seen: Array<[number, RunEvent.RunEvent["_tag"]]> = []
      const wf = Workflow.make("progress")
        .task("a", () => Effect.sleep("1 millis"))
        .task("b", { dependsOn: ["a"] }, () => Effect.sleep("1 millis"))
        .task("c", { dependsOn: ["a"], when: () => false }, () => Effect.void)
        .task("d", { dependsOn: ["b"] }, () => Effect.void)
      yield* RunAssertions.runOnTestClock(
        Engine.run(wf, undefined, { onProgress: (progress, event) => void seen.push([progress.percent, event._tag]) }),
        { advanceMs: 2 }
      )
      const percents = seen.map(([p]) => p)
      expect(percents[percents.length - 1]).toBe(100)
      expect(seen[seen.length - 1]![1]).toBe("RunCompleted")
      expect(percents).toStrictEqual([...percents].sort((x, y) => x - y))
      expect(new Set(percents)).toStrictEqual(new Set([0, 25, 50, 75, 100]))
    }))
})

describe("tracing", () => {
  it.effect("every task runs in a span named <workflow>.<task>, under the caller's span", () =>
    Effect.gen(function*() {
      const spans: Array<Tracer.NativeSpan> = []
      const tracer = Tracer.make({
        span(options) {
          const span = new Tracer.NativeSpan(options)
          spans.push(span)
          return span
        }
      })
      const child = Workflow.make("inner").task("leaf", () => Effect.succeed(1))
      const wf = Workflow.make("traced")
        .task("first", () => Effect.succeed(1))
        .task("second", { dependsOn: ["first"] }, () => Effect.succeed(2))
        .task("nested", child, { input: () => undefined })
      yield* Engine.run(wf).pipe(
        Effect.withSpan("caller"),
        Effect.provideService(Tracer.Tracer, tracer)
      )
      const names = spans.map((s) => s.name)
      expect(names).toEqual(expect.arrayContaining(["traced.first", "traced.second", "traced.nested", "inner.leaf"]))
      const byName = new Map(spans.map((s) => [s.name, s]))
      const caller = byName.get("caller")!
      const parentOf = (name: string) => Option.getOrUndefined(byName.get(name)!.parent)?.spanId
      expect(parentOf("traced.first")).toBe(caller.spanId)
      expect(parentOf("inner.leaf")).toBe(byName.get("traced.nested")!.spanId)
      expect(byName.get("traced.first")!.attributes.get("troupe.task")).toBe("first")
      expect(byName.get("traced.first")!.status._tag).toBe("Ended")
    }))
})
