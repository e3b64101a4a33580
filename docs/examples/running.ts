/**
 * docs/running.md: running workflows: options, handles, events, failure modes.
 * Run: `npx node --conditions=source docs/examples/running.ts`
 */
import { Effect, Stream } from "effect"
import { Engine, workflow } from "@troupe/core"

const wf = workflow("nightly", { maxParallel: 2 })
  .task("fetch", () => Effect.succeed(["a", "b"]))
  .task("index", { dependsOn: ["fetch"], when: ({ fetch }) => fetch.length > 0 }, ({ fetch }) =>
    Effect.succeed(fetch.length))
  .task("flaky", { retry: { maxRetries: 3, initialDelay: "10 millis", backoffMultiplier: 2 } }, () =>
    Effect.succeed("ok"))
  .task("summary", { dependsOn: ["index", "flaky"] }, ({ index, flaky }) => Effect.succeed(`${index} ${flaky}`))

export const runOnce = Engine.run(wf, undefined, {
  strategy: "dag",
  failureMode: "continue",
  onProgress: (progress) => console.log(`${progress.percent}%`)
})

export const withHandle = Effect.gen(function*() {
  const handle = yield* Engine.start(wf)
  const events = yield* handle.events.pipe(Stream.map((event) => event._tag), Stream.runCollect)
  const result = yield* handle.await
  return { events, outputs: result.outputs }
})

if (import.meta.main) {
  console.log(await Effect.runPromise(withHandle))
}
