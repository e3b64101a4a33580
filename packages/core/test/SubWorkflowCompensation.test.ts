/**
 * Sub-workflows take part in their parent's saga: when a run compensates (fail-fast, a cancel, an
 * interruption), the completed tasks inside the sub-workflows its tasks started (static `.task(id, child)`
 * or at run time with `info.runWorkflow`) are compensated too, each exactly once, with their events
 * forwarded as `SubWorkflowEvent`s:
 * - a completed child task's inner compensations run where that task would be compensated (reverse
 *   completion order), before the task's own compensation;
 * - a child interrupted mid-run (or started by a task that did not complete) is compensated first, once it
 *   ended, before the parent goes on with its own.
 * Everything runs on the TestClock; each compensation takes 10 ms, so the `at` of the events shows that
 * they ran one after another and that the run ended after them.
 */
import { describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Exit, Fiber, Option } from "effect"
import { TestClock } from "effect/testing"
import { Engine, type RunEvent, Task, Workflow, WorkflowError } from "@troupe/core"

const after = <A>(ms: number, value: A) => Effect.sleep(ms).pipe(Effect.as(value))
const failAfter = (ms: number) => Effect.sleep(ms).pipe(Effect.andThen(Effect.fail("boom")))
/** A compensation that takes 10 ms. */
const undo = () => Effect.sleep(10)

/** An event of the tree, with the path of its task (`sub/inner/x`) and, for run-level events, of its run. */
interface Flat {
  readonly tag: RunEvent.RunEvent["_tag"]
  readonly path: string
  readonly at: number
}

const flatten = (event: RunEvent.RunEvent, prefix = ""): Flat =>
  event._tag === "SubWorkflowEvent"
    ? flatten(event.event, `${prefix}${event.taskId}/`)
    : { tag: event._tag, path: prefix + ("taskId" in event ? event.taskId : ""), at: event.at }

/** Starts `wf`, cancels it at `cancelAt` (if given), lets virtual time run out, returns the flat events and exit. */
const runTree = <N extends string, O, E, L extends string, M extends string>(
  wf: Workflow.Workflow<N, void, O, E, never, L, M>,
  cancelAt?: number
) =>
  Effect.gen(function*() {
    const events: Array<Flat> = []
    const handle = yield* Engine.start(wf, undefined, { onEvent: (e) => events.push(flatten(e)) })
    if (cancelAt !== undefined) {
      yield* TestClock.adjust(cancelAt)
      yield* handle.cancel
    }
    yield* TestClock.adjust(10_000)
    const exit = yield* Effect.exit(handle.await)
    return { events, exit }
  })

/** The compensated paths in order, asserting they ran one after another (10 ms each) and the run ended after. */
const compensatedInOrder = (events: ReadonlyArray<Flat>, startAt: number): ReadonlyArray<string> => {
  const done = events.filter((e) => e.tag === "TaskCompensated")
  expect(done.map((e) => e.at)).toEqual(done.map((_, k) => startAt + 10 * (k + 1)))
  // The top-level run's one terminal event is the last event, after every compensation.
  const last = events[events.length - 1]!
  expect(["RunFailed", "RunCancelled"]).toContain(last.tag)
  expect(last.path).toBe("")
  expect(events.filter((e) => e.path === "" && (e.tag === "RunFailed" || e.tag === "RunCancelled"))).toHaveLength(1)
  expect(events.some((e) => e.tag === "CompensationFailed")).toBe(false)
  return done.map((e) => e.path)
}

const failure = (exit: Exit.Exit<unknown, unknown>): unknown =>
  Exit.isFailure(exit) ? Option.getOrUndefined(Cause.findErrorOption(exit.cause)) : undefined

