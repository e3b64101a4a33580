/**
 * Declared limits hold whatever the strategy and however deep the tasks sit: `parallel` and `auto` never
 * exceed a declared maxParallel, and sub-workflows go through the same preparation as the top-level run,
 * under its limits (slots, pools, per-key counts), with their tasks' pre-run checks. Time is virtual.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import { Engine, Plan, type RunEvent, Task, Workflow, WorkflowError } from "@troupe/core"
import { RunAssertions } from "@troupe/testing"

/** A workflow built in a loop (ids known at run time), as the engine sees it. */
type Loose = Workflow.Workflow<string, void, Readonly<Record<string, unknown>>, unknown, never>

const sleepy = (ms: number) => () => Effect.sleep(`${ms} millis`).pipe(Effect.as(ms))

/** The most handlers in flight at once, counted inside the handlers themselves. */
const inFlight = () => {
  let now = 0
  let max = 0
  const wrap = <A>(effect: Effect.Effect<A>): Effect.Effect<A> =>
    Effect.suspend(() => {
      now++
      max = Math.max(max, now)
      return effect.pipe(Effect.ensuring(Effect.sync(() => now--)))
    })
  return { wrap, max: () => max }
}

const tenTasks = (wrap: <A>(e: Effect.Effect<A>) => Effect.Effect<A>, options: { maxParallel?: number } = {}) => {
  let wf: Workflow.Any = Workflow.make("ten", options)
  for (let i = 0; i < 10; i++) wf = (wf as any).task(`t${i}`, () => wrap(Effect.sleep("10 millis")))
  return wf as unknown as Loose
}

describe("a declared maxParallel holds for every strategy", () => {
  for (const strategy of ["parallel", "auto", "dag"] as const) {
    it.effect(`strategy ${strategy} with the workflow's maxParallel 5 runs at most 5 at once`, () =>
      Effect.gen(function*() {
        const probe = inFlight()
        const exit = yield* RunAssertions.runOnTestClock(
          Engine.run(tenTasks(probe.wrap, { maxParallel: 5 }), undefined, { strategy }),
          { advanceMs: 20 }
        )
        expect(Exit.isSuccess(exit)).toBe(true)
        expect(probe.max()).toBe(5)
      }))
  }

  it.effect("parallel without a declared limit starts everything at once", () =>
    Effect.gen(function*() {
      const probe = inFlight()
      const exit = yield* RunAssertions.runOnTestClock(
        Engine.run(tenTasks(probe.wrap), undefined, { strategy: "parallel" }),
        { advanceMs: 10 }
      )
      expect(Exit.isSuccess(exit)).toBe(true)
      expect(probe.max()).toBe(10)
    }))

  for (const strategy of ["parallel", "auto"] as const) {
    it.effect(`a definition with execution_strategy ${strategy} and max_parallel_tasks 5 runs at most 5 at once`, () =>
      Effect.gen(function*() {
        const probe = inFlight()
        const plan = yield* Plan.fromDefinition({
          id: "defined",
          execution_strategy: strategy,
          max_parallel_tasks: 5,
          tasks: Array.from({ length: 10 }, (_, i) => ({ id: `t${i}`, task_type: "work" }))
        })
        const wf = yield* Workflow.fromPlan(plan, {
          handlers: { work: () => probe.wrap(Effect.sleep("10 millis")) }
        })
        const exit = yield* RunAssertions.runOnTestClock(Engine.run(wf as unknown as Loose), { advanceMs: 20 })
        expect(Exit.isSuccess(exit)).toBe(true)
        expect(probe.max()).toBe(5)
      }))
  }
})

