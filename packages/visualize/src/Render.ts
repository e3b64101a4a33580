/**
 * What every renderer shares: the options (the run-state and metrics overlay, layout choices), the colour
 * and symbol of each task status, and duration formatting.
 *
 * A renderer reads a Plan, and optionally the state of a run of it (`RunState`, or any value with its
 * `tasks`) and per-task metrics. Metrics win over the run state where both say something (for example a
 * duration measured elsewhere).
 *
 * @since 0.1.0
 */
import type { RunStatus, TaskState, TaskStatus } from "@troupe/core/RunState"

// -----------------------------------------------------------------------------
// Options
// -----------------------------------------------------------------------------

/**
 * Metrics of one task, shown next to it.
 *
 * @category options
 * @since 0.1.0
 */
export interface TaskMetrics {
  readonly durationMs?: number | undefined
  readonly retries?: number | undefined
  /** The agent that ran the task. */
  readonly agent?: string | undefined
  /** The output came from the cache. */
  readonly cached?: boolean | undefined
}

/**
 * Metrics by task id.
 *
 * @category options
 * @since 0.1.0
 */
export type Metrics = Readonly<Record<string, TaskMetrics>>

/**
 * The run state a renderer reads: a `RunState` fits, and so does a bare `{ tasks }`.
 *
 * @category options
 * @since 0.1.0
 */
export interface RunOverlay {
  readonly tasks: ReadonlyArray<TaskState>
  readonly status?: RunStatus | undefined
  readonly durationMs?: number | undefined
}

/**
 * The overlay every renderer accepts. Without `state`, tasks have no status and are drawn plainly.
 *
 * @category options
 * @since 0.1.0
 */
export interface Overlay {
  readonly state?: RunOverlay | undefined
  readonly metrics?: Metrics | undefined
}

/**
 * Layout direction of a graph: top-down or left-to-right.
 *
 * @category options
 * @since 0.1.0
 */
export type Direction = "TD" | "LR"

/**
 * Options of the graph renderers (Mermaid, DOT).
 *
 * @category options
 * @since 0.1.0
 */
export interface GraphOptions extends Overlay {
  /** Default `"TD"`. */
  readonly direction?: Direction | undefined
  /** Add each task's description to its label. Default `false`. */
  readonly descriptions?: boolean | undefined
}

/**
 * Options of the ASCII renderer.
 *
 * @category options
 * @since 0.1.0
 */
export interface AsciiOptions extends Overlay {
  /** Every line fits in this many columns. Default 80, at least 40. */
  readonly width?: number | undefined
  /** Print the legend of symbols. Default `true`. */
  readonly legend?: boolean | undefined
}

// -----------------------------------------------------------------------------
// Statuses
// -----------------------------------------------------------------------------

/**
 * All task statuses, in the order legends list them.
 *
 * @category statuses
 * @since 0.1.0
 */
export const statuses: ReadonlyArray<TaskStatus> = [
  "completed",
  "failed",
  "running",
  "waiting",
  "pending",
  "skipped",
  "cancelled"
]

/**
 * The terminal symbol of each status.
 *
 * @category statuses
 * @since 0.1.0
 */
export const statusSymbol: Readonly<Record<TaskStatus, string>> = {
  completed: "✓",
  failed: "✗",
  running: "▶",
  waiting: "⏸",
  pending: "○",
  skipped: "⊘",
  cancelled: "■"
}

/**
 * Colours of a node: fill, border and text.
 *
 * @category statuses
 * @since 0.1.0
 */
export interface StatusStyle {
  readonly fill: string
  readonly stroke: string
  readonly text: string
  /** Draw the border dashed. */
  readonly dashed: boolean
}

/**
 * The colours of each status, shared by Mermaid and DOT.
 *
 * @category statuses
 * @since 0.1.0
 */
export const statusStyle: Readonly<Record<TaskStatus, StatusStyle>> = {
  completed: { fill: "#d4edda", stroke: "#28a745", text: "#155724", dashed: false },
  failed: { fill: "#f8d7da", stroke: "#dc3545", text: "#721c24", dashed: false },
  running: { fill: "#fff3cd", stroke: "#e0a800", text: "#856404", dashed: false },
  waiting: { fill: "#d1ecf1", stroke: "#17a2b8", text: "#0c5460", dashed: true },
  pending: { fill: "#e9ecef", stroke: "#6c757d", text: "#343a40", dashed: false },
  skipped: { fill: "#f8f9fa", stroke: "#adb5bd", text: "#6c757d", dashed: true },
  cancelled: { fill: "#e2d9f3", stroke: "#6f42c1", text: "#3d2370", dashed: false }
}

/**
 * The style of a task without run state.
 *
 * @category statuses
 * @since 0.1.0
 */
export const plainStyle: StatusStyle = { fill: "#ffffff", stroke: "#495057", text: "#212529", dashed: false }

// -----------------------------------------------------------------------------
// Formatting
// -----------------------------------------------------------------------------

/**
 * A short human duration: `850ms`, `1.2s`, `2m 05s`, `1h 02m`.
 *
 * @example
 * ```ts
 * import { Render } from "@troupe/visualize"
 *
 * console.log(Render.formatDuration(1234)) // "1.2s"
 * console.log(Render.formatDuration(125_000)) // "2m 05s"
 * ```
 *
 * @category formatting
 * @since 0.1.0
 */
export const formatDuration = (ms: number): string => {
  if (!Number.isFinite(ms) || ms < 0) return "?"
  if (ms < 1000) return `${Math.round(ms)}ms`
  if (ms < 60_000) return `${(Math.floor(ms / 100) / 10).toFixed(1)}s`
  const totalSeconds = Math.floor(ms / 1000)
  if (totalSeconds < 3600) {
    return `${Math.floor(totalSeconds / 60)}m ${String(totalSeconds % 60).padStart(2, "0")}s`
  }
  const totalMinutes = Math.floor(totalSeconds / 60)
  return `${Math.floor(totalMinutes / 60)}h ${String(totalMinutes % 60).padStart(2, "0")}m`
}
