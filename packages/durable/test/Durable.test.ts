/**
 * Durable runs in one process, on a real database file: joining a finished run, idempotency, what crosses
 * the journal (schemas, JSON, errors), version checks with their ways out, learned estimates, history.
 * A "crash" here is closing the layer while a task is blocked: the run stays unfinished in the journal.
 */
import { assert, describe, it } from "@effect/vitest"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Cause, Data, Deferred, Effect, Exit, Fiber, Schema } from "effect"
import { SqlClient } from "effect/sql"
import { Loop, type RunEvent, RunMetrics, RunStore, Workflow } from "@troupe/core"
import * as Durable from "../src/Durable.ts"

const fresh = () => join(mkdtempSync(join(tmpdir(), "troupe-durable-")), "runs.db")

const failureOf = <A, E>(exit: Exit.Exit<A, E>): E => {
  if (Exit.isSuccess(exit)) throw new Error("expected a failure")
  const error = Cause.findErrorOption(exit.cause)
  if (error._tag === "None") throw new Error(`expected a typed failure: ${Cause.pretty(exit.cause)}`)
  return error.value
}

class Boom extends Data.TaggedError("Boom")<{ readonly code: number }> {}

describe("Durable.run", () => {
  it.live("runs once; the same run id returns the stored result without running anything again", () =>
    Effect.gen(function*() {
      const filename = fresh()
      let calls = 0
      const wf = Workflow.make("join")
        .task("a", () => Effect.sync(() => ++calls))
        .task("b", { dependsOn: ["a"], output: Schema.Date }, ({ a }) => Effect.succeed(new Date(a * 1000)))
      const first = yield* Durable.run(wf, undefined, { runId: "r" }).pipe(Effect.provide(Durable.layer({ filename })))
      assert.deepStrictEqual(first.outputs.a, 1)
      assert.instanceOf(first.outputs.b, Date)
      assert.strictEqual(first.outputs.b.getTime(), 1000)
      assert.deepStrictEqual([...first.executed].sort(), ["a", "b"])
      const again = yield* Durable.run(wf, undefined, { runId: "r" }).pipe(Effect.provide(Durable.layer({ filename })))
      assert.strictEqual(calls, 1)
      assert.strictEqual(again.outputs.b.getTime(), 1000)
      assert.strictEqual(again.state.status, "completed")
      // History survives the process: the RunStore has the record, the events and the outputs.
      const record = yield* RunStore.RunStore.use((s) => s.get("r")).pipe(Effect.provide(Durable.layer({ filename })))
      assert.strictEqual(record.status, "completed")
      assert.strictEqual(record.durable, true)
      assert.deepStrictEqual(record.tasks, { total: 2, completed: 2, failed: 0 })
      // ...and metrics are a fold over the stored events, in a process that did not run anything.
      const metrics = yield* Effect.gen(function*() {
        const store = yield* RunStore.RunStore
        return RunMetrics.fromEvents(yield* store.plan("r"), yield* store.events("r"))
      }).pipe(Effect.provide(Durable.layer({ filename })))
      assert.deepStrictEqual(metrics.tasks.map((t) => [t.id, t.status]), [["a", "completed"], ["b", "completed"]])
      const outputs = yield* RunStore.RunStore.use((s) => s.outputs("r")).pipe(Effect.provide(Durable.layer({ filename })))
      assert.deepStrictEqual(outputs, { a: 1, b: "1970-01-01T00:00:01.000Z" })
    }))

  it.live("the same run id with another input is an IdempotencyConflict, never the first run's result", () =>
    Effect.gen(function*() {
      const wf = Workflow.make("idem", { input: Schema.Struct({ n: Schema.Number }) })
        .task("double", ({ input }) => Effect.succeed(input.n * 2))
      yield* Effect.gen(function*() {
        const ok = yield* Durable.run(wf, { n: 2 }, { runId: "same" })
        assert.strictEqual(ok.outputs.double, 4)
        const error = failureOf(yield* Effect.exit(Durable.run(wf, { n: 3 }, { runId: "same" })))
        assert.strictEqual(error._tag, "IdempotencyConflict")
        assert.include(error.message, `"same"`)
        assert.include(error.message, `{"n":2}`)
        // Same input (keys in another order would be equal too): joins.
        assert.strictEqual((yield* Durable.run(wf, { n: 2 }, { runId: "same" })).outputs.double, 4)
      }).pipe(Effect.provide(Durable.layer({ filename: fresh() })))
    }))

  it.live("an output that is not JSON and has no schema fails its task with NotSerialisable naming it", () =>
    Effect.gen(function*() {
      const wf = Workflow.make("dates")
        .task("ok", () => Effect.succeed({ list: [1, 2] }))
        .task("when", () => Effect.succeed({ at: new Date(0) }))
      const error = failureOf(
        yield* Effect.exit(Durable.run(wf, undefined, { runId: "d" }).pipe(Effect.provide(Durable.layer({ filename: fresh() }))))
      )
      assert.strictEqual(error._tag, "WorkflowFailed")
      const failed = (error as { failures: ReadonlyArray<{ taskId: string; cause: Cause.Cause<unknown> }> }).failures
      assert.deepStrictEqual(failed.map((f) => f.taskId), ["when"])
      const cause = Cause.pretty(failed[0]!.cause)
      assert.include(cause, `task "when"`)
      assert.include(cause, "$.at (a Date, not a plain object)")
    }))

  it.live("an input that is not JSON is refused before anything runs", () =>
    Effect.gen(function*() {
      const wf = Workflow.make<"inputs", { readonly f: () => void }>("inputs").task("a", () => Effect.succeed(1))
      const error = failureOf(
        yield* Effect.exit(Durable.run(wf, { f: () => {} }, { runId: "i" }).pipe(Effect.provide(Durable.layer({ filename: fresh() }))))
      )
      assert.strictEqual(error._tag, "NotSerialisable")
      assert.include(error.message, "$.f (a function)")
    }))

  it.live("a failed task's typed error is journaled; the run's result is stored as failed", () =>
    Effect.gen(function*() {
      const filename = fresh()
      let calls = 0
      const wf = Workflow.make("fails").task("a", () => Effect.suspend(() => (calls++, Effect.fail(new Boom({ code: 7 })))))
      const first = failureOf(yield* Effect.exit(Durable.run(wf, undefined, { runId: "f" }).pipe(Effect.provide(Durable.layer({ filename })))))
      assert.strictEqual(first._tag, "WorkflowFailed")
      const again = failureOf(yield* Effect.exit(Durable.run(wf, undefined, { runId: "f" }).pipe(Effect.provide(Durable.layer({ filename })))))
      assert.strictEqual(calls, 1)
      const error = Cause.findErrorOption((again as { failures: ReadonlyArray<{ cause: Cause.Cause<unknown> }> }).failures[0]!.cause)
      assert.deepInclude(error._tag === "Some" ? error.value : undefined, { _tag: "Boom", code: 7 })
      const errors = yield* RunStore.RunStore.use((s) => s.errors("f")).pipe(Effect.provide(Durable.layer({ filename })))
      assert.deepStrictEqual(errors.map((e) => e.path), ["a"])
    }))
})

