import { describe, expect, it } from "@effect/vitest"
import { Context, Deferred, Effect, Exit, Fiber, Layer, Schema, Scope } from "effect"
import { TestClock } from "effect/testing"
import { Orchestrator, Policy, Task, TaskCache, Workflow, WorkflowError } from "@troupe/core"

class Boom extends Schema.TaggedError<Boom>()("Boom", { n: Schema.Number }) {}
class Db extends Context.Service<Db, { readonly query: (sql: string) => Effect.Effect<number> }>()("test/Db") {}

const provide = (options?: Orchestrator.Options) => Effect.provide(Orchestrator.layer(options))

/** Lets forked fibers run until they block. */
const settle = Effect.gen(function*() {
  for (let i = 0; i < 20; i++) yield* Effect.yieldNow
})

const chain = Workflow.make("chain")
  .task("a", () => Effect.succeed(1))
  .task("b", { dependsOn: ["a"] }, ({ a }) => Effect.sleep("2 seconds").pipe(Effect.as(a + 1)))
  .task("c", { dependsOn: ["b"] }, ({ b }) => Effect.succeed(`b=${b}`))

describe("Orchestrator: runs", () => {
  it.effect("execute returns typed outputs, reports progress and records the run", () =>
    Effect.gen(function*() {
      const o = yield* Orchestrator.Orchestrator
      const percents: Array<number> = []
      const fiber = yield* o.execute(chain, undefined, {
        runId: "run-1",
        onProgress: (progress) => percents.push(progress.percent)
      }).pipe(Effect.forkChild)
      yield* settle
      // While the run is going: state and progress by run id.
      const during = yield* o.progress("run-1")
      expect(during).toMatchObject({ total: 3, completed: 1, running: 1, pending: 1 })
      expect((yield* o.state("run-1")).status).toBe("running")
      yield* TestClock.adjust("2 seconds")
      const result = yield* Fiber.join(fiber)
      expect(result.outputs).toEqual({ a: 1, b: 2, c: "b=2" })
      expect(result.runId).toBe("run-1")
      expect(percents.at(-1)).toBe(100)
      expect(percents.some((p) => p > 0 && p < 100)).toBe(true)
      const state = yield* o.state("run-1")
      expect(state.status).toBe("completed")
      expect(state.durationMs).toBe(2000)
      expect(state.tasks.map((t) => t.status)).toEqual(["completed", "completed", "completed"])
      const metrics = yield* o.metrics("run-1")
      expect(metrics).toMatchObject({ runId: "run-1", workflow: "chain", status: "completed", durationMs: 2000 })
      expect(metrics.bottleneck).toEqual({ id: "b", durationMs: 2000 })
      expect(metrics.criticalPath.durationMs).toBe(2000)
    }).pipe(provide()))

  it.effect("cancel stops a running workflow: execute fails with WorkflowCancelled", () =>
    Effect.gen(function*() {
      const o = yield* Orchestrator.Orchestrator
      const fiber = yield* o.execute(chain, undefined, { runId: "r" }).pipe(Effect.flip, Effect.forkChild)
      yield* TestClock.adjust("1 second")
      expect((yield* o.progress("r")).running).toBe(1)
      yield* o.cancel("r")
      const error = yield* Fiber.join(fiber)
      expect(error).toBeInstanceOf(WorkflowError.WorkflowCancelled)
      expect(error._tag === "WorkflowCancelled" && error.completed).toEqual(["a"])
      const state = yield* o.state("r")
      expect(state.status).toBe("cancelled")
      expect(state.tasks.map((t) => [t.id, t.status])).toEqual([
        ["a", "completed"],
        ["b", "cancelled"],
        ["c", "cancelled"]
      ])
      // Cancelling a finished run is a no-op; unknown ids fail.
      yield* o.cancel("r")
      const missing = yield* o.cancel("nope").pipe(Effect.flip)
      expect(missing).toBeInstanceOf(Orchestrator.RunNotFound)
      expect((yield* o.state("nope").pipe(Effect.flip))._tag).toBe("RunNotFound")
    }).pipe(provide()))

  it.effect("interrupting the caller of execute cancels the run", () =>
    Effect.gen(function*() {
      const o = yield* Orchestrator.Orchestrator
      const fiber = yield* o.execute(chain, undefined, { runId: "i" }).pipe(Effect.forkChild)
      yield* TestClock.adjust("1 second")
      yield* Fiber.interrupt(fiber)
      yield* settle
      expect((yield* o.state("i")).status).toBe("cancelled")
    }).pipe(provide()))

  it.effect("start: the run belongs to the orchestrator and outlives the fiber that started it", () =>
    Effect.gen(function*() {
      const o = yield* Orchestrator.Orchestrator
      // The starting fiber ends at once; the run must go on.
      const starter = yield* o.start(chain).pipe(Effect.forkChild)
      const handle = yield* Fiber.join(starter)
      yield* settle
      yield* TestClock.adjust("2 seconds")
      const result = yield* handle.await
      expect(result.outputs.c).toBe("b=2")
      expect((yield* o.state(handle.runId)).status).toBe("completed")
    }).pipe(provide()))

  it.effect("a cancelled handle from start, and a run of a workflow with services from the caller", () =>
    Effect.gen(function*() {
      const o = yield* Orchestrator.Orchestrator
      const queries: Array<string> = []
      const wf = Workflow.make("db").task("count", () => Db.use((db) => db.query("select 1")))
      const result = yield* o.execute(wf).pipe(
        Effect.provideService(Db, { query: (sql) => Effect.sync(() => queries.push(sql)).pipe(Effect.as(7)) })
      )
      expect(result.outputs.count).toBe(7)
      expect(queries).toEqual(["select 1"])

      const handle = yield* o.start(chain)
      yield* settle
      yield* handle.cancel
      const error = yield* handle.await.pipe(Effect.flip)
      expect(error._tag).toBe("WorkflowCancelled")
    }).pipe(provide()))

  it.effect("history: newest first, filtered by workflow and status, limited", () =>
    Effect.gen(function*() {
      const o = yield* Orchestrator.Orchestrator
      const ok = (name: string) => Workflow.make(name).task("t", () => Effect.succeed(name))
      const failing = Workflow.make("bad").task("t", () => Effect.fail(new Boom({ n: 1 })))
      yield* o.execute(ok("first"), undefined, { runId: "h1" })
      yield* o.execute(failing, undefined, { runId: "h2" }).pipe(Effect.flip)
      yield* o.execute(ok("third"), undefined, { runId: "h3" })
      yield* o.execute(ok("first"), undefined, { runId: "h4" })

      const all = yield* o.history()
      expect(all.map((r) => r.runId)).toEqual(["h4", "h3", "h2", "h1"])
      expect(all.map((r) => r.status)).toEqual(["completed", "completed", "failed", "completed"])
      expect(all[2]?.failedTasks).toEqual(["t"])
      expect((yield* o.history({ limit: 2 })).map((r) => r.runId)).toEqual(["h4", "h3"])
      expect((yield* o.history({ workflow: "first" })).map((r) => r.runId)).toEqual(["h4", "h1"])
      expect((yield* o.history({ workflow: failing })).map((r) => r.runId)).toEqual(["h2"])
      expect((yield* o.history({ status: "failed" })).map((r) => r.runId)).toEqual(["h2"])
    }).pipe(provide()))

  it.effect("historyLimit drops the oldest finished runs", () =>
    Effect.gen(function*() {
      const o = yield* Orchestrator.Orchestrator
      const wf = Workflow.make("w").task("t", () => Effect.succeed(1))
      for (const id of ["x1", "x2", "x3"]) yield* o.execute(wf, undefined, { runId: id })
      expect((yield* o.history()).map((r) => r.runId)).toEqual(["x3", "x2"])
      expect((yield* o.state("x1").pipe(Effect.flip))._tag).toBe("RunNotFound")
      expect((yield* o.stats()).runs.completed).toBe(2)
    }).pipe(provide({ historyLimit: 2 })))

  it.effect("stats aggregate runs, tasks and jobs", () =>
    Effect.gen(function*() {
      const o = yield* Orchestrator.Orchestrator
      let calls = 0
      const flaky = Workflow.make("flaky").task(
        "t",
        { retry: Policy.fixed({ maxRetries: 1, initialDelay: "1 second" }) },
        () => Effect.suspend(() => ++calls === 1 ? Effect.fail(new Boom({ n: calls })) : Effect.succeed(calls))
      )
      const f1 = yield* o.execute(flaky).pipe(Effect.forkChild)
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(f1)
      const failing = Workflow.make("bad")
        .task("t", () => Effect.fail(new Boom({ n: 0 })))
        .task("u", { dependsOn: ["t"] }, () => Effect.succeed(1))
      yield* o.execute(failing, undefined, { failureMode: "continue" }).pipe(Effect.flip)
      yield* o.submit((n: number) => n + 1, 1)
      const stats = yield* o.stats()
      expect(stats.running).toBe(0)
      expect(stats.runs).toMatchObject({
        runs: 2,
        completed: 1,
        failed: 1,
        cancelled: 0,
        successRate: 0.5,
        totalRetries: 1,
        averageMs: 500,
        minMs: 0,
        maxMs: 1000
      })
      expect(stats.runs.tasks.map((t) => [t.id, t.completed, t.failed, t.skipped, t.retries])).toEqual([
        ["t", 1, 1, 0, 1],
        ["u", 0, 0, 1, 0]
      ])
      expect(stats.jobs).toMatchObject({ total: 1, completed: 1 })
      const flakyOnly = yield* o.stats({ workflow: flaky })
      expect(flakyOnly.runs).toMatchObject({ runs: 1, completed: 1 })
    }).pipe(provide()))

  it.effect("executeTask runs one task ad hoc, as a recorded one-task workflow", () =>
    Effect.gen(function*() {
      const o = yield* Orchestrator.Orchestrator
      const doubled = yield* o.executeTask("double", ({ input }) => Effect.succeed(input * 2), 21)
      expect(doubled).toBe(42)
      let attempts = 0
      const retried = Task.make(
        { retry: Policy.fixed({ maxRetries: 2, initialDelay: "1 second" }) },
        ({ input }: { readonly input: string }) =>
          Effect.suspend(() => ++attempts < 3 ? Effect.fail(new Boom({ n: attempts })) : Effect.succeed(input.toUpperCase()))
      )
      const fiber = yield* o.executeTask("shout", retried, "hey").pipe(Effect.forkChild)
      yield* TestClock.adjust("2 seconds")
      expect(yield* Fiber.join(fiber)).toBe("HEY")
      expect(attempts).toBe(3)
      const failed = yield* o.executeTask("fails", () => Effect.fail(new Boom({ n: 9 })), undefined).pipe(Effect.flip)
      expect(failed._tag).toBe("WorkflowFailed")
      const history = yield* o.history()
      expect(history.map((r) => [r.workflow, r.status])).toEqual([
        ["fails", "failed"],
        ["shout", "completed"],
        ["double", "completed"]
      ])
    }).pipe(provide()))
})

