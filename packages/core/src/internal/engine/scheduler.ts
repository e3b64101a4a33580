/**
 * @internal The scheduler (`execute`): runs one compiled workflow (a top-level run or a sub-workflow) and
 * reports every event through `emit`.
 *
 * It is event-driven: a task becomes ready the moment its last dependency settles (`becomeReady`), passes
 * its preflight when it has one (`preflight.ts`), waits in the ready queue (`gates.ts`) and is
 * dispatched (`dispatch`) when a slot, its pool units and its key are free. Its stack (`stack.ts`) runs
 * in a fiber of its own, or inline when it finishes at once. Exits are queued and processed by one drain
 * loop (a trampoline: tasks that finish synchronously do not recurse); settlement (`settlement.ts`)
 * releases dependants and ends the run.
 */
import { Clock, Context, Duration, Effect, Exit, Fiber, Option, Random, Tracer } from "effect"
import * as Expression from "../../Expression.ts"
import * as TaskCache from "../../TaskCache.ts"
import { TaskHook } from "../../TaskHook.ts"
import { TaskException } from "../../WorkflowError.ts"
import { bottomLevels, index, topo } from "../graph.ts"
import type { Compiled } from "../workflowPlan.ts"
import { censusOf } from "./census.ts"
import { serveSlotWaiter } from "./childRun.ts"
import type { Sink } from "./events.ts"
import { makeGates, makeReadyQueue, wakeOthers } from "./gates.ts"
import { needsPreflight, preflight } from "./preflight.ts"
import * as Rates from "./rates.ts"
import type { Settings } from "./settings.ts"
import { abort, afterDrain, finish, finishPreflight, finishTask, guarded, holdsSlot } from "./settlement.ts"
import { direct, taskEffect } from "./stack.ts"
import {
  contextFor,
  type Outcome,
  PREFLIGHT,
  READY,
  type RunCore,
  RUNNING,
  type Scope,
  type Verdict
} from "./state.ts"
import { type Execute, runChild } from "./subworkflow.ts"

const one = () => 1

/** Builds the run's state: its graph, ready queue, gates and columns, and the services it reads once. */
const makeRun = (
  compiled: Compiled,
  input: unknown,
  settings: Settings,
  runId: string,
  sink: Sink,
  scope: Scope,
  parent: Fiber.Fiber<unknown, unknown>
): RunCore => {
  const { plan, impls } = compiled
  const services = parent.context as Context.Context<unknown>
  const clock = parent.getRef(Clock.Clock)
  const g = index(plan)
  const n = g.size
  const order = topo(g) ?? []
  const census = censusOf(compiled)
  const remaining = bottomLevels(g, order, census.estimates ? (i) => plan.nodes[i]!.estimatedDurationMs ?? 1 : one)
  const priority = new Int8Array(n)
  if (census.priorities) for (let i = 0; i < n; i++) priority[i] = plan.nodes[i]!.priority
  else priority.fill(5)
  const waiting = new Int32Array(n)
  for (let i = 0; i < n; i++) waiting[i] = g.preds[i]!.length
  const shared = scope.shared
  const cacheActive = Option.isSome(Context.getOption(services, TaskCache.TaskCache))
  const now = () => clock.currentTimeMillisUnsafe()
  const unbound = () => {
    throw new Error("engine: a step was called before the scheduler bound it")
  }
  return {
    compiled,
    plan,
    impls,
    g,
    n,
    input,
    inputOnly: Object.freeze({ input }),
    runId,
    settings,
    scope,
    shared,
    services,
    fork: Effect.runForkWith(services) as RunCore["fork"],
    clock,
    random: parent.getRef(Random.Random),
    hook: parent.getRef(TaskHook),
    tracing: parent.getRef(Tracer.Tracer) !== Tracer.nativeTracer,
    cacheActive,
    plain: !cacheActive && !census.conditions && !census.numbers && !census.guarded &&
      compiled.retry === undefined && plan.defaultTimeoutMs === undefined,
    language: parent.getRef(Expression.ExpressionLanguage),
    emit: sink.emit,
    sink,
    now,
    runStart: now(),
    status: new Uint8Array(n),
    waiting,
    blockedByFailure: new Array(n),
    blockedBySkip: new Array(n),
    outputs: new Array(n),
    contexts: new Array(n),
    startedAt: new Float64Array(n),
    attempts: new Int32Array(n),
    fallbackUsed: new Uint8Array(n),
    cacheKeys: new Array(n),
    fibers: new Array(n),
    completionOrder: [],
    failures: [],
    ready: makeReadyQueue(priority, remaining),
    gates: makeGates(plan, impls, shared, settings.perKeyLimit ?? shared.perKeyLimit ?? Infinity, census),
    completions: [],
    preflightResults: [],
    running: 0,
    settled: 0,
    preflighting: 0,
    aborting: undefined,
    cancelled: false,
    deadlineHit: false,
    done: false,
    draining: false,
    freed: false,
    resume: undefined,
    deadlineFiber: undefined,
    compensating: undefined,
    rateWaiting: new Map(),
    rateTimer: undefined,
    rateTimerAt: Infinity,
    expressions: undefined,
    becomeReady: unbound,
    drain: unbound,
    runChild: unbound,
    execute,
    parking: undefined,
    children: undefined,
    concluded: false,
    onConcluded: undefined,
    compensationTaken: false
  }
}