/** Starts `wf` and closes the layer once `gate` has been reached (task `a` done, `b` blocked): a crash. */
const crashAfterA = (filename: string, wf: Workflow.Any, runId: string, reached: Deferred.Deferred<void>) =>
  Effect.scoped(Effect.gen(function*() {
    const started = Durable.run(wf, undefined as never, { runId }) as Effect.Effect<unknown, unknown, Durable.DurableRuntime>
    const fiber = yield* Effect.forkChild(started)
    yield* Deferred.await(reached)
    yield* Effect.sleep(50)
    yield* Fiber.interrupt(fiber)
  }).pipe(Effect.provide(Durable.layer({ filename }))))

describe("resuming", () => {
  const v1 = (reached: Deferred.Deferred<void>, block: boolean) =>
    Workflow.make("versioned", { metadata: { version: "1" } })
      .task("a", () => Effect.succeed("alpha"))
      .task("b", { dependsOn: ["a"] }, ({ a }) =>
        block ? Effect.andThen(Deferred.succeed(reached, undefined), Effect.never) : Effect.succeed(`${a}!`))

  it.live("only unfinished tasks run; the result says what was skipped", () =>
    Effect.gen(function*() {
      const filename = fresh()
      const reached = yield* Deferred.make<void>()
      yield* crashAfterA(filename, v1(reached, true), "v", reached)
      const result = yield* Durable.run(v1(reached, false), undefined, { runId: "v" }).pipe(
        Effect.provide(Durable.layer({ filename }))
      )
      assert.deepStrictEqual(result.outputs, { a: "alpha", b: "alpha!" })
      assert.deepStrictEqual(result.skipped, ["a"])
      assert.deepStrictEqual(result.executed, ["b"])
    }))

  it.live("incompatible code: a typed error saying which task and what changed; the ways out work", () =>
    Effect.gen(function*() {
      const filename = fresh()
      const reached = yield* Deferred.make<void>()
      yield* crashAfterA(filename, v1(reached, true), "v", reached)
      const v2 = Workflow.make("versioned", { metadata: { version: "1" } })
        .task("a", { output: Schema.Number }, () => Effect.succeed(42))
        .task("b", { dependsOn: ["a"] }, ({ a }) => Effect.succeed(`${a}!`))
      const layer = Durable.layer({ filename })
      const schemaChange = failureOf(yield* Effect.exit(Durable.run(v2, undefined, { runId: "v" }).pipe(Effect.provide(layer))))
      assert.strictEqual(schemaChange._tag, "IncompatibleVersion")
      assert.strictEqual((schemaChange as Durable.IncompatibleVersion).task, "a")
      assert.include(schemaChange.message, "no longer decodes")
      assert.include(schemaChange.message, "Durable.restart")
      const v3 = Workflow.make("versioned", { metadata: { version: "2" } })
        .task("a", () => Effect.succeed("alpha"))
        .task("b", { dependsOn: ["a"] }, ({ a }) => Effect.succeed(`${a}?`))
      const versionChange = failureOf(yield* Effect.exit(Durable.run(v3, undefined, { runId: "v" }).pipe(Effect.provide(layer))))
      assert.strictEqual((versionChange as Durable.IncompatibleVersion).task, "(workflow)")
      assert.include(versionChange.message, `from "1" to "2"`)
      // Way out 1: a declared migration rewrites the stored output.
      const migrated = yield* Durable.run(v2, undefined, {
        runId: "v",
        migrate: { from: "1", outputs: { a: (stored) => String(stored).length } }
      }).pipe(Effect.provide(layer))
      assert.deepStrictEqual(migrated.outputs, { a: 5, b: "5!" })
      assert.deepStrictEqual(migrated.skipped, ["a"])
    }))

  it.live("restart runs everything again under the new code", () =>
    Effect.gen(function*() {
      const filename = fresh()
      const reached = yield* Deferred.make<void>()
      yield* crashAfterA(filename, v1(reached, true), "v", reached)
      const v2 = Workflow.make("versioned", { metadata: { version: "2" } })
        .task("a", { output: Schema.Number }, () => Effect.succeed(42))
        .task("b", { dependsOn: ["a"] }, ({ a }) => Effect.succeed(`${a}!`))
      const result = yield* Durable.restart(v2, "v").pipe(Effect.provide(Durable.layer({ filename })))
      assert.deepStrictEqual(result.outputs, { a: 42, b: "42!" })
      assert.deepStrictEqual([...result.executed].sort(), ["a", "b"])
      const record = yield* RunStore.RunStore.use((s) => s.get("v")).pipe(Effect.provide(Durable.layer({ filename })))
      assert.strictEqual(record.version, "2")
      assert.strictEqual(record.status, "completed")
    }))

  it.live("resume(runId) finds registered workflows; an unknown workflow is WorkflowNotRegistered", () =>
    Effect.gen(function*() {
      const filename = fresh()
      const reached = yield* Deferred.make<void>()
      yield* crashAfterA(filename, v1(reached, true), "v", reached)
      const missing = failureOf(yield* Effect.exit(Durable.resume("v").pipe(Effect.provide(Durable.layer({ filename })))))
      assert.strictEqual(missing._tag, "WorkflowNotRegistered")
      assert.include(missing.message, "versioned")
      const wf = v1(reached, false)
      const result = yield* Durable.resume("v").pipe(
        Effect.provide(Durable.register(wf)),
        Effect.provide(Durable.layer({ filename }))
      )
      assert.deepStrictEqual(result.outputs, { a: "alpha", b: "alpha!" })
    }))
})

