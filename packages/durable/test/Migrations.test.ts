/**
 * Schema versions and migrations of Troupe's own tables, on real database files: a database created with
 * the previous layout (written here by hand with that layout's DDL, as the first release created it, with
 * no version table) opens under the current code and keeps every row; opening twice changes nothing; a
 * database written by a newer Troupe fails with `SchemaTooNew` saying which version it has and which the
 * code knows, and is left untouched.
 */
import { assert, describe, it } from "@effect/vitest"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, Exit, Layer, Schema } from "effect"
import { SqlClient } from "effect/sql"
import { JobStore, RunStore, Schedules, Signal, Workflow } from "@troupe/core"
import * as Durable from "../src/Durable.ts"
import * as Migrations from "../src/Migrations.ts"
import * as SchedulesSql from "../src/SchedulesSql.ts"
import * as SignalsSql from "../src/SignalsSql.ts"
import * as SqliteClient from "../src/SqliteClient.ts"
import * as SqlJobStore from "../src/SqlJobStore.ts"
import * as SqlRunStore from "../src/SqlRunStore.ts"

const fresh = () => join(mkdtempSync(join(tmpdir(), "troupe-migrate-")), "old.db")

/** The tables as the first release created them (troupe_run_outputs had no `journal` column). */
const previousLayout = [
  `CREATE TABLE troupe_runs (run_id TEXT PRIMARY KEY, workflow TEXT NOT NULL, version TEXT NOT NULL,
    status TEXT NOT NULL, durable INTEGER NOT NULL, input TEXT, plan TEXT NOT NULL, shape TEXT,
    generation INTEGER NOT NULL DEFAULT 0, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL,
    finished_at BIGINT, duration_ms DOUBLE PRECISION, error TEXT, cancel_requested INTEGER NOT NULL DEFAULT 0,
    tasks_total INTEGER NOT NULL, tasks_completed INTEGER NOT NULL DEFAULT 0, tasks_failed INTEGER NOT NULL DEFAULT 0,
    event_count INTEGER NOT NULL DEFAULT 0)`,
  `CREATE INDEX troupe_runs_by_workflow ON troupe_runs (workflow, created_at)`,
  `CREATE INDEX troupe_runs_by_status ON troupe_runs (status, created_at)`,
  `CREATE TABLE troupe_run_events (run_id TEXT NOT NULL, seq INTEGER NOT NULL, tag TEXT NOT NULL, at BIGINT NOT NULL,
    body TEXT NOT NULL, PRIMARY KEY (run_id, seq))`,
  `CREATE TABLE troupe_run_outputs (run_id TEXT NOT NULL, path TEXT NOT NULL, value TEXT, PRIMARY KEY (run_id, path))`,
  `CREATE TABLE troupe_run_errors (run_id TEXT NOT NULL, seq INTEGER NOT NULL, path TEXT NOT NULL, message TEXT NOT NULL,
    attempts INTEGER NOT NULL, at BIGINT NOT NULL, PRIMARY KEY (run_id, seq))`,
  `CREATE TABLE troupe_task_stats (workflow TEXT NOT NULL, path TEXT NOT NULL, count INTEGER NOT NULL,
    failures INTEGER NOT NULL, mean_ms DOUBLE PRECISION NOT NULL, min_ms DOUBLE PRECISION NOT NULL,
    max_ms DOUBLE PRECISION NOT NULL, last_ms DOUBLE PRECISION NOT NULL, PRIMARY KEY (workflow, path))`,
  `CREATE TABLE troupe_jobs (id TEXT PRIMARY KEY, seq BIGINT NOT NULL, status TEXT NOT NULL, body TEXT NOT NULL)`,
  `CREATE TABLE troupe_job_runs (run_id TEXT PRIMARY KEY, seq BIGINT NOT NULL, body TEXT NOT NULL)`,
  `CREATE TABLE troupe_schedules (schedule_id TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, paused INTEGER NOT NULL,
    next_fire_at BIGINT, last_fire_at BIGINT, anchor BIGINT, updated_at BIGINT NOT NULL)`,
  `CREATE TABLE troupe_signal_runs (run_id TEXT PRIMARY KEY, opened_at BIGINT NOT NULL)`,
  `CREATE TABLE troupe_signals (run_id TEXT NOT NULL, seq BIGINT NOT NULL, name TEXT NOT NULL, payload TEXT NOT NULL,
    sent_at BIGINT NOT NULL, consumed_by TEXT, PRIMARY KEY (run_id, seq))`,
  `CREATE INDEX troupe_signals_by_name ON troupe_signals (run_id, name, consumed_by)`,
  `CREATE TABLE troupe_timers (run_id TEXT NOT NULL, timer_key TEXT NOT NULL, until_at BIGINT NOT NULL,
    PRIMARY KEY (run_id, timer_key))`
]