/**
 * Runs task `i`'s effect (its preflight or its body) in a fiber of its own and queues the exit for the
 * drain loop: at once when the effect finished synchronously, else when the fiber ends, unless an abort
 * settled the task first.
 */
const forkInto = <A>(
  run: RunCore,
  i: number,
  effect: Effect.Effect<A, unknown, unknown>,
  results: Array<number | Exit.Exit<A, unknown>>
): void => {
  const fiber = run.fork(effect)
  const exit = fiber.pollUnsafe()
  if (exit !== undefined) {
    results.push(i, exit)
    return
  }
  run.fibers[i] = fiber as Fiber.Fiber<unknown, unknown>
  fiber.addObserver((exit) => {
    if (run.fibers[i] !== fiber) return // settled already (cancelled by an abort)
    run.fibers[i] = undefined
    results.push(i, exit)
    guarded(run, run.drain)
  })
}

/** A task whose dependencies all settled: computes its keys, then preflights or queues it. */
const becomeReady = (run: RunCore, i: number): void => {
  const impl = run.impls[i]!
  const keyOf = impl.keyOf
  const rateKey = impl.rateLimit?.key
  if (run.gates.gated && (keyOf !== undefined || impl.rateLimit !== undefined)) {
    try {
      if (keyOf !== undefined) run.gates.keys[i] = keyOf(keyContext(run, i) as never)
      if (impl.rateLimit !== undefined) {
        run.gates.rateKeys[i] = typeof rateKey === "function"
          ? String(rateKey(keyContext(run, i) as never))
          : rateKey ?? Rates.DEFAULT_KEY
      }
    } catch (defect) {
      // A key function that throws fails its task (as a failed preflight would).
      run.status[i] = PREFLIGHT
      run.preflighting++
      run.preflightResults.push(i, Exit.die(defect))
      return
    }
  }
  if (run.plain || !needsPreflight(run, i)) {
    run.status[i] = READY
    run.ready.push(i)
    return
  }
  run.status[i] = PREFLIGHT
  run.preflighting++
  // Built lazily: a cache key function that throws, or a value too deep to hash, fails this task only.
  forkInto(run, i, Effect.suspend(() => preflight(run, i)), run.preflightResults)
}

/** The context key functions see (kept for the task's run). */
const keyContext = (run: RunCore, i: number): Record<string, unknown> => {
  const ctx = run.contexts[i] ?? contextFor(run, i)
  run.contexts[i] = ctx
  return ctx
}

/**
 * After a pick: tasks held back by their rate limit report `TaskWaiting` (once), and a timer wakes the run
 * when the earliest of them may start.
 */
