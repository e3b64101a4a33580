/**
 * Engine: runs a workflow as an Effect program.
 *
 * The scheduler is event-driven: a task becomes ready the moment its last dependency finishes (never at
 * the end of a dependency level). Ready tasks are dispatched by priority, then by the longest remaining
 * path to a sink, then by declaration order, and never more than `maxParallel` run at once. Every
 * observable step is a RunEvent; run state, progress callbacks and the handle's event stream are folds
 * over them.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Engine, Workflow } from "@troupe/core"
 *
 * const wf = Workflow.make("add")
 *   .task("one", () => Effect.succeed(1))
 *   .task("two", { dependsOn: ["one"] }, ({ one }) => Effect.succeed(one + 1))
 *
 * const result = await Effect.runPromise(Engine.run(wf))
 * console.log(result.outputs.two) // 2
 * ```
 *
 * @since 0.1.0
 */
import { Cause, Clock, Context, Duration, Effect, Exit, Fiber, Option, Queue, Random, type Schema, Stream, Tracer } from "effect"
import { CircuitOpen, type Transition } from "./Breaker.ts"
import { analyze } from "./internal/analysis.ts"
import * as definition from "./internal/definition.ts"
import { bottomLevels, type GraphIndex, index, topo } from "./internal/graph.ts"
import * as Heap from "./internal/heap.ts"
import { type Compiled, compile, type TaskImpl } from "./internal/workflowPlan.ts"
import type { Plan, PlanNode, Strategy } from "./Plan.ts"
import { isTerminal, type RunEvent } from "./RunEvent.ts"
import type * as RunEventNs from "./RunEvent.ts"
import * as RunState from "./RunState.ts"
import * as Expression from "./Expression.ts"
import * as Policy from "./Policy.ts"
import * as TaskCache from "./TaskCache.ts"
import * as Task from "./Task.ts"
import type { TaskInfo } from "./Task.ts"
import { TaskHook } from "./TaskHook.ts"
import { describeCause as safeDescribeCause } from "./internal/engine/describe.ts"
import * as Hub from "./internal/engine/events.ts"
import * as Numbers from "./internal/engine/numbers.ts"
import * as Workflow from "./Workflow.ts"
import {
  type CompensationResult,
  type DefinitionError,
  InvalidDefinition,
  type TaskFailure,
  TaskTimeout,
  WorkflowCancelled,
  WorkflowFailed,
  WorkflowTimeout
} from "./WorkflowError.ts"

// -----------------------------------------------------------------------------
// Models
// -----------------------------------------------------------------------------

/**
 * What a run does when a task fails:
 * - `fail-fast` (default): interrupt running tasks, cancel the rest, fail the run;
 * - `continue`: skip exactly the tasks that depend (transitively) on a failed task, finish everything
 *   else, then fail the run with every failure.
 *
 * @category models
 * @since 0.1.0
 */
export type FailureMode = "fail-fast" | "continue"

/**
 * @category models
 * @since 0.1.0
 */
export interface RunOptions {
  /** Default: the plan's strategy, else `dag`. */
  readonly strategy?: Strategy | undefined
  /** Most tasks running at once. Default: the plan's `maxParallel`, else unbounded. */
  readonly maxParallel?: number | "unbounded" | undefined
  /** Default: `continue` when the plan says `continue_on_failure`, else `fail-fast`. */
  readonly failureMode?: FailureMode | undefined
  /** Called after every event with the progress it produced. */
  readonly onProgress?: ((progress: RunState.Progress, event: RunEvent) => void) | undefined
  /** Called with every event. */
  readonly onEvent?: ((event: RunEvent) => void) | undefined
  /** Default: a random id. */
  readonly runId?: string | undefined
  /** Deadline for the whole run (default: the workflow's). Whatever still runs then is cancelled. */
  readonly deadline?: Duration.Input | undefined
  /** Capacities of named resource pools (default: the workflow's). */
  readonly resources?: Readonly<Record<string, number>> | undefined
  /** Most tasks with the same concurrency key at once (default: the workflow's). */
  readonly perKeyLimit?: number | undefined
  /**
   * Run compensations of completed tasks when a run in `continue` mode ends with failures (fail-fast
   * runs always compensate). Default false.
   */
  readonly compensateOnFailure?: boolean | undefined
  /**
   * How many past events a run handle keeps for subscribers that join late (`Engine.start`): `"all"`
   * (default) or the most recent n (0: none; subscribers see only what happens after they join). Bounds
   * the handle's memory for long runs and large loops.
   */
  readonly replay?: number | "all" | undefined
}

/**
 * A successful run: every task completed or was skipped by a condition.
 *
 * @category models
 * @since 0.1.0
 */
export interface RunResult<Outputs> {
  readonly runId: string
  readonly workflow: string
  readonly outputs: Outputs
  /** The final state: status, attempts, timings, outputs and errors of every task. */
  readonly state: RunState.RunState
  readonly durationMs: number
}

/**
 * A started run.
 *
 * @category models
 * @since 0.1.0
 */
export interface RunHandle<Outputs, E> {
  readonly runId: string
  /** Every event of the run from its start (late subscribers get the past too); ends with the run. */
  readonly events: Stream.Stream<RunEvent>
  readonly state: Effect.Effect<RunState.RunState>
  readonly progress: Effect.Effect<RunState.Progress>
  /** Interrupts running tasks, cancels pending ones; `await` then fails with `WorkflowCancelled`. */
  readonly cancel: Effect.Effect<void>
  readonly await: Effect.Effect<RunResult<Outputs>, WorkflowFailed<E> | WorkflowTimeout | WorkflowCancelled>
}

type Args<W extends Workflow.Any> = [void] extends [Workflow.Input<W>]
  ? [input?: Workflow.Input<W>, options?: RunOptions]
  : [input: Workflow.Input<W>, options?: RunOptions]

// -----------------------------------------------------------------------------
// Scheduler
// -----------------------------------------------------------------------------

type Mutable<A> = { -readonly [K in keyof A]: A[K] }

const PENDING = 0
const READY = 1
const RUNNING = 2
const COMPLETED = 3
const FAILED = 4
const SKIPPED = 5
const CANCELLED = 6
const PREFLIGHT = 7

const Skip: unique symbol = Symbol.for("@troupe/core/Engine/Skip") as never
interface Skip {
  readonly [Skip]: string
}
const skip = (reason: string): Skip => ({ [Skip]: reason })
const isSkip = (u: unknown): u is Skip => typeof u === "object" && u !== null && Skip in u

interface Outcome {
  readonly status: "completed" | "failed" | "cancelled" | "deadline"
  readonly outputs: Record<string, unknown>
  readonly failures: ReadonlyArray<TaskFailure<unknown>>
  readonly completed: ReadonlyArray<string>
  readonly compensations: ReadonlyArray<CompensationResult>
  readonly durationMs: number
}

interface Control {
  cancel: () => void
}

/**
 * What a run shares with its sub-workflows: the top-level run's concurrency limit (handlers at once across
 * the run and every sub-workflow in it), resource pools and per-key counts. Sub-workflow tasks hold no slot
 * themselves: the handlers inside them do.
 */
interface Shared {
  readonly limit: number
  /** The top-level run's per-key limit (a sub-workflow without its own uses it). */
  readonly perKeyLimit: number | undefined
  used: number
  readonly pools: Map<string, number>
  readonly keyRunning: Map<string, number>
  readonly keyServed: Map<string, number>
  dispatchCount: number
  /** The drain loops of the runs in the tree: a slot or units freed in one may let another dispatch. */
  readonly wakers: Set<() => void>
  waking: boolean
  again: boolean
}

