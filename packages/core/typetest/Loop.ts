/**
 * Type tests for loops: the context a loop needs is its `items`/`initial` parameter, outputs and errors
 * depend on the failure mode, and the limit error is typed.
 */
import { Context, Effect, Result, Schema } from "effect"
import { expectTypeOf } from "vitest"
import { Engine, Loop, Task, Workflow } from "@troupe/core"
import type { WorkflowError } from "@troupe/core"

class Fetch extends Schema.TaggedError<Fetch>()("Fetch", { url: Schema.String }) {}
class Http extends Context.Service<Http, { readonly get: (url: string) => Effect.Effect<string, Fetch> }>()("Http") {}

// fail-fast (default): an array of the bodies' outputs; their errors fail the task.
const pages = Loop.forEach({
  items: ({ list }: { readonly list: ReadonlyArray<string> }) => list,
  concurrency: 4,
  body: (url, index, ctx) => {
    expectTypeOf(url).toEqualTypeOf<string>()
    expectTypeOf(index).toEqualTypeOf<number>()
    expectTypeOf(ctx).toEqualTypeOf<{ readonly list: ReadonlyArray<string> }>()
    return Http.use((http) => http.get(url))
  }
})
expectTypeOf(pages).toEqualTypeOf<
  Task.Task<ReadonlyArray<string>, Fetch, Http, { readonly list: ReadonlyArray<string> }>
>()

// continue: one Result per item; the task itself does not fail with the bodies' errors.
const settled = Loop.forEach({
  items: ({ input }: { readonly input: ReadonlyArray<number> }) => input,
  failureMode: "continue",
  body: (n) => (n % 2 === 0 ? Effect.succeed(n / 2) : Effect.fail(new Fetch({ url: String(n) })))
})
expectTypeOf(settled).toEqualTypeOf<
  Task.Task<ReadonlyArray<Result.Result<number, Fetch>>, never, never, { readonly input: ReadonlyArray<number> }>
>()

// Items from an Effect, bodies returning Promises or plain values.
const fromEffect = Loop.forEach({
  items: () => Effect.succeed(new Set([1, 2, 3])),
  body: async (n) => `#${n}`
})
expectTypeOf(fromEffect).toEqualTypeOf<Task.Task<ReadonlyArray<string>, WorkflowError.TaskException, never, unknown>>()
const plain = Loop.forEach({ items: () => ["a"], body: (s) => s.length })
expectTypeOf(plain).toEqualTypeOf<Task.Task<ReadonlyArray<number>, never, never, unknown>>()

// In a workflow: the loop's needs must be met by the task's dependencies.
const crawl = Workflow.make("crawl")
  .task("list", () => Effect.succeed(["https://a", "https://b"] as ReadonlyArray<string>))
  .task("pages", { dependsOn: ["list"] }, pages)
  .task("lengths", { dependsOn: ["pages"] }, ({ pages }) => pages.map((page) => page.length))
expectTypeOf<Workflow.Outputs<typeof crawl>["pages"]>().toEqualTypeOf<ReadonlyArray<string>>()
expectTypeOf<Workflow.Error<typeof crawl>>().toEqualTypeOf<Fetch>()
expectTypeOf<Workflow.Services<typeof crawl>>().toEqualTypeOf<Http>()
// @ts-expect-error the loop reads `list`, which the task does not depend on
Workflow.make("crawl").task("list", () => ["x"] as ReadonlyArray<string>).task("pages", pages)
// @ts-expect-error `list` has the wrong type
Workflow.make("crawl").task("list", () => [1]).task("pages", { dependsOn: ["list"] }, pages)

// while / until: the final state; LoopLimitExceeded is typed; condition errors and services accumulate.
class Budget extends Context.Service<Budget, { readonly left: Effect.Effect<boolean> }>()("Budget") {}
const doubling = Loop.whileLoop({
  initial: ({ input }: { readonly input: number }) => ({ value: input, steps: 0 }),
  while: (state, i) => {
    expectTypeOf(i).toEqualTypeOf<number>()
    return state.value < 100
  },
  body: (state) => Effect.succeed({ value: state.value * 2, steps: state.steps + 1 }),
  maxIterations: 10
})
expectTypeOf(doubling).toEqualTypeOf<
  Task.Task<{ value: number; steps: number }, Loop.LoopLimitExceeded, never, { readonly input: number }>
>()
const polling = Loop.until({
  initial: () => 0,
  until: (n) => Budget.use((budget) => budget.left).pipe(Effect.map((left) => !left || n > 3)),
  body: (n) => n > 5 ? Effect.fail(new Fetch({ url: "x" })) : Effect.succeed(n + 1),
  maxIterations: 5
})
expectTypeOf(polling).toEqualTypeOf<Task.Task<number, Fetch | Loop.LoopLimitExceeded, Budget, unknown>>()

const counted = Workflow.make<"count", number>("count").task("double", doubling).task("poll", polling)
const run = Engine.run(counted, 3)
expectTypeOf<Effect.Services<typeof run>>().toEqualTypeOf<Budget>()
expectTypeOf<Effect.Success<typeof run>["outputs"]["double"]>().toEqualTypeOf<{ value: number; steps: number }>()

// @ts-expect-error maxIterations is required
Loop.whileLoop({ initial: () => 0, while: (n) => n < 3, body: (n) => Effect.succeed(n + 1) })
// @ts-expect-error the body must return the state's type
Loop.whileLoop({ initial: () => 0, while: (n) => n < 3, body: (n) => Effect.succeed(`${n}`), maxIterations: 3 })


// Inline in a workflow, an unannotated `items` takes its context from `dependsOn`, and the body its item type.
{
  const wf = Workflow.make("unannotated")
    .task("list", () => Effect.succeed([1, 2, 3]))
    .task("doubled", { dependsOn: ["list"] }, Loop.forEach({
      items: ({ list }) => list,
      body: (n) => {
        expectTypeOf(n).toEqualTypeOf<number>()
        return Effect.succeed(n * 2)
      }
    }))
  expectTypeOf<Workflow.Outputs<typeof wf>["doubled"]>().toEqualTypeOf<ReadonlyArray<number>>()
}
