/**
 * @internal What a compiled workflow's tasks declare, found in one pass over them (once per plan): which
 * per-task features any task uses. The preparation and the scheduler skip their per-task passes for what no
 * task declares (pools, keys, rate limits, checks, sub-workflows, conditions naming a task, numbers to
 * check, estimates, priorities), so a plain 100 000-task workflow is read once, not once per concern.
 */
import type { Plan } from "../../Plan.ts"
import { type Compiled, compile } from "../workflowPlan.ts"

export interface Census {
  /** Some task requests units of a pool (a non-empty `resources`). */
  readonly pooled: boolean
  /** Some task declares `resources`, empty or not. */
  readonly resources: boolean
  /** Some task has a concurrency key, static or computed. */
  readonly keyed: boolean
  readonly rateLimited: boolean
  /** Some task's condition names a task (`TaskCompleted`). */
  readonly namesTask: boolean
  /** Some task has its own pre-run check. */
  readonly checked: boolean
  /** Some task is a sub-workflow. */
  readonly children: boolean
  /** Some task has a retry, a timeout, an attempt timeout or a rate limit (numbers to check). */
  readonly numbers: boolean
  /** Some task has an estimated duration. */
  readonly estimates: boolean
  /** Some task's priority is not the default (5). */
  readonly priorities: boolean
  /** Some task has a condition (a `when` predicate or a condition in its node). */
  readonly conditions: boolean
  /** Some task has a breaker or a fallback. */
  readonly guarded: boolean
  /** Some task declares a compensation, or is a sub-workflow whose tree (static) has one. */
  readonly compensates: boolean
}

const cache = new WeakMap<Plan, Census>()

export const censusOf = (compiled: Compiled): Census => {
  const cached = cache.get(compiled.plan)
  if (cached !== undefined) return cached
  const census = {
    pooled: false,
    resources: false,
    keyed: false,
    rateLimited: false,
    namesTask: false,
    checked: false,
    children: false,
    numbers: false,
    estimates: false,
    priorities: false,
    conditions: false,
    guarded: false,
    compensates: false
  }
  const impls = compiled.impls
  for (let i = 0; i < impls.length; i++) {
    const impl = impls[i]!
    const node = impl.node
    if (node.resources !== undefined) {
      census.resources = true
      if (Object.keys(node.resources).length > 0) census.pooled = true
    }
    if (node.concurrencyKey !== undefined || node.concurrencyKeyComputed === true) census.keyed = true
    if (impl.rateLimit !== undefined) census.rateLimited = true
    if (node.condition?._tag === "TaskCompleted") census.namesTask = true
    if (impl.check !== undefined) census.checked = true
    if (impl.child !== undefined) census.children = true
    if (
      impl.retry !== undefined || node.timeoutMs !== undefined || node.attemptTimeoutMs !== undefined ||
      impl.rateLimit !== undefined
    ) census.numbers = true
    if (node.estimatedDurationMs !== undefined) census.estimates = true
    if (node.priority !== 5) census.priorities = true
    if (impl.when !== undefined || node.condition !== undefined) census.conditions = true
    if (impl.breaker !== undefined || impl.fallback !== undefined) census.guarded = true
    if (impl.compensate !== undefined || (impl.child !== undefined && censusOf(compile(impl.child.workflow)).compensates)) {
      census.compensates = true
    }
  }
  cache.set(compiled.plan, census)
  return census
}
