/**
 * Optimizer.suggest: parallel opportunities, slow tasks, timeouts from observed durations and frequent
 * retries, computed from runs measured on `TestClock` (so every number is exact).
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { Engine, Optimizer, Plan, Policy, RunMetrics, Workflow } from "@troupe/core"
import { measure, sleep } from "./fixtures/metrics.ts"

class Flaky extends Schema.TaggedError<Flaky>()("Flaky", {}) {}


const ofTag = <T extends Optimizer.Suggestion["_tag"]>(suggestions: ReadonlyArray<Optimizer.Suggestion>, tag: T) =>
  suggestions.filter((s): s is Extract<Optimizer.Suggestion, { _tag: T }> => s._tag === tag)

describe("parallel opportunities", () => {
  // a (100) ··order··> b (300) ──data──> c (50)        a ··order··> d (10)
  const wf = Workflow.make("chain")
    .task("a", () => sleep(100))
    .task("b", () => sleep(300)).dependsOn("a")
    .task("c", { dependsOn: ["b"] }, ({ b }) => sleep(b / 6))
    .task("d", () => sleep(10)).dependsOn("a")
  const plan = Plan.fromWorkflow(wf)

  it.effect("an order-only edge on the critical path, with the time dropping it saves", () =>
    Effect.gen(function*() {
      const metrics = yield* measure(plan, (o) => Engine.run(wf, undefined, o))
      expect(metrics.criticalPath).toEqual({ path: ["a", "b", "c"], durationMs: 450 })
      const parallel = ofTag(Optimizer.suggest(plan, metrics), "Parallelize")
      // a -> d is order-only too, but off the critical path: dropping it saves nothing.
      expect(parallel.map(({ from, to, savingMs }) => ({ from, to, savingMs }))).toEqual([
        { from: "a", to: "b", savingMs: 100 }
      ])
      expect(parallel[0]!.message).toBe(
        "\"b\" waits for \"a\" without reading its output; if the order is not needed, run them in parallel " +
          "to save about 100ms per run"
      )
    }))

  it.effect("data edges are never suggested: the task reads the output", () =>
    Effect.gen(function*() {
      const data = Workflow.make("data")
        .task("a", () => sleep(100))
        .task("b", { dependsOn: ["a"] }, () => sleep(300))
      const p = Plan.fromWorkflow(data)
      const metrics = yield* measure(p, (o) => Engine.run(data, undefined, o))
      expect(ofTag(Optimizer.suggest(p, metrics), "Parallelize")).toEqual([])
    }))

  it.effect("parallelism held back by maxParallel is reported against what the graph allows", () =>
    Effect.gen(function*() {
      const wide = Workflow.make("wide")
        .task("w1", () => sleep(100))
        .task("w2", () => sleep(100))
        .task("w3", () => sleep(100))
        .task("w4", () => sleep(100))
      const p = Plan.fromWorkflow(wide)
      const limited = yield* measure(p, (o) => Engine.run(wide, undefined, o), { maxParallel: 1 })
      const [more] = ofTag(Optimizer.suggest(p, limited), "IncreaseParallelism")
      expect(more).toMatchObject({ achieved: 1, possible: 4 })
      expect(more!.message).toContain("1.00x")
      expect(more!.message).toContain("4.00x")
      const free = yield* measure(p, (o) => Engine.run(wide, undefined, o))
      expect(free.parallelism.achieved).toBe(4)
      expect(ofTag(Optimizer.suggest(p, free), "IncreaseParallelism")).toEqual([])
    }))
})

describe("slow tasks", () => {
  const wf = Workflow.make("slow")
    .task("a", () => sleep(100))
    .task("b", () => sleep(100))
    .task("c", { dependsOn: ["a"] }, () => sleep(120))
    .task("d", () => sleep(500))
    .task("e", { dependsOn: ["b"] }, () => sleep(250))
  const plan = Plan.fromWorkflow(wf)

  it.effect("tasks over twice the median, slowest first, with whether they are on the critical path", () =>
    Effect.gen(function*() {
      const metrics = yield* measure(plan, (o) => Engine.run(wf, undefined, o))
      const slow = ofTag(Optimizer.suggest(plan, metrics), "SlowTask")
      // Median of 100, 100, 120, 500, 250 is 120: d (500) and e (250) are over 240.
      expect(slow.map(({ taskId, durationMs, medianMs, critical }) => ({ taskId, durationMs, medianMs, critical })))
        .toEqual([
          { taskId: "d", durationMs: 500, medianMs: 120, critical: true },
          { taskId: "e", durationMs: 250, medianMs: 120, critical: false }
        ])
      expect(slow[0]!.message).toBe(
        "\"d\" takes 500ms, 4.17x the median task (120ms); it is on the critical path, so making it faster " +
          "shortens the run"
      )
      expect(slow[1]!.message).toContain("off the critical path")
      expect(ofTag(Optimizer.suggest(plan, metrics, { slowFactor: 4 }), "SlowTask").map((s) => s.taskId)).toEqual(["d"])
    }))
})

describe("timeouts", () => {
  const timed = Workflow.make("timed", { input: Schema.Struct({ ms: Schema.Number }) })
    .task("call", ({ input }) => sleep(input.ms))
    .task("bounded", { timeout: "10 seconds" }, () => sleep(40))
    .task("tight", { timeout: "150 millis" }, () => sleep(123))
  const plan = Plan.fromWorkflow(timed)

  it.effect("3x the p95 of observed durations over many runs, rounded up; tight timeouts are raised", () =>
    Effect.gen(function*() {
      const runs: Array<RunMetrics.RunMetrics> = []
      // call takes 10, 20, ..., 200 ms: the p95 (nearest rank, 19th of 20) is 190.
      for (let k = 1; k <= 20; k++) runs.push(yield* measure(plan, (o) => Engine.run(timed, { ms: 10 * k }, o)))
      const timeouts = ofTag(Optimizer.suggest(plan, runs), "SetTimeout")
      expect(timeouts.map(({ taskId, p95Ms, timeoutMs, currentMs }) => ({ taskId, p95Ms, timeoutMs, currentMs })))
        .toEqual([
          { taskId: "call", p95Ms: 190, timeoutMs: 570, currentMs: undefined },
          // 3 x 123 = 369, rounded up to two significant digits.
          { taskId: "tight", p95Ms: 123, timeoutMs: 370, currentMs: 150 }
        ])
      expect(timeouts[0]!.message).toBe(
        "\"call\" has no timeout: set one of 570ms (3x its p95 of 190ms) so a hung call cannot stall the run"
      )
      expect(timeouts[1]!.message).toBe(
        "\"tight\" has a timeout of 150ms, close to its p95 of 123ms: raise it to 370ms (3x the p95)"
      )
      const fives = ofTag(Optimizer.suggest(plan, runs, { timeoutFactor: 5 }), "SetTimeout")
      expect(fives.map((s) => s.timeoutMs)).toEqual([950, 620])
    }))

  it.effect("the workflow's default timeout counts as the task's", () =>
    Effect.gen(function*() {
      const wf = Workflow.make("defaulted", { defaultTimeout: "1 second" }).task("t", () => sleep(100))
      const p = Plan.fromWorkflow(wf)
      const metrics = yield* measure(p, (o) => Engine.run(wf, undefined, o))
      expect(ofTag(Optimizer.suggest(p, metrics), "SetTimeout")).toEqual([])
    }))

  it.effect("longer durations round to readable values", () =>
    Effect.gen(function*() {
      const wf = Workflow.make("long").task("t", () => sleep(1_520))
      const p = Plan.fromWorkflow(wf)
      const metrics = yield* measure(p, (o) => Engine.run(wf, undefined, o))
      expect(ofTag(Optimizer.suggest(p, metrics), "SetTimeout").map((s) => s.timeoutMs)).toEqual([4_600])
    }))
})

describe("frequent retries", () => {
  // Each run's handler fails its first `failures` attempts (attempts are counted per run id).
  const calls = new Map<string, number>()
  const wf = Workflow.make("retrying", { input: Schema.Struct({ failures: Schema.Number, run: Schema.String }) })
    .task("fetch", {
      retry: Policy.fixed({ maxRetries: 5, initialDelay: "10 millis" }),
      timeout: "1 minute"
    }, ({ input }) =>
      Effect.suspend(() => {
        const n = (calls.get(input.run) ?? 0) + 1
        calls.set(input.run, n)
        return n <= input.failures ? Effect.fail(new Flaky()) : Effect.succeed(n)
      }))
  const plan = Plan.fromWorkflow(wf)

  it.effect("one retry or more per run on average", () =>
    Effect.gen(function*() {
      const once = yield* measure(plan, (o) => Engine.run(wf, { failures: 2, run: "first" }, o))
      expect(once.totalRetries).toBe(2)
      const [retries] = ofTag(Optimizer.suggest(plan, once), "FrequentRetries")
      expect(retries).toMatchObject({ taskId: "fetch", retries: 2, runs: 1 })
      expect(retries!.message).toBe(
        "\"fetch\" retried 2 times in 1 run: find out why its first attempts fail, or give its retry policy a " +
          "longer initial delay"
      )
      const calm = [once]
      for (let k = 0; k < 3; k++) {
        calm.push(yield* measure(plan, (o) => Engine.run(wf, { failures: 0, run: `calm-${k}` }, o)))
      }
      expect(ofTag(Optimizer.suggest(plan, calm), "FrequentRetries")).toEqual([])
      expect(ofTag(Optimizer.suggest(plan, calm, { retriesPerRun: 0.5 }), "FrequentRetries")).toMatchObject([
        { taskId: "fetch", retries: 2, runs: 4 }
      ])
    }))
})

describe("suggest", () => {
  it("no runs, no suggestions", () => {
    const wf = Workflow.make("x").task("t", () => Effect.void)
    expect(Optimizer.suggest(Plan.fromWorkflow(wf), [])).toEqual([])
  })

  it.effect("a balanced, bounded run needs nothing", () =>
    Effect.gen(function*() {
      const wf = Workflow.make("fine", { defaultTimeout: "1 minute" })
        .task("a", () => sleep(100))
        .task("b", { dependsOn: ["a"] }, () => sleep(100))
      const p = Plan.fromWorkflow(wf)
      expect(Optimizer.suggest(p, yield* measure(p, (o) => Engine.run(wf, undefined, o)))).toEqual([])
    }))
})
