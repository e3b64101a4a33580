/**
 * Type tests for the workflow builder: inferred types (expectTypeOf) and rejections (@ts-expect-error).
 * Checked by `npm run typecheck` (tsc over the whole repository).
 */
import { Context, Effect, Schema } from "effect"
import { expectTypeOf } from "vitest"
import { Engine, Task, Workflow, workflow } from "@troupe/core"
import type { WorkflowError } from "@troupe/core"

class Boom extends Schema.TaggedError<Boom>()("Boom", {}) {}
class Db extends Context.Service<Db, { readonly query: (sql: string) => Effect.Effect<number> }>()("Db") {}

const ci = workflow("ci", { input: Schema.Struct({ repo: Schema.String }) })
  .task("checkout", ({ input }) => {
    expectTypeOf(input).toEqualTypeOf<{ readonly repo: string }>()
    return Effect.succeed({ dir: `/tmp/${input.repo}` })
  })
  .task("build", { dependsOn: ["checkout"] }, ({ checkout, input }) => {
    expectTypeOf(checkout).toEqualTypeOf<{ dir: string }>()
    expectTypeOf(input.repo).toEqualTypeOf<string>()
    return Effect.succeed(42)
  })
  .task("lint", { dependsOn: ["checkout"], priority: 8 }, async ({ checkout }) => checkout.dir.length)
  .task("test", { dependsOn: ["build", "lint"] }, (ctx) => {
    expectTypeOf(ctx).toEqualTypeOf<{ readonly input: { readonly repo: string }; readonly build: number; readonly lint: number }>()
    return ctx.build > 0 ? Effect.succeed(true) : Effect.fail(new Boom())
  })
  .task("count", () => Db.use((db) => db.query("select 1")))
  .task("report", { dependsOn: ["test"] }, ({ test }) => `passed: ${test}`)
  .dependsOn("count", "lint")

// The result's outputs record is typed.
type CiOutputs = Workflow.Outputs<typeof ci>
expectTypeOf<CiOutputs>().toEqualTypeOf<{
  readonly checkout: { dir: string }
  readonly build: number
  readonly lint: number
  readonly test: boolean
  readonly count: number
  readonly report: string
}>()

// Errors and services accumulate.
expectTypeOf<Workflow.Error<typeof ci>>().toEqualTypeOf<Boom | WorkflowError.TaskException>()
expectTypeOf<Workflow.Services<typeof ci>>().toEqualTypeOf<Db>()

const running = Engine.run(ci, { repo: "troupe" })
expectTypeOf<Effect.Services<typeof running>>().toEqualTypeOf<Db>()
expectTypeOf<Effect.Success<typeof running>["outputs"]>().toEqualTypeOf<CiOutputs>()

// Running a workflow without the services its tasks require does not type-check.
// @ts-expect-error Db is not provided
Effect.runPromise(Engine.run(ci, { repo: "troupe" }))
Effect.runPromise(Engine.run(ci, { repo: "troupe" }).pipe(Effect.provideService(Db, { query: () => Effect.succeed(1) })))

// Wrong workflow input type.
// @ts-expect-error repo must be a string
Engine.run(ci, { repo: 1 })
// @ts-expect-error input is required
Engine.run(ci)

// Unknown or not-yet-declared task id in a dependency.
workflow("w")
  .task("a", () => Effect.succeed(1))
  // @ts-expect-error "b" is not declared (yet)
  .task("c", { dependsOn: ["b"] }, () => Effect.succeed(2))

workflow("w")
  .task("a", () => Effect.succeed(1))
  .task("b", () => Effect.succeed(2))
  // @ts-expect-error a task cannot depend on itself or on an unknown id in dependsOn(...)
  .dependsOn("b")

// Duplicate task id.
workflow("w")
  .task("a", () => Effect.succeed(1))
  // @ts-expect-error task "a" is already defined
  .task("a", () => Effect.succeed(2))

// "input" is reserved.
// @ts-expect-error "input" is reserved for the workflow input
workflow("w").task("input", () => Effect.succeed(1))

// Reading a dependency's output that was not declared.
workflow("w")
  .task("a", () => Effect.succeed(1))
  .task("b", () => Effect.succeed("b"))
  .task("c", { dependsOn: ["a"] }, (ctx) => {
    // @ts-expect-error b is not a declared dependency of c
    return Effect.succeed(ctx.b)
  })

// Conditional tasks (and what depends on them) are optional in the result.
const conditional = workflow("cond")
  .task("a", () => Effect.succeed(1))
  .task("maybe", { dependsOn: ["a"], when: ({ a }) => a > 0 }, ({ a }) => Effect.succeed(a * 2))
  .task("after", { dependsOn: ["maybe"] }, ({ maybe }) => {
    expectTypeOf(maybe).toEqualTypeOf<number>()
    return Effect.succeed(String(maybe))
  })
  .task("anyway", { dependsOn: ["maybe", "a"], runIfSkipped: true }, ({ maybe, a }) => {
    expectTypeOf(maybe).toEqualTypeOf<number | undefined>()
    expectTypeOf(a).toEqualTypeOf<number>()
    return Effect.succeed(true)
  })