describe("learned estimates", () => {
  it.live("a run without estimates orders ready tasks by durations learned from earlier runs", () =>
    Effect.gen(function*() {
      const order: Array<string> = []
      const wf = Workflow.make("learn", { maxParallel: 1 })
        .task("root", () => Effect.void)
        .task("q1", { dependsOn: ["root"] }, () => Effect.void)
        .task("q2", { dependsOn: ["q1"] }, () => Effect.void)
        .task("q3", { dependsOn: ["q2"] }, () => Effect.void)
        .task("p1", { dependsOn: ["root"] }, () => Effect.void)
        .task("p2", { dependsOn: ["p1"] }, () => Effect.void)
      const onEvent = (e: RunEvent.RunEvent) => {
        if (e._tag === "TaskStarted") order.push(e.taskId)
      }
      yield* Effect.gen(function*() {
        yield* Durable.run(wf, undefined, { runId: "cold", onEvent, estimates: "none" })
        // Unit weights: the q chain is longer, so q1 goes first.
        assert.deepStrictEqual(order.slice(1, 2), ["q1"])
        // What earlier runs measured: p2 is slow.
        const store = yield* RunStore.RunStore
        yield* store.register({ runId: "history", workflow: "learn", plan: (yield* RunStore.RunStore.use((s) => s.plan("cold"))) })
        yield* store.append("history", ["root", "q1", "q2", "q3", "p1", "p2"].map((taskId) => ({
          _tag: "TaskCompleted" as const,
          runId: "history",
          at: 0,
          taskId,
          attempts: 1,
          durationMs: taskId === "p2" ? 5_000 : 10,
          output: null
        })))
        const learned = yield* RunStore.estimates("learn")
        assert.isAbove(learned["p2"]!, 1000)
        order.length = 0
        yield* Durable.run(wf, undefined, { runId: "warm", onEvent })
        assert.deepStrictEqual(order.slice(1, 2), ["p1"])
      }).pipe(Effect.provide(Durable.layer({ filename: fresh() })))
    }))
})

