/**
 * SignalsSql: the `Signals` service on the run database. Signals, waits and timers survive a restart.
 *
 * - A delivered signal is stored (its payload encoded with the signal's Schema) before anything else; a wait
 *   takes the oldest unclaimed signal of its name and records that it took it, under the wait's stable key
 *   (`<task path>/<signal>[#n]`). A replayed wait (after a restart) finds its signal again by that key, so it
 *   returns the same payload, and a signal sent while the process was down is there when the run resumes.
 * - A timer (`Signal.sleep`, and a wait's timeout) stores its deadline the first time it starts; after a
 *   restart it waits only for what is left (or not at all when the deadline passed while the process was
 *   down).
 * - A run accepts signals when the `RunStore` knows it and it has not finished, or when one of its tasks
 *   waited or it was `open`ed; a signal to a finished or unknown run fails with `UnknownRun`.
 *
 * Why not `DurableDeferred` and `DurableClock`: they suspend a workflow by interrupting the fiber that awaits.
 * A Troupe run executes its tasks in fibers of its own under the workflow body, so such an interrupt would
 * end the task, not suspend the workflow. Here the waiting task blocks in the workflow body instead; the run
 * stays unfinished in the engine's journal, so after a restart the engine replays it (`Durable.register`),
 * completed tasks come back from the journal, and the wait resumes with its stored signal or deadline. The
 * cost: a waiting run keeps its workflow in memory while the process lives.
 *
 * Tables (dialect-neutral; created or migrated at startup, component `signals` of `Migrations`): `troupe_signal_runs (run_id, opened_at)`, `troupe_signals (run_id, seq, name,
 * payload, sent_at, consumed_by)`, `troupe_timers (run_id, timer_key, until_at)`.
 *
 * @since 0.1.0
 */
import { Clock, Deferred, Duration, Effect, Layer, Option, Schema, Semaphore } from "effect"
import { SqlClient } from "effect/sql"
import type { SqlError } from "effect/sql/SqlError"
import { RunStore, Signal } from "@troupe/core"
import * as Migrations from "./Migrations.ts"

/** Version 1: the first layout. */
const layout1: ReadonlyArray<string> = [
  `CREATE TABLE IF NOT EXISTS troupe_signal_runs (
    run_id TEXT PRIMARY KEY,
    opened_at BIGINT NOT NULL
  )`,
  `CREATE TABLE IF NOT EXISTS troupe_signals (
    run_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    name TEXT NOT NULL,
    payload TEXT NOT NULL,
    sent_at BIGINT NOT NULL,
    consumed_by TEXT,
    PRIMARY KEY (run_id, seq)
  )`,
  `CREATE INDEX IF NOT EXISTS troupe_signals_by_name ON troupe_signals (run_id, name, consumed_by)`,
  `CREATE TABLE IF NOT EXISTS troupe_timers (
    run_id TEXT NOT NULL,
    timer_key TEXT NOT NULL,
    until_at BIGINT NOT NULL,
    PRIMARY KEY (run_id, timer_key)
  )`
]

/**
 * The signal store's schema versions, oldest first (component `signals` of `Migrations`).
 *
 * @category models
 * @since 0.1.0
 */
export const migrations: ReadonlyArray<Migrations.Migration> = [
  { version: 1, description: "signal runs, signals, timers", up: Migrations.statements(layout1) }
]

/**
 * The database failed while delivering or waiting for a signal (a defect in waits: a wait cannot go on
 * without its store).
 *
 * @category errors
 * @since 0.1.0
 */
export class SignalStoreError extends Schema.TaggedError<SignalStoreError>()("SignalStoreError", {
  operation: Schema.String,
  runId: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `Signal store ${this.operation} for run "${this.runId}" failed: ${this.reason}`
  }
}

const finished: ReadonlySet<string> = new Set(["completed", "failed", "cancelled"])
const DAY = 86_400_000

const fail = (operation: string, runId: string) => (error: SqlError) =>
  new SignalStoreError({ operation, runId, reason: error.message })