const makeShared = (settings: Settings, pools: ReadonlyMap<string, number>): Shared => ({
  limit: settings.maxParallel,
  perKeyLimit: settings.perKeyLimit,
  used: 0,
  pools: new Map(pools),
  keyRunning: new Map(),
  keyServed: new Map(),
  dispatchCount: 0,
  wakers: new Set(),
  waking: false,
  again: false
})

/** Lets the other runs of the tree dispatch after `self` freed a slot or units (iteratively, never nested). */
const wakeOthers = (shared: Shared, self: () => void) => {
  if (shared.wakers.size < 2) return
  if (shared.waking) {
    shared.again = true
    return
  }
  shared.waking = true
  try {
    do {
      shared.again = false
      for (const wake of shared.wakers) if (wake !== self) wake()
    } while (shared.again)
  } finally {
    shared.waking = false
  }
}

/** Where a run sits in its top-level run: what a TaskHook sees (`runId`, `workflow`) and the path prefix. */
interface Scope {
  readonly runId: string
  readonly workflow: string
  /** `""` at the top level; `child/` inside the sub-workflow task `child` (recursively). */
  readonly prefix: string
  readonly shared: Shared
}

const resolveConcurrency = (plan: Plan, options: RunOptions): number => {
  const strategy = options.strategy ?? plan.strategy ?? "dag"
  const chosen = strategy === "auto" ? analyze(plan).recommended.strategy : strategy
  if (chosen === "sequential") return 1
  // A declared limit (the run's, else the workflow's) always holds, whatever the strategy: `parallel` means
  // "no limit" only when none was declared.
  const max = options.maxParallel ?? plan.maxParallel
  return max === undefined || max === "unbounded" ? Infinity : Math.max(1, Math.floor(max))
}

/** The ready queue: node indices ordered by priority, remaining path, declaration order. */
const makeReadyQueue = (priority: Int8Array, remaining: Float64Array) => {
  const before = (a: number, b: number) =>
    priority[a] !== priority[b]
      ? priority[a]! > priority[b]!
      : remaining[a] !== remaining[b]
      ? remaining[a]! > remaining[b]!
      : a < b
  return Object.assign(Heap.make(before), { before })
}

/**
 * One line describing the error in a Cause: never throws, whatever the error (no prototype, a throwing
 * `toString`, a Proxy, very deep values).
 *
 * @category utils
 * @since 0.1.0
 */
export const describeCause: (cause: Cause.Cause<unknown>) => string = safeDescribeCause

/**
 * Sets an own, enumerable property: a task id such as `__proto__` is a key like any other (a plain
 * assignment would set the object's prototype instead).
 */
const setOwn = (object: Record<string, unknown>, key: string, value: unknown): void => {
  if (key === "__proto__") {
    Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true })
  } else {
    object[key] = value
  }
}

let runCounter = 0
const newRunId = (): string =>
  `run-${Date.now().toString(36)}-${(runCounter++).toString(36)}-${Math.random().toString(36).slice(2, 8)}`

interface Settings {
  readonly maxParallel: number
  readonly failFast: boolean
  readonly compensateOnFailure: boolean
  readonly deadlineMs: number | undefined
  readonly resources: Readonly<Record<string, number>> | undefined
  readonly perKeyLimit: number | undefined
}

const settingsOf = (plan: Plan, options: RunOptions): Settings => {
  const failFast = (options.failureMode ?? (plan.continueOnFailure ? "continue" : "fail-fast")) === "fail-fast"
  const deadline = options.deadline === undefined
    ? plan.deadlineMs
    : Duration.toMillis(Duration.fromInputUnsafe(options.deadline))
  return {
    maxParallel: resolveConcurrency(plan, options),
    failFast,
    compensateOnFailure: failFast || options.compensateOnFailure === true,
    deadlineMs: deadline,
    resources: options.resources ?? plan.resources,
    perKeyLimit: options.perKeyLimit ?? plan.perKeyLimit
  }
}

/** Resource requests that can never be met are definition errors, found before the run starts. */
const checkResources = (
  plan: Plan,
  pools: ReadonlyMap<string, number>,
  perKeyLimit: number | undefined,
  at: Where
): Effect.Effect<void, InvalidDefinition> => {
  const limit = perKeyLimit
  if (limit !== undefined && !(limit >= 1)) {
    const keyed = plan.nodes.findIndex((node) => node.concurrencyKey !== undefined || node.concurrencyKeyComputed)
    if (keyed >= 0) {
      return Effect.fail(
        new InvalidDefinition({
          path: "perKeyLimit",
          taskId: at.taskPrefix + plan.nodes[keyed]!.id,
          reason: `must be at least 1 when tasks have a concurrencyKey, got ${limit}`
        })
      )
    }
  }
  for (let i = 0; i < plan.nodes.length; i++) {
    const node = plan.nodes[i]!
    const requests = node.resources
    if (requests === undefined) continue
    for (const pool of Object.keys(requests)) {
      const units = requests[pool]!
      // Pools are looked up in a Map: a pool named "toString" or "__proto__" is a name like any other.
      const capacity = pools.get(pool)
      const path = `${at.pathPrefix}tasks[${i}].resources.${pool}`
      if (capacity === undefined) {
        return Effect.fail(
          new InvalidDefinition({
            path,
            taskId: at.taskPrefix + node.id,
            reason: `unknown resource pool "${pool}"; pools: [${[...pools.keys()].join(", ")}]`
          })
        )
      }
      if (!(units >= 0) || units > capacity) {
        return Effect.fail(
          new InvalidDefinition({
            path,
            taskId: at.taskPrefix + node.id,
            reason: `requests ${units} ${pool} but the pool holds ${capacity}`
          })
        )
      }
    }
  }
  return Effect.void
}

/** Where a (sub-)workflow sits, for error paths: `tasks[2].workflow.` and `sub/`. */
interface Where {
  readonly pathPrefix: string
  readonly taskPrefix: string
}

/**
 * The scheduler. Runs the compiled workflow and reports every event through `emit`.
 */
