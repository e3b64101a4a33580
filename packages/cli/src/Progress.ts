/**
 * Live progress of a run in a terminal, folded from its RunEvents.
 *
 * On a TTY the view is a block redrawn in place: a header (done/total, running, failures, elapsed time and an
 * ETA from the remaining critical path), then the tasks grouped by dependency level with a status symbol,
 * elapsed time, attempts, retries and waits, then the running set. Failures, retries and the lines command
 * tasks print scroll above the block. Without a TTY (a pipe, a CI log) it prints one line per event.
 *
 * @since 0.1.0
 */
import type { Plan } from "@troupe/core/Plan"
import * as PlanOps from "@troupe/core/Plan"
import type { RunEvent } from "@troupe/core/RunEvent"
import * as RunState from "@troupe/core/RunState"
import { formatDuration, statusSymbol } from "@troupe/visualize/Render"

// -----------------------------------------------------------------------------
// Colours
// -----------------------------------------------------------------------------

/**
 * ANSI styles, or none.
 *
 * @category models
 * @since 0.1.0
 */
export interface Style {
  readonly green: (s: string) => string
  readonly red: (s: string) => string
  readonly yellow: (s: string) => string
  readonly cyan: (s: string) => string
  readonly magenta: (s: string) => string
  readonly dim: (s: string) => string
  readonly bold: (s: string) => string
}

const wrap = (open: number, close: number) => (s: string) => `\x1b[${open}m${s}\x1b[${close}m`

/**
 * Styles: ANSI colours when `color`, else plain text.
 *
 * @category constructors
 * @since 0.1.0
 */
export const style = (color: boolean): Style => {
  const id = (s: string) => s
  return color
    ? {
      green: wrap(32, 39),
      red: wrap(31, 39),
      yellow: wrap(33, 39),
      cyan: wrap(36, 39),
      magenta: wrap(35, 39),
      dim: wrap(2, 22),
      bold: wrap(1, 22)
    }
    : { green: id, red: id, yellow: id, cyan: id, magenta: id, dim: id, bold: id }
}

/**
 * Whether to colour a stream: never with `NO_COLOR` set (to anything but the empty string) or when the
 * stream is not a terminal; `FORCE_COLOR` turns colours on.
 *
 * @category constructors
 * @since 0.1.0
 */
export const useColor = (isTTY: boolean, env: Readonly<Record<string, string | undefined>>): boolean => {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== "") return false
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== "" && env.FORCE_COLOR !== "0") return true
  return isTTY && env.TERM !== "dumb"
}

// -----------------------------------------------------------------------------
// View
// -----------------------------------------------------------------------------

/**
 * Where the view draws.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options {
  readonly plan: Plan
  readonly tty: boolean
  readonly color: boolean
  readonly write: (text: string) => void
  readonly columns?: (() => number) | undefined
  readonly rows?: (() => number) | undefined
  /** The clock (milliseconds); default `Date.now`. */
  readonly now?: (() => number) | undefined
}

/**
 * A live view of one run.
 *
 * @category models
 * @since 0.1.0
 */
export interface View {
  readonly onEvent: (event: RunEvent) => void
  /** Redraws now (a TTY view redraws on a timer too). */
  readonly render: () => void
  /** Shows that the run is being cancelled (or, with a message, stopped some other way). */
  readonly cancelling: (message?: string) => void
  /** Shows a line a task printed (a command task's output). */
  readonly output: (taskId: string, stream: "stdout" | "stderr", line: string) => void
  /** Draws the final state and gives the terminal back. */
  readonly end: () => void
  /** The run state so far. */
  readonly state: () => RunState.RunState
}

const CLEAR_DOWN = "\x1b[J"
const HIDE_CURSOR = "\x1b[?25l"
const SHOW_CURSOR = "\x1b[?25h"
const up = (n: number) => (n > 0 ? `\x1b[${n}A\r` : "\r")

const visible = (s: string): number => [...s.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "")].length