const decode = <A, I>(runId: string, signal: Signal.Signal<string, A, I>, text: string) =>
  Effect.suspend(() => Schema.decodeUnknownEffect(Schema.toCodecJson(signal.schema))(JSON.parse(text))).pipe(
    Effect.mapError((e) => new Signal.InvalidPayload({ runId, signal: signal.name, issue: `stored payload: ${e.message}` })),
    Effect.orDie
  ) as Effect.Effect<A>

const encode = <A, I>(runId: string, signal: Signal.Signal<string, A, I>, value: A) =>
  Schema.encodeUnknownEffect(Schema.toCodecJson(signal.schema))(value).pipe(
    Effect.map((json) => JSON.stringify(json)),
    Effect.mapError((e) => new Signal.InvalidPayload({ runId, signal: signal.name, issue: e.message }))
  )

const sleepUntil = (until: number) =>
  Effect.gen(function*() {
    let now = yield* Clock.currentTimeMillis
    while (now < until) {
      yield* Effect.sleep(Duration.millis(Math.min(until - now, DAY)))
      now = yield* Clock.currentTimeMillis
    }
  })

/** What this process keeps beside the tables: signal definitions, waiters to wake, waits in progress. */
interface Local {
  /** Signal definitions seen in this process, by run then name (for `sendUnknown`). */
  readonly definitions: Map<string, Map<string, Signal.Any>>
  /** Waiters in this process, woken when a signal of their name arrives. */
  readonly waiters: Map<string, Set<Deferred.Deferred<void>>>
  readonly waits: Set<Signal.PendingWait>
  /** Serialises claims and deliveries (a claim reads then updates). */
  readonly lock: Semaphore.Semaphore
}

const waiterKey = (runId: string, name: string) => `${runId}\u0000${name}`

const remember = (local: Local, runId: string, signal: Signal.Any) => {
  let byName = local.definitions.get(runId)
  if (byName === undefined) local.definitions.set(runId, byName = new Map())
  byName.set(signal.name, signal)
}

