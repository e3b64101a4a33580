/**
 * RunMetrics: what a run measured, as a fold over its RunEvents.
 *
 * Per task: status, duration, attempts and retries, the agent used, whether the output came from the
 * cache or a fallback, the error. Per run: status, wall time, counts, success rate, retries, the average,
 * slowest and fastest task, the measured critical path and its bottleneck, the parallelism achieved
 * against the parallelism the graph allows, and the failed tasks with their errors. {@link aggregate}
 * summarises many runs (success rate, average, p50 and p95 duration, per-task statistics).
 *
 * Metrics are computed from events only: {@link collector} (or {@link fromEvents}) folds them with the
 * same `RunState` tracker the engine uses, so there is no second bookkeeping path. {@link track} turns the
 * same events into Effect metrics (counters and histograms with `workflow` and `task` attributes) that
 * any Effect metrics exporter (Prometheus, OTLP) reads.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Engine, Plan, RunMetrics, Workflow } from "@troupe/core"
 *
 * const wf = Workflow.make("pair")
 *   .task("a", () => Effect.succeed(1))
 *   .task("b", { dependsOn: ["a"] }, ({ a }) => Effect.succeed(a + 1))
 *
 * const program = Effect.gen(function*() {
 *   const metrics = RunMetrics.collector(Plan.fromWorkflow(wf))
 *   yield* Engine.run(wf, undefined, { onEvent: metrics.onEvent })
 *   return metrics.snapshot()
 * })
 * const metrics = await Effect.runPromise(program)
 * console.log(metrics.status, metrics.counts.completed) // completed 2
 * ```
 *
 * @since 0.1.0
 */
import { Effect, Metric } from "effect"
import { mean, percentile, ratio } from "./internal/metrics.ts"
import * as Plan from "./Plan.ts"
import type { RunEvent } from "./RunEvent.ts"
import * as RunState from "./RunState.ts"

// -----------------------------------------------------------------------------
// Models
// -----------------------------------------------------------------------------

/**
 * What one task of a run measured.
 *
 * @category models
 * @since 0.1.0
 */
export interface TaskMetrics {
  readonly id: string
  readonly status: RunState.TaskStatus
  /**
   * From the task's first start to its end (every attempt and retry delay); `0` for a cached task;
   * `undefined` for a task that never started.
   */
  readonly durationMs: number | undefined
  readonly startedAt: number | undefined
  readonly finishedAt: number | undefined
  /** Attempts made (0 for a cached task). */
  readonly attempts: number
  readonly retries: number
  /** The agent that ran the task (reported by the run, else the task's `agentType`). */
  readonly agent: string | undefined
  /** The output came from the TaskCache: the handler did not run. */
  readonly cached: boolean
  /** The output came from the task's fallback. */
  readonly fallback: boolean
  /** One line describing the last error (a failed task's error, or the error a fallback replaced). */
  readonly error: string | undefined
  /** Why the task was skipped or cancelled. */
  readonly reason: string | undefined
  /** Tokens the task's agents used (from `AgentUsage` events, nested runs included); absent when none. */
  readonly usage?: TokenUsage | undefined
  /** Tool calls the task's agents made (from `ToolCalled` events, nested runs included); absent when none. */
  readonly tools?: ToolStats | undefined
}

/**
 * Tool calls of a task: how many, how many failed (the error went back to the model, or was fatal), and
 * their summed duration.
 *
 * @category models
 * @since 0.1.0
 */
export interface ToolStats {
  readonly calls: number
  readonly failed: number
  readonly durationMs: number
  /** Calls per tool name, in order of first call. */
  readonly byTool: Readonly<Record<string, number>>
}

/**
 * Tokens used by model calls, and their cost when a price table covers every model involved.
 *
 * @category models
 * @since 0.1.0
 */
