/**
 * Policy: retry policies as plain values.
 *
 * A retry policy says how many times to retry, how long to wait before each retry (exponential, fixed or
 * linear backoff, capped, optionally jittered) and which errors retry at all. Rules give different
 * policies to different error classes in one task. An error that carries a suggested delay
 * (`retryAfter`, for example a rate limit) makes the next attempt wait that long, capped by the policy's
 * maximum delay.
 *
 * The seeds' `RetryConfig { max_retries, backoff_multiplier, initial_delay, max_delay }` maps one to one:
 * `Policy.fromRetryConfig`.
 *
 * Numbers are checked ({@link validate}): `maxRetries` a whole number ≥ 0, delays finite durations ≥ 0,
 * `backoffMultiplier` finite and ≥ 0, `jitter` between 0 and 1. The constructors build plain values and
 * keep what they are given (no number is silently turned into another); the engine checks every policy
 * before a run starts and fails it with an `InvalidDefinition` naming the task and the option
 * (`tasks[3].retry.rules[1].maxRetries`); and {@link decide} is bounded whatever it is given (a
 * `maxRetries: NaN` stops instead of retrying forever).
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { Policy } from "@troupe/core"
 *
 * class RateLimited extends Schema.TaggedError<RateLimited>()("RateLimited", { retryAfterMs: Schema.Number }) {}
 * class BadRequest extends Schema.TaggedError<BadRequest>()("BadRequest", {}) {}
 *
 * const policy = Policy.exponential({
 *   maxRetries: 3,
 *   initialDelay: "100 millis",
 *   maxDelay: "5 seconds",
 *   retryOn: ["RateLimited", "Timeout"],
 *   rules: [{ on: [RateLimited], maxRetries: 10, backoff: "fixed", initialDelay: "1 second" }]
 * })
 * ```
 *
 * @since 0.1.0
 */
import { Duration } from "effect"
import { checkCount, checkDuration, checkNumber, invalid } from "./internal/checkOptions.ts"
import type { RetryPolicyData } from "./Plan.ts"
import type { InvalidDefinition } from "./WorkflowError.ts"

// -----------------------------------------------------------------------------
// Models
// -----------------------------------------------------------------------------

/**
 * How the delay grows between retries: `exponential` (initial × multiplier^(n-1)), `fixed` (initial),
 * `linear` (initial × n).
 *
 * @category models
 * @since 0.1.0
 */
export type Backoff = "exponential" | "fixed" | "linear"

/**
 * Which errors a policy applies to: a tagged error class, a `_tag` string, or a predicate (wrap
 * predicates with `Policy.matching` so they are not mistaken for classes).
 *
 * @category models
 * @since 0.1.0
 */
export type ErrorMatcher =
  | string
  | (abstract new(...args: never) => unknown)
  | { readonly predicate: (error: unknown) => boolean }

/**
 * The timing part of a retry policy.
 *
 * @category models
 * @since 0.1.0
 */
export interface Timing {
  /** Retries after the first attempt. 0 means no retry. */
  readonly maxRetries: number
  /** Default `exponential`. */
  readonly backoff?: Backoff | undefined
  /** Default 1 second. */
  readonly initialDelay?: Duration.Input | undefined
  /** Exponential growth factor. Default 2. */
  readonly backoffMultiplier?: number | undefined
  /** Cap on any single delay, including a Retry-After. Default 60 seconds. */
  readonly maxDelay?: Duration.Input | undefined
  /** Randomise each delay: `true` means ±20 %, a number is the fraction (0.1 = ±10 %). */
  readonly jitter?: boolean | number | undefined
}

/**
 * A retry rule for some errors, overriding the policy's own timing for them.
 *
 * @category models
 * @since 0.1.0
 */
export interface Rule extends Timing {
  readonly on: ReadonlyArray<ErrorMatcher>
}

/**
 * A retry policy.
 *
 * @category models
 * @since 0.1.0
 */