/** The queries: runs that accept signals, stored signals and their claims, timers' deadlines. */
const tables = (sql: SqlClient.SqlClient, runStore: Option.Option<RunStore.RunStoreShape>, local: Local) => ({
  openRun: (runId: string) =>
    Effect.flatMap(Clock.currentTimeMillis, (now) =>
      sql`INSERT INTO troupe_signal_runs (run_id, opened_at) VALUES (${runId}, ${now})
          ON CONFLICT (run_id) DO NOTHING`.pipe(Effect.asVoid, Effect.mapError(fail("open", runId)))),
  accepts: (runId: string) =>
    Effect.gen(function*() {
      if (Option.isSome(runStore)) {
        const record = yield* runStore.value.get(runId).pipe(Effect.option)
        if (Option.isSome(record)) return !finished.has(record.value.status)
      }
      const rows = yield* sql<{ n: number }>`SELECT count(*) AS n FROM troupe_signal_runs WHERE run_id = ${runId}`.pipe(
        Effect.mapError(fail("read run", runId))
      )
      return Number(rows[0]?.n ?? 0) > 0
    }),
  /** The payload this wait took before (a replay), or the oldest unclaimed one, claimed now. */
  claim: (runId: string, name: string, key: string) =>
    local.lock.withPermits(1)(Effect.gen(function*() {
      const mine = yield* sql<{ payload: string }>`SELECT payload FROM troupe_signals
        WHERE run_id = ${runId} AND consumed_by = ${key}`.pipe(Effect.mapError(fail("read signal", runId)))
      if (mine.length > 0) return mine[0]!.payload
      const oldest = yield* sql<{ seq: number; payload: string }>`SELECT seq, payload FROM troupe_signals
        WHERE run_id = ${runId} AND name = ${name} AND consumed_by IS NULL ORDER BY seq LIMIT 1`.pipe(
        Effect.mapError(fail("read signal", runId))
      )
      if (oldest.length === 0) return undefined
      yield* sql`UPDATE troupe_signals SET consumed_by = ${key} WHERE run_id = ${runId} AND seq = ${oldest[0]!.seq}`.pipe(
        Effect.mapError(fail("claim signal", runId))
      )
      return oldest[0]!.payload
    })),
  /** The stored deadline of a timer, set now when it has none. */
  deadline: (runId: string, key: string, durationMs: number) =>
    Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      yield* sql`INSERT INTO troupe_timers (run_id, timer_key, until_at) VALUES (${runId}, ${key}, ${now + durationMs})
        ON CONFLICT (run_id, timer_key) DO NOTHING`.pipe(Effect.mapError(fail("write timer", runId)))
      const rows = yield* sql<{ until_at: number }>`SELECT until_at FROM troupe_timers
        WHERE run_id = ${runId} AND timer_key = ${key}`.pipe(Effect.mapError(fail("read timer", runId)))
      return Number(rows[0]!.until_at)
    }),
  store: (runId: string, name: string, text: string, now: number) =>
    local.lock.withPermits(1)(
      sql`INSERT INTO troupe_signals (run_id, seq, name, payload, sent_at)
        SELECT ${runId}, COALESCE(MAX(seq), 0) + 1, ${name}, ${text}, ${now}
        FROM troupe_signals WHERE run_id = ${runId}`.pipe(Effect.mapError(fail("store signal", runId)), Effect.orDie)
    ),
  forget: (runId: string) =>
    Effect.gen(function*() {
      yield* sql`DELETE FROM troupe_signal_runs WHERE run_id = ${runId}`.pipe(Effect.orDie)
      yield* sql`DELETE FROM troupe_signals WHERE run_id = ${runId}`.pipe(Effect.orDie)
      yield* sql`DELETE FROM troupe_timers WHERE run_id = ${runId}`.pipe(Effect.orDie)
    })
})

type Tables = ReturnType<typeof tables>

/** Stores a signal, then wakes the waiters of its name in this process. */
const deliver = <A, I>(db: Tables, local: Local, runId: string, signal: Signal.Signal<string, A, I>, value: A) =>
  Effect.gen(function*() {
    if (!(yield* db.accepts(runId).pipe(Effect.orDie))) {
      return yield* new Signal.UnknownRun({ runId, signal: signal.name })
    }
    const text = yield* encode(runId, signal, value)
    yield* db.store(runId, signal.name, text, yield* Clock.currentTimeMillis)
    for (const waiter of local.waiters.get(waiterKey(runId, signal.name)) ?? []) yield* Deferred.succeed(waiter, undefined)
  })

/** Waits until a signal of the wait's name is claimed by it, or its stored deadline passes. */
const awaitSignal = (db: Tables, local: Local) => <A, I>(request: Signal.AwaitRequest<A, I>) =>
  Effect.gen(function*() {
    const { key, runId, signal } = request
    remember(local, runId, signal)
    yield* db.openRun(runId)
    const until = request.timeoutMs === undefined ? undefined : yield* db.deadline(runId, `${key}/timeout`, request.timeoutMs)
    const since = yield* Clock.currentTimeMillis
    const wait: Signal.PendingWait = {
      runId,
      key,
      reason: "signal",
      name: signal.name,
      since,
      ...(until === undefined ? {} : { until })
    }
    const slot = waiterKey(runId, signal.name)
    local.waits.add(wait)
    return yield* Effect.gen(function*() {
      while (true) {
        // Register before looking, so a signal stored in between still wakes this wait.
        const wake = yield* Deferred.make<void>()
        let set = local.waiters.get(slot)
        if (set === undefined) local.waiters.set(slot, set = new Set())
        set.add(wake)
        const text = yield* db.claim(runId, signal.name, key)
        if (text !== undefined) {
          set.delete(wake)
          return yield* decode(runId, signal, text)
        }
        const woken = until === undefined
          ? yield* Effect.as(Deferred.await(wake), true)
          : yield* Deferred.await(wake).pipe(
            Effect.as(true),
            Effect.raceFirst(Effect.as(sleepUntil(until), false))
          )
        set.delete(wake)
        if (!woken) {
          // One last look: a signal stored at the deadline still counts.
          const last = yield* db.claim(runId, signal.name, key)
          if (last !== undefined) return yield* decode(runId, signal, last)
          return yield* new Signal.SignalTimeout({
            runId,
            taskId: request.taskId,
            signal: signal.name,
            timeoutMs: request.timeoutMs!
          })
        }
      }
    }).pipe(
      Effect.ensuring(Effect.sync(() => {
        local.waits.delete(wait)
      }))
    )
  }).pipe(Effect.catchTag("SignalStoreError", Effect.die))