export interface TokenUsage {
  /** Model calls counted. */
  readonly calls: number
  readonly inputTokens: number
  readonly outputTokens: number
  /** Input tokens served from the provider's prompt cache (part of `inputTokens`). */
  readonly cachedTokens: number
  /** Input plus output tokens. */
  readonly totalTokens: number
  /**
   * The cost in US dollars from the price table given to the collector; `undefined` without a table, or
   * when a call's model is unknown or missing from it (see `unpriced`).
   */
  readonly costUsd: number | undefined
  /** Models of calls the price table does not cover (`"unknown"` for calls that named no model). */
  readonly unpriced: ReadonlyArray<string>
}

/**
 * The price of one model, in US dollars per million tokens. Cached input tokens are charged at
 * `cachedInputPerMillion` (default: `inputPerMillion`).
 *
 * @category models
 * @since 0.1.0
 */
export interface ModelPrice {
  readonly inputPerMillion: number
  readonly outputPerMillion: number
  readonly cachedInputPerMillion?: number | undefined
}

/**
 * Prices by model name, supplied by the user (prices change; Troupe ships none).
 *
 * @category models
 * @since 0.1.0
 */
export type PriceTable = Readonly<Record<string, ModelPrice>>

/**
 * Token usage of a run: in total, per agent and per model, in order of first use.
 *
 * @category models
 * @since 0.1.0
 */
export interface RunUsage {
  readonly total: TokenUsage
  readonly byAgent: ReadonlyArray<TokenUsage & { readonly agent: string }>
  readonly byModel: ReadonlyArray<TokenUsage & { readonly model: string }>
}

/**
 * A task and a duration.
 *
 * @category models
 * @since 0.1.0
 */
export interface TaskTiming {
  readonly id: string
  readonly durationMs: number
}

/**
 * How much of the run happened in parallel.
 *
 * @category models
 * @since 0.1.0
 */
export interface Parallelism {
  /** The sum of the measured task durations. */
  readonly totalWorkMs: number
  /** The run's wall time. */
  readonly wallMs: number
  /** The length of the critical path with the measured durations. */
  readonly criticalPathMs: number
  /** `totalWorkMs / wallMs`: how many tasks ran at once on average (1 when nothing was measured). */
  readonly achieved: number
  /** `totalWorkMs / criticalPathMs`: the most the graph allows for these durations (1 when empty). */
  readonly possible: number
}

/**
 * What one run measured.
 *
 * @category models
 * @since 0.1.0
 */
export interface RunMetrics {
  /** The plan that ran (shared, not copied). */
  readonly plan: Plan.Plan
  readonly runId: string
  readonly workflow: string
  readonly status: RunState.RunStatus
  readonly startedAt: number | undefined
  readonly finishedAt: number | undefined
  /** Wall time of the run (until the last event seen while it is still running). */
  readonly durationMs: number
  /** Per task, in declaration order. */
  readonly tasks: ReadonlyArray<TaskMetrics>
  readonly counts: RunState.Progress & { readonly cached: number }
  /** Completed tasks over all tasks, 0 to 1 (1 for a workflow without tasks). */
  readonly successRate: number
  readonly totalRetries: number
  /** Average duration of the tasks that ran to an end (completed or failed, not from the cache). */
  readonly averageTaskMs: number | undefined
  readonly slowest: TaskTiming | undefined
  readonly fastest: TaskTiming | undefined
  /** The slowest task on the measured critical path. */
  readonly bottleneck: TaskTiming | undefined
  /** The longest chain of dependent tasks, weighted by measured durations (tasks that never ran weigh 0). */
  readonly criticalPath: { readonly path: ReadonlyArray<string>; readonly durationMs: number }
  readonly parallelism: Parallelism
  /** Failed tasks with their errors, in declaration order. */
  readonly failures: ReadonlyArray<{ readonly id: string; readonly error: string }>
  /** Token usage of the run's agents; absent when no agent reported any. */
  readonly usage?: RunUsage | undefined
}

/**
 * Statistics of one task over many runs.
 *
 * @category models
 * @since 0.1.0
 */
export interface TaskAggregate {
  readonly id: string
  /** Runs in which the task ran to an end (completed or failed, not from the cache). */
  readonly measured: number
  readonly completed: number
  readonly failed: number
  readonly skipped: number
  readonly cached: number
  readonly retries: number
  /** Statistics of the measured durations (`undefined` when the task never ran to an end). */
  readonly averageMs: number | undefined
  readonly p50Ms: number | undefined
  readonly p95Ms: number | undefined
  readonly minMs: number | undefined
  readonly maxMs: number | undefined
}

