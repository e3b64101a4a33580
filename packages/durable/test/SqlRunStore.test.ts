import { assert, describe, it } from "@effect/vitest"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, Layer } from "effect"
import { TestClock } from "effect/testing"
import { SqlClient } from "effect/sql"
import { Plan, RunStore, Workflow } from "@troupe/core"
import { runStoreContract } from "../../core/test/RunStoreContract.ts"
import * as SqliteClient from "../src/SqliteClient.ts"
import * as SqlRunStore from "../src/SqlRunStore.ts"

const fresh = () => join(mkdtempSync(join(tmpdir(), "troupe-store-")), "runs.db")

runStoreContract("sqlite", () => SqlRunStore.layer.pipe(Layer.provideMerge(SqliteClient.layer({ filename: fresh() }))))

describe("SqlRunStore on a file", () => {
  const plan = Plan.fromWorkflow(Workflow.make("w").task("a", () => Effect.succeed(1)))

  it.effect("what is stored survives reopening the database", () =>
    Effect.gen(function*() {
      const filename = fresh()
      const layer = () => SqlRunStore.layer.pipe(Layer.provideMerge(SqliteClient.layer({ filename })))
      yield* RunStore.RunStore.use((store) =>
        Effect.gen(function*() {
          yield* store.register({ runId: "r", workflow: "w", plan, input: { a: [1, 2] } })
          yield* store.append("r", [{ _tag: "RunStarted", runId: "r", at: 5, workflow: "w", total: 1 }, {
            _tag: "TaskCompleted",
            runId: "r",
            at: 9,
            taskId: "a",
            attempts: 1,
            durationMs: 4,
            output: { deep: ["x"] }
          }, { _tag: "RunCompleted", runId: "r", at: 10, durationMs: 5 }])
        })
      ).pipe(Effect.provide(layer()))
      const [record, outputs, state] = yield* Effect.all([
        RunStore.RunStore.use((s) => s.get("r")),
        RunStore.RunStore.use((s) => s.outputs("r")),
        RunStore.state("r")
      ]).pipe(Effect.provide(layer()))
      assert.strictEqual(record.status, "completed")
      assert.deepStrictEqual(record.input, { a: [1, 2] })
      assert.deepStrictEqual(outputs, { a: { deep: ["x"] } })
      assert.strictEqual(state.status, "completed")
      assert.strictEqual(state.tasks[0]!.durationMs, 4)
    }))

  it.effect("a corrupted row: CorruptRecord says the table and row, and the row is left as stored", () =>
    Effect.gen(function*() {
      const filename = fresh()
      const layer = SqlRunStore.layer.pipe(Layer.provideMerge(SqliteClient.layer({ filename })))
      yield* Effect.gen(function*() {
        const store = yield* RunStore.RunStore
        const sql = yield* SqlClient.SqlClient
        yield* store.register({ runId: "r", workflow: "w", plan })
        yield* store.append("r", [{ _tag: "RunStarted", runId: "r", at: 5, workflow: "w", total: 1 }])
        yield* store.register({ runId: "ok", workflow: "w", plan })
        yield* sql`UPDATE troupe_run_events SET body = ${"{not json"} WHERE run_id = ${"r"}`
        const events = yield* Effect.flip(store.events("r"))
        assert.strictEqual(events._tag, "CorruptRecord")
        assert.include(events.message, "troupe_run_events")
        assert.include(events.message, "run r, event 0")
        yield* sql`UPDATE troupe_runs SET status = ${"exploded"} WHERE run_id = ${"r"}`
        const get = yield* Effect.flip(store.get("r"))
        assert.strictEqual(get._tag, "CorruptRecord")
        assert.include(get.message, "exploded")
        // Other runs still read; the damaged rows are still there for inspection.
        assert.strictEqual((yield* store.get("ok")).status, "pending")
        const raw = yield* sql<{ body: string }>`SELECT body FROM troupe_run_events WHERE run_id = ${"r"}`
        assert.deepStrictEqual(raw, [{ body: "{not json" }])
      }).pipe(Effect.provide(layer))
    }))

  it.effect("a plan is stored once for the runs that share it, and pruned with the last of them", () =>
    Effect.gen(function*() {
      const store = yield* RunStore.RunStore
      const sql = yield* SqlClient.SqlClient
      const plans = Effect.map(sql<{ n: number }>`SELECT count(*) AS n FROM troupe_plans`, (rows) => Number(rows[0]!.n))
      yield* store.register({ runId: "one", workflow: "w", plan })
      yield* store.register({ runId: "two", workflow: "w", plan })
      assert.strictEqual(yield* plans, 1)
      assert.deepStrictEqual(yield* store.plan("two"), yield* store.plan("one"))
      const other = Plan.fromWorkflow(Workflow.make("w").task("b", () => Effect.succeed(2)))
      yield* store.register({ runId: "three", workflow: "w", plan: other })
      assert.strictEqual(yield* plans, 2)
      for (const runId of ["one", "two", "three"]) yield* store.setStatus(runId, "completed")
      yield* TestClock.adjust("2 days")
      assert.strictEqual(yield* store.prune({ olderThan: "1 day" }), 3)
      assert.strictEqual(yield* plans, 0)
    }).pipe(Effect.provide(SqlRunStore.layer.pipe(Layer.provideMerge(SqliteClient.layer({ filename: fresh() }))))))

  it.effect("a read-only store beside the writer lists the writer's runs (troupe runs list while a run goes on)", () =>
    Effect.gen(function*() {
      const filename = fresh()
      yield* Effect.gen(function*() {
        const store = yield* RunStore.RunStore
        yield* store.register({ runId: "live", workflow: "w", plan })
        const seen = yield* RunStore.RunStore.use((s) => s.list()).pipe(
          Effect.provide(SqlRunStore.layer.pipe(Layer.provide(SqliteClient.layer({ filename, readOnly: true }))))
        )
        assert.deepStrictEqual(seen.map((r) => r.runId), ["live"])
      }).pipe(Effect.provide(SqlRunStore.layer.pipe(Layer.provideMerge(SqliteClient.layer({ filename })))))
    }))
})