describe("sub-workflow compensation", () => {
  it.effect("fail-fast after a static child completed: its tasks are undone at its place, before its own compensation", () =>
    Effect.gen(function*() {
      const child = Workflow.make("child")
        .task("c1", () => after(3, 1)).compensate(undo)
        .task("c2", { dependsOn: ["c1"] }, () => after(3, 2)).compensate(undo)
        .task("plain", { dependsOn: ["c2"] }, () => after(1, 3))
      const wf = Workflow.make("parent")
        .task("p1", () => after(2, "P")).compensate(undo)
        .task("sub", child).compensate(undo)
        .task("later", { dependsOn: ["sub"] }, () => after(1, "L")).compensate(undo)
        .task("boom", () => failAfter(20))
      const { events, exit } = yield* runTree(wf)
      // Completion order: p1 (2), sub/c1 (3), sub/c2 (6), sub (7), later (8); boom fails at 20.
      expect(compensatedInOrder(events, 20)).toEqual(["later", "sub/c2", "sub/c1", "sub", "p1"])
      const error = failure(exit)
      expect(error).toBeInstanceOf(WorkflowError.WorkflowFailed)
      expect((error as WorkflowError.WorkflowFailed<unknown>).compensations.map((c) => [c.taskId, c.status])).toEqual([
        ["later", "completed"],
        ["sub/c2", "completed"],
        ["sub/c1", "completed"],
        ["sub", "completed"],
        ["p1", "completed"]
      ])
    }))

  it.effect("a parent that declares no compensation still undoes its child's tasks (the census counts the child tree)", () =>
    Effect.gen(function*() {
      const child = Workflow.make("child").task("c1", () => after(1, 1)).compensate(undo)
      const wf = Workflow.make("parent")
        .task("sub", child)
        .task("boom", () => failAfter(5))
      const { events } = yield* runTree(wf)
      expect(compensatedInOrder(events, 5)).toEqual(["sub/c1"])
    }))

  for (const how of ["cancel", "fail-fast"] as const) {
    it.effect(`${how} while a child is mid-run: the child's completed tasks are undone first, after it ended`, () =>
      Effect.gen(function*() {
        const child = Workflow.make("child")
          .task("c1", () => after(5, 1)).compensate(undo)
          .task("c2", { dependsOn: ["c1"] }, () => after(5, 2)).compensate(undo)
          .task("slow", { dependsOn: ["c2"] }, () => after(1000, 3)).compensate(undo)
        const base = Workflow.make("parent")
          .task("p1", () => after(2, "P")).compensate(undo)
          .task("p2", () => after(15, "P")).compensate(undo)
          .task("sub", child).compensate(undo)
        const { events, exit } = how === "cancel"
          ? yield* runTree(base, 20)
          : yield* runTree(base.task("boom", () => failAfter(20)))
        // p2 completed (15) after both child tasks (5, 10), yet the interrupted child comes first; the `sub`
        // task never completed, so its own compensation does not run; `slow` never completed.
        expect(compensatedInOrder(events, 20)).toEqual(["sub/c2", "sub/c1", "p2", "p1"])
        const tags = events.map((e) => `${e.path}:${e.tag}`)
        expect(tags).toContain("sub/slow:TaskCancelled")
        // The child ended (its own terminal event) before the parent compensated it.
        expect(tags.indexOf("sub/:RunCancelled")).toBeLessThan(tags.indexOf("sub/c2:TaskCompensated"))
        expect(failure(exit)).toBeInstanceOf(how === "cancel" ? WorkflowError.WorkflowCancelled : WorkflowError.WorkflowFailed)
      }))
  }

  it.effect("interrupting Engine.run while a child runs: the interruption returns after the child's compensations", () =>
    Effect.gen(function*() {
      const child = Workflow.make("child")
        .task("c1", () => after(5, 1)).compensate(undo)
        .task("slow", { dependsOn: ["c1"] }, () => after(1000, 2))
      const wf = Workflow.make("parent")
        .task("p1", () => after(2, "P")).compensate(undo)
        .task("sub", child)
      const events: Array<Flat> = []
      const fiber = yield* Effect.forkChild(
        Engine.run(wf, undefined, { onEvent: (e) => events.push(flatten(e)) }).pipe(Effect.timeoutOption(20)),
        { startImmediately: true }
      )
      yield* TestClock.adjust(25)
      // Interrupted at 20: c1 is being undone (20 to 30); the caller still waits.
      expect(fiber.pollUnsafe()).toBeUndefined()
      yield* TestClock.adjust(100)
      const result = yield* Fiber.join(fiber)
      expect(Option.isNone(result)).toBe(true)
      expect(compensatedInOrder(events, 20)).toEqual(["sub/c1", "p1"])
    }))

  it.effect("run-time children: undone where their caller is, the latest started first; an interrupted one first", () =>
    Effect.gen(function*() {
      const childA = Workflow.make("a").task("a1", () => after(1, 1)).compensate(undo)
      const childB = Workflow.make("b")
        .task("b1", () => after(1, 1)).compensate(undo)
        .task("b2", { dependsOn: ["b1"] }, () => after(1, 2)).compensate(undo)
      const childC = Workflow.make("c")
        .task("c1", () => after(1, 1)).compensate(undo)
        .task("c2", { dependsOn: ["c1"] }, () => after(1000, 2)).compensate(undo)
      const wf = Workflow.make("parent")
        .task("p1", () => after(1, "P")).compensate(undo)
        .task(
          "caller",
          Task.make({}, (_: unknown, info: Task.TaskInfo) =>
            info.runWorkflow(childA, undefined, { name: "first" }).pipe(
              Effect.andThen(info.runWorkflow(childB, undefined, { name: "second" })),
              Effect.as("done")
            ))
        ).compensate(undo)
        .task(
          "stuck",
          { dependsOn: ["caller"] },
          Task.make({}, (_: unknown, info: Task.TaskInfo) => info.runWorkflow(childC, undefined, { name: "third" }))
        ).compensate(undo)
        .task("boom", () => failAfter(20))
      const { events } = yield* runTree(wf)
      // caller completed at 3 (a1 at 1... its children ran one after the other); stuck is interrupted while
      // its child waits on c2: its child's c1 first, then caller's children (second, then first), then
      // caller itself, then p1.
      expect(compensatedInOrder(events, 20)).toEqual(["stuck/c1", "caller/b2", "caller/b1", "caller/a1", "caller", "p1"])
    }))

  it.effect("a child its handler interrupted (a timeout around runWorkflow) is undone with its task, before the task", () =>
    Effect.gen(function*() {
      const child = Workflow.make("child")
        .task("c1", () => after(1, 1)).compensate(undo)
        .task("c2", { dependsOn: ["c1"] }, () => after(1000, 2)).compensate(undo)
      const wf = Workflow.make("parent")
        .task(
          "caller",
          Task.make({}, (_: unknown, info: Task.TaskInfo) =>
            info.runWorkflow(child, undefined, { name: "k" }).pipe(Effect.timeoutOption(5), Effect.as("gave up")))
        ).compensate(undo)
        .task("p2", { dependsOn: ["caller"] }, () => after(1, "P")).compensate(undo)
        .task("boom", () => failAfter(20))
      const { events } = yield* runTree(wf)
      expect(compensatedInOrder(events, 20)).toEqual(["p2", "caller/c1", "caller"])
    }))

  it.effect("nested two levels, completed: each level's tasks at their place, inner ones before their task's own", () =>
    Effect.gen(function*() {
      const inner = Workflow.make("inner")
        .task("x1", () => after(1, 1)).compensate(undo)
        .task("x2", { dependsOn: ["x1"] }, () => after(1, 2)).compensate(undo)
      const middle = Workflow.make("middle")
        .task("s1", () => after(1, 1)).compensate(undo)
        .task("inner", inner, { dependsOn: ["s1"] }).compensate(undo)
        .task("s2", { dependsOn: ["inner"] }, () => after(1, 2)).compensate(undo)
      const wf = Workflow.make("top")
        .task("p1", () => after(1, "P")).compensate(undo)
        .task("sub", middle, { dependsOn: ["p1"] })
        .task("boom", () => failAfter(20))
      const { events } = yield* runTree(wf)
      expect(compensatedInOrder(events, 20)).toEqual([
        "sub/s2",
        "sub/inner/x2",
        "sub/inner/x1",
        "sub/inner",
        "sub/s1",
        "p1"
      ])
    }))

  it.effect("nested two levels, cancelled while the grandchild runs: innermost first, each exactly once", () =>
    Effect.gen(function*() {
      const inner = Workflow.make("inner")
        .task("x1", () => after(1, 1)).compensate(undo)
        .task("x2", { dependsOn: ["x1"] }, () => after(1000, 2)).compensate(undo)
      const middle = Workflow.make("middle")
        .task("s1", () => after(1, 1)).compensate(undo)
        .task("inner", inner, { dependsOn: ["s1"] }).compensate(undo)
      const wf = Workflow.make("top")
        .task("p1", () => after(1, "P")).compensate(undo)
        .task("sub", middle, { dependsOn: ["p1"] }).compensate(undo)
      const { events, exit } = yield* runTree(wf, 10)
      expect(compensatedInOrder(events, 10)).toEqual(["sub/inner/x1", "sub/s1", "p1"])
      expect(failure(exit)).toBeInstanceOf(WorkflowError.WorkflowCancelled)
    }))

  it.effect("a child that failed compensated itself: the parent's saga does not undo its tasks again", () =>
    Effect.gen(function*() {
      const child = Workflow.make("child")
        .task("c1", () => after(1, 1)).compensate(undo)
        .task("c2", { dependsOn: ["c1"] }, () => failAfter(1))
      const wf = Workflow.make("parent")
        .task("p1", () => after(1, "P")).compensate(undo)
        .task("sub", child, { dependsOn: ["p1"] }).compensate(undo)
      const { events, exit } = yield* runTree(wf)
      // The child compensates c1 (3 to 13) before it fails; the parent then undoes p1 only (13 to 23).
      expect(compensatedInOrder(events, 3)).toEqual(["sub/c1", "p1"])
      const error = failure(exit) as WorkflowError.WorkflowFailed<unknown>
      expect(error.compensations.map((c) => c.taskId)).toEqual(["p1"])
    }))

  it.effect("a continue child that failed without compensating: the parent's saga undoes its tasks, first", () =>
    Effect.gen(function*() {
      const child = Workflow.make("child", { continueOnFailure: true })
        .task("c1", () => after(1, 1)).compensate(undo)
        .task("c2", () => failAfter(3))
      const wf = Workflow.make("parent")
        .task("p1", () => after(2, "P")).compensate(undo)
        .task("sub", child)
      const { events, exit } = yield* runTree(wf)
      // The child ends at 3 without compensating; the parent fails at 3: c1 (the failed task's child) first.
      expect(compensatedInOrder(events, 3)).toEqual(["sub/c1", "p1"])
      // The parent's saga undid c1 (a child that compensates itself lists it in its own WorkflowFailed instead).
      const error = failure(exit) as WorkflowError.WorkflowFailed<unknown>
      expect(error.compensations.map((c) => c.taskId)).toEqual(["sub/c1", "p1"])
    }))

  it.effect("a child's compensation that fails is reported (forwarded CompensationFailed, in the parent's results); the rest go on", () =>
    Effect.gen(function*() {
      const child = Workflow.make("child")
        .task("c1", () => after(1, 1)).compensate(undo)
        .task("c2", { dependsOn: ["c1"] }, () => after(1, 2)).compensate(() => Effect.fail("cannot undo"))
      const wf = Workflow.make("parent")
        .task("p1", () => after(1, "P")).compensate(undo)
        .task("sub", child, { dependsOn: ["p1"] })
        .task("boom", () => failAfter(20))
      const { events, exit } = yield* runTree(wf)
      expect(events.filter((e) => e.tag === "CompensationFailed").map((e) => e.path)).toEqual(["sub/c2"])
      expect(events.filter((e) => e.tag === "TaskCompensated").map((e) => e.path)).toEqual(["sub/c1", "p1"])
      const error = failure(exit) as WorkflowError.WorkflowFailed<unknown>
      expect(error.compensations.map((c) => [c.taskId, c.status])).toEqual([
        ["sub/c2", "failed"],
        ["sub/c1", "completed"],
        ["p1", "completed"]
      ])
    }))

  it.effect("a run that completes compensates nothing, children included", () =>
    Effect.gen(function*() {
      const child = Workflow.make("child").task("c1", () => after(1, 1)).compensate(undo)
      const wf = Workflow.make("parent").task("p1", () => after(1, "P")).compensate(undo).task("sub", child)
      const { events, exit } = yield* runTree(wf)
      expect(Exit.isSuccess(exit)).toBe(true)
      expect(events.filter((e) => e.tag === "TaskCompensated")).toEqual([])
    }))
})
