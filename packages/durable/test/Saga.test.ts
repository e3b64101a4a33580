/**
 * Durable compensations with a real process and SIGKILL: a run that failed and was killed while
 * compensating resumes its compensations where they stopped. A compensation that finished before the kill
 * is not run again (its journaled result comes back); the one that had not finished runs on resume.
 */
import { describe, expect, it } from "@effect/vitest"
import { spawn } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect } from "effect"
import { RunStore } from "@troupe/core"
import * as Durable from "../src/Durable.ts"
import { fixture, node } from "./fixtures/node.ts"

const runSaga = (db: string, runId: string, journal: string, crashAt = "") =>
  new Promise<{ readonly killed: boolean; readonly result: string | undefined; readonly stderr: string }>((resolve) => {
    const child = spawn(node, ["--conditions=source", fixture("saga.ts"), db, runId, journal], {
      env: { ...process.env, CRASH_AT: crashAt },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (d) => (stdout += d))
    child.stderr.on("data", (d) => (stderr += d))
    child.on("exit", (_code, signal) =>
      resolve({ killed: signal === "SIGKILL", result: /^RESULT (.*)$/m.exec(stdout)?.[1], stderr }))
  })

/** Journal lines without the pid. */
const lines = (file: string) =>
  existsSync(file) ? readFileSync(file, "utf8").trim().split("\n").map((l) => l.replace(/ \d+$/, "")) : []

describe("durable compensations", () => {
  it("killed while compensating: finished compensations are not run again, the others run on resume", async () => {
    const dir = mkdtempSync(join(tmpdir(), "troupe-saga-"))
    const db = join(dir, "saga.db")
    const journal = join(dir, "saga.journal")
    // Compensations run in reverse completion order: charge, then reserve. Kill as reserve's starts.
    const first = await runSaga(db, "s", journal, "UNDO-START reserve")
    expect(first.killed, first.stderr).toBe(true)
    expect(lines(journal)).toEqual(["DO reserve", "DO charge", "DO ship", "UNDO-START charge", "UNDO charge c-1", "UNDO-START reserve"])
    const second = await runSaga(db, "s", journal)
    expect(second.result, second.stderr).toBe("WorkflowFailed charge:completed,reserve:completed")
    // The second process ran no task and only the compensation that had not finished.
    expect(lines(journal).slice(6)).toEqual(["UNDO-START reserve", "UNDO reserve r-1"])
    // The history records each compensation once.
    const events = await Effect.runPromise(
      RunStore.RunStore.use((s) => s.events("s")).pipe(Effect.provide(Durable.layer({ filename: db })))
    )
    const compensated = events.flatMap((e) => (e._tag === "TaskCompensated" ? [e.taskId] : []))
    expect(compensated).toEqual(["charge", "reserve"])
    // Joining the finished run returns its stored result without running anything.
    const third = await runSaga(db, "s", journal)
    expect(third.result).toBe("WorkflowFailed charge:completed,reserve:completed")
    expect(lines(journal).length).toBe(8)
  }, 120_000)
})
