/**
 * RunMetrics: per-task and per-run metrics folded from RunEvents, aggregates over runs, Effect metrics
 * exported by `track`, and the spans the engine opens per task. Every run happens on `TestClock`, so all
 * durations are exact.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Metric, Option, Schema, Tracer } from "effect"
import { Engine, Plan, Policy, RunEvent, RunMetrics, TaskCache, Workflow } from "@troupe/core"
import { RunAssertions } from "@troupe/testing"

class Boom extends Schema.TaggedError<Boom>()("Boom", { reason: Schema.String }) {
  override get message() {
    return `boom: ${this.reason}`
  }
}

const sleep = (ms: number) => Effect.sleep(ms).pipe(Effect.as(ms))

//          ┌─ backend (300) ─┐
// setup (100)                ├─ test (400)        docs (50, alone)
//          └─ frontend (200) ┘
const webApp = Workflow.make("web-app")
  .task("setup", () => sleep(100))
  .task("backend", { dependsOn: ["setup"], agentType: "coder" }, () => sleep(300))
  .task("frontend", { dependsOn: ["setup"] }, () => sleep(200))
  .task("test", { dependsOn: ["backend", "frontend"] }, () => sleep(400))
  .task("docs", () => sleep(50))

/** Runs `wf` on the TestClock with a collector and returns the exit and the metrics. */
const measure = <A, E>(
  plan: Plan.Plan,
  start: (options: Engine.RunOptions) => Effect.Effect<A, E>,
  options: Engine.RunOptions = {}
) =>
  Effect.gen(function*() {
    const recording = RunAssertions.record()
    const collector = RunMetrics.collector(plan)
    const exit = yield* RunAssertions.runOnTestClock(
      start({
        ...options,
        onEvent: (e) => {
          recording.onEvent(e)
          collector.onEvent(e)
        }
      }),
      { advanceMs: 10_000 }
    )
    return { exit, metrics: collector.snapshot(), events: recording.events }
  })

