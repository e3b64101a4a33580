/**
 * SqlJobStore: the Orchestrator's `JobStore` on SQL (the durable database by default), so submitted jobs,
 * their priorities, results and errors, and the run history survive a restart, and jobs that were queued or
 * running resume when the Orchestrator starts again (its `state_file` behaviour: saved after each operation,
 * restored on start).
 *
 * Two dialect-neutral tables, created or migrated at startup (component `jobs` of `Migrations`): `troupe_jobs` and `troupe_job_runs`, each a JSON body
 * per record with a sequence number (jobs in submission order, runs in the order first written). A job's
 * `result` or `error` that is not JSON data is stored as its description, and the record's `message` says so.
 *
 * **Example**
 * ```ts
 * import { Layer } from "effect"
 * import { Orchestrator } from "@troupe/core"
 * import { SqliteClient, SqlJobStore } from "@troupe/durable"
 *
 * const orchestrator = Orchestrator.layer({ agents }).pipe(
 *   Layer.provide(SqlJobStore.layer),
 *   Layer.provide(SqliteClient.layer({ filename: ".troupe/jobs.db" }))
 * )
 * ```
 *
 * @since 0.1.0
 */
import { Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import type { SqlError } from "effect/sql/SqlError"
import { JobStore } from "@troupe/core"
import { nonJsonAt, safeStringify } from "./internal/json.ts"
import * as Migrations from "./Migrations.ts"

/** Version 1: the first layout. */
const layout1: ReadonlyArray<string> = [
  `CREATE TABLE IF NOT EXISTS troupe_jobs (
    id TEXT PRIMARY KEY,
    seq BIGINT NOT NULL,
    status TEXT NOT NULL,
    body TEXT NOT NULL
  )`,
  `CREATE TABLE IF NOT EXISTS troupe_job_runs (
    run_id TEXT PRIMARY KEY,
    seq BIGINT NOT NULL,
    body TEXT NOT NULL
  )`
]

/**
 * The job store's schema versions, oldest first (component `jobs` of `Migrations`).
 *
 * @category models
 * @since 0.1.0
 */
export const migrations: ReadonlyArray<Migrations.Migration> = [
  { version: 1, description: "jobs and job runs", up: Migrations.statements(layout1) }
]

type Operation = "load" | "putJob" | "deleteJobs" | "putRun" | "deleteRuns"

const fail = (operation: Operation, ids: ReadonlyArray<string>) => (error: SqlError) =>
  new JobStore.JobStoreError({ operation, ids: [...ids], reason: error.message, cause: error })

/** A job whose result or error is not JSON keeps a description of it instead, and says so. */
const storable = (job: JobStore.JobRecord): JobStore.JobRecord => {
  let out = job
  for (const key of ["result", "error"] as const) {
    const value = out[key]
    const problem = value === undefined ? undefined : nonJsonAt(value)
    if (problem !== undefined) {
      const note = `the ${key} was not JSON data (${problem}); stored as its description`
      out = {
        ...out,
        [key]: value instanceof Date
          ? value.toISOString()
          : value instanceof Error
          ? `${value.name}: ${value.message}`
          : safeStringify(value),
        message: out.message === undefined ? note : `${out.message}; ${note}`
      }
    }
  }
  return out
}

/**
 * @category constructors
 * @since 0.1.0
 */
export const make: Effect.Effect<
  JobStore.JobStoreApi,
  JobStore.JobStoreError | Migrations.MigrationError,
  SqlClient.SqlClient
> = Effect.gen(
  function*() {
    const sql = yield* SqlClient.SqlClient
    yield* Migrations.migrate(sql, "jobs", migrations)
    const parse = <A>(table: string, id: string, body: string) =>
      Effect.try({
        try: () => JSON.parse(body) as A,
        catch: (cause) =>
          new JobStore.JobStoreError({
            operation: "load",
            ids: [id],
            reason: `corrupt row in ${table} (${id}): ${(cause as Error).message}; it was left as stored`
          })
      })
    const deleteWhere = (table: string, column: string, operation: Operation, ids: ReadonlyArray<string>) =>
      ids.length === 0
        ? Effect.void
        : sql`DELETE FROM ${sql(table)} WHERE ${sql.in(column, [...ids])}`.pipe(
          Effect.asVoid,
          Effect.mapError(fail(operation, ids))
        )
    return {
      load: Effect.gen(function*() {
        const jobs = yield* sql<{ id: string; body: string }>`SELECT id, body FROM troupe_jobs ORDER BY seq`.pipe(
          Effect.mapError(fail("load", []))
        )
        const runs = yield* sql<{ run_id: string; body: string }>`SELECT run_id, body FROM troupe_job_runs ORDER BY seq`
          .pipe(Effect.mapError(fail("load", [])))
        return {
          jobs: yield* Effect.forEach(jobs, (r) => parse<JobStore.JobRecord>("troupe_jobs", r.id, r.body)),
          runs: yield* Effect.forEach(runs, (r) => parse<JobStore.RunRecord>("troupe_job_runs", r.run_id, r.body))
        }
      }),
      putJob: (job) =>
        Effect.suspend(() => {
          const body = safeStringify(storable(job))
          return sql`INSERT INTO troupe_jobs (id, seq, status, body) VALUES (${job.id}, ${job.seq}, ${job.status}, ${body})
            ON CONFLICT (id) DO UPDATE SET seq = ${job.seq}, status = ${job.status}, body = ${body}`.pipe(
            Effect.asVoid,
            Effect.mapError(fail("putJob", [job.id]))
          )
        }),
      deleteJobs: (ids) => deleteWhere("troupe_jobs", "id", "deleteJobs", ids),
      putRun: (run) =>
        Effect.suspend(() => {
          const body = safeStringify(run)
          return sql`INSERT INTO troupe_job_runs (run_id, seq, body)
            VALUES (${run.runId}, (SELECT COALESCE(MAX(seq), 0) + 1 FROM troupe_job_runs), ${body})
            ON CONFLICT (run_id) DO UPDATE SET body = ${body}`.pipe(Effect.asVoid, Effect.mapError(fail("putRun", [run.runId])))
        }),
      deleteRuns: (ids) => deleteWhere("troupe_job_runs", "run_id", "deleteRuns", ids)
    }
  }
)

/**
 * The Orchestrator's store over the `SqlClient` in context (e.g. `SqliteClient.layer`, or `Durable.layer`).
 *
 * @category layers
 * @since 0.1.0
 */
export const layer: Layer.Layer<
  JobStore.JobStore,
  JobStore.JobStoreError | Migrations.MigrationError,
  SqlClient.SqlClient
> = Layer.effect(
  JobStore.JobStore,
  make
)
