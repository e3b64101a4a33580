/**
 * Migrations: the schema version of Troupe's own SQL tables, and the ordered, idempotent steps that bring
 * an older database up to the layout this code uses.
 *
 * Each group of tables is a *component* with its own version (`runs`: the `RunStore`; `jobs`: the
 * Orchestrator's `JobStore`; `schedules`; `signals`), recorded in one table,
 * `troupe_schema_versions (component, version, updated_at)`. A store calls `migrate(component, steps)` when it
 * starts:
 *
 * - steps whose version is above the recorded one run in order, each in its own transaction together with
 *   the new version number, so a crash between two steps leaves a database at a well-defined version;
 * - every step is idempotent: it also runs on databases created before versions were recorded (their tables
 *   exist, the version table does not: version 0), so it creates with `IF NOT EXISTS` and adds a column only
 *   when it is missing (`addColumn`);
 * - a database whose recorded version is above the newest step this code knows (written by a newer Troupe)
 *   fails with `SchemaTooNew`, saying which version it has and which the code knows, and is left untouched.
 *
 * Queries are dialect-neutral (`CREATE TABLE IF NOT EXISTS`, `INSERT ... ON CONFLICT DO UPDATE`, a probe
 * `SELECT` inside a savepoint), so the same steps run on SQLite and PostgreSQL.
 *
 * **Example**
 * ```ts
 * import { Effect } from "effect"
 * import { SqlClient } from "effect/sql"
 * import { Migrations } from "@troupe/durable"
 *
 * const steps: ReadonlyArray<Migrations.Migration> = [
 *   { version: 1, description: "notes table", up: (sql) => Effect.asVoid(sql`CREATE TABLE IF NOT EXISTS notes (id TEXT PRIMARY KEY)`) },
 *   { version: 2, description: "notes.body", up: (sql) => Migrations.addColumn(sql, "notes", "body", "TEXT") }
 * ]
 * const ready = Effect.flatMap(SqlClient.SqlClient, (sql) => Migrations.migrate(sql, "notes", steps))
 * ```
 *
 * @since 0.1.0
 */
import { Clock, Effect, Schema } from "effect"
import type { SqlClient } from "effect/sql"
import type { SqlError } from "effect/sql/SqlError"

// -----------------------------------------------------------------------------
// Errors
// -----------------------------------------------------------------------------

/**
 * The database was written by a newer version of Troupe: its tables are at a schema version this code does
 * not know. Nothing was changed.
 *
 * @category errors
 * @since 0.1.0
 */
export class SchemaTooNew extends Schema.TaggedError<SchemaTooNew>()("SchemaTooNew", {
  component: Schema.String,
  /** The version recorded in the database. */
  found: Schema.Number,
  /** The newest version this code knows. */
  known: Schema.Number
}) {
  override get message() {
    return `the database's ${this.component} tables are at schema version ${this.found}, but this code knows ` +
      `versions up to ${this.known}: the database was written by a newer Troupe. Upgrade @troupe/durable, or ` +
      `open another database file (this one was left untouched)`
  }
}

/**
 * A migration step failed (the SQL message says why). Its transaction was rolled back: the database stays at
 * the version before the step.
 *
 * @category errors
 * @since 0.1.0
 */
export class MigrationFailed extends Schema.TaggedError<MigrationFailed>()("MigrationFailed", {
  component: Schema.String,
  version: Schema.Number,
  description: Schema.String,
  detail: Schema.String
}) {
  override get message() {
    return `cannot migrate the ${this.component} tables to schema version ${this.version} (${this.description}): ` +
      `${this.detail}; the database stays at the version before it`
  }
}

/**
 * @category errors
 * @since 0.1.0
 */
export type MigrationError = SchemaTooNew | MigrationFailed

// -----------------------------------------------------------------------------
// Models
// -----------------------------------------------------------------------------

/**
 * One step. `up` runs inside a transaction and must be idempotent: it also runs on a database that already
 * has this layout but recorded no version (created before versions were kept).
 *
 * @category models
 * @since 0.1.0
 */
export interface Migration {
  readonly version: number
  readonly description: string
  readonly up: (sql: SqlClient.SqlClient) => Effect.Effect<void, SqlError>
}

/**
 * @category models
 * @since 0.1.0
 */
export interface Outcome {
  readonly component: string
  /** The version recorded before (0: none). */
  readonly from: number
  /** The version now recorded. */
  readonly to: number
}

/**
 * The table that records each component's version.
 *
 * @category models
 * @since 0.1.0
 */
export const versionTable = "troupe_schema_versions"