describe("RunMetrics from a run", () => {
  it.effect("measures every task and the run of a DAG, exactly", () =>
    Effect.gen(function*() {
      const plan = Plan.fromWorkflow(webApp)
      const { exit, metrics } = yield* measure(plan, (o) => Engine.run(webApp, undefined, o))
      expect(Exit.isSuccess(exit)).toBe(true)
      expect(metrics.workflow).toBe("web-app")
      expect(metrics.status).toBe("completed")
      expect(metrics.durationMs).toBe(800)
      expect(metrics.tasks.map((t) => [t.id, t.status, t.durationMs, t.startedAt, t.attempts, t.retries])).toEqual([
        ["setup", "completed", 100, 0, 1, 0],
        ["backend", "completed", 300, 100, 1, 0],
        ["frontend", "completed", 200, 100, 1, 0],
        ["test", "completed", 400, 400, 1, 0],
        ["docs", "completed", 50, 0, 1, 0]
      ])
      expect(metrics.tasks.find((t) => t.id === "backend")!.agent).toBe("coder")
      expect(metrics.tasks.find((t) => t.id === "setup")!.agent).toBeUndefined()
      expect(metrics.counts).toMatchObject({ total: 5, completed: 5, failed: 0, skipped: 0, cached: 0 })
      expect(metrics.successRate).toBe(1)
      expect(metrics.totalRetries).toBe(0)
      expect(metrics.averageTaskMs).toBe(210)
      expect(metrics.slowest).toEqual({ id: "test", durationMs: 400 })
      expect(metrics.fastest).toEqual({ id: "docs", durationMs: 50 })
      expect(metrics.criticalPath).toEqual({ path: ["setup", "backend", "test"], durationMs: 800 })
      expect(metrics.bottleneck).toEqual({ id: "test", durationMs: 400 })
      expect(metrics.parallelism).toEqual({
        totalWorkMs: 1050,
        wallMs: 800,
        criticalPathMs: 800,
        achieved: 1050 / 800,
        possible: 1050 / 800
      })
      expect(metrics.failures).toEqual([])
    }))

  it.effect("one task at a time: the same work over a longer wall time, so less parallelism achieved", () =>
    Effect.gen(function*() {
      const plan = Plan.fromWorkflow(webApp)
      const { metrics } = yield* measure(plan, (o) => Engine.run(webApp, undefined, o), { maxParallel: 1 })
      expect(metrics.durationMs).toBe(1050)
      expect(metrics.parallelism.achieved).toBe(1)
      expect(metrics.parallelism.possible).toBe(1050 / 800)
      // The critical path is measured from durations, not from when tasks happened to start.
      expect(metrics.criticalPath).toEqual({ path: ["setup", "backend", "test"], durationMs: 800 })
    }))

  it.effect("retries, fallbacks, failures and skipped descendants", () =>
    Effect.gen(function*() {
      let fetchCalls = 0
      const wf = Workflow.make("deploy")
        .task("fetch", { retry: Policy.fixed({ maxRetries: 3, initialDelay: "100 millis" }) }, () =>
          sleep(10).pipe(Effect.andThen(Effect.suspend(() =>
            ++fetchCalls < 3 ? Effect.fail(new Boom({ reason: "flaky network" })) : Effect.succeed("data")
          ))))
        .task("score", () => sleep(20).pipe(Effect.andThen(Effect.fail(new Boom({ reason: "model down" })))))
        .fallback(() => Effect.succeed(0))
        .task("ship", { dependsOn: ["fetch"] }, () =>
          sleep(30).pipe(Effect.andThen(Effect.fail(new Boom({ reason: "disk full" })))))
        .task("notify", { dependsOn: ["ship"] }, () => Effect.succeed("sent"))
      const plan = Plan.fromWorkflow(wf)
      const { exit, metrics } = yield* measure(plan, (o) => Engine.run(wf, undefined, o), { failureMode: "continue" })
      expect(Exit.isFailure(exit)).toBe(true)
      // fetch: 10 + 100 + 10 + 100 + 10
      const fetch = metrics.tasks.find((t) => t.id === "fetch")!
      expect([fetch.status, fetch.durationMs, fetch.attempts, fetch.retries, fetch.error]).toEqual([
        "completed",
        230,
        3,
        2,
        undefined
      ])
      const score = metrics.tasks.find((t) => t.id === "score")!
      expect([score.status, score.fallback, score.error]).toEqual(["completed", true, "boom: model down"])
      const ship = metrics.tasks.find((t) => t.id === "ship")!
      expect([ship.status, ship.durationMs, ship.startedAt, ship.error]).toEqual(["failed", 30, 230, "boom: disk full"])
      const notify = metrics.tasks.find((t) => t.id === "notify")!
      expect([notify.status, notify.durationMs, notify.attempts]).toEqual(["skipped", undefined, 0])
      expect(notify.reason).toContain("ship")
      expect(metrics.status).toBe("failed")
      expect(metrics.durationMs).toBe(260)
      expect(metrics.counts).toMatchObject({ total: 4, completed: 2, failed: 1, skipped: 1 })
      expect(metrics.successRate).toBe(0.5)
      expect(metrics.totalRetries).toBe(2)
      expect(metrics.failures).toEqual([{ id: "ship", error: "boom: disk full" }])
      // Averages cover the tasks that ran to an end: fetch 230, score 20, ship 30.
      expect(metrics.averageTaskMs).toBeCloseTo(280 / 3, 10)
      expect(metrics.slowest).toEqual({ id: "fetch", durationMs: 230 })
      expect(metrics.fastest).toEqual({ id: "score", durationMs: 20 })
      // notify never ran: it weighs nothing and is left off the end of the path.
      expect(metrics.criticalPath).toEqual({ path: ["fetch", "ship"], durationMs: 260 })
      expect(metrics.bottleneck).toEqual({ id: "fetch", durationMs: 230 })
    }))

  it.effect("cache hits count as completed and cached, with no duration in the averages", () =>
    Effect.gen(function*() {
      let runs = 0
      const wf = Workflow.make("cached")
        .task("slow", () => Effect.sync(() => ++runs).pipe(Effect.andThen(sleep(500))))
        .task("fresh", { dependsOn: ["slow"], cache: false }, () => sleep(40))
      const plan = Plan.fromWorkflow(wf)
      const first = yield* measure(plan, (o) => Engine.run(wf, undefined, o))
      const second = yield* measure(plan, (o) => Engine.run(wf, undefined, o))
      expect(runs).toBe(1)
      expect(first.metrics.counts.cached).toBe(0)
      expect(first.metrics.durationMs).toBe(540)
      const slow = second.metrics.tasks.find((t) => t.id === "slow")!
      expect([slow.status, slow.cached, slow.durationMs, slow.attempts]).toEqual(["completed", true, 0, 0])
      expect(second.metrics.counts).toMatchObject({ completed: 2, cached: 1 })
      expect(second.metrics.durationMs).toBe(40)
      expect(second.metrics.averageTaskMs).toBe(40)
      expect(second.metrics.fastest).toEqual({ id: "fresh", durationMs: 40 })
      expect(second.metrics.criticalPath).toEqual({ path: ["fresh"], durationMs: 40 })
    }).pipe(Effect.provide(TaskCache.layerMemory())))

  it.effect("fromEvents folds a recorded run to the same metrics; other runs' events are ignored", () =>
    Effect.gen(function*() {
      const plan = Plan.fromWorkflow(webApp)
      const { metrics, events } = yield* measure(plan, (o) => Engine.run(webApp, undefined, o))
      const noise: RunEvent.RunEvent = { _tag: "TaskStarted", runId: "other", at: 5000, taskId: "setup", attempt: 1 }
      expect(RunMetrics.fromEvents(plan, [...events, noise])).toEqual(metrics)
    }))

  it("a snapshot of a run still going measures up to the last event", () => {
    const plan = Plan.fromWorkflow(webApp)
    const events: ReadonlyArray<RunEvent.RunEvent> = [
      { _tag: "RunStarted", runId: "r", at: 1000, workflow: "web-app", total: 5 },
      { _tag: "TaskStarted", runId: "r", at: 1000, taskId: "setup", attempt: 1 },
      { _tag: "TaskStarted", runId: "r", at: 1000, taskId: "docs", attempt: 1 },
      { _tag: "TaskCompleted", runId: "r", at: 1050, taskId: "docs", attempts: 1, durationMs: 50, output: 50 },
      { _tag: "TaskRetrying", runId: "r", at: 1070, taskId: "setup", attempt: 1, delayMs: 10, message: "oops" }
    ]
    const m = RunMetrics.fromEvents(plan, events)
    expect(m.status).toBe("running")
    expect(m.durationMs).toBe(70)
    expect(m.tasks.find((t) => t.id === "setup")).toMatchObject({ status: "running", durationMs: 70, error: "oops" })
    expect(m.counts).toMatchObject({ running: 1, completed: 1, pending: 3 })
    expect(m.parallelism.totalWorkMs).toBe(120)
  })

  it("a run that has not started yet", () => {
    const m = RunMetrics.collector(Plan.fromWorkflow(webApp)).snapshot()
    expect(m.status).toBe("pending")
    expect(m.durationMs).toBe(0)
    expect(m.criticalPath).toEqual({ path: [], durationMs: 0 })
    expect(m.bottleneck).toBeUndefined()
    expect(m.averageTaskMs).toBeUndefined()
    expect(m.parallelism).toMatchObject({ achieved: 1, possible: 1 })
  })

  it("the agent a run reports wins over the task's agentType", () => {
    const plan = Plan.fromWorkflow(webApp)
    const completed = {
      _tag: "TaskCompleted",
      runId: "r",
      at: 300,
      taskId: "backend",
      attempts: 1,
      durationMs: 300,
      output: 1,
      agent: "coder-2"
    } as RunEvent.RunEvent
    const started: RunEvent.RunEvent = { _tag: "RunStarted", runId: "r", at: 0, workflow: "web-app", total: 5 }
    const m = RunMetrics.fromEvents(plan, [started, completed])
    expect(m.tasks.find((t) => t.id === "backend")!.agent).toBe("coder-2")
  })
})

