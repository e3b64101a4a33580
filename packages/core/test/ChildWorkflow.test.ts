/**
 * Child workflows a task starts at run time (`TaskInfo.runWorkflow`): prepared as static sub-workflows are,
 * run under the tree's limits (the caller gives its slot up while its child runs and takes one back in
 * turn), pools shared, events forwarded as `SubWorkflowEvent`s of the caller, paths prefixed for the
 * TaskHook, interruption passed down. Time is virtual.
 */
import { describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Exit, Option } from "effect"
import { TestClock } from "effect/testing"
import { Engine, Policy, type RunEvent, Task, TaskHook, Workflow, WorkflowError } from "@troupe/core"
import { RunAssertions } from "@troupe/testing"
import * as fc from "fast-check"

const NUM_RUNS = Number(process.env.TROUPE_PROPERTY_RUNS ?? 60)

/** A workflow built in a loop (ids known at run time), as the engine sees it. */
type Loose = Workflow.Dynamic<string, void, unknown, never>

// -----------------------------------------------------------------------------
// Shapes: a run tree whose callers start children at run time
// -----------------------------------------------------------------------------

interface Leaf {
  readonly _tag: "Leaf"
  readonly ms: number
}
interface Caller {
  readonly _tag: "Caller"
  readonly pre: number
  readonly post: number
  readonly child: Shape
}
interface Shape {
  readonly limit: number | undefined
  readonly chain: boolean
  readonly tasks: ReadonlyArray<Leaf | Caller>
}

const leafArb: fc.Arbitrary<Leaf> = fc.record({ _tag: fc.constant("Leaf" as const), ms: fc.integer({ min: 1, max: 4 }) })
const shapeArb = (depth: number): fc.Arbitrary<Shape> =>
  fc.record({
    limit: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }),
    chain: fc.boolean(),
    tasks: fc.array(depth === 0 ? leafArb : fc.oneof(leafArb, callerArb(depth - 1)), { minLength: 1, maxLength: 4 })
  })
const callerArb = (depth: number): fc.Arbitrary<Caller> =>
  fc.record({
    _tag: fc.constant("Caller" as const),
    pre: fc.integer({ min: 0, max: 3 }),
    post: fc.integer({ min: 0, max: 3 }),
    child: shapeArb(depth)
  })

/** Handlers in flight at once: over the whole tree, and per run (keyed by the run's path). */
const probe = () => {
  let now = 0
  let max = 0
  const perRun = new Map<string, { now: number; max: number }>()
  const busy = (run: string, ms: number): Effect.Effect<void> =>
    ms === 0 ? Effect.void : Effect.suspend(() => {
      const r = perRun.get(run) ?? { now: 0, max: 0 }
      perRun.set(run, r)
      now++
      r.now++
      max = Math.max(max, now)
      r.max = Math.max(r.max, r.now)
      return Effect.sleep(`${ms} millis`).pipe(Effect.ensuring(Effect.sync(() => {
        now--
        r.now--
      })))
    })
  return { busy, max: () => max, perRun }
}

/** The workflow of a shape: leaves sleep, callers sleep, run their child at run time, sleep again. */
const build = (shape: Shape, name: string, busy: ReturnType<typeof probe>["busy"]): Loose => {
  let wf: Loose = Workflow.dynamic<string, void>(name, shape.limit === undefined ? {} : { maxParallel: shape.limit })
  shape.tasks.forEach((node, k) => {
    const id = `t${k}`
    const options = shape.chain && k > 0 ? { dependsOn: [`t${k - 1}`] } : {}
    const path = `${name}/${id}`
    wf = node._tag === "Leaf"
      ? wf.task(id, options, () => busy(name, node.ms).pipe(Effect.as(node.ms)))
      : wf.task(
        id,
        options,
        Task.make({}, (_: unknown, info: Task.TaskInfo) =>
          Effect.gen(function*() {
            yield* busy(name, node.pre)
            const outputs = yield* info.runWorkflow(build(node.child, path, busy))
            yield* busy(name, node.post)
            return outputs
          }))
      ) as Loose
  })
  return wf
}

/** What the run of a shape returns (the reference model). */
const expected = (shape: Shape): Record<string, unknown> =>
  Object.fromEntries(shape.tasks.map((node, k) => [`t${k}`, node._tag === "Leaf" ? node.ms : expected(node.child)]))

