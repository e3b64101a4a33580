/**
 * SqlRunStore: the `RunStore` on SQL, in the same database as the durable journal.
 *
 * Tables (created or migrated at startup: component `runs` of `Migrations`) and queries are dialect-neutral (TEXT, INTEGER, BIGINT,
 * DOUBLE PRECISION, `INSERT ... ON CONFLICT DO UPDATE`), so the same code runs on SQLite (`SqliteClient`)
 * and on PostgreSQL:
 *
 * - `troupe_runs`: one row per run (record, plan, input, version, the task shape for version checks);
 * - `troupe_run_events`: the run's events in order (JSON, encoded with the `RunEvent` schema);
 * - `troupe_run_outputs`: by task path, the output as JSON (history) and the journal entry (replay checks);
 * - `troupe_run_errors`: failed task executions;
 * - `troupe_task_stats`: duration statistics per workflow and task path (learned estimates).
 *
 * A row that does not read back (damaged, or written by incompatible code) fails the call with
 * `CorruptRecord` naming the table and the row; nothing is rewritten or deleted.
 *
 * @since 0.1.0
 */
import { Clock, Context, Duration, Effect, Layer, Schema } from "effect"
import { SqlClient } from "effect/sql"
import type { SqlError } from "effect/sql/SqlError"
import { type Plan, RunEvent, RunStore } from "@troupe/core"
import { safeStringify } from "./internal/json.ts"
import * as Migrations from "./Migrations.ts"

// -----------------------------------------------------------------------------
// Schema (DDL)
// -----------------------------------------------------------------------------

/** Version 1: the first layout (troupe_run_outputs kept the journal entry in `value`). */
const layout1: ReadonlyArray<string> = [
  `CREATE TABLE IF NOT EXISTS troupe_runs (
    run_id TEXT PRIMARY KEY,
    workflow TEXT NOT NULL,
    version TEXT NOT NULL,
    status TEXT NOT NULL,
    durable INTEGER NOT NULL,
    input TEXT,
    plan TEXT NOT NULL,
    shape TEXT,
    generation INTEGER NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    finished_at BIGINT,
    duration_ms DOUBLE PRECISION,
    error TEXT,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    tasks_total INTEGER NOT NULL,
    tasks_completed INTEGER NOT NULL DEFAULT 0,
    tasks_failed INTEGER NOT NULL DEFAULT 0,
    event_count INTEGER NOT NULL DEFAULT 0
  )`,
  `CREATE INDEX IF NOT EXISTS troupe_runs_by_workflow ON troupe_runs (workflow, created_at)`,
  `CREATE INDEX IF NOT EXISTS troupe_runs_by_status ON troupe_runs (status, created_at)`,
  `CREATE TABLE IF NOT EXISTS troupe_run_events (
    run_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    tag TEXT NOT NULL,
    at BIGINT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
  )`,
  `CREATE TABLE IF NOT EXISTS troupe_run_outputs (
    run_id TEXT NOT NULL,
    path TEXT NOT NULL,
    value TEXT,
    PRIMARY KEY (run_id, path)
  )`,
  `CREATE TABLE IF NOT EXISTS troupe_run_errors (
    run_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    path TEXT NOT NULL,
    message TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    at BIGINT NOT NULL,
    PRIMARY KEY (run_id, seq)
  )`,
  `CREATE TABLE IF NOT EXISTS troupe_task_stats (
    workflow TEXT NOT NULL,
    path TEXT NOT NULL,
    count INTEGER NOT NULL,
    failures INTEGER NOT NULL,
    mean_ms DOUBLE PRECISION NOT NULL,
    min_ms DOUBLE PRECISION NOT NULL,
    max_ms DOUBLE PRECISION NOT NULL,
    last_ms DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (workflow, path)
  )`
]

