/**
 * Durable signals and timers with real processes: a run waiting for an approval is SIGKILLed, the
 * approval is delivered while nothing runs, the restarted run takes it; then a run waiting on a 12 s timer
 * is SIGKILLed and the restarted one waits only for what is left of it.
 */
import { describe, expect, it } from "@effect/vitest"
import { spawn } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, Fiber, Layer, Schema } from "effect"
import { TestClock } from "effect/testing"
import { RunStore, Signal } from "@troupe/core"
import { SignalsSql, SqliteClient } from "@troupe/durable"
import { fixture, node } from "./fixtures/node.ts"

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

interface Proc {
  readonly out: () => string
  readonly err: () => string
  readonly kill: () => Promise<void>
  readonly exited: Promise<number | null>
}

const spawnFixture = (args: ReadonlyArray<string>): Proc => {
  const child = spawn(node, ["--conditions=source", fixture("signals.ts"), ...args], { stdio: ["ignore", "pipe", "pipe"] })
  let out = ""
  let err = ""
  child.stdout.on("data", (d) => (out += d))
  child.stderr.on("data", (d) => (err += d))
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)))
  return {
    out: () => out,
    err: () => err,
    kill: async () => {
      child.kill("SIGKILL")
      await exited
    },
    exited
  }
}

const waitFor = async (proc: Proc, pattern: RegExp, timeoutMs = 30_000): Promise<RegExpExecArray> => {
  const end = Date.now() + timeoutMs
  while (true) {
    const m = pattern.exec(proc.out())
    if (m !== null) return m
    if (Date.now() > end) throw new Error(`no ${pattern} in time; stdout: ${proc.out()} stderr: ${proc.err()}`)
    await sleep(50)
  }
}

const journalLines = (file: string) =>
  existsSync(file) ? readFileSync(file, "utf8").trim().split("\n").filter((l) => l !== "") : []

describe("SignalsSql", () => {
  it("a wait for a signal and a durable timer survive SIGKILL", async () => {
    const dir = mkdtempSync(join(tmpdir(), "troupe-signals-"))
    const db = join(dir, "app.db")
    const journal = join(dir, "journal.txt")
    const runId = "flow-1"

    const p1 = spawnFixture(["run", db, runId, journal])
    await waitFor(p1, /^WAITING signal approval \d+$/m)
    await p1.kill()

    // Delivered while nothing runs; bad input is refused with typed errors.
    const bad = spawnFixture(["send", db, runId, JSON.stringify({ approved: "yes", by: "ada" })])
    await bad.exited
    expect(bad.out()).toMatch(/^ERROR InvalidPayload Signal "approval" to run "flow-1": the payload does not match/m)
    const unknown = spawnFixture(["send", db, "no-such-run", JSON.stringify({ approved: true, by: "ada" })])
    await unknown.exited
    expect(unknown.out()).toContain(`ERROR UnknownRun Signal "approval" to run "no-such-run"`)
    const good = spawnFixture(["send", db, runId, JSON.stringify({ approved: true, by: "ada" })])
    await good.exited
    expect(good.out().trim()).toBe("SENT")

    // The restarted run takes the stored approval and starts its 12 s timer; kill it 1.5 s into the timer.
    const p2 = spawnFixture(["run", db, runId, journal])
    const timer = await waitFor(p2, /^WAITING timer cool-off (\d+)$/m)
    const until = Number(timer[1])
    await sleep(1_500)
    await p2.kill()
    await sleep(3_000)

    const p3 = spawnFixture(["run", db, runId, journal])
    const result = await waitFor(p3, /^RESULT (.*)$/m, 40_000)
    await p3.exited
    expect(JSON.parse(result[1]!)).toMatchObject({
      approve: { approved: true, by: "ada" },
      finish: "prepared T-42, approved by ada"
    })
    const lines = journalLines(journal)
    // The completed task never ran again.
    expect(lines.filter((l) => l.startsWith("START prepare"))).toHaveLength(1)
    // The timer ended at its stored deadline, not 12 s after the restart (that would be at least 4.5 s
    // after the deadline: 1.5 s before the kill, 3 s down, and the restart's boot).
    const finishedAt = Number(lines.find((l) => l.startsWith("FINISH"))!.split(" ")[1])
    expect(finishedAt).toBeGreaterThanOrEqual(until - 50)
    expect(finishedAt).toBeLessThan(until + 3_000)
  }, 120_000)

  it.effect("on SQLite without the engine: kept signals, deadlines and typed errors (TestClock)", () =>
    Effect.gen(function*() {
      const Review = Signal.make("review", Schema.Struct({ ok: Schema.Boolean }))
      const signals = yield* Signal.Signals
      // A run with a finished record in the RunStore does not accept signals.
      const store = yield* RunStore.RunStore
      yield* store.register({ runId: "done", workflow: "w", plan: { name: "w", nodes: [] } as never, input: null })
      yield* store.setStatus("done", "completed")
      const finished = yield* Effect.flip(signals.send("done", Review, { ok: true }))
      expect(finished._tag).toBe("UnknownRun")

      yield* signals.open("r1", [Review])
      yield* signals.send("r1", Review, { ok: true })
      yield* signals.send("r1", Review, { ok: false })
      const a = yield* signals.await({ runId: "r1", taskId: "t", key: "t/review", signal: Review })
      // The same key again (a replay) gets the same payload, not the next one.
      const replay = yield* signals.await({ runId: "r1", taskId: "t", key: "t/review", signal: Review })
      const b = yield* signals.await({ runId: "r1", taskId: "t", key: "t/review#1", signal: Review })
      expect([a, replay, b]).toEqual([{ ok: true }, { ok: true }, { ok: false }])

      const waiting = yield* signals.await({ runId: "r1", taskId: "t", key: "t/review#2", signal: Review, timeoutMs: 60_000 }).pipe(
        Effect.flip,
        Effect.forkChild
      )
      yield* TestClock.adjust("1 minute")
      const timeout = yield* Fiber.join(waiting)
      expect(timeout.message).toBe(`Task "t" of run "r1" waited 1m for signal "review" in vain`)
      const unknownName = yield* Effect.flip(signals.sendUnknown("r1", "reveiw", { ok: true }))
      expect(unknownName.message).toBe(`Run "r1" has no signal "reveiw" (known: "review")`)
    }).pipe(
      Effect.provide(
        SignalsSql.layer.pipe(
          Layer.provideMerge(RunStore.layerMemory),
          Layer.provide(SqliteClient.layer({ filename: join(mkdtempSync(join(tmpdir(), "troupe-signals-")), "s.db") }))
        )
      )
    ))
})
