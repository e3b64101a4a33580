/**
 * Index structures over a Plan, shared by the engine and analysis: integer ids, predecessor and
 * successor lists, and the longest remaining path from each node to a sink.
 *
 * @internal
 */
import type { Plan } from "../Plan.ts"
import * as Heap from "./heap.ts"

export interface GraphIndex {
  readonly size: number
  readonly ids: ReadonlyArray<string>
  readonly indexOf: ReadonlyMap<string, number>
  /** Predecessors (data and order dependencies, deduplicated) per node. */
  readonly preds: ReadonlyArray<ReadonlyArray<number>>
  /** Successors per node. */
  readonly succs: ReadonlyArray<ReadonlyArray<number>>
  /** Data dependencies (the outputs a task reads) per node, as positions, in `dependsOn` order. */
  readonly dataDeps: ReadonlyArray<ReadonlyArray<number>>
  /**
   * Dependencies (`dependsOn` and `after`) naming no task or the task itself: left out of the lists above.
   * Zero, with one id per node and an acyclic graph, means the plan's graph is valid (see `isValidGraph`).
   */
  readonly unresolved: number
}

const cache = new WeakMap<Plan, GraphIndex>()

/** Builds (once per Plan) the index. Assumes dependencies refer to known ids. */
export const index = (plan: Plan): GraphIndex => {
  const cached = cache.get(plan)
  if (cached !== undefined) return cached
  const size = plan.nodes.length
  const ids = plan.nodes.map((n) => n.id)
  const indexOf = new Map<string, number>()
  for (let i = 0; i < size; i++) indexOf.set(ids[i]!, i)
  // Nodes without dependencies (or dependants) share one empty list; lists are made on first use.
  const none: ReadonlyArray<number> = Object.freeze([])
  const preds: Array<ReadonlyArray<number>> = new Array(size).fill(none)
  const succs: Array<ReadonlyArray<number>> = new Array(size).fill(none)
  // Stamps instead of a Set per node: stamp[j] === i + 1 when j is already a predecessor of i.
  const stamp = new Int32Array(size)
  const dataDeps: Array<ReadonlyArray<number>> = new Array(size).fill(none)
  let unresolved = 0
  for (let i = 0; i < size; i++) {
    const node = plan.nodes[i]!
    const dependsOn = node.dependsOn
    const after = node.after
    const nData = dependsOn.length
    const total = nData + after.length
    if (total === 0) continue
    const mine: Array<number> = []
    // The data dependencies as positions, in `dependsOn` order (repeats kept); `mine` itself while it is
    // exactly that list (no order dependency, no repeat), so most nodes allocate one list.
    let data: Array<number> | undefined
    let resolvedData = 0
    for (let k = 0; k < total; k++) {
      const isData = k < nData
      const j = indexOf.get(isData ? dependsOn[k]! : after[k - nData]!)
      if (j === undefined || j === i) {
        unresolved++
        continue
      }
      if (isData) {
        resolvedData++
        if (data !== undefined) data.push(j)
      }
      if (stamp[j] === i + 1) {
        if (isData && data === undefined) data = [...mine, j]
        continue
      }
      stamp[j] = i + 1
      mine.push(j)
      const theirs = succs[j]!
      if (theirs === none) succs[j] = [i]
      else (theirs as Array<number>).push(i)
    }
    if (mine.length > 0) preds[i] = mine
    if (data !== undefined) dataDeps[i] = data
    else if (resolvedData > 0) dataDeps[i] = after.length === 0 ? mine : mine.slice(0, resolvedData)
  }
  const result: GraphIndex = { size, ids, indexOf, preds, succs, dataDeps, unresolved }
  cache.set(plan, result)
  return result
}

/**
 * A topological order by Kahn's algorithm, ties broken by declaration order (computed once per index).
 * Returns `undefined` when the graph has a cycle.
 */
const orders = new WeakMap<GraphIndex, ReadonlyArray<number> | null>()

export const topo = (g: GraphIndex): ReadonlyArray<number> | undefined => {
  const cached = orders.get(g)
  if (cached !== undefined) return cached ?? undefined
  const order = declarationOrderIsTopological(g) ? Array.from({ length: g.size }, (_, i) => i) : kahn(g)
  orders.set(g, order ?? null)
  return order
}

// Workflows built in code only depend on earlier tasks: their declaration order is then the smallest
// topological order (the one Kahn's algorithm with declaration-order ties would produce), found in O(E).
const declarationOrderIsTopological = (g: GraphIndex): boolean => {
  for (let i = 0; i < g.size; i++) {
    const preds = g.preds[i]!
    for (let k = 0; k < preds.length; k++) if (preds[k]! > i) return false
  }
  return true
}

const kahn = (g: GraphIndex): Array<number> | undefined => {
  const indegree = new Int32Array(g.size)
  for (let i = 0; i < g.size; i++) indegree[i] = g.preds[i]!.length
  // A min-heap over node indices keeps ties in declaration order.
  const heap = Heap.make<number>((a, b) => a < b)
  for (let i = 0; i < g.size; i++) if (indegree[i] === 0) heap.push(i)
  const order: Array<number> = []
  while (heap.size > 0) {
    const v = heap.pop()
    order.push(v)
    for (const s of g.succs[v]!) if (--indegree[s] === 0) heap.push(s)
  }
  return order.length === g.size ? order : undefined
}

/**
 * For each node, the length of the longest path from it to a sink, counting its own weight.
 * `weight(i)` is the node's duration (or 1). Requires an acyclic graph.
 */
export const bottomLevels = (g: GraphIndex, order: ReadonlyArray<number>, weight: (i: number) => number) => {
  const bl = new Float64Array(g.size)
  const succs = g.succs
  for (let k = order.length - 1; k >= 0; k--) {
    const v = order[k]!
    const next = succs[v]!
    let best = 0
    for (let j = 0; j < next.length; j++) if (bl[next[j]!]! > best) best = bl[next[j]!]!
    bl[v] = best + weight(v)
  }
  return bl
}