/**
 * Statistics over many runs.
 *
 * @category models
 * @since 0.1.0
 */
export interface Aggregate {
  readonly runs: number
  readonly completed: number
  readonly failed: number
  readonly cancelled: number
  /** Completed runs over finished runs, 0 to 1 (0 when no run finished). */
  readonly successRate: number
  readonly totalRetries: number
  /** Statistics of the finished runs' wall times. */
  readonly averageMs: number | undefined
  readonly p50Ms: number | undefined
  readonly p95Ms: number | undefined
  readonly minMs: number | undefined
  readonly maxMs: number | undefined
  /** Per task id, in order of first appearance. */
  readonly tasks: ReadonlyArray<TaskAggregate>
  /** Token usage summed over the runs (the workflow's usage); absent when no run reported any. */
  readonly usage?: TokenUsage | undefined
}

/**
 * An incremental fold of a run's events into its metrics. `onEvent` fits `Engine.RunOptions.onEvent`.
 * The collector follows the first run it sees and ignores events of other runs.
 *
 * @category models
 * @since 0.1.0
 */
export interface Collector {
  readonly onEvent: (event: RunEvent) => void
  readonly snapshot: () => RunMetrics
}

// -----------------------------------------------------------------------------
// Constructors
// -----------------------------------------------------------------------------

// -----------------------------------------------------------------------------
// Usage
// -----------------------------------------------------------------------------

/** One model call's tokens, as counted. */
interface Call {
  readonly model: string | undefined
  readonly inputTokens: number
  readonly outputTokens: number
  readonly cachedTokens: number
}

const count = (n: number): number => Number.isFinite(n) && n > 0 ? n : 0

/**
 * The cost of one model call in US dollars, or `undefined` when the table has no price for its model.
 *
 * @category usage
 * @since 0.1.0
 */
export const costOf = (
  call: {
    readonly model?: string | undefined
    readonly inputTokens: number
    readonly outputTokens: number
    readonly cachedTokens?: number | undefined
  },
  prices: PriceTable
): number | undefined => {
  if (call.model === undefined || !Object.hasOwn(prices, call.model)) return undefined
  const price = prices[call.model]!
  const input = count(call.inputTokens)
  const cached = Math.min(input, count(call.cachedTokens ?? 0))
  return ((input - cached) * price.inputPerMillion +
    cached * (price.cachedInputPerMillion ?? price.inputPerMillion) +
    count(call.outputTokens) * price.outputPerMillion) / 1_000_000
}

/** Sums model calls into a `TokenUsage`. */
const usageOf = (calls: ReadonlyArray<Call>, prices: PriceTable | undefined): TokenUsage => {
  let inputTokens = 0
  let outputTokens = 0
  let cachedTokens = 0
  let cost = 0
  const unpriced = new Set<string>()
  for (const call of calls) {
    inputTokens += count(call.inputTokens)
    outputTokens += count(call.outputTokens)
    cachedTokens += count(call.cachedTokens)
    if (prices !== undefined) {
      const c = costOf(call, prices)
      if (c === undefined) unpriced.add(call.model ?? "unknown")
      else cost += c
    }
  }
  return {
    calls: calls.length,
    inputTokens,
    outputTokens,
    cachedTokens,
    totalTokens: inputTokens + outputTokens,
    costUsd: prices === undefined || unpriced.size > 0 ? undefined : cost,
    unpriced: [...unpriced]
  }
}

const groupBy = <T>(items: ReadonlyArray<T>, key: (item: T) => string): Map<string, Array<T>> => {
  const groups = new Map<string, Array<T>>()
  for (const item of items) {
    const k = key(item)
    const group = groups.get(k)
    if (group === undefined) groups.set(k, [item])
    else group.push(item)
  }
  return groups
}

/**
 * Sums token usages (for example of several runs of one workflow). The cost is `undefined` when any part
 * has none.
 *
 * @category usage
 * @since 0.1.0
 */
