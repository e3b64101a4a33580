/**
 * @internal The ready queue and the gates a ready task passes before it is dispatched.
 *
 * - The ready queue orders tasks by priority, then by the longest remaining path to a sink (estimated
 *   durations, else task counts), then by declaration order.
 * - Slots: at most the run's `maxParallel` tasks of a run at once, and at most the top-level run's limit
 *   of handlers across the whole tree (the run and its sub-workflows share `Shared`).
 * - Resource pools and per-key limits (`Shared.pools`, `keyRunning`): a task that needs units or a key
 *   that is not free waits in the queue; between keys, the key served least recently goes first.
 * - Rate limits (`rates.ts`): a task whose limit is used up waits in the queue, holding nothing, until
 *   its window moves; `pick` reports it in `rateBlocked` (the scheduler emits `TaskWaiting` and sets a
 *   timer for the earliest instant one may start).
 */
import type { Plan } from "../../Plan.ts"
import * as Heap from "../heap.ts"
import type { TaskImpl } from "../workflowPlan.ts"
import type { Census } from "./census.ts"
import type { SlotWaiter } from "./childRun.ts"
import * as Rates from "./rates.ts"

// -----------------------------------------------------------------------------
// Ready queue
// -----------------------------------------------------------------------------

export interface ReadyQueue extends Heap.Heap<number> {
  readonly before: (a: number, b: number) => boolean
}

/** The ready queue: node indices ordered by priority, remaining path, declaration order. */
export const makeReadyQueue = (priority: Int8Array, remaining: Float64Array): ReadyQueue => {
  const before = (a: number, b: number) =>
    priority[a] !== priority[b]
      ? priority[a]! > priority[b]!
      : remaining[a] !== remaining[b]
      ? remaining[a]! > remaining[b]!
      : a < b
  return Object.assign(Heap.make(before), { before })
}

// -----------------------------------------------------------------------------
// What a run shares with its sub-workflows
// -----------------------------------------------------------------------------

/**
 * What a run shares with its sub-workflows: the top-level run's concurrency limit (handlers at once across
 * the run and every sub-workflow in it), resource pools and per-key counts. Sub-workflow tasks hold no slot
 * themselves: the handlers inside them do.
 */
export interface Shared {
  readonly limit: number
  /** The top-level run's per-key limit (a sub-workflow without its own uses it). */
  readonly perKeyLimit: number | undefined
  used: number
  readonly pools: Map<string, number>
  readonly keyRunning: Map<string, number>
  readonly keyServed: Map<string, number>
  dispatchCount: number
  /** The drain loops of the runs in the tree: a slot or units freed in one may let another dispatch. */
  readonly wakers: Set<() => void>
  waking: boolean
  again: boolean
  /** Each pool's capacity (for checking a workflow a task starts at run time: `childRun.ts`). */
  readonly capacity: Map<string, number>
  /** Tasks waiting to take a slot back after their child workflow, in arrival order (`childRun.ts`). */
  slotWaiters: Array<SlotWaiter> | undefined
}

export const makeShared = (
  limit: number,
  perKeyLimit: number | undefined,
  pools: ReadonlyMap<string, number>
): Shared => ({
  limit,
  perKeyLimit,
  used: 0,
  pools: new Map(pools),
  keyRunning: new Map(),
  keyServed: new Map(),
  dispatchCount: 0,
  wakers: new Set(),
  waking: false,
  again: false,
  capacity: new Map(pools),
  slotWaiters: undefined
})

/** Lets the other runs of the tree dispatch after `self` freed a slot or units (iteratively, never nested). */
export const wakeOthers = (shared: Shared, self: () => void): void => {
  if (shared.wakers.size < 2) return
  if (shared.waking) {
    shared.again = true
    return
  }
  shared.waking = true
  try {
    do {
      shared.again = false
      for (const wake of shared.wakers) if (wake !== self) wake()
    } while (shared.again)
  } finally {
    shared.waking = false
  }
}

