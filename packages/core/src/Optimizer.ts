/**
 * Optimizer: suggestions to make a workflow faster or sturdier, from the durations its runs measured.
 *
 * From a Plan and the metrics of one or more runs, {@link suggest} finds:
 * - `Parallelize`: an order-only dependency (`.dependsOn(...)`, edge kind `order`: the task does not read
 *   the other's output) on the measured critical path; dropping it would shorten the run by `savingMs`
 *   (recomputed with `Plan.criticalPath` on the plan without that edge);
 * - `IncreaseParallelism`: the runs achieved much less parallelism than the graph allows (a
 *   `maxParallel` limit, the `sequential` strategy, or pools and keys held the tasks back);
 * - `SlowTask`: a task slower than `slowFactor` (2) times the median task;
 * - `SetTimeout`: a task without a timeout (or with one close to its normal duration), with a timeout of
 *   `timeoutFactor` (3) times its p95 duration, rounded up to two significant digits;
 * - `FrequentRetries`: a task that retried `retriesPerRun` (1) times or more per run on average.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Engine, Optimizer, Plan, RunMetrics, Workflow } from "@troupe/core"
 *
 * const wf = Workflow.make("build")
 *   .task("lint", () => Effect.sleep("200 millis"))
 *   .task("test", () => Effect.sleep("1 second")).dependsOn("lint")
 *
 * const program = Effect.gen(function*() {
 *   const plan = Plan.fromWorkflow(wf)
 *   const metrics = RunMetrics.collector(plan)
 *   yield* Engine.run(wf, undefined, { onEvent: metrics.onEvent })
 *   for (const s of Optimizer.suggest(plan, metrics.snapshot())) console.log(s.message)
 * })
 * ```
 *
 * @since 0.1.0
 */
import { formatFactor, formatMs, median, percentile, ratio, roundUpMs } from "./internal/metrics.ts"
import * as Plan from "./Plan.ts"
import * as RunMetrics from "./RunMetrics.ts"

// -----------------------------------------------------------------------------
// Models
// -----------------------------------------------------------------------------

/**
 * Drop an order-only dependency that lengthens the critical path.
 *
 * @category models
 * @since 0.1.0
 */
export interface Parallelize {
  readonly _tag: "Parallelize"
  /** The dependency. */
  readonly from: string
  /** The task that waits for it without reading its output. */
  readonly to: string
  /** How much shorter the critical path would be without the edge (measured durations). */
  readonly savingMs: number
  readonly message: string
}

/**
 * Let more tasks run at once.
 *
 * @category models
 * @since 0.1.0
 */
export interface IncreaseParallelism {
  readonly _tag: "IncreaseParallelism"
  readonly achieved: number
  readonly possible: number
  readonly message: string
}

/**
 * A task much slower than the others.
 *
 * @category models
 * @since 0.1.0
 */
export interface SlowTask {
  readonly _tag: "SlowTask"
  readonly taskId: string
  /** Its (average) measured duration. */
  readonly durationMs: number
  /** The median (average) duration of the measured tasks. */
  readonly medianMs: number
  /** The task is on the measured critical path: speeding it up shortens the run. */
  readonly critical: boolean
  readonly message: string
}

/**
 * Give a task a timeout that fits its observed durations.
 *
 * @category models
 * @since 0.1.0
 */
export interface SetTimeout {
  readonly _tag: "SetTimeout"
  readonly taskId: string
  /** The p95 of its measured successful durations. */
  readonly p95Ms: number
  /** The suggested timeout. */
  readonly timeoutMs: number
  /** The timeout the task has now (its own or the workflow's default), if any. */
  readonly currentMs: number | undefined
  readonly message: string
}

/**
 * A task that often needs retries.
 *
 * @category models
 * @since 0.1.0
 */
export interface FrequentRetries {
  readonly _tag: "FrequentRetries"
  readonly taskId: string
  readonly retries: number
  readonly runs: number
  readonly message: string
}

