/**
 * SqliteClient: an effect 4.1 `SqlClient` over Node's built-in `node:sqlite` (`DatabaseSync`), with no
 * native addon and no extra package.
 *
 * - One connection, serialised by a semaphore (`SqlClient.makeSqliteAcquirers`, the helper the official
 *   sqlite drivers use), so transactions never interleave.
 * - WAL journal, `synchronous = NORMAL` by default (survives a killed process; `FULL` also survives power
 *   loss, at a higher commit cost), automatic checkpoints every 10 000 pages, a prepared-statement cache per
 *   SQL string.
 * - `SqlClient.SafeIntegers` is honoured (the cluster's message storage reads 64-bit ids as bigints).
 * - Exclusive ownership: a writer holds an OS lock on `<filename>-lock` (an SQLite file in exclusive locking
 *   mode) for as long as it is open, so a second process opening the same database for writing fails at once
 *   with `DatabaseLocked` (never double execution). The OS releases the lock when the process dies, even by
 *   SIGKILL, so there are no stale locks. `readOnly: true` opens without the lock (to inspect runs while a
 *   writer is running).
 * - Opening errors are typed and say what and where: `NotADatabase`, `DatabaseDirectoryError`,
 *   `DatabaseLocked`, `DatabaseOpenError`. Nothing is ever written to a file that is not a database.
 *
 * @since 0.1.0
 */
import { accessSync, constants, existsSync, statSync } from "node:fs"
import { dirname, resolve } from "node:path"
import { DatabaseSync, type SQLInputValue, type StatementSync } from "node:sqlite"
import { Context, Effect, Layer, Schema, Semaphore, Stream } from "effect"
import * as Reactivity from "effect/reactivity/Reactivity"
import * as SqlClient from "effect/sql/SqlClient"
import type { Connection } from "effect/sql/SqlConnection"
import { classifySqliteError, SqlError } from "effect/sql/SqlError"
import * as Statement from "effect/sql/Statement"

// -----------------------------------------------------------------------------
// Errors
// -----------------------------------------------------------------------------

/**
 * The file exists but is not an SQLite database (or its header is damaged). It was not modified.
 *
 * @category errors
 * @since 0.1.0
 */
export class NotADatabase extends Schema.TaggedError<NotADatabase>()("NotADatabase", {
  filename: Schema.String
}) {
  override get message() {
    return `${this.filename} is not an SQLite database (it was left untouched); point the durable layer at another file`
  }
}

/**
 * The database's directory is missing, is not a directory, or cannot be written.
 *
 * @category errors
 * @since 0.1.0
 */
export class DatabaseDirectoryError extends Schema.TaggedError<DatabaseDirectoryError>()("DatabaseDirectoryError", {
  filename: Schema.String,
  directory: Schema.String,
  reason: Schema.Literals(["missing", "read-only", "not-a-directory"])
}) {
  override get message() {
    return this.reason === "missing"
      ? `cannot open ${this.filename}: the directory ${this.directory} does not exist`
      : this.reason === "read-only"
      ? `cannot open ${this.filename} for writing: the directory ${this.directory} is read-only`
      : `cannot open ${this.filename}: ${this.directory} is not a directory`
  }
}

/**
 * Another process has the database open for writing.
 *
 * @category errors
 * @since 0.1.0
 */
export class DatabaseLocked extends Schema.TaggedError<DatabaseLocked>()("DatabaseLocked", {
  filename: Schema.String,
  lockFile: Schema.String
}) {
  override get message() {
    return `${this.filename} is in use by another process (it holds ${this.lockFile}); ` +
      `stop it, or open the database with readOnly: true to inspect it`
  }
}

/**
 * Any other failure to open the database (the SQLite message says what).
 *
 * @category errors
 * @since 0.1.0
 */