const totalMs = (shape: Shape): number =>
  shape.tasks.reduce((sum, node) => sum + (node._tag === "Leaf" ? node.ms : node.pre + node.post + totalMs(node.child)), 0)

describe("TaskInfo.runWorkflow: limits", () => {
  it.effect("the tree's limit is never exceeded, each run's own limit holds, and nothing deadlocks (nested children)", () =>
    RunAssertions.property(
      fc.record({ limit: fc.integer({ min: 1, max: 3 }), shape: shapeArb(2) }),
      ({ limit, shape }) =>
        Effect.gen(function*() {
          const p = probe()
          const top = { ...shape, limit }
          const exit = yield* RunAssertions.runOnTestClock(Engine.run(build(top, "top", p.busy)), {
            advanceMs: totalMs(top)
          })
          expect(Exit.isSuccess(exit)).toBe(true)
          if (Exit.isSuccess(exit)) expect(exit.value.outputs).toEqual(expected(top))
          expect(p.max()).toBeLessThanOrEqual(limit)
          expect(p.max()).toBeGreaterThanOrEqual(1)
          const limits = new Map<string, number | undefined>()
          const collect = (s: Shape, name: string) =>
            s.tasks.forEach((node, k) => node._tag === "Caller" && collect(node.child, `${name}/t${k}`), limits.set(name, s.limit))
          collect(top, "top")
          for (const [run, counts] of p.perRun) expect(counts.max).toBeLessThanOrEqual(limits.get(run) ?? Infinity)
        }),
      { numRuns: NUM_RUNS }
    ))

  it.effect("with maxParallel 1 a caller does not deadlock: it, its child's tasks and the others run one at a time", () =>
    Effect.gen(function*() {
      const p = probe()
      const shape: Shape = {
        limit: 1,
        chain: false,
        tasks: [
          { _tag: "Caller", pre: 3, post: 2, child: { limit: undefined, chain: false, tasks: [{ _tag: "Leaf", ms: 5 }, { _tag: "Leaf", ms: 7 }] } },
          { _tag: "Leaf", ms: 11 }
        ]
      }
      const exit = yield* RunAssertions.runOnTestClock(Engine.run(build(shape, "top", p.busy)), { advanceMs: 28 })
      expect(Exit.isSuccess(exit)).toBe(true)
      if (Exit.isSuccess(exit)) {
        expect(exit.value.outputs).toEqual(expected(shape))
        // strictly one at a time: the durations add up
        expect(exit.value.durationMs).toBe(3 + 5 + 7 + 2 + 11)
      }
      expect(p.max()).toBe(1)
    }))

  it.effect("a caller gives its slot up while its child runs: with maxParallel 2 the child runs 2 at once", () =>
    Effect.gen(function*() {
      const p = probe()
      const leaves = [1, 2, 3, 4].map(() => ({ _tag: "Leaf" as const, ms: 10 }))
      const shape: Shape = {
        limit: 2,
        chain: false,
        tasks: [{ _tag: "Caller", pre: 0, post: 0, child: { limit: undefined, chain: false, tasks: leaves } }]
      }
      const exit = yield* RunAssertions.runOnTestClock(Engine.run(build(shape, "top", p.busy)), { advanceMs: 20 })
      expect(Exit.isSuccess(exit)).toBe(true)
      if (Exit.isSuccess(exit)) expect(exit.value.durationMs).toBe(20)
      expect(p.max()).toBe(2)
    }))
})

