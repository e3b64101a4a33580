import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Metric, Schema } from "effect"
import { TestClock } from "effect/testing"
import { Events, Orchestrator, Policy, Task, Workflow } from "@troupe/core"

const provide = (options?: Orchestrator.Options) => Effect.provide(Orchestrator.layer(options))

const wide = (n: number) => {
  let wf: Workflow.Dynamic<"wide", void> = Workflow.dynamic("wide")
  for (let i = 0; i < n; i++) wf = wf.task(`t${i}`, () => i)
  return wf
}

describe("Events: names and patterns", () => {
  it.effect("seed lifecycle names: task.created for every task at start, then started/completed, workflow.*", () =>
    Effect.gen(function*() {
      const o = yield* Orchestrator.Orchestrator
      const seen: Array<string> = []
      yield* o.on("task.*", (e) => seen.push(`${e._tag} ${e.taskId}`))
      yield* o.on("workflow.*", (e) => seen.push(`${e._tag} ${e.workflow}`))
      const wf = Workflow.make("pair").task("x", () => 1).task("y", { dependsOn: ["x"] }, ({ x }) => x + 1)
      yield* o.execute(wf)
      yield* o.flushEvents
      expect(seen.filter((s) => s.startsWith("Task"))).toEqual([
        "TaskCreated x",
        "TaskCreated y",
        "TaskStarted x",
        "TaskCompleted x",
        "TaskStarted y",
        "TaskCompleted y"
      ])
      expect(seen.filter((s) => s.startsWith("Run"))).toEqual(["RunStarted pair", "RunCompleted pair"])
    }).pipe(provide()))

  it.effect("jobs are tasks: a task.completed subscriber sees them, with their job id", () =>
    Effect.gen(function*() {
      const o = yield* Orchestrator.Orchestrator
      const completed: Array<unknown> = []
      const failed: Array<string> = []
      yield* o.on("task.completed", (e) => completed.push([e.jobId === undefined ? "task" : "job", e.output]))
      yield* o.on("*.failed", (e) => failed.push(e._tag))
      const ok = yield* o.submit((n: number) => n + 1, 1)
      const bad = yield* o.submit(() => Effect.fail("no"), undefined)
      yield* o.awaitJob(ok)
      yield* o.awaitJob(bad)
      yield* o.flushEvents
      expect(completed).toEqual([["job", 2]])
      expect(failed.sort()).toEqual(["JobFailed", "TaskFailed"])
    }).pipe(provide()))

  it("matcher: * matches any run of characters; other characters match themselves", () => {
    expect(Events.matcher("task.*")("task.completed")).toBe(true)
    expect(Events.matcher("task.*")("workflow.completed")).toBe(false)
    expect(Events.matcher("*.failed")("job.failed")).toBe(true)
    expect(Events.matcher("*.failed")("job.failedx")).toBe(false)
    expect(Events.matcher("a*b*c")("aXbYc")).toBe(true)
    expect(Events.matcher("a*b*c")("acb")).toBe(false)
    expect(Events.matcher("*")("anything.at.all")).toBe(true)
    expect(Events.matcher("task.completed")("task.completedx")).toBe(false)
  })

  it.effect("unsubscribe stops delivery; the same handler subscribed twice is two subscriptions", () =>
    Effect.gen(function*() {
      const o = yield* Orchestrator.Orchestrator
      let count = 0
      const handler = () => {
        count++
      }
      const off1 = yield* o.on("workflow.completed", handler)
      yield* o.on("workflow.completed", handler)
      yield* o.execute(wide(1))
      yield* o.flushEvents
      expect(count).toBe(2)
      yield* off1
      yield* o.execute(wide(1))
      yield* o.flushEvents
      expect(count).toBe(3)
    }).pipe(provide()))
})

describe("Events: custom events with a Schema", () => {
  const Deployed = Events.define("deploy.finished", Schema.Struct({ env: Schema.String, version: Schema.Number }))

  it.effect("the payload is checked when emitted and typed where it is received", () =>
    Effect.gen(function*() {
      const o = yield* Orchestrator.Orchestrator
      const seen: Array<string> = []
      yield* o.on(Deployed, (e) => seen.push(`${e.name}: ${e.payload.env}@${e.payload.version}`))
      yield* o.on("deploy.*", (e) => seen.push(`pattern ${e._tag}`))
      yield* TestClock.adjust("3 seconds")
      yield* o.emit(Deployed, { env: "prod", version: 2 })
      const error = yield* o.emit(Deployed, { env: "prod", version: "2" } as never).pipe(Effect.flip)
      expect(error).toBeInstanceOf(Events.InvalidEvent)
      expect(error.message).toContain("deploy.finished")
      const reserved = yield* o.emit("task.completed" as never, {}).pipe(Effect.flip)
      expect(reserved._tag).toBe("InvalidEvent")
      yield* o.flushEvents
      expect(seen.sort()).toEqual(["deploy.finished: prod@2", "pattern Custom"])
    }).pipe(provide()))
})

