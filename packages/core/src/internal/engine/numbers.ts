/**
 * @internal Numeric settings checked before a run starts. `NaN`, `-1`, `1.5` slots or `Infinity` retries
 * would hang or spin a run (`maxParallel: NaN` dispatches nothing, `maxRetries: NaN` retries forever), so each
 * is an `InvalidDefinition` naming the option (`RunOptions.maxParallel`, `tasks[3].retry.maxRetries`, ...).
 */
import { Duration } from "effect"
import type * as Policy from "../../Policy.ts"
import { InvalidDefinition } from "../../WorkflowError.ts"

type Problem = InvalidDefinition | undefined

const fail = (path: string, reason: string, taskId?: string): InvalidDefinition =>
  new InvalidDefinition({ path, reason, ...(taskId === undefined ? {} : { taskId }) })

const shown = (value: unknown): string => {
  try {
    return typeof value === "string" ? JSON.stringify(value) : String(value)
  } catch {
    return typeof value
  }
}

/** A whole number ≥ `min`; `Infinity` too when `unbounded`. */
export const count = (
  path: string,
  value: unknown,
  min: number,
  options: { readonly unbounded?: boolean; readonly taskId?: string | undefined } = {}
): Problem => {
  if (value === undefined) return undefined
  if (typeof value === "number" && options.unbounded === true && value === Infinity) return undefined
  if (typeof value !== "number" || !Number.isInteger(value) || value < min) {
    return fail(path, `must be a whole number ≥ ${min}${options.unbounded === true ? " (or unbounded)" : ""}, got ${shown(value)}`, options.taskId)
  }
  return undefined
}

/** A finite number ≥ 0. */
export const amount = (path: string, value: unknown, taskId?: string): Problem => {
  if (value === undefined) return undefined
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    return fail(path, `must be a finite number ≥ 0, got ${shown(value)}`, taskId)
  }
  return undefined
}

/** A duration input that decodes to a non-negative, non-NaN length (`Infinity` allowed when `infinite`). */
export const duration = (
  path: string,
  value: unknown,
  options: { readonly infinite?: boolean; readonly positive?: boolean; readonly taskId?: string | undefined } = {}
): Problem => {
  if (value === undefined) return undefined
  // Effect reads a NaN number as 0 ms: a NaN here is a mistake, not "no time".
  const bound = options.positive === true ? "> 0" : "≥ 0"
  if (typeof value === "number" && Number.isNaN(value)) return fail(path, `must be a finite duration ${bound}, got NaN`, options.taskId)
  let ms: number
  try {
    const decoded = Duration.fromInput(value as Duration.Input)
    if (decoded._tag === "None") return fail(path, `is not a duration, got ${shown(value)}`, options.taskId)
    ms = Duration.toMillis(decoded.value)
  } catch {
    return fail(path, `is not a duration, got ${shown(value)}`, options.taskId)
  }
  if (
    Number.isNaN(ms) || ms < 0 || (ms === 0 && options.positive === true) ||
    (ms === Infinity && options.infinite !== true)
  ) {
    return fail(path, `must be a finite duration ${bound}, got ${shown(value)}`, options.taskId)
  }
  return undefined
}

const timing = (path: string, t: Policy.Timing, taskId: string | undefined): Problem =>
  count(`${path}.maxRetries`, t.maxRetries, 0, { taskId }) ??
    (t.backoffMultiplier === undefined ? undefined : amount(`${path}.backoffMultiplier`, t.backoffMultiplier, taskId)) ??
    (typeof t.jitter === "number" ? amount(`${path}.jitter`, t.jitter, taskId) : undefined)

/** A retry policy's numbers: `maxRetries` whole and ≥ 0 (for the policy and each rule), factors finite. */
export const retry = (path: string, policy: Policy.Retry | undefined, taskId?: string): Problem => {
  if (policy === undefined) return undefined
  const own = timing(path, policy, taskId)
  if (own !== undefined) return own
  const rules = policy.rules ?? []
  for (let r = 0; r < rules.length; r++) {
    const problem = timing(`${path}.rules[${r}]`, rules[r]!, taskId)
    if (problem !== undefined) return problem
  }
  return undefined
}

/** The first problem of a list of checks, evaluated in order. */
export const first = (...checks: ReadonlyArray<() => Problem>): Problem => {
  for (const check of checks) {
    const problem = check()
    if (problem !== undefined) return problem
  }
  return undefined
}
