import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Plan from "../src/Plan.ts"
import * as Report from "../src/Report.ts"
import type * as RunEvent from "../src/RunEvent.ts"
import * as RunMetrics from "../src/RunMetrics.ts"
import * as Workflow from "../src/Workflow.ts"

const wf = Workflow.make("usage")
  .task("plan", () => Effect.succeed(1))
  .task("write", { dependsOn: ["plan"] }, () => Effect.succeed(2))
  .task("idle", () => Effect.succeed(3))

const usage = (
  taskId: string,
  agent: string,
  model: string | undefined,
  inputTokens: number,
  outputTokens: number,
  cachedTokens = 0
): RunEvent.RunEvent => ({
  _tag: "AgentUsage",
  runId: "r1",
  at: 5,
  taskId,
  agent,
  ...(model === undefined ? {} : { model }),
  inputTokens,
  outputTokens,
  cachedTokens
})

const events: ReadonlyArray<RunEvent.RunEvent> = [
  { _tag: "RunStarted", runId: "r1", at: 0, workflow: "usage", total: 3 },
  { _tag: "TaskStarted", runId: "r1", at: 0, taskId: "plan", attempt: 1 },
  usage("plan", "lead", "small", 1000, 200, 400),
  usage("plan", "lead", "small", 500, 100),
  {
    _tag: "ToolCalled",
    runId: "r1",
    at: 6,
    taskId: "plan",
    agent: "lead",
    tool: "search",
    callId: "c1",
    arguments: { q: "x" },
    durationMs: 4,
    outcome: "success"
  },
  {
    _tag: "ToolCalled",
    runId: "r1",
    at: 7,
    taskId: "plan",
    agent: "lead",
    tool: "fetch",
    callId: "c2",
    arguments: {},
    durationMs: 6,
    outcome: "error",
    message: "404"
  },
  { _tag: "TaskCompleted", runId: "r1", at: 10, taskId: "plan", attempts: 1, durationMs: 10, output: 1 },
  { _tag: "TaskStarted", runId: "r1", at: 10, taskId: "write", attempt: 1 },
  // usage inside a sub-workflow counts toward the task that runs it
  {
    _tag: "SubWorkflowEvent",
    runId: "r1",
    at: 12,
    taskId: "write",
    event: { ...usage("inner", "writer", "big", 2000, 1000), runId: "r1/write" } as RunEvent.RunEvent
  },
  { _tag: "TaskCompleted", runId: "r1", at: 20, taskId: "write", attempts: 1, durationMs: 10, output: 2 },
  { _tag: "TaskStarted", runId: "r1", at: 0, taskId: "idle", attempt: 1 },
  { _tag: "TaskCompleted", runId: "r1", at: 1, taskId: "idle", attempts: 1, durationMs: 1, output: 3 },
  { _tag: "RunCompleted", runId: "r1", at: 20, durationMs: 20 }
]

const prices: RunMetrics.PriceTable = {
  small: { inputPerMillion: 1, outputPerMillion: 2, cachedInputPerMillion: 0.5 },
  big: { inputPerMillion: 10, outputPerMillion: 30 }
}

describe("RunMetrics token usage", () => {
  it("sums input, output and cached tokens per task, agent, model and run, with costs from a price table", () => {
    const metrics = RunMetrics.fromEvents(Plan.fromWorkflow(wf), events, { prices })
    const plan = metrics.tasks.find((task) => task.id === "plan")!
    expect(plan.usage).toMatchObject({ calls: 2, inputTokens: 1500, outputTokens: 300, cachedTokens: 400, totalTokens: 1800 })
    // (1100 * 1 + 400 * 0.5 + 300 * 2) / 1e6
    expect(plan.usage!.costUsd).toBeCloseTo(0.0019, 10)
    expect(metrics.tasks.find((task) => task.id === "write")!.usage).toMatchObject({ calls: 1, inputTokens: 2000 })
    expect(metrics.tasks.find((task) => task.id === "idle")!.usage).toBeUndefined()
    expect(plan.tools).toEqual({ calls: 2, failed: 1, durationMs: 10, byTool: { search: 1, fetch: 1 } })
    expect(metrics.tasks.find((task) => task.id === "idle")!.tools).toBeUndefined()
    expect(metrics.usage!.total).toMatchObject({ calls: 3, inputTokens: 3500, outputTokens: 1300, cachedTokens: 400 })
    expect(metrics.usage!.total.costUsd).toBeCloseTo(0.0019 + 0.05, 10)
    expect(metrics.usage!.byAgent.map((u) => [u.agent, u.calls])).toEqual([["lead", 2], ["writer", 1]])
    expect(metrics.usage!.byModel.map((u) => [u.model, u.totalTokens])).toEqual([["small", 1800], ["big", 3000]])
  })

  it("has no cost without a price table, and names the models a table misses", () => {
    const plain = RunMetrics.fromEvents(Plan.fromWorkflow(wf), events)
    expect(plain.usage!.total.costUsd).toBeUndefined()
    const partial = RunMetrics.fromEvents(Plan.fromWorkflow(wf), events, { prices: { small: prices.small! } })
    expect(partial.usage!.total.costUsd).toBeUndefined()
    expect(partial.usage!.total.unpriced).toEqual(["big"])
    expect(partial.usage!.byModel[0]!.costUsd).toBeCloseTo(0.0019, 10)
  })

  it("sums usage over runs of the workflow, and the reports show it", () => {
    const one = RunMetrics.fromEvents(Plan.fromWorkflow(wf), events, { prices })
    const aggregate = RunMetrics.aggregate([one, one])
    expect(aggregate.usage).toMatchObject({ calls: 6, inputTokens: 7000, outputTokens: 2600 })
    expect(aggregate.usage!.costUsd).toBeCloseTo(2 * 0.0519, 10)
    const text = Report.render(one)
    expect(text).toContain("TOKEN USAGE")
    expect(text).toContain("3,500 in (400 cached), 1,300 out, 3 calls, $0.05")
    expect(text).toMatch(/agent lead\s+2\s+1500\s+400\s+300\s+\$0\.0019/)
    expect(text).toMatch(/task write\s+1\s+2000/)
    expect(text).toContain("2 tool calls (1 failed)")
    expect(Report.renderAggregate(aggregate)).toContain("7,000 in (800 cached), 2,600 out, 6 calls, $0.10")
    // no usage: no section
    const none = RunMetrics.fromEvents(Plan.fromWorkflow(wf), events.filter((e) => e._tag !== "AgentUsage" && e._tag !== "SubWorkflowEvent"))
    expect(none.usage).toBeUndefined()
    expect(Report.render(none)).not.toContain("TOKEN USAGE")
  })
})