const rateWait = (run: RunCore): void => {
  const blocked = run.gates.rateBlocked
  if (blocked.length === 0) return
  const now = run.now()
  let earliest = Infinity
  for (let b = 0; b < blocked.length; b += 2) {
    const i = blocked[b]!
    const until = blocked[b + 1]!
    if (until < earliest) earliest = until
    if (run.rateWaiting.has(i)) continue
    run.rateWaiting.set(i, now)
    run.emit({
      _tag: "TaskWaiting",
      runId: run.runId,
      at: now,
      taskId: run.g.ids[i]!,
      reason: "rate-limit",
      name: run.gates.rateKeys[i]!,
      until
    })
  }
  blocked.length = 0
  if (earliest >= run.rateTimerAt) return
  run.rateTimer?.interruptUnsafe()
  run.rateTimerAt = earliest
  const timer = run.fork(Effect.sleep(Duration.millis(earliest - now)))
  run.rateTimer = timer
  timer.addObserver((exit) => {
    if (run.rateTimer !== timer) return
    run.rateTimer = undefined
    run.rateTimerAt = Infinity
    if (Exit.isSuccess(exit)) guarded(run, run.drain)
  })
}

/**
 * Settles task `i` when the Promise its handler returned settles, without a fiber (a rejection becomes a
 * `TaskException` naming the task, as `Task.fromHandler` does). A task settled meanwhile (cancelled by an
 * abort) ignores it.
 */
const awaitPromise = (run: RunCore, i: number, promise: PromiseLike<unknown>): void => {
  // `Promise.resolve` adopts a foreign thenable (whose `then` may throw: that is a rejection).
  Promise.resolve(promise).then(
    (value) => settleWith(run, i, Exit.succeed(value)),
    (cause) => settleWith(run, i, Exit.fail(new TaskException({ taskId: run.g.ids[i]!, cause })))
  )
}

const settleWith = (run: RunCore, i: number, exit: Exit.Exit<unknown, unknown>): void => {
  if (run.status[i] !== RUNNING || run.done) return
  run.completions.push(i, exit)
  guarded(run, run.drain)
}

/** Starts task `i`: takes its slot (and units and key), reports `TaskStarted`, runs its stack. */
const dispatch = (run: RunCore, i: number): void => {
  run.status[i] = RUNNING
  run.running++
  if (holdsSlot(run, i)) run.shared.used++
  const t = run.now()
  if (run.gates.gated) {
    run.gates.hold(i, 1)
    run.gates.served(i, t)
    const since = run.rateWaiting.get(i)
    if (since !== undefined) {
      run.rateWaiting.delete(i)
      run.emit({
        _tag: "TaskResumed",
        runId: run.runId,
        at: t,
        taskId: run.g.ids[i]!,
        reason: "rate-limit",
        name: run.gates.rateKeys[i]!,
        outcome: "elapsed",
        waitedMs: t - since
      })
    }
  }
  run.startedAt[i] = t
  run.sink.started(i, run.g.ids[i]!, t)
  const immediate = direct(run, i)
  if (immediate instanceof Promise) {
    awaitPromise(run, i, immediate)
    return
  }
  if (immediate !== undefined && Exit.isExit(immediate)) {
    run.completions.push(i, immediate)
    return
  }
  if (immediate !== undefined && "_tag" in immediate && immediate._tag === "Pending") {
    awaitPromise(run, i, immediate.promise)
    return
  }
  let effect: Effect.Effect<unknown, unknown, unknown>
  try {
    effect = (immediate as Effect.Effect<unknown, unknown, unknown> | undefined) ?? taskEffect(run, i)
  } catch (defect) {
    // A task value whose `run` throws while building its Effect: a defect of that task.
    effect = Effect.die(defect)
  }
  forkInto(run, i, effect, run.completions)
}

