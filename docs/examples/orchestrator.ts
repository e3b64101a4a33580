/**
 * docs/orchestrator.md: the Orchestrator service and the Promise facade.
 * Run: `npx node --conditions=source docs/examples/orchestrator.ts`
 */
import { Context, Effect, Exit, Layer, Scope } from "effect"
import { JobStore, Orchestrator, Report, Troupe, workflow } from "@troupe/core"

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

// Persistence: jobs submitted by a registered agent's name survive a restart (here an in-memory JobStore
// shared by two orchestrators, one after the other; @troupe/durable stores the same records in SQLite).
export const restart = Effect.gen(function*() {
  const store = yield* Layer.build(JobStore.layerMemory)
  const agents = { double: (n: number) => Effect.sleep("10 millis").pipe(Effect.as(n * 2)) }
  const boot = Effect.gen(function*() {
    const scope = yield* Scope.make()
    const services = yield* Layer.buildWithScope(
      Orchestrator.layer({ workers: 1, agents }).pipe(Layer.provide(Layer.succeedContext(store))),
      scope
    )
    return { orchestrator: Context.get(services, Orchestrator.Orchestrator), stop: Scope.close(scope, Exit.void) }
  })
  const first = yield* boot
  const a = yield* first.orchestrator.submit("double", 1)
  const b = yield* first.orchestrator.submit("double", 2) // queued behind a: one worker
  yield* first.stop // the process stops: a was running, b queued
  const second = yield* boot // the next process: both resume by themselves
  const results = [(yield* second.orchestrator.awaitJob(a)).result, (yield* second.orchestrator.awaitJob(b)).result]
  yield* second.stop
  return results
}).pipe(Effect.scoped)

if (import.meta.main) {
  const out = await Effect.runPromise(withEffect)
  console.log(out.sum, out.doubled)
  console.log(out.report)
  console.log(await withPromises())
  console.log(await Effect.runPromise(restart))
}