expectTypeOf<Workflow.Outputs<typeof conditional>>().toEqualTypeOf<{
  readonly a: number
  readonly anyway: boolean
  readonly maybe?: number
  readonly after?: string
}>()

// A workflow without input runs without an argument.
const noInput = workflow("plain").task("x", () => Effect.succeed(1))
expectTypeOf(Engine.run(noInput)).toEqualTypeOf<
  Effect.Effect<
    Engine.RunResult<{ readonly x: number }>,
    WorkflowError.WorkflowFailed<never> | WorkflowError.WorkflowTimeout | WorkflowError.DefinitionError
  >
>()

// Sub-workflows: typed mapping in, typed outputs out.
const child = workflow("child", { input: Schema.Struct({ n: Schema.Number }) })
  .task("double", ({ input }) => Effect.succeed(input.n * 2))
const parent = workflow("parent")
  .task("seed", () => Effect.succeed(21))
  .task("sub", child, { dependsOn: ["seed"], input: ({ seed }) => ({ n: seed }) })
  .task("use", { dependsOn: ["sub"] }, ({ sub }) => Effect.succeed(sub.double + 1))
expectTypeOf<Workflow.Outputs<typeof parent>["sub"]>().toEqualTypeOf<{ readonly double: number }>()

workflow("parent2")
  .task("seed", () => Effect.succeed("x"))
  // @ts-expect-error the child's input needs n: number
  .task("sub", child, { dependsOn: ["seed"], input: ({ seed }) => ({ n: seed }) })

// Task values: the handler's parameter says what the task needs.
const words = Task.make({ description: "count words" }, ({ input }: { readonly input: string }) =>
  Effect.succeed(input.split(" ").length))
const usesWords = Workflow.make<"words", string>("words").task("count", words)
expectTypeOf<Workflow.Outputs<typeof usesWords>>().toEqualTypeOf<{ readonly count: number }>()
// @ts-expect-error the task needs a string input
Workflow.make<"nums", number>("nums").task("count", words)

const needsA = Task.make({}, ({ a }: { readonly a: number }) => Effect.succeed(a + 1))
workflow("t").task("a", () => Effect.succeed(1)).task("b", { dependsOn: ["a"] }, needsA)
// @ts-expect-error needsA reads a, which b does not depend on
workflow("t").task("a", () => Effect.succeed(1)).task("b", needsA)

// Priorities are 1..10.
// @ts-expect-error priority 11 is out of range
workflow("p").task("a", { priority: 11 }, () => Effect.succeed(1))

// dependsOn must follow a task.
// @ts-expect-error dependsOn(...) must follow a task
workflow("e").dependsOn("x")

// Output mapping: a published value is read like an output, typed.
const published = workflow("pub")
  .task("login", () => Effect.succeed({ token: "t", user: { id: 7 } }))
  .publish("userId", (out) => out.user.id)
  .dependsOn()
  .task("fetch", { dependsOn: ["userId"] }, ({ userId }) => {
    expectTypeOf(userId).toEqualTypeOf<number>()
    return Effect.succeed(userId + 1)
  })
expectTypeOf<Workflow.Outputs<typeof published>["userId"]>().toEqualTypeOf<number>()
// @ts-expect-error "login" is already a task id
workflow("pub2").task("login", () => Effect.succeed(1)).publish("login", (n) => n)

// A child without input needs no mapping.
const noInputChild = workflow("child0").task("inner", () => Effect.succeed(1))
workflow("p0").task("sub", noInputChild).task("after", { dependsOn: ["sub"] }, ({ sub }) => Effect.succeed(sub.inner))

// A concurrency key computed from the task's context is typed like a handler's context.
workflow("keys")
  .task("account", () => Effect.succeed({ tenant: "acme" }))
  .task("sync", {
    dependsOn: ["account"],
    concurrencyKey: ({ account }) => {
      expectTypeOf(account).toEqualTypeOf<{ tenant: string }>()
      return account.tenant
    }
  }, () => Effect.void)
workflow("keys2")
  .task("account", () => Effect.succeed({ tenant: "acme" }))
  .task("other", () => Effect.succeed(1))
  // @ts-expect-error the key function reads "other", which is not a dependency
  .task("sync", { dependsOn: ["account"], concurrencyKey: ({ other }) => String(other) }, () => Effect.void)

// Workflow-level defaults: continueOnFailure is a boolean, next to maxParallel and defaultTimeout.
workflow("defaults", { maxParallel: 2, defaultTimeout: "1 minute", continueOnFailure: true })
// @ts-expect-error continueOnFailure is a boolean (the failure mode per run is RunOptions.failureMode)
workflow("defaults2", { continueOnFailure: "continue" })
Workflow.dynamic("dynamicDefaults", { continueOnFailure: false, maxParallel: 4 })

// fromPlan: the workflow's errors are the handlers' errors and the errors of loops declared in data.
declare const decodedPlan: import("@troupe/core").Plan.Plan
const fromData = Workflow.fromPlan(decodedPlan, { handlers: { build: () => Effect.fail(new Boom()) } })
expectTypeOf<Workflow.Error<Effect.Success<typeof fromData>>>().toEqualTypeOf<
  Boom | import("@troupe/core").Loop.LoopError | import("@troupe/core").Loop.LoopLimitExceeded
>()
