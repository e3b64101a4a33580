/**
 * An agent plan with a loop, run as a library user runs it (`Workflow.fromPlan` with `Agent.task` as the
 * `agent` handler): the agent is asked once per item, each request carrying the item and its index.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { Engine, Plan, Workflow } from "@troupe/core"
import { Agent, AgentRegistry } from "@troupe/agents"

describe("agent plans with loops through Workflow.fromPlan", () => {
  it.effect("for_each asks the agent once per item, with the item and index in the request's parameters", () =>
    Effect.gen(function*() {
      const plan = yield* Plan.fromDefinition({
        plan_id: "read",
        steps: [
          { step_id: "list", type: "list" },
          {
            step_id: "read",
            agent_id: "reader",
            dependencies: ["list"],
            loop: { type: "for_each", items: "list.sources", item_var: "source", concurrency: 2 }
          }
        ]
      })
      const reader = Agent.fromFunction("reader", ["research"], (request) =>
        `${String(request.parameters.index)}: read the ${String(request.parameters.source)}`)
      const wf = yield* Workflow.fromPlan(plan, {
        handlers: { agent: Agent.task({ description: "" }), list: () => ({ sources: ["paper", "talk"] }) }
      })
      const result = yield* Engine.run(wf).pipe(Effect.provide(AgentRegistry.layer([reader])))
      expect(result.outputs["read"]).toStrictEqual(["0: read the paper", "1: read the talk"])
    }))
})
