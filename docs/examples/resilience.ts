/**
 * docs/resilience.md: retries, timeouts, deadlines, breakers, fallbacks, compensation, resource pools.
 * Run: `npx node --conditions=source docs/examples/resilience.ts`
 */
import { Effect, Schema } from "effect"
import { Breaker, Engine, Policy, workflow } from "@troupe/core"

class RateLimited extends Schema.TaggedError<RateLimited>()("RateLimited", { retryAfterMs: Schema.Number }) {}
class Invalid extends Schema.TaggedError<Invalid>()("Invalid", {}) {}

// Exponential backoff capped at 2 s, ±20 % jitter; rate limits get their own policy and honour Retry-After;
// `Invalid` never retries.
const policy = Policy.exponential({
  maxRetries: 3,
  initialDelay: "50 millis",
  maxDelay: "2 seconds",
  jitter: true,
  neverRetryOn: [Invalid],
  rules: [{ on: [RateLimited], maxRetries: 5, backoff: "fixed", initialDelay: "100 millis" }]
})

const api = Breaker.make({ name: "payments-api", maxFailures: 3, window: "1 minute", resetTimeout: "30 seconds" })

let calls = 0
export const checkout = workflow("checkout", {
  retry: policy, // the default for tasks that declare none
  defaultTimeout: "10 seconds",
  deadline: "1 minute",
  resources: { db: 2 }
})
  .task("reserve", { resources: { db: 1 } }, () => Effect.succeed({ reservation: "r-1" }))
  .compensate(({ reservation }) => Effect.log(`release ${reservation}`))
  .task("charge", { dependsOn: ["reserve"], breaker: api, attemptTimeout: "2 seconds" }, () =>
    Effect.suspend(() =>
      ++calls < 3 ? Effect.fail(new RateLimited({ retryAfterMs: 10 })) : Effect.succeed({ charge: "c-1" })
    ))
  .compensate(({ charge }) => Effect.log(`refund ${charge}`))
  .task("recommend", { concurrencyKey: "ml-api" }, () => Effect.fail(new Invalid()))
  .fallback(() => Effect.succeed(["bestsellers"])) // used when retries are exhausted
  .task("ship", { dependsOn: ["charge", "recommend"] }, ({ charge, recommend }) =>
    Effect.succeed(`${charge.charge} + ${recommend.length} recommendations`))

if (import.meta.main) {
  const result = await Effect.runPromise(Engine.run(checkout, undefined, { perKeyLimit: 1 }))
  console.log(result.outputs.ship, result.state.tasks.map((t) => `${t.id}: ${t.attempts} attempts`))
}
