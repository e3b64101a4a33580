/**
 * A cancelled run compensates like a failed one (issue 12: Ctrl-C undoes completed work): `handle.cancel`
 * and interrupting the fiber that runs `Engine.run` run the compensations of completed tasks in reverse
 * completion order, then the run's one terminal event `RunCancelled`. Everything runs on `TestClock`; each
 * compensation takes 10 ms, so the `at` of the events shows the order and that the run ended after them.
 */
import { describe, expect, it } from "@effect/vitest"
import { Cause, Clock, Effect, Exit, Fiber, Stream } from "effect"
import { TestClock } from "effect/testing"
import { Engine, Plan, RunEvent, RunState, Workflow, WorkflowError } from "@troupe/core"

type Events = ReadonlyArray<RunEvent.RunEvent>

const after = <A>(ms: number, value: A) => Effect.sleep(ms).pipe(Effect.as(value))

/** a completes at 10, b at 20, slow is still running when the run is cancelled (at 30). */
const saga = (undone: Array<[string, unknown, number]>) => {
  const undo = (id: string) => (output: unknown) =>
    Effect.gen(function*() {
      yield* Effect.sleep(10)
      undone.push([id, output, yield* Clock.currentTimeMillis])
    })
  return Workflow.make("cancel-saga")
    .task("a", () => after(10, "A")).compensate(undo("a"))
    .task("b", () => after(20, "B")).compensate(undo("b"))
    .task("plain", () => after(5, "P"))
    .task("slow", () => after(1000, "S")).compensate(undo("slow"))
}

const tags = (events: Events) => events.map((e) => e._tag)

/** The shared assertions: b then a undone, then exactly one terminal event, RunCancelled, after them. */
const expectCompensatedThenCancelled = (
  wf: Workflow.Any,
  events: Events,
  undone: ReadonlyArray<[string, unknown, number]>
) => {
  expect(undone).toEqual([["b", "B", 40], ["a", "A", 50]])
  expect(events.filter(RunEvent.is("TaskCompensated")).map((e) => [e.taskId, e.at])).toEqual([["b", 40], ["a", 50]])
  expect(events.filter(RunEvent.isTerminal).map((e) => e._tag)).toEqual(["RunCancelled"])
  expect(events[events.length - 1]).toMatchObject({ _tag: "RunCancelled", at: 50 })
  // The compensations come after the cancellation of what still ran, before the terminal event.
  const t = tags(events)
  expect(t.indexOf("TaskCancelled")).toBeLessThan(t.indexOf("TaskCompensated"))
  expect(events.filter(RunEvent.is("TaskCancelled")).map((e) => e.taskId)).toEqual(["slow"])
  // The fold of the events agrees.
  const state = RunState.fold(Plan.fromWorkflow(wf), events[0]!.runId, events)
  expect(state.status).toBe("cancelled")
  const task = (id: string) => state.tasks.find((x) => x.id === id)!
  expect([task("a").compensation, task("b").compensation]).toEqual(["completed", "completed"])
  expect(task("slow")).toMatchObject({ status: "cancelled" })
  expect(task("slow").compensation).toBeUndefined()
  expect(task("plain").compensation).toBeUndefined()
}

