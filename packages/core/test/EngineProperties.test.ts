/**
 * Property tests of the engine over random DAGs (1–200 tasks, random edges to earlier tasks, priorities
 * 1–10, whole durations of 1–50 ms on TestClock, random limits and failure sets). Every reference value
 * (critical path, total work, descendants, dispatch order) is computed by `@troupe/testing`'s `Dags`,
 * independently of the engine and of Plan analysis.
 */
import { describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Exit } from "effect"
import * as fc from "fast-check"
import { Engine, type RunEvent, WorkflowError } from "@troupe/core"
import { Dags, RunAssertions } from "@troupe/testing"

const NUM_RUNS = 100

type Limit = number | "unbounded"

const limitArb: fc.Arbitrary<Limit> = fc.oneof(
  fc.constant<Limit>("unbounded"),
  fc.integer({ min: 1, max: 12 })
)

const capacity = (limit: Limit): number => (limit === "unbounded" ? Infinity : limit)

/** Runs a DAG of sleeping tasks on the TestClock, recording events and handler activity. */
const runDag = (
  dag: Dags.Dag,
  options: Engine.RunOptions & {
    readonly failing?: ReadonlySet<string>
    readonly estimate?: boolean
    /** Tasks declared with `runIfSkipped: true`. */
    readonly runIfSkipped?: ReadonlySet<string>
  } = {}
) =>
  Effect.gen(function*() {
    const probe = RunAssertions.probe()
    const recording = RunAssertions.record()
    const sleeping = Dags.sleeping({ failing: options.failing })
    const wf = Dags.toWorkflow(dag, {
      handler: (node) => probe.wrap(node.id, sleeping(node)),
      estimate: options.estimate,
      attributes: (node) => (options.runIfSkipped?.has(node.id) === true ? { runIfSkipped: true } : {})
    })
    const { failing: _failing, estimate: _estimate, runIfSkipped: _runIfSkipped, ...runOptions } = options
    const exit = yield* RunAssertions.runOnTestClock(
      Engine.run(wf, undefined, { ...runOptions, onEvent: recording.onEvent }),
      { advanceMs: Dags.totalWork(dag) }
    )
    const events = recording.events
    const timeline = RunAssertions.timeline(events)
    RunAssertions.assertWellFormed(events, dag.nodes.map((n) => n.id))
    RunAssertions.assertRanOnce(probe, events)
    RunAssertions.assertDependenciesFirst(dag, events)
    expect(probe.inFlight()).toBe(0)
    return { exit, events, timeline, probe }
  })

/** The run failed with WorkflowFailed; returns it. */
const workflowFailed = <A>(exit: Exit.Exit<A, unknown>): WorkflowError.WorkflowFailed<unknown> => {
  if (Exit.isSuccess(exit)) throw new Error("expected the run to fail, it succeeded")
  const error = Cause.findErrorOption(exit.cause)
  if (error._tag === "Some" && error.value instanceof WorkflowError.WorkflowFailed) return error.value
  throw new Error(`expected WorkflowFailed, got ${Cause.pretty(exit.cause)}`)
}

/**
 * Work conservation: whenever a task waited after it became ready (all dependencies completed), every
 * one of the `limit` slots was busy for the whole wait.
 */
const assertNoIdleWhileReady = (dag: Dags.Dag, timeline: RunAssertions.Timeline, limit: number) => {
  const tasks = [...timeline.tasks.values()].filter((t) => t.startedAt !== undefined)
  const runningAt = (t: number) => tasks.filter((x) => x.startedAt! <= t && t < x.endedAt!).length
  const times = [...new Set(tasks.flatMap((x) => [x.startedAt!, x.endedAt!]))].sort((a, b) => a - b)
  for (const node of dag.nodes) {
    const task = timeline.tasks.get(node.id)!
    if (task.startedAt === undefined) continue
    const readyAt = Math.max(0, ...node.deps.map((d) => timeline.tasks.get(Dags.idOf(d))!.endedAt!))
    if (task.startedAt === readyAt) continue
    for (const t of [readyAt, ...times.filter((x) => x > readyAt && x < task.startedAt!)]) {
      const busy = runningAt(t)
      if (busy < limit) {
        throw new Error(
          `task "${node.id}" was ready at ${readyAt} but started at ${task.startedAt}, ` +
            `while only ${busy} of ${limit} slots were busy at ${t}`
        )
      }
    }
  }
}

const startOrder = (events: ReadonlyArray<RunEvent.RunEvent>): ReadonlyArray<string> =>
  events.flatMap((e) => (e._tag === "TaskStarted" && e.attempt === 1 ? [e.taskId] : []))

