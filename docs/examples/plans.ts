/**
 * docs/plans.md: Plans from code and from data definitions, and their analysis.
 * Run: `npx node --conditions=source docs/examples/plans.ts`
 */
import { Effect } from "effect"
import { Engine, Plan, Workflow, workflow } from "@troupe/core"

const wf = workflow("etl")
  .task("extract", { estimatedDuration: "2 seconds" }, () => Effect.succeed([1, 2, 3]))
  .task("transform", { dependsOn: ["extract"], estimatedDuration: "5 seconds" }, ({ extract }) =>
    Effect.succeed(extract.map((x) => x * 2)))
  .task("audit", { dependsOn: ["extract"], estimatedDuration: "1 second" }, () => Effect.succeed(true))
  .task("load", { dependsOn: ["transform", "audit"] }, ({ transform }) => Effect.succeed(transform.length))

export const plan = Plan.fromWorkflow(wf) // frozen plain data, JSON-serialisable

// A data definition with the seeds' field names (camelCase works too).
export const definition = {
  id: "web-app",
  name: "Web app",
  execution_strategy: "auto",
  max_parallel_tasks: 4,
  tasks: [
    { id: "design", description: "design the API", priority: 9 },
    { id: "backend", depends_on: ["design"], required_capabilities: ["code_generation"] },
    { id: "frontend", depends_on: ["design"], timeout_seconds: 600 },
    { id: "tests", depends_on: ["backend", "frontend"], retry_config: { max_retries: 2 } }
  ]
}

export const program = Effect.gen(function*() {
  const decoded = yield* Plan.fromDefinition(definition)
  const analysis = Plan.analyze(decoded)
  console.log(analysis.levels, analysis.recommended)
  console.log(Plan.criticalPath(plan)) // weighted by estimated durations
  // A cycle is a tagged error carrying one real cycle path.
  const cyclic = yield* Effect.flip(Plan.fromDefinition({
    id: "bad",
    tasks: [{ id: "a", depends_on: ["c"] }, { id: "b", depends_on: ["a"] }, { id: "c", depends_on: ["b"] }]
  }))
  console.log(cyclic.message) // Dependency cycle: a → b → c → a
  // Every problem at once, with paths as written (agent-plan names here) and suggestions.
  const { problems } = yield* Plan.diagnose({
    plan_id: "ci",
    steps: [{ step_id: "build" }, { step_id: "test", dependencies: ["buidl"], priority: 11 }]
  })
  console.log(problems.map((p) => `${p.path}: ${p.message}`))
  // ["steps[1].priority: expected an integer between 1 and 10, got 11",
  //  "steps[1].dependencies[0]: unknown task 'buidl' (did you mean 'build'?)"]
  // A decoded Plan runs with a handler per task type.
  const runnable = yield* Workflow.fromPlan(decoded, {
    handlers: { function: (node) => Effect.succeed(`${node.id} done`) }
  })
  const { outputs } = yield* Engine.run(runnable, undefined)
  return outputs
})

// Loops declared in data (agent-plan names here) run through Workflow.fromPlan, exactly as `troupe run` runs them.
export const loops = Effect.gen(function*() {
  const decoded = yield* Plan.fromDefinition({
    plan_id: "digest",
    steps: [
      { step_id: "list", type: "list" },
      { step_id: "summarise", type: "summarise", dependencies: ["list"], loop: { type: "for_each", items: "list.pages", item_var: "page", concurrency: 2 } }
    ]
  })
  const runnable = yield* Workflow.fromPlan(decoded, {
    handlers: {
      list: () => ({ pages: ["intro", "usage", "faq"] }),
      summarise: (node) => Effect.succeed(`${String(node.parameters.index)}. ${String(node.parameters.page)}`)
    }
  })
  return (yield* Engine.run(runnable)).outputs["summarise"] // ["0. intro", "1. usage", "2. faq"]
})

if (import.meta.main) console.log(await Effect.runPromise(Effect.andThen(program, loops)))