export class DatabaseOpenError extends Schema.TaggedError<DatabaseOpenError>()("DatabaseOpenError", {
  filename: Schema.String,
  detail: Schema.String
}) {
  override get message() {
    return `cannot open ${this.filename}: ${this.detail}`
  }
}

/**
 * @category errors
 * @since 0.1.0
 */
export type OpenError = NotADatabase | DatabaseDirectoryError | DatabaseLocked | DatabaseOpenError

// -----------------------------------------------------------------------------
// Models
// -----------------------------------------------------------------------------

/**
 * @category models
 * @since 0.1.0
 */
export interface Config {
  readonly filename: string
  /** `NORMAL` (default): survives a killed process; `FULL`: also survives power loss and OS crashes. */
  readonly synchronous?: "NORMAL" | "FULL" | undefined
  /** Open for reading only, without taking the writer's lock. */
  readonly readOnly?: boolean | undefined
  /** How long a statement waits for SQLite's own locks (ms, default 5000). */
  readonly busyTimeout?: number | undefined
  /** WAL pages between automatic checkpoints (default 10 000, about 40 MB; SQLite's own default is 1000). */
  readonly walAutocheckpoint?: number | undefined
  /** Prepared statements kept (default 500). */
  readonly statementCache?: number | undefined
}

/**
 * The client: an `SqlClient` plus the underlying `DatabaseSync` and a few counters.
 *
 * @category models
 * @since 0.1.0
 */
export interface SqliteClient extends SqlClient.SqlClient {
  readonly db: DatabaseSync
  readonly filename: string
  /** Statements run so far and milliseconds spent inside SQLite (for benchmarks). */
  readonly stats: { statements: number; sqliteMs: number }
}

/**
 * @category services
 * @since 0.1.0
 */
export const SqliteClient = Context.Service<SqliteClient>("@troupe/durable/SqliteClient")

// -----------------------------------------------------------------------------
// Internals
// -----------------------------------------------------------------------------

const SQLITE_NOTADB = 26
const SQLITE_BUSY = 5
const SQLITE_LOCKED = 6

const errcode = (cause: unknown): number | undefined => {
  const c = cause as { errcode?: unknown } | undefined
  return typeof c?.errcode === "number" ? c.errcode & 0xff : undefined
}

const messageOf = (cause: unknown): string => cause instanceof Error ? cause.message : String(cause)

const toSqlError = (cause: unknown, message: string, operation: string): SqlError => {
  // node:sqlite puts the extended SQLite code in `errcode` (`code` is "ERR_SQLITE_ERROR"): normalise it.
  const c = cause as { errcode?: unknown; message?: unknown } | undefined
  const normalized = typeof c?.errcode === "number"
    ? Object.assign(new Error(String(c.message)), { code: c.errcode, errno: c.errcode, cause })
    : cause
  return new SqlError({ reason: classifySqliteError(normalized, { message, operation }) })
}

const bindParam = (p: unknown): SQLInputValue => {
  switch (typeof p) {
    case "boolean":
      return p ? 1 : 0
    case "undefined":
      return null
    case "number":
    case "bigint":
    case "string":
      return p
    default:
      if (p === null || p instanceof Uint8Array) return p
      if (p instanceof Date) return p.toISOString()
      return JSON.stringify(p)
  }
}

const checkDirectory = (filename: string, write: boolean): DatabaseDirectoryError | undefined => {
  const directory = dirname(resolve(filename))
  if (!existsSync(directory)) return new DatabaseDirectoryError({ filename, directory, reason: "missing" })
  if (!statSync(directory).isDirectory()) {
    return new DatabaseDirectoryError({ filename, directory, reason: "not-a-directory" })
  }
  if (write) {
    try {
      accessSync(directory, constants.W_OK)
      // root passes access checks: honour a directory whose write bits are all off as read-only too.
      if ((statSync(directory).mode & 0o222) === 0) throw new Error("read-only")
    } catch {
      return new DatabaseDirectoryError({ filename, directory, reason: "read-only" })
    }
  }
  return undefined
}