export const sumUsage = (usages: Iterable<TokenUsage>): TokenUsage => {
  let calls = 0
  let inputTokens = 0
  let outputTokens = 0
  let cachedTokens = 0
  let cost: number | undefined = 0
  const unpriced = new Set<string>()
  for (const usage of usages) {
    calls += usage.calls
    inputTokens += usage.inputTokens
    outputTokens += usage.outputTokens
    cachedTokens += usage.cachedTokens
    cost = cost === undefined || usage.costUsd === undefined ? undefined : cost + usage.costUsd
    for (const model of usage.unpriced) unpriced.add(model)
  }
  return { calls, inputTokens, outputTokens, cachedTokens, totalTokens: inputTokens + outputTokens, costUsd: cost, unpriced: [...unpriced] }
}

/** The `ToolCalled` event inside a (possibly nested) `SubWorkflowEvent`. */
const toolEventOf = (event: RunEvent): Extract<RunEvent, { readonly _tag: "ToolCalled" }> | undefined => {
  let inner: RunEvent = event
  while (inner._tag === "SubWorkflowEvent") inner = inner.event
  return inner._tag === "ToolCalled" ? inner : undefined
}

/** The `AgentUsage` event inside a (possibly nested) `SubWorkflowEvent`. */
const usageEventOf = (event: RunEvent): Extract<RunEvent, { readonly _tag: "AgentUsage" }> | undefined => {
  let inner: RunEvent = event
  while (inner._tag === "SubWorkflowEvent") inner = inner.event
  return inner._tag === "AgentUsage" ? inner : undefined
}

const agentOf = (event: RunEvent): string | undefined =>
  "agent" in event && typeof event.agent === "string" ? event.agent : undefined

/**
 * Starts collecting the metrics of a run of `plan`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const collector = (plan: Plan.Plan, options?: CollectorOptions): Collector => {
  let runId: string | undefined
  let tracker: RunState.Tracker | undefined
  let lastAt: number | undefined
  const agents = new Map<string, string>()
  const fallbackErrors = new Map<string, string>()
  const calls: Array<Call & { readonly agent: string; readonly taskId: string }> = []
  const tools = new Map<string, { calls: number; failed: number; durationMs: number; byTool: Record<string, number> }>()
  const onEvent = (event: RunEvent): void => {
    if (runId === undefined) {
      runId = event.runId
      tracker = RunState.tracker(plan, runId)
    } else if (event.runId !== runId) {
      return
    }
    tracker!.apply(event)
    lastAt = lastAt === undefined ? event.at : Math.max(lastAt, event.at)
    const tool = event._tag === "ToolCalled" || event._tag === "SubWorkflowEvent" ? toolEventOf(event) : undefined
    if (tool !== undefined) {
      const taskId = (event as { readonly taskId: string }).taskId
      let stats = tools.get(taskId)
      if (stats === undefined) {
        stats = { calls: 0, failed: 0, durationMs: 0, byTool: {} }
        tools.set(taskId, stats)
      }
      stats.calls++
      if (tool.outcome !== "success") stats.failed++
      stats.durationMs += Math.max(0, tool.durationMs)
      stats.byTool[tool.tool] = (Object.hasOwn(stats.byTool, tool.tool) ? stats.byTool[tool.tool]! : 0) + 1
    }
    const usage = event._tag === "AgentUsage" || event._tag === "SubWorkflowEvent" ? usageEventOf(event) : undefined
    if (usage !== undefined) {
      // usage inside a sub-workflow counts toward the parent's task that runs it
      calls.push({
        taskId: (event as { readonly taskId: string }).taskId,
        agent: usage.agent,
        model: usage.model,
        inputTokens: usage.inputTokens,
        outputTokens: usage.outputTokens,
        cachedTokens: usage.cachedTokens
      })
    } else if (event._tag === "TaskCompleted" || event._tag === "TaskFailed" || event._tag === "TaskStarted") {
      const agent = agentOf(event)
      if (agent !== undefined) agents.set(event.taskId, agent)
    } else if (event._tag === "TaskFallback") {
      fallbackErrors.set(event.taskId, event.message)
    }
  }
  const snapshot = (): RunMetrics =>
    fromState(plan, (tracker ?? RunState.tracker(plan, "")).snapshot(), {
      agents,
      fallbackErrors,
      lastAt,
      calls,
      tools,
      prices: options?.prices
    })
  return { onEvent, snapshot }
}

/**
 * Options of {@link collector} and {@link fromEvents}.
 *
 * - `prices`: prices by model, to compute the cost of the tokens used (`TokenUsage.costUsd`).
 *
 * @category models
 * @since 0.1.0
 */
