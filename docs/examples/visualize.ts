/**
 * docs/visualize.md: rendering plans and runs. Run: `npx node --conditions=source docs/examples/visualize.ts`
 */
import { Effect } from "effect"
import { Engine, Plan, workflow } from "@troupe/core"
import { Ascii, Dot, Json, Mermaid } from "@troupe/visualize"

const wf = workflow("site")
  .task("design", () => Effect.succeed("api"))
  .task("backend", { dependsOn: ["design"] }, () => Effect.succeed(1))
  .task("frontend", { dependsOn: ["design"] }, () => Effect.succeed(2))
  .task("deploy", { dependsOn: ["backend", "frontend"] }, () => Effect.succeed(true))

export const program = Effect.gen(function*() {
  const plan = Plan.fromWorkflow(wf)
  const { state } = yield* Engine.run(wf)
  return {
    ascii: Ascii.render(plan, { state }), // levels, status symbols, ← dependencies, fits 80 columns
    mermaid: Mermaid.render(plan, { state }), // graph TD with a class per status (renders on GitHub)
    dot: Dot.render(plan, { state }),
    svg: yield* Dot.renderSvg(plan, { state }), // Graphviz in-process (wasm), no install needed
    json: Json.render(plan, { state })
  }
})

if (import.meta.main) {
  const out = await Effect.runPromise(program)
  console.log(out.ascii)
  console.log(out.mermaid)
}
