/**
 * Type tests for the orchestrator and the Promise facade: inferred types (expectTypeOf) and rejections
 * (@ts-expect-error). Checked by `npm run typecheck` (tsc over the whole repository).
 */
import { Context, Effect, Layer, Schema } from "effect"
import { expectTypeOf } from "vitest"
import { Engine, Orchestrator, Task, Troupe, Workflow } from "@troupe/core"
import type { WorkflowError } from "@troupe/core"

class Boom extends Schema.TaggedError<Boom>()("Boom", {}) {}
class Db extends Context.Service<Db, { readonly query: (sql: string) => Effect.Effect<number> }>()("Db") {}
class Mail extends Context.Service<Mail, { readonly send: (to: string) => Effect.Effect<void> }>()("Mail") {}

const pure = Workflow.make<"pure", { readonly n: number }>("pure")
  .task("double", ({ input }) => Effect.succeed(input.n * 2))
  .task("check", { dependsOn: ["double"] }, ({ double }) => double > 0 ? Effect.succeed(true) : Effect.fail(new Boom()))

const needsDb = Workflow.make("needsDb").task("count", () => Db.use((db) => db.query("select 1")))

// ---- execute / start / executeTask -------------------------------------------------------------

declare const o: Orchestrator.OrchestratorApi

const executed = o.execute(pure, { n: 1 }, { onProgress: (p) => expectTypeOf(p.percent).toEqualTypeOf<number>() })
expectTypeOf(executed).toEqualTypeOf<
  Effect.Effect<
    Engine.RunResult<{ readonly double: number; readonly check: boolean }>,
    | WorkflowError.WorkflowFailed<Boom>
    | WorkflowError.WorkflowTimeout
    | WorkflowError.WorkflowCancelled
    | WorkflowError.DefinitionError,
    never
  >
>()

// A workflow's services stay in R: executing it needs them.
expectTypeOf(o.execute(needsDb)).toEqualTypeOf<
  Effect.Effect<
    Engine.RunResult<{ readonly count: number }>,
    | WorkflowError.WorkflowFailed<never>
    | WorkflowError.WorkflowTimeout
    | WorkflowError.WorkflowCancelled
    | WorkflowError.DefinitionError,
    Db
  >
>()

// @ts-expect-error the input is required and typed
o.execute(pure)
// @ts-expect-error wrong input type
o.execute(pure, { n: "1" })

expectTypeOf(o.start(pure, { n: 2 })).toEqualTypeOf<
  Effect.Effect<
    Engine.RunHandle<{ readonly double: number; readonly check: boolean }, Boom>,
    WorkflowError.DefinitionError,
    never
  >
>()

const adHoc = o.executeTask("double", ({ input }) => Effect.succeed(input * 2), 21)
expectTypeOf(adHoc).toEqualTypeOf<
  Effect.Effect<
    number,
    | WorkflowError.WorkflowFailed<never>
    | WorkflowError.WorkflowTimeout
    | WorkflowError.WorkflowCancelled
    | WorkflowError.DefinitionError,
    never
  >
>()
const adHocTask = o.executeTask(
  "count",
  Task.make({}, ({ input }: { readonly input: string }) => Db.use((db) => db.query(input))),
  "select 1"
)
expectTypeOf(adHocTask).toEqualTypeOf<
  Effect.Effect<
    number,
    | WorkflowError.WorkflowFailed<never>
    | WorkflowError.WorkflowTimeout
    | WorkflowError.WorkflowCancelled
    | WorkflowError.DefinitionError,
    Db
  >
>()

// ---- jobs ----------------------------------------------------------------------------------------

const jobId = o.submit((n: number) => (n > 0 ? Effect.succeed(`${n}`) : Effect.fail(new Boom())), 3, {
  priority: 10,
  callback: (job) => {
    expectTypeOf(job.result).toEqualTypeOf<string | undefined>()
    expectTypeOf(job.error).toEqualTypeOf<Boom | undefined>()
  }
})
expectTypeOf(jobId).toEqualTypeOf<Effect.Effect<Orchestrator.JobId<string, Boom>, never, never>>()
const promiseJob = o.submit(async (s: string) => s.length, "abc")
expectTypeOf(promiseJob).toEqualTypeOf<
  Effect.Effect<Orchestrator.JobId<number, WorkflowError.TaskException>, never, never>
>()
// Services an agent needs are required from the caller of submit.
expectTypeOf(o.submit((sql: string) => Db.use((db) => db.query(sql)), "x")).toEqualTypeOf<
  Effect.Effect<Orchestrator.JobId<number, never>, never, Db>