describe("sub-workflows run under the top-level run's limits", () => {
  it.effect("a parent with maxParallel 2 never has more than 2 handlers running across itself and its child", () =>
    Effect.gen(function*() {
      const probe = inFlight()
      const h = () => probe.wrap(Effect.sleep("10 millis"))
      const child = Workflow.make("child").task("c0", h).task("c1", h).task("c2", h).task("c3", h).task("c4", h)
        .task("c5", h).task("c6", h).task("c7", h).task("c8", h)
      const parent = Workflow.make("parent", { maxParallel: 2 })
        .task("p1", () => probe.wrap(Effect.sleep("10 millis")))
        .task("sub", child)
        .task("p2", () => probe.wrap(Effect.sleep("10 millis")))
      const recording = RunAssertions.record()
      const exit = yield* RunAssertions.runOnTestClock(
        Engine.run(parent, undefined, { onEvent: recording.onEvent }),
        { advanceMs: 60 }
      )
      expect(Exit.isSuccess(exit)).toBe(true)
      expect(probe.max()).toBe(2)
      // 11 handlers of 10 ms, 2 at a time: 60 ms (the sub-workflow task itself holds no slot).
      expect(Exit.isSuccess(exit) && exit.value.durationMs).toBe(60)
    }))

  it.effect("with maxParallel 1 a sub-workflow task does not deadlock its own child", () =>
    Effect.gen(function*() {
      const child = Workflow.make("child").task("a", sleepy(10)).task("b", sleepy(10))
      const parent = Workflow.make("parent", { maxParallel: 1 }).task("sub", child).task("after", sleepy(5))
      const exit = yield* RunAssertions.runOnTestClock(Engine.run(parent), { advanceMs: 25 })
      expect(Exit.isSuccess(exit) && exit.value.durationMs).toBe(25)
    }))

  it.effect("a child task naming an unknown resource pool fails before anything runs", () =>
    Effect.gen(function*() {
      let ran = 0
      const child = Workflow.make("child").task("gpuWork", { resources: { gpu: 1 } }, () => Effect.sync(() => ran++))
      const parent = Workflow.make("parent")
        .task("first", () => Effect.sync(() => ran++))
        .task("sub", child, { dependsOn: ["first"] })
      const exit = yield* Effect.exit(Engine.run(parent))
      expect(ran).toBe(0)
      const error = RunAssertions.errorOf(exit)
      expect(error).toBeInstanceOf(WorkflowError.InvalidDefinition)
      expect(error).toMatchObject({ path: "tasks[1].workflow.tasks[0].resources.gpu", taskId: "sub/gpuWork" })
    }))

  it.effect("pools are shared by the parent and its children: one gpu is held by one task at a time", () =>
    Effect.gen(function*() {
      const probe = inFlight()
      const child = Workflow.make("child")
        .task("c1", { resources: { gpu: 1 } }, () => probe.wrap(Effect.sleep("10 millis")))
        .task("c2", () => Effect.sleep("10 millis"))
      const parent = Workflow.make("parent", { resources: { gpu: 1 } })
        .task("p1", { resources: { gpu: 1 } }, () => probe.wrap(Effect.sleep("10 millis")))
        .task("sub", child)
      const exit = yield* RunAssertions.runOnTestClock(Engine.run(parent), { advanceMs: 20 })
      expect(Exit.isSuccess(exit) && exit.value.durationMs).toBe(20)
      expect(probe.max()).toBe(1)
    }))

  it.effect("a pool only a child declares is known to the run", () =>
    Effect.gen(function*() {
      const child = Workflow.make("child", { resources: { db: 1 } })
        .task("q1", { resources: { db: 1 } }, sleepy(10))
        .task("q2", { resources: { db: 1 } }, sleepy(10))
      const parent = Workflow.make("parent").task("sub", child)
      const exit = yield* RunAssertions.runOnTestClock(Engine.run(parent), { advanceMs: 20 })
      expect(Exit.isSuccess(exit) && exit.value.durationMs).toBe(20)
    }))

  it.effect("a task's pre-run check inside a child fails the run before anything runs", () =>
    Effect.gen(function*() {
      let ran = 0
      const checked: Task.Task<number, string> = {
        ...Task.make({}, () => Effect.succeed(1)),
        check: (node) => Effect.fail(`no agent can take ${node.id}`)
      }
      const child = Workflow.make("child").task("agentic", checked)
      const parent = Workflow.make("parent")
        .task("first", () => Effect.sync(() => ran++))
        .task("sub", child, { dependsOn: ["first"] })
      const events: Array<RunEvent.RunEvent> = []
      const exit = yield* Effect.exit(Engine.run(parent, undefined, { onEvent: (e) => events.push(e) }))
      expect(ran).toBe(0)
      expect(events).toEqual([])
      const failed = RunAssertions.failedRun(exit)
      expect(failed.failures.map((f) => f.taskId)).toEqual(["sub/agentic"])
    }))
})

describe("user names are names, not object keys", () => {
  it.effect("a resource pool named toString is unknown when no pool has that name", () =>
    Effect.gen(function*() {
      const wf = Workflow.make("w").task("a", { resources: { toString: 1 } }, () => Effect.succeed(1))
      const error = RunAssertions.errorOf(yield* Effect.exit(Engine.run(wf)))
      expect(error).toMatchObject({ _tag: "InvalidDefinition", path: "tasks[0].resources.toString" })
    }))

  it.effect("a resource pool named toString works when declared", () =>
    Effect.gen(function*() {
      const wf = Workflow.make("w", { resources: { toString: 1 } })
        .task("a", { resources: { toString: 1 } }, sleepy(10))
        .task("b", { resources: { toString: 1 } }, sleepy(10))
      const exit = yield* RunAssertions.runOnTestClock(Engine.run(wf), { advanceMs: 20 })
      expect(Exit.isSuccess(exit) && exit.value.durationMs).toBe(20)
    }))
})