/** The drain loop: settles queued exits, dispatches while slots are free, then checks for the end. */
const drain = (run: RunCore): void => {
  if (run.draining || run.done) return
  run.draining = true
  const { completions, preflightResults, ready, status, shared, gates } = run
  const maxParallel = run.settings.maxParallel
  try {
    for (;;) {
      while (completions.length > 0 || preflightResults.length > 0) {
        if (completions.length > 0) {
          const i = completions.shift() as number
          const exit = completions.shift() as Exit.Exit<unknown, unknown>
          if (status[i] === RUNNING) finishTask(run, i, exit)
        } else {
          const i = preflightResults.shift() as number
          const exit = preflightResults.shift() as Exit.Exit<Verdict, unknown>
          if (status[i] === PREFLIGHT) finishPreflight(run, i, exit)
        }
      }
      // A task whose child workflow ended takes its slot back before new tasks start (`childRun.ts`).
      if (shared.slotWaiters !== undefined && shared.used < shared.limit && serveSlotWaiter(shared)) continue
      if (run.aborting === undefined && ready.size > 0 && run.running < maxParallel && shared.used < shared.limit) {
        const next = gates.gated ? gates.pick(ready, run.now()) : ready.pop()
        if (gates.gated) rateWait(run)
        if (next !== undefined) {
          dispatch(run, next)
          continue
        }
      }
      break
    }
  } finally {
    run.draining = false
  }
  afterDrain(run)
}

/** Starts the run's deadline: when it passes, whatever still runs is cancelled and the run fails. */
const startDeadline = (run: RunCore): void => {
  const deadlineMs = run.settings.deadlineMs
  if (deadlineMs === undefined) return
  const fiber = run.fork(Effect.sleep(Duration.millis(deadlineMs)))
  run.deadlineFiber = fiber
  fiber.addObserver((exit) => {
    if (!Exit.isSuccess(exit) || run.done || run.aborting !== undefined) return
    guarded(run, () => {
      run.deadlineHit = true
      abort(run, `deadline of ${deadlineMs} ms exceeded`)
      run.drain()
    })
  })
}

/**
 * Interrupting the run (a parent's timeout, fiber interruption) interrupts every running task and runs the
 * compensations of completed tasks (as a cancel does); the interruption waits for them, and the run still
 * ends with exactly one terminal event (`RunCancelled`) for its observers.
 */
const onInterrupt = (run: RunCore): Effect.Effect<void> =>
  Effect.suspend(() => {
    const live = run.fibers.filter((f): f is Fiber.Fiber<unknown, unknown> => f !== undefined)
    if (!run.done) {
      run.cancelled = true
      abort(run, "run interrupted")
      finish(run)
    }
    run.deadlineFiber?.interruptUnsafe()
    run.rateTimer?.interruptUnsafe()
    run.shared.wakers.delete(run.drain)
    if (run.freed) {
      run.freed = false
      wakeOthers(run.shared, run.drain)
    }
    // `finish` (here or earlier, by a cancel) forked the compensations, if any: the interruption waits for them.
    const compensating = run.compensating
    return Fiber.interruptAll(live).pipe(
      Effect.andThen(compensating === undefined ? Effect.void : Effect.asVoid(Fiber.await(compensating)))
    )
  })

/** The scheduler. Runs the compiled workflow and reports every event through `emit`. */
export const execute: Execute = (compiled, input, settings, runId, sink, control, scope) =>
  Effect.withFiber((parent) => {
    const run = makeRun(compiled, input, settings, runId, sink, scope, parent as Fiber.Fiber<unknown, unknown>)
    run.becomeReady = (i) => becomeReady(run, i)
    run.drain = () => drain(run)
    run.runChild = (impl, ctx) => runChild(run, impl, ctx, execute)
    control.cancel = () => {
      if (run.done || run.aborting !== undefined) return
      run.cancelled = true
      abort(run, "run cancelled")
      run.drain()
    }
    return Effect.callback<Outcome>((resume) => {
      run.resume = (outcome) => resume(Effect.succeed(outcome))
      // Here, not before: once the callback is registered, an interruption always ends (concludes) the run.
      control.onRun?.(run)
      sink.emit({ _tag: "RunStarted", runId, at: run.runStart, workflow: compiled.plan.name, total: run.n })
      run.shared.wakers.add(run.drain)
      startDeadline(run)
      for (let i = 0; i < run.n; i++) if (run.waiting[i] === 0) becomeReady(run, i)
      run.drain()
      return onInterrupt(run)
    })
  })