const execute = (
  compiled: Compiled,
  input: unknown,
  settings: Settings,
  runId: string,
  emit: (event: RunEvent) => void,
  control: Control,
  scope: Scope
): Effect.Effect<Outcome, never, unknown> =>
  Effect.withFiber((parent) => {
    const { plan, impls } = compiled
    const services = parent.context as Context.Context<unknown>
    const fork = Effect.runForkWith(services)
    const clock = parent.getRef(Clock.Clock)
    const random = parent.getRef(Random.Random)
    // The installed TaskHook (durable runs): it wraps each leaf task's stack. None: the fast paths stay.
    const hook = parent.getRef(TaskHook)
    const now = () => clock.currentTimeMillisUnsafe()
    const g: GraphIndex = index(plan)
    const n = g.size
    const order = topo(g) ?? []
    const weights = (i: number) => plan.nodes[i]!.estimatedDurationMs ?? 1
    const remainingPath = bottomLevels(g, order, weights)
    const priority = new Int8Array(n)
    for (let i = 0; i < n; i++) priority[i] = plan.nodes[i]!.priority
    const ready = makeReadyQueue(priority, remainingPath)
    const { failFast, maxParallel } = settings

    // Resource pools and per-key limits gate dispatch; without them the fast path pops the heap.
    const shared = scope.shared
    const { pools, keyRunning, keyServed } = shared
    const perKeyLimit = settings.perKeyLimit ?? shared.perKeyLimit ?? Infinity
    const gated = plan.nodes.some((node) =>
      (node.resources !== undefined && Object.keys(node.resources).length > 0) ||
      ((node.concurrencyKey !== undefined || node.concurrencyKeyComputed === true) && perKeyLimit !== Infinity)
    )
    // Each task's concurrency key: static from the plan, or computed from its context when it is ready.
    const keys: Array<string | undefined> = gated ? plan.nodes.map((node) => node.concurrencyKey) : []
    // Whether a task's handler holds one of the tree's shared slots (a sub-workflow task does not).
    const holdsSlot = (i: number) => impls[i]!.child === undefined
    // Set when this run freed a slot or units: the other runs of the tree may dispatch.
    let freed = false

    const status = new Uint8Array(n)
    const waiting = new Int32Array(n)
    for (let i = 0; i < n; i++) waiting[i] = g.preds[i]!.length
    // Why a task cannot run normally: the id of a failed or skipped dependency.
    const blockedByFailure: Array<string | undefined> = new Array(n)
    const blockedBySkip: Array<string | undefined> = new Array(n)
    const outputs: Array<unknown> = new Array(n)
    const contexts: Array<Record<string, unknown> | undefined> = new Array(n)
    const startedAt = new Float64Array(n)
    const attempts = new Int32Array(n)
    const fallbackUsed = new Uint8Array(n)
    const cacheKeys: Array<TaskCache.CacheKey | undefined> = new Array(n)
    const cacheActive = Option.isSome(Context.getOption(services, TaskCache.TaskCache))
    // Tasks with a condition or a cache lookup pass a preflight before they queue for a slot.
    const needsPreflight = (i: number): boolean => {
      const impl = impls[i]!
      return impl.when !== undefined || impl.node.condition !== undefined ||
        (cacheActive && impl.cache !== false)
    }
    let preflighting = 0
    const fibers: Array<Fiber.Fiber<unknown, unknown> | undefined> = new Array(n)
    const completionOrder: Array<number> = []
    const failures: Array<TaskFailure<unknown>> = []
    let running = 0
    let settled = 0
    let aborting: string | undefined
    let cancelled = false
    let deadlineHit = false
    let done = false
    let resume: ((outcome: Outcome) => void) | undefined
    let deadlineFiber: Fiber.Fiber<unknown, unknown> | undefined
    const runStart = now()

    // ---- task execution -------------------------------------------------------------------------

    // Dependency-aware cache keys: a dependency counts by its own cache key (so changing it re-runs every
    // dependant), or by its output when it was not cached.
    const dependencyKeys = (i: number): Record<string, unknown> => {
      const keys: Record<string, unknown> = {}
      for (const j of g.preds[i]!) {
        const key = cacheKeys[j]
        setOwn(keys, g.ids[j]!, key === undefined ? { output: outputs[j] } : { key: key.hash })
      }
      return keys
    }

    const inputOnly: Record<string, unknown> = Object.freeze({ input })
    const contextFor = (i: number): Record<string, unknown> => {
      const deps = g.dataDeps[i]!
      if (deps.length === 0) return inputOnly
      // A null-prototype object: each task's keys differ, and plain literals would each get a hidden class.
      const ctx: Record<string, unknown> = Object.create(null)
      ctx.input = input
      for (let k = 0; k < deps.length; k++) ctx[g.ids[deps[k]!]!] = outputs[deps[k]!]
      return ctx
    }

    /**
     * Runs `effect` in its own fiber and waits for it at most `ms`. On timeout the fiber is asked to
     * stop and the wait ends at once, even if the fiber is inside an uninterruptible region (it then
     * finishes that region in the background and its result is discarded).
     */
    const detachedTimeout = (
      effect: Effect.Effect<unknown, unknown, unknown>,
      ms: number,
      onTimeout: () => unknown
    ): Effect.Effect<unknown, unknown, unknown> =>
      Effect.withFiber((fiber) =>
        Effect.callback<unknown, unknown>((resumeAttempt) => {
          const child = Effect.runForkWith(fiber.context as Context.Context<unknown>)(effect)
          child.addObserver((exit) => resumeAttempt(exit))
          return Effect.sync(() => child.interruptUnsafe())
        }).pipe(Effect.timeoutOrElse({ duration: Duration.millis(ms), orElse: () => Effect.fail(onTimeout()) }))
      )

    /** One attempt and nothing around it: no breaker, timeout, retry, fallback or cache store. */
    const isSimple = (i: number): boolean => {
      const impl = impls[i]!
      const node = impl.node
      return impl.breaker === undefined && node.attemptTimeoutMs === undefined &&
        (impl.retry ?? compiled.retry) === undefined && (node.timeoutMs ?? plan.defaultTimeoutMs) === undefined &&
        impl.fallback === undefined && cacheKeys[i] === undefined
    }

    /**
     * For a simple task declared inline, when no tracer wants a span: calls the handler here. A handler
     * that returns an already-finished Effect (`Effect.succeed`, `Effect.fail`, `Effect.void`) or a plain
     * value completes without a fiber; otherwise the Effect it returned is what the fiber runs.
     */
    const direct = (i: number): Exit.Exit<unknown, unknown> | Effect.Effect<unknown, unknown, unknown> | undefined => {
      const impl = impls[i]!
      if (tracing || hook !== undefined || impl.handler === undefined || !isSimple(i)) return undefined
      // A handler that declares no parameter (`() => ...`) cannot read the context: it is not built.
      const ctx = impl.handler.length === 0 && impl.compensate === undefined
        ? inputOnly
        : contexts[i] ?? contextFor(i)
      contexts[i] = impl.compensate === undefined ? undefined : ctx
      try {
        const result: unknown = impl.handler(ctx as never)
        if (Exit.isExit(result)) return result
        // Anything else that is not a plain value (an Effect to run, a Promise) goes the usual way.
        if (typeof result === "object" && result !== null) return Task.fromHandler(impl.node.id, () => result)
        return Exit.succeed(result)
      } catch (defect) {
        // A handler that throws, or returns a value that throws when looked at (a hostile Proxy).
        return Exit.die(defect)
      }
    }

    const taskEffect = (i: number): Effect.Effect<unknown, unknown, unknown> => {
      const impl: TaskImpl = impls[i]!
      const node = impl.node
      const ctx = contexts[i] ?? contextFor(i)
      // Kept only for the compensation, which receives the context the task ran with.
      contexts[i] = impl.compensate === undefined ? undefined : ctx
      const breaker = impl.breaker
      const path = scope.prefix + node.id
      const info = (attempt: number): TaskInfo => ({
        workflow: plan.name,
        runId,
        node,
        path,
        attempt,
        breakerChanged: (breaker, transition) =>
          emit({ _tag: "BreakerStateChanged", runId, at: now(), breaker, taskId: node.id, ...transition }),
        emit: (report) => emit({ ...report, runId, at: now(), taskId: node.id } as RunEvent),
        iteration: (iteration, status, message) =>
          emit({
            _tag: "TaskIteration",
            runId,
            at: now(),
            taskId: node.id,
            iteration,
            status,
            ...(message === undefined ? {} : { message })
          })
      })
      // Handlers declared inline take only the context: they get no TaskInfo (one object less per task).
      const call = (k: number): Effect.Effect<unknown, unknown, unknown> =>
        impl.child !== undefined
          ? runChild(impl, ctx)
          : impl.run(ctx as never, impl.run.length < 2 ? undefined as never : info(k))

      const policy = impl.retry ?? compiled.retry
      const timeoutMs = node.timeoutMs ?? plan.defaultTimeoutMs
      const key = cacheKeys[i]
      // The TaskHook wraps the stack of a leaf task (not sub-workflows, whose tasks are wrapped, nor
      // composite tasks, which call the hook per execution), inside the cache store.
      const hooked = hook !== undefined && impl.child === undefined && impl.composite !== true
        ? (effect: Effect.Effect<unknown, unknown, unknown>) =>
          hook.around({ runId: scope.runId, workflow: scope.workflow, path, taskId: node.id }, effect)
        : undefined
      if (isSimple(i)) {
        // The common case: one attempt, nothing around it (`run` builds its Effect lazily; a throw while
        // building it is caught by `dispatch`).
        const once = impl.child !== undefined
          ? runChild(impl, ctx)
          : hooked !== undefined
          ? hooked(Effect.suspend(() => impl.run(ctx as never, impl.run.length < 2 ? undefined as never : info(1))))
          : impl.run(ctx as never, impl.run.length < 2 ? undefined as never : info(1))
        return spanned(once, node.id)
      }

      const attemptTimeoutMs = node.attemptTimeoutMs
      const timed = (k: number): Effect.Effect<unknown, unknown, unknown> =>
        attemptTimeoutMs === undefined
          ? call(k)
          : detachedTimeout(call(k), attemptTimeoutMs, () =>
            new TaskTimeout({ taskId: node.id, timeoutMs: attemptTimeoutMs, scope: "attempt" }))

      // The breaker sees the whole attempt, timeout included: a hanging dependency counts as a failure.
      const reportTransition = (change: Transition | undefined) => {
        if (change !== undefined) {
          emit({ _tag: "BreakerStateChanged", runId, at: now(), breaker: breaker!.name, taskId: node.id, ...change })
        }
      }
      const guarded = breaker === undefined ? timed : (k: number) =>
        Effect.suspend(() => {
          const permit = breaker.tryAcquire(now())
          reportTransition(permit.transition)
          if (!permit.allowed) {
            return Effect.fail(
              new CircuitOpen({ breaker: breaker.name, taskId: node.id, retryAfterMs: permit.retryAfterMs })
            )
          }
          return timed(k).pipe(Effect.onExit((exit) =>
            Effect.sync(() => {
              if (Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause)) return breaker.release()
              reportTransition(breaker.record(now(), Exit.isSuccess(exit)))
            })
          ))
        })

      const attempt = (k: number): Effect.Effect<unknown, unknown, unknown> =>
        Effect.suspend(() => {
          attempts[i] = k
          if (k > 1) emit({ _tag: "TaskStarted", runId, at: now(), taskId: node.id, attempt: k })
          return guarded(k)
        })

      let body: Effect.Effect<unknown, unknown, unknown> = attempt(1)
      if (policy !== undefined) {
        const retriesByRule: Array<number> = []
        const loop = (k: number): Effect.Effect<unknown, unknown, unknown> =>
          attempt(k).pipe(Effect.catchCause((cause) => {
            if (Cause.hasInterruptsOnly(cause)) return Effect.failCause(cause)
            const error = Option.getOrUndefined(Cause.findErrorOption(cause))
            const draw = random.nextDoubleUnsafe()
            let decision: ReturnType<typeof Policy.decide>
            try {
              decision = Policy.decide(policy, error, retriesByRule, draw)
            } catch {
              // The error cannot be inspected (a getter or Proxy trap throws): it is retried as an error
              // that matches no rule and suggests no delay would be; the original failure is kept.
              try {
                decision = Policy.decide(policy, undefined, retriesByRule, draw)
              } catch {
                return Effect.failCause(cause)
              }
            }
            if (decision._tag === "Stop") return Effect.failCause(cause)
            retriesByRule[decision.rule] = (retriesByRule[decision.rule] ?? 0) + 1
            emit({
              _tag: "TaskRetrying",
              runId,
              at: now(),
              taskId: node.id,
              attempt: k,
              delayMs: decision.delayMs,
              message: describeCause(cause)
            })
            return Effect.sleep(Duration.millis(decision.delayMs)).pipe(Effect.andThen(loop(k + 1)))
          }))
        body = loop(1)
      }
      if (timeoutMs !== undefined) {
        body = detachedTimeout(body, timeoutMs, () => new TaskTimeout({ taskId: node.id, timeoutMs, scope: "task" }))
      }
      const fallback = impl.fallback
      if (fallback !== undefined) {
        const primary = body
        body = primary.pipe(Effect.catchCause((cause) => {
          if (Cause.hasInterruptsOnly(cause)) return Effect.failCause(cause)
          emit({ _tag: "TaskFallback", runId, at: now(), taskId: node.id, message: describeCause(cause) })
          fallbackUsed[i] = 1
          const error = Option.getOrUndefined(Cause.findErrorOption(cause))
          return fallback(error, ctx as never)
        }))
      }
      if (hooked !== undefined) body = hooked(body)
      if (key !== undefined) {
        const cachePolicy = impl.cache === false ? undefined : impl.cache
        const ttl = cachePolicy?.ttl
        const schema = cachePolicy?.output
        body = body.pipe(Effect.tap((value) =>
          fallbackUsed[i] === 1
            ? Effect.void
            : schema === undefined
            ? TaskCache.store(key, value, ttl === undefined ? {} : { ttl })
            : TaskCache.store(key, value as never, { schema: schema as never, ...(ttl === undefined ? {} : { ttl }) })
        ))
      }
      return spanned(body, node.id)
    }

    // Each task runs in a span `<workflow>.<task>` when a tracer is installed (with Effect's built-in
    // tracer, which records nowhere, the spans would be pure overhead on the per-task path).
    const tracing = parent.getRef(Tracer.Tracer) !== Tracer.nativeTracer
    const spanned = (effect: Effect.Effect<unknown, unknown, unknown>, taskId: string) =>
      tracing
        ? Effect.withSpan(effect, `${plan.name}.${taskId}`, {
          attributes: { "troupe.workflow": plan.name, "troupe.task": taskId, "troupe.run": runId },
          captureStackTrace: false
        })
        : effect

    const runChild = (impl: TaskImpl, ctx: Record<string, unknown>) => {
      const child = impl.child!
      const childInput = child.input === undefined ? undefined : child.input(ctx as never)
      // Prepared (validated, pools and checks) with the top-level run, before anything ran.
      const childCompiled = compile(child.workflow)
      const childRunId = `${runId}/${impl.node.id}`
      const forward = (event: RunEvent) =>
        emit({ _tag: "SubWorkflowEvent", runId, at: event.at, taskId: impl.node.id, event })
      return execute(childCompiled, childInput, childSettings(childCompiled.plan), childRunId, forward, {
        cancel: () => {}
      }, { ...scope, prefix: `${scope.prefix}${impl.node.id}/` }).pipe(
        Effect.flatMap((outcome) =>
          outcome.status === "completed"
            ? Effect.succeed(outcome.outputs)
            : Effect.fail(
              new WorkflowFailed({
                workflow: childCompiled.plan.name,
                runId: childRunId,
                failures: outcome.failures,
                completed: outcome.completed,
                outputs: outcome.outputs,
                compensations: outcome.compensations
              })
            )
        )
      )
    }

    // ---- bookkeeping ------------------------------------------------------------------------------

    // Completions are processed by one loop (a trampoline), so tasks that finish synchronously do not
    // recurse through dispatch.
    const completions: Array<number | Exit.Exit<unknown, unknown>> = []
    let draining = false

    const settle = (i: number, st: number) => {
      status[i] = st
      settled++
    }

    // Releases the dependants of a finished task; tasks that become blocked are skipped in turn
    // (iteratively: a long chain of skips must not grow the stack).
    const release = (first: number) => {
      let stack: Array<number> | undefined
      for (let v: number | undefined = first; v !== undefined; v = stack?.pop()) {
        const id = g.ids[v]!
        const st = status[v]
        // A task skipped because something upstream failed passes that failure on: `continue` skips
        // exactly the failed tasks' descendants, even through tasks marked runIfSkipped.
        const failedUpstream = st === FAILED ? id : st === SKIPPED ? blockedByFailure[v] : undefined
        for (const s of g.succs[v]!) {
          // A task whose condition is an expression over `results` decides for itself about the tasks it
          // only reads through the expression (its order dependencies): their failure or skip is visible
          // to the expression as a status, not a reason to skip.
          if (
            (failedUpstream !== undefined || st === SKIPPED) &&
            !(plan.nodes[s]!.condition?._tag === "Expression" && !plan.nodes[s]!.dependsOn.includes(id))
          ) {
            if (failedUpstream !== undefined && blockedByFailure[s] === undefined) blockedByFailure[s] = failedUpstream
            if (st === SKIPPED && blockedBySkip[s] === undefined) blockedBySkip[s] = id
          }
          if (--waiting[s] !== 0 || status[s] !== PENDING) continue
          if (aborting !== undefined) continue
          const failedDep = blockedByFailure[s]
          const skippedDep = blockedBySkip[s]
          if (failedDep !== undefined || (skippedDep !== undefined && !plan.nodes[s]!.runIfSkipped)) {
            settle(s, SKIPPED)
            const reason = failedDep !== undefined
              ? `dependency "${failedDep}" failed`
              : `dependency "${skippedDep}" was skipped`
            emit({ _tag: "TaskSkipped", runId, at: now(), taskId: g.ids[s]!, reason })
            ;(stack ??= []).push(s)
          } else {
            becomeReady(s)
          }
        }
      }
    }

    // ---- preflight: condition, then cache lookup, outside any concurrency slot ----------------------

    type Verdict =
      | { readonly _tag: "Run" }
      | { readonly _tag: "Skip"; readonly reason: string }
      | { readonly _tag: "Hit"; readonly value: unknown }
    const Run: Verdict = { _tag: "Run" }
    const preflightResults: Array<number | Exit.Exit<Verdict, unknown>> = []

    const preflight = (i: number): Effect.Effect<Verdict, unknown, unknown> => {
      const impl = impls[i]!
      const node = impl.node
      const ctx = contextFor(i)
      contexts[i] = ctx
      const lookup = (): Effect.Effect<Verdict, unknown, unknown> => {
        if (!cacheActive || impl.cache === false) return Effect.succeed(Run)
        const policy = impl.cache
        const key = policy?.key !== undefined
          ? TaskCache.CacheKey.fromValue({ workflow: plan.name, taskId: node.id, value: policy.key(ctx as never) })
          : TaskCache.CacheKey.make({
            workflow: plan.name,
            taskId: node.id,
            description: node.description,
            parameters: node.parameters,
            capabilities: node.capabilities,
            skills: node.skills,
            version: policy?.version,
            input,
            dependencyOutputs: policy?.includeDependencies === false ? undefined : dependencyKeys(i)
          })
        cacheKeys[i] = key
        const found = policy?.output === undefined
          ? TaskCache.lookup(key)
          : TaskCache.lookup(key, policy.output as Schema.Codec<unknown, unknown>)
        return Effect.map(found, (value): Verdict => Option.isSome(value) ? { _tag: "Hit", value: value.value } : Run)
      }
      const condition = node.condition
      if (condition?._tag === "TaskCompleted") {
        const j = g.indexOf.get(condition.taskId)
        return j !== undefined && status[j] === COMPLETED
          ? lookup()
          : Effect.succeed({ _tag: "Skip", reason: `condition: task "${condition.taskId}" did not complete` })
      }
      if (condition?._tag === "Expression") {
        return Effect.suspend(() => {
          const verdict = evaluateExpression(condition.source)
          if (typeof verdict === "boolean") {
            return verdict ? lookup() : Effect.succeed({ _tag: "Skip", reason: `condition false: ${condition.source}` })
          }
          return Effect.fail(
            new InvalidDefinition({ path: "condition", taskId: node.id, reason: verdict.message })
          )
        })
      }
      if (impl.when !== undefined) {
        const when = impl.when as (ctx: unknown) => boolean | Effect.Effect<boolean, never, unknown>
        return Effect.suspend(() => {
          const verdict = when(ctx)
          const decide = (ok: boolean): Effect.Effect<Verdict, unknown, unknown> =>
            ok ? lookup() : Effect.succeed({ _tag: "Skip", reason: "condition was false" })
          return typeof verdict === "boolean" ? decide(verdict) : Effect.flatMap(verdict, decide)
        })
      }
      return lookup()
    }

    const language = parent.getRef(Expression.ExpressionLanguage)
    const compiledExpressions = new Map<string, Expression.Compiled | Expression.ExpressionIssue>()
    const evaluateExpression = (source: string): boolean | Expression.ExpressionIssue => {
      if (language === undefined) {
        return { message: "condition expressions need an expression language layer (e.g. @troupe/cel's Cel.layer)" }
      }
      let compiledExpression = compiledExpressions.get(source)
      if (compiledExpression === undefined) {
        compiledExpression = language.compile(source, g.ids)
        compiledExpressions.set(source, compiledExpression)
      }
      if (Expression.isIssue(compiledExpression)) return compiledExpression
      const results: Record<string, { status: string; output?: unknown }> = {}
      for (let j = 0; j < n; j++) {
        const st = status[j]
        if (st === COMPLETED) setOwn(results, g.ids[j]!, { status: "completed", output: outputs[j] })
        else if (st === FAILED) setOwn(results, g.ids[j]!, { status: "failed" })
        else if (st === SKIPPED) setOwn(results, g.ids[j]!, { status: "skipped" })
      }
      return compiledExpression.evaluate({ input, results })
    }

    function becomeReady(i: number) {
      const keyOf = impls[i]!.keyOf
      if (gated && keyOf !== undefined) {
        const ctx = contexts[i] ?? contextFor(i)
        contexts[i] = ctx
        try {
          keys[i] = keyOf(ctx as never)
        } catch (defect) {
          // A key function that throws fails its task (as a failed preflight would).
          status[i] = PREFLIGHT
          preflighting++
          preflightResults.push(i, Exit.die(defect))
          return
        }
      }
      if (!needsPreflight(i)) {
        status[i] = READY
        ready.push(i)
        return
      }
      status[i] = PREFLIGHT
      preflighting++
      // Built lazily: a cache key function that throws, or a value too deep to hash, fails this task only.
      forkInto(i, Effect.suspend(() => preflight(i)), preflightResults)
    }

    /**
     * Runs task `i`'s effect (its preflight or its body) in a fiber of its own and queues the exit for the
     * drain loop: at once when the effect finished synchronously, else when the fiber ends, unless an abort
     * settled the task first.
     */
    function forkInto<A>(
      i: number,
      effect: Effect.Effect<A, unknown, unknown>,
      results: Array<number | Exit.Exit<A, unknown>>
    ) {
      const fiber = fork(effect)
      const exit = fiber.pollUnsafe()
      if (exit !== undefined) {
        results.push(i, exit)
        return
      }
      fibers[i] = fiber as Fiber.Fiber<unknown, unknown>
      fiber.addObserver((exit) => {
        if (fibers[i] !== fiber) return // settled already (cancelled by an abort)
        fibers[i] = undefined
        results.push(i, exit)
        guarded(drain)
      })
    }

    const finishPreflight = (i: number, exit: Exit.Exit<Verdict, unknown>) => {
      preflighting--
      const node = plan.nodes[i]!
      if (Exit.isFailure(exit)) {
        // A condition or cache lookup that fails is the task's failure (it never took a slot).
        startedAt[i] = now()
        return finishTask(i, exit, false)
      }
      const verdict = exit.value
      if (verdict._tag === "Run") {
        status[i] = READY
        ready.push(i)
        return
      }
      const at = now()
      if (verdict._tag === "Skip") {
        settle(i, SKIPPED)
        emit({ _tag: "TaskSkipped", runId, at, taskId: node.id, reason: verdict.reason })
      } else {
        outputs[i] = verdict.value
        settle(i, COMPLETED)
        completionOrder.push(i)
        emit({ _tag: "TaskCached", runId, at, taskId: node.id, hash: cacheKeys[i]!.hash })
        emit({
          _tag: "TaskCompleted",
          runId,
          at,
          taskId: node.id,
          attempts: 0,
          durationMs: 0,
          output: verdict.value,
          cached: true
        })
      }
      release(i)
    }

    const holds = (i: number, sign: 1 | -1) => {
      const node = plan.nodes[i]!
      if (node.resources !== undefined) {
        for (const pool in node.resources) pools.set(pool, pools.get(pool)! - sign * node.resources[pool]!)
      }
      const key = keys[i]
      if (key !== undefined) keyRunning.set(key, (keyRunning.get(key) ?? 0) + sign)
    }

    const fits = (i: number): boolean => {
      const node = plan.nodes[i]!
      if (node.resources !== undefined) {
        for (const pool in node.resources) if (pools.get(pool)! < node.resources[pool]!) return false
      }
      const key = keys[i]
      return key === undefined || (keyRunning.get(key) ?? 0) < perKeyLimit
    }

    /**
     * Picks the next task when pools or keys gate dispatch: among ready tasks that fit, the one whose key
     * was served least recently (round-robin between keys), then by the ready order.
     */
    const pickGated = (): number | undefined => {
      if (ready.size === 0) return undefined
      const candidates = ready.drain()
      let best = -1
      let bestServed = Infinity
      for (let c = 0; c < candidates.length; c++) {
        const i = candidates[c]!
        if (!fits(i)) continue
        const served = keyServed.get(keys[i] ?? "") ?? -1
        if (best === -1 || served < bestServed || (served === bestServed && ready.before(i, candidates[best]!))) {
          best = c
          bestServed = served
        }
      }
      let chosen: number | undefined
      for (let c = 0; c < candidates.length; c++) {
        if (c === best) chosen = candidates[c]
        else ready.push(candidates[c]!)
      }
      return chosen
    }

    const dispatch = (i: number) => {
      status[i] = RUNNING
      running++
      if (holdsSlot(i)) shared.used++
      if (gated) {
        holds(i, 1)
        keyServed.set(keys[i] ?? "", shared.dispatchCount++)
      }
      const node = plan.nodes[i]!
      const t = now()
      startedAt[i] = t
      emit({ _tag: "TaskStarted", runId, at: t, taskId: node.id, attempt: 1 })
      const immediate = direct(i)
      if (immediate !== undefined && Exit.isExit(immediate)) {
        completions.push(i, immediate)
        return
      }
      let effect: Effect.Effect<unknown, unknown, unknown>
      try {
        effect = immediate ?? taskEffect(i)
      } catch (defect) {
        // A task value whose `run` throws while building its Effect: a defect of that task.
        effect = Effect.die(defect)
      }
      forkInto(i, effect, completions)
    }

    /** Settles a task from its exit. `held`: it ran in a slot and holds its pool units and key. */
    const finishTask = (i: number, exit: Exit.Exit<unknown, unknown>, held = true) => {
      if (held) {
        running--
        if (holdsSlot(i)) shared.used--
        if (gated) holds(i, -1)
        freed = true
      }
      const node = plan.nodes[i]!
      const at = now()
      const durationMs = at - startedAt[i]!
      if (Exit.isSuccess(exit)) {
        const value = exit.value
        if (isSkip(value)) {
          settle(i, SKIPPED)
          emit({ _tag: "TaskSkipped", runId, at, taskId: node.id, reason: value[Skip] })
        } else {
          outputs[i] = value
          settle(i, COMPLETED)
          completionOrder.push(i)
          const event: Mutable<RunEventNs.Of<"TaskCompleted">> = {
            _tag: "TaskCompleted",
            runId,
            at,
            taskId: node.id,
            attempts: attempts[i] || 1,
            durationMs,
            output: value
          }
          if (fallbackUsed[i] === 1) event.fallback = true
          emit(event)
        }
        release(i)
        return
      }
      const cause = exit.cause
      settle(i, FAILED)
      failures.push({ taskId: node.id, cause })
      emit({
        _tag: "TaskFailed",
        runId,
        at,
        taskId: node.id,
        attempts: attempts[i] || 1,
        durationMs,
        message: describeCause(cause),
        cause
      })
      if (failFast) abort(`task "${node.id}" failed`)
      else release(i)
    }

    /**
     * Stops the run: pending tasks are cancelled, running tasks are interrupted and settled as cancelled
     * at once (their slots and resources are free immediately, whatever the handler does).
     */
    const abort = (reason: string) => {
      if (aborting !== undefined) return
      aborting = reason
      const at = now()
      for (const i of ready.drain()) status[i] = PENDING
      for (let i = 0; i < n; i++) {
        const st = status[i]
        if (st !== PENDING && st !== RUNNING && st !== PREFLIGHT) continue
        if (st === RUNNING || st === PREFLIGHT) {
          if (st === RUNNING) {
            running--
            if (holdsSlot(i)) shared.used--
            if (gated) holds(i, -1)
            freed = true
          } else {
            preflighting--
          }
          const fiber = fibers[i]
          fibers[i] = undefined
          fiber?.interruptUnsafe()
        }
        settle(i, CANCELLED)
        emit({ _tag: "TaskCancelled", runId, at, taskId: g.ids[i]!, reason })
      }
    }

    const drain = () => {
      if (draining || done) return
      draining = true
      try {
        for (;;) {
          while (completions.length > 0 || preflightResults.length > 0) {
            if (completions.length > 0) {
              const i = completions.shift() as number
              const exit = completions.shift() as Exit.Exit<unknown, unknown>
              if (status[i] === RUNNING) finishTask(i, exit)
            } else {
              const i = preflightResults.shift() as number
              const exit = preflightResults.shift() as Exit.Exit<Verdict, unknown>
              if (status[i] === PREFLIGHT) finishPreflight(i, exit)
            }
          }
          if (
            aborting === undefined && ready.size > 0 && running < maxParallel && shared.used < shared.limit
          ) {
            const next = gated ? pickGated() : ready.pop()
            if (next !== undefined) {
              dispatch(next)
              continue
            }
          }
          break
        }
      } finally {
        draining = false
      }
      if (settled === n && running === 0 && preflighting === 0) finish()
      if (freed) {
        freed = false
        wakeOthers(shared, drain)
      }
    }

    // Compensations of completed tasks, in reverse completion order, each exactly once.
    const compensate = (): Effect.Effect<ReadonlyArray<CompensationResult>, never, unknown> =>
      Effect.suspend(() => {
        const results: Array<CompensationResult> = []
        const todo = completionOrder.filter((i) => impls[i]!.compensate !== undefined).reverse()
        return Effect.forEach(todo, (i) => {
          const node = plan.nodes[i]!
          const started = now()
          return impls[i]!.compensate!(outputs[i] as never, contexts[i] as never).pipe(
            Effect.withSpan(`${plan.name}.${node.id}.compensate`),
            Effect.exit,
            Effect.map((exit) => {
              if (Exit.isSuccess(exit)) {
                results.push({ taskId: node.id, status: "completed" })
                emit({ _tag: "TaskCompensated", runId, at: now(), taskId: node.id, durationMs: now() - started })
              } else {
                results.push({ taskId: node.id, status: "failed", cause: exit.cause })
                emit({
                  _tag: "CompensationFailed",
                  runId,
                  at: now(),
                  taskId: node.id,
                  message: describeCause(exit.cause),
                  cause: exit.cause
                })
              }
            })
          )
        }, { discard: true }).pipe(Effect.as(results))
      })

    const finish = () => {
      if (done) return
      done = true
      shared.wakers.delete(drain)
      deadlineFiber?.interruptUnsafe()
      const failed = cancelled || deadlineHit || failures.length > 0
      const needsCompensation = failed && !cancelled && settings.compensateOnFailure &&
        completionOrder.some((i) => impls[i]!.compensate !== undefined)
      const conclude = (compensations: ReadonlyArray<CompensationResult>) => {
        const at = now()
        const durationMs = at - runStart
        const outs: Record<string, unknown> = {}
        // The ids of completed tasks are only reported by a run that did not complete.
        const failing = cancelled || deadlineHit || failures.length > 0
        const completed: Array<string> = []
        for (let i = 0; i < n; i++) {
          if (status[i] !== COMPLETED) continue
          setOwn(outs, g.ids[i]!, outputs[i])
          if (failing) completed.push(g.ids[i]!)
        }
        const base = { outputs: outs, failures, completed, compensations, durationMs }
        if (cancelled) {
          emit({ _tag: "RunCancelled", runId, at, durationMs })
          return resume?.({ status: "cancelled", ...base })
        }
        if (deadlineHit || failures.length > 0) {
          emit({
            _tag: "RunFailed",
            runId,
            at,
            durationMs,
            failed: failures.map((f) => f.taskId),
            ...(deadlineHit ? { deadlineExceeded: true } : {})
          })
          return resume?.({ status: deadlineHit ? "deadline" : "failed", ...base })
        }
        emit({ _tag: "RunCompleted", runId, at, durationMs })
        resume?.({ status: "completed", ...base })
      }
      if (!needsCompensation) return conclude([])
      const fiber = fork(compensate())
      fiber.addObserver((exit) => guarded(() => conclude(Exit.isSuccess(exit) ? exit.value : [])))
    }

    /**
     * Runs engine bookkeeping called from a fiber observer (outside any Effect, where a throw would be
     * uncaught and end the process). The engine's own steps are built not to throw (user callbacks and
     * values are isolated where they are met); should one throw anyway, the run fails with that defect
     * instead of taking the process down.
     */
    const guarded = (step: () => void) => {
      try {
        step()
      } catch (defect) {
        draining = false
        if (done) return
        failures.push({ taskId: "(engine)", cause: Cause.die(defect) })
        try {
          abort("engine error")
          finish()
        } catch {
          // the run cannot even conclude: leave it, the process lives on
        }
      }
    }

    control.cancel = () => {
      if (done || aborting !== undefined) return
      cancelled = true
      abort("run cancelled")
      drain()
    }

    return Effect.callback<Outcome>((resumeEffect) => {
      resume = (outcome) => resumeEffect(Effect.succeed(outcome))
      emit({ _tag: "RunStarted", runId, at: runStart, workflow: plan.name, total: n })
      shared.wakers.add(drain)
      if (settings.deadlineMs !== undefined) {
        const deadlineMs = settings.deadlineMs
        deadlineFiber = fork(Effect.sleep(Duration.millis(deadlineMs)))
        deadlineFiber.addObserver((exit) => {
          if (!Exit.isSuccess(exit) || done || aborting !== undefined) return
          guarded(() => {
            deadlineHit = true
            abort(`deadline of ${deadlineMs} ms exceeded`)
            drain()
          })
        })
      }
      for (let i = 0; i < n; i++) if (waiting[i] === 0) becomeReady(i)
      drain()
      // Interrupting the run (a parent's timeout, fiber interruption) interrupts every running task.
      // The run still ends with exactly one terminal event (`RunCancelled`) for its observers.
      return Effect.suspend(() => {
        const live = fibers.filter((f): f is Fiber.Fiber<unknown, unknown> => f !== undefined)
        if (!done) {
          cancelled = true
          abort("run interrupted")
          finish()
        }
        deadlineFiber?.interruptUnsafe()
        shared.wakers.delete(drain)
        if (freed) {
          freed = false
          wakeOthers(shared, drain)
        }
        return Fiber.interruptAll(live)
      })
    })
  })