/**
 * One suggestion. `message` says it in a sentence.
 *
 * @category models
 * @since 0.1.0
 */
export type Suggestion = Parallelize | IncreaseParallelism | SlowTask | SetTimeout | FrequentRetries

/**
 * Thresholds of {@link suggest}.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options {
  /** A task is slow above this multiple of the median task. Default 2. */
  readonly slowFactor?: number | undefined
  /** Suggested timeouts are this multiple of the p95 duration. Default 3. */
  readonly timeoutFactor?: number | undefined
  /** A task retries often at this many retries per run on average, or more. Default 1. */
  readonly retriesPerRun?: number | undefined
  /** Suggest more parallelism when possible / achieved is at least this. Default 1.5. */
  readonly parallelismGap?: number | undefined
}

// -----------------------------------------------------------------------------
// Suggestions
// -----------------------------------------------------------------------------

const withoutEdge = (plan: Plan.Plan, from: string, to: string): Plan.Plan => ({
  ...plan,
  nodes: plan.nodes.map((node) =>
    node.id === to
      ? {
        ...node,
        after: node.after.filter((id) => id !== from),
        dependsOn: node.dependsOn.filter((id) => id !== from)
      }
      : node
  ),
  edges: plan.edges.filter((edge) => !(edge.from === from && edge.to === to))
})

const isList = (
  metrics: RunMetrics.RunMetrics | ReadonlyArray<RunMetrics.RunMetrics>
): metrics is ReadonlyArray<RunMetrics.RunMetrics> => Array.isArray(metrics)

/**
 * Suggestions for `plan` from the metrics of one run or of several (durations are then averaged per
 * task, and timeouts use the p95 over all runs). Ordered: order-only dependencies to drop (largest saving
 * first), more parallelism, slow tasks (slowest first), frequent retries, timeouts (in declaration order).
 *
 * @category suggestions
 * @since 0.1.0
 */
