/**
 * Mermaid flowcharts of a Plan: one node per task, data edges as arrows, order-only edges dashed, a
 * `classDef` per status with its colours, and the run's metrics (duration, retries, agent, cache hits)
 * in the labels.
 *
 * @since 0.1.0
 */
import type { Plan } from "@troupe/core/Plan"
import type { TaskStatus } from "@troupe/core/RunState"
import * as View from "./internal/view.ts"
import { type GraphOptions, statusStyle } from "./Render.ts"

// -----------------------------------------------------------------------------
// Rendering
// -----------------------------------------------------------------------------

/**
 * Renders a Plan as a Mermaid flowchart (`graph TD`, or `graph LR` with `direction: "LR"`).
 *
 * @example
 * ```ts
 * import { Mermaid } from "@troupe/visualize"
 * import type { Plan } from "@troupe/core/Plan"
 *
 * declare const plan: Plan
 * const text = Mermaid.render(plan, { direction: "LR", metrics: { build: { durationMs: 1200 } } })
 * ```
 *
 * @category rendering
 * @since 0.1.0
 */
export const render = (plan: Plan, options: GraphOptions = {}): string => {
  const view = View.make(plan, options)
  const ids = nodeIds(view.nodes.map((node) => node.id))
  const lines = [`graph ${options.direction ?? "TD"}`]
  for (const node of view.nodes) {
    const label = View.labelLines(node, options.descriptions === true).map(escapeLabel).join("<br/>")
    lines.push(`  ${ids.get(node.id)!}["${label}"]`)
  }
  for (const edge of view.edges) {
    lines.push(`  ${ids.get(edge.from)!} ${edge.kind === "order" ? "-.->" : "-->"} ${ids.get(edge.to)!}`)
  }
  for (const status of View.presentStatuses(view)) lines.push(`  ${classDef(status)}`)
  for (const status of View.presentStatuses(view)) {
    const members = view.nodes.filter((node) => node.status === status).map((node) => ids.get(node.id)!)
    lines.push(`  class ${members.join(",")} ${status}`)
  }
  return lines.join("\n")
}

// -----------------------------------------------------------------------------
// Escaping
// -----------------------------------------------------------------------------

/**
 * Words Mermaid reads as keywords when used as a node id.
 *
 * @category escaping
 * @since 0.1.0
 */
export const reservedIds: ReadonlySet<string> = new Set([
  "end",
  "graph",
  "flowchart",
  "subgraph",
  "direction",
  "class",
  "classdef",
  "click",
  "style",
  "linkstyle",
  "call",
  "href",
  "default"
])

/**
 * A safe, unique Mermaid node id for each task id: letters, digits and `_`, starting with a letter, not a
 * keyword. Ids that are already safe stay as they are.
 *
 * @category escaping
 * @since 0.1.0
 */
export const nodeIds = (taskIds: ReadonlyArray<string>): ReadonlyMap<string, string> => {
  const out = new Map<string, string>()
  const used = new Set<string>()
  // Ids already safe keep their name; the others are adjusted around them.
  const safe = (id: string) => /^[A-Za-z][A-Za-z0-9_]*$/.test(id) && !reservedIds.has(id.toLowerCase())
  for (const id of taskIds) {
    if (safe(id) && !used.has(id)) {
      out.set(id, id)
      used.add(id)
    }
  }
  for (const id of taskIds) {
    if (out.has(id)) continue
    let base = id.replace(/[^A-Za-z0-9_]/g, "_")
    if (!/^[A-Za-z]/.test(base)) base = `t_${base}`
    if (reservedIds.has(base.toLowerCase())) base = `${base}_`
    let candidate = base
    for (let n = 2; used.has(candidate); n++) candidate = `${base}_${n}`
    out.set(id, candidate)
    used.add(candidate)
  }
  return out
}

const entities: Readonly<Record<string, string>> = {
  "#": "#35;",
  "&": "#38;",
  "\"": "#quot;",
  "<": "#lt;",
  ">": "#gt;",
  "[": "#91;",
  "]": "#93;",
  "(": "#40;",
  ")": "#41;",
  "{": "#123;",
  "}": "#125;",
  "|": "#124;",
  "`": "#96;"
}

/**
 * Escapes text for a quoted Mermaid label: quotes, brackets, `<`, `>`, `|`, `&` and `#` become Mermaid entity
 * codes, and line breaks become spaces.
 *
 * @category escaping
 * @since 0.1.0
 */
export const escapeLabel = (text: string): string =>
  text.replace(/[#&"<>[\](){}|`]/g, (char) => entities[char]!).replace(/\s*[\r\n]+\s*/g, " ")

const classDef = (status: TaskStatus): string => {
  const style = statusStyle[status]
  const dash = style.dashed ? ",stroke-dasharray:5 3" : ""
  return `classDef ${status} fill:${style.fill},stroke:${style.stroke},color:${style.text}${dash}`
}