describe("TaskInfo.runWorkflow: preparation and pools", () => {
  it.effect("the child's tasks share the tree's pools with the parent's", () =>
    Effect.gen(function*() {
      const p = probe()
      let child: Loose = Workflow.dynamic<string, void>("gpuChild")
      for (let k = 0; k < 3; k++) child = child.task(`c${k}`, { resources: { gpu: 1 } }, () => p.busy("gpu", 10))
      const parent = Workflow.make("parent", { resources: { gpu: 1 }, maxParallel: 4 })
        .task("p1", { resources: { gpu: 1 } }, () => p.busy("gpu", 10))
        .task("caller", Task.make({}, (_: unknown, info: Task.TaskInfo) => info.runWorkflow(child)))
      const exit = yield* RunAssertions.runOnTestClock(Engine.run(parent), { advanceMs: 40 })
      expect(Exit.isSuccess(exit)).toBe(true)
      // four users of one gpu unit: one at a time, 40 ms
      if (Exit.isSuccess(exit)) expect(exit.value.durationMs).toBe(40)
      expect(p.max()).toBe(1)
    }))

  it.effect("a pool only the child declares joins the tree", () =>
    Effect.gen(function*() {
      const p = probe()
      let child: Loose = Workflow.dynamic<string, void>("tpuChild", { resources: { tpu: 2 } })
      for (let k = 0; k < 4; k++) child = child.task(`c${k}`, { resources: { tpu: 1 } }, () => p.busy("tpu", 10))
      const parent = Workflow.make("parent")
        .task("caller", Task.make({}, (_: unknown, info: Task.TaskInfo) => info.runWorkflow(child)))
      const exit = yield* RunAssertions.runOnTestClock(Engine.run(parent), { advanceMs: 20 })
      expect(Exit.isSuccess(exit)).toBe(true)
      expect(p.max()).toBe(2)
    }))

  it.effect("an unknown pool fails the call with InvalidDefinition naming the child's task, before any of it runs", () =>
    Effect.gen(function*() {
      let ran = 0
      const child = Workflow.make("child").task("gpuWork", { resources: { gpu: 1 } }, () => Effect.sync(() => ran++))
      const events: Array<RunEvent.RunEvent> = []
      const parent = Workflow.make("parent")
        .task("caller", Task.make({}, (_: unknown, info: Task.TaskInfo) => info.runWorkflow(child, undefined, { name: "gpus" }).pipe(Effect.flip)))
      const result = yield* Engine.run(parent, undefined, { onEvent: (event) => events.push(event) })
      const error = result.outputs.caller
      expect(error).toBeInstanceOf(WorkflowError.InvalidDefinition)
      expect(error).toMatchObject({ taskId: "caller/gpus/gpuWork", path: "runWorkflow(\"caller/gpus\").tasks[0].resources.gpu" })
      expect((error as WorkflowError.InvalidDefinition).reason).toContain("unknown resource pool \"gpu\"")
      expect(ran).toBe(0)
      expect(events.some((event) => event._tag === "SubWorkflowEvent")).toBe(false)
    }))

  it.effect("an invalid child (a dependency cycle) fails with its definition error; a name used twice fails", () =>
    Effect.gen(function*() {
      const cyclic = Workflow.dynamic<string, void>("cyclic")
        .task("a", { dependsOn: ["b"] }, () => 1)
        .task("b", { dependsOn: ["a"] }, () => 2)
      const ok = Workflow.make("ok").task("a", () => 1)
      const parent = Workflow.make("parent")
        .task("cycle", Task.make({}, (_: unknown, info: Task.TaskInfo) => info.runWorkflow(cyclic).pipe(Effect.flip)))
        .task("twice", Task.make({}, (_: unknown, info: Task.TaskInfo) =>
          info.runWorkflow(ok, undefined, { name: "same" }).pipe(
            Effect.andThen(info.runWorkflow(ok, undefined, { name: "same" })),
            Effect.flip
          )))
      const result = yield* Engine.run(parent)
      expect((result.outputs.cycle as { _tag: string })._tag).toBe("CycleDetected")
      expect(result.outputs.twice).toMatchObject({ _tag: "InvalidDefinition", path: "runWorkflow.name", taskId: "twice" })
    }))

  it.effect("a failing child fails the call with WorkflowFailed naming the child run and its failed task", () =>
    Effect.gen(function*() {
      const child = Workflow.make("child").task("bad", () => Effect.fail("nope" as const))
      const parent = Workflow.make("parent")
        .task("caller", Task.make({}, (_: unknown, info: Task.TaskInfo) => info.runWorkflow(child)))
      const error = yield* Effect.flip(Engine.run(parent, undefined, { runId: "r1" }))
      expect(error._tag).toBe("WorkflowFailed")
      const failure = (error as WorkflowError.WorkflowFailed<unknown>).failures[0]!
      expect(failure.taskId).toBe("caller")
      expect(Option.getOrUndefined(Cause.findErrorOption(failure.cause))).toMatchObject({
        _tag: "WorkflowFailed",
        runId: "r1/caller/child-1",
        workflow: "child"
      })
    }))
})

