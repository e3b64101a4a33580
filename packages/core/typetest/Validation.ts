/**
 * Type tests for the checks of issue 9: the validators return a typed InvalidDefinition or undefined,
 * and the errors they and the cache throw are tagged.
 */
import { expectTypeOf } from "vitest"
import { Breaker, Policy, TaskCache, WorkflowError } from "@troupe/core"

expectTypeOf(Policy.validate({ maxRetries: 1 })).toEqualTypeOf<WorkflowError.InvalidDefinition | undefined>()
expectTypeOf(Policy.validate).parameter(1).toEqualTypeOf<
  { readonly path?: string | undefined; readonly taskId?: string | undefined } | undefined
>()
// @ts-expect-error a policy needs maxRetries
Policy.validate({ backoff: "fixed" })

expectTypeOf(TaskCache.validateOptions({ ttl: "1 hour", maxEntries: 10 })).toEqualTypeOf<
  WorkflowError.InvalidDefinition | undefined
>()
// @ts-expect-error maxEntries is a number
TaskCache.validateOptions({ maxEntries: "10" })

// The dependency outputs of a key may be a record or a Map.
TaskCache.CacheKey.make({ workflow: "w", taskId: "t", dependencyOutputs: new Map([["__proto__", 1]]) })
TaskCache.CacheKey.make({ workflow: "w", taskId: "t", dependencyOutputs: { a: 1 } })
// @ts-expect-error not a record or a Map
TaskCache.CacheKey.make({ workflow: "w", taskId: "t", dependencyOutputs: [1, 2] })

declare const unhashable: TaskCache.UnhashableValue
expectTypeOf(unhashable._tag).toEqualTypeOf<"UnhashableValue">()
expectTypeOf(unhashable.path).toEqualTypeOf<string>()

expectTypeOf(Breaker.make({ name: "api", maxFailures: 3, resetTimeout: "1 second" })).toEqualTypeOf<Breaker.Breaker>()
