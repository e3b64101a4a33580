/**
 * The JobStore contract: every implementation (memory here, SQL in @troupe/durable) passes it. Records hold
 * JSON values only (what a durable store must round-trip).
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, type Layer } from "effect"
import { JobStore } from "@troupe/core"

const job = (id: string, seq: number, fields: Partial<JobStore.JobRecord> = {}): JobStore.JobRecord => ({
  id,
  seq,
  priority: 5,
  metadata: {},
  status: "queued",
  submittedAt: 1_000 + seq,
  ...fields
})

const run = (runId: string, fields: Partial<JobStore.RunRecord> = {}): JobStore.RunRecord => ({
  runId,
  workflow: "wf",
  status: "completed",
  startedAt: 1_000,
  finishedAt: 1_500,
  durationMs: 500,
  progress: { total: 2, completed: 2, failed: 0, skipped: 0, cancelled: 0, running: 0, pending: 0, percent: 100 } as never,
  failedTasks: [],
  ...fields
})

export const jobStoreContract = (name: string, layer: () => Layer.Layer<JobStore.JobStore, unknown>) =>
  describe(`JobStore contract: ${name}`, () => {
    const withStore = <A, E>(body: (store: JobStore.JobStoreApi) => Effect.Effect<A, E>) =>
      Effect.flatMap(Effect.service(JobStore.JobStore), body).pipe(Effect.provide(layer())) as Effect.Effect<A, E>

    it.effect("starts empty; a job written is read back with every field, and replaced by id", () =>
      withStore((store) =>
        Effect.gen(function*() {
          assert.deepStrictEqual(yield* store.load, { jobs: [], runs: [] })
          const queued = job("j1", 0, { priority: 9, metadata: { team: "ops", n: 1 }, agent: "double", input: { n: 21 } })
          yield* store.putJob(queued)
          assert.deepStrictEqual((yield* store.load).jobs, [queued])
          const done = {
            ...queued,
            status: "completed" as const,
            startedAt: 1_010,
            finishedAt: 1_020,
            result: { doubled: 42, tags: ["a", "b"], none: null },
            attempts: 2,
            runId: "run-1"
          }
          yield* store.putJob(done)
          assert.deepStrictEqual((yield* store.load).jobs, [done])
          const failed = job("j2", 1, { status: "failed", error: { _tag: "Boom", code: 3 }, message: "Boom" })
          yield* store.putJob(failed)
          assert.deepStrictEqual((yield* store.load).jobs, [done, failed])
        })))

    it.effect("jobs come back in submission order (seq), whatever the order of the writes", () =>
      withStore((store) =>
        Effect.gen(function*() {
          yield* store.putJob(job("c", 2))
          yield* store.putJob(job("a", 0))
          yield* store.putJob(job("b", 1))
          yield* store.putJob(job("a", 0, { status: "running", startedAt: 5 }))
          assert.deepStrictEqual((yield* store.load).jobs.map((j) => [j.id, j.status]), [["a", "running"], ["b", "queued"], ["c", "queued"]])
        })))

    it.effect("deleteJobs forgets jobs; unknown ids are ignored", () =>
      withStore((store) =>
        Effect.gen(function*() {
          for (let i = 0; i < 5; i++) yield* store.putJob(job(`j${i}`, i, { status: "completed", result: i }))
          yield* store.deleteJobs(["j1", "j3", "nope"])
          yield* store.deleteJobs([])
          assert.deepStrictEqual((yield* store.load).jobs.map((j) => j.id), ["j0", "j2", "j4"])
        })))

    it.effect("runs: written, replaced by id, deleted; they come back in the order they were first written", () =>
      withStore((store) =>
        Effect.gen(function*() {
          yield* store.putRun(run("r1"))
          yield* store.putRun(run("r2", { status: "failed", failedTasks: ["b"], jobId: "j9" }))
          yield* store.putRun(run("r1", { durationMs: 700 }))
          const loaded = (yield* store.load).runs
          assert.deepStrictEqual(loaded.map((r) => [r.runId, r.durationMs]), [["r1", 700], ["r2", 500]])
          assert.deepStrictEqual(loaded[1], run("r2", { status: "failed", failedTasks: ["b"], jobId: "j9" }))
          yield* store.deleteRuns(["r1", "ghost"])
          assert.deepStrictEqual((yield* store.load).runs.map((r) => r.runId), ["r2"])
        })))
  })
