/**
 * Type tests for dynamic workflows (tasks known only at run time).
 */
import { Context, Effect, Schema } from "effect"
import { expectTypeOf } from "vitest"
import { Engine, Task, Workflow } from "@troupe/core"
import type { WorkflowError } from "@troupe/core"

class Boom extends Schema.TaggedError<Boom>()("Boom", {}) {}
class Mail extends Context.Service<Mail, { readonly send: () => Effect.Effect<void> }>()("Mail") {}
class Db extends Context.Service<Db, { readonly query: (sql: string) => Effect.Effect<number> }>()("Db") {}

const empty = Workflow.dynamic<"d", { readonly n: number }>("d")
expectTypeOf(empty).toEqualTypeOf<Workflow.Dynamic<"d", { readonly n: number }, never, never>>()

// Errors and services accumulate; the context is the input plus unknown outputs by id.
const two = empty
  .task("a", (ctx) => {
    expectTypeOf(ctx.input).toEqualTypeOf<{ readonly n: number }>()
    expectTypeOf(ctx["anything"]).toEqualTypeOf<unknown>()
    return ctx.input.n > 0 ? Effect.succeed(1) : Effect.fail(new Boom())
  })
  .task("b", { dependsOn: ["a"], priority: 7 }, () => Db.use((db) => db.query("x")))
expectTypeOf(two).toEqualTypeOf<Workflow.Dynamic<"d", { readonly n: number }, Boom, Db>>()

// It is a workflow: running it needs its services and gives untyped outputs.
expectTypeOf(Engine.run(two, { n: 1 })).toEqualTypeOf<
  Effect.Effect<
    Engine.RunResult<{ readonly [x: string]: unknown }>,
    | WorkflowError.WorkflowFailed<Boom>
    | WorkflowError.WorkflowTimeout
    | WorkflowError.DefinitionError,
    Db
  >
>()

// In a loop: declare the variable with the errors and services its tasks may have.
let looped: Workflow.Dynamic<"loop", void, Boom, Db> = Workflow.dynamic("loop")
for (const id of ["x", "y"]) {
  looped = looped.task(id, () => Db.use((db) => db.query(id)))
  looped = looped.task(`${id}-check`, Task.make({}, () => Effect.fail(new Boom())))
}

// A sub-workflow's failure is a WorkflowFailed of its errors.
const child = Workflow.make("child").task("c", () => Effect.fail(new Boom()))
expectTypeOf(Workflow.dynamic("p").task("child", child)).toEqualTypeOf<
  Workflow.Dynamic<"p", void, WorkflowError.WorkflowFailed<Boom>, never>
>()

// @ts-expect-error a task whose services the declared type does not allow cannot be assigned back
looped = Workflow.dynamic("loop").task("z", () => Mail.use((mail) => mail.send()))
looped = Workflow.dynamic("loop").task("z", () => Db.use((db) => db.query("ok")))
// @ts-expect-error the input type is checked
Engine.run(two, { n: "1" })
