/**
 * docs/workflows.md: building workflows. Run: `npx node --conditions=source docs/examples/workflows.ts`
 */
import { Effect, Schema } from "effect"
import { Engine, Task, Workflow, workflow } from "@troupe/core"

// A workflow with an input schema: handlers receive `{ input, ...outputs of their dependencies }`.
export const release = workflow("release", { input: Schema.Struct({ version: Schema.String }) })
  .task("changelog", { description: "collect changes" }, ({ input }) => Effect.succeed([`v${input.version}: fixes`]))
  .task("build", { priority: 9, timeout: "5 minutes" }, () => Effect.succeed({ artifact: "dist.tgz" }))
  .task("publish", { dependsOn: ["build", "changelog"] }, ({ build, changelog }) =>
    Effect.succeed(`${build.artifact} with ${changelog.length} notes`))

// A reusable task value: its parameter type says what it needs.
const notify = Task.make(
  { description: "notify the team", retry: { maxRetries: 2, initialDelay: "1 second" } },
  ({ publish }: { readonly publish: string }) => Effect.sync(() => `sent: ${publish}`)
)
export const withNotify = release.task("notify", { dependsOn: ["publish"] }, notify)

// Branching a half-built workflow: each branch is its own value.
const base = workflow("base").task("a", () => Effect.succeed(1))
export const left = base.task("left", { dependsOn: ["a"] }, ({ a }) => Effect.succeed(a + 1))
export const right = base.task("right", { dependsOn: ["a"] }, ({ a }) => Effect.succeed(a * 10))

// A sub-workflow as a task, with a typed mapping in and its outputs record out.
const child = workflow("child", { input: Schema.Struct({ n: Schema.Number }) })
  .task("square", ({ input }) => Effect.succeed(input.n * input.n))
export const parent = workflow("parent")
  .task("seed", () => Effect.succeed(7))
  .task("sub", child, { dependsOn: ["seed"], input: ({ seed }) => ({ n: seed }) })
  .task("report", { dependsOn: ["sub"] }, ({ sub }) => Effect.succeed(`square is ${sub.square}`))

// A workflow whose tasks are only known at run time: ids and dependencies from data.
const steps = [
  { id: "fetch", after: [] },
  { id: "parse", after: ["fetch"] },
  { id: "report", after: ["parse"] }
]
let dynamic: Workflow.Dynamic<"steps", string> = Workflow.dynamic<"steps", string>("steps")
for (const step of steps) {
  dynamic = dynamic.task(step.id, { dependsOn: step.after }, (ctx) =>
    Effect.succeed([ctx.input, ...step.after.map((id) => ctx[id])].join(" → ") + ` → ${step.id}`))
}
export const fromSteps = dynamic

if (import.meta.main) {
  const result = await Effect.runPromise(Engine.run(withNotify, { version: "1.2.0" }))
  console.log(result.outputs.notify)
  console.log((await Effect.runPromise(Engine.run(parent))).outputs.report)
}
