/**
 * @internal Rate limits: at most `limit` task starts in any window of `interval`, per `RateLimit` value and
 * key. Each (value, key) keeps the start times still inside its widest window (a sliding-window log), so
 * the check is exact (on the TestClock too) and the memory per key is bounded by the limit.
 *
 * The state belongs to the `RateLimit` value (a WeakMap keyed by it), like a circuit breaker's: every task
 * that uses the same value, in any run of the process, shares it. The dispatcher asks synchronously (its
 * drain loop decides in one pass), which is why this is not Effect's `RateLimiter` (`effect/persistence`):
 * that one is effectful and store-backed, built for limits shared between processes.
 */
import { Duration } from "effect"
import type { RateLimit } from "../../Task.ts"

interface Window {
  /** Start times inside the widest window seen for this key, ascending. */
  readonly starts: Array<number>
  widestMs: number
}

const windows = new WeakMap<RateLimit<never>, Map<string, Window>>()

const windowOf = (limit: RateLimit<never>, key: string): Window => {
  let byKey = windows.get(limit)
  if (byKey === undefined) {
    byKey = new Map()
    windows.set(limit, byKey)
  }
  let window = byKey.get(key)
  if (window === undefined) {
    window = { starts: [], widestMs: 0 }
    byKey.set(key, window)
  }
  return window
}

/** The window's length in milliseconds (checked before the run: finite and more than 0). */
export const intervalMs = (limit: RateLimit<never>): number =>
  Duration.toMillis(Duration.fromInputUnsafe(limit.interval))

/**
 * When a task limited by `limit` under `key` may start: `now` when it may start now, else the first
 * instant a start leaves the window.
 */
export const nextStart = (limit: RateLimit<never>, key: string, now: number): number => {
  const window = windowOf(limit, key)
  const ms = intervalMs(limit)
  if (ms > window.widestMs) window.widestMs = ms
  const starts = window.starts
  // Forget starts outside the widest window.
  let drop = 0
  while (drop < starts.length && starts[drop]! <= now - window.widestMs) drop++
  if (drop > 0) starts.splice(0, drop)
  // Starts inside this limit's window: (now - ms, now].
  let first = starts.length
  while (first > 0 && starts[first - 1]! > now - ms) first--
  const inside = starts.length - first
  if (inside < limit.limit) return now
  return starts[starts.length - limit.limit]! + ms
}

/** Records a start (the dispatcher calls it when it starts the task). */
export const recordStart = (limit: RateLimit<never>, key: string, now: number): void => {
  windowOf(limit, key).starts.push(now)
}

/** The key a task's rate limit is split by: its fixed key, or its key function's value, or the default. */
export const DEFAULT_KEY = "default"