// -----------------------------------------------------------------------------
// Constructors
// -----------------------------------------------------------------------------

/** Steps written as plain statements (each must be idempotent by itself, e.g. `CREATE ... IF NOT EXISTS`). */
export const statements = (sqlText: ReadonlyArray<string>) => (sql: SqlClient.SqlClient): Effect.Effect<void, SqlError> =>
  Effect.forEach(sqlText, (text) => sql.unsafe(text), { discard: true })

/**
 * Whether `table` has `column`: a probe `SELECT` in a savepoint (a failed statement would abort a PostgreSQL
 * transaction; the savepoint keeps it usable).
 *
 * @category constructors
 * @since 0.1.0
 */
export const hasColumn = (sql: SqlClient.SqlClient, table: string, column: string): Effect.Effect<boolean> =>
  sql.unsafe(`SELECT ${column} FROM ${table} WHERE 1 = 0`).pipe(
    sql.withTransaction,
    Effect.as(true),
    Effect.orElseSucceed(() => false)
  )

/**
 * Adds a column when it is missing (idempotent `ALTER TABLE ... ADD COLUMN`).
 *
 * @category constructors
 * @since 0.1.0
 */
export const addColumn = (
  sql: SqlClient.SqlClient,
  table: string,
  column: string,
  type: string
): Effect.Effect<void, SqlError> =>
  Effect.flatMap(
    hasColumn(sql, table, column),
    (present) => present ? Effect.void : Effect.asVoid(sql.unsafe(`ALTER TABLE ${table} ADD COLUMN ${column} ${type}`))
  )

// -----------------------------------------------------------------------------
// Running
// -----------------------------------------------------------------------------

const createVersionTable = `CREATE TABLE IF NOT EXISTS ${versionTable} (
  component TEXT PRIMARY KEY,
  version INTEGER NOT NULL,
  updated_at BIGINT NOT NULL
)`

const recorded = (sql: SqlClient.SqlClient, component: string) =>
  Effect.map(
    sql<{ version: number | bigint }>`SELECT version FROM ${sql(versionTable)} WHERE component = ${component}`,
    (rows) => (rows.length === 0 ? 0 : Number(rows[0]!.version))
  )

/**
 * Every component's recorded version.
 *
 * @category running
 * @since 0.1.0
 */
export const versions = (sql: SqlClient.SqlClient): Effect.Effect<ReadonlyMap<string, number>, SqlError> =>
  Effect.andThen(
    sql.unsafe(createVersionTable),
    Effect.map(
      sql<{ component: string; version: number | bigint }>`SELECT component, version FROM ${sql(versionTable)}`,
      (rows) => new Map(rows.map((r) => [r.component, Number(r.version)]))
    )
  )

/** One step, in a transaction with its version record; skipped when another process applied it meanwhile. */
const apply = (sql: SqlClient.SqlClient, component: string, step: Migration) =>
  Effect.gen(function*() {
    if ((yield* recorded(sql, component)) >= step.version) return
    yield* step.up(sql)
    const at = yield* Clock.currentTimeMillis
    yield* sql`INSERT INTO ${sql(versionTable)} (component, version, updated_at) VALUES (${component}, ${step.version}, ${at})
      ON CONFLICT (component) DO UPDATE SET version = excluded.version, updated_at = excluded.updated_at`
  }).pipe(
    sql.withTransaction,
    Effect.mapError((e) =>
      new MigrationFailed({ component, version: step.version, description: step.description, detail: e.message })
    )
  )

/**
 * Brings `component`'s tables to the newest version of `steps` (ordered by version; each runs once).
 * Fails with `SchemaTooNew` when the database is newer than the steps, without changing anything.
 *
 * @category running
 * @since 0.1.0
 */
export const migrate = (
  sql: SqlClient.SqlClient,
  component: string,
  steps: ReadonlyArray<Migration>
): Effect.Effect<Outcome, MigrationError> =>
  Effect.gen(function*() {
    const ordered = [...steps].sort((a, b) => a.version - b.version)
    const known = ordered.at(-1)?.version ?? 0
    const failed = (e: SqlError) => new MigrationFailed({ component, version: 0, description: "read the schema version", detail: e.message })
    yield* sql.unsafe(createVersionTable).pipe(Effect.mapError(failed))
    const from = yield* recorded(sql, component).pipe(Effect.mapError(failed))
    if (from > known) return yield* new SchemaTooNew({ component, found: from, known })
    for (const step of ordered) if (step.version > from) yield* apply(sql, component, step)
    return { component, from, to: Math.max(from, known) }
  })
