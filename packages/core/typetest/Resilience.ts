/**
 * Type tests for the resilience features: `.compensate(...)` receives the output of the task it follows,
 * `.fallback(...)`'s result type joins that task's output type (a fallback of another type widens it to the
 * union, which dependants then see), their errors and services join the workflow's, and policies, breakers
 * and resource options are typed values.
 * Checked by `npm run typecheck` (tsc over the whole repository).
 */
import { Context, Duration, Effect, Schema } from "effect"
import { expectTypeOf } from "vitest"
import { Breaker, Engine, Policy, Task, Workflow, workflow } from "@troupe/core"
import type { WorkflowError } from "@troupe/core"

class Boom extends Schema.TaggedError<Boom>()("Boom", {}) {}
class UndoFailed extends Schema.TaggedError<UndoFailed>()("UndoFailed", {}) {}
class FallbackFailed extends Schema.TaggedError<FallbackFailed>()("FallbackFailed", {}) {}
class Ledger extends Context.Service<Ledger, { readonly refund: (id: string) => Effect.Effect<void> }>()("Ledger") {}
class Cache extends Context.Service<Cache, { readonly get: (key: string) => Effect.Effect<number> }>()("Cache") {}

// -----------------------------------------------------------------------------
// compensate
// -----------------------------------------------------------------------------

// The compensation receives the output of the task it follows, and the workflow input.
const booking = workflow("booking", { input: Schema.Struct({ order: Schema.String }) })
  .task("reserve", ({ input }) => Effect.succeed({ reservation: `r-${input.order}`, seats: 2 }))
  .compensate((reserved, ctx) => {
    expectTypeOf(reserved).toEqualTypeOf<{ reservation: string; seats: number }>()
    expectTypeOf(ctx).toEqualTypeOf<{ readonly input: { readonly order: string } }>()
    return Effect.void
  })
  .task("charge", { dependsOn: ["reserve"] }, ({ reserve }) => Effect.succeed(reserve.seats * 10))
  .compensate((amount) => {
    expectTypeOf(amount).toEqualTypeOf<number>()
    return Ledger.use((ledger) => ledger.refund(String(amount)))
  })
  .task("email", async () => "sent" as const)
  .compensate(async (sent) => {
    expectTypeOf(sent).toEqualTypeOf<"sent">()
  })

// A compensation's services join the workflow's; compensating does not change the outputs.
expectTypeOf<Workflow.Services<typeof booking>>().toEqualTypeOf<Ledger>()
expectTypeOf<Workflow.Outputs<typeof booking>>().toEqualTypeOf<{
  readonly reserve: { reservation: string; seats: number }
  readonly charge: number
  readonly email: "sent"
}>()

// A compensation's errors are reported in WorkflowFailed.compensations, not added to the run's errors.
const undoCanFail = workflow("undo-fails")
  .task("a", () => Effect.succeed(1))
  .compensate(() => Effect.fail(new UndoFailed()))
expectTypeOf<Workflow.Error<typeof undoCanFail>>().toEqualTypeOf<never>()

// The compensation of a task value sees the task value's output.
const lookup = Task.make({ description: "look up" }, (_: { readonly input: string }) => Effect.succeed(new Date(0)))
workflow<"tv", string>("tv")
  .task("when", lookup)
  .compensate((date) => {
    expectTypeOf(date).toEqualTypeOf<Date>()
  })

// The compensation's parameter is the output type: using it as something else does not compile.
workflow("w")
  .task("n", () => Effect.succeed(1))
  // @ts-expect-error the output of "n" is a number, not a string
  .compensate((n: string) => n)

workflow("w")
  .task("n", () => Effect.succeed(1))
  .compensate((n) => {
    // @ts-expect-error a number has no toUpperCase
    n.toUpperCase()
  })

// compensate(...) must follow a task.
// @ts-expect-error compensate(...) must follow a task
workflow("w").compensate(() => Effect.void)

// -----------------------------------------------------------------------------
// fallback
// -----------------------------------------------------------------------------

