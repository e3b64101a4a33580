/**
 * Type tests for TaskCache's Schema-typed helpers and the task-level cache policy.
 */
import { Effect, Option, Schema } from "effect"
import { expectTypeOf } from "vitest"
import { TaskCache, workflow } from "@troupe/core"

const key = TaskCache.CacheKey.make({ workflow: "ci", taskId: "build", input: { ref: "main" } })
const Output = Schema.Struct({ artifact: Schema.String })

// With a schema, a lookup is typed by it; without, it is unknown.
expectTypeOf(TaskCache.lookup(key, Output)).toEqualTypeOf<
  Effect.Effect<Option.Option<{ readonly artifact: string }>, never, never>
>()
expectTypeOf(TaskCache.lookup(key)).toEqualTypeOf<Effect.Effect<Option.Option<unknown>, never, never>>()

// Storing with a schema checks the value against it.
TaskCache.store(key, { artifact: "dist.tgz" }, { schema: Output })
// @ts-expect-error artifact must be a string
TaskCache.store(key, { artifact: 1 }, { schema: Output })

// A task's cache key function sees the task's context.
workflow("cached")
  .task("fetch", () => Effect.succeed({ etag: "x" }))
  .task("parse", {
    dependsOn: ["fetch"],
    cache: {
      key: ({ fetch }) => {
        expectTypeOf(fetch).toEqualTypeOf<{ etag: string }>()
        return fetch.etag
      }
    }
  }, () => Effect.succeed(1))
