/**
 * Type tests for rate limits: a rate limit's key function sees the task's typed context; a plain
 * `Task.RateLimit` value fits any task; its numbers are numbers.
 */
import { Effect } from "effect"
import { expectTypeOf } from "vitest"
import { type Task, Workflow } from "@troupe/core"

const provider: Task.RateLimit = { limit: 60, interval: "1 minute" }

Workflow.make<"typed", { readonly tenant: string }>("typed")
  .task("a", { rateLimit: provider }, () => Effect.succeed(1))
  .task("b", {
    dependsOn: ["a"],
    rateLimit: {
      limit: 5,
      interval: "1 second",
      key: (ctx) => {
        expectTypeOf(ctx.input.tenant).toEqualTypeOf<string>()
        expectTypeOf(ctx.a).toEqualTypeOf<number>()
        return ctx.input.tenant
      }
    }
  }, ({ a }) => Effect.succeed(a + 1))

// A key function must return a string.
// @ts-expect-error: the key function returns a number
Workflow.make<"bad", { readonly tenant: string }>("bad").task("x", {
  rateLimit: {
    limit: 1,
    interval: "1 second",
    key: (ctx) => ctx.input.tenant.length
  }
}, () => Effect.succeed(1))

// @ts-expect-error: limit is a number
const wrong: Task.RateLimit = { limit: "10", interval: "1 second" }
void wrong

Workflow.dynamic<"dyn", { readonly region: string }>("dyn").task("t", {
  rateLimit: { limit: 1, interval: "1 second", key: ({ input }) => input.region }
}, () => Effect.succeed(1))