// -----------------------------------------------------------------------------
// Aggregates
// -----------------------------------------------------------------------------

const byInput = Workflow.make("timed", { input: Schema.Struct({ ms: Schema.Number, fail: Schema.Boolean }) })
  .task("work", ({ input }) => sleep(input.ms))
  .task("check", { dependsOn: ["work"] }, ({ input }) =>
    input.fail ? sleep(5).pipe(Effect.andThen(Effect.fail(new Boom({ reason: "bad" })))) : sleep(10))

describe("RunMetrics.aggregate", () => {
  it.effect("runs, success rate, average/p50/p95 wall time and per-task statistics", () =>
    Effect.gen(function*() {
      const plan = Plan.fromWorkflow(byInput)
      const inputs = [
        { ms: 100, fail: false },
        { ms: 300, fail: false },
        { ms: 200, fail: false },
        { ms: 1000, fail: true }
      ]
      const runs: Array<RunMetrics.RunMetrics> = []
      for (const input of inputs) {
        runs.push((yield* measure(plan, (o) => Engine.run(byInput, input, o))).metrics)
      }
      expect(runs.map((r) => r.durationMs)).toEqual([110, 310, 210, 1005])
      const a = RunMetrics.aggregate(runs)
      expect(a).toMatchObject({
        runs: 4,
        completed: 3,
        failed: 1,
        cancelled: 0,
        successRate: 0.75,
        totalRetries: 0,
        averageMs: (110 + 310 + 210 + 1005) / 4,
        p50Ms: 210,
        p95Ms: 1005,
        minMs: 110,
        maxMs: 1005
      })
      expect(a.tasks).toEqual([
        {
          id: "work",
          measured: 4,
          completed: 4,
          failed: 0,
          skipped: 0,
          cached: 0,
          retries: 0,
          averageMs: 400,
          p50Ms: 200,
          p95Ms: 1000,
          minMs: 100,
          maxMs: 1000
        },
        {
          id: "check",
          measured: 4,
          completed: 3,
          failed: 1,
          skipped: 0,
          cached: 0,
          retries: 0,
          averageMs: 35 / 4,
          p50Ms: 10,
          p95Ms: 10,
          minMs: 5,
          maxMs: 10
        }
      ])
    }))

  it("no runs", () => {
    expect(RunMetrics.aggregate([])).toMatchObject({ runs: 0, successRate: 0, averageMs: undefined, tasks: [] })
  })
})

