/**
 * SqlRunStore: the `RunStore` on SQL, in the same database as the durable journal.
 *
 * Tables (created or migrated at startup: component `runs` of `Migrations`) and queries are dialect-neutral (TEXT, INTEGER, BIGINT,
 * DOUBLE PRECISION, `INSERT ... ON CONFLICT DO UPDATE`), so the same code runs on SQLite (`SqliteClient`)
 * and on PostgreSQL:
 *
 * - `troupe_runs`: one row per run (record, input, version, the id of its plan);
 * - `troupe_plans`: each distinct plan once, with the task shape for version checks;
 * - `troupe_run_events`: the run's events in order, one row per appended batch (JSON, encoded with the
 *   `RunEvent` schema, without the fields the row holds);
 * - `troupe_run_outputs`: by task path, the output as JSON (history) and the journal entry (replay checks);
 * - `troupe_run_errors`: failed task executions;
 * - `troupe_task_stats`: duration statistics per workflow and task path (learned estimates).
 *
 * A row that does not read back (damaged, or written by incompatible code) fails the call with
 * `CorruptRecord` naming the table and the row; nothing is rewritten or deleted.
 *
 * @since 0.1.0
 */
import { createHash } from "node:crypto"
import { Cause, Clock, Context, Duration, Effect, Layer, Schema } from "effect"
import { SqlClient } from "effect/sql"
import type { SqlError } from "effect/sql/SqlError"
import { Engine, type Plan, RunEvent, RunStore } from "@troupe/core"
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
 * Version 3: smaller history. Events are stored in batches (one row per append: `count` events from `seq`,
 * each without the fields the row already holds), and plans are stored once per distinct plan
 * (`troupe_plans`, referenced by `troupe_runs.plan_id`) instead of once per run. Rows written before keep
 * their form and read as before.
 */
const compactHistory = (sql: SqlClient.SqlClient) =>
  Effect.gen(function*() {
    yield* Migrations.addColumn(sql, "troupe_run_events", "count", "INTEGER NOT NULL DEFAULT 1")
    yield* Migrations.addColumn(sql, "troupe_runs", "plan_id", "TEXT")
    yield* sql.unsafe(`CREATE TABLE IF NOT EXISTS troupe_plans (
      plan_id TEXT PRIMARY KEY,
      plan TEXT NOT NULL,
      shape TEXT
    )`)
  })

/**
 * The run store's schema versions, oldest first (see `Migrations`).
 *
 * @category models
 * @since 0.1.0
 */
