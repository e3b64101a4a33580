/**
 * Workflow-level defaults: `continueOnFailure` (like `maxParallel` and `defaultTimeout`) is carried by the
 * workflow value, so a plain `Engine.run` without run options honours it; `RunOptions.failureMode` overrides.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { Engine, Plan, Workflow } from "@troupe/core"

const build = (continueOnFailure: boolean | undefined) =>
  Workflow.make("defaults", { maxParallel: 1, ...(continueOnFailure === undefined ? {} : { continueOnFailure }) })
    .task("boom", { priority: 10 }, () => Effect.fail("boom" as const))
    .task("independent", () => Effect.succeed(1))
    .task("after", { dependsOn: ["independent"] }, ({ independent }) => Effect.succeed(independent + 1))
    .task("dependant", { dependsOn: ["boom"] }, () => Effect.succeed("never"))

describe("Workflow options: continueOnFailure", () => {
  it.effect("a failed task does not stop the tasks that do not depend on it; its dependants are skipped", () =>
    Effect.gen(function*() {
      const wf = build(true)
      expect(Plan.fromWorkflow(wf).continueOnFailure).toBe(true)
      const error = yield* Effect.flip(Engine.run(wf))
      expect(error._tag).toBe("WorkflowFailed")
      if (error._tag !== "WorkflowFailed") return
      expect(error.failures.map((f) => f.taskId)).toEqual(["boom"])
      expect([...error.completed].sort()).toEqual(["after", "independent"])
      expect(error.outputs).toEqual({ independent: 1, after: 2 })
    }))

  it.effect("by default (and when the run asks for fail-fast) the first failure stops the run", () =>
    Effect.gen(function*() {
      expect(Plan.fromWorkflow(build(undefined)).continueOnFailure).toBe(false)
      const plain = yield* Effect.flip(Engine.run(build(undefined)))
      expect(plain._tag === "WorkflowFailed" ? plain.completed : undefined).toEqual([])
      const overridden = yield* Effect.flip(Engine.run(build(true), undefined, { failureMode: "fail-fast" }))
      expect(overridden._tag === "WorkflowFailed" ? overridden.completed : undefined).toEqual([])
    }))
})
