/**
 * Durable schedules: the timing state is in the SQLite file, so a killed process restarted later goes on
 * from it and applies the missed-run policy (a real process, SIGKILL, real time).
 */
import { describe, expect, it } from "@effect/vitest"
import { spawn } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, Layer, Schema } from "effect"
import { TestClock } from "effect/testing"
import { RunStore, Schedules, Workflow } from "@troupe/core"
import { Durable, SchedulesSql, SqliteClient } from "@troupe/durable"
import { fixture, node } from "./fixtures/node.ts"

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const fires = (journal: string) =>
  existsSync(journal)
    ? readFileSync(journal, "utf8").trim().split("\n").filter((l) => l !== "").map((line) => {
      const [, at, catchUp, pid] = line.split(" ")
      return { at: Date.parse(at!), catchUp: catchUp === "true", pid: Number(pid) }
    })
    : []

const start = (db: string, journal: string) => {
  const child = spawn(node, ["--conditions=source", fixture("schedules.ts"), db, journal], {
    stdio: ["ignore", "pipe", "pipe"]
  })
  let stderr = ""
  child.stderr.on("data", (d) => (stderr += d))
  return { child, stderr: () => stderr }
}

const until = async (what: () => boolean, timeoutMs: number) => {
  const end = Date.now() + timeoutMs
  while (!what()) {
    if (Date.now() > end) throw new Error("timed out")
    await sleep(50)
  }
}

describe("SchedulesSql", () => {
  it("a schedule survives SIGKILL: the restarted process catches up the latest missed fires and goes on", async () => {
    const dir = mkdtempSync(join(tmpdir(), "troupe-schedules-"))
    const db = join(dir, "app.db")
    const journal = join(dir, "journal.txt")

    const first = start(db, journal)
    await until(() => fires(journal).length >= 2, 20_000).catch((e) => {
      throw new Error(`${e}: ${first.stderr()}`)
    })
    first.child.kill("SIGKILL")
    await new Promise((resolve) => first.child.on("exit", resolve))
    const before = fires(journal)
    await sleep(3_500) // at least three fires fall due while nothing runs

    const second = start(db, journal)
    await until(() => fires(journal).length >= before.length + 4, 20_000).catch((e) => {
      throw new Error(`${e}: ${second.stderr()}`)
    })
    second.child.kill("SIGKILL")
    await new Promise((resolve) => second.child.on("exit", resolve))

    const all = fires(journal)
    const after = all.slice(before.length)
    expect(new Set(after.map((f) => f.pid)).size).toBe(1)
    expect(after[0]!.pid).not.toBe(before[0]!.pid)
    // No fire time ran twice, and every fire is on the grid of the first one (stored anchor).
    expect(new Set(all.map((f) => f.at)).size).toBe(all.length)
    for (const f of all) expect((f.at - before[0]!.at) % 1000).toBe(0)
    // The restart ran exactly the 2 latest missed fires first (catch-up), then ordinary fires.
    expect(after.slice(0, 2).map((f) => f.catchUp)).toEqual([true, true])
    expect(after.slice(2).every((f) => !f.catchUp)).toBe(true)
    expect(after[1]!.at - after[0]!.at).toBe(1000)
    // The fires between the last one before the kill and the first catch-up were missed (not run).
    expect(after[0]!.at - before.at(-1)!.at).toBeGreaterThanOrEqual(2000)
  }, 60_000)

  it.effect("the store round-trips through SQLite and restarts continue from it (TestClock)", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.parse("2024-12-20T00:00:00Z"))
      const dir = mkdtempSync(join(tmpdir(), "troupe-schedules-"))
      const sqlite = SqliteClient.layer({ filename: join(dir, "s.db") })
      const log: Array<string> = []
      const declare = Effect.gen(function*() {
        const schedules = yield* Schedules.Schedules
        return yield* schedules.add({
          id: "hourly",
          when: Schedules.every("1 hour"),
          target: Schedules.effect("log", (_: void, fire) => Effect.sync(() => void log.push(fire.at.toISOString()))),
          missed: { catchUp: 1 }
        })
      })
      yield* Effect.gen(function*() {
        yield* declare
        yield* TestClock.adjust("150 minutes")
        const schedules = yield* Schedules.Schedules
        yield* schedules.pause("hourly")
        yield* schedules.resume("hourly")
      }).pipe(Effect.provide(SchedulesSql.layer().pipe(Layer.provide(sqlite)), { local: true }))
      yield* TestClock.adjust("5 hours")
      const stored = yield* Effect.gen(function*() {
        const info = yield* declare
        yield* TestClock.adjust("1 second")
        const store = yield* Schedules.Store
        return { info, rows: yield* store.list, history: yield* Schedules.Schedules.use((s) => s.history("hourly")) }
      }).pipe(Effect.provide(SchedulesSql.layer().pipe(Layer.provide(sqlite)), { local: true }))
      expect(log).toEqual(["2024-12-20T01:00:00.000Z", "2024-12-20T02:00:00.000Z", "2024-12-20T07:00:00.000Z"])
      expect(stored.info.lastFireAt?.toISOString()).toBe("2024-12-20T07:00:00.000Z")
      expect(stored.history.map((r) => `${r.status}${r.count === undefined ? "" : ` ${r.count}`}`)).toEqual([
        "missed 4",
        "completed"
      ])
      expect(stored.rows).toMatchObject([{ id: "hourly", paused: false, nextFireAt: Date.parse("2024-12-20T08:00:00Z") }])
    }))

  it.live("a durable workflow target runs each fire as a durable run named by the fire", () =>
    Effect.gen(function*() {
      const greet = Workflow.make("greet", { input: Schema.Struct({ at: Schema.String }) })
        .task("hello", ({ input }) => Effect.succeed(`hello at ${input.at}`))
      const schedules = yield* Schedules.Schedules
      yield* schedules.add({
        id: "greeter",
        when: Schedules.every("300 millis"),
        target: SchedulesSql.durableWorkflow(greet),
        input: (at) => ({ at: at.toISOString() })
      })
      yield* Effect.sleep("1 second")
      yield* schedules.delete("greeter")
      const runs = yield* RunStore.RunStore.use((store) => store.list({ workflow: "greet" }))
      expect(runs.length).toBeGreaterThanOrEqual(2)
      for (const run of runs) {
        expect(run.runId).toMatch(/^greeter@\d{4}-\d\d-\d\dT/)
        expect(run.durable).toBe(true)
      }
      const done = runs.filter((r) => r.status === "completed")
      expect(done.length).toBeGreaterThanOrEqual(1)
      // The same fire again (a restart that re-ran it) joins the stored run and gets its result.
      const at = done[0]!.runId.slice("greeter@".length)
      const again = yield* Durable.run(greet, { at }, { runId: done[0]!.runId })
      expect(again.outputs.hello).toBe(`hello at ${at}`)
      expect(again.executed).toEqual([])
    }).pipe(
      Effect.provide(
        SchedulesSql.layer().pipe(
          Layer.provideMerge(Durable.layer({ filename: join(mkdtempSync(join(tmpdir(), "troupe-schedules-")), "d.db") }))
        )
      )
    ), 30_000)
})