export const migrations: ReadonlyArray<Migrations.Migration> = [
  { version: 1, description: "runs, events, outputs, errors, task statistics", up: Migrations.statements(layout1) },
  { version: 2, description: "troupe_run_outputs.journal beside the history value", up: journalColumn },
  { version: 3, description: "events stored in batches, plans stored once (troupe_plans)", up: compactHistory }
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

const storeError = (operation: string) => (error: SqlError) =>
  new RunStore.RunStoreError({ operation, detail: error.message })

// -----------------------------------------------------------------------------
// Events: how they are stored
// -----------------------------------------------------------------------------

const eventJson = Schema.toCodecJson(RunEvent.RunEvent)
const encodeEvent = Schema.encodeUnknownSync(eventJson)
const decodeEvent = Schema.decodeUnknownEffect(eventJson)

/**
 * One stored event: `[tag, at - the row's at, fields]`, the fields without `_tag`, `at`, and `runId` when it
 * is the row's. An event whose payload the schema cannot encode is kept as plain JSON (history, not replay).
 */
const compactEvent = (runId: string, base: number, event: RunEvent.RunEvent): unknown => {
  let json: Record<string, unknown>
  try {
    json = encodeEvent(event) as Record<string, unknown>
  } catch {
    json = encodeWithPlainCause(event)
  }
  const { _tag, at, runId: own, ...fields } = json
  return [_tag, (at as number) - base, own === runId ? fields : { ...fields, runId: own }]
}

/**
 * An event whose cause holds values the schema cannot encode (a class instance, a replayed failure): the
 * cause is kept as its error's JSON form (or, for a defect, its description), so the event still reads back.
 */
const encodeWithPlainCause = (event: RunEvent.RunEvent): Record<string, unknown> => {
  const cause = (event as { readonly cause?: unknown }).cause
  if (Cause.isCause(cause)) {
    const error = Cause.findErrorOption(cause)
    const plain = error._tag === "Some"
      ? Cause.fail(JSON.parse(safeStringify(error.value)) as unknown)
      : Cause.die(Engine.describeCause(cause))
    try {
      return encodeEvent({ ...event, cause: plain } as RunEvent.RunEvent) as Record<string, unknown>
    } catch {
      // fall through to plain JSON
    }
  }
  return JSON.parse(safeStringify(event)) as Record<string, unknown>
}

/** A batch row's text: the compact events as one JSON array. */
const batchText = (runId: string, base: number, events: ReadonlyArray<RunEvent.RunEvent>): string =>
  safeStringify(events.map((event) => compactEvent(runId, base, event)))

/**
 * The events of one row, in order: a batch (`[...]`, version 3) or a single full event (`{...}`, before).
 */
const eventsOfRow = (
  runId: string,
  row: { readonly seq: number; readonly at: number; readonly body: string }
): Effect.Effect<ReadonlyArray<RunEvent.RunEvent>, RunStore.CorruptRecord> =>
  Effect.gen(function*() {
    const seq = Number(row.seq)
    const base = Number(row.at)
    const json = yield* parse("troupe_run_events", `run ${runId}, event ${seq}`, row.body)
    const items: ReadonlyArray<unknown> = Array.isArray(json)
      ? json.map((item) => {
        const [tag, at, fields] = Array.isArray(item) ? item : [undefined, undefined, undefined]
        return { runId, ...(fields as object), _tag: tag, at: typeof at === "number" ? base + at : at }
      })
      : [json]
    return yield* Effect.forEach(items, (item, i) =>
      decodeEvent(item).pipe(
        Effect.mapError((e) =>
          new RunStore.CorruptRecord({
            table: "troupe_run_events",
            key: `run ${runId}, event ${seq + i}`,
            detail: `not a RunEvent: ${e.message}`
          })
        )
      ))
  })

// -----------------------------------------------------------------------------
// Plans: stored once per distinct plan
// -----------------------------------------------------------------------------

const planIdOf = (planText: string, shapeText: string | null): string =>
  createHash("sha256").update(planText).update("\u0000").update(shapeText ?? "").digest("hex").slice(0, 32)

/** Stores a plan (and shape) unless an identical one is stored; its id. */
const storePlan = (sql: SqlClient.SqlClient, plan: Plan.Plan, shape: DurableRow["shape"]) =>
  Effect.suspend(() => {
    const planText = safeStringify(plan)
    const shapeText = shape === undefined ? null : JSON.stringify(shape)
    const planId = planIdOf(planText, shapeText)
    return sql`INSERT INTO troupe_plans (plan_id, plan, shape) VALUES (${planId}, ${planText}, ${shapeText})
      ON CONFLICT (plan_id) DO NOTHING`.pipe(Effect.as(planId))
  })

/** A run's plan and shape texts, from `troupe_plans` or (rows written before version 3) the run's row. */
const planTexts = (sql: SqlClient.SqlClient, runId: string) =>
  Effect.map(
    sql<{ plan: string; shape: string | null; shared_plan: string | null; shared_shape: string | null }>`
      SELECT r.plan, r.shape, p.plan AS shared_plan, p.shape AS shared_shape
      FROM troupe_runs r LEFT JOIN troupe_plans p ON p.plan_id = r.plan_id WHERE r.run_id = ${runId}`,
    (rows) =>
      rows.length === 0
        ? undefined
        : { plan: rows[0]!.shared_plan ?? rows[0]!.plan, shape: rows[0]!.shared_plan === null ? rows[0]!.shape : rows[0]!.shared_shape }
  )

// -----------------------------------------------------------------------------
// Appending: one transaction per batch
// -----------------------------------------------------------------------------

/** What a batch of events changes in a run's row, and the rows it adds. */
interface Folded {
  status: string
  finishedAt: number | null
  durationMs: number | null
  error: string | null
  completed: number
  failed: number
  readonly outputs: Map<string, { value?: string; journal?: string }>
  readonly errors: Array<{ readonly seq: number; readonly error: NonNullable<RunStore.EventEffect["taskError"]> }>
  readonly samples: Array<NonNullable<RunStore.EventEffect["sample"]>>
}

const fold = (
  row: RunRow,
  events: ReadonlyArray<RunEvent.RunEvent>,
  journal: ReadonlyArray<readonly [string, string]>
): Folded => {
  const folded: Folded = {
    status: row.status,
    finishedAt: row.finished_at,
    durationMs: row.duration_ms,
    error: row.error,
    completed: Number(row.tasks_completed),
    failed: Number(row.tasks_failed),
    outputs: new Map(),
    errors: [],
    samples: []
  }
  const output = (path: string) => {
    let entry = folded.outputs.get(path)
    if (entry === undefined) folded.outputs.set(path, entry = {})
    return entry
  }
  let seq = Number(row.event_count)
  for (const event of events) {
    const e = RunStore.effectOf(event)
    if (e.status !== undefined) {
      folded.status = e.status
      folded.finishedAt = e.finishedAt ?? folded.finishedAt
      folded.durationMs = e.durationMs ?? folded.durationMs
      folded.error = e.error ?? folded.error
    }
    if (e.output !== undefined) output(e.output.taskId).value = safeStringify(e.output.value)
    if (e.taskError !== undefined) folded.errors.push({ seq, error: e.taskError })
    if (e.counted === "completed") folded.completed++
    if (e.counted === "failed") folded.failed++
    if (e.sample !== undefined) folded.samples.push(e.sample)
    seq++
  }
  for (const [path, text] of journal) output(path).journal = text
  return folded
}

/** Folds one duration sample into `troupe_task_stats` in SQL (as `RunStore.addSample` does). */
const addSample = (sql: SqlClient.SqlClient, workflow: string, sample: NonNullable<RunStore.EventEffect["sample"]>) =>
  sample.failed
    ? sql`INSERT INTO troupe_task_stats (workflow, path, count, failures, mean_ms, min_ms, max_ms, last_ms)
        VALUES (${workflow}, ${sample.path}, ${0}, ${1}, ${0}, ${0}, ${0}, ${0})
        ON CONFLICT (workflow, path) DO UPDATE SET failures = troupe_task_stats.failures + 1`
    : sql`INSERT INTO troupe_task_stats (workflow, path, count, failures, mean_ms, min_ms, max_ms, last_ms)
        VALUES (${workflow}, ${sample.path}, ${1}, ${0}, ${sample.ms}, ${sample.ms}, ${sample.ms}, ${sample.ms})
        ${successUpdate(sql)}`

/** How one successful sample (the `excluded` row) folds into a stored row. */
const successUpdate = (sql: SqlClient.SqlClient) =>
  sql.literal(`ON CONFLICT (workflow, path) DO UPDATE SET
    count = troupe_task_stats.count + 1,
    mean_ms = CASE WHEN troupe_task_stats.count = 0 THEN excluded.mean_ms
      ELSE troupe_task_stats.mean_ms + (excluded.mean_ms - troupe_task_stats.mean_ms) / (troupe_task_stats.count + 1) END,
    min_ms = CASE WHEN troupe_task_stats.count = 0 OR excluded.min_ms < troupe_task_stats.min_ms
      THEN excluded.min_ms ELSE troupe_task_stats.min_ms END,
    max_ms = CASE WHEN troupe_task_stats.count = 0 OR excluded.max_ms > troupe_task_stats.max_ms
      THEN excluded.max_ms ELSE troupe_task_stats.max_ms END,
    last_ms = excluded.last_ms`)

/** Rows in statements of at most 100 (a bounded number of statement texts to prepare). */
const chunks = <A>(rows: ReadonlyArray<A>): Array<readonly [A, ...Array<A>]> => {
  const out: Array<readonly [A, ...Array<A>]> = []
  for (let i = 0; i < rows.length; i += 100) out.push(rows.slice(i, i + 100) as unknown as readonly [A, ...Array<A>])
  return out
}

/**
 * Folds a batch's duration samples into `troupe_task_stats`: the paths with one successful sample in one
 * statement, the others (failures, several samples of a path) one sample at a time, in order.
 */
const addSamples = (
  sql: SqlClient.SqlClient,
  workflow: string,
  samples: ReadonlyArray<NonNullable<RunStore.EventEffect["sample"]>>
) =>
  Effect.gen(function*() {
    const byPath = new Map<string, Array<NonNullable<RunStore.EventEffect["sample"]>>>()
    for (const sample of samples) {
      const list = byPath.get(sample.path)
      if (list === undefined) byPath.set(sample.path, [sample])
      else list.push(sample)
    }
    const single: Array<Record<string, string | number>> = []
    for (const [path, list] of byPath) {
      const ms = list[0]!.ms
      if (list.length === 1 && !list[0]!.failed) {
        single.push({ workflow, path, count: 1, failures: 0, mean_ms: ms, min_ms: ms, max_ms: ms, last_ms: ms })
      } else {
        for (const sample of list) yield* addSample(sql, workflow, sample)
      }
    }
    for (const chunk of chunks(single)) {
      yield* sql`INSERT INTO troupe_task_stats ${sql.insert(chunk)} ${successUpdate(sql)}`
    }
  })

/** Writes one batch: a single events row, an upsert per output path and per sample, the run's row. */
const appendBatch = (sql: SqlClient.SqlClient, now: Effect.Effect<number>): SqlRunStoreShape["appendAll"] =>
(runId, events, journal) =>
  Effect.gen(function*() {
    const rows = yield* sql<RunRow>`SELECT * FROM troupe_runs WHERE run_id = ${runId}`
    if (rows.length === 0) return yield* new RunStore.RunNotFound({ runId })
    const row = rows[0]!
    const at = yield* now
    const first = Number(row.event_count)
    const f = fold(row, events, journal)
    const base = events.length === 0 ? 0 : Math.round(events[0]!.at)
    if (events.length > 0) {
      yield* sql`INSERT INTO troupe_run_events (run_id, seq, tag, at, body, count)
        VALUES (${runId}, ${first}, ${events[0]!._tag}, ${base}, ${batchText(runId, base, events)}, ${events.length})`
    }
    const outputs = Array.from(f.outputs, ([path, { journal: text, value }]) => ({
      run_id: runId,
      path,
      value: value ?? null,
      journal: text ?? null
    }))
    for (const chunk of chunks(outputs)) {
      yield* sql`INSERT INTO troupe_run_outputs ${sql.insert(chunk)}
        ON CONFLICT (run_id, path) DO UPDATE SET value = COALESCE(excluded.value, troupe_run_outputs.value),
          journal = COALESCE(excluded.journal, troupe_run_outputs.journal)`
    }
    for (const { error: e, seq } of f.errors) {
      yield* sql`INSERT INTO troupe_run_errors (run_id, seq, path, message, attempts, at)
        VALUES (${runId}, ${seq}, ${e.path}, ${e.message}, ${e.attempts}, ${Math.round(e.at)})`
    }
    yield* addSamples(sql, row.workflow, f.samples)
    yield* sql`UPDATE troupe_runs SET status = ${f.status}, finished_at = ${f.finishedAt}, duration_ms = ${f.durationMs},
      error = ${f.error}, tasks_completed = ${f.completed}, tasks_failed = ${f.failed},
      event_count = ${first + events.length}, updated_at = ${at} WHERE run_id = ${runId}`
  }).pipe(
    sql.withTransaction,
    Effect.catchTag("SqlError", (e) => Effect.fail(storeError("append events")(e)))
  )

// -----------------------------------------------------------------------------
// Constructors
// -----------------------------------------------------------------------------

type Part<K extends keyof SqlRunStoreShape> = Pick<SqlRunStoreShape, K>

/** Looking runs up. */
const lookups = (sql: SqlClient.SqlClient) => {
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
  return { find, exists, mustExist }
}

type Lookups = ReturnType<typeof lookups>

/** Registering runs and writing their history. */
const writers = (
  sql: SqlClient.SqlClient,
  { find, mustExist }: Lookups
): Part<"registerDurable" | "register" | "appendAll" | "append" | "setStatus"> => {
  const now = Clock.currentTimeMillis
  const registerDurable: SqlRunStoreShape["registerDurable"] = (run) =>
    Effect.gen(function*() {
      const at = yield* now
      const planId = yield* storePlan(sql, run.plan, run.shape)
      const inserted = yield* sql`INSERT INTO troupe_runs
        (run_id, workflow, version, status, durable, input, plan, plan_id, shape, generation, created_at, updated_at,
         cancel_requested, tasks_total, tasks_completed, tasks_failed, event_count)
        VALUES (${run.runId}, ${run.workflow}, ${run.version ?? ""}, ${"pending"}, ${run.durable === true ? 1 : 0},
         ${run.inputText === "" ? null : run.inputText}, ${""}, ${planId}, ${null},
         ${0}, ${at}, ${at}, ${0}, ${run.plan.nodes.length}, ${0}, ${0}, ${0})
        ON CONFLICT (run_id) DO NOTHING`.raw
      const created = Number((inserted as { changes?: number | bigint } | undefined)?.changes ?? 1) > 0
      return { record: yield* find(run.runId).pipe(Effect.catchTag("RunNotFound", Effect.die)), created }
    }).pipe(sql.withTransaction, Effect.catchTag("SqlError", (e) => Effect.fail(storeError("register run")(e))))
  const appendAll = appendBatch(sql, now)
  return {
    registerDurable,
    register: (run) =>
      Effect.map(
        registerDurable({ ...run, shape: undefined, inputText: run.input === undefined ? "" : safeStringify(run.input) }),
        (r) => r.record
      ),
    appendAll,
    append: (runId, events) => appendAll(runId, events, []),
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
      })
  }
}