export interface CollectorOptions {
  readonly prices?: PriceTable | undefined
}

/**
 * The metrics of a run from its events (for example a journal read back). Events of other runs than the
 * first one seen are ignored.
 *
 * @category constructors
 * @since 0.1.0
 */
export const fromEvents = (plan: Plan.Plan, events: Iterable<RunEvent>, options?: CollectorOptions): RunMetrics => {
  const c = collector(plan, options)
  for (const event of events) c.onEvent(event)
  return c.snapshot()
}

/** How long a task still running has run, up to the last event seen. */
const runningFor = (task: RunState.TaskState, lastAt: number | undefined): number | undefined =>
  task.status === "running" && task.startedAt !== undefined && lastAt !== undefined ? lastAt - task.startedAt : undefined

const isMeasured = (task: TaskMetrics): task is TaskMetrics & { readonly durationMs: number } =>
  (task.status === "completed" || task.status === "failed") && !task.cached && task.durationMs !== undefined

/**
 * The metrics of a run from its folded `RunState` (the same fold `collector` runs). `agents` names the
 * agent that ran a task when the events reported one, `fallbackErrors` the error a task's fallback
 * replaced; `lastAt` bounds the wall time of an unfinished run.
 *
 * @category constructors
 * @since 0.1.0
 */