// -----------------------------------------------------------------------------
// Running
// -----------------------------------------------------------------------------

const validated = new WeakSet<Plan>()

/** A sub-workflow's own settings: its strategy, limit, failure mode and deadline; the tree's pools and keys. */
const childSettings = (plan: Plan): Settings => settingsOf(plan, {})

/** Every pool of the tree: the run's (or the top-level workflow's), then those only a sub-workflow declares. */
const treePools = (compiled: Compiled, root: Readonly<Record<string, number>> | undefined): Map<string, number> => {
  const pools = new Map<string, number>()
  const add = (declared: Readonly<Record<string, number>> | undefined) => {
    if (declared === undefined) return
    for (const name of Object.keys(declared)) if (!pools.has(name)) pools.set(name, declared[name]!)
  }
  add(root)
  const visit = (c: Compiled) => {
    for (const impl of c.impls) {
      if (impl.child === undefined) continue
      const child = compile(impl.child.workflow)
      add(child.plan.resources)
      visit(child)
    }
  }
  visit(compiled)
  return pools
}

const prefixed = (at: Where) => <E>(error: E): E =>
  at.pathPrefix !== "" && error instanceof InvalidDefinition
    ? new InvalidDefinition({
      path: at.pathPrefix + error.path,
      ...(error.taskId === undefined ? {} : { taskId: at.taskPrefix + error.taskId }),
      reason: error.reason
    }) as E
    : error

