/**
 * docs/durable.md, runnable: a durable run, a simulated crash and its resume, the run store, a version
 * check with its way out.
 *
 * `npx node --conditions=source docs/examples/durable.ts` prints what happens; the tests call `demo`.
 */
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Deferred, Effect, Fiber, Schema } from "effect"
import { RunStore, Workflow } from "@troupe/core"
import { Durable } from "@troupe/durable"

/** A side-effect log: which task bodies really ran. */
export const ran: Array<string> = []

// An output that is not JSON (a Date) crosses the journal through its schema.
const Invoice = Schema.Struct({ id: Schema.String, total: Schema.Number, issuedAt: Schema.Date })

/** `charge` can be made to hang, to stop the process while it is in flight. */
export const billing = (hang: Deferred.Deferred<void> | undefined) =>
  Workflow.make("billing", { input: Schema.Struct({ customer: Schema.String }), metadata: { version: "1" } })
    .task("invoice", { output: Invoice }, ({ input }) =>
      Effect.sync(() => {
        ran.push("invoice")
        return { id: `inv-${input.customer}`, total: 42, issuedAt: new Date(Date.UTC(2026, 0, 1)) }
      }))
    .task("charge", { dependsOn: ["invoice"] }, ({ invoice }) =>
      hang !== undefined
        ? Effect.andThen(Deferred.succeed(hang, undefined), Effect.never)
        : Effect.sync(() => {
          ran.push("charge")
          return `charged ${invoice.total} for ${invoice.id} issued ${invoice.issuedAt.toISOString().slice(0, 10)}`
        }))
    .task("email", { dependsOn: ["charge"] }, ({ charge }) =>
      Effect.sync(() => {
        ran.push("email")
        return `mailed: ${charge}`
      }))

export const demo = (filename = join(mkdtempSync(join(tmpdir(), "troupe-docs-durable-")), "billing.db")) =>
  Effect.gen(function*() {
    const input = { customer: "ada" }

    // 1. Start the run; "crash" while `charge` is in flight (the layer closes: the process stops).
    const hang = yield* Deferred.make<void>()
    yield* Effect.scoped(Effect.gen(function*() {
      const fiber = yield* Effect.forkChild(Durable.run(billing(hang), input, { runId: "bill-ada" }))
      yield* Deferred.await(hang)
      yield* Fiber.interrupt(fiber)
    }).pipe(Effect.provide(Durable.layer({ filename, shutdownTimeout: 100 }))))

    // 2. A new "process": the same run id resumes; `invoice` is not run again.
    return yield* Effect.gen(function*() {
      const result = yield* Durable.run(billing(undefined), input, { runId: "bill-ada" })

      // 3. The run store remembers the run (list, state, outputs, events...).
      const store = yield* RunStore.RunStore
      const runs = yield* store.list({ workflow: "billing" })
      const state = yield* RunStore.state("bill-ada")

      // 4. Same run id, other input: a typed error, not the first run's result.
      const conflict = yield* Effect.flip(Durable.run(billing(undefined), { customer: "bob" }, { runId: "bill-ada" }))

      return {
        outputs: result.outputs,
        skipped: result.skipped,
        ran: [...ran],
        runs: runs.map((r) => `${r.runId} ${r.status} v${r.version}`),
        states: state.tasks.map((t) => `${t.id}:${t.status}`),
        conflict: conflict._tag
      }
    }).pipe(Effect.provide(Durable.layer({ filename })))
  })

if (import.meta.main) {
  Effect.runPromise(demo()).then((r) => console.log(JSON.stringify(r, null, 2)))
}
