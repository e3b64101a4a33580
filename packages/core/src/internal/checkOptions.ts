/**
 * Checks of numeric options given to constructors (retry policies, breakers, caches). Each problem is an
 * `InvalidDefinition` naming the option, thrown by the constructor that was given it, so the mistake is
 * reported where it was written instead of hanging or silently misbehaving later (`NaN` retries forever,
 * a `NaN` capacity caches nothing, a negative TTL expires everything).
 *
 * @internal
 */
import { Duration } from "effect"
import { InvalidDefinition } from "../WorkflowError.ts"

/** Describes a value without trusting it (no `toString` of objects is called). */
export const shown = (value: unknown): string => {
  switch (typeof value) {
    case "string":
      return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value)
    case "number":
      return Object.is(value, -0) ? "-0" : String(value)
    case "bigint":
      return `${String(value)}n`
    case "boolean":
    case "undefined":
      return String(value)
    default:
      return value === null ? "null" : typeof value
  }
}

export const invalid = (path: string, reason: string, taskId?: string): InvalidDefinition =>
  new InvalidDefinition({ path, reason, ...(taskId === undefined ? {} : { taskId }) })

/** A whole number ≥ `min` (`Infinity` too when `unbounded`); undefined is fine (the default applies). */
export const checkCount = (
  path: string,
  value: unknown,
  min: number,
  options: { readonly unbounded?: boolean | undefined; readonly taskId?: string | undefined } = {}
): InvalidDefinition | undefined => {
  if (value === undefined) return undefined
  if (value === Infinity && options.unbounded === true) return undefined
  if (typeof value !== "number" || !Number.isInteger(value) || value < min) {
    return invalid(path, `must be a whole number ≥ ${min}${options.unbounded === true ? " or Infinity" : ""}, got ${shown(value)}`, options.taskId)
  }
  return undefined
}

/** A finite number in [min, max]; undefined is fine. */
export const checkNumber = (
  path: string,
  value: unknown,
  min: number,
  max: number,
  taskId?: string
): InvalidDefinition | undefined => {
  if (value === undefined) return undefined
  if (typeof value !== "number" || !Number.isFinite(value) || value < min || value > max) {
    const range = max === Infinity ? `≥ ${min}` : `between ${min} and ${max}`
    return invalid(path, `must be a finite number ${range}, got ${shown(value)}`, taskId)
  }
  return undefined
}

/**
 * A duration input (`"5 seconds"`, millis as a number, a `Duration`) of at least 0 ms; `Infinity` only
 * when `infinite`. Returns its milliseconds, or the problem.
 */
export const checkDuration = (
  path: string,
  value: unknown,
  options: { readonly infinite?: boolean | undefined; readonly taskId?: string | undefined } = {}
): InvalidDefinition | number | undefined => {
  if (value === undefined) return undefined
  const bad = (why: string) => invalid(path, why, options.taskId)
  // Effect reads a NaN number as 0 ms: NaN here is a mistake, not "no time".
  if (typeof value === "number" && Number.isNaN(value)) return bad("must be a duration ≥ 0, got NaN")
  let ms: number
  try {
    const decoded = Duration.fromInput(value as Duration.Input)
    if (decoded._tag === "None") return bad(`is not a duration, got ${shown(value)}`)
    ms = Duration.toMillis(decoded.value)
  } catch {
    return bad(`is not a duration, got ${shown(value)}`)
  }
  if (Number.isNaN(ms) || ms < 0) return bad(`must be a duration ≥ 0, got ${shown(value)}`)
  if (ms === Infinity && options.infinite !== true) return bad(`must be a finite duration, got ${shown(value)}`)
  return ms
}

/** Throws the first problem, if any. */
export const orThrow = (...problems: ReadonlyArray<InvalidDefinition | number | undefined>): void => {
  for (const problem of problems) {
    if (problem instanceof InvalidDefinition) throw problem
  }
}