/** A durable sleep: waits for what is left of its stored deadline. */
const sleepFor = (db: Tables, local: Local) => (request: Signal.SleepRequest) =>
  Effect.gen(function*() {
    const until = yield* db.deadline(request.runId, request.key, request.durationMs)
    const since = yield* Clock.currentTimeMillis
    const wait: Signal.PendingWait = {
      runId: request.runId,
      key: request.key,
      reason: "timer",
      name: request.name,
      since,
      until
    }
    local.waits.add(wait)
    yield* sleepUntil(until).pipe(Effect.ensuring(Effect.sync(() => local.waits.delete(wait))))
  }).pipe(Effect.catchTag("SignalStoreError", Effect.die))

/**
 * Builds the service over the `SqlClient` in context (and the `RunStore`, when one is provided).
 *
 * @category constructors
 * @since 0.1.0
 */
export const make: Effect.Effect<
  Signal.SignalsApi,
  SignalStoreError | Migrations.MigrationError,
  SqlClient.SqlClient
> = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const runStore = yield* Effect.serviceOption(RunStore.RunStore)
  yield* Migrations.migrate(sql, "signals", migrations)
  const local: Local = { definitions: new Map(), waiters: new Map(), waits: new Set(), lock: yield* Semaphore.make(1) }
  const db = tables(sql, runStore, local)
  const api: Signal.SignalsApi = {
    await: awaitSignal(db, local),
    sleep: sleepFor(db, local),
    send: (runId, signal, payload) =>
      Effect.flatMap(Signal.checkPayload(runId, signal, payload, false), (value) => {
        remember(local, runId, signal)
        return deliver(db, local, runId, signal, value)
      }),
    sendUnknown: (runId, name, payload) =>
      Effect.gen(function*() {
        if (!(yield* db.accepts(runId).pipe(Effect.orDie))) return yield* new Signal.UnknownRun({ runId, signal: name })
        const signal = local.definitions.get(runId)?.get(name)
        if (signal === undefined) {
          return yield* new Signal.UnknownSignal({
            runId,
            signal: name,
            known: Array.from(local.definitions.get(runId)?.keys() ?? [])
          })
        }
        const value = yield* Signal.checkPayload(runId, signal, payload, true)
        yield* deliver(db, local, runId, signal, value)
      }),
    open: (runId, signals) =>
      Effect.gen(function*() {
        for (const signal of signals ?? []) remember(local, runId, signal)
        yield* db.openRun(runId).pipe(Effect.orDie)
      }),
    close: (runId) =>
      Effect.andThen(Effect.sync(() => local.definitions.delete(runId)), db.forget(runId)),
    pending: (runId) => Effect.sync(() => Array.from(local.waits).filter((w) => runId === undefined || w.runId === runId))
  }
  return api
})

/**
 * The `Signals` service on SQL (use with `Durable.layer`, which provides the `SqlClient` and the
 * `RunStore`).
 *
 * @category layers
 * @since 0.1.0
 */
export const layer: Layer.Layer<Signal.Signals, SignalStoreError | Migrations.MigrationError, SqlClient.SqlClient> = Layer
  .effect(Signal.Signals, make)
