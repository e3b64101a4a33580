/**
 * The Orchestrator on the SQLite JobStore: a restart (a new layer on the same file) restores finished jobs and
 * history, and resumes queued and running jobs.
 */
import { describe, expect, it } from "@effect/vitest"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Context, Effect, Exit, Layer, Scope } from "effect"
import { JobStore, Orchestrator, Workflow } from "@troupe/core"
import * as SqliteClient from "../src/SqliteClient.ts"
import * as SqlJobStore from "../src/SqlJobStore.ts"

const boot = (filename: string, options: Orchestrator.Options<Orchestrator.AgentRegistry>) =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const context = yield* Layer.buildWithScope(
      Orchestrator.layer(options).pipe(
        Layer.provideMerge(SqlJobStore.layer),
        Layer.provide(SqliteClient.layer({ filename }))
      ),
      scope
    )
    return {
      o: Context.get(context, Orchestrator.Orchestrator),
      store: Context.get(context, JobStore.JobStore),
      stop: Scope.close(scope, Exit.void)
    }
  })

describe("SqlJobStore", () => {
  it.live("jobs, priorities, results and history survive a restart; pending jobs resume", () =>
    Effect.gen(function*() {
      const filename = join(mkdtempSync(join(tmpdir(), "troupe-jobs-")), "jobs.db")
      const started: Array<number> = []
      let block = true
      const agents = {
        double: (n: number) =>
          Effect.sync(() => started.push(n)).pipe(
            Effect.andThen(block ? Effect.never : Effect.void),
            Effect.as(n * 2)
          ),
        date: () => new Date(0)
      }
      const first = yield* boot(filename, { workers: 1, agents })
      const dated = yield* first.o.submit("date", undefined)
      yield* first.o.awaitJob(dated)
      const running = yield* first.o.submit("double", 1, { priority: 3, metadata: { n: 1 } })
      const queued = yield* first.o.submit("double", 2, { priority: 9 })
      yield* first.o.execute(Workflow.make("hello").task("a", () => 1), undefined, { runId: "run-1" })
      yield* Effect.sleep(20)
      expect(yield* first.o.status(running)).toBe("running")
      yield* first.stop

      block = false
      const second = yield* boot(filename, { workers: 2, agents })
      const restored = yield* second.o.getTask(dated)
      expect(restored.status).toBe("completed")
      expect(restored.result).toBe("1970-01-01T00:00:00.000Z")
      expect(restored.message).toContain("not JSON data")
      const resumed = yield* second.o.awaitJob(running)
      expect(resumed).toMatchObject({ status: "completed", result: 2, priority: 3, metadata: { n: 1 } })
      expect((yield* second.o.awaitJob(queued)).result).toBe(4)
      expect(started).toEqual([1, 2, 1])
      expect((yield* second.o.history()).map((r) => r.runId)).toEqual(["run-1"])
      yield* second.stop
      // After the orchestrator stopped, its writes are all in the file.
      const snapshot = yield* Effect.flatMap(SqlJobStore.make, (s) => s.load).pipe(
        Effect.provide(SqliteClient.layer({ filename }))
      )
      expect(snapshot.jobs.map((j) => j.status)).toEqual(["completed", "completed", "completed"])
      expect(snapshot.runs.map((r) => r.runId)).toEqual(["run-1"])
    }))

  it.effect("deleteJobs and deleteRuns remove exactly the rows named (none named: nothing)", () =>
    Effect.gen(function*() {
      const store = yield* SqlJobStore.make
      const job = (id: string, seq: number): JobStore.JobRecord => ({
        id,
        seq,
        priority: 5,
        metadata: {},
        status: "completed",
        submittedAt: 0
      })
      const run = (runId: string) =>
        ({
          runId,
          workflow: "w",
          status: "completed",
          startedAt: 0,
          finishedAt: 1,
          durationMs: 1,
          progress: { total: 0, completed: 0, failed: 0, running: 0, pending: 0 },
          failedTasks: []
        }) as unknown as JobStore.RunRecord
      for (const [i, id] of ["a", "b", "c"].entries()) yield* store.putJob(job(id, i))
      for (const id of ["r1", "r2"]) yield* store.putRun(run(id))
      yield* store.deleteJobs([])
      yield* store.deleteJobs(["a", "c"])
      yield* store.deleteRuns(["r2"])
      const loaded = yield* store.load
      expect(loaded.jobs.map((j) => j.id)).toEqual(["b"])
      expect(loaded.runs.map((r) => r.runId)).toEqual(["r1"])
    }).pipe(Effect.provide(SqliteClient.layer({ filename: ":memory:" }))))
})