describe("Orchestrator: jobs", () => {
  it.effect("one worker runs queued jobs by priority (10 first), FIFO within a priority", () =>
    Effect.gen(function*() {
      const o = yield* Orchestrator.Orchestrator
      const order: Array<string> = []
      const gate = yield* Deferred.make<void>()
      const record = (name: string) => Effect.sync(() => order.push(name))
      const blocker = yield* o.submit(() => Deferred.await(gate).pipe(Effect.andThen(record("blocker"))), undefined)
      const low = yield* o.submit(record, "low", { priority: 1 })
      yield* o.submit(record, "mid-a", { priority: 5 })
      yield* o.submit(record, "high", { priority: 10 })
      yield* o.submit(record, "mid-b") // default priority 5
      yield* o.submit(record, "seed002-top", { priority: Orchestrator.fromSeed002Priority(1) })
      yield* settle
      expect(yield* o.status(blocker)).toBe("running")
      expect(yield* o.status(low)).toBe("queued")
      expect(order).toEqual([])
      yield* Deferred.succeed(gate, undefined)
      const job = yield* o.awaitJob(low)
      expect(job.status).toBe("completed")
      expect(order).toEqual(["blocker", "high", "seed002-top", "mid-a", "mid-b", "low"])
    }).pipe(provide({ workers: 1 })))

  it.effect("N workers run at most N jobs at once", () =>
    Effect.gen(function*() {
      const o = yield* Orchestrator.Orchestrator
      let running = 0
      let peak = 0
      const work = (ms: number) =>
        Effect.sync(() => {
          running++
          peak = Math.max(peak, running)
        }).pipe(Effect.andThen(Effect.sleep(ms)), Effect.ensuring(Effect.sync(() => running--)), Effect.as(ms))
      const ids: Array<Orchestrator.JobId<number, never>> = []
      for (let i = 0; i < 5; i++) ids.push(yield* o.submit(work, 1000))
      yield* settle
      expect(running).toBe(2)
      expect((yield* o.jobs({ status: "queued" })).length).toBe(3)
      yield* TestClock.adjust("1 second")
      yield* settle
      expect((yield* o.jobs({ status: "completed" })).length).toBe(2)
      yield* TestClock.adjust("2 seconds")
      const last = yield* o.awaitJob(ids[4]!)
      expect(peak).toBe(2)
      expect(last).toMatchObject({ status: "completed", result: 1000, durationMs: 1000, startedAt: 2000 })
    }).pipe(provide({ workers: 2 })))

  it.effect("job records carry results, typed errors and metadata; callbacks run once", () =>
    Effect.gen(function*() {
      const o = yield* Orchestrator.Orchestrator
      const finished: Array<Orchestrator.Job> = []
      const ok = yield* o.submit((s: string) => Promise.resolve(s.length), "four", {
        metadata: { owner: "ada" },
        callback: (job) => finished.push(job)
      })
      const bad = yield* o.submit((n: number) => Effect.fail(new Boom({ n })), 3, {
        callback: (job) => finished.push(job)
      })
      const thrown = yield* o.submit(async (_: void) => {
        throw new Error("nope")
      }, undefined)
      const okJob = yield* o.awaitJob(ok)
      expect(okJob).toMatchObject({ status: "completed", result: 4, metadata: { owner: "ada" }, priority: 5 })
      const badJob = yield* o.awaitJob(bad)
      expect(badJob.status).toBe("failed")
      expect(badJob.error).toBeInstanceOf(Boom)
      expect(badJob.error?.n).toBe(3)
      expect(badJob.message).toBe("Boom")
      const thrownJob = yield* o.awaitJob(thrown)
      expect(thrownJob.error).toBeInstanceOf(WorkflowError.TaskException)
      expect(thrownJob.message).toContain("nope")
      // Each callback ran once, with the finished record (in completion order, which is not submission order).
      expect(finished.map((j) => [j.id, j.status]).sort()).toEqual([[ok, "completed"], [bad, "failed"]].sort())
      expect((yield* o.getTask(ok)).result).toBe(4)
      expect((yield* o.status("missing").pipe(Effect.flip))).toBeInstanceOf(Orchestrator.JobNotFound)
    }).pipe(provide()))

  it.effect("a Task value job runs as a one-task workflow with its retry policy", () =>
    Effect.gen(function*() {
      const o = yield* Orchestrator.Orchestrator
      let attempts = 0
      const task = Task.make(
        { retry: Policy.fixed({ maxRetries: 1, initialDelay: "1 second" }) },
        ({ input }: { readonly input: number }) =>
          Effect.suspend(() => ++attempts === 1 ? Effect.fail(new Boom({ n: input })) : Effect.succeed(input * 10))
      )
      const id = yield* o.submit(task, 4)
      yield* settle
      yield* TestClock.adjust("1 second")
      const job = yield* o.awaitJob(id)
      expect(job).toMatchObject({ status: "completed", result: 40 })
      expect(job.runId).toBeDefined()
      const [run] = yield* o.history()
      expect(run).toMatchObject({ runId: job.runId, jobId: id, status: "completed" })

      const failing = Task.make({}, ({ input }: { readonly input: number }) => Effect.fail(new Boom({ n: input })))
      const failed = yield* o.awaitJob(yield* o.submit(failing, 8))
      expect(failed.status).toBe("failed")
      expect(failed.error).toBeInstanceOf(Boom)
    }).pipe(provide()))

  it.effect("cancelJob removes a queued job and interrupts a running one", () =>
    Effect.gen(function*() {
      const o = yield* Orchestrator.Orchestrator
      const ran: Array<string> = []
      let interrupted = false
      const forever = yield* o.submit(
        () => Effect.never.pipe(Effect.onInterrupt(() => Effect.sync(() => (interrupted = true)))),
        undefined
      )
      const queued = yield* o.submit((s: string) => ran.push(s), "queued")
      const next = yield* o.submit((s: string) => ran.push(s), "next")
      yield* settle
      yield* o.cancelJob(queued)
      expect(yield* o.status(queued)).toBe("cancelled")
      yield* o.cancelJob(forever)
      yield* o.awaitJob(next)
      expect(interrupted).toBe(true)
      expect(yield* o.status(forever)).toBe("cancelled")
      expect(ran).toEqual(["next"])
    }).pipe(provide({ workers: 1 })))

  it.effect("jobs use the caller's services", () =>
    Effect.gen(function*() {
      const o = yield* Orchestrator.Orchestrator
      const id = yield* o.submit((sql: string) => Db.use((db) => db.query(sql)), "select").pipe(
        Effect.provideService(Db, { query: (sql) => Effect.succeed(sql.length) })
      )
      expect((yield* o.awaitJob(id)).result).toBe(6)
    }).pipe(provide()))

  it.effect("releasing the layer cancels queued and running jobs", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(Orchestrator.layer({ workers: 1 }), scope)
      const o = Context.get(context, Orchestrator.Orchestrator)
      const running = yield* o.submit(() => Effect.never, undefined)
      const queued = yield* o.submit(() => Effect.void, undefined)
      yield* settle
      yield* Scope.close(scope, Exit.void)
      yield* settle
      expect(yield* o.status(running)).toBe("cancelled")
      expect(yield* o.status(queued)).toBe("cancelled")
    }))
})