/** Reading a run's history and the statistics. */
const readers = (
  sql: SqlClient.SqlClient,
  { find, mustExist }: Lookups
): Part<"get" | "list" | "plan" | "events" | "outputs" | "errors" | "durations" | "journaledOutputs" | "durableRow"> => ({
  get: find,
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
  plan: (runId) =>
    Effect.gen(function*() {
      const texts = yield* planTexts(sql, runId).pipe(Effect.mapError(storeError("read plan")))
      if (texts === undefined) return yield* new RunStore.RunNotFound({ runId })
      return (yield* parse("troupe_runs", `run ${runId}, column plan`, texts.plan)) as Plan.Plan
    }),
  durableRow: (runId) =>
    Effect.gen(function*() {
      const rows = yield* sql<{ generation: number; input: string | null }>`
        SELECT generation, input FROM troupe_runs WHERE run_id = ${runId}`.pipe(Effect.mapError(storeError("read run")))
      if (rows.length === 0) return yield* new RunStore.RunNotFound({ runId })
      const texts = yield* planTexts(sql, runId).pipe(Effect.mapError(storeError("read run")))
      const shape = yield* parse("troupe_runs", `run ${runId}, column shape`, texts?.shape ?? null)
      return { shape: shape as DurableRow["shape"], generation: Number(rows[0]!.generation), inputText: rows[0]!.input ?? undefined }
    }),
  events: (runId, options) =>
    Effect.gen(function*() {
      yield* mustExist(runId)
      const after = options?.after ?? 0
      const rows = yield* sql<{ seq: number; at: number; body: string }>`SELECT seq, at, body FROM troupe_run_events
        WHERE run_id = ${runId} AND seq + count > ${after} ORDER BY seq`.pipe(Effect.mapError(storeError("read events")))
      const batches = yield* Effect.forEach(rows, (row) => eventsOfRow(runId, row))
      const first = rows.length === 0 ? after : Number(rows[0]!.seq)
      return batches.flat().slice(Math.max(0, after - first))
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
  journaledOutputs: (runId) =>
    Effect.map(
      sql<{ path: string; journal: string }>`SELECT path, journal FROM troupe_run_outputs
        WHERE run_id = ${runId} AND journal IS NOT NULL`.pipe(Effect.mapError(storeError("read outputs"))),
      (rows) => new Map(rows.map((r) => [r.path, r.journal]))
    ),
  errors: (runId) =>
    Effect.gen(function*() {
      yield* mustExist(runId)
      const rows = yield* sql<{ path: string; message: string; attempts: number; at: number }>`
        SELECT path, message, attempts, at FROM troupe_run_errors WHERE run_id = ${runId} ORDER BY seq`.pipe(
        Effect.mapError(storeError("read errors"))
      )
      return rows.map((r) => ({ path: r.path, message: r.message, attempts: Number(r.attempts), at: Number(r.at) }))
    }),
  durations: (workflow) =>
    Effect.map(
      sql<StatsRow & { readonly path: string }>`SELECT * FROM troupe_task_stats WHERE workflow = ${workflow}`.pipe(
        Effect.mapError(storeError("read statistics"))
      ),
      (rows) => new Map(rows.map((r) => [r.path, toStats(r.path, r)]))
    )
})

/** Cancelling, restarting, deleting and pruning runs. */
const lifecycle = (
  sql: SqlClient.SqlClient,
  { exists, find }: Lookups,
  durableRow: SqlRunStoreShape["durableRow"]
): Part<"cancel" | "delete" | "prune" | "restart"> => {
  const now = Clock.currentTimeMillis
  const remove: SqlRunStoreShape["delete"] = (runId) =>
    Effect.gen(function*() {
      if (!(yield* exists(runId))) return false
      yield* Effect.gen(function*() {
        yield* sql`DELETE FROM troupe_run_events WHERE run_id = ${runId}`
        yield* sql`DELETE FROM troupe_run_outputs WHERE run_id = ${runId}`
        yield* sql`DELETE FROM troupe_run_errors WHERE run_id = ${runId}`
        yield* sql`DELETE FROM troupe_runs WHERE run_id = ${runId}`
      }).pipe(sql.withTransaction, Effect.mapError(storeError("delete run")))
      return true
    })
  return {
    cancel: (runId) =>
      Effect.gen(function*() {
        const record = yield* find(runId)
        if (RunStore.isFinishedStatus(record.status)) return record
        const at = yield* now
        const pending = record.status === "pending"
        yield* sql`UPDATE troupe_runs SET cancel_requested = ${1}, updated_at = ${at},
          status = ${pending ? "cancelled" : record.status}, finished_at = ${pending ? at : sql`finished_at`}
          WHERE run_id = ${runId}`.pipe(Effect.mapError(storeError("cancel run")))
        return yield* find(runId)
      }),
    delete: remove,
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
        for (const { run_id } of rows) yield* remove(run_id)
        // Plans no run refers to any more.
        yield* sql`DELETE FROM troupe_plans WHERE plan_id NOT IN
          (SELECT plan_id FROM troupe_runs WHERE plan_id IS NOT NULL)`.pipe(Effect.mapError(storeError("prune runs")))
        return rows.length
      }),
    restart: (runId, { plan, shape, version }) =>
      Effect.gen(function*() {
        const row = yield* durableRow(runId)
        const at = yield* now
        const generation = row.generation + 1
        yield* Effect.gen(function*() {
          const planId = yield* storePlan(sql, plan, shape)
          yield* sql`DELETE FROM troupe_run_outputs WHERE run_id = ${runId}`
          yield* sql`UPDATE troupe_runs SET generation = ${generation}, status = ${"pending"}, finished_at = ${null},
            duration_ms = ${null}, error = ${null}, cancel_requested = ${0}, tasks_completed = ${0}, tasks_failed = ${0},
            shape = ${null}, version = ${version}, plan = ${""}, plan_id = ${planId}, tasks_total = ${plan.nodes.length},
            updated_at = ${at} WHERE run_id = ${runId}`
        }).pipe(sql.withTransaction, Effect.mapError(storeError("restart run")))
        return generation
      })
  }
}

/**
 * Creates or migrates the tables (failing with `SchemaTooNew` on a database written by a newer Troupe) and
 * builds the store.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make: Effect.Effect<
  SqlRunStoreShape,
  RunStore.StoreError | Migrations.MigrationError,
  SqlClient.SqlClient
> = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* Migrations.migrate(sql, "runs", migrations)
  const found = lookups(sql)
  const read = readers(sql, found)
  return { ...writers(sql, found), ...read, ...lifecycle(sql, found, read.durableRow) }
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