// -----------------------------------------------------------------------------
// Effect metrics
// -----------------------------------------------------------------------------

const counterOf = (
  snapshots: ReadonlyArray<Metric.Metric.Snapshot>,
  id: string,
  attributes: Record<string, string>
) => {
  const found = snapshots.filter((s) =>
    s.id === id && Object.entries(attributes).every(([k, v]) => s.attributes?.[k] === v)
  )
  return found.map((s) => s.state)
}

describe("RunMetrics.track", () => {
  it.effect("records counters and histograms with workflow and task attributes", () =>
    Effect.gen(function*() {
      let fetchCalls = 0
      const wf = Workflow.make("shop")
        .task("fetch", { retry: Policy.fixed({ maxRetries: 2, initialDelay: "100 millis" }) }, () =>
          sleep(10).pipe(Effect.andThen(Effect.suspend(() =>
            ++fetchCalls < 2 ? Effect.fail(new Boom({ reason: "x" })) : Effect.succeed(1)
          ))))
        .task("pay", { dependsOn: ["fetch"] }, () =>
          sleep(40).pipe(Effect.andThen(Effect.fail(new Boom({ reason: "y" })))))
      const onEvent = yield* RunMetrics.track()
      const exit = yield* RunAssertions.runOnTestClock(Engine.run(wf, undefined, { onEvent }), { advanceMs: 1000 })
      expect(Exit.isFailure(exit)).toBe(true)
      fetchCalls = 0
      yield* RunAssertions.runOnTestClock(Engine.run(wf, undefined, { onEvent }), { advanceMs: 1000 })

      const m = RunMetrics.instruments()
      const value = <S>(metric: Metric.Metric<number, S>, attributes: Record<string, string>) =>
        Metric.value(Metric.withAttributes(metric, attributes))
      const fetch = { workflow: "shop", task: "fetch" }
      const pay = { workflow: "shop", task: "pay" }
      expect((yield* value(m.tasksCompleted, fetch)).count).toBe(2)
      expect((yield* value(m.tasksRetried, fetch)).count).toBe(2)
      expect((yield* value(m.tasksFailed, pay)).count).toBe(2)
      expect((yield* value(m.tasksCompleted, pay)).count).toBe(0)
      const fetchDuration = yield* value(m.taskDuration, fetch)
      expect([fetchDuration.count, fetchDuration.sum, fetchDuration.min, fetchDuration.max]).toEqual([2, 240, 120, 120])
      const payDuration = yield* value(m.taskDuration, pay)
      expect([payDuration.count, payDuration.sum]).toEqual([2, 80])
      expect((yield* value(m.runs, { workflow: "shop", status: "failed" })).count).toBe(2)
      const runDuration = yield* value(m.runDuration, { workflow: "shop", status: "failed" })
      expect([runDuration.count, runDuration.sum]).toEqual([2, 320])

      // The same series appear in a registry snapshot, as an exporter reads them.
      const snapshot = yield* Metric.snapshot
      expect(counterOf(snapshot, "troupe.tasks.retried", fetch)).toEqual([{ count: 2, incremental: true }])
      const ids = new Set(snapshot.map((s) => s.id))
      for (
        const id of [
          "troupe.runs",
          "troupe.run.duration_ms",
          "troupe.tasks.completed",
          "troupe.tasks.failed",
          "troupe.tasks.retried",
          "troupe.task.duration_ms"
        ]
      ) expect(ids.has(id)).toBe(true)
    }).pipe(Effect.provideService(Metric.MetricRegistry, new Map())))

  it.effect("cache hits count as completed and cached, without a duration; prefix and attributes apply", () =>
    Effect.gen(function*() {
      const wf = Workflow.make("c").task("t", () => sleep(70))
      const onEvent = yield* RunMetrics.track({ prefix: "app", attributes: { service: "api" } })
      yield* RunAssertions.runOnTestClock(Engine.run(wf, undefined, { onEvent }), { advanceMs: 100 })
      yield* RunAssertions.runOnTestClock(Engine.run(wf, undefined, { onEvent }), { advanceMs: 100 })
      const m = RunMetrics.instruments({ prefix: "app", attributes: { service: "api" } })
      const t = { workflow: "c", task: "t" }
      expect((yield* Metric.value(Metric.withAttributes(m.tasksCompleted, t))).count).toBe(2)
      expect((yield* Metric.value(Metric.withAttributes(m.tasksCached, t))).count).toBe(1)
      expect((yield* Metric.value(Metric.withAttributes(m.taskDuration, t))).count).toBe(1)
      const completed = (yield* Metric.snapshot).find((s) => s.id === "app.tasks.completed")!
      expect(completed.attributes).toEqual({ service: "api", workflow: "c", task: "t" })
    }).pipe(Effect.provide(TaskCache.layerMemory()), Effect.provideService(Metric.MetricRegistry, new Map())))
})

