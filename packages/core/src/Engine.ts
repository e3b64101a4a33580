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
import { Cause, Clock, Context, Duration, Effect, Exit, Fiber, Queue, Stream } from "effect"
import { analyze } from "./internal/analysis.ts"
import * as definition from "./internal/definition.ts"
import { bottomLevels, type GraphIndex, index, topo } from "./internal/graph.ts"
import { type Compiled, compile, type TaskImpl } from "./internal/workflowPlan.ts"
import type { Plan, PlanNode, Strategy } from "./Plan.ts"
import type { RunEvent } from "./RunEvent.ts"
import * as RunState from "./RunState.ts"
import type { TaskInfo } from "./Task.ts"
import * as Workflow from "./Workflow.ts"
import {
  type DefinitionError,
  type TaskFailure,
  TaskTimeout,
  WorkflowCancelled,
  WorkflowFailed
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
  readonly await: Effect.Effect<RunResult<Outputs>, WorkflowFailed<E> | WorkflowCancelled>
}

type Args<W extends Workflow.Any> = [void] extends [Workflow.Input<W>]
  ? [input?: Workflow.Input<W>, options?: RunOptions]
  : [input: Workflow.Input<W>, options?: RunOptions]

// -----------------------------------------------------------------------------
// Scheduler
// -----------------------------------------------------------------------------

const PENDING = 0
const READY = 1
const RUNNING = 2
const COMPLETED = 3
const FAILED = 4
const SKIPPED = 5
const CANCELLED = 6

const Skip: unique symbol = Symbol.for("@troupe/core/Engine/Skip") as never
interface Skip {
  readonly [Skip]: string
}
const skip = (reason: string): Skip => ({ [Skip]: reason })
const isSkip = (u: unknown): u is Skip => typeof u === "object" && u !== null && Skip in u

interface Outcome {
  readonly status: "completed" | "failed" | "cancelled"
  readonly outputs: Record<string, unknown>
  readonly failures: ReadonlyArray<TaskFailure<unknown>>
  readonly completed: ReadonlyArray<string>
  readonly durationMs: number
}

interface Control {
  cancel: () => void
}

const resolveConcurrency = (plan: Plan, options: RunOptions): number => {
  const strategy = options.strategy ?? plan.strategy ?? "dag"
  const chosen = strategy === "auto" ? analyze(plan).recommended.strategy : strategy
  if (chosen === "sequential") return 1
  if (chosen === "parallel") return Infinity
  const max = options.maxParallel ?? plan.maxParallel
  return max === undefined || max === "unbounded" ? Infinity : Math.max(1, Math.floor(max))
}

/** A binary heap of node indices ordered by priority, remaining path, declaration order. */
const makeReadyQueue = (priority: Int8Array, remaining: Float64Array) => {
  const heap: Array<number> = []
  const before = (a: number, b: number) =>
    priority[a] !== priority[b]
      ? priority[a]! > priority[b]!
      : remaining[a] !== remaining[b]
      ? remaining[a]! > remaining[b]!
      : a < b
  return {
    get size() {
      return heap.length
    },
    push(v: number) {
      heap.push(v)
      let i = heap.length - 1
      while (i > 0) {
        const p = (i - 1) >> 1
        if (!before(v, heap[p]!)) break
        heap[i] = heap[p]!
        i = p
      }
      heap[i] = v
    },
    pop(): number {
      const top = heap[0]!
      const last = heap.pop()!
      if (heap.length > 0) {
        let i = 0
        for (;;) {
          const l = 2 * i + 1
          if (l >= heap.length) break
          const r = l + 1
          const c = r < heap.length && before(heap[r]!, heap[l]!) ? r : l
          if (!before(heap[c]!, last)) break
          heap[i] = heap[c]!
          i = c
        }
        heap[i] = last
      }
      return top
    },
    drain(): Array<number> {
      return heap.splice(0, heap.length)
    }
  }
}

