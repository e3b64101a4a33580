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

describe("durable compensations", () => {
  it("killed while compensating: finished compensations are not run again, the others run on resume", async () => {
    const dir = mkdtempSync(join(tmpdir(), "troupe-saga-"))
    const db = join(dir, "saga.db")
    const journal = join(dir, "saga.journal")
    // Compensations run in reverse completion order: charge, then reserve. Kill as reserve's starts.
    const first = await runFixture("saga.ts", db, "s", journal, "UNDO-START reserve")
    expect(first.killed, first.stderr).toBe(true)
    expect(lines(journal)).toEqual(["DO reserve", "DO charge", "DO ship", "UNDO-START charge", "UNDO charge c-1", "UNDO-START reserve"])
    const second = await runFixture("saga.ts", db, "s", journal)
    expect(second.result, second.stderr).toBe("WorkflowFailed charge:completed,reserve:completed")
    // The second process ran no task and only the compensation that had not finished.
    expect(lines(journal).slice(6)).toEqual(["UNDO-START reserve", "UNDO reserve r-1"])
    // The history records each compensation once.
    const [events] = await history(db, "s")
    const compensated = events.flatMap((e) => (e._tag === "TaskCompensated" ? [e.taskId] : []))
    expect(compensated).toEqual(["charge", "reserve"])
    // Joining the finished run returns its stored result without running anything.
    const third = await runFixture("saga.ts", db, "s", journal)
    expect(third.result).toBe("WorkflowFailed charge:completed,reserve:completed")
    expect(lines(journal).length).toBe(8)
  }, 120_000)

  it("killed while compensating after a cancel: the resume runs the missing compensations only, then ends cancelled", async () => {
    const dir = mkdtempSync(join(tmpdir(), "troupe-cancel-"))
    const db = join(dir, "cancel.db")
    const journal = join(dir, "cancel.journal")
    // `wait` never ends; the process cancels the run when it starts: charge's compensation, then reserve's.
    const first = await runFixture("cancel.ts", db, "c", journal, "UNDO-START reserve")
    expect(first.killed, first.stderr).toBe(true)
    expect(lines(journal)).toEqual(["DO reserve", "DO charge", "DO wait", "UNDO-START charge", "UNDO charge c-1", "UNDO-START reserve"])
    const second = await runFixture("cancel.ts", db, "c", journal)
    expect(second.result, second.stderr).toBe("WorkflowCancelled")
    // No task ran again (not even `wait`, which never finished), and only reserve's compensation.
    expect(lines(journal).slice(6)).toEqual(["UNDO-START reserve", "UNDO reserve r-1"])
    const [events, record] = await history(db, "c")
    expect(record.status).toBe("cancelled")
    expect(events.flatMap((e) => (e._tag === "TaskCompensated" ? [e.taskId] : []))).toEqual(["charge", "reserve"])
    expect(events.filter((e) => e._tag === "TaskStarted" && e.taskId === "wait").length).toBe(1)
    // Joining the finished run runs nothing more.
    const third = await runFixture("cancel.ts", db, "c", journal)
    expect(third.result).toBe("WorkflowCancelled")
    expect(lines(journal).length).toBe(8)
  }, 120_000)
})
