import { describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Exit, Fiber, Schema } from "effect"
import { TestClock } from "effect/testing"
import { Engine, Pipeline, Plan, Policy, type RunEvent, Workflow } from "@troupe/core"

class Broken extends Schema.TaggedError<Broken>()("Broken", { step: Schema.String }) {}

const extract = (url: string) => Effect.succeed([`${url}/a`, `${url}/bb`])
const transform = (rows: ReadonlyArray<string>) => rows.map((row) => row.length)

describe("Pipeline", () => {
  it.effect("feeds each step's output to the next and returns the last one", () =>
    Effect.gen(function*() {
      const seen: Array<unknown> = []
      const etl = Pipeline.make("etl", { input: Schema.String })
        .step(extract)
        .step(transform)
        .step("sum", async (lengths) => {
          seen.push(lengths)
          return lengths.reduce((a, b) => a + b, 0)
        })
        .step("report", { description: "format" }, (total) => `total=${total}`)
      const out = yield* Pipeline.run(etl, "u")
      expect(out).toBe("total=7")
      expect(seen).toStrictEqual([[3, 4]])
      expect(etl.steps).toStrictEqual(["extract", "transform", "sum", "report"])
    }))

  it.effect("compiles to a chain of tasks: an ordinary workflow and Plan", () =>
    Effect.gen(function*() {
      const p = Pipeline.pipeline<"chain", number>("chain", { description: "numbers" })
        .step((n) => n + 1)
        .step("double", { priority: 9 }, (n) => n * 2)
        .step((n) => `${n}`)
      const plan = Plan.fromWorkflow(p.workflow)
      expect(plan.name).toBe("chain")
      expect(plan.description).toBe("numbers")
      expect(plan.nodes.map((node) => [node.id, node.dependsOn, node.priority])).toStrictEqual([
        ["step-1", [], 5],
        ["double", ["step-1"], 9],
        ["step-3", ["double"], 5]
      ])
      expect(plan.edges).toStrictEqual([
        { from: "step-1", to: "double", kind: "data" },
        { from: "double", to: "step-3", kind: "data" }
      ])
      // The same Plan as the equivalent workflow written by hand.
      const byHand = Workflow.make<"chain", number>("chain", { description: "numbers" })
        .task("step-1", ({ input }) => input + 1)
        .task("double", { dependsOn: ["step-1"], priority: 9 }, (ctx) => ctx["step-1"] * 2)
        .task("step-3", { dependsOn: ["double"] }, ({ double }) => `${double}`)
      expect(plan).toStrictEqual(Plan.fromWorkflow(byHand))
      expect(Plan.analyze(plan).criticalPath.path).toStrictEqual(["step-1", "double", "step-3"])

      // Engine.run runs the workflow like any other; named steps are typed in the outputs.
      const result = yield* Engine.run(p.workflow, 4)
      expect(result.outputs).toStrictEqual({ "step-1": 5, double: 10, "step-3": "10" })
      expect(result.outputs.double).toBe(10)
    }))

  it("gives steps unique default ids: the function's name, else step-<position>", () => {
    const inc = (n: number) => n + 1
    const input = (n: number) => n
    const p = Pipeline.make<"ids", number>("ids")
      .step(inc)
      .step(inc)
      .step("step-3", (n) => n)
      .step((n) => n)
      .step(input)
    expect(p.steps).toStrictEqual(["inc", "step-2", "step-3", "step-4", "step-5"])
  })

  it.effect("is immutable: branching a half-built pipeline gives independent pipelines", () =>
    Effect.gen(function*() {
      const base = Pipeline.make<"branch", number>("branch").step("twice", (n) => n * 2)
      const plusOne = base.step("plus", (n) => n + 1)
      const asText = base.step("text", (n) => `#${n}`)
      expect(base.steps).toStrictEqual(["twice"])
      expect(plusOne.steps).toStrictEqual(["twice", "plus"])
      expect(asText.steps).toStrictEqual(["twice", "text"])
      expect(yield* Pipeline.run(plusOne, 5)).toBe(11)
      expect(yield* Pipeline.run(asText, 5)).toBe("#10")
      expect(yield* Pipeline.run(base, 5)).toBe(10)
      expect(Pipeline.isPipeline(base)).toBe(true)
      expect(Pipeline.isPipeline(base.workflow)).toBe(false)
      expect(Workflow.isWorkflow(base.workflow)).toBe(true)
    }))

  it.effect("a failing step fails the run and the following steps never run", () =>
    Effect.gen(function*() {
      const events: Array<RunEvent.RunEvent> = []
      let loaded = false
      const p = Pipeline.make<"fail", number>("fail")
        .step("parse", (n) => (n > 0 ? Effect.fail(new Broken({ step: "parse" })) : Effect.succeed(n)))
        .step("load", (n) => {
          loaded = true
          return n
        })
      const exit = yield* Effect.exit(Pipeline.run(p, 1, { onEvent: (e) => events.push(e) }))
      expect(loaded).toBe(false)
      expect(Exit.isFailure(exit)).toBe(true)
      if (Exit.isFailure(exit)) {
        const error = Cause.findErrorOption(exit.cause)
        expect(error).toMatchObject({ _tag: "Some", value: { _tag: "WorkflowFailed" } })
        if (error._tag === "Some" && error.value._tag === "WorkflowFailed") {
          expect(error.value.failures.map((f) => f.taskId)).toStrictEqual(["parse"])
          expect(Cause.findErrorOption(error.value.failures[0]!.cause)).toMatchObject({
            _tag: "Some",
            value: new Broken({ step: "parse" })
          })
        }
      }
      expect(events.some((e) => e._tag === "TaskStarted" && e.taskId === "load")).toBe(false)
    }))

  it.effect("step options apply: retries with the policy's delays", () =>
    Effect.gen(function*() {
      let attempts = 0
      const p = Pipeline.make("retry").step(
        "flaky",
        { retry: Policy.fixed({ maxRetries: 3, initialDelay: "2 seconds" }) },
        () =>
          Effect.suspend(() => {
            attempts++
            return attempts < 3 ? Effect.fail(new Broken({ step: "flaky" })) : Effect.succeed(attempts)
          })
      )
      const fiber = yield* Effect.forkChild(Pipeline.run(p))
      yield* TestClock.adjust("3 seconds")
      expect(attempts).toBe(2)
      yield* TestClock.adjust("1 second")
      expect(yield* Fiber.join(fiber)).toBe(3)
    }))

  it.effect("the input schema is the workflow's", () =>
    Effect.gen(function*() {
      const p = Pipeline.make("schema", { input: Schema.Struct({ n: Schema.Number }) }).step(({ n }) => n)
      expect(yield* Workflow.decodeInput(p.workflow, { n: 2 })).toStrictEqual({ n: 2 })
      const exit = yield* Effect.exit(Workflow.decodeInput(p.workflow, { n: "x" }))
      expect(Exit.isFailure(exit)).toBe(true)
    }))

  it.effect("a pipeline without steps is an EmptyWorkflow definition error at run time", () =>
    Effect.gen(function*() {
      const empty = Pipeline.make("empty") as unknown as Pipeline.Pipeline<"empty", void, void, never, never, {}, true>
      const error = yield* Effect.flip(Pipeline.run(empty))
      expect(error._tag).toBe("EmptyWorkflow")
    }))
})
