/**
 * Type tests for signals: payloads typed by their Schema through waits, sends and downstream tasks.
 */
import { Effect, Schema } from "effect"
import { expectTypeOf } from "vitest"
import { Signal, Workflow } from "@troupe/core"

const Approval = Signal.make("approval", Schema.Struct({ approved: Schema.Boolean, by: Schema.String }))
expectTypeOf(Approval.name).toEqualTypeOf<"approval">()
expectTypeOf<Signal.Payload<typeof Approval>>().toEqualTypeOf<{ readonly approved: boolean; readonly by: string }>()

// A wait's output is the payload type; it needs the Signals service and may time out.
const waitTask = Signal.wait(Approval, { timeout: "1 day" })
expectTypeOf(waitTask).toEqualTypeOf<
  import("@troupe/core").Task.Task<{ readonly approved: boolean; readonly by: string }, Signal.SignalTimeout, Signal.Signals, unknown>
>()

const release = Workflow.make("release")
  .task("approve", waitTask)
  .task("deploy", { dependsOn: ["approve"] }, ({ approve }) => {
    expectTypeOf(approve.by).toEqualTypeOf<string>()
    return Effect.succeed(approve.approved)
  })
expectTypeOf<Workflow.Services<typeof release>>().toEqualTypeOf<Signal.Signals>()
expectTypeOf<Workflow.Error<typeof release>>().toEqualTypeOf<Signal.SignalTimeout>()

// Sending checks the payload against the signal's type.
expectTypeOf(Signal.send("run-1", Approval, { approved: true, by: "ada" })).toEqualTypeOf<
  Effect.Effect<void, Signal.UnknownRun | Signal.InvalidPayload, Signal.Signals>
>()
// @ts-expect-error approved must be a boolean
Signal.send("run-1", Approval, { approved: "yes", by: "ada" })
// @ts-expect-error by is missing
Signal.send("run-1", Approval, { approved: true })
// By name, from JSON: anything goes in, the error says what was wrong.
expectTypeOf(Signal.sendUnknown("run-1", "approval", JSON.parse("{}"))).toEqualTypeOf<
  Effect.Effect<void, Signal.SendError, Signal.Signals>
>()

// A Signal.task handler's waits are typed, and its context is what it declares.
const review = Signal.task(({ input }: { readonly input: string }, { sleep, wait }) =>
  Effect.gen(function*() {
    yield* sleep("cool-off", "1 hour")
    const a = yield* wait(Approval)
    expectTypeOf(a).toEqualTypeOf<{ readonly approved: boolean; readonly by: string }>()
    return `${input}: ${a.by}`
  }))
Workflow.make<"r", string>("r").task("review", review)
// @ts-expect-error the task needs a string input
Workflow.make<"r", number>("r").task("review", review)
