/**
 * Signals: a release waits for a person's approval (typed payload, timeout), a cool-off timer, and a
 * webhook delivering a signal by name. Run by examples/test/schedules-docs.test.ts.
 */
import { Effect, Schema } from "effect"
import { Engine, Signal, Workflow } from "@troupe/core"

export const Approval = Signal.make(
  "approval",
  Schema.Struct({ approved: Schema.Boolean, by: Schema.String, comment: Schema.optional(Schema.String) })
)

export const release = Workflow.make<"release", { readonly version: string }>("release")
  .task("build", ({ input }) => Effect.succeed(`app-${input.version}.tgz`))
  .task("approve", { dependsOn: ["build"] }, Signal.wait(Approval, { timeout: "2 days" }))
  .task("cool-off", { dependsOn: ["approve"] }, Signal.sleep("cool-off", "10 minutes"))
  .task("deploy", { dependsOn: ["build", "approve", "cool-off"] }, ({ approve, build }) =>
    Effect.succeed(approve.approved ? `${build} deployed (approved by ${approve.by})` : `${build} not deployed`))

/** Starts a release, shows it waiting, and approves it from outside the run. */
export const approveOne = (runId: string) =>
  Effect.gen(function*() {
    const handle = yield* Engine.start(release, { version: "1.4.0" }, { runId })
    // ... later, from an HTTP handler, a chat bot or another run:
    yield* Effect.yieldNow
    const waiting = (yield* handle.state).tasks.find((t) => t.status === "waiting")
    yield* Signal.send(runId, Approval, { approved: true, by: "ada" })
    return { handle, waiting: waiting?.id }
  })

/** A webhook gets JSON: deliver it by name; a payload that does not match the schema is a typed error. */
export const webhook = (runId: string, body: unknown) => Signal.sendUnknown(runId, "approval", body)

export const layer = Signal.layerMemory