/**
 * A run's preparation, the same for the top-level workflow and every sub-workflow in it (recursively):
 * the definition is validated, every resource request is checked against the tree's pools, and every task's
 * own pre-run check passes, before anything runs.
 */
const prepareTree = (
  compiled: Compiled,
  settings: Settings,
  pools: ReadonlyMap<string, number>,
  perKeyLimit: number | undefined,
  at: Where,
  rootName: string
): Effect.Effect<void, DefinitionError | WorkflowFailed<unknown>> => {
  const checked: Effect.Effect<void, DefinitionError> = validated.has(compiled.plan)
    ? Effect.void
    : definition.validate(compiled.plan).pipe(Effect.andThen(Effect.sync(() => validated.add(compiled.plan))))
  const invalid = at.pathPrefix === "" ? undefined : checkNumbers(compiled, {})
  if (invalid !== undefined) return Effect.fail(prefixed(at)(invalid))
  const taskChecks = compiled.impls.filter((impl) => impl.check !== undefined)
  const children = compiled.impls.filter((impl) => impl.child !== undefined)
  return checked.pipe(
    Effect.mapError(prefixed(at)),
    Effect.andThen(checkResources(compiled.plan, pools, settings.perKeyLimit ?? perKeyLimit, at)),
    Effect.andThen(
      taskChecks.length === 0 ? Effect.void : Effect.forEach(taskChecks, (impl) =>
        impl.check!(impl.node).pipe(
          // A task's own pre-run check (e.g. "no agent can take this task") fails the run before it starts,
          // as a WorkflowFailed naming the task, with nothing run.
          Effect.catchCause((cause) =>
            Effect.fail(
              new WorkflowFailed({
                workflow: rootName,
                runId: "(not started)",
                failures: [{ taskId: at.taskPrefix + impl.node.id, cause }],
                completed: [],
                outputs: {},
                compensations: []
              })
            )
          )
        ), { discard: true }) as Effect.Effect<void, WorkflowFailed<unknown>>
    ),
    Effect.andThen(
      children.length === 0 ? Effect.void : Effect.forEach(children, (impl) => {
        const child = compile(impl.child!.workflow)
        return prepareTree(child, childSettings(child.plan), pools, perKeyLimit, {
          pathPrefix: `${at.pathPrefix}tasks[${impl.node.index}].workflow.`,
          taskPrefix: `${at.taskPrefix}${impl.node.id}/`
        }, rootName)
      }, { discard: true })
    )
  )
}

