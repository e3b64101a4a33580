/**
 * @internal The scheduling state of one run (a top-level run or a sub-workflow inside one): what every
 * engine module reads and writes. Per-task data lives in columns indexed by the task's declaration
 * position (typed arrays where they fit); counters and flags are plain fields. The steps that modules call
 * on each other (`becomeReady`, `drain`, `runChild`) are bound by the scheduler when it builds the run, so
 * the modules do not import each other in a circle.
 */
import type { Clock, Context, Effect, Exit, Fiber, Random } from "effect"
import type * as Expression from "../../Expression.ts"
import type { Plan } from "../../Plan.ts"
import type { RunEvent } from "../../RunEvent.ts"
import type * as TaskCache from "../../TaskCache.ts"
import type { TaskHookShape } from "../../TaskHook.ts"
import type { CompensationResult, TaskFailure } from "../../WorkflowError.ts"
import type { GraphIndex } from "../graph.ts"
import type { Compiled, TaskImpl } from "../workflowPlan.ts"
import type { Sink } from "./events.ts"
import type { Gates, ReadyQueue, Shared } from "./gates.ts"
import type { Parked } from "./childRun.ts"
import type { Settings } from "./settings.ts"
import type { Execute } from "./subworkflow.ts"

// Task status, one byte per task.
export const PENDING = 0
export const READY = 1
export const RUNNING = 2
export const COMPLETED = 3
export const FAILED = 4
export const SKIPPED = 5
export const CANCELLED = 6
/** Running its preflight (condition, cache lookup) outside any slot. */
export const PREFLIGHT = 7

/** How a run ended, for `Engine.run`/`start` (and for the parent of a sub-workflow). */
export interface Outcome {
  readonly status: "completed" | "failed" | "cancelled" | "deadline"
  readonly outputs: Record<string, unknown>
  readonly failures: ReadonlyArray<TaskFailure<unknown>>
  readonly completed: ReadonlyArray<string>
  readonly compensations: ReadonlyArray<CompensationResult>
  readonly durationMs: number
}

/** Set by the scheduler: how a run handle cancels its run. */
export interface Control {
  cancel: () => void
  /** Called with the run's state when it starts (a sub-workflow's parent keeps it for its compensations). */
  readonly onRun?: ((run: RunCore) => void) | undefined
}

/** Where a run sits in its top-level run: what a TaskHook sees (`runId`, `workflow`) and the path prefix. */
export interface Scope {
  readonly runId: string
  readonly workflow: string
  /** `""` at the top level; `child/` inside the sub-workflow task `child` (recursively). */
  readonly prefix: string
  readonly shared: Shared
}

/** A preflight's verdict: run the task, skip it, or complete it from the cache. */
export type Verdict =
  | { readonly _tag: "Run" }
  | { readonly _tag: "Skip"; readonly reason: string }
  | { readonly _tag: "Hit"; readonly value: unknown }

export interface RunCore {
  // ---- what runs, and where -------------------------------------------------------------------
  readonly compiled: Compiled
  readonly plan: Plan
  readonly impls: ReadonlyArray<TaskImpl>
  readonly g: GraphIndex
  readonly n: number
  readonly input: unknown
  /** `{ input }`, shared by every task without data dependencies. */
  readonly inputOnly: Record<string, unknown>
  readonly runId: string
  readonly settings: Settings
  readonly scope: Scope
  readonly shared: Shared

  // ---- services, read once --------------------------------------------------------------------
  readonly services: Context.Context<unknown>
  readonly fork: <A, E>(effect: Effect.Effect<A, E, unknown>) => Fiber.Fiber<A, E>
  readonly clock: Clock.Clock
  readonly random: Random.Random
  readonly hook: TaskHookShape | undefined
  readonly tracing: boolean
  readonly cacheActive: boolean
  /**
   * No task of the run has a condition, a retry, a timeout, a breaker or a fallback, and no TaskCache is
   * provided: no task needs a preflight and every task is simple (`stack.isSimple`), without asking each.
   */
  readonly plain: boolean
  readonly language: Expression.Language | undefined
  readonly emit: (event: RunEvent) => void
  /** Reports the two events every task has (`TaskStarted` of its first attempt, `TaskCompleted`). */
  readonly sink: Sink
  readonly now: () => number
  readonly runStart: number

