/**
 * Breaker: a named circuit breaker shared by the tasks (or agents, or tools) that use it.
 *
 * Closed, it counts failures within a sliding window; after `maxFailures` it opens and calls fail fast with
 * `CircuitOpen` without running. After `resetTimeout` it half-opens: one probe runs; success closes it,
 * failure opens it again. Time comes from Effect's `Clock`, so `TestClock` drives it in tests. Every state
 * change is reported as a `BreakerStateChanged` RunEvent in the run where it happened.
 *
 * A breaker is a value with state: create it once (per agent, per API host, ...) and hand it to every task
 * that should share it.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Breaker, workflow } from "@troupe/core"
 *
 * const github = Breaker.make({ name: "github", maxFailures: 3, window: "1 minute", resetTimeout: "30 seconds" })
 * const wf = workflow("sync").task("fetch", { breaker: github }, () => Effect.succeed("ok"))
 * ```
 *
 * @since 0.1.0
 */
import { Duration, Schema } from "effect"
import { checkCount, checkDuration, invalid } from "./internal/checkOptions.ts"

// -----------------------------------------------------------------------------
// Models
// -----------------------------------------------------------------------------

/**
 * @category models
 * @since 0.1.0
 */
export type State = "closed" | "open" | "half-open"

/**
 * @category models
 * @since 0.1.0
 */
export interface Breaker {
  readonly name: string
  readonly maxFailures: number
  readonly windowMs: number
  readonly resetTimeoutMs: number
  /** The state at time `now` (ms): half-open once an open breaker's reset timeout has passed. */
  readonly state: (now: number) => State
  /**
   * May a call start now? In half-open state only one probe is let through. `transition` is set when the
   * reset timeout has just moved the breaker from open to half-open.
   */
  readonly tryAcquire: (now: number) => {
    readonly allowed: boolean
    readonly retryAfterMs: number
    readonly transition?: Transition | undefined
  }
  /** Records an outcome; returns the state transition it caused, if any. */
  readonly record: (now: number, success: boolean) => Transition | undefined
  /** A call ended without an outcome (it was interrupted): a half-open probe slot is given back. */
  readonly release: () => void
}

/**
 * @category models
 * @since 0.1.0
 */
export interface Transition {
  readonly from: State
  readonly to: State
}

/**
 * A call was refused because the breaker is open.
 *
 * @category errors
 * @since 0.1.0
 */
export class CircuitOpen extends Schema.TaggedError<CircuitOpen>()("CircuitOpen", {
  breaker: Schema.String,
  taskId: Schema.String,
  retryAfterMs: Schema.Number
}) {
  override get message(): string {
    return `Circuit breaker "${this.breaker}" is open: task "${this.taskId}" not run (retry in ${this.retryAfterMs} ms)`
  }
}

// -----------------------------------------------------------------------------
// Constructors
// -----------------------------------------------------------------------------

/**
 * Makes a breaker. Its options are checked here: `name` a non-empty string, `maxFailures` a whole number
 * ≥ 1, `window` a duration > 0 (`"Infinity"` allowed: failures are never forgotten), `resetTimeout` a
 * finite duration ≥ 0. Anything else (`maxFailures: NaN` would never open, a `NaN` reset timeout never
 * half-opens) throws `InvalidDefinition` naming the option, e.g. `breaker("github").maxFailures`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (options: {
  readonly name: string
  readonly maxFailures: number
  /** Failures older than this are forgotten. Default: 1 minute. */
  readonly window?: Duration.Input | undefined
  readonly resetTimeout: Duration.Input
}): Breaker => {
  if (typeof options.name !== "string" || options.name === "") {
    throw invalid("breaker.name", "must be a non-empty string")
  }
  const at = `breaker(${JSON.stringify(options.name)})`
  const countProblem = checkCount(`${at}.maxFailures`, options.maxFailures, 1) ??
    (options.maxFailures === undefined ? invalid(`${at}.maxFailures`, "is required") : undefined)
  if (countProblem !== undefined) throw countProblem
  const windowMs = checkDuration(`${at}.window`, options.window ?? "1 minute", { infinite: true })
  if (typeof windowMs !== "number") throw windowMs!
  if (windowMs === 0) throw invalid(`${at}.window`, "must be longer than 0")
  const resetTimeoutMs = checkDuration(`${at}.resetTimeout`, options.resetTimeout)
  if (resetTimeoutMs === undefined) throw invalid(`${at}.resetTimeout`, "is required")
  if (typeof resetTimeoutMs !== "number") throw resetTimeoutMs
  const maxFailures = options.maxFailures
  let current: State = "closed"
  let failures: Array<number> = []
  let openedAt = 0
  let probing = false

  // Moves open → half-open once the reset timeout has passed; returns that transition, if it happened.
  const advance = (now: number): Transition | undefined => {
    if (current === "open" && now - openedAt >= resetTimeoutMs) {
      current = "half-open"
      probing = false
      return { from: "open", to: "half-open" }
    }
    return undefined
  }

  // Reading the state does not change it: the transition is made (and reported) by the next call.
  const state = (now: number): State =>
    current === "open" && now - openedAt >= resetTimeoutMs ? "half-open" : current

  const tryAcquire = (now: number) => {
    const transition = advance(now)
    if (current === "closed") return { allowed: true, retryAfterMs: 0, transition }
    if (current === "half-open" && !probing) {
      probing = true
      return { allowed: true, retryAfterMs: 0, transition }
    }
    return {
      allowed: false,
      retryAfterMs: current === "open" ? Math.max(0, openedAt + resetTimeoutMs - now) : 0,
      transition
    }
  }

  const record = (now: number, success: boolean): Transition | undefined => {
    advance(now)
    const from = current
    if (from === "half-open") {
      probing = false
      failures = []
      current = success ? "closed" : "open"
      if (!success) openedAt = now
      return { from, to: current }
    }
    if (from === "open" || success) return undefined
    failures = failures.filter((t) => now - t < windowMs)
    failures.push(now)
    if (failures.length >= maxFailures) {
      current = "open"
      openedAt = now
      failures = []
      return { from, to: current }
    }
    return undefined
  }

  const release = () => {
    if (current === "half-open") probing = false
  }

  return { name: options.name, maxFailures, windowMs, resetTimeoutMs, state, tryAcquire, record, release }
}