const wf = Workflow.make("legacy")
  .task("a", () => Effect.succeed({ n: 1 }))
  .task("b", { dependsOn: ["a"] }, () => Effect.fail("no"))

/** Writes the previous layout and one row of each kind, as the first release wrote them. */
const createPrevious = (filename: string) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    for (const statement of previousLayout) yield* sql.unsafe(statement)
    const plan = JSON.stringify(Workflow.compiled(wf).plan)
    yield* sql`INSERT INTO troupe_runs (run_id, workflow, version, status, durable, input, plan, shape, generation,
      created_at, updated_at, tasks_total, tasks_completed, tasks_failed, event_count)
      VALUES ('old', 'legacy', '', 'running', 1, NULL, ${plan}, '{}', 0, 1000, 2000, 2, 1, 1, 2)`
    yield* sql`INSERT INTO troupe_run_events (run_id, seq, tag, at, body) VALUES
      ('old', 0, 'RunStarted', 1000, '{"_tag":"RunStarted","runId":"old","at":1000,"workflow":"legacy","total":2}'),
      ('old', 1, 'TaskStarted', 1001, '{"_tag":"TaskStarted","runId":"old","at":1001,"taskId":"a","attempt":1}')`
    // The first release kept the journal entry in `value`.
    yield* sql`INSERT INTO troupe_run_outputs (run_id, path, value) VALUES
      ('old', 'a', 'o{"v":{"n":1}}'), ('old', 'b', 'e{"message":"no","error":"no","defect":false}')`
    yield* sql`INSERT INTO troupe_run_errors (run_id, seq, path, message, attempts, at) VALUES ('old', 3, 'b', 'no', 1, 1500)`
    yield* sql`INSERT INTO troupe_task_stats VALUES ('legacy', 'a', 3, 0, 12.5, 10, 15, 11)`
    yield* sql`INSERT INTO troupe_jobs VALUES ('j1', 1, 'queued', '{"id":"j1","seq":1,"status":"queued"}')`
    yield* sql`INSERT INTO troupe_job_runs VALUES ('jr1', 1, '{"runId":"jr1"}')`
    yield* sql`INSERT INTO troupe_schedules VALUES ('nightly', 'cron:0 2 * * *', 1, 5000, 4000, NULL, 4500)`
    yield* sql`INSERT INTO troupe_signal_runs VALUES ('old', 1000)`
    yield* sql`INSERT INTO troupe_signals VALUES ('old', 1, 'approve', '{"ok":true}', 1200, NULL)`
    yield* sql`INSERT INTO troupe_timers VALUES ('old', 'b/sleep', 9000)`
  }).pipe(Effect.provide(SqliteClient.layer({ filename })))

/** Every store of the package over one database. */
const allStores = (filename: string) =>
  Layer.mergeAll(SqlRunStore.layer, SqlJobStore.layer, SchedulesSql.layerStore, SignalsSql.layer).pipe(
    Layer.provideMerge(SqliteClient.layer({ filename }))
  )

const versionsOf = Effect.flatMap(SqlClient.SqlClient, (sql) => Migrations.versions(sql))

