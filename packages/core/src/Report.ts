/**
 * Report: a plain-text performance report of a run, in the layout of the systems Troupe replaces.
 *
 * {@link render} prints a header, the summary (workflow, status, duration, task counts, success rate,
 * retries, average/slowest/fastest task, parallelism), a TASK DETAILS table, the failed tasks with their
 * errors, the BOTTLENECK, the CRITICAL PATH and the optimiser's SUGGESTIONS. Every line fits the width
 * (100 columns by default): long ids and errors are shortened in the table and wrapped elsewhere.
 * {@link renderAggregate} prints statistics over many runs the same way.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Engine, Plan, Report, RunMetrics, Workflow } from "@troupe/core"
 *
 * const wf = Workflow.make("hello").task("greet", () => Effect.succeed("hi"))
 *
 * const program = Effect.gen(function*() {
 *   const metrics = RunMetrics.collector(Plan.fromWorkflow(wf))
 *   yield* Engine.run(wf, undefined, { onEvent: metrics.onEvent })
 *   console.log(Report.render(metrics.snapshot()))
 * })
 * ```
 *
 * @since 0.1.0
 */
import { formatFactor, formatMs, formatPercent } from "./internal/metrics.ts"
import * as Optimizer from "./Optimizer.ts"
import type * as RunMetrics from "./RunMetrics.ts"

// -----------------------------------------------------------------------------
// Models
// -----------------------------------------------------------------------------

/**
 * @category models
 * @since 0.1.0
 */
export interface Options {
  /** Line width, at least 72. Default 100. */
  readonly width?: number | undefined
  /** The suggestions to print. Default: `Optimizer.suggest(metrics.plan, metrics)`. */
  readonly suggestions?: ReadonlyArray<Optimizer.Suggestion> | undefined
}

// -----------------------------------------------------------------------------
// Text helpers
// -----------------------------------------------------------------------------

/** The narrowest report: every column of the task table still fits. */
const minWidth = 72

const oneLine = (s: string): string => s.replace(/\s+/g, " ").trim()

const shorten = (s: string, width: number): string =>
  s.length <= width ? s : width <= 3 ? s.slice(0, width) : `${s.slice(0, width - 3)}...`

/** Word-wraps `text` to `width`, the first line after `first`, the others after `rest` (an indent). */
const wrap = (text: string, width: number, first: string, rest: string): Array<string> => {
  const lines: Array<string> = []
  let line = first
  let empty = true
  for (let word of oneLine(text).split(" ")) {
    if (word === "") continue
    const room = width - (lines.length === 0 ? first.length : rest.length)
    if (word.length > room) word = shorten(word, room)
    if (!empty && line.length + 1 + word.length > width) {
      lines.push(line)
      line = rest
      empty = true
    }
    line += (empty ? "" : " ") + word
    empty = false
  }
  lines.push(line)
  return lines
}

const section = (title: string, width: number): Array<string> => ["", title, "-".repeat(width)]

const field = (label: string, value: string, width: number): Array<string> =>
  wrap(value, width, `${`${label}:`.padEnd(15)}`, " ".repeat(15))

interface Column {
  readonly header: string
  readonly align: "left" | "right"
  readonly max: number
  /** How narrow the column may get when the line is too short for every column; unset: not shrinkable. */
  readonly min?: number | undefined
}

/**
 * A table whose columns are as wide as their content (up to `max`); the last column gets at most the
 * rest of the line, and a longer last cell wraps.
 */
