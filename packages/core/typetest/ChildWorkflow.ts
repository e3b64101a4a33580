/**
 * Type tests for child workflows started at run time (`TaskInfo.runWorkflow`): the child's outputs, its
 * errors inside `WorkflowFailed` plus the definition errors, its services; the input checked.
 */
import { Context, Effect, Schema } from "effect"
import { expectTypeOf } from "vitest"
import { Task, Workflow } from "@troupe/core"
import type { WorkflowError } from "@troupe/core"

class Boom extends Schema.TaggedError<Boom>()("Boom", {}) {}
class Db extends Context.Service<Db, { readonly query: (sql: string) => Effect.Effect<number> }>()("Db") {}

const child = Workflow.make<"child", { readonly n: number }>("child")
  .task("count", ({ input }) => input.n > 0 ? Effect.succeed(input.n) : Effect.fail(new Boom()))
  .task("rows", () => Db.use((db) => db.query("select 1")))
  .task("label", { dependsOn: ["count"] }, ({ count }) => `n=${count}`)

const noInput = Workflow.make("noInput").task("one", () => 1)

declare const info: Task.TaskInfo

// Outputs, errors (the child's inside WorkflowFailed, plus definition errors) and services are the child's.
expectTypeOf(info.runWorkflow(child, { n: 1 })).toEqualTypeOf<
  Effect.Effect<
    { readonly count: number; readonly rows: number; readonly label: string },
    WorkflowError.WorkflowFailed<Boom> | WorkflowError.DefinitionError,
    Db
  >
>()

// A child that takes no input needs none; options name the child.
expectTypeOf(info.runWorkflow(noInput)).toEqualTypeOf<
  Effect.Effect<{ readonly one: number }, WorkflowError.WorkflowFailed<never> | WorkflowError.DefinitionError, never>
>()
info.runWorkflow(noInput, undefined, { name: "first" })

// @ts-expect-error the input must be the child's: { n: number }
info.runWorkflow(child, { n: "1" })

// @ts-expect-error the child takes an input
info.runWorkflow(child)

// @ts-expect-error unknown option
info.runWorkflow(noInput, undefined, { nme: "first" })

// A task value whose handler starts a child: its output, errors and services follow.
const caller = Task.make({}, (_: { readonly input: number }, info: Task.TaskInfo) =>
  info.runWorkflow(child, { n: 2 }).pipe(Effect.map((outputs) => outputs.label)))
expectTypeOf(caller).toEqualTypeOf<
  Task.Task<string, WorkflowError.WorkflowFailed<Boom> | WorkflowError.DefinitionError, Db, { readonly input: number }>
>()

const parent = Workflow.make<"parent", number>("parent").task("caller", caller)
expectTypeOf<Workflow.Outputs<typeof parent>>().toEqualTypeOf<{ readonly caller: string }>()
expectTypeOf<Workflow.Services<typeof parent>>().toEqualTypeOf<Db>()
