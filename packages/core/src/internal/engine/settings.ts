/**
 * @internal A run's settings: what its options and its workflow declare, resolved once (the strategy's
 * concurrency, the failure mode, the deadline, pools and the per-key limit), and the numeric checks made
 * before anything runs (`NaN` slots or retries would hang or spin the run).
 */
import { Duration } from "effect"
import type { Plan, Strategy } from "../../Plan.ts"
import { InvalidDefinition } from "../../WorkflowError.ts"
import { analyze } from "../analysis.ts"
import type { Compiled } from "../workflowPlan.ts"
import * as Numbers from "./numbers.ts"
import { censusOf } from "./census.ts"

/** The run options the settings are made of (`Engine.RunOptions` is one). */
export interface Options {
  readonly strategy?: Strategy | undefined
  readonly maxParallel?: number | "unbounded" | undefined
  readonly failureMode?: "fail-fast" | "continue" | undefined
  readonly deadline?: Duration.Input | undefined
  readonly resources?: Readonly<Record<string, number>> | undefined
  readonly perKeyLimit?: number | undefined
  readonly compensateOnFailure?: boolean | undefined
  readonly replay?: number | "all" | undefined
}

export interface Settings {
  readonly maxParallel: number
  readonly failFast: boolean
  readonly compensateOnFailure: boolean
  readonly deadlineMs: number | undefined
  readonly resources: Readonly<Record<string, number>> | undefined
  readonly perKeyLimit: number | undefined
}

export const settingsOf = (plan: Plan, options: Options): Settings => {
  const failFast = (options.failureMode ?? (plan.continueOnFailure ? "continue" : "fail-fast")) === "fail-fast"
  const deadline = options.deadline === undefined
    ? plan.deadlineMs
    : Duration.toMillis(Duration.fromInputUnsafe(options.deadline))
  return {
    maxParallel: resolveConcurrency(plan, options),
    failFast,
    compensateOnFailure: failFast || options.compensateOnFailure === true,
    deadlineMs: deadline,
    resources: options.resources ?? plan.resources,
    perKeyLimit: options.perKeyLimit ?? plan.perKeyLimit
  }
}

const resolveConcurrency = (plan: Plan, options: Options): number => {
  const strategy = options.strategy ?? plan.strategy ?? "dag"
  const chosen = strategy === "auto" ? analyze(plan).recommended.strategy : strategy
  if (chosen === "sequential") return 1
  // A declared limit (the run's, else the workflow's) always holds, whatever the strategy: `parallel` means
  // "no limit" only when none was declared.
  const max = options.maxParallel ?? plan.maxParallel
  return max === undefined || max === "unbounded" ? Infinity : Math.max(1, Math.floor(max))
}

const strategies: ReadonlySet<unknown> = new Set(["sequential", "parallel", "dag", "conditional", "auto"])

/**
 * The run's options and the workflow's numbers, checked before anything runs: a value that would hang or
 * spin the run (`NaN` slots, fractional limits, `NaN` retries) is an `InvalidDefinition` naming the option.
 */
export const checkNumbers = (compiled: Compiled, options: Options): InvalidDefinition | undefined => {
  const { plan } = compiled
  const o = "RunOptions"
  const problem = Numbers.first(
    () =>
      options.maxParallel === "unbounded"
        ? undefined
        : Numbers.count(`${o}.maxParallel`, options.maxParallel, 1, { unbounded: true }),
    () => Numbers.count(`${o}.perKeyLimit`, options.perKeyLimit, 1, { unbounded: true }),
    () => options.replay === "all" ? undefined : Numbers.count(`${o}.replay`, options.replay, 0, { unbounded: true }),
    () => Numbers.duration(`${o}.deadline`, options.deadline, { infinite: true }),
    () =>
      options.strategy === undefined || strategies.has(options.strategy)
        ? undefined
        : new InvalidDefinition({
          path: `${o}.strategy`,
          reason: `expected one of sequential, parallel, dag, conditional, auto, got ${String(options.strategy)}`
        }),
    () =>
      options.failureMode === undefined || options.failureMode === "fail-fast" || options.failureMode === "continue"
        ? undefined
        : new InvalidDefinition({
          path: `${o}.failureMode`,
          reason: `expected fail-fast or continue, got ${String(options.failureMode)}`
        }),
    () => pools(`${o}.resources`, options.resources),
    () => Numbers.count("maxParallel", plan.maxParallel, 1, { unbounded: true }),
    () => Numbers.count("perKeyLimit", plan.perKeyLimit, 1, { unbounded: true }),
    () => pools("resources", plan.resources),
    () => Numbers.amount("defaultTimeout", plan.defaultTimeoutMs),
    () => Numbers.amount("deadline", plan.deadlineMs),
    () => Numbers.retry("retry", compiled.retry)
  )
  if (problem !== undefined) return problem
  if (!censusOf(compiled).numbers) return undefined
  for (let i = 0; i < compiled.impls.length; i++) {
    const impl = compiled.impls[i]!
    const node = impl.node
    // Most tasks declare none of these: nothing to check (and no error path to build).
    if (
      impl.retry === undefined && node.timeoutMs === undefined && node.attemptTimeoutMs === undefined &&
      impl.rateLimit === undefined
    ) continue
    const task = Numbers.first(
      () => Numbers.retry(`tasks[${i}].retry`, impl.retry, node.id),
      () => Numbers.amount(`tasks[${i}].timeout`, node.timeoutMs, node.id),
      () => Numbers.amount(`tasks[${i}].attemptTimeout`, node.attemptTimeoutMs, node.id),
      () => Numbers.count(`tasks[${i}].rateLimit.limit`, impl.rateLimit?.limit, 1, { taskId: node.id }),
      () =>
        impl.rateLimit === undefined
          ? undefined
          : Numbers.duration(`tasks[${i}].rateLimit.interval`, impl.rateLimit.interval, {
            positive: true,
            taskId: node.id
          })
    )
    if (task !== undefined) return task
  }
  return undefined
}

const pools = (path: string, declared: Readonly<Record<string, number>> | undefined): InvalidDefinition | undefined => {
  if (declared === undefined) return undefined
  for (const name of Object.keys(declared)) {
    const problem = Numbers.amount(`${path}.${name}`, declared[name])
    if (problem !== undefined) return problem
  }
  return undefined
}

