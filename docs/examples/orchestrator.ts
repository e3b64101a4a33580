/**
 * docs/orchestrator.md: the Orchestrator service and the Promise facade.
 * Run: `npx node --conditions=source docs/examples/orchestrator.ts`
 */
import { Effect } from "effect"
import { Orchestrator, Report, Troupe, workflow } from "@troupe/core"

const nightly = workflow("nightly")
  .task("fetch", () => Effect.succeed([1, 2, 3]))
  .task("sum", { dependsOn: ["fetch"] }, ({ fetch }) => Effect.succeed(fetch.reduce((a, b) => a + b, 0)))

// With Effect: the Orchestrator service (in memory) keeps history, metrics and a priority job queue.
export const withEffect = Effect.gen(function*() {
  const orchestrator = yield* Orchestrator.Orchestrator
  const unsubscribe = yield* orchestrator.on("task.completed", (event) => console.log("done:", event.taskId))
  const result = yield* orchestrator.execute(nightly, undefined)
  yield* unsubscribe
  // Jobs: priority 1–10, 10 first (a seed-002 priority p maps to 11 - p).
  const job = yield* orchestrator.submit((n: number) => n * 2, 21, {
    priority: Orchestrator.fromSeed002Priority(1)
  })
  const record = yield* orchestrator.awaitJob(job) // the job record: status, timings, result
  const metrics = yield* orchestrator.metrics(result.runId)
  return { sum: result.outputs.sum, doubled: record.result, report: Report.render(metrics) }
}).pipe(Effect.provide(Orchestrator.layer({ workers: 2 })))

// Without Effect: the same over Promises.
export const withPromises = async () => {
  const troupe = Troupe.make()
  try {
    const result = await troupe.run(nightly)
    return result.outputs.sum
  } finally {
    await troupe.dispose()
  }
}

if (import.meta.main) {
  const out = await Effect.runPromise(withEffect)
  console.log(out.sum, out.doubled)
  console.log(out.report)
  console.log(await withPromises())
}