/** Takes the writer's lock: an SQLite file held in exclusive locking mode (released by the OS on exit). */
const acquireLock = (filename: string): DatabaseSync | OpenError => {
  const lockFile = `${filename}-lock`
  let lock: DatabaseSync | undefined
  try {
    lock = new DatabaseSync(lockFile, { timeout: 0 })
    lock.exec("PRAGMA locking_mode = EXCLUSIVE")
    lock.exec("BEGIN EXCLUSIVE")
    lock.exec("CREATE TABLE IF NOT EXISTS owner (pid INTEGER)")
    lock.exec("DELETE FROM owner")
    lock.exec(`INSERT INTO owner VALUES (${process.pid})`)
    lock.exec("COMMIT")
    return lock
  } catch (cause) {
    try {
      lock?.close()
    } catch {
      // already closed
    }
    const code = errcode(cause)
    if (code === SQLITE_BUSY || code === SQLITE_LOCKED) return new DatabaseLocked({ filename, lockFile })
    if (code === SQLITE_NOTADB) return new NotADatabase({ filename: lockFile })
    return new DatabaseOpenError({ filename: lockFile, detail: messageOf(cause) })
  }
}

const open = (config: Config): Effect.Effect<{ db: DatabaseSync; lock: DatabaseSync | undefined }, OpenError> =>
  Effect.suspend(() => {
    const { filename } = config
    const readOnly = config.readOnly === true
    if (filename !== ":memory:") {
      const bad = checkDirectory(filename, !readOnly)
      if (bad !== undefined) return Effect.fail(bad)
      if (existsSync(filename) && statSync(filename).isDirectory()) {
        return Effect.fail(new DatabaseOpenError({ filename, detail: "it is a directory" }))
      }
      if (readOnly && !existsSync(filename)) {
        return Effect.fail(new DatabaseOpenError({ filename, detail: "the file does not exist (opened read-only)" }))
      }
    }
    let lock: DatabaseSync | undefined
    if (!readOnly && filename !== ":memory:") {
      const taken = acquireLock(filename)
      if (!(taken instanceof DatabaseSync)) return Effect.fail(taken)
      lock = taken
    }
    let db: DatabaseSync | undefined
    try {
      db = new DatabaseSync(filename, { timeout: config.busyTimeout ?? 5000, readOnly })
      // The first statement that reads the header finds out whether this is a database at all.
      db.prepare("SELECT count(*) FROM sqlite_master").get()
      if (!readOnly) {
        db.exec("PRAGMA journal_mode = WAL")
        db.exec(`PRAGMA synchronous = ${config.synchronous ?? "NORMAL"}`)
        // Checkpoint the WAL every ~40 MB instead of SQLite's 4 MB: far fewer checkpoints (each one copies
        // pages back and syncs the file), and a hot page (a run's row, an index root) is copied once per
        // checkpoint instead of once per 1000 pages written. The file is cut back to 64 MB after each.
        db.exec(`PRAGMA wal_autocheckpoint = ${config.walAutocheckpoint ?? 10_000}`)
        db.exec("PRAGMA journal_size_limit = 67108864")
      }
      return Effect.succeed({ db, lock })
    } catch (cause) {
      try {
        db?.close()
        lock?.close()
      } catch {
        // closing after a failed open
      }
      if (errcode(cause) === SQLITE_NOTADB) return Effect.fail(new NotADatabase({ filename }))
      return Effect.fail(new DatabaseOpenError({ filename, detail: messageOf(cause) }))
    }
  })

// -----------------------------------------------------------------------------
// Constructors
// -----------------------------------------------------------------------------