const describeCause = (cause: Cause.Cause<unknown>): string => {
  const error = Cause.findErrorOption(cause)
  if (error._tag === "Some") {
    const e = error.value
    if (e instanceof Error) return e.message
    if (typeof e === "object" && e !== null && "_tag" in e) return String((e as { _tag: unknown })._tag)
    return String(e)
  }
  const pretty = Cause.pretty(cause)
  const line = pretty.split("\n")[0] ?? pretty
  return line.length > 200 ? `${line.slice(0, 199)}…` : line
}

const retryDelay = (node: PlanNode, retry: number): number => {
  const policy = node.retry!
  const delay = Math.min(
    policy.initialDelayMs * Math.pow(policy.backoffMultiplier, retry - 1),
    policy.maxDelayMs
  )
  return policy.jitter ? delay * (0.8 + Math.random() * 0.4) : delay
}

let runCounter = 0
const newRunId = (): string =>
  `run-${Date.now().toString(36)}-${(runCounter++).toString(36)}-${Math.random().toString(36).slice(2, 8)}`

/**
 * The scheduler. Runs the compiled workflow and reports every event through `emit`.
 */
const execute = (
  compiled: Compiled,
  input: unknown,
  options: RunOptions,
  runId: string,
  emit: (event: RunEvent) => void,
  control: Control
): Effect.Effect<Outcome, never, unknown> =>
  Effect.withFiber((parent) => {
    const { plan, impls } = compiled
    const services = parent.context as Context.Context<unknown>
    const clock = parent.getRef(Clock.Clock)
    const now = () => clock.currentTimeMillisUnsafe()
    const g: GraphIndex = index(plan)
    const n = g.size
    const order = topo(g) ?? []
    const weights = (i: number) => plan.nodes[i]!.estimatedDurationMs ?? 1
    const remainingPath = bottomLevels(g, order, weights)
    const priority = new Int8Array(n)
    for (let i = 0; i < n; i++) priority[i] = plan.nodes[i]!.priority
    const ready = makeReadyQueue(priority, remainingPath)
    const maxParallel = resolveConcurrency(plan, options)
    const failFast = (options.failureMode ?? (plan.continueOnFailure ? "continue" : "fail-fast")) === "fail-fast"

    const status = new Uint8Array(n)
    const waiting = new Int32Array(n)
    for (let i = 0; i < n; i++) waiting[i] = g.preds[i]!.length
    // Why a task cannot run normally: the id of a failed or skipped dependency.
    const blockedByFailure: Array<string | undefined> = new Array(n)
    const blockedBySkip: Array<string | undefined> = new Array(n)
    const outputs: Array<unknown> = new Array(n)
    const startedAt = new Float64Array(n)
    const fibers: Array<Fiber.Fiber<unknown, unknown> | undefined> = new Array(n)
    const failures: Array<TaskFailure<unknown>> = []
    let running = 0
    let settled = 0
    let aborting: string | undefined
    let cancelled = false
    let done = false
    let resume: ((outcome: Outcome) => void) | undefined
    const runStart = now()

    // ---- task execution -------------------------------------------------------------------------

    const contextFor = (i: number): Record<string, unknown> => {
      const ctx: Record<string, unknown> = { input }
      for (const dep of plan.nodes[i]!.dependsOn) {
        const j = g.indexOf.get(dep)!
        ctx[dep] = outputs[j]
      }
      return ctx
    }

    const attempts = new Int32Array(n)

    const taskEffect = (i: number): Effect.Effect<unknown, unknown, unknown> => {
      const impl: TaskImpl = impls[i]!
      const node = impl.node
      const ctx = contextFor(i)
      const info = (attempt: number): TaskInfo => ({ workflow: plan.name, runId, node, attempt })
      const attempt = (k: number): Effect.Effect<unknown, unknown, unknown> =>
        Effect.suspend(() => {
          attempts[i] = k
          if (k > 1 || impl.when !== undefined || node.condition !== undefined) {
            emit({ _tag: "TaskStarted", runId, at: now(), taskId: node.id, attempt: k })
          }
          return impl.child === undefined
            ? impl.run(ctx as never, info(k))
            : runChild(impl, ctx)
        })
      let body: Effect.Effect<unknown, unknown, unknown> = attempt(1)
      if (node.retry !== undefined && node.retry.maxRetries > 0) {
        const max = node.retry.maxRetries
        const loop = (k: number): Effect.Effect<unknown, unknown, unknown> =>
          attempt(k).pipe(Effect.catchCause((cause) => {
            if (k > max || Cause.hasInterruptsOnly(cause)) return Effect.failCause(cause)
            const delayMs = retryDelay(node, k)
            emit({
              _tag: "TaskRetrying",
              runId,
              at: now(),
              taskId: node.id,
              attempt: k,
              delayMs,
              message: describeCause(cause)
            })
            return Effect.sleep(Duration.millis(delayMs)).pipe(Effect.andThen(loop(k + 1)))
          }))
        body = loop(1)
      }
      const timeoutMs = node.timeoutMs ?? plan.defaultTimeoutMs
      if (timeoutMs !== undefined) {
        body = body.pipe(Effect.timeoutOrElse({
          duration: Duration.millis(timeoutMs),
          orElse: () => Effect.fail(new TaskTimeout({ taskId: node.id, timeoutMs }))
        }))
      }
      const condition = node.condition
      if (condition?._tag === "TaskCompleted") {
        const j = g.indexOf.get(condition.taskId)
        const guarded = body
        body = Effect.suspend(() =>
          j !== undefined && status[j] === COMPLETED
            ? guarded
            : Effect.succeed(skip(`condition: task "${condition.taskId}" did not complete`))
        )
      } else if (impl.when !== undefined) {
        const when = impl.when as (ctx: unknown) => boolean | Effect.Effect<boolean, never, unknown>
        const guarded = body
        body = Effect.suspend(() => {
          const verdict = when(ctx)
          return typeof verdict === "boolean"
            ? (verdict ? guarded : Effect.succeed(skip("condition was false")))
            : Effect.flatMap(verdict, (ok) => ok ? guarded : Effect.succeed(skip("condition was false")))
        })
      }
      return Effect.withSpan(body, `${plan.name}.${node.id}`, {
        attributes: { "troupe.workflow": plan.name, "troupe.task": node.id, "troupe.run": runId }
      })
    }

    const runChild = (impl: TaskImpl, ctx: Record<string, unknown>) => {
      const child = impl.child!
      const childInput = child.input === undefined ? undefined : child.input(ctx as never)
      const childCompiled = compile(child.workflow)
      const childControl: Control = { cancel: () => {} }
      return execute(childCompiled, childInput, {}, `${runId}/${impl.node.id}`, () => {}, childControl).pipe(
        Effect.flatMap((outcome) =>
          outcome.status === "completed"
            ? Effect.succeed(outcome.outputs)
            : Effect.fail(
              new WorkflowFailed({
                workflow: childCompiled.plan.name,
                runId: `${runId}/${impl.node.id}`,
                failures: outcome.failures,
                completed: outcome.completed,
                outputs: outcome.outputs
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
      const stack = [first]
      while (stack.length > 0) {
        const v = stack.pop()!
        const id = g.ids[v]!
        const st = status[v]
        for (const s of g.succs[v]!) {
          if (st === FAILED && blockedByFailure[s] === undefined) blockedByFailure[s] = id
          if (st === SKIPPED && blockedBySkip[s] === undefined) blockedBySkip[s] = id
          if (--waiting[s] !== 0 || status[s] !== PENDING) continue
          const failedDep = blockedByFailure[s]
          const skippedDep = blockedBySkip[s]
          if (aborting !== undefined) continue
          if (failedDep !== undefined || (skippedDep !== undefined && !plan.nodes[s]!.runIfSkipped)) {
            settle(s, SKIPPED)
            const reason = failedDep !== undefined
              ? `dependency "${failedDep}" failed`
              : `dependency "${skippedDep}" was skipped`
            emit({ _tag: "TaskSkipped", runId, at: now(), taskId: g.ids[s]!, reason })
            stack.push(s)
          } else {
            status[s] = READY
            ready.push(s)
          }
        }
      }
    }

    const dispatch = (i: number) => {
      status[i] = RUNNING
      running++
      const node = plan.nodes[i]!
      const t = now()
      startedAt[i] = t
      if (impls[i]!.when === undefined && node.condition === undefined) {
        emit({ _tag: "TaskStarted", runId, at: t, taskId: node.id, attempt: 1 })
      }
      const fiber = Effect.runForkWith(services)(taskEffect(i))
      if (fiber.pollUnsafe() === undefined) {
        fibers[i] = fiber
        fiber.addObserver((exit) => {
          fibers[i] = undefined
          completions.push(i, exit)
          drain()
        })
      } else {
        completions.push(i, fiber.pollUnsafe()!)
      }
    }

    const finishTask = (i: number, exit: Exit.Exit<unknown, unknown>) => {
      running--
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
          emit({
            _tag: "TaskCompleted",
            runId,
            at,
            taskId: node.id,
            attempts: attempts[i] || 1,
            durationMs,
            output: value
          })
        }
        release(i)
        return
      }
      const cause = exit.cause
      if (aborting !== undefined && Cause.hasInterruptsOnly(cause)) {
        settle(i, CANCELLED)
        emit({ _tag: "TaskCancelled", runId, at, taskId: node.id, reason: aborting })
        return
      }
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

    const abort = (reason: string) => {
      if (aborting !== undefined) return
      aborting = reason
      const at = now()
      for (const i of ready.drain()) status[i] = PENDING
      for (let i = 0; i < n; i++) {
        if (status[i] === PENDING) {
          settle(i, CANCELLED)
          emit({ _tag: "TaskCancelled", runId, at, taskId: g.ids[i]!, reason })
        }
      }
      for (let i = 0; i < n; i++) fibers[i]?.interruptUnsafe()
    }

    const drain = () => {
      if (draining || done) return
      draining = true
      try {
        for (;;) {
          while (completions.length > 0) {
            const i = completions.shift() as number
            const exit = completions.shift() as Exit.Exit<unknown, unknown>
            finishTask(i, exit)
          }
          if (aborting === undefined && ready.size > 0 && running < maxParallel) {
            dispatch(ready.pop())
            continue
          }
          break
        }
      } finally {
        draining = false
      }
      if (settled === n && running === 0) finish()
    }

    const finish = () => {
      if (done) return
      done = true
      const at = now()
      const durationMs = at - runStart
      const outs: Record<string, unknown> = {}
      const completed: Array<string> = []
      for (let i = 0; i < n; i++) {
        if (status[i] === COMPLETED) {
          outs[g.ids[i]!] = outputs[i]
          completed.push(g.ids[i]!)
        }
      }
      let outcome: Outcome
      if (cancelled) {
        emit({ _tag: "RunCancelled", runId, at, durationMs })
        outcome = { status: "cancelled", outputs: outs, failures, completed, durationMs }
      } else if (failures.length > 0) {
        emit({ _tag: "RunFailed", runId, at, durationMs, failed: failures.map((f) => f.taskId) })
        outcome = { status: "failed", outputs: outs, failures, completed, durationMs }
      } else {
        emit({ _tag: "RunCompleted", runId, at, durationMs })
        outcome = { status: "completed", outputs: outs, failures, completed, durationMs }
      }
      resume?.(outcome)
    }

    control.cancel = () => {
      if (done) return
      cancelled = true
      abort("run cancelled")
      drain()
    }

    return Effect.callback<Outcome>((resumeEffect) => {
      resume = (outcome) => resumeEffect(Effect.succeed(outcome))
      emit({ _tag: "RunStarted", runId, at: runStart, workflow: plan.name, total: n })
      for (let i = 0; i < n; i++) {
        if (waiting[i] === 0) {
          status[i] = READY
          ready.push(i)
        }
      }
      drain()
      // Interrupting the run (a parent's timeout, fiber interruption) interrupts every running task.
      return Effect.suspend(() => {
        cancelled = true
        abort("run interrupted")
        const live = fibers.filter((f): f is Fiber.Fiber<unknown, unknown> => f !== undefined)
        return Fiber.interruptAll(live)
      })
    })
  })

// -----------------------------------------------------------------------------
// Running
// -----------------------------------------------------------------------------

const validated = new WeakSet<Plan>()

const prepare = (workflow: Workflow.Any): Effect.Effect<Compiled, DefinitionError> => {
  const compiled = Workflow.compiled(workflow)
  if (validated.has(compiled.plan)) return Effect.succeed(compiled)
  return definition.validate(compiled.plan).pipe(
    Effect.map(() => {
      validated.add(compiled.plan)
      return compiled
    })
  )
}

const makeEmitter = (plan: Plan, runId: string, options: RunOptions, extra?: (event: RunEvent) => void) => {
  const tracker = RunState.tracker(plan, runId)
  const { onEvent, onProgress } = options
  const emit = (event: RunEvent) => {
    tracker.apply(event)
    if (onEvent !== undefined) onEvent(event)
    if (onProgress !== undefined) onProgress(tracker.progress(), event)
    if (extra !== undefined) extra(event)
  }
  return { tracker, emit }
}

const toResult = <W extends Workflow.Any>(
  plan: Plan,
  runId: string,
  outcome: Outcome,
  tracker: RunState.Tracker
): Effect.Effect<RunResult<Workflow.Outputs<W>>, WorkflowFailed<Workflow.Error<W>> | WorkflowCancelled> => {
  if (outcome.status === "completed") {
    return Effect.succeed({
      runId,
      workflow: plan.name,
      outputs: outcome.outputs as Workflow.Outputs<W>,
      state: tracker.snapshot(),
      durationMs: outcome.durationMs
    })
  }
  if (outcome.status === "cancelled") {
    return Effect.fail(new WorkflowCancelled({ workflow: plan.name, runId, completed: [...outcome.completed] }))
  }
  return Effect.fail(
    new WorkflowFailed({
      workflow: plan.name,
      runId,
      failures: outcome.failures as ReadonlyArray<TaskFailure<Workflow.Error<W>>>,
      completed: outcome.completed,
      outputs: outcome.outputs
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
  WorkflowFailed<Workflow.Error<W>> | DefinitionError,
  Workflow.Services<W>
> =>
  Effect.flatMap(prepare(workflow), (compiled) => {
    const runId = options.runId ?? newRunId()
    const { emit, tracker } = makeEmitter(compiled.plan, runId, options)
    return execute(compiled, input, options, runId, emit, { cancel: () => {} }).pipe(
      Effect.flatMap((outcome) => toResult<W>(compiled.plan, runId, outcome, tracker)),
      Effect.catchTag("WorkflowCancelled", Effect.die)
    )
  }) as never

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
  DefinitionError,
  Workflow.Services<W>
> =>
  Effect.flatMap(prepare(workflow), (compiled) =>
    Effect.gen(function*() {
      const runId = options.runId ?? newRunId()
      const log: Array<RunEvent> = []
      const listeners = new Set<(event: RunEvent) => void>()
      let ended = false
      const { emit, tracker } = makeEmitter(compiled.plan, runId, options, (event) => {
        log.push(event)
        if (event._tag === "RunCompleted" || event._tag === "RunFailed" || event._tag === "RunCancelled") {
          ended = true
        }
        for (const listener of listeners) listener(event)
      })
      const control: Control = { cancel: () => {} }
      const fiber = yield* execute(compiled, input, options, runId, emit, control).pipe(
        Effect.flatMap((outcome) => toResult<W>(compiled.plan, runId, outcome, tracker)),
        Effect.forkChild({ startImmediately: true })
      )
      const events = Stream.callback<RunEvent>((queue) =>
        Effect.acquireRelease(
          Effect.sync(() => {
            for (const event of log) Queue.offerUnsafe(queue, event)
            if (ended) {
              Queue.endUnsafe(queue)
              return undefined
            }
            const listener = (event: RunEvent) => {
              Queue.offerUnsafe(queue, event)
              if (ended) Queue.endUnsafe(queue)
            }
            listeners.add(listener)
            return listener
          }),
          (listener) => Effect.sync(() => listener !== undefined && listeners.delete(listener))
        )
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
