/**
 * A data definition with CEL conditions, decoded, turned into a runnable workflow and run by the engine.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { Engine, Plan, Workflow } from "@troupe/core"
import { Cel } from "@troupe/cel"

const definition = {
  id: "release",
  execution_strategy: "dag",
  tasks: [
    { id: "build", task_type: "shell", parameters: { warnings: 2 } },
    { id: "test", task_type: "shell", depends_on: ["build"], parameters: { failures: 0 } },
    {
      id: "deploy",
      task_type: "shell",
      depends_on: ["test"],
      condition: "results.test.output.failures == 0 && results.build.output.warnings < 3 && input.env == 'prod'"
    },
    { id: "notify", task_type: "shell", depends_on: ["deploy"] },
    { id: "report", task_type: "shell", condition: "results.deploy.status == 'skipped'" }
  ]
}

const handlers = {
  shell: (node: Plan.PlanNode) => Effect.succeed({ task: node.id, ...node.parameters })
}

describe("CEL conditions, end to end", () => {
  it.effect("a true expression runs the task; a false one skips it and its dependants; results feed later expressions", () =>
    Effect.gen(function*() {
      const plan = yield* Plan.fromDefinition(definition)
      const wf = yield* Workflow.fromPlan(plan, { handlers })

      const prod = yield* Engine.run(wf, { env: "prod" })
      const status = (r: typeof prod) => Object.fromEntries(r.state.tasks.map((t) => [t.id, t.status]))
      expect(status(prod)).toEqual({
        build: "completed",
        test: "completed",
        deploy: "completed",
        notify: "completed",
        report: "skipped"
      })

      const staging = yield* Engine.run(wf, { env: "staging" })
      expect(status(staging)).toEqual({
        build: "completed",
        test: "completed",
        deploy: "skipped",
        notify: "skipped",
        report: "completed"
      })
      const deploy = staging.state.tasks.find((t) => t.id === "deploy")!
      expect(deploy.reason).toContain("condition false")
    }).pipe(Effect.provide(Cel.layer)))

  it.effect("a task type without a handler is a definition error naming the task", () =>
    Effect.gen(function*() {
      const plan = yield* Plan.fromDefinition(definition)
      const error = yield* Effect.flip(Workflow.fromPlan(plan, { handlers: { python: () => 1 } }))
      expect(error._tag).toBe("InvalidDefinition")
      expect(error.message).toContain(`no handler for task type "shell"`)
      expect(error.taskId).toBe("build")
    }).pipe(Effect.provide(Cel.layer)))
})