/**
 * Opens the database and builds the client (scoped: closed, and the lock released, with the scope).
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (config: Config) =>
  Effect.gen(function*() {
    const { db } = yield* Effect.acquireRelease(open(config), ({ db, lock }) =>
      Effect.sync(() => {
        if (db.isOpen) db.close()
        if (lock?.isOpen) lock.close()
      }))
    const compiler = Statement.makeCompilerSqlite()
    const stats = { statements: 0, sqliteMs: 0 }
    const limit = config.statementCache ?? 500
    const cache = new Map<string, StatementSync>()
    const prepare = (sql: string): StatementSync => {
      let statement = cache.get(sql)
      if (statement === undefined) {
        statement = db.prepare(sql)
        if (cache.size >= limit) cache.delete(cache.keys().next().value!)
        cache.set(sql, statement)
      }
      return statement
    }

    type Mode = "rows" | "raw" | "values"
    const run = (sql: string, params: ReadonlyArray<unknown>, mode: Mode, prepared: boolean) =>
      Effect.withFiber<any, SqlError>((fiber) => {
        const t = performance.now()
        try {
          const statement = prepared ? prepare(sql) : db.prepare(sql)
          statement.setReadBigInts(fiber.getRef(SqlClient.SafeIntegers))
          const args = params.map(bindParam)
          let out: unknown
          if (statement.columns().length === 0) {
            const result = statement.run(...args)
            out = mode === "raw" ? result : []
          } else if (mode === "values") {
            statement.setReturnArrays(true)
            try {
              out = statement.all(...args)
            } finally {
              statement.setReturnArrays(false)
            }
          } else {
            out = statement.all(...args)
          }
          stats.statements++
          stats.sqliteMs += performance.now() - t
          return Effect.succeed(out)
        } catch (cause) {
          return Effect.fail(toSqlError(cause, `Failed to execute statement on ${config.filename}`, "execute"))
        }
      })

    const connection: Connection = {
      execute: (sql, params, transformRows) => {
        const effect = run(sql, params, "rows", true)
        return transformRows ? Effect.map(effect, transformRows) : effect
      },
      executeRaw: (sql, params) => run(sql, params, "raw", true),
      executeValues: (sql, params) => run(sql, params, "values", true),
      executeValuesUnprepared: (sql, params) => run(sql, params, "values", false),
      executeUnprepared: (sql, params, transformRows) => {
        const effect = run(sql, params ?? [], "rows", false)
        return transformRows ? Effect.map(effect, transformRows) : effect
      },
      // DatabaseSync has no asynchronous cursor: the rows are read, then streamed.
      executeStream: (sql, params, transformRows) =>
        Stream.fromIterableEffect(
          transformRows ? Effect.map(run(sql, params, "rows", true), transformRows) : run(sql, params, "rows", true)
        )
    }

    const acquirers = SqlClient.makeSqliteAcquirers({
      connection: Effect.succeed(connection),
      semaphore: yield* Semaphore.make(1),
      isTransaction: () => db.isTransaction
    })
    const client = yield* SqlClient.make({
      ...acquirers,
      compiler,
      driver: "sqlite-node-builtin",
      spanAttributes: [["db.system.name", "sqlite"]]
    })
    return Object.assign(client, { db, filename: config.filename, stats }) as SqliteClient
  }).pipe(Effect.provide(Reactivity.layer))

// -----------------------------------------------------------------------------
// Layers
// -----------------------------------------------------------------------------

/**
 * The client as both `SqliteClient` and effect's `SqlClient` (what `effect/cluster` storage needs).
 *
 * **Example**
 * ```ts
 * import { SqliteClient } from "@troupe/durable"
 * import { SqlClient } from "effect/sql"
 * const program = SqlClient.SqlClient.use((sql) => sql`SELECT 1 AS one`)
 * program.pipe(Effect.provide(SqliteClient.layer({ filename: ".troupe/app.db" })))
 * ```
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (config: Config): Layer.Layer<SqliteClient | SqlClient.SqlClient, OpenError> =>
  Layer.effectContext(
    Effect.map(make(config), (client) => Context.make(SqliteClient, client).pipe(Context.add(SqlClient.SqlClient, client)))
  )
