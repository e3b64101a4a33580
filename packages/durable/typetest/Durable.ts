/**
 * Type tests for durable runs: typed outputs and errors, the services a workflow needs plus the runtime,
 * typed inputs, and the layer's services and errors.
 */
import { Context, Data, Effect, Layer, Schema } from "effect"
import { expectTypeOf } from "vitest"
import { RunStore, Workflow } from "@troupe/core"
import type { WorkflowError } from "@troupe/core"
import { Durable, Migrations, SqliteClient } from "@troupe/durable"

class Boom extends Data.TaggedError("Boom")<{}> {}
class Clock2 extends Context.Service<Clock2, { readonly now: Effect.Effect<number> }>()("Clock2") {}

const wf = Workflow.make("typed", { input: Schema.Struct({ n: Schema.Number }) })
  .task("a", ({ input }) => Effect.succeed(input.n))
  .task("b", { dependsOn: ["a"], output: Schema.Date }, ({ a }) => Effect.succeed(new Date(a)))
  .task("c", () => Clock2.use((c) => c.now))
  .task("d", () => Effect.fail(new Boom()))

const run = Durable.run(wf, { n: 1 }, { runId: "r" })
type Result = Effect.Success<typeof run>
expectTypeOf<Result["outputs"]["a"]>().toEqualTypeOf<number>()
expectTypeOf<Result["outputs"]["b"]>().toEqualTypeOf<Date>()
expectTypeOf<Result["skipped"]>().toEqualTypeOf<ReadonlyArray<string>>()
expectTypeOf<Effect.Services<typeof run>>().toEqualTypeOf<Durable.DurableRuntime | Clock2>()
expectTypeOf<Extract<Effect.Error<typeof run>, { _tag: "WorkflowFailed" }>>().toEqualTypeOf<
  WorkflowError.WorkflowFailed<Boom>
>()
expectTypeOf<Extract<Effect.Error<typeof run>, { _tag: "IdempotencyConflict" }>>().toEqualTypeOf<
  Durable.IdempotencyConflict
>()
// A run whose journal holds a failure of the runtime itself is a typed error with a way out.
expectTypeOf<Extract<Effect.Error<typeof run>, { _tag: "BrokenRun" }>>().toEqualTypeOf<Durable.BrokenRun>()

// @ts-expect-error the input must match the workflow's input schema
Durable.run(wf, { n: "one" }, { runId: "r" })

// resume(workflow, runId) is typed; resume(runId) gives a record of unknowns.
expectTypeOf<Effect.Success<ReturnType<typeof Durable.resume<typeof wf>>>["outputs"]["b"]>().toEqualTypeOf<Date>()
const byId = Durable.resume("r")
expectTypeOf<Effect.Success<typeof byId>["outputs"]>().toEqualTypeOf<Readonly<Record<string, unknown>>>()
expectTypeOf<Effect.Services<typeof byId>>().toEqualTypeOf<Durable.DurableRuntime>()

// The layer provides the runtime, the run store and the SQL client; opening can fail with typed errors.
export const layer: Layer.Layer<
  Durable.DurableRuntime | RunStore.RunStore | SqliteClient.SqliteClient,
  SqliteClient.OpenError | RunStore.StoreError | Migrations.MigrationError
> = Durable.layer({ filename: "x.db" })
// A database written by a newer Troupe is a typed error of its own (not a RunStoreError).
expectTypeOf<Extract<Layer.Error<typeof layer>, { _tag: "SchemaTooNew" }>>().toEqualTypeOf<Migrations.SchemaTooNew>()
expectTypeOf<Migrations.SchemaTooNew["found"]>().toEqualTypeOf<number>()
// @ts-expect-error the layer's errors include the migration errors: a narrower annotation is rejected
export const narrow: Layer.Layer<Durable.DurableRuntime, SqliteClient.OpenError | RunStore.StoreError> = Durable.layer()
expectTypeOf<SqliteClient.OpenError>().toEqualTypeOf<
  SqliteClient.NotADatabase | SqliteClient.DatabaseDirectoryError | SqliteClient.DatabaseLocked | SqliteClient.DatabaseOpenError
>()

// Layer options: durations as Duration inputs.
Durable.layer({ filename: "x.db", cancelPollInterval: "5 seconds", shutdownTimeout: 100 })
// @ts-expect-error cancelPollInterval is a duration, not a boolean
Durable.layer({ cancelPollInterval: true })
// Migrations: a step's `up` gets the SqlClient and may fail only with SqlError.
expectTypeOf<Migrations.Migration["up"]>().returns.toEqualTypeOf<Effect.Effect<void, import("effect/sql/SqlError").SqlError>>()

// Durable.step: the effect's success, its errors plus NotSerialisable, its services; the output schema
// must decode to the step's success type.
const step = Durable.step("plan", Effect.fail(new Boom()).pipe(Effect.as(new Date(0)), Effect.andThen(Clock2.use((c) => c.now))))
expectTypeOf<Effect.Success<typeof step>>().toEqualTypeOf<number>()
expectTypeOf<Effect.Error<typeof step>>().toEqualTypeOf<Boom | Durable.NotSerialisable>()
expectTypeOf<Effect.Services<typeof step>>().toEqualTypeOf<Clock2>()
const dated = Durable.step("at", Effect.succeed(new Date(0)), { output: Schema.Date })
expectTypeOf<Effect.Success<typeof dated>>().toEqualTypeOf<Date>()
// @ts-expect-error the output schema is for Dates, the step returns a number
Durable.step("n", Effect.succeed(1), { output: Schema.Date })
