/**
 * The README's first example, type-checked. Run: `npx node --conditions=source docs/examples/readme.ts`
 */
import { Effect, Schema } from "effect"
import { run, workflow } from "@troupe/core"

export const ci = workflow("ci", { input: Schema.Struct({ repo: Schema.String }) })
  .task("checkout", ({ input }) => Effect.succeed(`/src/${input.repo}`))
  .task("build", { dependsOn: ["checkout"] }, ({ checkout }) => Effect.succeed(`${checkout}/dist`))
  .task("lint", { dependsOn: ["checkout"], priority: 8 }, async ({ checkout }) => checkout.length)
  .task("test", { dependsOn: ["build"], retry: { maxRetries: 2 } }, ({ build }) => Effect.succeed(build.length > 0))
  .dependsOn("lint") // order-only: test runs after lint, without reading its output

if (import.meta.main) {
  const result = await Effect.runPromise(run(ci, { repo: "troupe" }))
  const passed: boolean = result.outputs.test
  console.log(passed)
}