describe("cancellation runs compensations", () => {
  it.effect("handle.cancel after two compensable tasks completed: both undone in reverse order, then RunCancelled once", () =>
    Effect.gen(function*() {
      const undone: Array<[string, unknown, number]> = []
      const events: Array<RunEvent.RunEvent> = []
      const wf = saga(undone)
      const handle = yield* Engine.start(wf, undefined, { onEvent: (e) => events.push(e) })
      const streamed = yield* handle.events.pipe(Stream.runCollect, Effect.forkChild({ startImmediately: true }))
      yield* TestClock.adjust(30)
      yield* handle.cancel
      yield* handle.cancel // a second cancel changes nothing
      const awaited = yield* Effect.forkChild(Effect.exit(handle.await), { startImmediately: true })
      yield* TestClock.adjust(5)
      // Still compensating: the run has not ended.
      expect(awaited.pollUnsafe()).toBeUndefined()
      expect(events.some(RunEvent.isTerminal)).toBe(false)
      yield* TestClock.adjust(100)
      const exit = yield* Fiber.join(awaited)
      expectCompensatedThenCancelled(wf, events, undone)
      // The handle's stream ends with the same single terminal event.
      expect(tags(yield* Fiber.join(streamed))).toEqual(tags(events))
      expect((yield* handle.state).status).toBe("cancelled")
      expect(Exit.isFailure(exit)).toBe(true)
      const error = Exit.isFailure(exit) ? Cause.findErrorOption(exit.cause) : undefined
      expect(error?._tag === "Some" ? error.value : undefined).toBeInstanceOf(WorkflowError.WorkflowCancelled)
    }))

  it.effect("interrupting the fiber running Engine.run (a timeout): the same, and the interruption waits for the compensations", () =>
    Effect.gen(function*() {
      const undone: Array<[string, unknown, number]> = []
      const events: Array<RunEvent.RunEvent> = []
      const wf = saga(undone)
      const fiber = yield* Engine.run(wf, undefined, { onEvent: (e) => events.push(e) }).pipe(
        Effect.timeout(30),
        Effect.exit,
        Effect.forkChild({ startImmediately: true })
      )
      yield* TestClock.adjust(45)
      expect(fiber.pollUnsafe()).toBeUndefined()
      expect(undone.map(([id]) => id)).toEqual(["b"])
      yield* TestClock.adjust(100)
      const exit = yield* Fiber.join(fiber)
      const timeoutError = Exit.isFailure(exit) ? Cause.findErrorOption(exit.cause) : undefined
      expect(timeoutError).toMatchObject({ value: { _tag: "TimeoutError" } })
      expectCompensatedThenCancelled(wf, events, undone)
    }))

  it.effect("Fiber.interrupt on the fiber running Engine.run compensates too, and returns after the compensations", () =>
    Effect.gen(function*() {
      const undone: Array<[string, unknown, number]> = []
      const events: Array<RunEvent.RunEvent> = []
      const wf = saga(undone)
      const fiber = yield* Engine.run(wf, undefined, { onEvent: (e) => events.push(e) }).pipe(
        Effect.forkChild({ startImmediately: true })
      )
      yield* TestClock.adjust(30)
      const interrupting = yield* Effect.forkChild(Fiber.interrupt(fiber), { startImmediately: true })
      yield* TestClock.adjust(15)
      expect(interrupting.pollUnsafe()).toBeUndefined()
      expect(undone.map(([id]) => id)).toEqual(["b"])
      yield* TestClock.adjust(100)
      yield* Fiber.join(interrupting)
      expectCompensatedThenCancelled(wf, events, undone)
    }))

  it.effect("a sub-workflow cancelled by its parent is compensated by the parent, first (it was interrupted mid-run)", () =>
    Effect.gen(function*() {
      const log: Array<string> = []
      const undo = (id: string) => () => Effect.sleep(10).pipe(Effect.andThen(Effect.sync(() => log.push(`undo ${id}`))))
      const child = Workflow.make("child")
        .task("c1", () => after(5, 1)).compensate(undo("c1"))
        .task("c2", () => after(1000, 2))
      const wf = Workflow.make("parent")
        .task("p1", () => after(2, 1)).compensate(undo("p1"))
        .task("sub", child)
      const handle = yield* Engine.start(wf, undefined, {
        onEvent: (e) => log.push(e._tag === "SubWorkflowEvent" ? `sub:${e.event._tag}` : e._tag)
      })
      yield* TestClock.adjust(20)
      yield* handle.cancel
      yield* TestClock.adjust(1000)
      yield* Effect.exit(handle.await)
      // The child's completed c1 is undone (its event forwarded) before the parent's own p1 (SubWorkflowCompensation.test.ts).
      expect(log.filter((l) => l.startsWith("undo"))).toEqual(["undo c1", "undo p1"])
      expect(log.slice(-5)).toEqual(["undo c1", "sub:TaskCompensated", "undo p1", "TaskCompensated", "RunCancelled"])
      expect(log).toContain("sub:TaskCancelled")
    }))

  it.effect("the same rules as failures: continue mode compensates a cancelled run only with compensateOnFailure", () =>
    Effect.gen(function*() {
      for (const compensateOnFailure of [false, true]) {
        const undone: Array<[string, unknown, number]> = []
        const events: Array<RunEvent.RunEvent> = []
        const handle = yield* Engine.start(saga(undone), undefined, {
          failureMode: "continue",
          compensateOnFailure,
          onEvent: (e) => events.push(e)
        })
        yield* TestClock.adjust(30)
        yield* handle.cancel
        yield* TestClock.adjust(100)
        yield* Effect.exit(handle.await)
        expect(undone.map(([id]) => id)).toEqual(compensateOnFailure ? ["b", "a"] : [])
        expect(events.filter(RunEvent.isTerminal).map((e) => e._tag)).toEqual(["RunCancelled"])
      }
    }))
})
