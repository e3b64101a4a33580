/**
 * Run-time child workflows (`info.runWorkflow`) under `Durable.run`, with a real process and SIGKILL. The
 * calling task is one journaled step; its child's tasks are journaled inside it by their paths
 * (`boss/team/t1`). A kill while the child is half done: on resume the calling task runs again (it was in
 * flight), its child's finished tasks come back from the journal, the task in flight runs again, the others
 * run. The caller's own work before the call runs again unless it is a `Durable.step`.
 */
import { assert, describe, expect, it } from "@effect/vitest"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Data, Deferred, Effect, Fiber, Schema } from "effect"
import { Policy, RunStore, Task, Workflow } from "@troupe/core"
import * as Durable from "../src/Durable.ts"
import { journalLines as lines, runFixture } from "./fixtures/node.ts"

const fresh = (name: string) => mkdtempSync(join(tmpdir(), `troupe-${name}-`))

/** The child's task events in the stored history, as `<caller>/<child task> <event>`. */
const childEvents = (db: string, runId: string) =>
  Effect.runPromise(
    RunStore.RunStore.use((s) => s.events(runId)).pipe(Effect.provide(Durable.layer({ filename: db })))
  ).then((events) =>
    events.flatMap((e) =>
      e._tag === "SubWorkflowEvent" && (e.event._tag === "TaskStarted" || e.event._tag === "TaskCompleted")
        ? [`${e.taskId}/${e.event.taskId} ${e.event._tag}`]
        : []
    )
  )

describe("durable run-time child workflows", () => {
  it("killed while the child is half done: its finished tasks are not run again, the history has them", async () => {
    const dir = fresh("child")
    const db = join(dir, "child.db")
    const journal = join(dir, "child.journal")
    const first = await runFixture("child.ts", db, "c", journal, "DO t2")
    expect(first.killed, first.stderr).toBe(true)
    expect(lines(journal)).toEqual(["DO plan", "BOSS-PRE", "DO t1", "DO t2"])
    const second = await runFixture("child.ts", db, "c", journal)
    expect(second.result, second.stderr).toBe("brief-3:t1-done,t2-done,t3-done")
    // `plan` and the child's t1 come back from the journal; t2 was in flight at the kill: it runs again
    // (at-least-once), so does the caller, which was in flight too, with its work before the call.
    expect(second.skipped).toBe("boss/team/t1,plan")
    expect(lines(journal).slice(4)).toEqual(["BOSS-PRE", "DO t2", "DO t3", "BOSS-POST"])
    // The stored history shows every task of the child completed once.
    const events = await childEvents(db, "c")
    expect(events.filter((e) => e.endsWith("TaskCompleted"))).toEqual([
      "boss/t1 TaskCompleted",
      "boss/t2 TaskCompleted",
      "boss/t3 TaskCompleted"
    ])
    // Joining the finished run runs nothing.
    const third = await runFixture("child.ts", db, "c", journal)
    expect(third.result).toBe("brief-3:t1-done,t2-done,t3-done")
    expect(lines(journal).length).toBe(8)
  }, 120_000)

  it("the caller's work before the call, as a Durable.step, is not run again on resume", async () => {
    const dir = fresh("child-step")
    const db = join(dir, "child.db")
    const journal = join(dir, "child.journal")
    const first = await runFixture("child.ts", db, "c", journal, "DO t2", { STEP: "1" })
    expect(first.killed, first.stderr).toBe(true)
    const second = await runFixture("child.ts", db, "c", journal, "", { STEP: "1" })
    expect(second.result, second.stderr).toBe("brief-3:t1-done,t2-done,t3-done")
    expect(lines(journal)).toEqual(["DO plan", "BOSS-PRE", "DO t1", "DO t2", "DO t2", "DO t3", "BOSS-POST"])
  }, 120_000)
})

class Flaky extends Data.TaggedError("Flaky")<{ readonly n: number }> {}