export const fromState = (
  plan: Plan.Plan,
  state: RunState.RunState,
  options?: {
    readonly agents?: ReadonlyMap<string, string> | undefined
    readonly fallbackErrors?: ReadonlyMap<string, string> | undefined
    readonly lastAt?: number | undefined
    /** Model calls, from `AgentUsage` events. */
    readonly calls?: ReadonlyArray<Call & { readonly agent: string; readonly taskId: string }> | undefined
    /** Tool-call statistics by task id, from `ToolCalled` events. */
    readonly tools?: ReadonlyMap<string, ToolStats> | undefined
    readonly prices?: PriceTable | undefined
  }
): RunMetrics => {
  const nodes = new Map(plan.nodes.map((node) => [node.id, node]))
  const calls = options?.calls ?? []
  const prices = options?.prices
  const callsByTask = groupBy(calls, (call) => call.taskId)
  const tasks: Array<TaskMetrics> = state.tasks.map((task) => ({
    id: task.id,
    status: task.status,
    durationMs: task.durationMs ?? runningFor(task, options?.lastAt),
    startedAt: task.startedAt,
    finishedAt: task.finishedAt,
    attempts: task.attempts,
    retries: task.retries,
    agent: options?.agents?.get(task.id) ?? nodes.get(task.id)?.agentType,
    cached: task.cached === true,
    fallback: task.fallbackUsed === true,
    error: task.error ?? (task.fallbackUsed === true ? options?.fallbackErrors?.get(task.id) : undefined),
    reason: task.reason,
    ...(callsByTask.has(task.id) ? { usage: usageOf(callsByTask.get(task.id)!, prices) } : {}),
    ...(options?.tools?.has(task.id) === true ? { tools: { ...options.tools.get(task.id)! } } : {})
  }))

  const durations: Record<string, number> = {}
  let totalWorkMs = 0
  for (const task of tasks) {
    const d = task.durationMs ?? 0
    durations[task.id] = d
    totalWorkMs += d
  }
  const cp = Plan.criticalPath(plan, durations)
  // Tasks that never ran weigh nothing; drop them from the ends of the path.
  let first = 0
  let last = cp.path.length
  while (first < last && durations[cp.path[first]!] === 0) first++
  while (last > first && durations[cp.path[last - 1]!] === 0) last--
  const path = first === 0 && last === cp.path.length ? cp.path : cp.path.slice(first, last)

  const byId = new Map(tasks.map((task) => [task.id, task]))
  let bottleneck: TaskTiming | undefined
  for (const id of path) {
    const d = byId.get(id)?.durationMs
    if (d !== undefined && d > 0 && (bottleneck === undefined || d > bottleneck.durationMs)) {
      bottleneck = { id, durationMs: d }
    }
  }

  const measured = tasks.filter(isMeasured)
  let slowest: TaskTiming | undefined
  let fastest: TaskTiming | undefined
  for (const task of measured) {
    const timing = { id: task.id, durationMs: task.durationMs }
    if (slowest === undefined || timing.durationMs > slowest.durationMs) slowest = timing
    if (fastest === undefined || timing.durationMs < fastest.durationMs) fastest = timing
  }

  const wallMs = state.durationMs ??
    (state.startedAt !== undefined && options?.lastAt !== undefined ? options.lastAt - state.startedAt : 0)
  const counts = { ...state.progress, cached: tasks.filter((task) => task.cached).length }
  return {
    plan,
    runId: state.runId,
    workflow: state.workflow,
    status: state.status,
    startedAt: state.startedAt,
    finishedAt: state.finishedAt,
    durationMs: wallMs,
    tasks,
    counts,
    successRate: ratio(counts.completed, counts.total),
    totalRetries: tasks.reduce((sum, task) => sum + task.retries, 0),
    averageTaskMs: mean(measured.map((task) => task.durationMs)),
    slowest,
    fastest,
    bottleneck,
    criticalPath: { path, durationMs: cp.length },
    parallelism: {
      totalWorkMs,
      wallMs,
      criticalPathMs: cp.length,
      achieved: ratio(totalWorkMs, wallMs),
      possible: ratio(totalWorkMs, cp.length)
    },
    failures: tasks.flatMap((task) =>
      task.status === "failed" ? [{ id: task.id, error: task.error ?? "unknown error" }] : []
    ),
    ...(calls.length === 0 ? {} : {
      usage: {
        total: usageOf(calls, prices),
        byAgent: [...groupBy(calls, (call) => call.agent)].map(([agent, group]) => ({ agent, ...usageOf(group, prices) })),
        byModel: [...groupBy(calls, (call) => call.model ?? "unknown")].map(([model, group]) => ({
          model,
          ...usageOf(group, prices)
        }))
      }
    })
  }
}

// -----------------------------------------------------------------------------
// Aggregation
// -----------------------------------------------------------------------------

interface TaskAccumulator {
  id: string
  durations: Array<number>
  completed: number
  failed: number
  skipped: number
  cached: number
  retries: number
}

/**
 * Statistics over many runs (of one workflow, typically): runs by status, success rate, the average,
 * p50 and p95 (nearest rank) of finished runs' wall times, and per task its measured durations,
 * failures, retries and cache hits.
 *
 * @category aggregation
 * @since 0.1.0
 */