export interface Retry extends Timing {
  /** Only these errors retry (rules' errors always do). Default: every failure retries. */
  readonly retryOn?: ReadonlyArray<ErrorMatcher> | undefined
  /** These errors never retry, even if `retryOn` would match. */
  readonly neverRetryOn?: ReadonlyArray<ErrorMatcher> | undefined
  /** Per-error-class policies; the first matching rule wins, and counts its own retries. */
  readonly rules?: ReadonlyArray<Rule> | undefined
}

/**
 * A retry decision: wait `delayMs`, then attempt again; or stop.
 *
 * @category models
 * @since 0.1.0
 */
export type Decision =
  | { readonly _tag: "Retry"; readonly delayMs: number; readonly rule: number; readonly retryAfterMs?: number | undefined }
  | { readonly _tag: "Stop"; readonly reason: "exhausted" | "not-retryable" }

// -----------------------------------------------------------------------------
// Validation
// -----------------------------------------------------------------------------

const BACKOFFS: ReadonlyArray<unknown> = ["exponential", "fixed", "linear"]

const validateTiming = (path: string, timing: Timing, taskId: string | undefined): InvalidDefinition | undefined => {
  if (typeof timing !== "object" || timing === null) return invalid(path, "must be an object", taskId)
  const duration = (name: string, value: unknown) => {
    const checked = checkDuration(`${path}.${name}`, value, { taskId })
    return typeof checked === "number" ? undefined : checked
  }
  return checkCount(`${path}.maxRetries`, timing.maxRetries, 0, { taskId }) ??
    (timing.maxRetries === undefined ? invalid(`${path}.maxRetries`, "is required", taskId) : undefined) ??
    (timing.backoff === undefined || BACKOFFS.includes(timing.backoff)
      ? undefined
      : invalid(`${path}.backoff`, `must be "exponential", "fixed" or "linear"`, taskId)) ??
    duration("initialDelay", timing.initialDelay) ??
    duration("maxDelay", timing.maxDelay) ??
    checkNumber(`${path}.backoffMultiplier`, timing.backoffMultiplier, 0, Infinity, taskId) ??
    (typeof timing.jitter === "boolean" ? undefined : checkNumber(`${path}.jitter`, timing.jitter, 0, 1, taskId))
}

/**
 * Checks a policy's numbers and shape: `maxRetries` a whole number ≥ 0, `initialDelay` and `maxDelay`
 * finite durations ≥ 0, `backoffMultiplier` finite and ≥ 0, `jitter` a boolean or a fraction between 0
 * and 1, the same for every rule, and each rule's `on` a list. Returns the first problem as an
 * `InvalidDefinition` whose path names the option (`retry.maxRetries`, `retry.rules[2].initialDelay`; the
 * prefix is `path`, default `"retry"`), or `undefined`.
 *
 * **Example**
 *
 * ```ts
 * import { Policy } from "@troupe/core"
 *
 * Policy.validate({ maxRetries: Number.NaN }, { taskId: "fetch" })?.message
 * // 'Invalid workflow definition at retry.maxRetries (task "fetch"): must be a whole number ≥ 0, got NaN'
 * ```
 *
 * @category guards
 * @since 0.1.0
 */
export const validate = (
  policy: Retry,
  options?: { readonly path?: string | undefined; readonly taskId?: string | undefined }
): InvalidDefinition | undefined => {
  const path = options?.path ?? "retry"
  const taskId = options?.taskId
  const own = validateTiming(path, policy, taskId)
  if (own !== undefined) return own
  const rules: unknown = policy.rules
  if (rules === undefined) return undefined
  if (!Array.isArray(rules)) return invalid(`${path}.rules`, "must be a list", taskId)
  for (let r = 0; r < rules.length; r++) {
    const rule = rules[r] as Rule
    const problem = validateTiming(`${path}.rules[${r}]`, rule, taskId) ??
      (Array.isArray(rule.on) ? undefined : invalid(`${path}.rules[${r}].on`, "must be a list of matchers", taskId))
    if (problem !== undefined) return problem
  }
  return undefined
}

// -----------------------------------------------------------------------------
// Constructors
// -----------------------------------------------------------------------------

/**
 * An exponential backoff policy (the default shape).
 *
 * @category constructors
 * @since 0.1.0
 */
export const exponential = (options: Omit<Retry, "backoff">): Retry => ({ ...options, backoff: "exponential" })

