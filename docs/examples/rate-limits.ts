/**
 * docs/resilience.md, "Rate limits": at most N task starts per interval, per key, waiting without a slot.
 * Run: `npx node --conditions=source docs/examples/rate-limits.ts` (about 1 second: the window is real).
 */
import { Effect } from "effect"
import { Engine, type RunEvent, type Task, workflow } from "@troupe/core"

// One value, one limit: every task that uses `provider` (in any run of this process) shares 2 starts per
// second, split by tenant.
const provider: Task.RateLimit<{ readonly input: { readonly tenant: string } }> = {
  limit: 2,
  interval: "1 second",
  key: ({ input }) => input.tenant
}

const summarise = (name: string) => () => Effect.succeed(`${name} summarised`)

export const summaries = workflow<"summaries", { readonly tenant: string }>("summaries", { maxParallel: 2 })
  .task("intro", { rateLimit: provider }, summarise("intro"))
  .task("body", { rateLimit: provider }, summarise("body"))
  .task("outro", { rateLimit: provider }, summarise("outro"))
  // Not rate limited: it runs while `outro` waits (a waiting task holds no slot).
  .task("index", () => Effect.succeed("indexed"))

/** Runs the workflow and returns when each task started, and what the run said while it waited. */
export const program = Effect.gen(function*() {
  const events: Array<RunEvent.RunEvent> = []
  const result = yield* Engine.run(summaries, { tenant: "acme" }, { onEvent: (e) => events.push(e) })
  const started = Object.fromEntries(
    events.flatMap((e) => (e._tag === "TaskStarted" ? [[e.taskId, e.at - events[0]!.at]] : []))
  )
  const waits = events.flatMap((e) =>
    e._tag === "TaskWaiting" ? [`${e.taskId} waits for ${e.reason} "${e.name}"`] : []
  )
  return { outputs: result.outputs, started, waits }
})

if (import.meta.main) {
  console.log(await Effect.runPromise(program))
}