const table = (
  columns: ReadonlyArray<Column>,
  rows: ReadonlyArray<ReadonlyArray<string>>,
  width: number,
  maxLines = 3
) => {
  const gap = "  "
  const widths = columns.map((c, i) => Math.min(c.max, Math.max(c.header.length, ...rows.map((r) => r[i]!.length))))
  const last = columns.length - 1
  const sum = () => widths.slice(0, last).reduce((total, w) => total + w, 0) + gap.length * last
  // Too wide: narrow the widest shrinkable column, one character at a time, leaving the last column
  // at least its header (and 12 characters for text that wraps).
  const lastMin = columns[last]!.align === "right"
    ? columns[last]!.header.length
    : Math.max(columns[last]!.header.length, 12)
  while (sum() + lastMin > width) {
    let pick = -1
    for (let i = 0; i < last; i++) {
      const min = columns[i]!.min
      if (min !== undefined && widths[i]! > min && (pick === -1 || widths[i]! > widths[pick]!)) pick = i
    }
    if (pick === -1) break
    widths[pick]!--
  }
  const fixed = sum()
  // The last column gets what is left of the line (at least its header).
  widths[last] = Math.max(columns[last]!.header.length, Math.min(widths[last]!, width - fixed))
  const format = (cells: ReadonlyArray<string>) =>
    cells.map((cell, i) => {
      const w = widths[i]!
      const text = shorten(cell, w)
      return columns[i]!.align === "right" ? text.padStart(w) : text.padEnd(w)
    }).join(gap).trimEnd()
  const indent = " ".repeat(fixed)
  // A long last cell (a note) wraps onto up to `maxLines` lines under its column.
  const row = (cells: ReadonlyArray<string>): Array<string> => {
    if (columns[last]!.align === "right" || cells[last]!.length <= widths[last]!) return [format(cells)]
    const parts = wrap(cells[last]!, widths[last]!, "", "")
    const shown = parts.slice(0, maxLines)
    if (parts.length > maxLines) {
      shown[maxLines - 1] = shorten(`${shown[maxLines - 1]!} ${parts[maxLines]!}`, widths[last]!)
    }
    return [format([...cells.slice(0, last), shown[0]!]), ...shown.slice(1).map((part) => `${indent}${part}`)]
  }
  return [format(columns.map((c) => c.header)), ...rows.flatMap(row)]
}

const header = (title: string, width: number) => ["=".repeat(width), title, "=".repeat(width)]

// -----------------------------------------------------------------------------
// Rendering
// -----------------------------------------------------------------------------

const taskNote = (task: RunMetrics.TaskMetrics): string => {
  const note = statusNote(task)
  const tools = task.tools
  if (tools === undefined) return note
  const calls = `${tools.calls} tool call${tools.calls === 1 ? "" : "s"}${tools.failed > 0 ? ` (${tools.failed} failed)` : ""}`
  return note.length > 0 ? `${calls}; ${note}` : calls
}

const statusNote = (task: RunMetrics.TaskMetrics): string => {
  if (task.cached) return "cached"
  if (task.fallback) return `fallback${task.error === undefined ? "" : `: ${oneLine(task.error)}`}`
  if (task.status === "failed") return oneLine(task.error ?? "unknown error")
  if (task.status === "skipped" || task.status === "cancelled") return oneLine(task.reason ?? "")
  return ""
}

/** The suggestions as sentences; timeouts for tasks that have none are listed together. */
const suggestionLines = (suggestions: ReadonlyArray<Optimizer.Suggestion>): Array<string> => {
  const missing = suggestions.filter((s): s is Optimizer.SetTimeout =>
    s._tag === "SetTimeout" && s.currentMs === undefined
  )
  const items: Array<string> = []
  let grouped = false
  for (const s of suggestions) {
    if (s._tag !== "SetTimeout" || s.currentMs !== undefined || missing.length === 1) {
      items.push(s.message)
    } else if (!grouped) {
      grouped = true
      items.push(
        `${missing.length} tasks have no timeout; set each to a multiple of its observed p95 so a hung call ` +
          `cannot stall the run (p95 -> timeout): ` +
          missing.map((m) => `"${m.taskId}" ${formatMs(m.p95Ms)} -> ${formatMs(m.timeoutMs)}`).join(", ")
      )
    }
  }
  return items
}

/**
 * The performance report of one run.
 *
 * @category rendering
 * @since 0.1.0
 */