const strategies: ReadonlySet<unknown> = new Set(["sequential", "parallel", "dag", "conditional", "auto"])

/**
 * The run's options and the workflow's numbers, checked before anything runs: a value that would hang or
 * spin the run (`NaN` slots, fractional limits, `NaN` retries) is an `InvalidDefinition` naming the option.
 */
const checkNumbers = (compiled: Compiled, options: RunOptions): InvalidDefinition | undefined => {
  const { plan } = compiled
  const o = "RunOptions"
  const problem = Numbers.first(
    () =>
      options.maxParallel === "unbounded"
        ? undefined
        : Numbers.count(`${o}.maxParallel`, options.maxParallel, 1, { unbounded: true }),
    () => Numbers.count(`${o}.perKeyLimit`, options.perKeyLimit, 1, { unbounded: true }),
    () => options.replay === "all" ? undefined : Numbers.count(`${o}.replay`, options.replay, 0, { unbounded: true }),
    () => Numbers.duration(`${o}.deadline`, options.deadline, { infinite: true }),
    () =>
      options.strategy === undefined || strategies.has(options.strategy)
        ? undefined
        : new InvalidDefinition({
          path: `${o}.strategy`,
          reason: `expected one of sequential, parallel, dag, conditional, auto, got ${String(options.strategy)}`
        }),
    () =>
      options.failureMode === undefined || options.failureMode === "fail-fast" || options.failureMode === "continue"
        ? undefined
        : new InvalidDefinition({
          path: `${o}.failureMode`,
          reason: `expected fail-fast or continue, got ${String(options.failureMode)}`
        }),
    () => pools(`${o}.resources`, options.resources),
    () => Numbers.count("maxParallel", plan.maxParallel, 1, { unbounded: true }),
    () => Numbers.count("perKeyLimit", plan.perKeyLimit, 1, { unbounded: true }),
    () => pools("resources", plan.resources),
    () => Numbers.amount("defaultTimeout", plan.defaultTimeoutMs),
    () => Numbers.amount("deadline", plan.deadlineMs),
    () => Numbers.retry("retry", compiled.retry)
  )
  if (problem !== undefined) return problem
  for (let i = 0; i < compiled.impls.length; i++) {
    const impl = compiled.impls[i]!
    const node = impl.node
    const task = Numbers.first(
      () => Numbers.retry(`tasks[${i}].retry`, impl.retry, node.id),
      () => Numbers.amount(`tasks[${i}].timeout`, node.timeoutMs, node.id),
      () => Numbers.amount(`tasks[${i}].attemptTimeout`, node.attemptTimeoutMs, node.id)
    )
    if (task !== undefined) return task
  }
  return undefined
}

