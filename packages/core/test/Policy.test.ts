/**
 * Policy and Breaker numbers (issue 9): odd numbers are typed errors naming the option, and whatever a
 * policy holds, a retry decision is bounded (no endless retries, no NaN or infinite sleeps).
 */
import { assert, describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import * as Breaker from "../src/Breaker.ts"
import * as Policy from "../src/Policy.ts"
import { InvalidDefinition } from "../src/WorkflowError.ts"

const thrownBy = (f: () => unknown): unknown => {
  try {
    f()
  } catch (e) {
    return e
  }
  return undefined
}

const expectInvalid = (f: () => unknown, path: string, reason?: RegExp) => {
  const error = thrownBy(f)
  assert(error instanceof InvalidDefinition, `expected InvalidDefinition at ${path}, got ${String(error)}`)
  expect(error.path).toBe(path)
  if (reason !== undefined) expect(error.reason).toMatch(reason)
}

describe("Policy: numbers are checked (issue 9)", () => {
  it("validate returns InvalidDefinition naming the option; constructors keep what they are given", () => {
    const invalidAt = (policy: Policy.Retry, path: string, reason?: RegExp) => {
      const problem = Policy.validate(policy)
      assert(problem instanceof InvalidDefinition, `expected a problem at ${path}`)
      expect(problem.path).toBe(path)
      if (reason !== undefined) expect(problem.reason).toMatch(reason)
    }
    invalidAt(Policy.exponential({ maxRetries: NaN }), "retry.maxRetries", /whole number ≥ 0, got NaN/)
    invalidAt(Policy.exponential({ maxRetries: Infinity }), "retry.maxRetries")
    invalidAt(Policy.fixed({ maxRetries: -1 }), "retry.maxRetries", /got -1/)
    invalidAt(Policy.linear({ maxRetries: 1.5 }), "retry.maxRetries", /got 1.5/)
    invalidAt(Policy.exponential({ maxRetries: 2, backoffMultiplier: NaN }), "retry.backoffMultiplier")
    invalidAt(Policy.exponential({ maxRetries: 2, backoffMultiplier: Infinity }), "retry.backoffMultiplier")
    invalidAt(Policy.exponential({ maxRetries: 2, initialDelay: NaN }), "retry.initialDelay", /NaN/)
    invalidAt(Policy.exponential({ maxRetries: 2, initialDelay: -5 }), "retry.initialDelay")
    invalidAt(Policy.exponential({ maxRetries: 2, maxDelay: "Infinity" }), "retry.maxDelay", /finite/)
    invalidAt(Policy.exponential({ maxRetries: 2, initialDelay: "soon" as never }), "retry.initialDelay")
    invalidAt(Policy.fixed({ maxRetries: 2, jitter: 1.5 }), "retry.jitter", /between 0 and 1/)
    invalidAt(Policy.fixed({ maxRetries: 2, jitter: NaN }), "retry.jitter")
    invalidAt(
      Policy.exponential({ maxRetries: 2, rules: [{ on: ["A"], maxRetries: 1 }, { on: ["B"], maxRetries: NaN }] }),
      "retry.rules[1].maxRetries"
    )
    // The seeds' RetryConfig: a NaN delay in seconds stays NaN (Duration.seconds(NaN) used to read as 0).
    invalidAt(Policy.fromRetryConfig({ max_retries: NaN }), "retry.maxRetries")
    invalidAt(Policy.fromRetryConfig({ max_retries: 3, initial_delay: NaN }), "retry.initialDelay")
    invalidAt(Policy.fromRetryConfig({ max_retries: 3, max_delay: -1 }), "retry.maxDelay")
    expect(Policy.toData(Policy.fromRetryConfig({ max_retries: 3, initial_delay: 0.5 }))).toMatchObject({
      maxRetries: 3,
      initialDelayMs: 500,
      maxDelayMs: 60_000
    })
  })

  it("validate names the task, takes a path prefix and accepts every valid shape", () => {
    const problem = Policy.validate({ maxRetries: NaN }, { path: "tasks[3].retry", taskId: "fetch" })
    expect(problem?.message).toBe(
      `Invalid workflow definition at tasks[3].retry.maxRetries (task "fetch"): must be a whole number ≥ 0, got NaN`
    )
    expect(Policy.validate({ maxRetries: 1, backoff: "cubic" as never })?.path).toBe("retry.backoff")
    expect(Policy.validate({ maxRetries: 1, rules: [{ maxRetries: 1 } as never] })?.path).toBe("retry.rules[0].on")
    expect(Policy.validate({ maxRetries: 0 })).toBeUndefined()
    expect(
      Policy.validate({
        maxRetries: 5,
        backoff: "linear",
        initialDelay: 0,
        maxDelay: "1 hour",
        backoffMultiplier: 0,
        jitter: 1,
        rules: [{ on: [], maxRetries: 0, jitter: true }]
      })
    ).toBeUndefined()
  })

  it("decide never retries under an invalid count: maxRetries NaN used to retry forever", () => {
    for (const maxRetries of [NaN, Infinity, -1, 1.5, "3" as never, undefined as never]) {
      expect(Policy.decide({ maxRetries }, new Error("x"), [0], 0), String(maxRetries))
        .toEqual({ _tag: "Stop", reason: "exhausted" })
    }
    // A rule with a NaN count stops too, instead of falling back to endless retries.
    const policy: Policy.Retry = { maxRetries: 1, rules: [{ on: ["Busy"], maxRetries: NaN }] }
    expect(Policy.decide(policy, { _tag: "Busy" }, [0, 0], 0)).toEqual({ _tag: "Stop", reason: "exhausted" })
  })

  it("whatever the numbers, decide ends within maxRetries + 1 calls and every delay is finite and ≥ 0", () => {
    const odd = fc.oneof(
      fc.constantFrom(NaN, Infinity, -Infinity, -0, -1, 0.5, 1e308, Number.MAX_SAFE_INTEGER + 2),
      fc.double(),
      fc.integer({ min: -3, max: 8 })
    )
    const duration = fc.oneof(odd, fc.constantFrom("1 second", "Infinity", "nonsense", undefined))
    const timing = fc.record({
      maxRetries: odd,
      backoff: fc.constantFrom("exponential" as const, "fixed" as const, "linear" as const, undefined),
      initialDelay: duration,
      maxDelay: duration,
      backoffMultiplier: fc.option(odd, { nil: undefined }),
      jitter: fc.oneof(fc.boolean(), odd, fc.constant(undefined))
    })
    fc.assert(
      fc.property(timing, odd, (t, random) => {
        const policy = t as unknown as Policy.Retry
        const limit = Number.isInteger(t.maxRetries) && t.maxRetries >= 0 ? t.maxRetries : 0
        let done = 0
        for (; done <= Math.min(limit, 50); done++) {
          const decision = Policy.decide(policy, new Error("x"), [done], random)
          if (decision._tag === "Stop") break
          expect(Number.isFinite(decision.delayMs)).toBe(true)
          expect(decision.delayMs).toBeGreaterThanOrEqual(0)
        }
        expect(done).toBeLessThanOrEqual(limit)
        // An invalid policy is always reported by validate.
        if (!(Number.isInteger(t.maxRetries) && t.maxRetries >= 0)) expect(Policy.validate(policy)).toBeDefined()
      }),
      { numRuns: process.env.TROUPE_SOAK === "1" ? 20_000 : 300 }
    )
  })
})

describe("Breaker.make: options are checked (issue 9)", () => {
  const base = { name: "api", maxFailures: 3, window: "1 minute", resetTimeout: "10 seconds" } as const

  it("throws InvalidDefinition naming the breaker and the option", () => {
    for (const maxFailures of [NaN, 0, -1, 1.5, Infinity]) {
      expectInvalid(() => Breaker.make({ ...base, maxFailures }), `breaker("api").maxFailures`, /whole number ≥ 1/)
    }
    for (const window of [NaN, -1, 0, "later" as never]) {
      expectInvalid(() => Breaker.make({ ...base, window }), `breaker("api").window`)
    }
    for (const resetTimeout of [NaN, -1, "Infinity" as const, undefined as never]) {
      expectInvalid(() => Breaker.make({ ...base, resetTimeout }), `breaker("api").resetTimeout`)
    }
    expectInvalid(() => Breaker.make({ ...base, name: "" }), "breaker.name")
  })

  it("valid options still make a working breaker (an infinite window is allowed)", () => {
    const b = Breaker.make({ ...base, maxFailures: 1, window: "Infinity", resetTimeout: 0 })
    expect(b.record(0, false)).toEqual({ from: "closed", to: "open" })
    expect(b.state(0)).toBe("half-open")
  })
})
