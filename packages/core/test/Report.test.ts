/**
 * Report.render: the plain-text performance report, checked line by line on a run measured on
 * `TestClock`, and its width limit on long ids and errors.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { Engine, Optimizer, Plan, Policy, Report, RunMetrics, TaskCache, Workflow } from "@troupe/core"
import { measure, sleep } from "./fixtures/metrics.ts"

class Boom extends Schema.TaggedError<Boom>()("Boom", { reason: Schema.String }) {
  override get message() {
    return `boom: ${this.reason}`
  }
}


const webApp = () => {
  let backendCalls = 0
  return Workflow.make("web-app")
    .task("setup", () => sleep(100))
    .task("backend", {
      dependsOn: ["setup"],
      agentType: "coder",
      retry: Policy.fixed({ maxRetries: 2, initialDelay: "50 millis" })
    }, () =>
      sleep(100).pipe(Effect.andThen(Effect.suspend(() =>
        ++backendCalls < 2 ? Effect.fail(new Boom({ reason: "port in use" })) : Effect.succeed(1)
      ))))
    .task("frontend", { dependsOn: ["setup"] }, () => sleep(200))
    .task("test", { dependsOn: ["backend", "frontend"] }, () => sleep(400))
    .task("docs", () => sleep(50)).dependsOn("setup")
    .task("deploy", { dependsOn: ["test"] }, () =>
      sleep(30).pipe(Effect.andThen(Effect.fail(new Boom({ reason: "credentials expired" })))))
    .task("announce", { dependsOn: ["deploy"] }, () => sleep(5))
}

const fits = (text: string, width: number) => {
  for (const line of text.split("\n")) expect(line.length, line).toBeLessThanOrEqual(width)
}

describe("Report.render", () => {
  it.effect("the seeds' layout: header, summary, task details, failures, bottleneck, critical path, suggestions", () =>
    Effect.gen(function*() {
      const wf = webApp()
      const metrics = yield* measure(Plan.fromWorkflow(wf), (o) => Engine.run(wf, undefined, o), {
        failureMode: "continue",
        runId: "run-1"
      })
      const report = Report.render(metrics)
      expect(report.split("\n")).toEqual([
        "=".repeat(100),
        "WORKFLOW PERFORMANCE REPORT",
        "=".repeat(100),
        "Workflow:      web-app",
        "Run:           run-1",
        "Status:        failed",
        "Duration:      780ms",
        "Tasks:         7 total, 5 completed, 1 failed, 1 skipped",
        "Success rate:  71.4%",
        "Retries:       1",
        "Average task:  171.7ms",
        "Slowest task:  test (400ms)",
        "Fastest task:  deploy (30ms)",
        "Parallelism:   1.32x achieved, 1.32x possible (work 1.03s, critical path 780ms)",
        "",
        "TASK DETAILS",
        "-".repeat(100),
        "TASK      STATUS     DURATION  ATTEMPTS  RETRIES  AGENT  NOTES",
        "setup     completed     100ms         1        0  -",
        "backend   completed     250ms         2        1  coder",
        "frontend  completed     200ms         1        0  -",
        "test      completed     400ms         1        0  -",
        "docs      completed      50ms         1        0  -",
        "deploy    failed         30ms         1        0  -      boom: credentials expired",
        "announce  skipped           -         0        0  -      dependency \"deploy\" failed",
        "",
        "FAILED TASKS",
        "-".repeat(100),
        "deploy: boom: credentials expired",
        "",
        "BOTTLENECK",
        "-".repeat(100),
        "test: 400ms, 51.3% of the critical path and 51.3% of the run",
        "",
        "CRITICAL PATH",
        "-".repeat(100),
        "setup -> backend -> test -> deploy (780ms)",
        "",
        "SUGGESTIONS",
        "-".repeat(100),
        "1. \"test\" takes 400ms, 2.67x the median task (150ms); it is on the critical path, so making it",
        "   faster shortens the run",
        "2. \"backend\" retried 1 time in 1 run: find out why its first attempts fail, or give its retry policy",
        "   a longer initial delay",
        "3. 5 tasks have no timeout; set each to a multiple of its observed p95 so a hung call cannot stall",
        "   the run (p95 -> timeout): \"setup\" 100ms -> 300ms, \"backend\" 250ms -> 750ms, \"frontend\" 200ms ->",
        "   600ms, \"test\" 400ms -> 1.20s, \"docs\" 50ms -> 150ms",
        "=".repeat(100)
      ])
    }))

  it.effect("cache hits, fallbacks and a clean run; suggestions can be given", () =>
    Effect.gen(function*() {
      const wf = Workflow.make("etl", { defaultTimeout: "1 minute" })
        .task("extract", () => sleep(200))
        .task("score", { dependsOn: ["extract"], cache: false }, () =>
          sleep(100).pipe(Effect.andThen(Effect.fail(new Boom({ reason: "model down" })))))
        .fallback(() => Effect.succeed(0))
      const plan = Plan.fromWorkflow(wf)
      yield* measure(plan, (o) => Engine.run(wf, undefined, o))
      const metrics = yield* measure(plan, (o) => Engine.run(wf, undefined, o), { runId: "again" })
      const report = Report.render(metrics, { suggestions: [] })
      expect(report).toContain("Tasks:         2 total, 2 completed, 0 failed, 0 skipped, 1 from cache\n")
      expect(report).toContain("\nextract  completed       0ms         0        0  -      cached\n")
      expect(report).toContain("\nscore    completed     100ms         1        0  -      fallback: boom: model down\n")
      expect(report).not.toContain("FAILED TASKS")
      expect(report).toContain("\nBOTTLENECK\n" + "-".repeat(100) + "\nscore: 100ms, 100.0% of the critical path")
      expect(report).toContain("\nCRITICAL PATH\n" + "-".repeat(100) + "\nscore (100ms)\n")
      expect(report).toContain("\nSUGGESTIONS\n" + "-".repeat(100) + "\nnone\n")
      const custom: Optimizer.Suggestion = {
        _tag: "IncreaseParallelism",
        achieved: 1,
        possible: 2,
        message: "let more run at once"
      }
      expect(Report.render(metrics, { suggestions: [custom] })).toContain("\n1. let more run at once\n")
    }).pipe(Effect.provide(TaskCache.layerMemory())))

  it.effect("long ids and errors stay within the width: shortened in the table, wrapped elsewhere", () =>
    Effect.gen(function*() {
      const long = "compile-the-very-long-named-artifact-for-the-production-environment"
      const error = "disk full on /var/lib/docker/overlay2/0123456789abcdef0123456789abcdef0123456789abcdef" +
        "0123456789abcdef/diff while writing a layer of the image; " + "free some space and try again. ".repeat(4)
      const wf = Workflow.make("a-workflow-with-a-rather-long-name-too")
        .task(long, { agentType: "an-agent-type-with-a-long-name" }, () => sleep(1_234))
        .task("ship", { dependsOn: [long] }, () =>
          sleep(10).pipe(Effect.andThen(Effect.fail(new Boom({ reason: error })))))
      const metrics = yield* measure(Plan.fromWorkflow(wf), (o) => Engine.run(wf, undefined, o))
      for (const width of [100, 80, 72]) {
        const report = Report.render(metrics, { width })
        fits(report, width)
        expect(report.split("\n")[0]).toBe("=".repeat(width))
        fits(Report.renderAggregate(RunMetrics.aggregate([metrics]), { width }), width)
      }
      // Narrower widths are raised to the minimum.
      expect(Report.render(metrics, { width: 20 }).split("\n")[0]).toBe("=".repeat(72))
      const report = Report.render(metrics)
      expect(report).toContain("\ncompile-the-very-long...  completed")
      // The full error is in FAILED TASKS, wrapped with an indent.
      const failed = report.split("FAILED TASKS\n")[1]!.split("\n\n")[0]!.split("\n").slice(1)
      expect(failed[0]).toMatch(/^ship: boom: disk full on/)
      expect(failed.slice(1).every((line) => line.startsWith("  "))).toBe(true)
      expect(failed.join(" ").replace(/\s+/g, " ")).toContain("try again. free some space")
      // The table's note wraps under its column, three lines at most.
      const lines = report.split("\n")
      const row = lines.findIndex((line) => line.startsWith("ship "))
      const notesAt = lines.find((line) => line.startsWith("TASK ") && line.endsWith("NOTES"))!.indexOf("NOTES")
      expect(lines[row]!.slice(notesAt)).toBe("boom: disk full on")
      for (const next of lines.slice(row + 1, row + 3)) {
        expect(next.slice(0, notesAt).trim()).toBe("")
        expect(next.length).toBeGreaterThan(notesAt)
      }
      expect(lines[row + 2]!.endsWith("...")).toBe(true)
      expect(lines[row + 3]).toBe("")
    }))

  it("a run that has not started", () => {
    const wf = Workflow.make("idle").task("t", () => Effect.void)
    const report = Report.render(RunMetrics.collector(Plan.fromWorkflow(wf)).snapshot())
    expect(report).toContain("Status:        pending\n")
    expect(report).toContain("Tasks:         1 total, 0 completed, 0 failed, 0 skipped, 1 pending\n")
    expect(report).toContain("\nBOTTLENECK\n" + "-".repeat(100) + "\nnone (no task ran)\n")
    expect(report).toContain("\nCRITICAL PATH\n" + "-".repeat(100) + "\nnone (no task ran)\n")
  })
})

describe("Report.renderAggregate", () => {
  it.effect("statistics over runs", () =>
    Effect.gen(function*() {
      const wf = Workflow.make("timed", { input: Schema.Struct({ ms: Schema.Number }) })
        .task("work", ({ input }) => sleep(input.ms))
        .task("check", { dependsOn: ["work"] }, () => sleep(10))
      const plan = Plan.fromWorkflow(wf)
      const runs: Array<RunMetrics.RunMetrics> = []
      for (const ms of [100, 300, 200]) runs.push(yield* measure(plan, (o) => Engine.run(wf, { ms }, o)))
      expect(Report.renderAggregate(RunMetrics.aggregate(runs)).split("\n")).toEqual([
        "=".repeat(100),
        "WORKFLOW STATISTICS",
        "=".repeat(100),
        "Runs:          3 (3 completed, 0 failed, 0 cancelled)",
        "Success rate:  100.0%",
        "Duration:      average 210ms, p50 210ms, p95 310ms",
        "Range:         110ms to 310ms",
        "Retries:       0",
        "",
        "TASKS",
        "-".repeat(100),
        "TASK   RUNS  AVERAGE    P95  FAILED  RETRIES  CACHED",
        "work      3    200ms  300ms       0        0       0",
        "check     3     10ms   10ms       0        0       0",
        "=".repeat(100)
      ])
    }))
})
