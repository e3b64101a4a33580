/**
 * A Plan for terminals: a header, then one section per dependency level, one line per task with its
 * status symbol, metrics and `← dependencies`, then a legend. Every line fits the given width (80 columns
 * by default): long ids are cut with `…`, long dependency lists wrap.
 *
 * ```text
 * ── Level 1 · 2 tasks ──────────────────────────────
 *   ✓ design_database   3.4s 1 retry  ← setup_project
 *   ▶ design_api                      ← setup_project
 * ```
 *
 * Widths are counted in code points; the symbols used are one column wide in Western terminal fonts.
 *
 * @since 0.1.0
 */
import type { Plan } from "@troupe/core/Plan"
import * as View from "./internal/view.ts"
import { type AsciiOptions, formatDuration, statuses, statusSymbol } from "./Render.ts"

// -----------------------------------------------------------------------------
// Rendering
// -----------------------------------------------------------------------------

/**
 * Renders a Plan, and optionally a run of it, as lines of text no wider than `width`.
 *
 * @example
 * ```ts
 * import { Ascii } from "@troupe/visualize"
 * import type { Plan } from "@troupe/core/Plan"
 * import type { RunState } from "@troupe/core/RunState"
 *
 * declare const plan: Plan
 * declare const state: RunState
 * console.log(Ascii.render(plan, { state, width: 100 }))
 * ```
 *
 * @category rendering
 * @since 0.1.0
 */
export const render = (plan: Plan, options: AsciiOptions = {}): string => {
  const requested = options.width ?? 80
  const width = Number.isFinite(requested) ? Math.max(40, Math.floor(requested)) : 80
  const view = View.make(plan, options)
  const lines: Array<string> = []

  // Header
  const tasks = plural(view.nodes.length, "task")
  const levels = plural(view.levels.length, "level")
  lines.push(`Workflow ${plan.name || plan.id} (${tasks}, ${levels})`)
  if (plan.description !== "") lines.push(oneLine(plan.description))
  if (view.hasState) {
    const run = view.runStatus === undefined ? "Run" : `Run ${view.runStatus}`
    const took = view.runDurationMs === undefined ? "" : ` in ${formatDuration(view.runDurationMs)}`
    const counts = View.presentStatuses(view).map((status) => `${statusSymbol[status]} ${view.counts[status]}`)
    lines.push(`${run}${took}${counts.length > 0 ? `: ${counts.join("  ")}` : ""}`)
  }
  lines.push("═".repeat(width))

  // Columns
  const idMax = Math.max(8, Math.min(40, Math.floor(width / 2) - 4))
  const idCol = Math.min(idMax, widest(view.nodes.map((node) => node.id)))
  const metas = new Map(view.nodes.map((node) => [node.id, View.metricWords(node).join(" ")]))
  const metaCol = Math.max(0, Math.min(widest([...metas.values()]), width - 6 - idCol))

  if (view.nodes.length === 0) lines.push("  (no tasks)")
  view.levels.forEach((level, index) => {
    lines.push(rule(`Level ${index} · ${plural(level.length, "task")}`, width))
    for (const node of level) {
      const symbol = statusSymbol[node.status ?? "pending"]
      let head = `  ${symbol} ${pad(truncate(node.id, idCol), idCol)}`
      if (metaCol > 0) head += `  ${pad(truncate(metas.get(node.id)!, metaCol), metaCol)}`
      const deps = node.dependencies.map((dep) => `${dep.kind === "order" ? "~" : ""}${truncate(dep.id, idMax)}`)
      lines.push(...taskLines(head, deps, width))
      if (node.status === "failed" && node.error !== undefined) lines.push(`      error: ${oneLine(node.error)}`)
    }
  })

  if (options.legend !== false) {
    lines.push("─".repeat(width))
    const legend = [
      // `waiting` (signals, timers, rate limits) is listed only when a task waits.
      ...statuses.filter((status) => status !== "waiting" || view.counts.waiting > 0)
        .map((status) => `${statusSymbol[status]} ${status}`),
      "← depends on",
      "~ order only"
    ]
    lines.push(...wrap(legend, { first: "Legend: ", next: "        ", gap: "  ", trail: "", width }))
  }
  return lines.map((line) => fit(line, width)).join("\n")
}

// -----------------------------------------------------------------------------
// Text helpers
// -----------------------------------------------------------------------------

/**
 * The width of a string in columns, counted in code points.
 *
 * @category text
 * @since 0.1.0
 */
export const length = (text: string): number => [...text].length

/**
 * Cuts text to at most `max` columns, ending with `…` when cut.
 *
 * @category text
 * @since 0.1.0
 */
export const truncate = (text: string, max: number): string => {
  const chars = [...text]
  if (chars.length <= max) return text
  return max <= 0 ? "" : `${chars.slice(0, max - 1).join("")}…`
}

const widest = (texts: ReadonlyArray<string>): number =>
  texts.reduce((max, text) => Math.max(max, length(text)), 0)

const fit = (line: string, width: number): string => truncate(line.trimEnd(), width)

const pad = (text: string, columns: number): string => text + " ".repeat(Math.max(0, columns - length(text)))

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? "" : "s"}`

const oneLine = (text: string): string => text.replace(/\s+/g, " ").trim()

const rule = (title: string, width: number): string => {
  const head = `── ${title} `
  return head + "─".repeat(Math.max(0, width - length(head)))
}

const wrap = (
  tokens: ReadonlyArray<string>,
  layout: {
    readonly first: string
    readonly next: string
    readonly gap: string
    readonly trail: string
    readonly width: number
  }
): Array<string> => {
  const lines: Array<string> = []
  let current = layout.first
  let empty = true
  tokens.forEach((token, index) => {
    const piece = index < tokens.length - 1 ? token + layout.trail : token
    const candidate = empty ? current + piece : current + layout.gap + piece
    if (empty || length(candidate) <= layout.width) {
      current = candidate
    } else {
      lines.push(current)
      current = layout.next + piece
    }
    empty = false
  })
  lines.push(current)
  return lines
}

/**
 * A task's line, with its dependencies after `←`: on the same line when they fit, wrapped under the
 * first one when the longest fits there, else on lines of their own below the task.
 */
const taskLines = (head: string, deps: ReadonlyArray<string>, width: number): Array<string> => {
  if (deps.length === 0) return [head]
  const inline = `${head}  ← `
  const longest = widest(deps) + 1
  const all = `${inline}${deps.join(", ")}`
  if (length(all) <= width) return [all]
  if (length(inline) + longest <= width) {
    return wrap(deps, { first: inline, next: " ".repeat(length(inline)), gap: " ", trail: ",", width })
  }
  return [head, ...wrap(deps, { first: "      ← ", next: "        ", gap: " ", trail: ",", width })]
}
