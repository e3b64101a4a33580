/**
 * Plan analysis: topological order, dependency levels, critical path, parallel width and the strategy
 * `auto` picks. Every function expects a validated (acyclic) Plan.
 *
 * @internal
 */
import type { Plan, Strategy } from "../Plan.ts"
import { bottomLevels, type GraphIndex, index, topo } from "./graph.ts"

/** @internal Everything `analyze` computes about a plan. */
export interface Analysis {
  readonly taskCount: number
  readonly edgeCount: number
  readonly topologicalOrder: ReadonlyArray<string>
  readonly levels: ReadonlyArray<ReadonlyArray<string>>
  readonly criticalPath: { readonly path: ReadonlyArray<string>; readonly length: number }
  readonly maxParallelWidth: number
  readonly totalWork: number
  readonly recommended: { readonly strategy: Exclude<Strategy, "auto">; readonly reason: string }
}

type Durations = Readonly<Record<string, number>>

const order = (g: GraphIndex): ReadonlyArray<number> => {
  const result = topo(g)
  if (result === undefined) throw new Error("The plan has a dependency cycle: validate it before analysing it")
  return result
}

const weights = (plan: Plan, durations: Durations | undefined) => (i: number): number => {
  const node = plan.nodes[i]!
  return durations?.[node.id] ?? node.estimatedDurationMs ?? 1
}

/** Level of each node: 0 without dependencies, else 1 + the highest level among its dependencies. */
const levelOf = (g: GraphIndex): Int32Array => {
  const level = new Int32Array(g.size)
  for (const v of order(g)) {
    for (const p of g.preds[v]!) if (level[p]! + 1 > level[v]!) level[v] = level[p]! + 1
  }
  return level
}

/** @internal */
export const topologicalOrder = (plan: Plan): ReadonlyArray<string> => {
  const g = index(plan)
  return order(g).map((i) => g.ids[i]!)
}

/** @internal */
export const levels = (plan: Plan): ReadonlyArray<ReadonlyArray<string>> => {
  const g = index(plan)
  const level = levelOf(g)
  const result: Array<Array<string>> = []
  for (let i = 0; i < g.size; i++) (result[level[i]!] ??= []).push(g.ids[i]!)
  return result
}

/** @internal */
export const criticalPath = (
  plan: Plan,
  durations?: Durations
): { readonly path: ReadonlyArray<string>; readonly length: number } => {
  const g = index(plan)
  if (g.size === 0) return { path: [], length: 0 }
  const bl = bottomLevels(g, order(g), weights(plan, durations))
  // The heaviest source, then at each step the successor with the longest remaining path.
  const best = (candidates: Iterable<number>): number | undefined => {
    let pick: number | undefined
    for (const c of candidates) if (pick === undefined || bl[c]! > bl[pick]!) pick = c
    return pick
  }
  const sources = g.ids.flatMap((_, i) => (g.preds[i]!.length === 0 ? [i] : []))
  const start = best(sources)!
  const path: Array<string> = []
  for (let v: number | undefined = start; v !== undefined; v = best(g.succs[v]!)) path.push(g.ids[v]!)
  return { path, length: bl[start]! }
}

/** @internal */
export const maxParallelWidth = (plan: Plan): number =>
  levels(plan).reduce((widest, level) => Math.max(widest, level.length), 0)

/** @internal */
export const recommendStrategy = (
  plan: Plan
): { readonly strategy: Exclude<Strategy, "auto">; readonly reason: string } => {
  const n = plan.nodes.length
  const depth = levels(plan).length
  const width = maxParallelWidth(plan)
  const edges = index(plan).preds.reduce((sum, preds) => sum + preds.length, 0)
  const conditional = plan.nodes.filter((node) => node.condition !== undefined).length
  if (n <= 1) {
    return { strategy: "sequential", reason: n === 0 ? "no tasks: nothing to schedule" : "1 task: sequential runs it" }
  }
  if (width === 1) {
    return {
      strategy: "sequential",
      reason: `${n} tasks in a single chain of ${depth} levels, only 1 can run at a time: ` +
        "sequential runs them one after another"
    }
  }
  if (edges === 0) {
    return {
      strategy: "parallel",
      reason: `${n} tasks with no dependencies, all ${n} can run at once: parallel starts them all together`
    }
  }
  const shape = `${n} tasks in ${depth} level${depth === 1 ? "" : "s"}, up to ${width} can run at once`
  if (conditional > 0) {
    return {
      strategy: "conditional",
      reason: `${shape}, ${conditional} of them with a condition: ` +
        "conditional runs each task when its dependencies finish and its condition holds"
    }
  }
  return { strategy: "dag", reason: `${shape}: dag runs each task as soon as its dependencies finish` }
}

/** @internal */
export const analyze = (plan: Plan, durations?: Durations): Analysis => {
  const weight = weights(plan, durations)
  let totalWork = 0
  for (let i = 0; i < plan.nodes.length; i++) totalWork += weight(i)
  return {
    taskCount: plan.nodes.length,
    edgeCount: plan.edges.length,
    topologicalOrder: topologicalOrder(plan),
    levels: levels(plan),
    criticalPath: criticalPath(plan, durations),
    maxParallelWidth: maxParallelWidth(plan),
    totalWork,
    recommended: recommendStrategy(plan)
  }
}