describe("Orchestrator: events", () => {
  it.effect("handlers receive typed lifecycle events until they unsubscribe", () =>
    Effect.gen(function*() {
      const o = yield* Orchestrator.Orchestrator
      const log: Array<string> = []
      const off = yield* o.on("task.completed", (e) => log.push(`completed ${e.workflow}.${e.taskId}=${String(e.output)}`))
      yield* o.on("workflow.started", (e) => log.push(`started ${e.workflow} (${e.total} tasks)`))
      yield* o.on("workflow.completed", (e) => log.push(`done ${e.workflow}`))
      const wf = Workflow.make("pair").task("x", () => Effect.succeed(1)).task("y", { dependsOn: ["x"] }, ({ x }) => x + 1)
      yield* o.execute(wf)
      yield* o.flushEvents // handlers run in their own fibers
      expect(log).toEqual(["started pair (2 tasks)", "completed pair.x=1", "completed pair.y=2", "done pair"])
      yield* off
      yield* off // idempotent
      log.length = 0
      yield* o.execute(wf)
      yield* o.flushEvents
      expect(log).toEqual(["started pair (2 tasks)", "done pair"])
    }).pipe(provide()))

  it.effect("failures, retries, skips, cancellations and jobs have their events; throwing handlers are isolated", () =>
    Effect.gen(function*() {
      const o = yield* Orchestrator.Orchestrator
      const log: Array<string> = []
      yield* o.on("task.started", () => {
        throw new Error("handler bug")
      })
      // One subscriber for everything (a pattern): its events arrive in the order they happened.
      yield* o.on("*", (e) => {
        switch (e._tag) {
          case "TaskRetrying":
            return log.push(`retrying ${e.taskId} after attempt ${e.attempt}`)
          case "TaskFailed":
            return log.push(`failed ${e.jobId === undefined ? e.taskId : "job"}: ${e.message}`)
          case "TaskSkipped":
            return log.push(`skipped ${e.taskId}`)
          case "RunFailed":
            return log.push(`workflow failed [${e.failed.join(",")}]`)
          case "RunCancelled":
            return log.push(`workflow cancelled ${e.workflow}`)
          case "TaskCancelled":
            return log.push(`cancelled ${e.jobId === undefined ? e.taskId : "job"}`)
          case "JobQueued":
            return log.push(`queued p${e.priority}`)
          case "JobStarted":
            return log.push("job started")
          case "JobCompleted":
            return log.push(`job completed ${String(e.result)}`)
          case "JobFailed":
            return log.push(`job failed ${e.message}`)
          case "JobCancelled":
            return log.push("job cancelled")
          case "TaskCompleted":
            return e.jobId === undefined ? undefined : log.push(`task.completed for job ${String(e.output)}`)
        }
      })

      const wf = Workflow.make("w")
        .task("t", { retry: Policy.fixed({ maxRetries: 1, initialDelay: "1 second" }) }, () =>
          Effect.fail(new Boom({ n: 1 })))
        .task("u", { dependsOn: ["t"] }, () => Effect.succeed(1))
      const fiber = yield* o.execute(wf, undefined, { failureMode: "continue" }).pipe(Effect.flip, Effect.forkChild)
      yield* TestClock.adjust("1 second")
      expect((yield* Fiber.join(fiber))._tag).toBe("WorkflowFailed")
      yield* o.flushEvents
      expect(log).toEqual([
        "retrying t after attempt 1",
        "failed t: Boom",
        "skipped u",
        "workflow failed [t]"
      ])
      log.length = 0
      const handle = yield* o.start(chain)
      yield* settle
      yield* o.cancel(handle.runId)
      yield* handle.await.pipe(Effect.ignore)
      yield* o.flushEvents
      expect(log).toEqual(["cancelled b", "cancelled c", "workflow cancelled chain"])
      log.length = 0
      yield* o.awaitJob(yield* o.submit((n: number) => n * 2, 4, { priority: 7 }))
      yield* o.awaitJob(yield* o.submit((n: number) => Effect.fail(new Boom({ n })), 1))
      const never = yield* o.submit(() => Effect.never, undefined)
      yield* settle
      yield* o.cancelJob(never)
      yield* o.awaitJob(never)
      yield* o.flushEvents
      // Jobs are tasks too: task.completed / task.failed / task.cancelled follow their job.* events.
      expect(log).toEqual([
        "queued p7",
        "job started",
        "job completed 8",
        "task.completed for job 8",
        "queued p5",
        "job started",
        "job failed Boom",
        "failed job: Boom",
        "queued p5",
        "job started",
        "job cancelled",
        "cancelled job"
      ])
      // The throwing subscriber was detached, and said why.
      const stats = yield* o.subscribers
      expect(stats.find((s) => s.pattern === "task.started")).toMatchObject({ status: "failed", error: "Error: handler bug" })
    }).pipe(provide()))

  it.effect("emit publishes custom events to their handlers only", () =>
    Effect.gen(function*() {
      const o = yield* Orchestrator.Orchestrator
      const seen: Array<unknown> = []
      yield* o.on("custom.deploy", (e) => seen.push([e.name, e.payload, e.at]))
      yield* o.on("custom.other", () => seen.push("other"))
      yield* TestClock.adjust("5 seconds")
      yield* o.emit("custom.deploy", { env: "prod" })
      yield* o.flushEvents
      expect(seen).toEqual([["custom.deploy", { env: "prod" }, 5000]])
    }).pipe(provide()))
})