/**
 * The same delay before every retry.
 *
 * @category constructors
 * @since 0.1.0
 */
export const fixed = (options: Omit<Retry, "backoff" | "backoffMultiplier">): Retry => ({
  ...options,
  backoff: "fixed"
})

/**
 * Delay n × initial before retry n.
 *
 * @category constructors
 * @since 0.1.0
 */
export const linear = (options: Omit<Retry, "backoff" | "backoffMultiplier">): Retry => ({
  ...options,
  backoff: "linear"
})

/**
 * Wraps a predicate as an error matcher.
 *
 * @category constructors
 * @since 0.1.0
 */
export const matching = (predicate: (error: unknown) => boolean): ErrorMatcher => ({ predicate })

/**
 * The seeds' `RetryConfig` (delays in seconds) as a policy.
 *
 * @category constructors
 * @since 0.1.0
 */
export const fromRetryConfig = (config: {
  readonly max_retries: number
  readonly backoff_multiplier?: number | undefined
  readonly initial_delay?: number | undefined
  readonly max_delay?: number | undefined
}): Retry => ({
  maxRetries: config.max_retries,
  backoff: "exponential",
  backoffMultiplier: config.backoff_multiplier ?? 2,
  // Milliseconds as plain numbers, not Duration.seconds: a NaN stays NaN (and is reported), not 0.
  initialDelay: (config.initial_delay ?? 1) * 1000,
  maxDelay: (config.max_delay ?? 60) * 1000
})

/**
 * A policy from its plain-data form (as stored in a Plan). It does not throw: plans are checked when
 * decoded and again (with {@link validate}) before a run starts.
 *
 * @category constructors
 * @since 0.1.0
 */
export const fromData = (data: RetryPolicyData): Retry => ({
  maxRetries: data.maxRetries,
  backoff: data.backoff ?? "exponential",
  initialDelay: Duration.millis(data.initialDelayMs),
  backoffMultiplier: data.backoffMultiplier,
  maxDelay: Duration.millis(data.maxDelayMs),
  jitter: data.jitter
})

// -----------------------------------------------------------------------------
// Combinators
// -----------------------------------------------------------------------------

/** Milliseconds of a duration option; an invalid one (NaN, negative, not a duration) counts as `fallback`. */
const millis = (input: Duration.Input | undefined, fallback: number): number => {
  if (input === undefined || (typeof input === "number" && Number.isNaN(input))) return fallback
  const decoded = Duration.fromInput(input)
  if (decoded._tag === "None") return fallback
  const ms = Duration.toMillis(decoded.value)
  return Number.isNaN(ms) || ms < 0 ? fallback : ms
}

/** A delay that can be slept: finite and ≥ 0 (NaN counts as 0, anything larger than `max` as `max`). */
const sleepable = (delay: number, max: number): number => {
  const capped = Number.isFinite(max) ? max : 60_000
  return Number.isNaN(delay) || delay < 0 ? 0 : Math.min(delay, capped)
}

/** A retry count that can bound a loop: a whole number ≥ 0, else 0 (an invalid count never retries). */
const retryLimit = (maxRetries: unknown): number =>
  typeof maxRetries === "number" && Number.isInteger(maxRetries) && maxRetries >= 0 ? maxRetries : 0

/**
 * The plain-data form of a policy's timing, carried in the Plan.
 *
 * @category combinators
 * @since 0.1.0
 */
export const toData = (policy: Timing): RetryPolicyData => ({
  maxRetries: policy.maxRetries,
  backoff: policy.backoff ?? "exponential",
  initialDelayMs: millis(policy.initialDelay, 1000),
  backoffMultiplier: policy.backoffMultiplier ?? 2,
  maxDelayMs: millis(policy.maxDelay, 60_000),
  jitter: policy.jitter === undefined || policy.jitter === false ? false : true,
  ...(typeof policy.jitter === "number" ? { jitterFraction: policy.jitter } : {})
})

/**
 * The delay before retry `n` (from 1), before jitter and Retry-After.
 *
 * @category combinators
 * @since 0.1.0
 */