describe("TaskInfo.runWorkflow: events, paths, interruption", () => {
  it.effect("the child's events reach the run as SubWorkflowEvents of the caller, nested children's nested", () =>
    Effect.gen(function*() {
      const grandchild = Workflow.make("grandchild").task("g", () => 1)
      const child = Workflow.make("child")
        .task("c", Task.make({}, (_: unknown, info: Task.TaskInfo) => info.runWorkflow(grandchild)))
      const parent = Workflow.make("parent")
        .task("caller", Task.make({}, (_: unknown, info: Task.TaskInfo) => info.runWorkflow(child)))
      const events: Array<RunEvent.RunEvent> = []
      const result = yield* Engine.run(parent, undefined, { runId: "r", onEvent: (event) => events.push(event) })
      expect(result.outputs.caller).toEqual({ c: { g: 1 } })
      const sub = events.filter((e): e is RunEvent.SubWorkflowEvent => e._tag === "SubWorkflowEvent")
      expect(sub.every((e) => e.taskId === "caller" && e.runId === "r")).toBe(true)
      expect(sub.map((e) => e.event._tag)).toEqual([
        "RunStarted",
        "TaskStarted",
        "SubWorkflowEvent",
        "SubWorkflowEvent",
        "SubWorkflowEvent",
        "SubWorkflowEvent",
        "TaskCompleted",
        "RunCompleted"
      ])
      expect(sub[0]!.event).toMatchObject({ runId: "r/caller/child-1", workflow: "child" })
      const nested = sub.map((e) => e.event).filter((e): e is RunEvent.SubWorkflowEvent => e._tag === "SubWorkflowEvent")
      expect(nested.map((e) => [e.taskId, e.event._tag])).toEqual([
        ["c", "RunStarted"],
        ["c", "TaskStarted"],
        ["c", "TaskCompleted"],
        ["c", "RunCompleted"]
      ])
      expect(nested[0]!.event).toMatchObject({ runId: "r/caller/child-1/c/child-1" })
      // the run's state counts the caller once, as any task
      expect(result.state.tasks.map((task) => [task.id, task.status])).toEqual([["caller", "completed"]])
    }))

  it.effect("a TaskHook sees the child's tasks under <caller path>/<name>/, children of one task distinct", () =>
    Effect.gen(function*() {
      const paths: Array<string> = []
      const hook: TaskHook.TaskHookShape = {
        around: (execution, effect) => Effect.sync(() => paths.push(execution.path)).pipe(Effect.andThen(effect))
      }
      const child = Workflow.make("child").task("a", () => 1)
      const parent = Workflow.make("parent").task(
        "caller",
        Task.make({}, (_: unknown, info: Task.TaskInfo) =>
          Effect.all([info.runWorkflow(child), info.runWorkflow(child), info.runWorkflow(child, undefined, { name: "x" })]))
      )
      const result = yield* Engine.run(parent).pipe(Effect.provideService(TaskHook.TaskHook, hook))
      expect(result.outputs.caller).toEqual([{ a: 1 }, { a: 1 }, { a: 1 }])
      expect(paths.filter((path) => path !== "caller")).toEqual(["caller/child-1/a", "caller/child-2/a", "caller/x/a"])
    }))

  it.effect("interrupting the run interrupts the child: its running task is interrupted, it reports RunCancelled", () =>
    Effect.gen(function*() {
      let interrupted = false
      let after = false
      const child = Workflow.make("child")
        .task("quick", () => 1)
        .task("slow", { dependsOn: ["quick"] }, () =>
          Effect.sleep("1 hour").pipe(Effect.onInterrupt(() => Effect.sync(() => interrupted = true))))
      const parent = Workflow.make("parent", { maxParallel: 1 })
        .task("caller", Task.make({}, (_: unknown, info: Task.TaskInfo) =>
          info.runWorkflow(child).pipe(Effect.andThen(Effect.sync(() => after = true)))))
      const events: Array<RunEvent.RunEvent> = []
      const handle = yield* Engine.start(parent, undefined, { onEvent: (event) => events.push(event) })
      yield* TestClock.adjust("1 second")
      yield* handle.cancel
      const exit = yield* Effect.exit(handle.await)
      expect(Exit.isFailure(exit)).toBe(true)
      expect(interrupted).toBe(true)
      expect(after).toBe(false)
      const childEnd = events.filter((e): e is RunEvent.SubWorkflowEvent => e._tag === "SubWorkflowEvent")
        .map((e) => e.event._tag).filter((tag) => tag.startsWith("Run"))
      expect(childEnd).toEqual(["RunStarted", "RunCancelled"])
      expect(events.filter((e) => e._tag === "RunCancelled")).toHaveLength(1)
    }))

  it.effect("a timeout of the caller interrupts the child, and the tree's slot accounting stays exact", () =>
    Effect.gen(function*() {
      const p = probe()
      let interrupted = 0
      const child = Workflow.make("child").task("slow", () =>
        p.busy("child", 100).pipe(Effect.onInterrupt(() => Effect.sync(() => interrupted++))))
      let wf: Loose = Workflow.dynamic<string, void>("parent", { maxParallel: 2, continueOnFailure: true })
      wf = wf
        .task("caller", { timeout: "5 millis" }, Task.make({}, (_: unknown, info: Task.TaskInfo) => info.runWorkflow(child)))
        .task("gate", () => p.busy("top", 10))
      for (let k = 0; k < 4; k++) wf = wf.task(`after${k}`, { dependsOn: ["gate"] }, () => p.busy("top", 10))
      const exit = yield* RunAssertions.runOnTestClock(Engine.run(wf), { advanceMs: 30 })
      expect(Exit.isFailure(exit)).toBe(true)
      expect(interrupted).toBe(1)
      // from 10 ms the four tasks after the gate run 2 at a time: the caller's slot was counted back exactly
      // once (one too few would let 3 run, one too many only 1)
      expect(p.perRun.get("top")?.max).toBe(2)
      expect(p.max()).toBe(2)
    }))

  it.effect("a retry (or a fallback) after a timeout interrupted the child takes its slot back in turn before it runs", () =>
    Effect.gen(function*() {
      for (const recovery of ["retry", "fallback"] as const) {
        const p = probe()
        // the child's task waits for the gpu the hog holds: at the timeout the tree is full (hog, w0)
        const child = Workflow.make("child").task("slow", { resources: { gpu: 1 } }, () => p.busy("child", 100))
        let wf: Loose = Workflow.dynamic<string, void>("parent", { maxParallel: 2, resources: { gpu: 1 } })
        wf = wf.task("hog", { resources: { gpu: 1 } }, () => p.busy("hog", 100))
        const caller = Task.make({}, (_: unknown, info: Task.TaskInfo) =>
          info.attempt === 1 ? info.runWorkflow(child) : p.busy("top", 4).pipe(Effect.as("retried")))
        wf = recovery === "retry"
          ? wf.task("caller", { attemptTimeout: "5 millis", retry: Policy.fixed({ maxRetries: 1, initialDelay: "0 millis" }) }, caller)
          : wf.task("caller", { timeout: "5 millis" }, caller).fallback(() => p.busy("top", 4).pipe(Effect.as("fallback")))
        for (let k = 0; k < 4; k++) wf = wf.task(`w${k}`, () => p.busy("top", 10))
        const exit = yield* RunAssertions.runOnTestClock(Engine.run(wf), { advanceMs: 100 })
        expect(Exit.isSuccess(exit)).toBe(true)
        if (Exit.isSuccess(exit)) {
          expect(exit.value.outputs.caller).toBe(recovery === "retry" ? "retried" : "fallback")
          expect(exit.value.durationMs).toBe(100)
        }
        // the retry or fallback waited for w0 (a retry at 5 ms without its slot would make 3 at once)
        expect(p.max()).toBe(2)
        expect(p.perRun.get("child")).toBeUndefined()
      }
    }))

  it.effect("a handler that interrupts its own call (a timeout around it) goes on only once it has a slot again", () =>
    Effect.gen(function*() {
      const p = probe()
      const child = Workflow.make("child").task("slow", { resources: { gpu: 1 } }, () => p.busy("child", 100))
      let wf: Loose = Workflow.dynamic<string, void>("parent", { maxParallel: 2, resources: { gpu: 1 } })
      wf = wf.task("hog", { resources: { gpu: 1 } }, () => p.busy("hog", 100))
      wf = wf.task("caller", Task.make({}, (_: unknown, info: Task.TaskInfo) =>
        info.runWorkflow(child).pipe(
          Effect.timeout("5 millis"),
          Effect.catchTag("TimeoutError", () => Effect.succeed("gave up")),
          Effect.tap(() => p.busy("top", 4))
        )))
      for (let k = 0; k < 4; k++) wf = wf.task(`w${k}`, () => p.busy("top", 10))
      const exit = yield* RunAssertions.runOnTestClock(Engine.run(wf), { advanceMs: 100 })
      expect(Exit.isSuccess(exit)).toBe(true)
      if (Exit.isSuccess(exit)) expect(exit.value.outputs.caller).toBe("gave up")
      expect(p.max()).toBe(2)
    }))
})
