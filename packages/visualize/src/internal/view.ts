/**
 * @internal The one analysis every renderer reads: each task with its level, dependencies, status and
 * metrics, the levels, and status counts. Renderers only lay this out.
 */
import * as Plan from "@troupe/core/Plan"
import type { RunStatus, TaskStatus } from "@troupe/core/RunState"
import { formatDuration, type Overlay, statuses, statusSymbol } from "../Render.ts"

/** @internal */
export interface Dependency {
  readonly id: string
  readonly kind: "data" | "order"
}

/** @internal */
export interface NodeView {
  readonly node: Plan.PlanNode
  readonly id: string
  readonly level: number
  /** Data dependencies (`dependsOn`), then order-only ones (`after`). */
  readonly dependencies: ReadonlyArray<Dependency>
  /** `undefined` when the overlay has no run state. */
  readonly status: TaskStatus | undefined
  readonly durationMs: number | undefined
  readonly retries: number | undefined
  readonly attempts: number | undefined
  readonly agent: string | undefined
  readonly cached: boolean | undefined
  readonly error: string | undefined
}

/** @internal */
export interface View {
  readonly plan: Plan.Plan
  /** Declaration order. */
  readonly nodes: ReadonlyArray<NodeView>
  readonly levels: ReadonlyArray<ReadonlyArray<NodeView>>
  /** The Plan's edges between known tasks, in order. */
  readonly edges: ReadonlyArray<Plan.PlanEdge>
  readonly hasState: boolean
  readonly runStatus: RunStatus | undefined
  readonly runDurationMs: number | undefined
  readonly counts: Readonly<Record<TaskStatus, number>>
}

/** @internal */
export const make = (plan: Plan.Plan, overlay: Overlay = {}): View => {
  const known = new Set(plan.nodes.map((node) => node.id))
  const edges = plan.edges.filter((edge) => known.has(edge.from) && known.has(edge.to))
  const levelIds = levelsOf(plan)
  const levelOf = new Map<string, number>()
  levelIds.forEach((ids, level) => ids.forEach((id) => levelOf.set(id, level)))

  const state = overlay.state
  const taskStates = new Map(state?.tasks.map((task) => [task.id, task]) ?? [])
  const metrics = overlay.metrics ?? {}
  const counts: Record<TaskStatus, number> = {
    completed: 0,
    failed: 0,
    running: 0,
    waiting: 0,
    pending: 0,
    skipped: 0,
    cancelled: 0
  }

  const nodes = plan.nodes.map((node): NodeView => {
    const task = taskStates.get(node.id)
    const metric = Object.hasOwn(metrics, node.id) ? metrics[node.id] : undefined
    const status = state === undefined ? undefined : task?.status ?? "pending"
    if (status !== undefined) counts[status]++
    return {
      node,
      id: node.id,
      level: levelOf.get(node.id) ?? 0,
      dependencies: dependenciesOf(node, known),
      status,
      durationMs: metric?.durationMs ?? task?.durationMs,
      retries: metric?.retries ?? task?.retries,
      attempts: task?.attempts,
      agent: metric?.agent,
      cached: metric?.cached,
      error: task?.error
    }
  })
  const byId = new Map(nodes.map((view) => [view.id, view]))
  return {
    plan,
    nodes,
    levels: levelIds.map((ids) => ids.map((id) => byId.get(id)!)),
    edges,
    hasState: state !== undefined,
    runStatus: state?.status,
    runDurationMs: state?.durationMs,
    counts
  }
}

/**
 * @internal Core's dependency levels. A Plan with a cycle (only a hand-built one: decoded Plans are
 * validated) has none; it is drawn as one level rather than failing, so the cycle can be looked at.
 */
const levelsOf = (plan: Plan.Plan): ReadonlyArray<ReadonlyArray<string>> => {
  try {
    return Plan.levels(plan)
  } catch {
    return plan.nodes.length === 0 ? [] : [plan.nodes.map((node) => node.id)]
  }
}

const dependenciesOf = (node: Plan.PlanNode, known: ReadonlySet<string>): ReadonlyArray<Dependency> => {
  const out: Array<Dependency> = []
  const seen = new Set<string>()
  for (const [ids, kind] of [[node.dependsOn, "data"], [node.after, "order"]] as const) {
    for (const id of ids) {
      if (!known.has(id) || id === node.id || seen.has(id)) continue
      seen.add(id)
      out.push({ id, kind })
    }
  }
  return out
}

/**
 * @internal The metrics of a task as short words: duration, retries, agent, cache hit. Shared by the
 * graph labels and the ASCII lines.
 */
export const metricWords = (view: NodeView): ReadonlyArray<string> => {
  const words: Array<string> = []
  if (view.durationMs !== undefined) words.push(formatDuration(view.durationMs))
  if (view.retries !== undefined && view.retries > 0) {
    words.push(view.retries === 1 ? "1 retry" : `${view.retries} retries`)
  }
  if (view.agent !== undefined && view.agent !== "") words.push(`@${view.agent}`)
  if (view.cached === true) words.push("cached")
  return words
}

/**
 * @internal The lines of a graph node's label (unescaped): id, optional description, then the status and
 * metrics line when there is one.
 */
export const labelLines = (view: NodeView, descriptions: boolean): ReadonlyArray<string> => {
  const lines = [view.id]
  if (descriptions && view.node.description !== "") lines.push(view.node.description)
  const overlay = [
    ...(view.status === undefined ? [] : [`${statusSymbol[view.status]} ${view.status}`]),
    ...metricWords(view)
  ]
  if (overlay.length > 0) lines.push(overlay.join(" · "))
  return lines
}

/** @internal Statuses that occur in the view, in legend order. */
export const presentStatuses = (view: View): ReadonlyArray<TaskStatus> =>
  statuses.filter((status) => view.counts[status] > 0)