describe("cancel", () => {
  it.live("Durable.cancel stops a running run: WorkflowCancelled, recorded as cancelled", () =>
    Effect.gen(function*() {
      const reached = yield* Deferred.make<void>()
      const release = yield* Deferred.make<void>()
      const wf = Workflow.make("cancellable")
        .task("a", () => Effect.succeed(1))
        .task("b", { dependsOn: ["a"] }, () => Effect.andThen(Deferred.succeed(reached, undefined), Deferred.await(release)))
        .task("c", { dependsOn: ["b"] }, () => Effect.succeed(3))
      yield* Effect.gen(function*() {
        const fiber = yield* Effect.forkChild(Effect.exit(Durable.run(wf, undefined, { runId: "c" })))
        yield* Deferred.await(reached)
        const asked = yield* Durable.cancel("c")
        assert.isTrue(asked.cancelRequested)
        const exit = yield* Fiber.join(fiber)
        yield* Deferred.succeed(release, undefined)
        assert.strictEqual(failureOf(exit)._tag, "WorkflowCancelled")
        const record = yield* RunStore.RunStore.use((s) => s.get("c"))
        assert.strictEqual(record.status, "cancelled")
      }).pipe(Effect.provide(Durable.layer({ filename: fresh(), shutdownTimeout: 100 })))
    }))
})

describe("cancel interrupts tasks in flight", () => {
  it.live("Durable.cancel stops the running task where it runs, compensates, and the run ends cancelled", () =>
    Effect.gen(function*() {
      const started = yield* Deferred.make<void>()
      const interrupted = yield* Deferred.make<void>()
      const finished = yield* Deferred.make<void>()
      const undone: Array<string> = []
      const wf = Workflow.make("stoppable")
        .task("book", () => Effect.succeed("seat-7"))
        .compensate((seat) => Effect.sync(() => undone.push(seat)))
        .task("pay", { dependsOn: ["book"] }, () =>
          Effect.andThen(Deferred.succeed(started, undefined), Effect.never).pipe(
            Effect.onInterrupt(() => Deferred.succeed(interrupted, undefined)),
            Effect.ensuring(Deferred.succeed(finished, undefined))
          ))
      // Another process's cancel would be seen only after an hour: what happens here is Durable.cancel's doing.
      const layer = Durable.layer({ filename: fresh(), shutdownTimeout: 100, cancelPollInterval: "1 hour" })
      yield* Effect.gen(function*() {
        const fiber = yield* Effect.forkChild(Effect.exit(Durable.run(wf, undefined, { runId: "stop" })))
        yield* Deferred.await(started)
        yield* Durable.cancel("stop")
        // The task's own fiber (inside the engine's activity) is interrupted and its finalizers run.
        yield* Deferred.await(interrupted).pipe(Effect.timeout("10 seconds"))
        yield* Deferred.await(finished).pipe(Effect.timeout("10 seconds"))
        const exit = yield* Fiber.join(fiber).pipe(Effect.timeout("10 seconds"))
        const error = failureOf(exit)
        assert.strictEqual(error._tag, "WorkflowCancelled")
        assert.deepStrictEqual(undone, ["seat-7"])
        const record = yield* RunStore.RunStore.use((s) => s.get("stop"))
        assert.strictEqual(record.status, "cancelled")
        const events = yield* RunStore.RunStore.use((s) => s.events("stop"))
        assert.deepStrictEqual(
          events.flatMap((e) => e._tag === "TaskCompensated" || e._tag === "TaskCancelled" ? [`${e._tag} ${e.taskId}`] : []),
          ["TaskCancelled pay", "TaskCompensated book"]
        )
        // Joining the cancelled run returns the stored outcome without running anything again.
        const again = failureOf(yield* Effect.exit(Durable.run(wf, undefined, { runId: "stop" })))
        assert.strictEqual(again._tag, "WorkflowCancelled")
        assert.deepStrictEqual(undone, ["seat-7"])
      }).pipe(Effect.provide(layer))
    }))
})