export const aggregate = (runs: Iterable<RunMetrics>): Aggregate => {
  const walls: Array<number> = []
  let count = 0
  let completed = 0
  let failed = 0
  let cancelled = 0
  let totalRetries = 0
  const perTask = new Map<string, TaskAccumulator>()
  const usages: Array<TokenUsage> = []
  for (const run of runs) {
    count++
    if (run.usage !== undefined) usages.push(run.usage.total)
    if (run.status === "completed") completed++
    else if (run.status === "failed") failed++
    else if (run.status === "cancelled") cancelled++
    if (run.status === "completed" || run.status === "failed" || run.status === "cancelled") walls.push(run.durationMs)
    totalRetries += run.totalRetries
    for (const task of run.tasks) {
      let acc = perTask.get(task.id)
      if (acc === undefined) {
        acc = { id: task.id, durations: [], completed: 0, failed: 0, skipped: 0, cached: 0, retries: 0 }
        perTask.set(task.id, acc)
      }
      if (isMeasured(task)) acc.durations.push(task.durationMs)
      if (task.status === "completed") acc.completed++
      else if (task.status === "failed") acc.failed++
      else if (task.status === "skipped") acc.skipped++
      if (task.cached) acc.cached++
      acc.retries += task.retries
    }
  }
  const finished = completed + failed + cancelled
  return {
    runs: count,
    completed,
    failed,
    cancelled,
    successRate: ratio(completed, finished, 0),
    totalRetries,
    averageMs: mean(walls),
    p50Ms: percentile(walls, 50),
    p95Ms: percentile(walls, 95),
    minMs: walls.length === 0 ? undefined : Math.min(...walls),
    maxMs: walls.length === 0 ? undefined : Math.max(...walls),
    tasks: [...perTask.values()].map((acc) => ({
      id: acc.id,
      measured: acc.durations.length,
      completed: acc.completed,
      failed: acc.failed,
      skipped: acc.skipped,
      cached: acc.cached,
      retries: acc.retries,
      averageMs: mean(acc.durations),
      p50Ms: percentile(acc.durations, 50),
      p95Ms: percentile(acc.durations, 95),
      minMs: acc.durations.length === 0 ? undefined : Math.min(...acc.durations),
      maxMs: acc.durations.length === 0 ? undefined : Math.max(...acc.durations)
    })),
    ...(usages.length === 0 ? {} : { usage: sumUsage(usages) })
  }
}

// -----------------------------------------------------------------------------
// Effect metrics
// -----------------------------------------------------------------------------

/**
 * The Effect metrics a run is exported as. Task metrics carry the attributes `workflow` and `task`; run
 * metrics carry `workflow` and `status` (`completed`, `failed`, `cancelled`).
 *
 * @category metrics
 * @since 0.1.0
 */
export interface Instruments {
  /** Finished runs. */
  readonly runs: Metric.Counter<number>
  /** Wall time of finished runs, in milliseconds. */
  readonly runDuration: Metric.Histogram<number>
  /** Completed tasks (cache hits included). */
  readonly tasksCompleted: Metric.Counter<number>
  /** Completed tasks whose output came from the cache. */
  readonly tasksCached: Metric.Counter<number>
  readonly tasksFailed: Metric.Counter<number>
  /** Retries (one per failed attempt that is tried again). */
  readonly tasksRetried: Metric.Counter<number>
  /** Duration of completed and failed tasks that ran (not cache hits), in milliseconds. */
  readonly taskDuration: Metric.Histogram<number>
}

/**
 * Options of {@link instruments} and {@link track}.
 *
 * @category metrics
 * @since 0.1.0
 */
export interface InstrumentOptions {
  /** Prefix of every metric name. Default `troupe`. */
  readonly prefix?: string | undefined
  /** Histogram bucket boundaries in milliseconds. Default 1 ms to 10 minutes. */
  readonly boundaries?: ReadonlyArray<number> | undefined
  /** Attributes added to every metric (for example a service name). */
  readonly attributes?: Readonly<Record<string, string>> | undefined
}

/**
 * The default histogram boundaries, in milliseconds.
 *
 * @category metrics
 * @since 0.1.0
 */
export const defaultBoundaries: ReadonlyArray<number> = [
  1, 5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000, 120_000, 300_000, 600_000
]

/**
 * The metric definitions, named `<prefix>.runs`, `<prefix>.run.duration_ms`, `<prefix>.tasks.completed`,
 * `<prefix>.tasks.cached`, `<prefix>.tasks.failed`, `<prefix>.tasks.retried` and
 * `<prefix>.task.duration_ms`. Read one series with `Metric.value(Metric.withAttributes(m, attrs))`, or
 * all of them with `Metric.snapshot`.
 *
 * @category metrics
 * @since 0.1.0
 */