/** Cuts a line with ANSI codes to `columns` visible characters. */
const cut = (line: string, columns: number): string => {
  if (visible(line) <= columns) return line
  let out = ""
  let count = 0
  const parts = line.split(/(\x1b\[[0-9;?]*[A-Za-z])/)
  for (const part of parts) {
    if (part.startsWith("\x1b[")) {
      out += part
      continue
    }
    for (const ch of part) {
      if (count >= columns - 1) return `${out}…\x1b[0m`
      out += ch
      count++
    }
  }
  return out
}

const ms = (n: number): string => formatDuration(Math.max(0, n))

const errorText = (message: string): string => message.split("\n")[0]!.slice(0, 200)

/** The view's state, shared by the parts below. */
interface ViewState {
  readonly options: Options
  readonly plan: Plan
  readonly now: () => number
  readonly s: Style
  readonly levels: ReadonlyArray<ReadonlyArray<string>>
  tracker: RunState.Tracker
  runId: string
  startedAt: number | undefined
  finishedAt: number | undefined
  outcome: "completed" | "failed" | "cancelled" | undefined
  isCancelling: boolean
  /** Tasks waiting for their next attempt, until when, and why. */
  readonly retrying: Map<string, { readonly until: number; readonly message: string; readonly attempt: number }>
  /** Lines of the live block on screen (a TTY). */
  drawn: number
  dirty: boolean
  timer: ReturnType<typeof setInterval> | undefined
  ended: boolean
}

const symbolOf = (s: Style, status: RunState.TaskStatus): string => {
  const sym = statusSymbol[status]
  switch (status) {
    case "completed":
      return s.green(sym)
    case "failed":
      return s.red(sym)
    case "running":
      return s.yellow(sym)
    case "skipped":
      return s.dim(sym)
    case "cancelled":
      return s.magenta(sym)
    default:
      return s.dim(sym)
  }
}

// ---- the live block (a TTY) ----------------------------------------------------------------------------

/** The remaining time along the critical path, from estimates and the durations seen so far. */
const eta = (v: ViewState, state: RunState.RunState, at: number): number | undefined => {
  const { plan } = v
  const done = state.tasks.filter((t) => t.status === "completed" && t.durationMs !== undefined)
  const estimates = plan.nodes.flatMap((n) => (n.estimatedDurationMs === undefined ? [] : [n.estimatedDurationMs]))
  // Tasks without an estimate count as the mean duration seen so far, else the mean estimate.
  const mean = done.length > 0
    ? done.reduce((a, t) => a + t.durationMs!, 0) / done.length
    : estimates.length > 0
    ? estimates.reduce((a, b) => a + b, 0) / estimates.length
    : undefined
  const durations: Record<string, number> = {}
  for (const node of plan.nodes) {
    const task = v.tracker.task(node.id)
    const status = task?.status ?? "pending"
    if (status !== "pending" && status !== "running") {
      durations[node.id] = 0
      continue
    }
    const estimate = node.estimatedDurationMs ?? mean
    if (estimate === undefined) return undefined
    const elapsed = status === "running" && task?.startedAt !== undefined ? at - task.startedAt : 0
    durations[node.id] = Math.max(0, estimate - elapsed)
  }
  return PlanOps.criticalPath(plan, durations).length
}

/** The run's title and its counts, elapsed time and ETA. */
const header = (v: ViewState, state: RunState.RunState, at: number): string => {
  const { plan, s } = v
  const p = state.progress
  const done = p.completed + p.failed + p.skipped + p.cancelled
  const parts = [`${done}/${p.total} done`]
  if (p.running > 0) parts.push(s.yellow(`${p.running} running`))
  if ((p.waiting ?? 0) > 0) parts.push(s.cyan(`${p.waiting} waiting`))
  if (p.failed > 0) parts.push(s.red(`${p.failed} failed`))
  if (p.skipped > 0) parts.push(s.dim(`${p.skipped} skipped`))
  if (p.cancelled > 0) parts.push(s.magenta(`${p.cancelled} cancelled`))
  const elapsed = v.startedAt === undefined ? 0 : (v.finishedAt ?? at) - v.startedAt
  parts.push(`elapsed ${ms(elapsed)}`)
  if (v.outcome === undefined && !v.isCancelling) {
    const remaining = eta(v, state, at)
    parts.push(remaining === undefined ? s.dim("ETA ?") : `ETA ~${ms(remaining)}`)
  }
  const title = v.outcome === "completed"
    ? s.green(`✓ ${plan.name}`)
    : v.outcome === "failed"
    ? s.red(`✗ ${plan.name}`)
    : v.outcome === "cancelled"
    ? s.magenta(`■ ${plan.name}`)
    : v.isCancelling
    ? s.magenta(`${plan.name} (cancelling…)`)
    : s.bold(`▶ ${plan.name}`)
  return `${title}  ${s.dim(v.runId)}  ${parts.join(s.dim(" · "))}`
}

/** One task: status, time, attempts, retry countdown, wait, iterations, error or reason. */
const taskLine = (v: ViewState, id: string, width: number, at: number): string => {
  const { s } = v
  const task = v.tracker.task(id)
  const status = task?.status ?? "pending"
  const bits: Array<string> = []
  if (task !== undefined && task.durationMs !== undefined) bits.push(ms(task.durationMs))
  else if (status === "running" && task?.startedAt !== undefined) bits.push(ms(at - task.startedAt))
  if (task !== undefined && task.attempts > 1) bits.push(`attempt ${task.attempts}`)
  const retry = v.retrying.get(id)
  if (retry !== undefined && status === "running") {
    const left = retry.until - at
    bits.push(s.yellow(left > 0 ? `↻ retry in ${ms(left)}` : "↻ retrying") + s.dim(` (${errorText(retry.message)})`))
  }
  if (task?.waitingFor !== undefined) {
    const w = task.waitingFor
    const until = w.until === undefined ? "" : `, ${ms(w.until - at)} left`
    bits.push(s.cyan(`⏸ waiting for ${w.reason} ${JSON.stringify(w.name)}${until}`))
  }
  if (task?.iterations !== undefined && task.iterations > 0) bits.push(`${task.iterations} iterations`)
  if (status === "failed" && task?.error !== undefined) bits.push(s.red(errorText(task.error)))
  if ((status === "skipped" || status === "cancelled") && task?.reason !== undefined) bits.push(s.dim(task.reason))
  if (task?.cached === true) bits.push(s.dim("cached"))
  return `  ${symbolOf(s, status)} ${id.padEnd(width)}  ${bits.join("  ")}`.trimEnd()
}

/** The block's lines, fitted to the terminal (completed levels collapse when it would not fit). */
const block = (v: ViewState): Array<string> => {
  const { options, plan, s } = v
  const at = v.now()
  const state = v.tracker.snapshot()
  const columns = Math.max(40, options.columns?.() ?? 80)
  const rows = Math.max(8, options.rows?.() ?? 24)
  const width = Math.min(28, Math.max(...plan.nodes.map((n) => [...n.id].length)))
  const lines: Array<string> = [header(v, state, at)]
  // Levels whose tasks all completed collapse to one line when the block would not fit.
  const full = v.levels.length + plan.nodes.length + 2 <= rows - 2
  v.levels.forEach((level, i) => {
    const statuses = level.map((id) => v.tracker.task(id)?.status ?? "pending")
    if (!full && statuses.every((st) => st === "completed")) {
      lines.push(s.dim(`Level ${i}: ${s.green("✓")} ${level.length} completed`))
      return
    }
    lines.push(s.dim(`Level ${i}`))
    for (const id of level) lines.push(taskLine(v, id, width, at))
  })
  const running = state.tasks.filter((t) => t.status === "running").map((t) => t.id)
  if (running.length > 0 && v.outcome === undefined) lines.push(`${s.yellow("Running:")} ${running.join(", ")}`)
  const max = rows - 1
  const fitted = lines.length <= max ? lines : [...lines.slice(0, max - 1), s.dim(`… ${lines.length - max + 1} more lines`)]
  return fitted.map((line) => cut(line, columns - 1))
}

const redraw = (v: ViewState) => {
  if (!v.options.tty || v.ended) return
  const lines = block(v)
  v.options.write(`${up(v.drawn)}${CLEAR_DOWN}${lines.join("\n")}\n`)
  v.drawn = lines.length
  v.dirty = false
}

/** Prints a line above the live block (a TTY) or on its own (elsewhere). */
const print = (v: ViewState, line: string) => {
  if (v.options.tty) {
    v.options.write(`${up(v.drawn)}${CLEAR_DOWN}${line}\n`)
    v.drawn = 0
    v.dirty = true
  } else v.options.write(`${line}\n`)
}

// ---- one line per event (scrolling output) -------------------------------------------------------------

const stamp = (v: ViewState, at: number): string =>
  v.s.dim(`[${ms(v.startedAt === undefined ? 0 : at - v.startedAt).padStart(6)}]`)

/** The line an event prints, if any. */
const describeEvent = (s: Style, event: RunEvent): string | undefined => {
  switch (event._tag) {
    case "RunStarted":
      return `run ${event.workflow} started (${event.total} tasks, run ${event.runId})`
    case "TaskStarted":
      return `${symbolOf(s, "running")} ${event.taskId}${event.attempt > 1 ? ` (attempt ${event.attempt})` : ""}`
    case "TaskCompleted":
      return `${symbolOf(s, "completed")} ${event.taskId} (${ms(event.durationMs)}${event.cached === true ? ", cached" : ""}${
        event.fallback === true ? ", fallback" : ""
      })`
    case "TaskFailed":
      return `${symbolOf(s, "failed")} ${event.taskId}: ${errorText(event.message)}`
    case "TaskSkipped":
      return `${symbolOf(s, "skipped")} ${event.taskId}: ${event.reason}`
    case "TaskCancelled":
      return `${symbolOf(s, "cancelled")} ${event.taskId}: ${event.reason}`
    case "TaskRetrying":
      return s.yellow(`↻ ${event.taskId}: attempt ${event.attempt} failed (${errorText(event.message)}), retrying in ${ms(event.delayMs)}`)
    case "TaskCompensated":
      return `↩ ${event.taskId}: compensated (${ms(event.durationMs)})`
    case "CompensationFailed":
      return s.red(`↩ ${event.taskId}: compensation failed: ${errorText(event.message)}`)
    case "TaskIteration":
      return event.status === "failed" ? `${event.taskId} #${event.iteration} failed: ${event.message ?? ""}` : undefined
    case "TaskWaiting":
      return s.cyan(`⏸ ${event.taskId}: waiting for ${event.reason} ${JSON.stringify(event.name)}`)
    case "TaskResumed":
      return `▶ ${event.taskId}: resumed`
    case "RunCompleted":
      return s.green(`run completed in ${ms(event.durationMs)}`)
    case "RunFailed":
      return s.red(`run failed in ${ms(event.durationMs)}: ${event.failed.join(", ")}${event.deadlineExceeded === true ? " (deadline exceeded)" : ""}`)
    case "RunCancelled":
      return s.magenta(`run cancelled after ${ms(event.durationMs)}`)
    default:
      return undefined
  }
}

// ---- events ----------------------------------------------------------------------------------------------

/** Folds an event into the view's state: the tracker, retries in progress, the outcome. */
const recordEvent = (v: ViewState, event: RunEvent) => {
  if (event._tag === "RunStarted") {
    v.runId = event.runId
    v.startedAt = event.at
    v.tracker = RunState.tracker(v.plan, event.runId)
  }
  v.tracker.apply(event)
  switch (event._tag) {
    case "TaskRetrying":
      v.retrying.set(event.taskId, { until: event.at + event.delayMs, message: event.message, attempt: event.attempt })
      break
    case "TaskStarted":
    case "TaskCompleted":
    case "TaskFailed":
    case "TaskCancelled":
      v.retrying.delete(event.taskId)
      break
    case "RunCompleted":
      v.outcome = "completed"
      v.finishedAt = event.at
      break
    case "RunFailed":
      v.outcome = "failed"
      v.finishedAt = event.at
      break
    case "RunCancelled":
      v.outcome = "cancelled"
      v.finishedAt = event.at
      break
  }
}

const onEvent = (v: ViewState, event: RunEvent) => {
  recordEvent(v, event)
  const { options } = v
  if (!options.tty) {
    const line = describeEvent(v.s, event)
    if (line !== undefined) options.write(`${stamp(v, event.at)} ${line}\n`)
    return
  }
  // On a terminal: what must stay visible scrolls above the block.
  if (
    event._tag === "TaskFailed" || event._tag === "TaskRetrying" ||
    event._tag === "CompensationFailed" || event._tag === "TaskCompensated"
  ) print(v, `${stamp(v, event.at)} ${describeEvent(v.s, event)}`)
  v.dirty = true
  if (v.timer === undefined) {
    options.write(HIDE_CURSOR)
    v.timer = setInterval(() => redraw(v), 100)
    v.timer.unref?.()
    redraw(v)
  }
}

const end = (v: ViewState) => {
  if (v.ended) return
  if (v.timer !== undefined) clearInterval(v.timer)
  if (v.options.tty) {
    redraw(v)
    v.options.write(SHOW_CURSOR)
  }
  v.ended = true
}

/**
 * Makes the view of one run of `plan`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (options: Options): View => {
  const { plan } = options
  const v: ViewState = {
    options,
    plan,
    now: options.now ?? Date.now,
    s: style(options.color),
    levels: PlanOps.levels(plan),
    tracker: RunState.tracker(plan, ""),
    runId: "",
    startedAt: undefined,
    finishedAt: undefined,
    outcome: undefined,
    isCancelling: false,
    retrying: new Map(),
    drawn: 0,
    dirty: true,
    timer: undefined,
    ended: false
  }
  return {
    onEvent: (event) => onEvent(v, event),
    output: (taskId, stream, line) => {
      if (v.ended) return
      print(v, `${stamp(v, v.now())} ${v.s.dim(`${taskId} ${stream === "stderr" ? "!" : "|"}`)} ${line}`)
    },
    render: () => (v.dirty || options.tty ? redraw(v) : undefined),
    cancelling: (message) => {
      v.isCancelling = true
      print(v, v.s.magenta(message ?? "Cancelling the run: tasks are being interrupted (press Ctrl-C again to exit at once)…"))
      redraw(v)
    },
    end: () => end(v),
    state: () => v.tracker.snapshot()
  }
}

/** The escape sequence that shows the cursor again (for an abrupt exit). @internal */
export const showCursor = SHOW_CURSOR
