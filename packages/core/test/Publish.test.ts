import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { Engine, Plan, workflow } from "@troupe/core"

describe("publish (output mapping)", () => {
  it.effect("publishes a value derived from a task's output; later tasks read it; dependsOn still targets the task", () =>
    Effect.gen(function*() {
      const wf = workflow("pub")
        .task("setup", () => Effect.succeed("s"))
        .task("login", () => Effect.succeed({ token: "abc", user: { id: 7 } }))
        .publish("userId", (out) => out.user.id)
        .dependsOn("setup")
        .task("fetch", { dependsOn: ["userId"] }, ({ userId }) => Effect.succeed(`user-${userId}`))
      const plan = Plan.fromWorkflow(wf)
      expect(plan.nodes.map((n) => [n.id, n.taskType, n.dependsOn, n.after])).toEqual([
        ["setup", "function", [], []],
        ["login", "function", [], ["setup"]],
        ["userId", "output_mapping", ["login"], []],
        ["fetch", "function", ["userId"], []]
      ])
      const result = yield* Engine.run(wf)
      expect(result.outputs.userId).toBe(7)
      expect(result.outputs.fetch).toBe("user-7")
    }))
})