  // ---- per task --------------------------------------------------------------------------------
  readonly status: Uint8Array
  /** Dependencies not settled yet. */
  readonly waiting: Int32Array
  /** Why a task cannot run normally: the id of a failed or skipped dependency. */
  readonly blockedByFailure: Array<string | undefined>
  readonly blockedBySkip: Array<string | undefined>
  readonly outputs: Array<unknown>
  /** A task's context, kept from its preflight to its run, and for its compensation. */
  readonly contexts: Array<Record<string, unknown> | undefined>
  readonly startedAt: Float64Array
  readonly attempts: Int32Array
  readonly fallbackUsed: Uint8Array
  readonly cacheKeys: Array<TaskCache.CacheKey | undefined>
  /** The fiber of a task's preflight or body while it runs. */
  readonly fibers: Array<Fiber.Fiber<unknown, unknown> | undefined>
  readonly completionOrder: Array<number>
  readonly failures: Array<TaskFailure<unknown>>

  // ---- queues ----------------------------------------------------------------------------------
  readonly ready: ReadyQueue
  readonly gates: Gates
  /** Exits waiting for the drain loop, as pairs `(task index, exit)`. */
  readonly completions: Array<number | Exit.Exit<unknown, unknown>>
  readonly preflightResults: Array<number | Exit.Exit<Verdict, unknown>>

  // ---- counters and flags ----------------------------------------------------------------------
  running: number
  settled: number
  preflighting: number
  aborting: string | undefined
  cancelled: boolean
  deadlineHit: boolean
  done: boolean
  draining: boolean
  /** This run freed a slot or units since its last drain: the other runs of the tree may dispatch. */
  freed: boolean
  resume: ((outcome: Outcome) => void) | undefined
  deadlineFiber: Fiber.Fiber<unknown, unknown> | undefined
  /** The fiber running the compensations once the run ended (interruption waits for it). */
  compensating: Fiber.Fiber<unknown, unknown> | undefined
  /** Ready tasks held back by their rate limit, with the time they started waiting. */
  readonly rateWaiting: Map<number, number>
  /** The timer that wakes the run when the earliest rate-limited task may start (`rateTimerAt`). */
  rateTimer: Fiber.Fiber<unknown, unknown> | undefined
  rateTimerAt: number
  expressions: Map<string, Expression.Compiled | Expression.ExpressionIssue> | undefined

  // ---- steps bound by the scheduler ------------------------------------------------------------
  becomeReady: (i: number) => void
  drain: () => void
  runChild: (impl: TaskImpl, ctx: Record<string, unknown>) => Effect.Effect<unknown, unknown, unknown>
  /** The scheduler's entry point, for a workflow a task starts at run time (`childRun.ts`). */
  readonly execute: Execute
  /** Tasks that gave their slot up while their child workflow runs (`childRun.ts`); created on first use. */
  parking: Map<number, Parked> | undefined
  /**
   * The sub-workflow runs its tasks started (static or at run time) that may still owe compensations, in
   * start order (`settlement.adopt`); created on first use.
   */
  children: Array<ChildRun> | undefined
  /** The run's terminal event was emitted (`settlement.conclude`); `onConcluded` waits for it. */
  concluded: boolean
  onConcluded: Array<() => void> | undefined
  /** The run's compensations were run (by itself, or by its parent's): they run once. */
  compensationTaken: boolean
}

/** A sub-workflow run started by task `task` of its parent run. */
export interface ChildRun {
  readonly task: number
  readonly run: RunCore
}

/** Marks a task settled with a final status. */
export const settle = (run: RunCore, i: number, status: number): void => {
  run.status[i] = status
  run.settled++
}

/** The context a task's handler receives: `{ input, ...outputs of its data dependencies }`. */
export const contextFor = (run: RunCore, i: number): Record<string, unknown> => {
  const deps = run.g.dataDeps[i]!
  if (deps.length === 0) return run.inputOnly
  // A null-prototype object: each task's keys differ, and plain literals would each get a hidden class.
  // (On it, a dependency named `__proto__` is an own key like any other.)
  const ctx: Record<string, unknown> = Object.create(null)
  ctx.input = run.input
  const ids = run.g.ids
  const outputs = run.outputs
  for (let k = 0; k < deps.length; k++) ctx[ids[deps[k]!]!] = outputs[deps[k]!]
  return ctx
}

/**
 * Sets an own, enumerable property: a task id such as `__proto__` is a key like any other (a plain
 * assignment would set the object's prototype instead).
 */
export const setOwn = (object: Record<string, unknown>, key: string, value: unknown): void => {
  if (key === "__proto__") {
    Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true })
  } else {
    object[key] = value
  }
}

/** The task's stable path in the top-level run (`child/task` inside sub-workflows). */
export const pathOf = (run: RunCore, i: number): string => run.scope.prefix + run.g.ids[i]!
