import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Layer, Schema, Stream } from "effect"
import { TestClock } from "effect/testing"
import { Engine, RunEvent, RunState, RunStore, Signal, TaskHook, Workflow } from "@troupe/core"

const Approval = Signal.make("approval", Schema.Struct({ approved: Schema.Boolean, by: Schema.String }))

const release = Workflow.make("release")
  .task("build", () => Effect.succeed("v1.2.0"))
  .task("approve", { dependsOn: ["build"] }, Signal.wait(Approval, { timeout: "2 days" }))
  .task("deploy", { dependsOn: ["build", "approve"] }, ({ approve, build }) =>
    Effect.succeed(approve.approved ? `${build} deployed, approved by ${approve.by}` : "rejected"))

/** Lets forked fibers run until they block. */
const settle = Effect.gen(function*() {
  for (let i = 0; i < 20; i++) yield* Effect.yieldNow
})

const waitingEvents = (events: ReadonlyArray<RunEvent.RunEvent>) =>
  events.filter((e) => e._tag === "TaskWaiting" || e._tag === "TaskResumed")

describe("Signal", () => {
  it.effect("a task waits for a signal; the run's state and progress show it waiting, not running", () =>
    Effect.gen(function*() {
      const handle = yield* Engine.start(release, undefined, { runId: "rel-1" })
      yield* settle
      expect(yield* handle.progress).toMatchObject({ running: 0, waiting: 1, completed: 1, pending: 1 })
      const approve = (yield* handle.state).tasks.find((t) => t.id === "approve")!
      expect(approve.status).toBe("waiting")
      expect(approve.waitingFor).toEqual({ reason: "signal", name: "approval", since: 0, until: 2 * 86_400_000 })
      expect(yield* Signal.Signals.use((s) => s.pending("rel-1"))).toMatchObject([
        { runId: "rel-1", key: "approve/approval", reason: "signal", name: "approval" }
      ])

      yield* TestClock.adjust("3 hours")
      yield* Signal.send("rel-1", Approval, { approved: true, by: "ada" })
      const result = yield* handle.await
      expect(result.outputs.deploy).toBe("v1.2.0 deployed, approved by ada")
      expect(result.outputs.approve).toEqual({ approved: true, by: "ada" })
      const events = yield* Stream.runCollect(handle.events)
      expect(waitingEvents(events)).toEqual([
        { _tag: "TaskWaiting", runId: "rel-1", at: 0, taskId: "approve", reason: "signal", name: "approval", until: 172_800_000 },
        {
          _tag: "TaskResumed",
          runId: "rel-1",
          at: 10_800_000,
          taskId: "approve",
          reason: "signal",
          name: "approval",
          outcome: "signal",
          waitedMs: 10_800_000
        }
      ])
      // The events are part of the RunEvent schema (journals, the wire).
      for (const event of waitingEvents(events)) {
        expect(Schema.decodeUnknownSync(RunEvent.RunEvent)(Schema.encodeSync(RunEvent.RunEvent)(event))).toEqual(event)
      }
      expect(yield* Signal.Signals.use((s) => s.pending("rel-1"))).toEqual([])
    }).pipe(Effect.provide(Signal.layerMemory)))

  it.effect("a wait that times out fails the task with SignalTimeout and says so in the events", () =>
    Effect.gen(function*() {
      const handle = yield* Engine.start(release, undefined, { runId: "rel-2" })
      yield* settle
      yield* TestClock.adjust("2 days")
      const exit = yield* Effect.exit(handle.await)
      expect(Exit.isFailure(exit)).toBe(true)
      const state = yield* handle.state
      const approve = state.tasks.find((t) => t.id === "approve")!
      expect(approve.status).toBe("failed")
      expect(approve.error).toBe(`Task "approve" of run "rel-2" waited 2d for signal "approval" in vain`)
      const events = yield* Stream.runCollect(handle.events)
      expect(waitingEvents(events).map((e) => e._tag === "TaskResumed" ? e.outcome : e._tag)).toEqual([
        "TaskWaiting",
        "timeout"
      ])
      expect(state.progress.waiting).toBe(0)
      // A signal after the wait ended is kept for a later wait, not lost silently, and not an error.
      yield* Signal.send("rel-2", Approval, { approved: false, by: "bob" })
    }).pipe(Effect.provide(Signal.layerMemory)))

  it.effect("bad deliveries give typed errors that name the problem", () =>
    Effect.gen(function*() {
      const unknown = yield* Effect.flip(Signal.send("nope", Approval, { approved: true, by: "ada" }))
      expect(unknown).toBeInstanceOf(Signal.UnknownRun)
      expect(unknown.message).toBe(
        `Signal "approval" to run "nope": no such run accepts signals (unknown, finished, or nothing waited yet)`
      )
      const handle = yield* Engine.start(release, undefined, { runId: "rel-3" })
      yield* settle
      const bad = yield* Effect.flip(Signal.send("rel-3", Approval, { approved: "yes", by: "ada" } as never))
      expect(bad._tag).toBe("InvalidPayload")
      expect(bad.message).toContain(`Signal "approval" to run "rel-3": the payload does not match the signal's schema`)
      expect(bad.message).toContain("approved")
      const badJson = yield* Effect.flip(Signal.sendUnknown("rel-3", "approval", { by: "ada" }))
      expect(badJson.message).toContain(`["approved"]`)
      const name = yield* Effect.flip(Signal.sendUnknown("rel-3", "aproval", { approved: true, by: "ada" }))
      expect(name).toBeInstanceOf(Signal.UnknownSignal)
      expect(name.message).toBe(`Run "rel-3" has no signal "aproval" (known: "approval")`)
      // Nothing bad was delivered: the task still waits; a good JSON payload goes through.
      expect((yield* handle.progress).waiting).toBe(1)
      yield* Signal.sendUnknown("rel-3", "approval", { approved: false, by: "eve" })
      expect((yield* handle.await).outputs.deploy).toBe("rejected")
    }).pipe(Effect.provide(Signal.layerMemory)))

  it.effect("a signal sent before the wait (to an opened run) is kept for it, in order", () =>
    Effect.gen(function*() {
      const Review = Signal.make("review", Schema.Struct({ ok: Schema.Boolean, note: Schema.String }))
      const wf = Workflow.make<"reviews", string>("reviews").task(
        "review",
        Signal.task(({ input }: { readonly input: string }, { sleep, wait }) =>
          Effect.gen(function*() {
            yield* sleep("cool-off", "1 hour")
            const first = yield* wait(Review)
            const second = yield* wait(Review, { timeout: "1 day" })
            return `${input}: ${first.note}, ${second.note}`
          }))
      )
      yield* Signal.Signals.use((s) => s.open("rev-1"))
      yield* Signal.send("rev-1", Review, { ok: true, note: "first" })
      const handle = yield* Engine.start(wf, "pr-7", { runId: "rev-1" })
      yield* settle
      const waiting = (yield* handle.state).tasks[0]!
      expect(waiting).toMatchObject({ status: "waiting", waitingFor: { reason: "timer", name: "cool-off", until: 3_600_000 } })
      yield* TestClock.adjust("1 hour")
      yield* settle
      // The first wait took the kept signal at once; the second waits.
      expect(yield* Signal.Signals.use((s) => s.pending("rev-1"))).toMatchObject([{ key: "review/review#1", name: "review" }])
      yield* Signal.send("rev-1", Review, { ok: true, note: "second" })
      expect((yield* handle.await).outputs.review).toBe("pr-7: first, second")
      const events = yield* Stream.runCollect(handle.events)
      expect(
        waitingEvents(events).map((e) => `${e._tag} ${e.reason} ${e.name}${e._tag === "TaskResumed" ? ` ${e.outcome}` : ""}`)
      ).toEqual([
        "TaskWaiting timer cool-off",
        "TaskResumed timer cool-off elapsed",
        "TaskWaiting signal review",
        "TaskResumed signal review signal",
        "TaskWaiting signal review",
        "TaskResumed signal review signal"
      ])
    }).pipe(Effect.provide(Signal.layerMemory)))

  it.effect("a timer task waits for its duration on the clock, shown as waiting", () =>
    Effect.gen(function*() {
      const wf = Workflow.make("delayed")
        .task("wait", Signal.sleep("an hour", "1 hour"))
        .task("after", { dependsOn: ["wait"] }, () => Effect.succeed("done"))
      const handle = yield* Engine.start(wf, undefined, { runId: "d-1" })
      yield* settle
      expect(yield* handle.progress).toMatchObject({ waiting: 1, running: 0 })
      yield* TestClock.adjust("59 minutes")
      expect((yield* handle.progress).completed).toBe(0)
      yield* TestClock.adjust("1 minute")
      const result = yield* handle.await
      expect(result.outputs.after).toBe("done")
      expect(result.state.tasks[0]!.durationMs).toBe(3_600_000)
    }).pipe(Effect.provide(Signal.layerMemory)))

  it.effect("another run can send the signal", () =>
    Effect.gen(function*() {
      const Done = Signal.make("done", Schema.Number)
      const waiter = Workflow.make("waiter").task("result", Signal.wait(Done))
      const sender = Workflow.make<"sender", { readonly target: string }>("sender")
        .task("compute", () => Effect.succeed(42))
        .task("notify", { dependsOn: ["compute"] }, ({ compute, input }) => Signal.send(input.target, Done, compute))
      const handle = yield* Engine.start(waiter, undefined, { runId: "w-1" })
      yield* settle
      yield* Engine.run(sender, { target: "w-1" })
      expect((yield* handle.await).outputs.result).toBe(42)
    }).pipe(Effect.provide(Signal.layerMemory)))

  it.effect("signal tasks are composite: a TaskHook (durable runs) does not wrap them as one step", () =>
    Effect.gen(function*() {
      const wrapped: Array<string> = []
      const hook: TaskHook.TaskHookShape = {
        around: (execution, effect) => Effect.sync(() => wrapped.push(execution.path)).pipe(Effect.andThen(effect))
      }
      expect(Signal.wait(Approval).composite).toBe(true)
      const fiber = yield* Engine.run(release, undefined, { runId: "hooked" }).pipe(
        Effect.provideService(TaskHook.TaskHook, hook),
        Effect.forkChild
      )
      yield* settle
      yield* Signal.send("hooked", Approval, { approved: true, by: "ada" })
      yield* Fiber.join(fiber)
      expect(wrapped).toEqual(["build", "deploy"])
    }).pipe(Effect.provide(Signal.layerMemory)))

  it.effect("with a RunStore, finished runs refuse signals and unfinished ones accept them before any wait", () =>
    Effect.gen(function*() {
      const store = yield* RunStore.RunStore
      const plan = Workflow.compiled(release).plan
      yield* store.register({ runId: "old", workflow: "release", plan })
      yield* store.setStatus("old", "completed")
      yield* store.register({ runId: "queued", workflow: "release", plan })
      const refused = yield* Effect.flip(Signal.send("old", Approval, { approved: true, by: "ada" }))
      expect(refused._tag).toBe("UnknownRun")
      yield* Signal.send("queued", Approval, { approved: true, by: "early" })
      expect(yield* Signal.await("queued", Approval)).toEqual({ approved: true, by: "early" })
    }).pipe(Effect.provide(Signal.layerMemory.pipe(Layer.provideMerge(RunStore.layerMemory)))))

  it("RunState folds TaskWaiting / TaskResumed into a waiting status", () => {
    const plan = Workflow.compiled(release).plan
    const base = { runId: "r" }
    const events: Array<RunEvent.RunEvent> = [
      { _tag: "RunStarted", ...base, at: 0, workflow: "release", total: 3 },
      { _tag: "TaskStarted", ...base, at: 1, taskId: "approve", attempt: 1 },
      { _tag: "TaskWaiting", ...base, at: 2, taskId: "approve", reason: "rate-limit", name: "openai" }
    ]
    const waiting = RunState.fold(plan, "r", events)
    expect(waiting.progress).toMatchObject({ running: 0, waiting: 1, pending: 2 })
    expect(waiting.tasks[1]).toMatchObject({ status: "waiting", waitingFor: { reason: "rate-limit", name: "openai", since: 2 } })
    const resumed = RunState.fold(plan, "r", [
      ...events,
      { _tag: "TaskResumed", ...base, at: 5, taskId: "approve", reason: "rate-limit", name: "openai", outcome: "elapsed", waitedMs: 3 }
    ])
    expect(resumed.progress).toMatchObject({ running: 1, waiting: 0 })
    expect(resumed.tasks[1]!.waitingFor).toBeUndefined()
    const completed = RunState.fold(plan, "r", [
      ...events,
      { _tag: "TaskCompleted", ...base, at: 9, taskId: "approve", attempts: 1, durationMs: 8, output: 1 }
    ])
    expect(completed.progress).toMatchObject({ running: 0, waiting: 0, completed: 1 })
  })
})