export const render = (metrics: RunMetrics.RunMetrics, options?: Options): string => {
  const width = Math.max(minWidth, Math.floor(options?.width ?? 100))
  const suggestions = options?.suggestions ?? Optimizer.suggest(metrics.plan, metrics)
  const c = metrics.counts
  const lines: Array<string> = header("WORKFLOW PERFORMANCE REPORT", width)

  const counts = [
    `${c.total} total`,
    `${c.completed} completed`,
    `${c.failed} failed`,
    `${c.skipped} skipped`,
    ...(c.cancelled > 0 ? [`${c.cancelled} cancelled`] : []),
    ...(c.running > 0 ? [`${c.running} running`] : []),
    ...(c.pending > 0 && metrics.status !== "completed" ? [`${c.pending} pending`] : []),
    ...(c.cached > 0 ? [`${c.cached} from cache`] : [])
  ].join(", ")
  const timing = (t: RunMetrics.TaskTiming | undefined) =>
    t === undefined ? "-" : `${t.id} (${formatMs(t.durationMs)})`
  const p = metrics.parallelism
  lines.push(
    ...field("Workflow", metrics.workflow, width),
    ...field("Run", metrics.runId, width),
    ...field("Status", metrics.status, width),
    ...field("Duration", formatMs(metrics.durationMs), width),
    ...field("Tasks", counts, width),
    ...field("Success rate", formatPercent(metrics.successRate), width),
    ...field("Retries", String(metrics.totalRetries), width),
    ...field("Average task", formatMs(metrics.averageTaskMs), width),
    ...field("Slowest task", timing(metrics.slowest), width),
    ...field("Fastest task", timing(metrics.fastest), width),
    ...field(
      "Parallelism",
      `${formatFactor(p.achieved)} achieved, ${formatFactor(p.possible)} possible ` +
        `(work ${formatMs(p.totalWorkMs)}, critical path ${formatMs(p.criticalPathMs)})`,
      width
    )
  )

  lines.push(...section("TASK DETAILS", width))
  lines.push(...table(
    [
      { header: "TASK", align: "left", max: 24, min: 10 },
      { header: "STATUS", align: "left", max: 9 },
      { header: "DURATION", align: "right", max: 10 },
      { header: "ATTEMPTS", align: "right", max: 8 },
      { header: "RETRIES", align: "right", max: 7 },
      { header: "AGENT", align: "left", max: 14, min: 5 },
      { header: "NOTES", align: "left", max: width }
    ],
    metrics.tasks.map((task) => [
      task.id,
      task.status,
      formatMs(task.durationMs),
      String(task.attempts),
      String(task.retries),
      task.agent ?? "-",
      taskNote(task)
    ]),
    width
  ))

  if (metrics.usage !== undefined) lines.push(...usageSection(metrics.usage, metrics.tasks, width))

  if (metrics.failures.length > 0) {
    lines.push(...section("FAILED TASKS", width))
    for (const failure of metrics.failures) lines.push(...wrap(failure.error, width, `${failure.id}: `, "  "))
  }

  lines.push(...section("BOTTLENECK", width))
  const b = metrics.bottleneck
  lines.push(
    ...(b === undefined
      ? ["none (no task ran)"]
      : wrap(
        `${b.id}: ${formatMs(b.durationMs)}, ${formatPercent(b.durationMs / (metrics.criticalPath.durationMs || 1))} ` +
          `of the critical path and ${formatPercent(b.durationMs / (metrics.durationMs || 1))} of the run`,
        width,
        "",
        "  "
      ))
  )

  lines.push(...section("CRITICAL PATH", width))
  lines.push(
    ...(metrics.criticalPath.path.length === 0
      ? ["none (no task ran)"]
      : wrap(
        `${metrics.criticalPath.path.join(" -> ")} (${formatMs(metrics.criticalPath.durationMs)})`,
        width,
        "",
        "  "
      ))
  )

  lines.push(...section("SUGGESTIONS", width))
  const items = suggestionLines(suggestions)
  if (items.length === 0) lines.push("none")
  items.forEach((item, i) => {
    const label = `${i + 1}. `
    lines.push(...wrap(item, width, label, " ".repeat(label.length)))
  })
  lines.push("=".repeat(width))
  return lines.join("\n")
}

const formatCost = (usd: number | undefined): string =>
  usd === undefined ? "-" : usd === 0 ? "$0" : usd < 0.01 ? `$${usd.toFixed(4)}` : `$${usd.toFixed(2)}`

