/**
 * A data-defined workflow (the seeds' JSON shape) whose tasks are routed to agents by their required
 * capabilities: `Workflow.fromPlan(plan, { handlers: { agent: Agent.task(...) } })`.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import { Engine, Plan, Workflow } from "@troupe/core"
import { Agent, AgentRegistry } from "@troupe/agents"
import { RunAssertions } from "@troupe/testing"

const definition = {
  id: "review-pipeline",
  tasks: [
    { id: "analyse", task_type: "agent", description: "analyse the diff", required_capabilities: ["code_analysis"] },
    {
      id: "write-tests",
      task_type: "agent",
      depends_on: ["analyse"],
      required_capabilities: ["testing"],
      parameters: { framework: "vitest" }
    },
    { id: "document", task_type: "agent", depends_on: ["analyse"], required_capabilities: ["documentation"] }
  ]
}

const calls: Array<string> = []
const agent = (name: string, capability: "code_analysis" | "testing" | "documentation") =>
  Agent.fromFunction(name, [capability], (request) => {
    calls.push(`${name}:${request.taskId}`)
    return { by: name, description: request.description, parameters: request.parameters, saw: Object.keys(request.dependencies) }
  })

describe("data definitions with agent tasks", () => {
  it.effect("each node is routed by its required capabilities, with its description, parameters and dependencies", () =>
    Effect.gen(function*() {
      calls.length = 0
      const plan = yield* Plan.fromDefinition(definition)
      const wf = yield* Workflow.fromPlan(plan, { handlers: { agent: Agent.task({ description: "" }) } })
      const result = yield* Engine.run(wf).pipe(
        Effect.provide(AgentRegistry.layer([agent("analyst", "code_analysis"), agent("tester", "testing"), agent("writer", "documentation")]))
      )
      expect(result.outputs["write-tests"]).toEqual({
        by: "tester",
        description: "",
        parameters: { framework: "vitest" },
        saw: ["analyse"]
      })
      expect(result.outputs["analyse"]).toMatchObject({ by: "analyst", description: "analyse the diff" })
      expect(result.outputs["document"]).toMatchObject({ by: "writer" })
    }))

  it.effect("a node no agent can take fails the run before any task runs, naming the capabilities", () =>
    Effect.gen(function*() {
      calls.length = 0
      const plan = yield* Plan.fromDefinition(definition)
      const wf = yield* Workflow.fromPlan(plan, { handlers: { agent: Agent.task({ description: "" }) } })
      const exit = yield* Effect.exit(
        Engine.run(wf).pipe(Effect.provide(AgentRegistry.layer([agent("analyst", "code_analysis")])))
      )
      expect(Exit.isFailure(exit)).toBe(true)
      const failed = RunAssertions.failedRun(exit)
      expect(failed.failures[0]!.taskId).toBe("write-tests")
      expect(String(RunAssertions.taskError(failed, "write-tests"))).toContain("testing")
      expect(calls).toEqual([])
    }))
})
