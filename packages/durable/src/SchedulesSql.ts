/**
 * SchedulesSql: schedules whose timing state (next and last fire time, paused) is stored in the run
 * database, so they survive a restart.
 *
 * A process declares its schedules at start-up with `Schedules.add` (targets are code, so they are
 * declared again); a schedule whose id and timing are already stored continues from the stored state, and
 * what fell due while the process was down goes through its missed-run policy (`skip`, or `catchUp: n`).
 * Each fire's `runId` (`<scheduleId>@<ISO time>`) is the same in every process: a durable workflow target
 * run with it (`Durable.run(wf, input, { runId: fire.runId })`) is idempotent.
 *
 * One table, dialect-neutral (TEXT, INTEGER, BIGINT, `INSERT ... ON CONFLICT DO UPDATE`):
 * `troupe_schedules (schedule_id, fingerprint, paused, next_fire_at, last_fire_at, anchor, updated_at)`.
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { Schedules } from "@troupe/core"
 * import { Durable, SchedulesSql } from "@troupe/durable"
 *
 * const program = Effect.gen(function*() {
 *   const schedules = yield* Schedules.Schedules
 *   yield* schedules.add({
 *     id: "nightly",
 *     when: Schedules.cron("0 2 * * *", { timeZone: "Europe/Paris" }),
 *     target: SchedulesSql.durableWorkflow(nightly),
 *     missed: { catchUp: 1 }
 *   })
 * }).pipe(Effect.provide(SchedulesSql.layer().pipe(Layer.provideMerge(Durable.layer({ filename: "app.db" })))))
 * ```
 *
 * @since 0.1.0
 */
import { Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import type { SqlError } from "effect/sql/SqlError"
import { Schedules, type Workflow } from "@troupe/core"
import * as Durable from "./Durable.ts"
import * as Migrations from "./Migrations.ts"

/** Version 1: the first layout. */
const layout1 = `CREATE TABLE IF NOT EXISTS troupe_schedules (
  schedule_id TEXT PRIMARY KEY,
  fingerprint TEXT NOT NULL,
  paused INTEGER NOT NULL,
  next_fire_at BIGINT,
  last_fire_at BIGINT,
  anchor BIGINT,
  updated_at BIGINT NOT NULL
)`

/**
 * The schedule store's schema versions, oldest first (component `schedules` of `Migrations`).
 *
 * @category models
 * @since 0.1.0
 */
export const migrations: ReadonlyArray<Migrations.Migration> = [
  { version: 1, description: "schedules", up: Migrations.statements([layout1]) }
]

interface Row {
  readonly schedule_id: string
  readonly fingerprint: string
  readonly paused: number | bigint
  readonly next_fire_at: number | bigint | null
  readonly last_fire_at: number | bigint | null
  readonly anchor: number | bigint | null
  readonly updated_at: number | bigint
}

const num = (v: number | bigint | null): number | null => (v === null ? null : Number(v))

const toStored = (row: Row): Schedules.StoredSchedule => ({
  id: row.schedule_id,
  fingerprint: row.fingerprint,
  paused: Number(row.paused) === 1,
  nextFireAt: num(row.next_fire_at),
  lastFireAt: num(row.last_fire_at),
  anchor: num(row.anchor),
  updatedAt: Number(row.updated_at)
})

const storeError = (operation: string, scheduleId?: string) => (error: SqlError) =>
  new Schedules.ScheduleStoreError({ operation, scheduleId, reason: error.message })

/**
 * Creates or migrates the table and builds the store over the `SqlClient` in context.
 *
 * @category constructors
 * @since 0.1.0
 */
export const makeStore: Effect.Effect<
  Schedules.StoreShape,
  Schedules.ScheduleStoreError | Migrations.MigrationError,
  SqlClient.SqlClient
> = Effect
  .gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* Migrations.migrate(sql, "schedules", migrations)
    const store: Schedules.StoreShape = {
      get: (id) =>
        sql<Row>`SELECT * FROM troupe_schedules WHERE schedule_id = ${id}`.pipe(
          Effect.map((rows) => (rows.length === 0 ? undefined : toStored(rows[0]!))),
          Effect.mapError(storeError("read", id))
        ),
      put: (s) =>
        sql`INSERT INTO troupe_schedules
          (schedule_id, fingerprint, paused, next_fire_at, last_fire_at, anchor, updated_at)
          VALUES (${s.id}, ${s.fingerprint}, ${s.paused ? 1 : 0}, ${s.nextFireAt}, ${s.lastFireAt}, ${s.anchor}, ${s.updatedAt})
          ON CONFLICT (schedule_id) DO UPDATE SET
            fingerprint = excluded.fingerprint, paused = excluded.paused, next_fire_at = excluded.next_fire_at,
            last_fire_at = excluded.last_fire_at, anchor = excluded.anchor, updated_at = excluded.updated_at`.pipe(
          Effect.asVoid,
          Effect.mapError(storeError("write", s.id))
        ),
      remove: (id) =>
        sql`DELETE FROM troupe_schedules WHERE schedule_id = ${id}`.pipe(
          Effect.asVoid,
          Effect.mapError(storeError("delete", id))
        ),
      list: sql<Row>`SELECT * FROM troupe_schedules ORDER BY schedule_id`.pipe(
        Effect.map((rows) => rows.map(toStored)),
        Effect.mapError(storeError("list"))
      )
    }
    return store
  })

/**
 * The schedule store on SQL.
 *
 * @category layers
 * @since 0.1.0
 */
export const layerStore: Layer.Layer<
  Schedules.Store,
  Schedules.ScheduleStoreError | Migrations.MigrationError,
  SqlClient.SqlClient
> = Layer.effect(
  Schedules.Store,
  makeStore
)

/**
 * The `Schedules` service with its timing state in SQL (and the store itself).
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (
  options?: Schedules.Options
): Layer.Layer<
  Schedules.Schedules | Schedules.Store,
  Schedules.ScheduleStoreError | Migrations.MigrationError,
  SqlClient.SqlClient
> =>
  Schedules.layer(options).pipe(Layer.provideMerge(layerStore))

/**
 * A schedule target that runs a workflow durably (`Durable.run`) with the fire's run id
 * (`<scheduleId>@<ISO time>`): a fire started again after a restart joins or resumes the same run instead of
 * starting another one.
 *
 * @category targets
 * @since 0.1.0
 */
export const durableWorkflow = <W extends Workflow.Any>(
  workflow: W,
  options?: Omit<Durable.DurableOptions, "runId">
): Schedules.Target<Workflow.Input<W>, Durable.DurableRuntime | Workflow.Services<W>> =>
  Schedules.effect(workflow.name, (input: Workflow.Input<W>, fire) =>
    (Durable.run as (...args: Array<unknown>) => Effect.Effect<unknown, unknown, Durable.DurableRuntime | Workflow.Services<W>>)(
      workflow,
      input,
      { ...options, runId: fire.runId }
    ))