/** `1,234 in (200 cached), 56 out, 3 calls, $0.0123`. */
const formatUsage = (u: RunMetrics.TokenUsage): string =>
  `${u.inputTokens.toLocaleString("en-US")} in${u.cachedTokens > 0 ? ` (${u.cachedTokens.toLocaleString("en-US")} cached)` : ""}, ` +
  `${u.outputTokens.toLocaleString("en-US")} out, ${u.calls} call${u.calls === 1 ? "" : "s"}` +
  (u.costUsd !== undefined ? `, ${formatCost(u.costUsd)}` : u.unpriced.length > 0 ? `, no price for ${u.unpriced.join(", ")}` : "")

/** The TOKEN USAGE section: the total, then a table per agent and per task. */
const usageSection = (
  usage: RunMetrics.RunUsage,
  tasks: ReadonlyArray<RunMetrics.TaskMetrics>,
  width: number
): Array<string> => {
  const lines = section("TOKEN USAGE", width)
  lines.push(...field("Total", formatUsage(usage.total), width))
  const columns = [
    { header: "BY", align: "left", max: 30, min: 10 },
    { header: "CALLS", align: "right", max: 6 },
    { header: "INPUT", align: "right", max: 10 },
    { header: "CACHED", align: "right", max: 10 },
    { header: "OUTPUT", align: "right", max: 10 },
    { header: "COST", align: "right", max: width }
  ] as const
  const row = (label: string, u: RunMetrics.TokenUsage) => [
    label,
    String(u.calls),
    String(u.inputTokens),
    String(u.cachedTokens),
    String(u.outputTokens),
    formatCost(u.costUsd)
  ]
  lines.push(...table(
    [...columns],
    [
      ...usage.byAgent.map((u) => row(`agent ${u.agent}`, u)),
      ...tasks.flatMap((task) => task.usage === undefined ? [] : [row(`task ${task.id}`, task.usage)])
    ],
    width
  ))
  return lines
}

/**
 * Statistics over many runs (see `RunMetrics.aggregate`): runs by status, success rate, wall-time
 * average, p50 and p95, and per task its average, p95, failures, retries and cache hits.
 *
 * @category rendering
 * @since 0.1.0
 */
export const renderAggregate = (
  aggregate: RunMetrics.Aggregate,
  options?: { readonly width?: number | undefined; readonly title?: string | undefined }
): string => {
  const width = Math.max(minWidth, Math.floor(options?.width ?? 100))
  const a = aggregate
  const lines: Array<string> = header(options?.title ?? "WORKFLOW STATISTICS", width)
  lines.push(
    ...field("Runs", `${a.runs} (${a.completed} completed, ${a.failed} failed, ${a.cancelled} cancelled)`, width),
    ...field("Success rate", formatPercent(a.successRate), width),
    ...field("Duration", `average ${formatMs(a.averageMs)}, p50 ${formatMs(a.p50Ms)}, p95 ${formatMs(a.p95Ms)}`, width),
    ...field("Range", `${formatMs(a.minMs)} to ${formatMs(a.maxMs)}`, width),
    ...field("Retries", String(a.totalRetries), width),
    ...(a.usage === undefined ? [] : field("Tokens", formatUsage(a.usage), width))
  )
  lines.push(...section("TASKS", width))
  lines.push(...table(
    [
      { header: "TASK", align: "left", max: 30, min: 10 },
      { header: "RUNS", align: "right", max: 6 },
      { header: "AVERAGE", align: "right", max: 10 },
      { header: "P95", align: "right", max: 10 },
      { header: "FAILED", align: "right", max: 6 },
      { header: "RETRIES", align: "right", max: 7 },
      { header: "CACHED", align: "right", max: width }
    ],
    a.tasks.map((t) => [
      t.id,
      String(t.measured),
      formatMs(t.averageMs),
      formatMs(t.p95Ms),
      String(t.failed),
      String(t.retries),
      String(t.cached)
    ]),
    width
  ))
  lines.push("=".repeat(width))
  return lines.join("\n")
}