// -----------------------------------------------------------------------------
// Spans
// -----------------------------------------------------------------------------

/** A tracer that keeps every span it creates (the test Tracer layer). */
const capture = () => {
  const spans: Array<Tracer.NativeSpan> = []
  const tracer = Tracer.make({
    span(options) {
      const span = new Tracer.NativeSpan(options)
      spans.push(span)
      return span
    }
  })
  return { spans, tracer }
}

const parentName = (span: Tracer.Span): string | undefined => {
  const parent = Option.getOrUndefined(span.parent)
  return parent === undefined ? undefined : parent._tag === "Span" ? parent.name : `external:${parent.spanId}`
}

describe("spans", () => {
  it.effect("each task runs in a span <workflow>.<task>, child of the caller's span; sub-workflow tasks nest", () =>
    Effect.gen(function*() {
      const { spans, tracer } = capture()
      const child = Workflow.make("child").task("inner", () => Effect.withSpan(sleep(5), "inner-work"))
      const wf = Workflow.make("parent")
        .task("first", () => sleep(10))
        .task("sub", child, { dependsOn: ["first"] })
      yield* RunAssertions.runOnTestClock(
        Engine.run(wf).pipe(Effect.withSpan("request")),
        { advanceMs: 100 }
      ).pipe(Effect.provideService(Tracer.Tracer, tracer))

      const byName = new Map(spans.map((s) => [s.name, s]))
      expect([...byName.keys()].sort()).toEqual(["child.inner", "inner-work", "parent.first", "parent.sub", "request"])
      expect(parentName(byName.get("parent.first")!)).toBe("request")
      expect(parentName(byName.get("parent.sub")!)).toBe("request")
      expect(parentName(byName.get("child.inner")!)).toBe("parent.sub")
      expect(parentName(byName.get("inner-work")!)).toBe("child.inner")
      const traceIds = new Set(spans.map((s) => s.traceId))
      expect(traceIds.size).toBe(1)
      const first = byName.get("parent.first")!
      expect(Object.fromEntries(first.attributes)).toMatchObject({
        "troupe.workflow": "parent",
        "troupe.task": "first"
      })
      // Spans end with the task, on the TestClock's time.
      expect(first.status._tag).toBe("Ended")
      if (first.status._tag === "Ended") expect(first.status.endTime - first.status.startTime).toBe(10_000_000n)
    }))

  it.effect("a failed task's span ends with the failure", () =>
    Effect.gen(function*() {
      const { spans, tracer } = capture()
      const wf = Workflow.make("f").task("bad", () => Effect.fail(new Boom({ reason: "z" })))
      yield* RunAssertions.runOnTestClock(Engine.run(wf), { advanceMs: 10 }).pipe(
        Effect.provideService(Tracer.Tracer, tracer)
      )
      const span = spans.find((s) => s.name === "f.bad")!
      expect(span.status._tag === "Ended" && Exit.isFailure(span.status.exit)).toBe(true)
    }))
})