const pools = (path: string, declared: Readonly<Record<string, number>> | undefined): InvalidDefinition | undefined => {
  if (declared === undefined) return undefined
  for (const name of Object.keys(declared)) {
    const problem = Numbers.amount(`${path}.${name}`, declared[name])
    if (problem !== undefined) return problem
  }
  return undefined
}

const prepare = (
  workflow: Workflow.Any,
  options: RunOptions
): Effect.Effect<
  { readonly compiled: Compiled; readonly settings: Settings; readonly pools: ReadonlyMap<string, number> },
  DefinitionError | WorkflowFailed<unknown>
> =>
  Effect.suspend(() => {
    const compiled = Workflow.compiled(workflow)
    const invalid = checkNumbers(compiled, options)
    if (invalid !== undefined) return Effect.fail(invalid)
    const settings = settingsOf(compiled.plan, options)
    const pools = treePools(compiled, settings.resources)
    return prepareTree(compiled, settings, pools, settings.perKeyLimit, { pathPrefix: "", taskPrefix: "" },
      compiled.plan.name).pipe(Effect.as({ compiled, settings, pools }))
  })

const toResult = <W extends Workflow.Any>(
  plan: Plan,
  settings: Settings,
  runId: string,
  outcome: Outcome,
  tracker: RunState.Tracker
): Effect.Effect<
  RunResult<Workflow.Outputs<W>>,
  WorkflowFailed<Workflow.Error<W>> | WorkflowTimeout | WorkflowCancelled