// -----------------------------------------------------------------------------
// Pools and keys
// -----------------------------------------------------------------------------

export interface Gates {
  /** Whether pools or keys gate this run's dispatch (else the dispatcher pops the heap). */
  readonly gated: boolean
  /** Each task's concurrency key: static from the plan, or computed from its context when it is ready. */
  readonly keys: Array<string | undefined>
  /** Takes (`1`) or gives back (`-1`) a dispatched task's pool units and key. */
  readonly hold: (i: number, sign: 1 | -1) => void
  /** Each rate-limited task's rate key (computed when it is ready); undefined for the others. */
  readonly rateKeys: Array<string | undefined>
  /**
   * Picks the next ready task that fits, fairly between keys; undefined when none fits now. Tasks held
   * back only by their rate limit are listed in `rateBlocked` as pairs (task, earliest start).
   */
  readonly pick: (ready: ReadyQueue, now: number) => number | undefined
  readonly rateBlocked: Array<number>
  /** Records a dispatch (for fairness between keys, and in its rate window). */
  readonly served: (i: number, now: number) => void
}

export const makeGates = (
  plan: Plan,
  impls: ReadonlyArray<TaskImpl>,
  shared: Shared,
  perKeyLimit: number,
  census: Census
): Gates => {
  const { pools, keyRunning, keyServed } = shared
  const rateLimited = census.rateLimited
  const gated = rateLimited || census.pooled || (census.keyed && perKeyLimit !== Infinity)
  const keys: Array<string | undefined> = gated ? plan.nodes.map((node) => node.concurrencyKey) : []
  const rateKeys: Array<string | undefined> = []
  const rateBlocked: Array<number> = []

  const hold = (i: number, sign: 1 | -1) => {
    const node = plan.nodes[i]!
    const requests = node.resources
    if (requests !== undefined) {
      for (const pool of Object.keys(requests)) pools.set(pool, pools.get(pool)! - sign * requests[pool]!)
    }
    const key = keys[i]
    if (key !== undefined) keyRunning.set(key, (keyRunning.get(key) ?? 0) + sign)
  }

  const fits = (i: number): boolean => {
    const requests = plan.nodes[i]!.resources
    if (requests !== undefined) {
      for (const pool of Object.keys(requests)) if (pools.get(pool)! < requests[pool]!) return false
    }
    const key = keys[i]
    return key === undefined || (keyRunning.get(key) ?? 0) < perKeyLimit
  }

  /**
   * Among ready tasks that fit, the one whose key was served least recently (round-robin between keys),
   * then by the ready order.
   */
  const pick = (ready: ReadyQueue, now: number): number | undefined => {
    rateBlocked.length = 0
    if (ready.size === 0) return undefined
    const candidates = ready.drain()
    let best = -1
    let bestServed = Infinity
    for (let c = 0; c < candidates.length; c++) {
      const i = candidates[c]!
      if (!fits(i)) continue
      const limit = rateLimited ? impls[i]!.rateLimit : undefined
      if (limit !== undefined) {
        const at = Rates.nextStart(limit, rateKeys[i]!, now)
        if (at > now) {
          rateBlocked.push(i, at)
          continue
        }
      }
      const served = keyServed.get(keys[i] ?? "") ?? -1
      if (best === -1 || served < bestServed || (served === bestServed && ready.before(i, candidates[best]!))) {
        best = c
        bestServed = served
      }
    }
    let chosen: number | undefined
    for (let c = 0; c < candidates.length; c++) {
      if (c === best) chosen = candidates[c]
      else ready.push(candidates[c]!)
    }
    return chosen
  }

  const served = (i: number, now: number) => {
    keyServed.set(keys[i] ?? "", shared.dispatchCount++)
    const limit = rateLimited ? impls[i]!.rateLimit : undefined
    if (limit !== undefined) Rates.recordStart(limit, rateKeys[i]!, now)
  }

  return { gated, keys, rateKeys, hold, pick, rateBlocked, served }
}