export const suggest = (
  plan: Plan.Plan,
  metrics: RunMetrics.RunMetrics | ReadonlyArray<RunMetrics.RunMetrics>,
  options?: Options
): ReadonlyArray<Suggestion> => {
  const runs: ReadonlyArray<RunMetrics.RunMetrics> = isList(metrics) ? metrics : [metrics]
  if (runs.length === 0) return []
  const slowFactor = options?.slowFactor ?? 2
  const timeoutFactor = options?.timeoutFactor ?? 3
  const retriesPerRun = options?.retriesPerRun ?? 1
  const parallelismGap = options?.parallelismGap ?? 1.5
  const stats = new Map(RunMetrics.aggregate(runs).tasks.map((task) => [task.id, task]))
  const out: Array<Suggestion> = []

  // Average measured durations (0 for tasks that never ran) weigh the critical path.
  const durations: Record<string, number> = {}
  for (const node of plan.nodes) durations[node.id] = stats.get(node.id)?.averageMs ?? 0
  const cp = Plan.criticalPath(plan, durations)
  const onPath = new Set(cp.path)

  // Parallel opportunities: order-only edges on the critical path (removing an edge off it cannot shorten it).
  const parallel: Array<Parallelize> = []
  for (const edge of plan.edges) {
    if (edge.kind !== "order" || !onPath.has(edge.from) || !onPath.has(edge.to)) continue
    const shorter = Plan.criticalPath(withoutEdge(plan, edge.from, edge.to), durations)
    const savingMs = cp.length - shorter.length
    if (savingMs <= 0) continue
    parallel.push({
      _tag: "Parallelize",
      from: edge.from,
      to: edge.to,
      savingMs,
      message: `"${edge.to}" waits for "${edge.from}" without reading its output; if the order is not needed, ` +
        `run them in parallel to save about ${formatMs(savingMs)} per run`
    })
  }
  parallel.sort((a, b) => b.savingMs - a.savingMs)
  out.push(...parallel)

  let achieved = 0
  let possible = 0
  for (const run of runs) {
    achieved += run.parallelism.achieved
    possible += run.parallelism.possible
  }
  achieved /= runs.length
  possible /= runs.length
  if (possible >= parallelismGap && ratio(possible, achieved, Infinity) >= parallelismGap) {
    const limit = plan.maxParallel === undefined ? "" : ` (maxParallel is ${plan.maxParallel})`
    out.push({
      _tag: "IncreaseParallelism",
      achieved,
      possible,
      message: `tasks ran ${formatFactor(achieved)} in parallel on average where the graph allows ` +
        `${formatFactor(possible)}: raise maxParallel${limit}, use the dag strategy, or widen resource pools`
    })
  }

  // Slow tasks: above slowFactor x the median of the measured tasks.
  const averages = [...stats.values()].flatMap((task) =>
    task.averageMs === undefined ? [] : [{ id: task.id, ms: task.averageMs }]
  )
  const medianMs = median(averages.map((a) => a.ms))
  if (medianMs !== undefined && medianMs > 0) {
    const slow = averages.filter((a) => a.ms > slowFactor * medianMs).sort((a, b) => b.ms - a.ms)
    for (const { id, ms } of slow) {
      const critical = onPath.has(id)
      out.push({
        _tag: "SlowTask",
        taskId: id,
        durationMs: ms,
        medianMs,
        critical,
        message: `"${id}" takes ${formatMs(ms)}, ${formatFactor(ms / medianMs)} the median task ` +
          `(${formatMs(medianMs)}); ` +
          (critical
            ? "it is on the critical path, so making it faster shortens the run"
            : "it is off the critical path, so it does not lengthen the run yet")
      })
    }
  }

  for (const node of plan.nodes) {
    const task = stats.get(node.id)
    if (task === undefined || task.retries === 0) continue
    if (task.retries / runs.length < retriesPerRun) continue
    const runsText = runs.length === 1 ? "1 run" : `${runs.length} runs`
    out.push({
      _tag: "FrequentRetries",
      taskId: node.id,
      retries: task.retries,
      runs: runs.length,
      message: `"${node.id}" retried ${task.retries} time${task.retries === 1 ? "" : "s"} in ${runsText}: ` +
        "find out why its first attempts fail, or give its retry policy a longer initial delay"
    })
  }

  // Timeouts from the p95 of successful (not cached) durations.
  const successes = new Map<string, Array<number>>()
  for (const run of runs) {
    for (const task of run.tasks) {
      if (task.status !== "completed" || task.cached || task.durationMs === undefined) continue
      let list = successes.get(task.id)
      if (list === undefined) successes.set(task.id, list = [])
      list.push(task.durationMs)
    }
  }
  for (const node of plan.nodes) {
    const list = successes.get(node.id)
    if (list === undefined) continue
    const p95Ms = percentile(list, 95)
    if (p95Ms === undefined || !(p95Ms > 0)) continue
    const timeoutMs = roundUpMs(timeoutFactor * p95Ms)
    const currentMs = node.timeoutMs ?? plan.defaultTimeoutMs
    if (currentMs !== undefined && currentMs >= 1.5 * p95Ms) continue
    out.push({
      _tag: "SetTimeout",
      taskId: node.id,
      p95Ms,
      timeoutMs,
      currentMs,
      message: currentMs === undefined
        ? `"${node.id}" has no timeout: set one of ${formatMs(timeoutMs)} ` +
          `(${timeoutFactor}x its p95 of ${formatMs(p95Ms)}) so a hung call cannot stall the run`
        : `"${node.id}" has a timeout of ${formatMs(currentMs)}, close to its p95 of ${formatMs(p95Ms)}: ` +
          `raise it to ${formatMs(timeoutMs)} (${timeoutFactor}x the p95)`
    })
  }
  return out
}
