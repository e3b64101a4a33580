/**
 * Kill -9 correctness with real processes and a real database file.
 *
 * A child process runs the 20-task `soak` workflow (two branches, a resource pool, a retried task, a
 * sub-workflow: test/fixtures/dag.ts) durably; the test SIGKILLs it at random moments (a timer that lands
 * mid-task or during the replay after a restart; right after a task's side effect; right after a task's
 * completion; after the body returned) and restarts it until the run completes. Every run must finish with
 * the outputs of an uninterrupted run, and the side-effect journal must show no task started again after its
 * completion was recorded (only tasks in flight at a kill run again: at-least-once).
 *
 * 8 kills by default; TROUPE_SOAK=1 runs 50.
 */
import { describe, expect, it } from "@effect/vitest"
import { spawn } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fixture, node } from "./fixtures/node.ts"

const SOAK = process.env["TROUPE_SOAK"] === "1"
const KILLS = SOAK ? 50 : 8

const paths = [
  "plan", "a1", "a2", "a3", "a4", "a5", "a6", "a7", "b1", "b2", "b3", "flaky", "b4", "b5", "b6",
  "sub/s1", "sub/s2", "sub/s3", "c1", "c2", "c3", "join"
]

interface Outcome {
  readonly killed: boolean
  readonly result: string | undefined
  readonly skipped: string | undefined
  readonly stderr: string
}

/** Runs the fixture once; `kill` decides how (and whether) the test kills it. */
const runOnce = (
  db: string,
  runId: string,
  journal: string,
  kill: { readonly afterMs?: number; readonly crashAt?: string },
  env: Readonly<Record<string, string>> = {}
): Promise<Outcome> =>
  new Promise((resolve) => {
    const child = spawn(node, ["--conditions=source", fixture("dag.ts"), db, runId, journal], {
      env: { ...process.env, CRASH_AT: kill.crashAt ?? "", ...env },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    let timer: ReturnType<typeof setTimeout> | undefined
    child.stderr.on("data", (d) => (stderr += d))
    // The timer starts when the process has booted (layers built, the run about to start or resume).
    child.stdout.on("data", (d) => {
      stdout += d
      if (timer === undefined && kill.afterMs !== undefined && stdout.includes("BOOT")) {
        timer = setTimeout(() => child.kill("SIGKILL"), kill.afterMs)
      }
    })
    child.on("exit", (_code, signal) => {
      if (timer !== undefined) clearTimeout(timer)
      const result = /^RESULT (.*)$/m.exec(stdout)?.[1]
      const skipped = /^SKIPPED (.*)$/m.exec(stdout)?.[1]
      resolve({ killed: signal === "SIGKILL", result, skipped, stderr })
    })
  })

/** Journal lines as [kind, path, pid]. */
const readJournal = (file: string) =>
  existsSync(file)
    ? readFileSync(file, "utf8").trim().split("\n").map((line) => line.split(" "))
    : []

/** Paths that started again after their completion was recorded (must be none). */
const rerunsAfterCompletion = (file: string): Array<string> => {
  const completed = new Set<string>()
  const bad: Array<string> = []
  for (const [kind, path] of readJournal(file)) {
    if (kind === "COMPLETED") completed.add(path!)
    if (kind === "START" && completed.has(path!)) bad.push(path!)
  }
  return bad
}

/** A small deterministic PRNG so a failing schedule can be replayed (seed printed on failure). */
const prng = (seed: number) => () => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff
  return seed / 0x7fffffff
}

describe("durable runs survive SIGKILL", () => {
  it(`${KILLS} kills at random moments: outputs equal an uninterrupted run's, no completed task re-runs`, async () => {
    const dir = mkdtempSync(join(tmpdir(), "troupe-kill-"))
    const reference = await runOnce(join(dir, "ref.db"), "ref", join(dir, "ref.journal"), {})
    expect(reference.result, reference.stderr).toBeDefined()
    const refStarts = readJournal(join(dir, "ref.journal")).filter(([k]) => k === "START")
    // 22 task executions + 1 retry of `flaky`.
    expect(refStarts.length).toBe(23)

    const seed = Number(process.env["TROUPE_SOAK_SEED"] ?? Date.now() % 100_000)
    const random = prng(seed)
    const pick = <A>(xs: ReadonlyArray<A>): A => xs[Math.floor(random() * xs.length)]!
    const db = join(dir, "soak.db")
    let kills = 0
    let run = 0
    const log: Array<string> = []
    while (kills < KILLS) {
      const runId = `run-${run++}`
      const journal = join(dir, `${runId}.journal`)
      const killsThisRun = 1 + Math.floor(random() * 3)
      for (let k = 0; k < killsThisRun && kills < KILLS; k++) {
        const mode = pick(["timer", "timer", "afterDone", "afterCompleted", "bodyEnd", "replay"] as const)
        const kill = mode === "timer"
          ? { afterMs: Math.floor(random() * 1100) }
          : mode === "replay"
          ? { afterMs: Math.floor(random() * 120) }
          : mode === "afterDone"
          ? { crashAt: `DONE ${pick(paths)}` }
          : mode === "afterCompleted"
          ? { crashAt: `COMPLETED ${pick(paths)}` }
          : { crashAt: "BODY_END" }
        const outcome = await runOnce(db, runId, journal, kill)
        log.push(`${runId} ${mode} ${JSON.stringify(kill)} -> ${outcome.killed ? "killed" : "finished"}`)
        if (outcome.killed) kills++
        else {
          expect(outcome.result, `seed ${seed}: ${outcome.stderr}`).toBe(reference.result)
          break
        }
      }
      const final = await runOnce(db, runId, journal, {})
      expect(final.result, `seed ${seed}\n${log.join("\n")}\n${final.stderr}`).toBe(reference.result)
      expect(rerunsAfterCompletion(journal), `seed ${seed}\n${log.join("\n")}`).toEqual([])
      const starts = readJournal(journal).filter(([k]) => k === "START").length
      log.push(`${runId}: ${starts} task starts (23 without kills)`)
    }
    console.log(`seed ${seed}: ${kills} kills over ${run} runs\n${log.join("\n")}`)
  }, SOAK ? 3_600_000 : 600_000)

  it("a second process on the same database gets DatabaseLocked and runs nothing", async () => {
    const dir = mkdtempSync(join(tmpdir(), "troupe-lock-"))
    const db = join(dir, "soak.db")
    const journal = join(dir, "run.journal")
    const first = runOnce(db, "locked", journal, {}, { SLOW_MS: "400" })
    // Wait until the first process has booted (it holds the lock from then on).
    for (let i = 0; i < 300 && !readJournal(journal).some(([k]) => k === "BOOT"); i++) {
      await new Promise((r) => setTimeout(r, 50))
    }
    const second = await runOnce(db, "locked", join(dir, "second.journal"), {})
    expect(second.result).toBeUndefined()
    expect(second.stderr).toContain("DatabaseLocked")
    expect(second.stderr).toContain("is in use by another process")
    expect(readJournal(join(dir, "second.journal"))).toEqual([])
    const done = await first
    expect(done.result).toBeDefined()
    expect(readJournal(journal).filter(([k]) => k === "START").length).toBe(23)
  }, 120_000)
})