>()
// A Task value receives { input }.
expectTypeOf(o.submit(Task.make({}, ({ input }: { readonly input: number }) => Effect.succeed(input + 1)), 1))
  .toEqualTypeOf<Effect.Effect<Orchestrator.JobId<number, never>, never, never>>()

// @ts-expect-error the input must fit the agent
o.submit((n: number) => n, "not a number")
// @ts-expect-error priorities are 1 to 10
o.submit((n: number) => n, 1, { priority: 11 })

declare const typedId: Orchestrator.JobId<string, Boom>
expectTypeOf(o.getTask(typedId)).toEqualTypeOf<Effect.Effect<Orchestrator.Job<string, Boom>, Orchestrator.JobNotFound>>()
// Any string is a job id; the job is then untyped.
expectTypeOf(o.getTask("job-1")).toEqualTypeOf<Effect.Effect<Orchestrator.Job<unknown, unknown>, Orchestrator.JobNotFound>>()
expectTypeOf(o.status("job-1")).toEqualTypeOf<Effect.Effect<Orchestrator.JobStatus, Orchestrator.JobNotFound>>()

expectTypeOf(Orchestrator.fromSeed002Priority(1)).toEqualTypeOf<Task.Priority>()

// Jobs by the name of a registered agent (resumable after a restart with a durable JobStore).
expectTypeOf(o.submit("summarize", { text: "x" })).toEqualTypeOf<
  Effect.Effect<Orchestrator.JobId, Orchestrator.AgentNotFound>
>()
// The layer requires the services of the agents registered with it.
expectTypeOf(Orchestrator.layer({ agents: { count: (sql: string) => Db.use((db) => db.query(sql)) } })).toEqualTypeOf<
  Layer.Layer<Orchestrator.Orchestrator, never, Db>
>()
expectTypeOf(Orchestrator.layer()).toEqualTypeOf<Layer.Layer<Orchestrator.Orchestrator>>()

// ---- events --------------------------------------------------------------------------------------

o.on("task.completed", (event) => {
  expectTypeOf(event._tag).toEqualTypeOf<"TaskCompleted">()
  expectTypeOf(event.taskId).toEqualTypeOf<string>()
  expectTypeOf(event.workflow).toEqualTypeOf<string>()
})
o.on("workflow.failed", (event) => {
  expectTypeOf(event.failed).toEqualTypeOf<ReadonlyArray<string>>()
})
o.on("job.failed", (event) => {
  expectTypeOf(event.message).toEqualTypeOf<string>()
})
o.on("custom.deployed", (event) => {
  expectTypeOf(event).toEqualTypeOf<Orchestrator.CustomEvent<unknown, "custom.deployed">>()
  expectTypeOf(event.payload).toEqualTypeOf<unknown>()
})
expectTypeOf(o.on("task.failed", () => {})).toEqualTypeOf<Effect.Effect<Effect.Effect<void>>>()

// @ts-expect-error unknown lifecycle event
o.on("task.exploded", () => {})
o.on("task.completed", (event) => {
  // @ts-expect-error a task.completed event has no failure message
  event.message
})
o.emit("custom.deployed", { env: "prod" })
// @ts-expect-error custom events must be named custom.*
o.emit("task.completed", {})

// ---- the Promise facade --------------------------------------------------------------------------

const bare = Troupe.make()
expectTypeOf(bare.run(pure, { n: 1 })).toEqualTypeOf<
  Promise<Engine.RunResult<{ readonly double: number; readonly check: boolean }>>
>()

// @ts-expect-error a Troupe without a Db layer cannot run a workflow that needs Db
bare.run(needsDb)
// @ts-expect-error the same holds for start
bare.start(needsDb)
// @ts-expect-error ...and for submitted agents
bare.submit((sql: string) => Db.use((db) => db.query(sql)), "x")

const DbLive = Layer.succeed(Db, { query: () => Effect.succeed(1) })
const withDb = Troupe.make(DbLive)
expectTypeOf(withDb.run(needsDb)).toEqualTypeOf<Promise<Engine.RunResult<{ readonly count: number }>>>()
withDb.submit((sql: string) => Db.use((db) => db.query(sql)), "x")

const needsBoth = Workflow.make("both")
  .task("count", () => Db.use((db) => db.query("select 1")))
  .task("mail", () => Mail.use((mail) => mail.send("ops")))
// @ts-expect-error Mail is missing from the layer
withDb.run(needsBoth)
Troupe.make(Layer.mergeAll(DbLive, Layer.succeed(Mail, { send: () => Effect.void }))).run(needsBoth)

withDb.on("workflow.completed", (event) => {
  expectTypeOf(event.durationMs).toEqualTypeOf<number>()
})
expectTypeOf(withDb.on("task.failed", () => {})).toEqualTypeOf<() => void>()