describe("Engine properties (random DAGs on TestClock)", () => {
  it.effect("every task runs exactly once, after its dependencies, never above maxParallel", () =>
    RunAssertions.property(
      fc.record({ dag: Dags.arbitrary(), limit: limitArb }),
      ({ dag, limit }) =>
        Effect.gen(function*() {
          const { exit, probe, timeline } = yield* runDag(dag, { maxParallel: limit })
          expect(Exit.isSuccess(exit)).toBe(true)
          RunAssertions.assertSameSet("completed", RunAssertions.idsWith(timeline, "completed"), dag.nodes.map((n) => n.id))
          expect(probe.invocations.size).toBe(dag.nodes.length)
          expect(probe.maxInFlight()).toBeLessThanOrEqual(capacity(limit))
          expect(probe.maxInFlight()).toBeGreaterThanOrEqual(1)
        }),
      { numRuns: NUM_RUNS }
    ))

  it.effect("in flight never exceeds maxParallel, counted inside the handlers and in the events", () =>
    RunAssertions.property(
      fc.record({ dag: Dags.arbitrary({ minNodes: 10, maxDeps: 2 }), limit: fc.integer({ min: 1, max: 6 }) }),
      ({ dag, limit }) =>
        Effect.gen(function*() {
          const { events, probe } = yield* runDag(dag, { maxParallel: limit })
          expect(probe.maxInFlight()).toBeLessThanOrEqual(limit)
          RunAssertions.assertConcurrencyAtMost(events, limit)
        }),
      { numRuns: NUM_RUNS }
    ))

  it.effect("with unlimited concurrency the makespan is exactly the critical path", () =>
    RunAssertions.property(
      Dags.arbitrary(),
      (dag) =>
        Effect.gen(function*() {
          const { exit, timeline } = yield* runDag(dag, { maxParallel: "unbounded" })
          const result = yield* exit
          const criticalPath = Dags.criticalPath(dag)
          expect(timeline.durationMs).toBe(criticalPath)
          expect(result.durationMs).toBe(criticalPath)
          // Event-driven: each task starts the moment its last dependency completes.
          const finish = Dags.earliestFinish(dag)
          for (const node of dag.nodes) {
            expect(timeline.tasks.get(node.id)!.startedAt).toBe(finish[node.index]! - node.durationMs)
          }
        }),
      { numRuns: NUM_RUNS }
    ))

  it.effect("with limit c the makespan is at most work / c + critical path, and no slot idles while a task is ready", () =>
    RunAssertions.property(
      fc.record({ dag: Dags.arbitrary(), limit: fc.integer({ min: 1, max: 8 }) }),
      ({ dag, limit }) =>
        Effect.gen(function*() {
          const { exit, timeline } = yield* runDag(dag, { maxParallel: limit })
          const result = yield* exit
          const work = Dags.totalWork(dag)
          const criticalPath = Dags.criticalPath(dag)
          expect(result.durationMs).toBeLessThanOrEqual(work / limit + criticalPath)
          expect(result.durationMs).toBeGreaterThanOrEqual(Math.max(criticalPath, Math.ceil(work / limit)))
          assertNoIdleWhileReady(dag, timeline, limit)
        }),
      { numRuns: NUM_RUNS }
    ))

  it.effect("sequential runs (strategy or maxParallel 1) take exactly the total work", () =>
    RunAssertions.property(
      fc.record({
        dag: Dags.arbitrary(),
        options: fc.constantFrom<Engine.RunOptions>(
          { strategy: "sequential" },
          { maxParallel: 1 },
          { strategy: "sequential", maxParallel: 8 }
        )
      }),
      ({ dag, options }) =>
        Effect.gen(function*() {
          const { exit, events, probe } = yield* runDag(dag, options)
          const result = yield* exit
          expect(result.durationMs).toBe(Dags.totalWork(dag))
          expect(probe.maxInFlight()).toBe(1)
          RunAssertions.assertConcurrencyAtMost(events, 1)
        }),
      { numRuns: NUM_RUNS }
    ))

  it.effect("continue: the skipped set is exactly the failed tasks' descendants; everything else completes", () =>
    RunAssertions.property(
      fc.record({
        input: Dags.withFailures(),
        limit: limitArb,
        // runIfSkipped must not let a descendant of a failure run (it is about condition skips).
        runIfSkipped: fc.array(fc.boolean(), { maxLength: 200, size: "max" })
      }),
      ({ input: { dag, failing }, limit, runIfSkipped }) =>
        Effect.gen(function*() {
          const { exit, timeline, probe } = yield* runDag(dag, {
            failureMode: "continue",
            maxParallel: limit,
            failing,
            runIfSkipped: new Set(dag.nodes.filter((n) => runIfSkipped[n.index] === true).map((n) => n.id))
          })
          const skipped = Dags.descendants(dag, failing)
          const failed = [...failing].filter((id) => !skipped.has(id))
          const completed = dag.nodes.map((n) => n.id).filter((id) => !skipped.has(id) && !failing.has(id))
          RunAssertions.assertSameSet("skipped", RunAssertions.idsWith(timeline, "skipped"), skipped)
          RunAssertions.assertSameSet("failed", RunAssertions.idsWith(timeline, "failed"), failed)
          RunAssertions.assertSameSet("completed", RunAssertions.idsWith(timeline, "completed"), completed)
          RunAssertions.assertSameSet("handlers run", probe.invocations.keys(), [...failed, ...completed])
          if (failing.size === 0) {
            expect(Exit.isSuccess(exit)).toBe(true)
          } else {
            const error = workflowFailed(exit)
            RunAssertions.assertSameSet("WorkflowFailed.failures", error.failures.map((f) => f.taskId), failed)
            RunAssertions.assertSameSet("WorkflowFailed.completed", error.completed, completed)
            expect(timeline.runEnd).toBe("RunFailed")
          }
        }),
      { numRuns: NUM_RUNS }
    ))

  it.effect("fail-fast: nothing starts after the first failure; running tasks end cancelled", () =>
    RunAssertions.property(
      fc.record({ input: Dags.withFailures({ minFailures: 1 }), limit: limitArb }),
      ({ input: { dag, failing }, limit }) =>
        Effect.gen(function*() {
          const { exit, events, timeline, probe } = yield* runDag(dag, { maxParallel: limit, failing })
          const failedAt = events.findIndex((e) => e._tag === "TaskFailed")
          expect(failedAt).toBeGreaterThan(0)
          const failure = events[failedAt] as RunEvent.Of<"TaskFailed">
          expect(failing.has(failure.taskId)).toBe(true)
          for (const [order, event] of events.entries()) {
            if (event._tag !== "TaskStarted") continue
            expect(event.at).toBeLessThanOrEqual(failure.at)
            expect(order).toBeLessThan(failedAt)
          }
          // Exactly one failure; the tasks running at that moment were interrupted and ended cancelled.
          RunAssertions.assertSameSet("failed", RunAssertions.idsWith(timeline, "failed"), [failure.taskId])
          const running = [...timeline.tasks.values()].filter((t) =>
            t.startOrder !== undefined && t.startOrder < failedAt && t.endOrder! > failedAt
          )
          for (const task of running) {
            expect(task.end).toBe("cancelled")
            expect(task.endedAt).toBe(failure.at)
          }
          RunAssertions.assertSameSet("interrupted handlers", probe.interrupted, running.map((t) => t.id))
          const completedBefore = [...timeline.tasks.values()].filter((t) => t.end === "completed")
          for (const task of completedBefore) expect(task.endOrder).toBeLessThan(failedAt)
          expect(RunAssertions.idsWith(timeline, "skipped").size).toBe(0)
          expect(completedBefore.length + 1 + RunAssertions.idsWith(timeline, "cancelled").size).toBe(dag.nodes.length)
          const error = workflowFailed(exit)
          expect(error.failures.map((f) => f.taskId)).toStrictEqual([failure.taskId])
          expect(timeline.runEnd).toBe("RunFailed")
          expect(timeline.runEndedAt).toBe(failure.at)
        }),
      { numRuns: NUM_RUNS }
    ))

  it.effect("limit 1 dispatches ready tasks by priority, then longest remaining path (in tasks), then declaration order", () =>
    RunAssertions.property(
      Dags.arbitrary({ maxPriority: 4 }),
      (dag) =>
        Effect.gen(function*() {
          const { events } = yield* runDag(dag, { maxParallel: 1 })
          expect(startOrder(events)).toStrictEqual(Dags.sequentialOrder(dag, "count"))
        }),
      { numRuns: NUM_RUNS }
    ))

  it.effect("with estimated durations the remaining path is measured in time", () =>
    RunAssertions.property(
      Dags.arbitrary({ maxPriority: 3 }),
      (dag) =>
        Effect.gen(function*() {
          const { events } = yield* runDag(dag, { strategy: "sequential", estimate: true })
          expect(startOrder(events)).toStrictEqual(Dags.sequentialOrder(dag, "duration"))
        }),
      { numRuns: NUM_RUNS }
    ))
})