describe("Orchestrator: cache", () => {
  it.effect("without a TaskCache the stats say strategy none", () =>
    Effect.gen(function*() {
      const o = yield* Orchestrator.Orchestrator
      expect((yield* o.cacheStats).strategy).toBe("none")
      expect(yield* o.invalidateCache("w", "t")).toBe(0)
      yield* o.clearCache
    }).pipe(provide()))

  it.effect("with a TaskCache: runs use it, stats, invalidation and clear act on it", () =>
    Effect.gen(function*() {
      const o = yield* Orchestrator.Orchestrator
      let calls = 0
      const wf = Workflow.make("cached")
        .task("t", () => Effect.sync(() => ++calls))
        .task("u", { dependsOn: ["t"] }, ({ t }) => t * 10)
      yield* o.execute(wf)
      const second = yield* o.execute(wf)
      expect(calls).toBe(1)
      expect(second.outputs).toEqual({ t: 1, u: 10 })
      const stats = yield* o.cacheStats
      expect(stats).toMatchObject({ strategy: "memory", hits: 2, misses: 2, size: 2 })
      expect((yield* o.stats()).runs.tasks.map((t) => t.cached)).toEqual([1, 1])
      expect(yield* o.invalidateCache(wf, "t")).toBe(1)
      yield* o.execute(wf)
      expect(calls).toBe(2)
      yield* o.clearCache
      expect((yield* o.cacheStats).size).toBe(0)
    }).pipe(Effect.provide(Orchestrator.layer().pipe(Layer.provide(TaskCache.layerMemory())))))
})

describe("Orchestrator: priorities", () => {
  it("maps seed 002 priorities (1 highest) onto Troupe's (10 highest)", () => {
    expect([1, 2, 5, 10].map(Orchestrator.fromSeed002Priority)).toEqual([10, 9, 6, 1])
    expect(Orchestrator.fromSeed002Priority(0)).toBe(10)
    expect(Orchestrator.fromSeed002Priority(42)).toBe(1)
    for (let p = 1; p <= 10; p++) {
      expect(Orchestrator.toSeed002Priority(Orchestrator.fromSeed002Priority(p))).toBe(p)
    }
  })
})
