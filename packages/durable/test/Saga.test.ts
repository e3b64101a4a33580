/**
 * Durable compensations with a real process and SIGKILL: a run that failed (or was cancelled) and was
 * killed while compensating resumes its compensations where they stopped. A compensation that finished
 * before the kill is not run again (its journaled result comes back); the one that had not finished runs on
 * resume.
 */
import { describe, expect, it } from "@effect/vitest"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect } from "effect"
import { RunStore } from "@troupe/core"
import * as Durable from "../src/Durable.ts"
import { journalLines as lines, runFixture } from "./fixtures/node.ts"

const history = (db: string, runId: string) =>
  Effect.runPromise(
    RunStore.RunStore.use((s) => Effect.all([s.events(runId), s.get(runId)])).pipe(
      Effect.provide(Durable.layer({ filename: db }))
    )
  )

/**
 * Runs `fixture` until it SIGKILLs itself as reserve's compensation starts (after charge's finished), then
 * again: checks what each process did, and that joining the finished run runs nothing. Its last task is
 * `last` (`ship` fails, or `wait` is cancelled).
 */
const killWhileCompensating = async (fixture: string, last: string, result: string) => {
  const dir = mkdtempSync(join(tmpdir(), "troupe-saga-"))
  const db = join(dir, "saga.db")
  const journal = join(dir, "saga.journal")
  // Compensations run in reverse completion order: charge, then reserve. Kill as reserve's starts.
  const first = await runFixture(fixture, db, "s", journal, "UNDO-START reserve")
  expect(first.killed, first.stderr).toBe(true)
  expect(lines(journal)).toEqual(["DO reserve", "DO charge", `DO ${last}`, "UNDO-START charge", "UNDO charge c-1", "UNDO-START reserve"])
  const second = await runFixture(fixture, db, "s", journal)
  expect(second.result, second.stderr).toBe(result)
  // The second process ran no task (not even one in flight at the kill) and only the compensation that had
  // not finished.
  expect(lines(journal).slice(6)).toEqual(["UNDO-START reserve", "UNDO reserve r-1"])
  // The history records each compensation once, and each task's start once.
  const [events, record] = await history(db, "s")
  expect(events.flatMap((e) => (e._tag === "TaskCompensated" ? [e.taskId] : []))).toEqual(["charge", "reserve"])
  expect(events.flatMap((e) => (e._tag === "TaskStarted" ? [e.taskId] : []))).toEqual(["reserve", "charge", last])
  // Joining the finished run returns its stored result without running anything.
  const third = await runFixture(fixture, db, "s", journal)
  expect(third.result).toBe(result)
  expect(lines(journal).length).toBe(8)
  return record
}

describe("durable compensations", () => {
  it("killed while compensating after a failure: finished compensations are not run again, the others run on resume", async () => {
    const record = await killWhileCompensating("saga.ts", "ship", "WorkflowFailed charge:completed,reserve:completed")
    expect(record.status).toBe("failed")
  }, 120_000)

  it("killed while compensating after a cancel: the resume runs the missing compensations only, then ends cancelled", async () => {
    // `wait` never ends; the process cancels the run when it starts.
    const record = await killWhileCompensating("cancel.ts", "wait", "WorkflowCancelled")
    expect(record.status).toBe("cancelled")
  }, 120_000)
})