export const instruments = (options?: InstrumentOptions): Instruments => {
  const prefix = options?.prefix ?? "troupe"
  const boundaries = options?.boundaries ?? defaultBoundaries
  const attributes = options?.attributes
  const common = attributes === undefined ? {} : { attributes }
  return {
    runs: Metric.counter(`${prefix}.runs`, { description: "Finished workflow runs", incremental: true, ...common }),
    runDuration: Metric.histogram(`${prefix}.run.duration_ms`, {
      description: "Wall time of finished workflow runs, in milliseconds",
      boundaries,
      ...common
    }),
    tasksCompleted: Metric.counter(`${prefix}.tasks.completed`, {
      description: "Completed tasks, cache hits included",
      incremental: true,
      ...common
    }),
    tasksCached: Metric.counter(`${prefix}.tasks.cached`, {
      description: "Tasks completed from the cache",
      incremental: true,
      ...common
    }),
    tasksFailed: Metric.counter(`${prefix}.tasks.failed`, {
      description: "Failed tasks",
      incremental: true,
      ...common
    }),
    tasksRetried: Metric.counter(`${prefix}.tasks.retried`, {
      description: "Task attempts that failed and were tried again",
      incremental: true,
      ...common
    }),
    taskDuration: Metric.histogram(`${prefix}.task.duration_ms`, {
      description: "Duration of tasks that ran (not cache hits), in milliseconds",
      boundaries,
      ...common
    })
  }
}

/**
 * A RunEvent sink (for `Engine.RunOptions.onEvent`, or `Stream.runForEach` over a handle's events) that
 * records every run it sees as Effect metrics (see {@link instruments}) in the metric registry of the
 * context `track` runs in. One sink can watch any number of runs, including concurrent ones. Attach it
 * before a run starts: it learns the run's workflow name from `RunStarted` (without it, the run's
 * series are labelled `workflow=unknown`).
 *
 * @example
 * ```ts
 * import { Effect, Metric } from "effect"
 * import { Engine, RunMetrics, Workflow } from "@troupe/core"
 *
 * const wf = Workflow.make("hello").task("greet", () => Effect.succeed("hi"))
 *
 * const program = Effect.gen(function*() {
 *   const onEvent = yield* RunMetrics.track()
 *   yield* Engine.run(wf, undefined, { onEvent })
 *   return yield* Metric.snapshot
 * })
 * ```
 *
 * @category metrics
 * @since 0.1.0
 */
export const track = (options?: InstrumentOptions): Effect.Effect<(event: RunEvent) => void> =>
  Effect.map(Effect.context<never>(), (context) => {
    const m = instruments(options)
    const workflows = new Map<string, string>()
    const workflowOf = (runId: string) => workflows.get(runId) ?? "unknown"
    const forTask = <I, S>(metric: Metric.Metric<I, S>, runId: string, task: string) =>
      Metric.withAttributes(metric, { workflow: workflowOf(runId), task })
    return (event: RunEvent): void => {
      switch (event._tag) {
        case "RunStarted":
          workflows.set(event.runId, event.workflow)
          return
        case "RunCompleted":
        case "RunFailed":
        case "RunCancelled": {
          const status = event._tag === "RunCompleted"
            ? "completed"
            : event._tag === "RunFailed"
            ? "failed"
            : "cancelled"
          const attributes = { workflow: workflowOf(event.runId), status }
          Metric.withAttributes(m.runs, attributes).updateUnsafe(1, context)
          Metric.withAttributes(m.runDuration, attributes).updateUnsafe(event.durationMs, context)
          workflows.delete(event.runId)
          return
        }
        case "TaskCompleted":
          forTask(m.tasksCompleted, event.runId, event.taskId).updateUnsafe(1, context)
          if (event.cached === true) forTask(m.tasksCached, event.runId, event.taskId).updateUnsafe(1, context)
          else forTask(m.taskDuration, event.runId, event.taskId).updateUnsafe(event.durationMs, context)
          return
        case "TaskFailed":
          forTask(m.tasksFailed, event.runId, event.taskId).updateUnsafe(1, context)
          forTask(m.taskDuration, event.runId, event.taskId).updateUnsafe(event.durationMs, context)
          return
        case "TaskRetrying":
          forTask(m.tasksRetried, event.runId, event.taskId).updateUnsafe(1, context)
          return
        default:
          return
      }
    }
  })