describe("Durable.step", () => {
  it.live("a successful step is not run again by a retry of its task; a failed one is", () =>
    Effect.gen(function*() {
      const filename = join(fresh("step"), "step.db")
      const calls = { plan: 0, flaky: 0, task: 0 }
      const wf = Workflow.make("steps").task("t", { retry: Policy.fixed({ maxRetries: 2, initialDelay: "0 millis" }) }, () =>
        Effect.gen(function*() {
          calls.task++
          const plan = yield* Durable.step("plan", Effect.sync(() => ++calls.plan))
          // Fails on its first run only.
          const checked = yield* Durable.step(
            "check",
            Effect.suspend(() => ++calls.flaky === 1 ? Effect.fail(new Flaky({ n: calls.flaky })) : Effect.succeed(calls.flaky))
          )
          if (calls.task === 1) return yield* Effect.fail(new Flaky({ n: 0 }))
          return { plan, checked }
        }))
      const result = yield* Durable.run(wf, undefined, { runId: "s" }).pipe(Effect.provide(Durable.layer({ filename })))
      // Attempt 1: plan runs, check fails. Attempt 2: plan comes back, check runs again and passes.
      assert.deepStrictEqual(result.outputs.t, { plan: 1, checked: 2 })
      assert.deepStrictEqual(calls, { plan: 1, flaky: 2, task: 2 })
    }))

  it.live("outside a durable run, a step is its effect", () =>
    Effect.gen(function*() {
      assert.strictEqual(yield* Durable.step("x", Effect.succeed(3)), 3)
    }))
})

describe("durable run-time children's output schemas", () => {
  it.live("a child task's output schema carries its value through the journal (a Date), live and on resume", () =>
    Effect.gen(function*() {
      const filename = join(fresh("child-schema"), "child.db")
      const ran: Array<string> = []
      const team = (hang: Deferred.Deferred<void> | undefined) =>
        Workflow.dynamic("team")
          .task("due", { output: Schema.Date }, () =>
            Effect.sync(() => {
              ran.push("due")
              return new Date(Date.UTC(2026, 11, 24))
            }))
          .task("remind", { dependsOn: ["due"] }, ({ due }) =>
            hang !== undefined
              ? Effect.andThen(Deferred.succeed(hang, undefined), Effect.never)
              : Effect.sync(() => {
                ran.push("remind")
                return `remind on ${(due as Date).toISOString().slice(0, 10)}`
              }))
      const project = (hang: Deferred.Deferred<void> | undefined) =>
        Workflow.make("schedule").task(
          "boss",
          Task.make({}, (_: {}, info: Task.TaskInfo) =>
            info.runWorkflow(team(hang), undefined, { name: "team" }).pipe(Effect.map((outputs) => outputs.remind)))
        )
      // The first "process" stops while `remind` is in flight: `due` (a Date) is journaled through its schema.
      const hang = yield* Deferred.make<void>()
      yield* Effect.scoped(Effect.gen(function*() {
        const fiber = yield* Effect.forkChild(Durable.run(project(hang), undefined, { runId: "d" }))
        // Without the child's schema the run ends early (NotSerialisable): it must reach `remind` instead.
        const first = yield* Effect.raceFirst(
          Deferred.await(hang).pipe(Effect.as("remind in flight")),
          Fiber.await(fiber).pipe(Effect.map((exit) => `ended: ${String(exit)}`))
        )
        expect(first).toBe("remind in flight")
        yield* Fiber.interrupt(fiber)
      }).pipe(Effect.provide(Durable.layer({ filename, shutdownTimeout: 100 }))))
      // The resume decodes `due` back into a Date (`remind` calls toISOString on it) without running it again.
      const result = yield* Durable.run(project(undefined), undefined, { runId: "d" }).pipe(
        Effect.provide(Durable.layer({ filename }))
      )
      expect(result.outputs.boss).toBe("remind on 2026-12-24")
      expect(result.skipped).toEqual(["boss/team/due"])
      expect(ran).toEqual(["due", "remind"])
    }), 60_000)
})
