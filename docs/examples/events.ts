/**
 * docs/events.md: lifecycle events, custom events with a Schema, patterns, triggers.
 * Run: `npx node --conditions=source docs/examples/events.ts`
 */
import { Effect, Schema } from "effect"
import { Events, Orchestrator, Trigger, Workflow } from "@troupe/core"

// A custom event: its payload is checked when emitted and typed where it is received.
export const Uploaded = Events.define("file.uploaded", Schema.Struct({ path: Schema.String, bytes: Schema.Number }))

const ingest = Workflow.make<"ingest", string>("ingest")
  .task("parse", ({ input }) => Effect.succeed(`parsed ${input}`))
  .task("index", { dependsOn: ["parse"] }, ({ parse }) => Effect.succeed(`${parse}, indexed`))

export const program = Effect.gen(function*() {
  const o = yield* Orchestrator.Orchestrator
  const log: Array<string> = []

  // By pattern: every task event, from workflows and from submitted jobs alike.
  yield* o.on("task.*", (event) => {
    log.push(`${event._tag} ${event.jobId === undefined ? event.taskId : "job"}`)
  })
  // By definition: the payload is typed.
  const uploads = yield* o.subscribe(Uploaded, (event) => {
    log.push(`uploaded ${event.payload.path} (${event.payload.bytes} bytes)`)
  })
  // A slow subscriber has its own buffer: it never holds a run back; what does not fit is counted.
  const slow = yield* o.subscribe("task.completed", () => Effect.sleep("1 hour"), { bufferSize: 1 })

  // A trigger: each CSV upload starts the ingest workflow with the file's path.
  const trigger = yield* o.addTrigger(Trigger.make({
    on: Uploaded,
    filter: (event) => event.payload.path.endsWith(".csv"),
    workflow: ingest,
    input: (event) => event.payload.path
  }))

  yield* o.emit(Uploaded, { path: "sales.csv", bytes: 1024 })
  yield* o.emit(Uploaded, { path: "notes.txt", bytes: 12 })
  const invalid = yield* o.emit(Uploaded, { path: "x.csv", bytes: "big" } as never).pipe(Effect.flip)
  yield* o.awaitJob(yield* o.submit((n: number) => n * 2, 21))
  yield* o.flushEvents.pipe(Effect.timeout("100 millis"), Effect.ignore) // the slow one never catches up

  return {
    log,
    triggered: (yield* trigger.stats).fired,
    uploads: (yield* uploads.stats).delivered,
    slowDropped: (yield* slow.stats).dropped,
    invalid: invalid.message
  }
}).pipe(Effect.provide(Orchestrator.layer()))

if (import.meta.main) {
  const out = await Effect.runPromise(program)
  console.log(out.log.join("\n"))
  console.log({ triggered: out.triggered, uploads: out.uploads, slowDropped: out.slowDropped })
  console.log(out.invalid)
}