describe("Migrations", () => {
  it.live("a database with the previous layout is upgraded and keeps every row", () =>
    Effect.gen(function*() {
      const filename = fresh()
      yield* createPrevious(filename)
      yield* Effect.gen(function*() {
        const runs = yield* SqlRunStore.SqlRunStore
        const record = yield* runs.get("old")
        assert.deepStrictEqual([record.status, record.durable, record.tasks], ["running", true, { total: 2, completed: 1, failed: 1 }])
        assert.deepStrictEqual((yield* runs.events("old")).map((e) => e._tag), ["RunStarted", "TaskStarted"])
        // The legacy journal entries moved to their column: replay checks read them, history reads the value.
        const journaled = yield* runs.journaledOutputs("old")
        assert.deepStrictEqual(Object.fromEntries(journaled), {
          a: `o{"v":{"n":1}}`,
          b: `e{"message":"no","error":"no","defect":false}`
        })
        assert.deepStrictEqual(yield* runs.outputs("old"), { a: { n: 1 } })
        assert.deepStrictEqual((yield* runs.errors("old")).map((e) => [e.path, e.message]), [["b", "no"]])
        assert.strictEqual((yield* runs.durations("legacy")).get("a")?.count, 3)
        const jobs = yield* (yield* JobStore.JobStore).load
        assert.deepStrictEqual([jobs.jobs.map((j) => j.id), jobs.runs.map((r) => r.runId)], [["j1"], ["jr1"]])
        const schedules = yield* (yield* Schedules.Store).list
        assert.deepStrictEqual(schedules.map((s) => [s.id, s.paused, s.nextFireAt]), [["nightly", true, 5000]])
        // The stored signal is still there for the run's wait.
        const approve = Signal.make("approve", Schema.Struct({ ok: Schema.Boolean }))
        const signals = yield* Signal.Signals
        const payload = yield* signals.await({ runId: "old", taskId: "b", key: "b/approve", signal: approve })
        assert.deepStrictEqual(payload, { ok: true })
        assert.deepStrictEqual(
          Object.fromEntries(yield* versionsOf),
          { runs: 3, jobs: 1, schedules: 1, signals: 1 }
        )
        // New writes use the new layout; old and new rows read as one history.
        yield* runs.appendAll("old", [
          { _tag: "TaskCompleted", runId: "old", at: 1002, taskId: "a", attempts: 1, durationMs: 1, output: { n: 1 } },
          { _tag: "RunFailed", runId: "old", at: 1003, durationMs: 3, failed: ["b"] }
        ], [["c", `o{"v":3}`]])
        assert.strictEqual((yield* runs.journaledOutputs("old")).get("c"), `o{"v":3}`)
        assert.deepStrictEqual(
          (yield* runs.events("old")).map((e) => [e._tag, e.at]),
          [["RunStarted", 1000], ["TaskStarted", 1001], ["TaskCompleted", 1002], ["RunFailed", 1003]]
        )
        assert.deepStrictEqual((yield* runs.events("old", { after: 1 })).map((e) => e._tag), ["TaskStarted", "TaskCompleted", "RunFailed"])
        assert.deepStrictEqual((yield* runs.events("old", { after: 3 })).map((e) => e._tag), ["RunFailed"])
        assert.strictEqual((yield* runs.get("old")).status, "failed")
      }).pipe(Effect.provide(allStores(filename)))
      // The whole durable layer opens it too, and opening again changes nothing.
      const again = yield* Effect.gen(function*() {
        const versions = yield* versionsOf
        const record = yield* RunStore.RunStore.use((s) => s.get("old"))
        return { versions: Object.fromEntries(versions), status: record.status }
      }).pipe(Effect.provide(Durable.layer({ filename })))
      assert.deepStrictEqual(again, { versions: { runs: 3, jobs: 1, schedules: 1, signals: 1 }, status: "failed" })
    }))

  it.live("a database created before versions were kept, with the current layout, opens as is", () =>
    Effect.gen(function*() {
      const filename = fresh()
      yield* Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        for (const statement of previousLayout) yield* sql.unsafe(statement)
        yield* sql.unsafe(`ALTER TABLE troupe_run_outputs ADD COLUMN journal TEXT`)
        yield* sql`INSERT INTO troupe_runs (run_id, workflow, version, status, durable, plan, created_at, updated_at, tasks_total)
          VALUES ('cur', 'legacy', '', 'completed', 1, ${JSON.stringify(Workflow.compiled(wf).plan)}, 1, 2, 2)`
        yield* sql`INSERT INTO troupe_run_outputs (run_id, path, value, journal) VALUES ('cur', 'a', '{"n":2}', 'o{"v":{"n":2}}')`
      }).pipe(Effect.provide(SqliteClient.layer({ filename })))
      const outputs = yield* Effect.gen(function*() {
        const runs = yield* SqlRunStore.SqlRunStore
        return [yield* runs.outputs("cur"), Object.fromEntries(yield* runs.journaledOutputs("cur"))]
      }).pipe(Effect.provide(allStores(filename)))
      assert.deepStrictEqual(outputs, [{ a: { n: 2 } }, { a: `o{"v":{"n":2}}` }])
    }))

  it.live("steps run in order, once; a database newer than the code is SchemaTooNew and is left untouched", () =>
    Effect.gen(function*() {
      const filename = fresh()
      const ran: Array<number> = []
      const step = (version: number): Migrations.Migration => ({
        version,
        description: `step ${version}`,
        up: (sql) => Effect.andThen(Effect.sync(() => ran.push(version)), sql`CREATE TABLE IF NOT EXISTS t${sql.literal(String(version))} (x TEXT)`)
      })
      yield* Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        assert.deepStrictEqual(yield* Migrations.migrate(sql, "notes", [step(2), step(1)]), { component: "notes", from: 0, to: 2 })
        assert.deepStrictEqual(yield* Migrations.migrate(sql, "notes", [step(1), step(2), step(3)]), { component: "notes", from: 2, to: 3 })
        assert.deepStrictEqual(yield* Migrations.migrate(sql, "notes", [step(1), step(2), step(3)]), { component: "notes", from: 3, to: 3 })
        assert.deepStrictEqual(ran, [1, 2, 3])
        // A failing step rolls back with its version: the database stays at the version before it.
        const broken: Migrations.Migration = { version: 4, description: "broken", up: (sql) => Effect.asVoid(sql`SELECT nope FROM nowhere`) }
        const failed = yield* Effect.flip(Migrations.migrate(sql, "notes", [step(3), broken]))
        assert.strictEqual(failed._tag, "MigrationFailed")
        assert.include(failed.message, "schema version 4 (broken)")
        assert.strictEqual((yield* Migrations.versions(sql)).get("notes"), 3)
        // This code knows up to 2: the database (at 3) is newer.
        const tooNew = yield* Effect.flip(Migrations.migrate(sql, "notes", [step(1), step(2)]))
        assert.strictEqual(tooNew._tag, "SchemaTooNew")
        assert.deepStrictEqual([tooNew.component, (tooNew as Migrations.SchemaTooNew).found, (tooNew as Migrations.SchemaTooNew).known], ["notes", 3, 2])
        assert.include(tooNew.message, "schema version 3")
        assert.include(tooNew.message, "versions up to 2")
        assert.strictEqual((yield* Migrations.versions(sql)).get("notes"), 3)
      }).pipe(Effect.provide(SqliteClient.layer({ filename })))
    }))

  it.live("the durable layer on a database written by a newer Troupe fails with SchemaTooNew naming both versions", () =>
    Effect.gen(function*() {
      const filename = fresh()
      yield* Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        yield* Migrations.migrate(sql, "runs", SqlRunStore.migrations)
        yield* sql`UPDATE troupe_schema_versions SET version = 99 WHERE component = 'runs'`
      }).pipe(Effect.provide(SqliteClient.layer({ filename })))
      const exit = yield* Effect.exit(Effect.provide(Effect.void, Durable.layer({ filename })))
      assert.isTrue(Exit.isFailure(exit))
      const error = Exit.isFailure(exit) ? exit.cause.reasons.find((r) => r._tag === "Fail") : undefined
      const value = (error as { error?: { _tag: string; message: string } } | undefined)?.error
      assert.strictEqual(value?._tag, "SchemaTooNew")
      assert.include(value?.message, "runs tables are at schema version 99")
      assert.include(value?.message, `versions up to ${SqlRunStore.migrations.length}`)
    }))
})
