/**
 * The Orchestrator over a JobStore: jobs and history are written after each operation and restored when
 * the layer is built again (a restart); unfinished jobs of named agents resume.
 */
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Exit, Layer, Scope } from "effect"
import { TestClock } from "effect/testing"
import { JobStore, Orchestrator, Workflow } from "@troupe/core"

class Greeting extends Context.Service<Greeting, string>()("test/Greeting") {}

/** Builds an orchestrator on the given store in its own scope (closing it is the "process" stopping). */
const boot = (store: Context.Context<JobStore.JobStore>, options: Orchestrator.Options<Orchestrator.AgentRegistry>) =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const context = yield* Layer.buildWithScope(
      Orchestrator.layer(options).pipe(Layer.provide(Layer.succeedContext(store)), Layer.provide(Layer.succeed(Greeting, "hi"))),
      scope
    )
    return { o: Context.get(context, Orchestrator.Orchestrator), stop: Scope.close(scope, Exit.void) }
  })

describe("Orchestrator + JobStore", () => {
  it.effect("finished jobs and runs are restored; queued and running jobs of named agents resume; others fail with a reason", () =>
    Effect.gen(function*() {
      const store = yield* Layer.build(JobStore.layerMemory)
      const started: Array<number> = []
      const agents = {
        double: (n: number) => Effect.sync(() => started.push(n)).pipe(Effect.andThen(Effect.sleep("1 minute")), Effect.as(n * 2)),
        greet: (name: string) => Greeting.useSync((g) => `${g} ${name}`)
      }

      // First "process": one worker; a finished job, a running one, a queued one, an unnamed one, a run.
      const first = yield* boot(store, { workers: 1, agents })
      const greeted = yield* first.o.submit("greet", "ada")
      expect((yield* first.o.awaitJob(greeted)).result).toBe("hi ada")
      const running = yield* first.o.submit("double", 1, { priority: 3, metadata: { n: 1 } })
      const queued = yield* first.o.submit("double", 2, { priority: 9 })
      const unnamed = yield* first.o.submit((n: number) => n, 3)
      yield* first.o.execute(Workflow.make("hello").task("a", () => 1), undefined, { runId: "run-1" })
      yield* Effect.yieldNow
      expect(yield* first.o.status(running)).toBe("running")
      expect(yield* first.o.status(queued)).toBe("queued")
      const unknown = yield* first.o.submit("nope", 1).pipe(Effect.flip)
      expect(unknown).toBeInstanceOf(Orchestrator.AgentNotFound)
      yield* first.stop

      // What the store holds: unfinished jobs stayed unfinished.
      const snapshot = yield* JobStore.JobStore.use((s) => s.load).pipe(Effect.provide(store))
      expect(snapshot.jobs.map((j) => [j.agent ?? "-", j.status])).toEqual([
        ["greet", "completed"],
        ["double", "running"],
        ["double", "queued"],
        ["-", "queued"]
      ])
      expect(snapshot.runs.map((r) => [r.runId, r.status])).toEqual([["run-1", "completed"]])

      // Second "process": the same store.
      const second = yield* boot(store, { workers: 2, agents })
      expect(yield* second.o.getTask(greeted)).toMatchObject({ status: "completed", result: "hi ada", agent: "greet" })
      const lost = yield* second.o.getTask(unnamed)
      expect(lost.status).toBe("failed")
      expect(lost.message).toContain("not registered by name")
      yield* Effect.yieldNow
      // The higher priority job starts first, the one that was running runs again (at-least-once).
      expect(started).toEqual([1, 2, 1])
      yield* TestClock.adjust("1 minute")
      const resumed = yield* second.o.awaitJob(running)
      expect(resumed).toMatchObject({ status: "completed", result: 2, attempts: 2, metadata: { n: 1 }, priority: 3 })
      expect((yield* second.o.awaitJob(queued)).result).toBe(4)
      expect((yield* second.o.history()).map((r) => r.runId)).toEqual(["run-1"])
      yield* second.stop
    }))

  const failing: JobStore.JobStoreApi = {
    load: Effect.fail(new JobStore.JobStoreError({ operation: "load", ids: [], reason: "disk on fire" })),
    putJob: (job) => Effect.fail(new JobStore.JobStoreError({ operation: "putJob", ids: [job.id], reason: "read-only" })),
    deleteJobs: () => Effect.void,
    putRun: () => Effect.void,
    deleteRuns: () => Effect.void
  }

  it.effect("a store that fails is reported; the orchestrator goes on in memory", () =>
    Effect.gen(function*() {
      const o = yield* Orchestrator.Orchestrator
      const id = yield* o.submit((n: number) => n + 1, 1)
      expect((yield* o.awaitJob(id)).result).toBe(2)
      expect(yield* o.status(id)).toBe("completed")
    }).pipe(Effect.provide(Orchestrator.layer().pipe(Layer.provide(Layer.succeed(JobStore.JobStore, failing))))))

  it("JobStoreError says which operation on which records failed", () => {
    const error = new JobStore.JobStoreError({ operation: "putJob", ids: ["job-1"], reason: "read-only database" })
    expect(error.message).toBe("JobStore putJob (job-1) failed: read-only database")
  })
})