/**
 * Version 2: `troupe_run_outputs.journal` holds the journal entry beside the history value. Rows of durable
 * runs written by version 1 kept the journal entry (`o{"v":...}` or `e{...}`) in `value`: it moves to
 * `journal`, and `value` becomes the output's JSON (none for a failure).
 */
const journalColumn = (sql: SqlClient.SqlClient) =>
  Effect.gen(function*() {
    yield* Migrations.addColumn(sql, "troupe_run_outputs", "journal", "TEXT")
    const legacy = yield* sql<{ run_id: string; path: string; value: string }>`SELECT run_id, path, value
      FROM troupe_run_outputs WHERE journal IS NULL AND value IS NOT NULL
      AND run_id IN (SELECT run_id FROM troupe_runs WHERE durable = 1)`
    for (const row of legacy) {
      const kind = row.value.charAt(0)
      if (kind !== "o" && kind !== "e") continue
      let value: string | null = null
      if (kind === "o") {
        try {
          value = safeStringify((JSON.parse(row.value.slice(1)) as { v?: unknown }).v ?? null)
        } catch {
          continue // not a journal entry after all: left as it is
        }
      }
      yield* sql`UPDATE troupe_run_outputs SET journal = ${row.value}, value = ${value}
        WHERE run_id = ${row.run_id} AND path = ${row.path}`
    }
  })

/**
 * The run store's schema versions, oldest first (see `Migrations`).
 *
 * @category models
 * @since 0.1.0
 */
export const migrations: ReadonlyArray<Migrations.Migration> = [
  { version: 1, description: "runs, events, outputs, errors, task statistics", up: Migrations.statements(layout1) },
  { version: 2, description: "troupe_run_outputs.journal beside the history value", up: journalColumn }
]

// -----------------------------------------------------------------------------
// Models
// -----------------------------------------------------------------------------

/**
 * What the durable runtime keeps beside the RunStore record of a run.
 *
 * @category models
 * @since 0.1.0
 */
export interface DurableRow {
  /** Task paths to their shape when the run started (type and dependencies), for version checks. */
  readonly shape: Readonly<Record<string, { readonly type: string; readonly deps: ReadonlyArray<string> }>> | undefined
  /** Bumped by a restart: the journal of earlier generations is left alone, a new execution starts. */
  readonly generation: number
  /** The stored input, as the JSON text it was registered with. */
  readonly inputText: string | undefined
}

/**
 * The SQL store: the `RunStore` service plus what the durable runtime needs.
 *
 * @category models
 * @since 0.1.0
 */
export interface SqlRunStoreShape extends RunStore.RunStoreShape {
  /** Registers a run with its durable data; an existing run is returned as is. */
  readonly registerDurable: (
    run: RunStore.NewRun & { readonly shape: DurableRow["shape"]; readonly inputText: string }
  ) => Effect.Effect<{ readonly record: RunStore.RunRecord; readonly created: boolean }, RunStore.StoreError>
  readonly durableRow: (runId: string) => Effect.Effect<DurableRow, RunStore.RunNotFound | RunStore.StoreError>
  /** Journaled outputs (encoded JSON text) of a run, by path. */
  readonly journaledOutputs: (runId: string) => Effect.Effect<ReadonlyMap<string, string>, RunStore.StoreError>
  /** Appends events and journaled outputs in one transaction. */
  readonly appendAll: (
    runId: string,
    events: ReadonlyArray<RunEvent.RunEvent>,
    outputs: ReadonlyArray<readonly [path: string, text: string]>
  ) => Effect.Effect<void, RunStore.RunNotFound | RunStore.StoreError>
  /** Starts a new generation of a run (restart): status pending, events and outputs kept. */
  readonly restart: (
    runId: string,
    options: { readonly shape: DurableRow["shape"]; readonly version: string; readonly plan: Plan.Plan }
  ) => Effect.Effect<number, RunStore.RunNotFound | RunStore.StoreError>
}

/**
 * @category services
 * @since 0.1.0
 */
