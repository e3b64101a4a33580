/**
 * docs/caching.md: task result caching. Run: `npx node --conditions=source docs/examples/caching.ts`
 */
import { NodeServices } from "@effect/platform-node"
import { Effect, Layer, Schema } from "effect"
import { Engine, TaskCache, workflow } from "@troupe/core"
import { FileTaskCache } from "@troupe/node"

export const report = workflow("report", { input: Schema.Struct({ month: Schema.String }) })
  .task("fetch", { cache: { ttl: "1 hour", version: 2 } }, ({ input }) => Effect.succeed([input.month, "rows"]))
  .task("render", { dependsOn: ["fetch"], cache: { output: Schema.String } }, ({ fetch }) =>
    Effect.succeed(fetch.join(",")))
  .task("notify", { dependsOn: ["render"], cache: false }, () => Effect.log("sent")) // never cached

// In memory (LRU, TTL), on disk (one file per entry, survives restarts), or both.
export const memory = TaskCache.layerMemory({ maxEntries: 1000 })
export const disk = FileTaskCache.layer({ directory: ".troupe/cache" }).pipe(Layer.provide(NodeServices.layer))
export const hybrid = FileTaskCache.layerHybrid({ directory: ".troupe/cache", maxEntries: 100 }).pipe(
  Layer.provide(NodeServices.layer)
)

// The disk cache's limits: the largest entry file read or written, and the age after which temporary
// files left by a crash are removed when the layer is built. Invalid numbers throw InvalidDefinition.
export const diskWithLimits = FileTaskCache.layer({
  directory: ".troupe/cache",
  ttl: "7 days",
  maxEntryBytes: 8 * 1024 * 1024,
  temporaryFileMaxAge: "30 minutes"
}).pipe(Layer.provide(NodeServices.layer))

export const program = Effect.gen(function*() {
  yield* Engine.run(report, { month: "2026-11" })
  const second = yield* Engine.run(report, { month: "2026-11" }) // fetch and render come from the cache
  const stats = yield* TaskCache.TaskCache.use((cache) => cache.stats)
  yield* TaskCache.TaskCache.use((cache) => cache.invalidateTask("report", "fetch"))
  return { cached: second.state.tasks.filter((t) => t.cached).map((t) => t.id), stats }
})

if (import.meta.main) console.log(await Effect.runPromise(program.pipe(Effect.provide(memory))))
