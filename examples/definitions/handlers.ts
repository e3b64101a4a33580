/**
 * Handlers for examples/definitions/research-plan.yaml: one `agent` handler that answers as the step's
 * agent (`agent_id`). A real project would route to LLM agents here (for example `Agent.task(...)` from
 * @troupe/agents); these are scripted so the example runs offline.
 */
import { Effect } from "effect"
import type { Workflow } from "@troupe/core"

const agent: Workflow.PlanHandler = (node, ctx) => {
  switch (node.agentType) {
    case "planner":
      return { sources: ["paper", "blog post", "talk"], topic: node.parameters.topic }
    case "reader":
      return Effect.succeed(`summary of the ${String(node.parameters.source)}`).pipe(Effect.delay("50 millis"))
    case "writer":
      return `draft from ${(ctx.read as ReadonlyArray<string>).length} summaries`
    case "editor":
      // Each round improves the score by one.
      return { score: Number(node.parameters.iteration) + 1 }
    default:
      return Effect.fail(`no agent "${node.agentType}"`)
  }
}

export const handlers = { agent }