export class SqlRunStore extends Context.Service<SqlRunStore, SqlRunStoreShape>()("@troupe/durable/SqlRunStore") {}

// -----------------------------------------------------------------------------
// Rows
// -----------------------------------------------------------------------------

interface RunRow {
  readonly run_id: string
  readonly workflow: string
  readonly version: string
  readonly status: string
  readonly durable: number
  readonly input: string | null
  readonly created_at: number
  readonly updated_at: number
  readonly finished_at: number | null
  readonly duration_ms: number | null
  readonly error: string | null
  readonly cancel_requested: number
  readonly tasks_total: number
  readonly tasks_completed: number
  readonly tasks_failed: number
  readonly event_count: number
}

/** A row of `troupe_task_stats` (SQLite may hand numbers back as bigints or strings). */
interface StatsRow {
  readonly count: number
  readonly failures: number
  readonly mean_ms: number
  readonly min_ms: number
  readonly max_ms: number
  readonly last_ms: number
}

const toStats = (path: string, row: StatsRow): RunStore.TaskStats => ({
  path,
  count: Number(row.count),
  failures: Number(row.failures),
  meanMs: Number(row.mean_ms),
  minMs: Number(row.min_ms),
  maxMs: Number(row.max_ms),
  lastMs: Number(row.last_ms)
})

const statuses: ReadonlySet<string> = new Set(["pending", "running", "completed", "failed", "cancelled"])

const parse = (table: string, key: string, text: string | null): Effect.Effect<unknown, RunStore.CorruptRecord> =>
  Effect.try({
    try: () => (text === null ? undefined : JSON.parse(text)),
    catch: (cause) => new RunStore.CorruptRecord({ table, key, detail: `not JSON: ${String((cause as Error).message)}` })
  })

const toRecord = (row: RunRow): Effect.Effect<RunStore.RunRecord, RunStore.CorruptRecord> =>
  Effect.gen(function*() {
    if (!statuses.has(row.status)) {
      return yield* new RunStore.CorruptRecord({
        table: "troupe_runs",
        key: `run ${row.run_id}, column status`,
        detail: `unknown status "${row.status}"`
      })
    }
    const input = yield* parse("troupe_runs", `run ${row.run_id}, column input`, row.input)
    return {
      runId: row.run_id,
      workflow: row.workflow,
      version: row.version,
      status: row.status as RunStore.RunStatus,
      durable: Number(row.durable) === 1,
      input,
      createdAt: Number(row.created_at),
      updatedAt: Number(row.updated_at),
      finishedAt: row.finished_at === null ? undefined : Number(row.finished_at),
      durationMs: row.duration_ms === null ? undefined : Number(row.duration_ms),
      error: row.error ?? undefined,
      cancelRequested: Number(row.cancel_requested) === 1,
      tasks: { total: Number(row.tasks_total), completed: Number(row.tasks_completed), failed: Number(row.tasks_failed) }
    }
  })

const eventJson = Schema.toCodecJson(RunEvent.RunEvent)
const encodeEvent = Schema.encodeUnknownSync(eventJson)
const decodeEvent = Schema.decodeUnknownEffect(eventJson)

const eventText = (event: RunEvent.RunEvent): string => {
  try {
    return safeStringify(encodeEvent(event))
  } catch {
    // An event whose payload the schema cannot encode is kept as plain JSON (history, not replay).
    return safeStringify(event)
  }
}

const storeError = (operation: string) => (error: SqlError) =>
  new RunStore.RunStoreError({ operation, detail: error.message })

// -----------------------------------------------------------------------------
// Constructors
// -----------------------------------------------------------------------------

