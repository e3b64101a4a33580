/**
 * Type tests for events and triggers: handlers are typed by the name, pattern or definition subscribed to;
 * custom definitions type their payloads; triggers type their input mapping.
 */
import { Effect, Schema } from "effect"
import { expectTypeOf } from "vitest"
import { Events, Orchestrator, Trigger, Troupe, Workflow } from "@troupe/core"

declare const o: Orchestrator.OrchestratorApi

// A lifecycle name: exactly its event.
o.on("task.created", (event) => {
  expectTypeOf(event).toEqualTypeOf<Events.TaskCreated>()
})
// A pattern: the union of the lifecycle events it matches (no custom events under task.*).
o.on("task.*", (event) => {
  expectTypeOf(event._tag).toEqualTypeOf<
    "TaskCreated" | "TaskStarted" | "TaskCompleted" | "TaskFailed" | "TaskSkipped" | "TaskRetrying" | "TaskCancelled"
  >()
  expectTypeOf(event.taskId).toEqualTypeOf<string>()
  expectTypeOf(event.jobId).toEqualTypeOf<string | undefined>()
})
o.on("*.failed", (event) => {
  expectTypeOf(event).toEqualTypeOf<
    | Events.WorkflowEvent<"RunFailed">
    | Events.WorkflowEvent<"TaskFailed">
    | Events.JobFailed
    | Events.CustomEvent
  >()
})

// A definition: the payload is typed where it is received and checked where it is emitted.
const Deployed = Events.define("deploy.finished", Schema.Struct({ env: Schema.String }))
o.on(Deployed, (event) => {
  expectTypeOf(event.payload).toEqualTypeOf<{ readonly env: string }>()
  expectTypeOf(event.name).toEqualTypeOf<"deploy.finished">()
})
expectTypeOf(o.emit(Deployed, { env: "prod" })).toEqualTypeOf<Effect.Effect<void, Events.InvalidEvent>>()
// @ts-expect-error the payload must fit the definition's Schema
o.emit(Deployed, { env: 1 })
// @ts-expect-error lifecycle names cannot be defined as custom events
Events.define("task.mine", Schema.String)
// @ts-expect-error "*" is the pattern wildcard
Events.define("a*b", Schema.String)

// Handlers may return nothing, a Promise or an Effect.
o.on("workflow.completed", () => Effect.log("done"))
o.on("workflow.completed", async () => {})
expectTypeOf(o.subscribe("job.*", () => {})).toEqualTypeOf<Effect.Effect<Events.Subscription>>()

// ---- triggers ------------------------------------------------------------------------------------

const ingest = Workflow.make<"ingest", string>("ingest").task("parse", ({ input }) => input.length)
const t = Trigger.make({ on: Deployed, workflow: ingest, input: (event) => event.payload.env })
expectTypeOf(t).toEqualTypeOf<Trigger.Trigger<typeof Deployed, typeof ingest>>()
expectTypeOf(o.addTrigger(t)).toEqualTypeOf<Effect.Effect<Trigger.Handle, never, never>>()
// @ts-expect-error the workflow takes an input: the mapping is required
Trigger.make({ on: Deployed, workflow: ingest })
// @ts-expect-error the mapping must produce the workflow's input
Trigger.make({ on: "task.completed", workflow: ingest, input: (event) => event.attempts })
Trigger.make({ on: "task.completed", workflow: ingest, input: (event) => event.taskId })
// A workflow without input needs no mapping.
Trigger.make({ on: "workflow.failed", workflow: Workflow.make("page").task("p", () => 1) })

// The Promise facade has the same event API.
const troupe = Troupe.make()
expectTypeOf(troupe.on("task.*", () => {})).toEqualTypeOf<() => void>()
expectTypeOf(troupe.emit(Deployed, { env: "x" })).toEqualTypeOf<Promise<void>>()