// A fallback receives the error (unknown: it may be a timeout, a CircuitOpen, a defect's absence...) and
// the input, and returns the task's output as an Effect, a plain value or a Promise.
const fetching = workflow("fetching")
  .task("price", () => Effect.fail(new Boom()) as Effect.Effect<number, Boom>)
  .fallback((error, ctx) => {
    expectTypeOf(error).toEqualTypeOf<unknown>()
    expectTypeOf(ctx).toEqualTypeOf<{ readonly input: void }>()
    return Cache.use((cache) => cache.get("price"))
  })
  .task("name", () => Effect.succeed("widget"))
  .fallback(() => "unknown")
  .task("stock", async () => 3)
  .fallback(() => 0)
  .task("total", { dependsOn: ["price", "stock"] }, ({ price, stock }) => {
    expectTypeOf(price).toEqualTypeOf<number>()
    expectTypeOf(stock).toEqualTypeOf<number>()
    return Effect.succeed(price * stock)
  })

// A fallback of the task's own output type leaves the output type as it was.
expectTypeOf<Workflow.Outputs<typeof fetching>>().toEqualTypeOf<{
  readonly price: number
  readonly name: string
  readonly stock: number
  readonly total: number
}>()
// The fallback's services join the workflow's.
expectTypeOf<Workflow.Services<typeof fetching>>().toEqualTypeOf<Cache>()
expectTypeOf<Workflow.Error<typeof fetching>>().toEqualTypeOf<Boom | WorkflowError.TaskException>()

// A fallback's errors join the workflow's errors (the task's stay: the fallback may not be reached).
const fallbackErrors = workflow("fallback-errors")
  .task("a", () => Effect.fail(new Boom()) as Effect.Effect<string, Boom>)
  .fallback(() => Effect.fail(new FallbackFailed()) as Effect.Effect<string, FallbackFailed>)
expectTypeOf<Workflow.Error<typeof fallbackErrors>>().toEqualTypeOf<Boom | FallbackFailed>()
// A Promise-returning fallback can reject: TaskException.
const promised = workflow("promised").task("a", () => Effect.succeed(1)).fallback(async () => 2)
expectTypeOf<Workflow.Error<typeof promised>>().toEqualTypeOf<WorkflowError.TaskException>()
expectTypeOf<Workflow.Outputs<typeof promised>>().toEqualTypeOf<{ readonly a: number }>()

// A fallback of another type widens the task's output to the union, and dependants see the union:
// they cannot use the output as the task's own type without narrowing.
const degraded = workflow("degraded")
  .task("user", () => Effect.succeed({ id: 1, name: "ada" }))
  .fallback(() => Effect.succeed("anonymous" as const))
  .task("greeting", { dependsOn: ["user"] }, ({ user }) => {
    expectTypeOf(user).toEqualTypeOf<{ id: number; name: string } | "anonymous">()
    // @ts-expect-error the fallback may have produced "anonymous", which has no name
    const unsafe: string = user.name
    return typeof user === "string" ? `hello, ${user}` : `hello, ${user.name} ${unsafe}`
  })
expectTypeOf<Workflow.Outputs<typeof degraded>>().toEqualTypeOf<{
  readonly user: { id: number; name: string } | "anonymous"
  readonly greeting: string
}>()

// The widened output is what the run returns, and what a compensation declared after the fallback sees.
workflow("w")
  .task("n", () => Effect.succeed(1))
  .fallback(() => null)
  .compensate((n) => {
    expectTypeOf(n).toEqualTypeOf<number | null>()
  })
const widened = Engine.run(workflow("w").task("n", () => Effect.succeed(1)).fallback(async () => "one"))
expectTypeOf<Effect.Success<typeof widened>["outputs"]>().toEqualTypeOf<{ readonly n: number | string }>()

// Only the task declared last is affected; the other outputs keep their types.
const onlyLast = workflow("only-last")
  .task("a", () => Effect.succeed(true))
  .task("b", () => Effect.succeed(1))
  .fallback(() => "b")
expectTypeOf<Workflow.Outputs<typeof onlyLast>>().toEqualTypeOf<{ readonly a: boolean; readonly b: number | string }>()