> => {
  if (outcome.status === "completed") {
    let state: RunState.RunState | undefined
    return Effect.succeed({
      runId,
      workflow: plan.name,
      outputs: outcome.outputs as Workflow.Outputs<W>,
      // Taken on first read: the run is over, so the state no longer changes.
      get state() {
        return state ??= tracker.snapshot()
      },
      durationMs: outcome.durationMs
    })
  }
  if (outcome.status === "cancelled") {
    return Effect.fail(new WorkflowCancelled({ workflow: plan.name, runId, completed: [...outcome.completed] }))
  }
  if (outcome.status === "deadline") {
    return Effect.fail(
      new WorkflowTimeout({
        workflow: plan.name,
        runId,
        deadlineMs: settings.deadlineMs ?? 0,
        completed: outcome.completed,
        outputs: outcome.outputs,
        compensations: outcome.compensations
      })
    )
  }
  return Effect.fail(
    new WorkflowFailed({
      workflow: plan.name,
      runId,
      failures: outcome.failures as ReadonlyArray<TaskFailure<Workflow.Error<W>>>,
      completed: outcome.completed,
      outputs: outcome.outputs,
      compensations: outcome.compensations
    })
  )
}

/**
 * Runs a workflow to the end. Succeeds with the typed outputs when every task completed (or was skipped
 * by a condition); fails with `WorkflowFailed` carrying every failure's Cause and the outputs of the tasks
 * that completed. Definition errors (found before anything runs) fail with a `DefinitionError`.
 *
 * @category running
 * @since 0.1.0
 */
export const run = <W extends Workflow.Any>(
  workflow: W,
  ...[input, options = {}]: Args<W>
): Effect.Effect<
  RunResult<Workflow.Outputs<W>>,
  WorkflowFailed<Workflow.Error<W>> | WorkflowTimeout | DefinitionError,
  Workflow.Services<W>
> =>
  Effect.flatMap(prepare(workflow, options), ({ compiled, settings, pools }) =>
    Effect.flatMap(Hub.logWarning, (report) => {
      const runId = options.runId ?? newRunId()
      const { emit, tracker } = Hub.make(compiled.plan, runId, options, report)
      const scope: Scope = { runId, workflow: compiled.plan.name, prefix: "", shared: makeShared(settings, pools) }
      return execute(compiled, input, settings, runId, emit, { cancel: () => {} }, scope).pipe(
        Effect.flatMap((outcome) => toResult<W>(compiled.plan, settings, runId, outcome, tracker)),
        Effect.catchTag("WorkflowCancelled", Effect.die)
      )
    })) as never

/**
 * Starts a workflow in the background and returns a handle: its event stream, state, progress, a way to
 * cancel it and to await its result. The run is a child of the calling fiber.
 *
 * @category running
 * @since 0.1.0
 */
export const start = <W extends Workflow.Any>(
  workflow: W,
  ...[input, options = {}]: Args<W>
): Effect.Effect<
  RunHandle<Workflow.Outputs<W>, Workflow.Error<W>>,
  DefinitionError | WorkflowFailed<Workflow.Error<W>>,
  Workflow.Services<W>
> =>
  Effect.flatMap(prepare(workflow, options), ({ compiled, settings, pools }) =>
    Effect.gen(function*() {
      const runId = options.runId ?? newRunId()
      const replay = options.replay === undefined || options.replay === "all" ? Infinity : options.replay
      const report = yield* Hub.logWarning
      const pubsub = yield* Hub.makePubSub(replay)
      const { emit, tracker, events } = Hub.make(compiled.plan, runId, options, report, pubsub)
      const control: Control = { cancel: () => {} }
      const scope: Scope = { runId, workflow: compiled.plan.name, prefix: "", shared: makeShared(settings, pools) }
      const fiber = yield* execute(compiled, input, settings, runId, emit, control, scope).pipe(
        Effect.flatMap((outcome) => toResult<W>(compiled.plan, settings, runId, outcome, tracker)),
        Effect.forkChild({ startImmediately: true })
      )
      const handle: RunHandle<Workflow.Outputs<W>, Workflow.Error<W>> = {
        runId,
        events,
        state: Effect.sync(() => tracker.snapshot()),
        progress: Effect.sync(() => tracker.progress()),
        cancel: Effect.sync(() => control.cancel()),
        await: Fiber.join(fiber)
      }
      return handle
    })) as never
