/**
 * Events: start a run in the background, consume its event stream, and cancel it.
 *
 * `Engine.start` returns a handle: `events` (a Stream of every RunEvent, from the start of the run even
 * for late subscribers, ending with the run), `progress`, `state`, `cancel` and `await`.
 *
 * Here a crawler fetches three pages in parallel after its sitemap. The consumer of the event stream
 * prints every event and cancels the run as soon as two pages are in: the third page (still running) is
 * interrupted, `index` never starts, and `await` fails with `WorkflowCancelled`, which lists what did
 * complete.
 *
 * Run it: `npx node --conditions=source examples/src/events.ts`
 *
 * @since 0.1.0
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Engine, type RunEvent, Workflow } from "@troupe/core"
import { Console, Effect, Fiber, Stream } from "effect"

const fetchPage = (url: string, ms: number) =>
  Effect.sleep(`${ms} millis`).pipe(Effect.as({ url, bytes: url.length * 100 }))

/**
 * The workflow: robots → sitemap → three pages in parallel → index.
 *
 * @category workflows
 * @since 0.1.0
 */
export const crawl = Workflow.make("crawl")
  .task("robots", () => fetchPage("/robots.txt", 50))
  .task("sitemap", { dependsOn: ["robots"] }, () => fetchPage("/sitemap.xml", 100))
  .task("home", { dependsOn: ["sitemap"] }, () => fetchPage("/", 200))
  .task("about", { dependsOn: ["sitemap"] }, () => fetchPage("/about", 300))
  .task("archive", { dependsOn: ["sitemap"] }, () => fetchPage("/archive", 2_000))
  .task("index", { dependsOn: ["home", "about", "archive"] }, ({ home, about, archive }) =>
    Effect.succeed(home.bytes + about.bytes + archive.bytes))

const pages = new Set(["home", "about", "archive"])

const describe = (event: RunEvent.RunEvent): string => {
  switch (event._tag) {
    case "RunStarted":
      return `run started: ${event.workflow}, ${event.total} tasks`
    case "TaskStarted":
      return `  ▶ ${event.taskId}`
    case "TaskCompleted":
      return `  ✓ ${event.taskId} (${event.durationMs} ms)`
    case "TaskCancelled":
      return `  ■ ${event.taskId}: ${event.reason}`
    case "TaskFailed":
      return `  ✗ ${event.taskId}: ${event.message}`
    case "TaskSkipped":
      return `  ⊘ ${event.taskId}: ${event.reason}`
    case "TaskRetrying":
      return `  ↻ ${event.taskId} attempt ${event.attempt} failed, retrying in ${event.delayMs} ms`
    case "RunCompleted":
    case "RunFailed":
    case "RunCancelled":
      return `run ${event._tag.slice(3).toLowerCase()} after ${event.durationMs} ms`
    default:
      return `  ${event._tag}`
  }
}

/**
 * Starts the crawl, prints its events, cancels it after two pages; returns the event tags seen, the
 * tasks that completed and the final progress.
 *
 * @category running
 * @since 0.1.0
 */
export const main = Effect.gen(function*() {
  const handle = yield* Engine.start(crawl)
  const seen: Array<RunEvent.RunEvent> = []
  let pagesDone = 0

  // Consume the stream in a fiber of its own; it ends when the run ends.
  const consumer = yield* handle.events.pipe(
    Stream.runForEach((event) =>
      Effect.gen(function*() {
        seen.push(event)
        yield* Console.log(describe(event))
        if (event._tag === "TaskCompleted" && pages.has(event.taskId) && ++pagesDone === 2) {
          yield* Console.log("two pages are enough: cancelling")
          yield* handle.cancel
        }
      })
    ),
    Effect.forkChild
  )

  const completed = yield* handle.await.pipe(
    Effect.map((result) => Object.keys(result.outputs)),
    Effect.catchTag("WorkflowCancelled", (cancelled) => Effect.succeed(cancelled.completed))
  )
  yield* Fiber.join(consumer)
  const progress = yield* handle.progress
  yield* Console.log(
    `completed: [${completed.join(", ")}]; ${progress.completed} completed, ${progress.cancelled} cancelled`
  )
  return { events: seen, completed, progress }
})

if (import.meta.main) NodeRuntime.runMain(main)