// A fallback's parameters are typed: the input is the workflow's.
workflow<"typed-input", { readonly n: number }>("typed-input")
  .task("t", ({ input }) => Effect.succeed(input.n))
  .fallback((_error, { input }) => {
    // @ts-expect-error n is a number
    input.n.toUpperCase()
    return input.n
  })

// fallback(...) must follow a task.
// @ts-expect-error fallback(...) must follow a task
workflow("w").fallback(() => 1)

// The run's error type carries the task's and the fallback's errors.
const fetched = Engine.run(fetching)
expectTypeOf<Effect.Error<typeof fetched>>().toEqualTypeOf<
  | WorkflowError.WorkflowFailed<Boom | WorkflowError.TaskException>
  | WorkflowError.WorkflowTimeout
  | WorkflowError.DefinitionError
>()

// -----------------------------------------------------------------------------
// Policies, breakers, resources: plain typed values
// -----------------------------------------------------------------------------

const retry = Policy.exponential({
  maxRetries: 3,
  initialDelay: "100 millis",
  backoffMultiplier: 2,
  maxDelay: Duration.seconds(5),
  jitter: 0.1,
  retryOn: [Boom, "RateLimited", Policy.matching((e) => e instanceof Error)],
  neverRetryOn: [UndoFailed],
  rules: [{ on: ["RateLimited"], maxRetries: 10, backoff: "fixed", initialDelay: "1 second" }]
})
expectTypeOf(retry).toEqualTypeOf<Policy.Retry>()

// @ts-expect-error fixed backoff has no multiplier
Policy.fixed({ maxRetries: 1, backoffMultiplier: 2 })
// @ts-expect-error the backoff is set by the constructor
Policy.linear({ maxRetries: 1, backoff: "exponential" })
// @ts-expect-error maxRetries is required
Policy.exponential({ initialDelay: "1 second" })
// @ts-expect-error not a backoff
Policy.fromData({ maxRetries: 1, backoff: "random", initialDelayMs: 1, backoffMultiplier: 2, maxDelayMs: 2, jitter: false })

const breaker = Breaker.make({ name: "api", maxFailures: 5, window: "1 minute", resetTimeout: "30 seconds" })
// @ts-expect-error resetTimeout is required
Breaker.make({ name: "api", maxFailures: 5 })

const guarded = workflow("guarded", {
  resources: { gpu: 2, db: 4 },
  perKeyLimit: 2,
  defaultTimeout: "30 seconds",
  deadline: "5 minutes",
  retry
})
  .task("train", {
    resources: { gpu: 1, db: 1 },
    concurrencyKey: "tenant-a",
    breaker,
    retry,
    timeout: "1 minute",
    attemptTimeout: "10 seconds"
  }, () => Effect.succeed(0.97))

Engine.run(guarded, undefined, {
  resources: { gpu: 1, db: 1 },
  perKeyLimit: 1,
  deadline: Duration.minutes(1),
  failureMode: "continue",
  compensateOnFailure: true
})

// @ts-expect-error resource units are numbers
workflow("w").task("t", { resources: { gpu: "one" } }, () => 1)
// @ts-expect-error not a failure mode
Engine.run(guarded, undefined, { failureMode: "ignore" })

// Timeouts and breaker refusals are typed errors naming the task and the limit.
declare const timeout: WorkflowError.TaskTimeout
expectTypeOf(timeout.taskId).toEqualTypeOf<string>()
expectTypeOf(timeout.timeoutMs).toEqualTypeOf<number>()
expectTypeOf(timeout.scope).toEqualTypeOf<"attempt" | "task">()
declare const open: Breaker.CircuitOpen
expectTypeOf(open.breaker).toEqualTypeOf<string>()
expectTypeOf(open.retryAfterMs).toEqualTypeOf<number>()
declare const late: WorkflowError.WorkflowTimeout
expectTypeOf(late.outputs).toEqualTypeOf<Readonly<Record<string, unknown>>>()
expectTypeOf(late.compensations).toEqualTypeOf<ReadonlyArray<WorkflowError.CompensationResult>>()
