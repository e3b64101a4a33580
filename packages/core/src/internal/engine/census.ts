/**
 * @internal What a compiled workflow's tasks declare, found in one pass over them (once per plan): which
 * per-task features any task uses. The preparation and the scheduler skip their per-task passes for what no
 * task declares (pools, keys, rate limits, checks, sub-workflows, conditions naming a task, numbers to
 * check, estimates, priorities), so a plain 100 000-task workflow is read once, not once per concern.
 */
import type { Plan } from "../../Plan.ts"
import type { Compiled } from "../workflowPlan.ts"

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
}

const cache = new WeakMap<Plan, Census>()

export const censusOf = (compiled: Compiled): Census => {
  const cached = cache.get(compiled.plan)
  if (cached !== undefined) return cached
  let pooled = false
  let resources = false
  let keyed = false
  let rateLimited = false
  let namesTask = false
  let checked = false
  let children = false
  let numbers = false
  let estimates = false
  let priorities = false
  let conditions = false
  let guarded = false
  const impls = compiled.impls
  for (let i = 0; i < impls.length; i++) {
    const impl = impls[i]!
    const node = impl.node
    if (node.resources !== undefined) {
      resources = true
      if (Object.keys(node.resources).length > 0) pooled = true
    }
    if (node.concurrencyKey !== undefined || node.concurrencyKeyComputed === true) keyed = true
    if (impl.rateLimit !== undefined) rateLimited = true
    if (node.condition?._tag === "TaskCompleted") namesTask = true
    if (impl.check !== undefined) checked = true
    if (impl.child !== undefined) children = true
    if (
      impl.retry !== undefined || node.timeoutMs !== undefined || node.attemptTimeoutMs !== undefined ||
      impl.rateLimit !== undefined
    ) numbers = true
    if (node.estimatedDurationMs !== undefined) estimates = true
    if (node.priority !== 5) priorities = true
    if (impl.when !== undefined || node.condition !== undefined) conditions = true
    if (impl.breaker !== undefined || impl.fallback !== undefined) guarded = true
  }
  const census: Census = {
    pooled,
    resources,
    keyed,
    rateLimited,
    namesTask,
    checked,
    children,
    numbers,
    estimates,
    priorities,
    conditions,
    guarded
  }
  cache.set(compiled.plan, census)
  return census
}
