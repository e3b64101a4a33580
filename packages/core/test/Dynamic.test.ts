import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Exit, Schema } from "effect"
import { Engine, Plan, Task, Workflow } from "@troupe/core"

class Boom extends Schema.TaggedError<Boom>()("Boom", { id: Schema.String }) {}
class Prefix extends Context.Service<Prefix, string>()("test/Prefix") {}

describe("Workflow.dynamic", () => {
  it.effect("a sub-workflow given after its options (types bypassed, as from JavaScript) runs as the same sub-workflow task", () =>
    Effect.gen(function*() {
      const child = Workflow.make<"child", number>("child").task("sq", ({ input }) => input * input)
      const untyped = Workflow.dynamic("js").task("a", () => 3) as unknown as {
        task: (id: string, options: unknown, child: unknown) => Workflow.Dynamic<"js", void, never, never>
      }
      const wf = untyped.task("sub", { dependsOn: ["a"], input: (ctx: { a: number }) => ctx.a }, child)
      expect(Plan.fromWorkflow(wf).nodes.map((n) => [n.id, n.workflow?.name, n.dependsOn])).toEqual([
        ["a", undefined, []],
        ["sub", "child", ["a"]]
      ])
      const result = yield* Engine.run(wf, undefined)
      expect(result.outputs.sub).toEqual({ sq: 9 })
    }))

  it.effect("tasks known only at run time: ids, dependencies and handlers from data", () =>
    Effect.gen(function*() {
      const steps = [
        { id: "fetch", deps: [] as Array<string> },
        { id: "parse", deps: ["fetch"] },
        { id: "index", deps: ["fetch"] },
        { id: "report", deps: ["parse", "index"] }
      ]
      let wf: Workflow.Dynamic<"steps", number, never, Prefix> = Workflow.dynamic<"steps", number>("steps")
      for (const step of steps) {
        wf = wf.task(step.id, { dependsOn: step.deps }, (ctx) =>
          Prefix.useSync((p) => `${p}${step.id}(${[ctx.input, ...step.deps.map((d) => ctx[d])].join(",")})`))
      }
      const plan = Plan.fromWorkflow(wf)
      expect(plan.nodes.map((n) => [n.id, n.dependsOn])).toEqual(steps.map((s) => [s.id, s.deps]))
      const result = yield* Engine.run(wf, 1).pipe(Effect.provideService(Prefix, ">"))
      expect(result.outputs.report).toBe(">report(1,>parse(1,>fetch(1)),>index(1,>fetch(1)))")
    }))

  it.effect("task values, sub-workflows, publish, fallback; an unknown dependency is a DefinitionError before anything runs", () =>
    Effect.gen(function*() {
      const child = Workflow.make<"child", number>("child").task("sq", ({ input }) => input * input)
      const ran: Array<string> = []
      const wf = Workflow.dynamic("mixed")
        .task("a", Task.make({}, () => Effect.succeed({ n: 3 })))
        .publish("n", (out) => (out as { n: number }).n)
        .task("child", child, { dependsOn: ["n"], input: (ctx) => ctx.n as number })
        .task("b", { dependsOn: ["child"] }, (ctx) => {
          ran.push("b")
          return Effect.fail(new Boom({ id: String((ctx.child as { sq: number }).sq) }))
        })
        .fallback((error) => `recovered from ${(error as Boom).id}`)
      const result = yield* Engine.run(wf)
      expect(result.outputs).toEqual({ a: { n: 3 }, n: 3, child: { sq: 9 }, b: "recovered from 9" })

      const broken = Workflow.dynamic("broken")
        .task("x", () => {
          ran.push("x")
          return 1
        })
        .task("y", { dependsOn: ["nope"] }, () => 2)
      const exit = yield* Effect.exit(Engine.run(broken))
      expect(Exit.isFailure(exit)).toBe(true)
      expect(ran).toEqual(["b"])
    }))
})