/**
 * Creates or migrates the tables (failing with `SchemaTooNew` on a database written by a newer Troupe) and
 * builds the store.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* Migrations.migrate(sql, "runs", migrations)

  const now = Clock.currentTimeMillis

  const find = (runId: string): Effect.Effect<RunStore.RunRecord, RunStore.RunNotFound | RunStore.StoreError> =>
    Effect.flatMap(
      sql<RunRow>`SELECT * FROM troupe_runs WHERE run_id = ${runId}`.pipe(Effect.mapError(storeError("read run"))),
      (rows): Effect.Effect<RunStore.RunRecord, RunStore.RunNotFound | RunStore.StoreError> =>
        rows.length === 0 ? Effect.fail(new RunStore.RunNotFound({ runId })) : toRecord(rows[0]!)
    )

  const exists = (runId: string) =>
    Effect.map(
      sql<{ n: number }>`SELECT count(*) AS n FROM troupe_runs WHERE run_id = ${runId}`.pipe(
        Effect.mapError(storeError("read run"))
      ),
      (rows) => Number(rows[0]?.n ?? 0) > 0
    )

  const mustExist = (runId: string) =>
    Effect.flatMap(exists(runId), (ok) => ok ? Effect.void : Effect.fail(new RunStore.RunNotFound({ runId })))

  const registerDurable: SqlRunStoreShape["registerDurable"] = (run) =>
    Effect.gen(function*() {
      const at = yield* now
      const inserted = yield* sql`INSERT INTO troupe_runs
        (run_id, workflow, version, status, durable, input, plan, shape, generation, created_at, updated_at,
         cancel_requested, tasks_total, tasks_completed, tasks_failed, event_count)
        VALUES (${run.runId}, ${run.workflow}, ${run.version ?? ""}, ${"pending"}, ${run.durable === true ? 1 : 0},
         ${run.inputText === "" ? null : run.inputText}, ${safeStringify(run.plan)}, ${run.shape === undefined ? null : JSON.stringify(run.shape)},
         ${0}, ${at}, ${at}, ${0}, ${run.plan.nodes.length}, ${0}, ${0}, ${0})
        ON CONFLICT (run_id) DO NOTHING`.raw.pipe(Effect.mapError(storeError("register run")))
      const created = Number((inserted as { changes?: number | bigint } | undefined)?.changes ?? 1) > 0
      return { record: yield* find(run.runId).pipe(Effect.catchTag("RunNotFound", Effect.die)), created }
    })

  const appendAll: SqlRunStoreShape["appendAll"] = (runId, events, outputs) =>
    Effect.gen(function*() {
      const rows = yield* sql<RunRow>`SELECT * FROM troupe_runs WHERE run_id = ${runId}`.pipe(
        Effect.mapError(storeError("append events"))
      )
      if (rows.length === 0) return yield* new RunStore.RunNotFound({ runId })
      const row = rows[0]!
      const at = yield* now
      let seq = Number(row.event_count)
      let status = row.status
      let finishedAt = row.finished_at
      let durationMs = row.duration_ms
      let error = row.error
      let completed = Number(row.tasks_completed)
      let failed = Number(row.tasks_failed)
      const stats = new Map<string, { ms: number; failed: boolean }[]>()
      for (const event of events) {
        yield* sql`INSERT INTO troupe_run_events (run_id, seq, tag, at, body)
          VALUES (${runId}, ${seq}, ${event._tag}, ${Math.round(event.at)}, ${eventText(event)})`
        seq++
        const e = RunStore.effectOf(event)
        if (e.status !== undefined) {
          status = e.status
          finishedAt = e.finishedAt ?? finishedAt
          durationMs = e.durationMs ?? durationMs
          error = e.error ?? error
        }
        if (e.output !== undefined) {
          const value = safeStringify(e.output.value)
          yield* sql`INSERT INTO troupe_run_outputs (run_id, path, value) VALUES (${runId}, ${e.output.taskId}, ${value})
            ON CONFLICT (run_id, path) DO UPDATE SET value = ${value}`
        }
        if (e.taskError !== undefined) {
          yield* sql`INSERT INTO troupe_run_errors (run_id, seq, path, message, attempts, at)
            VALUES (${runId}, ${seq - 1}, ${e.taskError.path}, ${e.taskError.message}, ${e.taskError.attempts},
              ${Math.round(e.taskError.at)})`
        }
        if (e.counted === "completed") completed++
        if (e.counted === "failed") failed++
        if (e.sample !== undefined) {
          const list = stats.get(e.sample.path) ?? []
          list.push({ ms: e.sample.ms, failed: e.sample.failed })
          stats.set(e.sample.path, list)
        }
      }
      for (const [path, text] of outputs) {
        yield* sql`INSERT INTO troupe_run_outputs (run_id, path, journal) VALUES (${runId}, ${path}, ${text})
          ON CONFLICT (run_id, path) DO UPDATE SET journal = ${text}`
      }
      for (const [path, samples] of stats) {
        const existing = yield* sql<StatsRow>`SELECT count, failures, mean_ms, min_ms, max_ms, last_ms FROM troupe_task_stats
          WHERE workflow = ${row.workflow} AND path = ${path}`
        let s: RunStore.TaskStats | undefined = existing.length === 0 ? undefined : toStats(path, existing[0]!)
        for (const sample of samples) s = RunStore.addSample(s, path, sample.ms, sample.failed)
        const v = s!
        yield* sql`INSERT INTO troupe_task_stats (workflow, path, count, failures, mean_ms, min_ms, max_ms, last_ms)
          VALUES (${row.workflow}, ${path}, ${v.count}, ${v.failures}, ${v.meanMs}, ${v.minMs}, ${v.maxMs}, ${v.lastMs})
          ON CONFLICT (workflow, path) DO UPDATE SET count = ${v.count}, failures = ${v.failures},
            mean_ms = ${v.meanMs}, min_ms = ${v.minMs}, max_ms = ${v.maxMs}, last_ms = ${v.lastMs}`
      }
      yield* sql`UPDATE troupe_runs SET status = ${status}, finished_at = ${finishedAt}, duration_ms = ${durationMs},
        error = ${error}, tasks_completed = ${completed}, tasks_failed = ${failed}, event_count = ${seq},
        updated_at = ${at} WHERE run_id = ${runId}`
    }).pipe(
      sql.withTransaction,
      Effect.catchTag("SqlError", (e) => Effect.fail(storeError("append events")(e)))
    )

  const durableRow: SqlRunStoreShape["durableRow"] = (runId) =>
    Effect.gen(function*() {
      const rows = yield* sql<{ shape: string | null; generation: number; input: string | null }>`
        SELECT shape, generation, input FROM troupe_runs WHERE run_id = ${runId}`.pipe(
        Effect.mapError(storeError("read run"))
      )
      if (rows.length === 0) return yield* new RunStore.RunNotFound({ runId })
      const row = rows[0]!
      const shape = yield* parse("troupe_runs", `run ${runId}, column shape`, row.shape)
      return {
        shape: shape as DurableRow["shape"],
        generation: Number(row.generation),
        inputText: row.input ?? undefined
      }
    })

  const store: SqlRunStoreShape = {
    register: (run) =>
      Effect.map(
        registerDurable({ ...run, shape: undefined, inputText: run.input === undefined ? "" : safeStringify(run.input) }),
        (r) => r.record
      ),
    registerDurable,
    durableRow,
    appendAll,
    append: (runId, events) => appendAll(runId, events, []),
    journaledOutputs: (runId) =>
      Effect.map(
        sql<{ path: string; journal: string }>`SELECT path, journal FROM troupe_run_outputs
          WHERE run_id = ${runId} AND journal IS NOT NULL`.pipe(Effect.mapError(storeError("read outputs"))),
        (rows) => new Map(rows.map((r) => [r.path, r.journal]))
      ),
    list: (options = {}) =>
      Effect.gen(function*() {
        const conditions: Array<ReturnType<typeof sql.in>> = [sql`1 = 1`]
        if (options.workflow !== undefined) conditions.push(sql`workflow = ${options.workflow}`)
        if (options.status !== undefined) {
          const list: ReadonlyArray<string> = typeof options.status === "string" ? [options.status] : options.status
          conditions.push(list.length === 0 ? sql`1 = 0` : sql.in("status", [...list]))
        }
        if (options.since !== undefined) conditions.push(sql`created_at >= ${options.since}`)
        if (options.until !== undefined) conditions.push(sql`created_at < ${options.until}`)
        const rows = yield* sql<RunRow>`SELECT * FROM troupe_runs WHERE ${sql.and(conditions)}
          ORDER BY created_at DESC, run_id DESC LIMIT ${options.limit ?? 100} OFFSET ${options.offset ?? 0}`.pipe(
          Effect.mapError(storeError("list runs"))
        )
        return yield* Effect.forEach(rows, toRecord)
      }),
    get: find,
    plan: (runId) =>
      Effect.gen(function*() {
        const rows = yield* sql<{ plan: string }>`SELECT plan FROM troupe_runs WHERE run_id = ${runId}`.pipe(
          Effect.mapError(storeError("read plan"))
        )
        if (rows.length === 0) return yield* new RunStore.RunNotFound({ runId })
        return (yield* parse("troupe_runs", `run ${runId}, column plan`, rows[0]!.plan)) as Plan.Plan
      }),
    events: (runId, options) =>
      Effect.gen(function*() {
        yield* mustExist(runId)
        const rows = yield* sql<{ seq: number; body: string }>`SELECT seq, body FROM troupe_run_events
          WHERE run_id = ${runId} AND seq >= ${options?.after ?? 0} ORDER BY seq`.pipe(
          Effect.mapError(storeError("read events"))
        )
        return yield* Effect.forEach(rows, (row) =>
          Effect.flatMap(parse("troupe_run_events", `run ${runId}, event ${row.seq}`, row.body), (json) =>
            decodeEvent(json).pipe(
              Effect.mapError((e) =>
                new RunStore.CorruptRecord({
                  table: "troupe_run_events",
                  key: `run ${runId}, event ${row.seq}`,
                  detail: `not a RunEvent: ${e.message}`
                })
              )
            )))
      }),
    outputs: (runId) =>
      Effect.gen(function*() {
        yield* mustExist(runId)
        const rows = yield* sql<{ path: string; value: string }>`SELECT path, value FROM troupe_run_outputs
          WHERE run_id = ${runId} AND value IS NOT NULL`.pipe(Effect.mapError(storeError("read outputs")))
        const out: Record<string, unknown> = {}
        for (const row of rows) {
          if (row.path.includes("/") || row.path.includes("[")) continue
          out[row.path] = yield* parse("troupe_run_outputs", `run ${runId}, task ${row.path}`, row.value)
        }
        return out
      }),
    errors: (runId) =>
      Effect.gen(function*() {
        yield* mustExist(runId)
        const rows = yield* sql<{ path: string; message: string; attempts: number; at: number }>`
          SELECT path, message, attempts, at FROM troupe_run_errors WHERE run_id = ${runId} ORDER BY seq`.pipe(
          Effect.mapError(storeError("read errors"))
        )
        return rows.map((r) => ({ path: r.path, message: r.message, attempts: Number(r.attempts), at: Number(r.at) }))
      }),
    cancel: (runId) =>
      Effect.gen(function*() {
        const record = yield* find(runId)
        if (RunStore.isFinishedStatus(record.status)) return record
        const at = yield* now
        if (record.status === "pending") {
          yield* sql`UPDATE troupe_runs SET status = ${"cancelled"}, cancel_requested = ${1}, finished_at = ${at},
            updated_at = ${at} WHERE run_id = ${runId}`.pipe(Effect.mapError(storeError("cancel run")))
        } else {
          yield* sql`UPDATE troupe_runs SET cancel_requested = ${1}, updated_at = ${at} WHERE run_id = ${runId}`.pipe(
            Effect.mapError(storeError("cancel run"))
          )
        }
        return yield* find(runId)
      }),
    delete: (runId) =>
      Effect.gen(function*() {
        const present = yield* exists(runId)
        if (!present) return false
        yield* Effect.gen(function*() {
          yield* sql`DELETE FROM troupe_run_events WHERE run_id = ${runId}`
          yield* sql`DELETE FROM troupe_run_outputs WHERE run_id = ${runId}`
          yield* sql`DELETE FROM troupe_run_errors WHERE run_id = ${runId}`
          yield* sql`DELETE FROM troupe_runs WHERE run_id = ${runId}`
        }).pipe(sql.withTransaction, Effect.mapError(storeError("delete run")))
        return true
      }),
    prune: ({ olderThan, workflow }) =>
      Effect.gen(function*() {
        const cutoff = (yield* now) - Duration.toMillis(Duration.fromInputUnsafe(olderThan))
        const conditions: Array<ReturnType<typeof sql.in>> = [
          sql.in("status", ["completed", "failed", "cancelled"]),
          sql`COALESCE(finished_at, updated_at) < ${cutoff}`
        ]
        if (workflow !== undefined) conditions.push(sql`workflow = ${workflow}`)
        const rows = yield* sql<{ run_id: string }>`SELECT run_id FROM troupe_runs WHERE ${sql.and(conditions)}`.pipe(
          Effect.mapError(storeError("prune runs"))
        )
        for (const { run_id } of rows) yield* store.delete(run_id)
        return rows.length
      }),
    durations: (workflow) =>
      Effect.map(
        sql<StatsRow & { readonly path: string }>`SELECT * FROM troupe_task_stats WHERE workflow = ${workflow}`.pipe(
          Effect.mapError(storeError("read statistics"))
        ),
        (rows) => new Map(rows.map((r) => [r.path, toStats(r.path, r)]))
      ),
    setStatus: (runId, status, error) =>
      Effect.gen(function*() {
        yield* mustExist(runId)
        const at = yield* now
        const finished = RunStore.isFinishedStatus(status)
        yield* sql`UPDATE troupe_runs SET status = ${status}, updated_at = ${at},
          finished_at = ${finished ? sql`COALESCE(finished_at, ${at})` : sql`finished_at`},
          error = ${error === undefined ? sql`error` : error} WHERE run_id = ${runId}`.pipe(
          Effect.mapError(storeError("set status"))
        )
      }),
    restart: (runId, { plan, shape, version }) =>
      Effect.gen(function*() {
        const row = yield* durableRow(runId)
        const at = yield* now
        const generation = row.generation + 1
        yield* Effect.gen(function*() {
          yield* sql`DELETE FROM troupe_run_outputs WHERE run_id = ${runId}`
          yield* sql`UPDATE troupe_runs SET generation = ${generation}, status = ${"pending"}, finished_at = ${null},
            duration_ms = ${null}, error = ${null}, cancel_requested = ${0}, tasks_completed = ${0}, tasks_failed = ${0},
            shape = ${shape === undefined ? null : JSON.stringify(shape)}, version = ${version},
            plan = ${safeStringify(plan)}, tasks_total = ${plan.nodes.length}, updated_at = ${at}
            WHERE run_id = ${runId}`
        }).pipe(sql.withTransaction, Effect.mapError(storeError("restart run")))
        return generation
      })
  }
  return store
})

// -----------------------------------------------------------------------------
// Layers
// -----------------------------------------------------------------------------

/**
 * The store as both `SqlRunStore` and core's `RunStore`, over the `SqlClient` in context.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer: Layer.Layer<
  SqlRunStore | RunStore.RunStore,
  RunStore.StoreError | Migrations.MigrationError,
  SqlClient.SqlClient
> = Layer
  .effectContext(
    Effect.map(make, (store) => Context.make(SqlRunStore, store).pipe(Context.add(RunStore.RunStore, store)))
  )
