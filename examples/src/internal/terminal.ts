/**
 * Terminal output for the examples: live progress folded from RunEvents, and plain-text tables.
 *
 * The progress view is a fold over the run's events, like everything else that observes a run: hand its
 * `onProgress` to `Engine.run(wf, input, { onProgress })`. On a terminal it redraws one line (percent,
 * counts, the names of running tasks) and prints failures and retries above it; elsewhere (a pipe, a CI
 * log) it prints one plain line per event.
 *
 * @since 0.1.0
 */
import type { RunEvent, RunState } from "@troupe/core"

// -----------------------------------------------------------------------------
// Progress
// -----------------------------------------------------------------------------

/**
 * Where progress goes and how.
 *
 * @category progress
 * @since 0.1.0
 */
export interface ProgressOptions {
  /** Redraw a single line (a terminal) instead of printing a line per event. */
  readonly tty: boolean
  /** Width of the terminal; the live line is cut to fit. Default 80. */
  readonly columns?: number | undefined
  readonly write: (text: string) => void
}

/**
 * A live progress view.
 *
 * @category progress
 * @since 0.1.0
 */
export interface ProgressView {
  readonly onProgress: (progress: RunState.Progress, event: RunEvent.RunEvent) => void
  /** Ends the live line (call it once the run is over, whatever its outcome). */
  readonly end: () => void
}

const CLEAR_LINE = "\r\x1b[2K"

const percent = (p: RunState.Progress): string => `[${p.percent.toFixed(0).padStart(3)}%]`

const cut = (text: string, columns: number): string => {
  const chars = [...text]
  return chars.length <= columns ? text : `${chars.slice(0, Math.max(0, columns - 1)).join("")}…`
}

/**
 * One line describing a task event, or `undefined` for events not worth a line of their own.
 *
 * @category progress
 * @since 0.1.0
 */
export const describeEvent = (event: RunEvent.RunEvent): string | undefined => {
  switch (event._tag) {
    case "RunStarted":
      return `run ${event.workflow} started (${event.total} tasks)`
    case "TaskStarted":
      return event.attempt > 1 ? `▶ ${event.taskId} (attempt ${event.attempt})` : `▶ ${event.taskId}`
    case "TaskCompleted":
      return `✓ ${event.taskId} (${Math.round(event.durationMs)} ms)`
    case "TaskFailed":
      return `✗ ${event.taskId}: ${event.message}`
    case "TaskSkipped":
      return `⊘ ${event.taskId}: ${event.reason}`
    case "TaskCancelled":
      return `■ ${event.taskId}: ${event.reason}`
    case "TaskRetrying":
      return `↻ ${event.taskId}: attempt ${event.attempt} failed (${event.message}), retrying in ${event.delayMs} ms`
    case "ToolCalled":
      return `⚙ ${event.taskId}: ${event.agent} called ${event.tool} (${event.outcome}, ${Math.round(event.durationMs)} ms)${
        event.message === undefined ? "" : `: ${event.message}`
      }`
    case "RunCompleted":
    case "RunFailed":
    case "RunCancelled":
      return `run ${event._tag.slice(3).toLowerCase()} in ${Math.round(event.durationMs)} ms`
    default:
      return undefined
  }
}

/**
 * Makes a progress view.
 *
 * @category progress
 * @since 0.1.0
 */
export const progressView = (options: ProgressOptions): ProgressView => {
  const running = new Set<string>()
  // the latest text each running agent streamed (AgentText events), shown on the live line
  const latest = new Map<string, string>()
  let live = false
  const onProgress = (progress: RunState.Progress, event: RunEvent.RunEvent) => {
    if (event._tag === "TaskStarted") running.add(event.taskId)
    else if (
      event._tag === "TaskCompleted" || event._tag === "TaskFailed" || event._tag === "TaskSkipped" ||
      event._tag === "TaskCancelled"
    ) {
      running.delete(event.taskId)
      latest.delete(event.taskId)
    } else if (event._tag === "AgentText") {
      latest.delete(event.taskId) // re-inserted: the Map's last entry is the agent that spoke last
      latest.set(event.taskId, event.text.replace(/\s+/g, " ").trim())
    }
    if (!options.tty) {
      const line = describeEvent(event)
      if (line !== undefined) options.write(`${percent(progress)} ${line}\n`)
      return
    }
    // Failures, retries and tool calls stay on screen: printed above the live line.
    if (event._tag === "TaskFailed" || event._tag === "TaskRetrying" || event._tag === "ToolCalled") {
      options.write(`${CLEAR_LINE}${describeEvent(event)}\n`)
    }
    const done = progress.completed + progress.failed + progress.skipped + progress.cancelled
    const problems = [
      progress.failed > 0 ? `${progress.failed} failed` : "",
      progress.skipped > 0 ? `${progress.skipped} skipped` : "",
      progress.cancelled > 0 ? `${progress.cancelled} cancelled` : ""
    ].filter((s) => s !== "")
    const now = running.size > 0 ? ` · running: ${[...running].join(", ")}` : ""
    // the most recently streaming agent's latest words (its tail, so the newest text is visible)
    const speaking = [...latest].at(-1)
    const said = speaking === undefined ? "" : ` · ${speaking[0]}: "…${speaking[1].slice(-60)}"`
    const line = `${percent(progress)} ${done}/${progress.total} done${
      problems.length > 0 ? ` (${problems.join(", ")})` : ""
    }${now}${said}`
    options.write(CLEAR_LINE + cut(line, Math.max(20, (options.columns ?? 80) - 1)))
    live = true
  }
  const end = () => {
    if (live) options.write("\n")
    live = false
  }
  return { onProgress, end }
}

// -----------------------------------------------------------------------------
// Tables
// -----------------------------------------------------------------------------

/**
 * A column of a plain-text table.
 *
 * @category tables
 * @since 0.1.0
 */
export interface Column {
  readonly title: string
  readonly align?: "left" | "right" | undefined
}

/**
 * Renders rows as an aligned plain-text table with a header rule.
 *
 * @category tables
 * @since 0.1.0
 */
export const table = (columns: ReadonlyArray<Column>, rows: ReadonlyArray<ReadonlyArray<string>>): string => {
  const widths = columns.map((column, i) => Math.max(column.title.length, ...rows.map((row) => (row[i] ?? "").length)))
  const line = (cells: ReadonlyArray<string>) =>
    cells
      .map((cell, i) => columns[i]!.align === "right" ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))
      .join("  ")
      .trimEnd()
  return [
    line(columns.map((column) => column.title)),
    widths.map((w) => "─".repeat(w)).join("  "),
    ...rows.map(line)
  ].join("\n")
}

/**
 * The final per-task table of a run: id, status, duration in milliseconds, attempts.
 *
 * @category tables
 * @since 0.1.0
 */
export const taskTable = (state: RunState.RunState): string =>
  table(
    [
      { title: "task" },
      { title: "status" },
      { title: "duration ms", align: "right" },
      { title: "attempts", align: "right" }
    ],
    state.tasks.map((task) => [
      task.id,
      task.status,
      task.durationMs === undefined ? "-" : String(Math.round(task.durationMs)),
      String(task.attempts)
    ])
  )
