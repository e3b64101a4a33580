import { assert, describe, it } from "@effect/vitest"
import { spawn, spawnSync } from "node:child_process"
import { fixture, node } from "./fixtures/node.ts"
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, Exit } from "effect"
import { SqlClient } from "effect/sql"
import * as SqliteClient from "../src/SqliteClient.ts"

const dir = () => mkdtempSync(join(tmpdir(), "troupe-sqlite-"))

const errorOf = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const exit = yield* Effect.exit(effect)
    assert.isTrue(Exit.isFailure(exit))
    if (Exit.isSuccess(exit)) throw new Error("expected a failure")
    const reason = exit.cause.reasons[0]!
    assert.strictEqual(reason._tag, "Fail")
    return (reason as unknown as { error: E }).error
  })

const query = (filename: string, options: Partial<SqliteClient.Config> = {}) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql`CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v TEXT)`
    yield* sql`INSERT INTO t (v) VALUES (${"x"})`
    return yield* sql<{ n: number }>`SELECT count(*) AS n FROM t`
  }).pipe(Effect.provide(SqliteClient.layer({ filename, ...options })))

describe("SqliteClient", () => {
  it.effect("runs statements on a WAL database, keeps prepared statements, reads bigints when asked", () =>
    Effect.gen(function*() {
      const filename = join(dir(), "a.db")
      const rows = yield* query(filename)
      assert.deepStrictEqual(rows, [{ n: 1 }])
      const again = yield* query(filename, { synchronous: "FULL" })
      assert.deepStrictEqual(again, [{ n: 2 }])
      const big = yield* Effect.gen(function*() {
        const sql = yield* SqliteClient.SqliteClient
        assert.strictEqual((sql.db.prepare("PRAGMA journal_mode").get() as { journal_mode: string }).journal_mode, "wal")
        return yield* sql<{ n: bigint }>`SELECT 9007199254740993 AS n`.pipe(Effect.provideService(SqlClient.SafeIntegers, true))
      }).pipe(Effect.provide(SqliteClient.layer({ filename })))
      assert.strictEqual(big[0]!.n, 9007199254740993n)
    }))

  it.effect("a file that is not a database: NotADatabase, and the file is untouched", () =>
    Effect.gen(function*() {
      const filename = join(dir(), "notes.txt")
      const text = "these are my notes, not a database\n".repeat(100)
      writeFileSync(filename, text)
      const error = yield* errorOf(query(filename))
      assert.strictEqual(error._tag, "NotADatabase")
      assert.include(error.message, filename)
      assert.strictEqual(readFileSync(filename, "utf8"), text)
    }))

  it.effect("a missing or read-only directory: DatabaseDirectoryError naming the directory", () =>
    Effect.gen(function*() {
      const base = dir()
      const missing = yield* errorOf(query(join(base, "nope", "a.db")))
      assert.strictEqual(missing._tag, "DatabaseDirectoryError")
      assert.include(missing.message, join(base, "nope"))
      assert.strictEqual((missing as SqliteClient.DatabaseDirectoryError).reason, "missing")
      const ro = join(base, "ro")
      spawnSync("mkdir", [ro])
      chmodSync(ro, 0o555)
      const readOnly = yield* errorOf(query(join(ro, "a.db")))
      assert.strictEqual(readOnly._tag, "DatabaseDirectoryError")
      assert.strictEqual((readOnly as SqliteClient.DatabaseDirectoryError).reason, "read-only")
      chmodSync(ro, 0o755)
    }))

  it.effect("a second writer is refused with DatabaseLocked; a reader is allowed; the lock ends with the scope", () =>
    Effect.gen(function*() {
      const filename = join(dir(), "a.db")
      yield* query(filename)
      const inner = yield* Effect.gen(function*() {
        const second = yield* errorOf(query(filename))
        assert.strictEqual(second._tag, "DatabaseLocked")
        assert.include(second.message, filename)
        return yield* query(filename, { readOnly: true }).pipe(Effect.catchTag("SqlError", () => Effect.succeed("read-only refused writes")))
      }).pipe(Effect.provide(SqliteClient.layer({ filename })))
      assert.strictEqual(inner, "read-only refused writes")
      assert.deepStrictEqual(yield* query(filename), [{ n: 2 }])
    }))

  it("a second process on the same file gets DatabaseLocked; the lock dies with its holder", async () => {
    const filename = join(dir(), "a.db")
    const holder = spawn(node, ["--conditions=source", fixture("open.ts"), filename, "20000"], { stdio: ["ignore", "pipe", "inherit"] })
    try {
      // Wait until the holder has the database open (it creates the lock file).
      for (let i = 0; i < 200 && !existsSync(`${filename}-lock`); i++) await new Promise((r) => setTimeout(r, 50))
      await new Promise((r) => setTimeout(r, 300))
      const second = spawnSync(node, ["--conditions=source", fixture("open.ts"), filename, "0"], { encoding: "utf8" })
      assert.strictEqual(second.stdout.trim(), "DatabaseLocked")
    } finally {
      holder.kill("SIGKILL")
    }
    await new Promise((r) => holder.once("exit", r))
    // The OS released the killed holder's lock: no stale lock.
    const third = spawnSync(node, ["--conditions=source", fixture("open.ts"), filename, "0"], { encoding: "utf8" })
    assert.strictEqual(third.stdout.trim(), "ok")
  }, 30_000)
})
