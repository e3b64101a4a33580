import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Schema } from "effect"
import { Events, Orchestrator, Trigger, Workflow } from "@troupe/core"

class Prefix extends Context.Service<Prefix, string>()("test/Prefix") {}

const Uploaded = Events.define("file.uploaded", Schema.Struct({ path: Schema.String }))
const ingest = Workflow.make<"ingest", string>("ingest")
  .task("parse", ({ input }) => Prefix.useSync((p) => `${p}${input}`))

describe("Trigger", () => {
  it.effect("an event that passes the filter starts the workflow with the mapped input and the caller's services", () =>
    Effect.gen(function*() {
      const o = yield* Orchestrator.Orchestrator
      const handle = yield* o.addTrigger(Trigger.make({
        on: Uploaded,
        filter: (event) => event.payload.path.endsWith(".csv"),
        workflow: ingest,
        input: (event) => event.payload.path
      })).pipe(Effect.provideService(Prefix, "parsed "))
      yield* o.emit(Uploaded, { path: "a.csv" })
      yield* o.emit(Uploaded, { path: "b.txt" })
      yield* o.emit(Uploaded, { path: "c.csv" })
      yield* o.flushEvents
      const stats = yield* handle.stats
      expect(stats).toMatchObject({ id: "file.uploaded → ingest", fired: 2, skipped: 1, failed: 0, status: "active" })
      const results = yield* Effect.forEach(stats.runIds, (runId) => o.state(runId))
      yield* Effect.yieldNow
      const outputs = yield* Effect.forEach(stats.runIds, (runId) => o.state(runId).pipe(Effect.map((s) => s.tasks[0]!.output)))
      expect(results).toHaveLength(2)
      expect(outputs).toEqual(["parsed a.csv", "parsed c.csv"])
      yield* handle.remove
      yield* o.emit(Uploaded, { path: "d.csv" })
      yield* o.flushEvents
      expect(yield* handle.stats).toMatchObject({ fired: 2, status: "removed" })
    }).pipe(Effect.provide(Orchestrator.layer())))

  it.effect("lifecycle patterns trigger too (a job's task.failed starts an incident workflow); throwing filters count as failed", () =>
    Effect.gen(function*() {
      const o = yield* Orchestrator.Orchestrator
      const incidents: Array<string> = []
      const incident = Workflow.make<"incident", string>("incident").task("page", ({ input }) => {
        incidents.push(input)
      })
      const onFailure = yield* o.addTrigger(Trigger.make({
        on: "*.failed",
        filter: (event) => event._tag === "TaskFailed",
        workflow: incident,
        input: (event) => (event._tag === "TaskFailed" ? `${event.jobId === undefined ? "task" : "job"}: ${event.message}` : "")
      }))
      const broken = yield* o.addTrigger(Trigger.make({
        on: "task.completed",
        filter: () => {
          throw new Error("bad filter")
        },
        workflow: incident,
        input: () => "never"
      }))
      const limited = yield* o.addTrigger(Trigger.make({
        id: "at most one",
        on: "workflow.completed",
        filter: (event) => event.workflow.startsWith("w"),
        workflow: Workflow.make("after").task("x", () => 1),
        maxRuns: 1
      }))
      yield* o.awaitJob(yield* o.submit(() => Effect.fail("disk full"), undefined))
      yield* o.execute(Workflow.make("w1").task("a", () => 1))
      yield* o.execute(Workflow.make("w2").task("a", () => 1))
      yield* o.flushEvents
      yield* o.flushEvents
      expect(incidents).toEqual(["job: disk full"])
      expect(yield* onFailure.stats).toMatchObject({ fired: 1 })
      expect((yield* broken.stats).failed).toBeGreaterThanOrEqual(2)
      expect((yield* limited.stats).fired).toBe(1)
      expect(yield* o.history({ workflow: "after" })).toHaveLength(1)
    }).pipe(Effect.provide(Orchestrator.layer())))
})