describe("cancel through the store", () => {
  it.live("a cancel recorded in the store (another process, troupe runs cancel) is seen at the next poll", () =>
    Effect.gen(function*() {
      const started = yield* Deferred.make<void>()
      const interrupted = yield* Deferred.make<void>()
      const wf = Workflow.make("polled").task("wait", () =>
        Effect.andThen(Deferred.succeed(started, undefined), Effect.never).pipe(
          Effect.onInterrupt(() => Deferred.succeed(interrupted, undefined))
        ))
      yield* Effect.gen(function*() {
        const fiber = yield* Effect.forkChild(Effect.exit(Durable.run(wf, undefined, { runId: "polled" })))
        yield* Deferred.await(started)
        // Not Durable.cancel: only the store's record changes, as another process would change it.
        yield* RunStore.RunStore.use((s) => s.cancel("polled"))
        yield* Deferred.await(interrupted).pipe(Effect.timeout("10 seconds"))
        assert.strictEqual(failureOf(yield* Fiber.join(fiber).pipe(Effect.timeout("10 seconds")))._tag, "WorkflowCancelled")
        assert.strictEqual((yield* RunStore.RunStore.use((s) => s.get("polled"))).status, "cancelled")
      }).pipe(Effect.provide(Durable.layer({ filename: fresh(), shutdownTimeout: 100, cancelPollInterval: "50 millis" })))
    }))
})

describe("a run whose journal holds a failure of the runtime", () => {
  it.live("is started over by itself when the store holds none of its task results", () =>
    Effect.gen(function*() {
      let calls = 0
      const wf = Workflow.make("poisoned").task("a", () => Effect.sync(() => ++calls))
      yield* Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        // The history cannot be written: the body fails, and the engine stores that failure as the run's result.
        yield* sql.unsafe("ALTER TABLE troupe_run_events RENAME TO hidden_events")
        const broken = yield* Effect.exit(Durable.run(wf, undefined, { runId: "p" }))
        assert.isTrue(Exit.isFailure(broken) && Cause.hasDies(broken.cause))
        yield* sql.unsafe("ALTER TABLE hidden_events RENAME TO troupe_run_events")
        // Without the recovery, every later call would get the stored failure back.
        const result = yield* Durable.run(wf, undefined, { runId: "p" })
        // The failing call started it over once itself (and failed again); this one starts it over and succeeds.
        assert.strictEqual(calls, 3)
        assert.deepStrictEqual(result.outputs, { a: 3 })
        assert.strictEqual((yield* RunStore.RunStore.use((s) => s.get("p"))).status, "completed")
      }).pipe(Effect.provide(Durable.layer({ filename: fresh() })))
    }))
})

describe("loops", () => {
  it.live("each loop iteration is its own journaled step: a resumed loop skips the iterations that finished", () =>
    Effect.gen(function*() {
      const filename = fresh()
      const reached = yield* Deferred.make<void>()
      const ranItems: Array<number> = []
      const wf = (block: boolean) =>
        Workflow.make("looping")
          .task("items", () => Effect.succeed([1, 2, 3, 4]))
          .task(
            "each",
            { dependsOn: ["items"] },
            Loop.forEach({
              items: ({ items }: { readonly items: ReadonlyArray<number> }) => items,
              body: (n: number) =>
                block && n === 3
                  ? Effect.andThen(Deferred.succeed(reached, undefined), Effect.never)
                  : Effect.sync(() => (ranItems.push(n), n * 10))
            })
          )
      yield* crashAfterA(filename, wf(true), "l", reached)
      const result = yield* Durable.run(wf(false), undefined, { runId: "l" }).pipe(Effect.provide(Durable.layer({ filename })))
      assert.deepStrictEqual(result.outputs.each, [10, 20, 30, 40])
      assert.deepStrictEqual(ranItems, [1, 2, 3, 4])
      assert.deepStrictEqual(result.skipped, ["items", "each[0]", "each[1]"])
      assert.deepStrictEqual(result.executed, ["each[2]", "each[3]"])
    }))
})
