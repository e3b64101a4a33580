/**
 * Small statistics shared by RunMetrics, Optimizer and Report: mean, median, nearest-rank percentiles,
 * rounding a duration up to a readable value, and formatting durations.
 *
 * @internal
 */

/** @internal The arithmetic mean, `undefined` for an empty list. */
export const mean = (values: ReadonlyArray<number>): number | undefined => {
  if (values.length === 0) return undefined
  let sum = 0
  for (const v of values) sum += v
  return sum / values.length
}

const sorted = (values: ReadonlyArray<number>): Array<number> => [...values].sort((a, b) => a - b)

/** @internal The median (the mean of the two middle values for an even count), `undefined` when empty. */
export const median = (values: ReadonlyArray<number>): number | undefined => {
  if (values.length === 0) return undefined
  const s = sorted(values)
  const mid = s.length >> 1
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}

/**
 * @internal The nearest-rank percentile: the smallest value with at least `p` percent of the values at or
 * below it (so p50 of [1, 2, 3, 4] is 2 and p95 of 20 values is the 19th). `undefined` when empty.
 */
export const percentile = (values: ReadonlyArray<number>, p: number): number | undefined => {
  if (values.length === 0) return undefined
  const s = sorted(values)
  const rank = Math.max(1, Math.ceil((p / 100) * s.length))
  return s[Math.min(rank, s.length) - 1]!
}

/** @internal `a / b`, or `fallback` when `b` is not positive. */
export const ratio = (a: number, b: number, fallback = 1): number => (b > 0 ? a / b : fallback)

/**
 * @internal Rounds a positive number of milliseconds up to two significant digits (369 → 370,
 * 4_560 → 4_600, 75 → 75), at least 1.
 */
export const roundUpMs = (ms: number): number => {
  if (!(ms > 1)) return 1
  const step = 10 ** Math.max(0, Math.floor(Math.log10(ms)) - 1)
  return Math.ceil(ms / step - 1e-9) * step
}

/**
 * @internal A duration for people: `850ms`, `1.25s`, `2m 05.0s`, `1h 02m`.
 */
export const formatMs = (ms: number | undefined): string => {
  if (ms === undefined || !Number.isFinite(ms)) return "-"
  if (ms < 1000) return `${Math.round(ms * 10) / 10}ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(2)}s`
  if (ms < 3_600_000) {
    const m = Math.floor(ms / 60_000)
    const s = (ms - m * 60_000) / 1000
    return `${m}m ${s.toFixed(1).padStart(4, "0")}s`
  }
  const h = Math.floor(ms / 3_600_000)
  const m = Math.floor((ms - h * 3_600_000) / 60_000)
  return `${h}h ${String(m).padStart(2, "0")}m`
}

/** @internal A fraction 0 to 1 as a percentage with one decimal: `0.8` → `80.0%`. */
export const formatPercent = (fraction: number): string => `${(Math.round(fraction * 1000) / 10).toFixed(1)}%`

/** @internal A ratio with two decimals and an `x`: `1.6` → `1.60x`. */
export const formatFactor = (factor: number): string => `${factor.toFixed(2)}x`