export const baseDelay = (timing: Timing, n: number): number => {
  const initial = millis(timing.initialDelay, 1000)
  const max = millis(timing.maxDelay, 60_000)
  const backoff = timing.backoff ?? "exponential"
  const raw = backoff === "fixed"
    ? initial
    : backoff === "linear"
    ? initial * n
    : initial * Math.pow(timing.backoffMultiplier ?? 2, n - 1)
  return sleepable(raw, max)
}

/**
 * The jitter fraction of a policy (0 when off).
 *
 * @category combinators
 * @since 0.1.0
 */
export const jitterFraction = (timing: Timing): number =>
  timing.jitter === true
    ? 0.2
    : typeof timing.jitter === "number" && !Number.isNaN(timing.jitter)
    ? Math.max(0, Math.min(1, timing.jitter))
    : 0

/**
 * Does an error match a matcher?
 *
 * @category combinators
 * @since 0.1.0
 */
export const matches = (matcher: ErrorMatcher, error: unknown): boolean => {
  if (typeof matcher === "string") {
    return typeof error === "object" && error !== null && (error as { _tag?: unknown })._tag === matcher
  }
  if (typeof matcher === "function") return error instanceof matcher
  return matcher.predicate(error)
}

const matchesAny = (matchers: ReadonlyArray<ErrorMatcher> | undefined, error: unknown): boolean =>
  matchers !== undefined && matchers.some((m) => matches(m, error))

/**
 * The delay an error suggests (a `retryAfter` Duration input or `retryAfterMs` number field), if any.
 *
 * @category combinators
 * @since 0.1.0
 */
export const retryAfterOf = (error: unknown): number | undefined => {
  if (typeof error !== "object" || error === null) return undefined
  const e = error as { readonly retryAfterMs?: unknown; readonly retryAfter?: unknown }
  if (typeof e.retryAfterMs === "number" && Number.isFinite(e.retryAfterMs)) return Math.max(0, e.retryAfterMs)
  if (e.retryAfter !== undefined) {
    const d = Duration.fromInput(e.retryAfter as Duration.Input)
    if (d._tag === "Some") return Math.max(0, Duration.toMillis(d.value))
  }
  return undefined
}

/**
 * Decides what to do after a failed attempt.
 *
 * `error` is the typed failure (undefined for defects), `retriesByRule[r]` the retries already made under
 * rule r (index `rules.length` is the policy's own timing), `random` a number in [0, 1).
 *
 * Whatever the policy holds, the decision is bounded: a `maxRetries` that is not a whole number ≥ 0
 * (`NaN`, `Infinity`, `-1`, `1.5`) allows no retry, and a delay is always finite and ≥ 0 (an invalid
 * delay counts as the default, a NaN random as 0).
 *
 * @category combinators
 * @since 0.1.0
 */
export const decide = (
  policy: Retry,
  error: unknown,
  retriesByRule: ReadonlyArray<number>,
  random: number
): Decision => {
  const rules = policy.rules ?? []
  if (matchesAny(policy.neverRetryOn, error)) return { _tag: "Stop", reason: "not-retryable" }
  let rule = rules.findIndex((r) => matchesAny(r.on, error))
  let timing: Timing
  if (rule >= 0) {
    timing = rules[rule]!
  } else {
    if (policy.retryOn !== undefined && !matchesAny(policy.retryOn, error)) {
      return { _tag: "Stop", reason: "not-retryable" }
    }
    rule = rules.length
    timing = policy
  }
  const done = retriesByRule[rule] ?? 0
  if (!(done < retryLimit(timing.maxRetries))) return { _tag: "Stop", reason: "exhausted" }
  const max = millis(timing.maxDelay, 60_000)
  const retryAfterMs = retryAfterOf(error)
  if (retryAfterMs !== undefined) {
    return { _tag: "Retry", delayMs: sleepable(retryAfterMs, max), rule, retryAfterMs }
  }
  const base = baseDelay(timing, done + 1)
  const j = jitterFraction(timing)
  const r = Number.isNaN(random) ? 0 : random
  const delayMs = j === 0 ? base : sleepable(base * (1 - j + 2 * j * r), max)
  return { _tag: "Retry", delayMs, rule }
}