describe("Events: isolation", () => {
  it.effect("a slow subscriber never blocks a run: its own buffer fills, the rest is dropped and counted", () =>
    Effect.gen(function*() {
      const o = yield* Orchestrator.Orchestrator
      let fast = 0
      yield* o.on("task.completed", () => {
        fast++
      })
      // Never finishes on its own (the clock is not advanced), with room for 2 events.
      const slow = yield* o.subscribe("task.completed", () => Effect.sleep("1 hour"), { bufferSize: 2 })
      const result = yield* o.execute(wide(50))
      expect(Object.keys(result.outputs)).toHaveLength(50)
      yield* Effect.yieldNow
      expect(fast).toBe(50)
      // The run finished before the subscriber's fiber took its first event: its buffer kept 2, 48 were dropped.
      expect(yield* slow.stats).toMatchObject({ delivered: 0, dropped: 48, pending: 2, status: "active" })
      // The same count as an Effect metric, by pattern.
      yield* Effect.yieldNow
      const counter = yield* Metric.value(Metric.withAttributes(Events.droppedCounter, { pattern: "task.completed" }))
      expect(counter.count).toBeGreaterThanOrEqual(48)
      yield* TestClock.adjust("2 hours")
      yield* o.flushEvents
      expect(yield* slow.stats).toMatchObject({ delivered: 2, dropped: 48, pending: 0 })
    }).pipe(provide()))

  it.effect("a subscriber that throws, rejects or fails is detached and reported; runs and other subscribers go on", () =>
    Effect.gen(function*() {
      const o = yield* Orchestrator.Orchestrator
      let calls = 0
      let fine = 0
      yield* o.on("task.completed", () => {
        calls++
        throw Object.create(null) // not even describable by String()
      })
      yield* o.on("task.started", async () => {
        throw new Error("async bug")
      })
      yield* o.on("workflow.completed", () => Effect.fail("typed failure"))
      yield* o.on("task.completed", () => {
        fine++
      })
      const result = yield* o.execute(wide(5))
      expect(result.state.status).toBe("completed")
      yield* o.flushEvents
      expect(calls).toBe(1)
      expect(fine).toBe(5)
      const stats = yield* o.subscribers
      expect(stats.map((s) => [s.pattern, s.status])).toEqual([
        ["task.completed", "failed"],
        ["task.started", "failed"],
        ["workflow.completed", "failed"],
        ["task.completed", "active"]
      ])
      expect(stats[1]!.error).toBe("Error: async bug")
      expect(stats[2]!.error).toBe("typed failure")
    }).pipe(provide()))

  it.effect("a throwing onEvent callback of a run is detached; the run completes", () =>
    Effect.gen(function*() {
      const o = yield* Orchestrator.Orchestrator
      let calls = 0
      const result = yield* o.execute(wide(3), undefined, {
        onEvent: () => {
          calls++
          throw { toString: () => { throw new Error("hostile") } }
        }
      })
      expect(result.state.status).toBe("completed")
      expect(calls).toBe(1)
    }).pipe(provide()))

  it.effect("closing the layer stops subscribers; a run in progress is not held by one", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.gen(function*() {
        const o = yield* Orchestrator.Orchestrator
        yield* o.on("*", () => Effect.never)
        const fiber = yield* o.execute(wide(3)).pipe(Effect.forkChild)
        return yield* Fiber.join(fiber)
      }).pipe(provide(), Effect.exit)
      expect(Exit.isSuccess(exit)).toBe(true)
    }))
})

describe("Events: every kind of job is a task to task.* subscribers", () => {
  let attempts = 0
  const retried = Task.make(
    { retry: Policy.fixed({ maxRetries: 1, initialDelay: "1 second" }) },
    ({ input }: { readonly input: number }) =>
      Effect.suspend(() => {
        attempts++
        return attempts === 1 ? Effect.fail("flaky") : Effect.succeed(input * 10)
      })
  )

  it.effect("a function, a Task value (with a retry) and a registered agent: created, started, completed once each", () =>
    Effect.gen(function*() {
      attempts = 0
      const o = yield* Orchestrator.Orchestrator
      const seen: Array<string> = []
      yield* o.on("task.*", (e) => {
        if (e.jobId === undefined) return
        const who = e.jobId === fnId ? "fn" : e.jobId === taskId ? "task" : e.jobId === agentId ? "agent" : "?"
        seen.push(`${who} ${e._tag} ${e.workflow}${e._tag === "TaskCompleted" ? ` ${String(e.output)}` : ""}`)
      })
      const completed: Array<unknown> = []
      yield* o.on("task.completed", (e) => completed.push(e.jobId === undefined ? e.taskId : e.output))
      const fnId = yield* o.submit((n: number) => n + 1, 1)
      yield* o.awaitJob(fnId)
      const taskId = yield* o.submit(retried, 4)
      yield* TestClock.adjust("1 second")
      yield* o.awaitJob(taskId)
      const agentId = yield* o.submit("double", 21)
      yield* o.awaitJob(agentId)
      yield* o.flushEvents
      expect(seen).toEqual([
        "fn TaskCreated job",
        "fn TaskStarted job",
        "fn TaskCompleted job 2",
        "task TaskCreated job",
        "task TaskStarted job",
        // The retry comes from the job's one-task run; the job's own task events are published once.
        "task TaskRetrying job",
        "task TaskCompleted job 40",
        "agent TaskCreated double",
        "agent TaskStarted double",
        "agent TaskCompleted double 42"
      ])
      expect(completed).toEqual([2, 40, 42])
    }).pipe(provide({ agents: { double: (n: number) => n * 2 } })))
})
