/**
 * @internal Settlement: what happens when a task ends, and how a run ends.
 *
 * - `finishTask`: a task's exit becomes `TaskCompleted` / `TaskFailed`; its slot, units and key are given
 *   back. On failure, `fail-fast` aborts the run; `continue` releases its dependants as skipped.
 * - `release`: dependants whose last dependency settled become ready, or are skipped (a failed or skipped
 *   dependency), iteratively.
 * - `abort`: pending tasks are cancelled; running ones are settled as cancelled at once and interrupted
 *   without waiting (their slots are free immediately).
 * - `finish`: compensations when needed (a failed, cancelled or interrupted run; in reverse completion
 *   order), then exactly one terminal event,
 *   then the outcome for whoever awaits the run.
 * - `guarded`: bookkeeping called from fiber observers (outside any Effect) never throws out.
 */
import { Cause, Effect, Exit, type Fiber } from "effect"
import type { CompensationResult } from "../../WorkflowError.ts"
import { censusOf } from "./census.ts"
import { describeCause } from "./describe.ts"
import { wakeOthers } from "./gates.ts"
import {
  CANCELLED,
  type ChildRun,
  COMPLETED,
  FAILED,
  type Outcome,
  PENDING,
  PREFLIGHT,
  READY,
  type RunCore,
  RUNNING,
  setOwn,
  settle,
  SKIPPED,
  type Verdict
} from "./state.ts"

/** Whether a task's handler holds one of the tree's shared slots (a sub-workflow task does not). */
export const holdsSlot = (run: RunCore, i: number): boolean => run.impls[i]!.child === undefined

/** Gives back what a running task holds: its slot in the run and in the tree, its pool units and key. */
const giveBack = (run: RunCore, i: number) => {
  // A task waiting for its child workflow gave its slot up already (`childRun.ts`): it is counted back first.
  const parked = run.parking?.get(i)
  if (parked !== undefined) {
    run.parking!.delete(i)
    run.running++
    run.shared.used++
    parked.ended()
  }
  run.running--
  if (holdsSlot(run, i)) run.shared.used--
  if (run.gates.gated) run.gates.hold(i, -1)
  run.freed = true
}

/**
 * A task whose dependencies all settled: skipped when a dependency failed, or was skipped (and it does not
 * run when one is), returning true (its dependants are released in turn); else it becomes ready.
 */
const unblock = (run: RunCore, s: number): boolean => {
  const failedDep = run.blockedByFailure[s]
  const skippedDep = run.blockedBySkip[s]
  if (failedDep === undefined && (skippedDep === undefined || run.plan.nodes[s]!.runIfSkipped)) {
    run.becomeReady(s)
    return false
  }
  settle(run, s, SKIPPED)
  const reason = failedDep !== undefined ? `dependency "${failedDep}" failed` : `dependency "${skippedDep}" was skipped`
  run.emit({ _tag: "TaskSkipped", runId: run.runId, at: run.now(), taskId: run.g.ids[s]!, reason })
  return true
}

/**
 * Releases the dependants of a finished task; tasks that become blocked are skipped in turn (iteratively:
 * a long chain of skips must not grow the stack).
 */
export const release = (run: RunCore, first: number): void => {
  const { g, plan, status, blockedByFailure, blockedBySkip, waiting } = run
  const succs = g.succs
  let stack: Array<number> | undefined
  let v = first
  for (;;) {
    const st = status[v]
    const next = succs[v]!
    if (st === COMPLETED) {
      // The common case: dependants whose last dependency this was become ready.
      for (let k = 0; k < next.length; k++) {
        const s = next[k]!
        if (--waiting[s] !== 0 || status[s] !== PENDING || run.aborting !== undefined) continue
        if (unblock(run, s)) (stack ??= []).push(s)
      }
      if (stack === undefined || stack.length === 0) return
      v = stack.pop()!
      continue
    }
    const id = g.ids[v]!
    // A task skipped because something upstream failed passes that failure on: `continue` skips exactly
    // the failed tasks' descendants, even through tasks marked runIfSkipped.
    const failedUpstream = st === FAILED ? id : st === SKIPPED ? blockedByFailure[v] : undefined
    for (let k = 0; k < next.length; k++) {
      const s = next[k]!
      // A task whose condition is an expression over `results` decides for itself about the tasks it only
      // reads through the expression (its order dependencies): their failure or skip is visible to the
      // expression as a status, not a reason to skip.
      if (
        (failedUpstream !== undefined || st === SKIPPED) &&
        !(plan.nodes[s]!.condition?._tag === "Expression" && !plan.nodes[s]!.dependsOn.includes(id))
      ) {
        if (failedUpstream !== undefined && blockedByFailure[s] === undefined) blockedByFailure[s] = failedUpstream
        if (st === SKIPPED && blockedBySkip[s] === undefined) blockedBySkip[s] = id
      }
      if (--waiting[s] !== 0 || status[s] !== PENDING) continue
      if (run.aborting !== undefined) continue
      if (unblock(run, s)) (stack ??= []).push(s)
    }
    if (stack === undefined || stack.length === 0) return
    v = stack.pop()!
  }
}

/** Settles a task from its exit. `held`: it ran in a slot and holds its pool units and key. */
export const finishTask = (run: RunCore, i: number, exit: Exit.Exit<unknown, unknown>, held = true): void => {
  if (held) giveBack(run, i)
  const node = run.plan.nodes[i]!
  const at = run.now()
  const durationMs = at - run.startedAt[i]!
  if (Exit.isSuccess(exit)) {
    const value = exit.value
    run.outputs[i] = value
    settle(run, i, COMPLETED)
    run.completionOrder.push(i)
    run.sink.completed(i, node.id, at, run.attempts[i] || 1, durationMs, value, run.fallbackUsed[i] === 1)
    release(run, i)
    return
  }
  const cause = exit.cause
  settle(run, i, FAILED)
  run.failures.push({ taskId: node.id, cause })
  run.emit({
    _tag: "TaskFailed",
    runId: run.runId,
    at,
    taskId: node.id,
    attempts: run.attempts[i] || 1,
    durationMs,
    message: describeCause(cause),
    cause
  })
  if (run.settings.failFast) abort(run, `task "${node.id}" failed`)
  else release(run, i)
}

/** Settles a preflight: the task queues for a slot, is skipped, completes from the cache, or fails. */
export const finishPreflight = (run: RunCore, i: number, exit: Exit.Exit<Verdict, unknown>): void => {
  run.preflighting--
  const node = run.plan.nodes[i]!
  if (Exit.isFailure(exit)) {
    // A condition or cache lookup that fails is the task's failure (it never took a slot).
    run.startedAt[i] = run.now()
    return finishTask(run, i, exit, false)
  }
  const verdict = exit.value
  if (verdict._tag === "Run") {
    run.status[i] = READY
    run.ready.push(i)
    return
  }
  const at = run.now()
  if (verdict._tag === "Skip") {
    settle(run, i, SKIPPED)
    run.emit({ _tag: "TaskSkipped", runId: run.runId, at, taskId: node.id, reason: verdict.reason })
  } else {
    run.outputs[i] = verdict.value
    settle(run, i, COMPLETED)
    run.completionOrder.push(i)
    run.emit({ _tag: "TaskCached", runId: run.runId, at, taskId: node.id, hash: run.cacheKeys[i]!.hash })
    run.emit({
      _tag: "TaskCompleted",
      runId: run.runId,
      at,
      taskId: node.id,
      attempts: 0,
      durationMs: 0,
      output: verdict.value,
      cached: true
    })
  }
  release(run, i)
}

/**
 * Stops the run: pending tasks are cancelled, running tasks are interrupted and settled as cancelled at
 * once (their slots and resources are free immediately, whatever the handler does).
 */
export const abort = (run: RunCore, reason: string): void => {
  if (run.aborting !== undefined) return
  run.aborting = reason
  const at = run.now()
  const { status, fibers } = run
  for (const i of run.ready.drain()) status[i] = PENDING
  for (let i = 0; i < run.n; i++) {
    const st = status[i]
    if (st !== PENDING && st !== RUNNING && st !== PREFLIGHT) continue
    if (st === RUNNING) giveBack(run, i)
    else if (st === PREFLIGHT) run.preflighting--
    if (st !== PENDING) {
      const fiber = fibers[i]
      fibers[i] = undefined
      fiber?.interruptUnsafe()
    }
    settle(run, i, CANCELLED)
    run.emit({ _tag: "TaskCancelled", runId: run.runId, at, taskId: run.g.ids[i]!, reason })
  }
}

/**
 * Keeps a sub-workflow run that task `task` of `run` started (static, or at run time), for `run`'s
 * compensations: its completed tasks are undone with the task (`compensateTree`).
 */
export const adopt = (run: RunCore, task: number, child: RunCore): void => {
  ;(run.children ??= []).push({ task, run: child })
}

/** Whether a run that ended still has something to compensate: a completed task that declares one, or a child's. */
const owes = (run: RunCore): boolean =>
  !run.compensationTaken &&
  ((run.children !== undefined && run.children.some(mayOwe)) ||
    (censusOf(run.compiled).compensates && run.completionOrder.some((i) => run.impls[i]!.compensate !== undefined)))

/**
 * Whether a child may owe compensations: exactly when it ended; while it is still ending (interrupted by its
 * parent's abort), when its tree declares any. A tree without compensations never delays its parent's end.
 */
const mayOwe = (child: ChildRun): boolean => {
  const run = child.run
  if (run.concluded) return owes(run)
  return !run.compensationTaken &&
    (censusOf(run.compiled).compensates || (run.children !== undefined && run.children.some(mayOwe)))
}

/** When a child run has ended: it is dropped from its parent's children unless it still owes compensations. */
export const childEnded = (run: RunCore, child: RunCore): void => {
  const children = run.children
  if (children === undefined || !child.concluded || owes(child)) return
  const at = children.findIndex((c) => c.run === child)
  if (at >= 0) children.splice(at, 1)
}

/** Waits until `run` emitted its terminal event (a child interrupted by its parent's abort ends soon after). */
const whenConcluded = (run: RunCore): Effect.Effect<void> =>
  Effect.callback<void>((resume) => {
    if (run.concluded) return resume(Effect.void)
    ;(run.onConcluded ??= []).push(() => resume(Effect.void))
  })

/** Runs task `i`'s compensation; its result is recorded under its path relative to the compensating run. */
const compensateTask = (
  run: RunCore,
  i: number,
  path: string,
  results: Array<CompensationResult>
): Effect.Effect<void, never, unknown> =>
  Effect.suspend(() => {
    const node = run.plan.nodes[i]!
    const started = run.now()
    return run.impls[i]!.compensate!(run.outputs[i] as never, run.contexts[i] as never).pipe(
      Effect.withSpan(`${run.plan.name}.${node.id}.compensate`),
      Effect.exit,
      Effect.map((exit) => {
        if (Exit.isSuccess(exit)) {
          results.push({ taskId: path, status: "completed" })
          run.emit({
            _tag: "TaskCompensated",
            runId: run.runId,
            at: run.now(),
            taskId: node.id,
            durationMs: run.now() - started
          })
        } else {
          results.push({ taskId: path, status: "failed", cause: exit.cause })
          run.emit({
            _tag: "CompensationFailed",
            runId: run.runId,
            at: run.now(),
            taskId: node.id,
            message: describeCause(exit.cause),
            cause: exit.cause
          })
        }
      })
    )
  })

/**
 * The compensations of `run` and of the sub-workflows its tasks started, once per run:
 * - first the children of tasks that did not complete (interrupted mid-run by the abort, or started by a
 *   task that failed), the latest started first, each after it ended;
 * - then the completed tasks in reverse completion order; at each, the children it started (the latest
 *   first: their own completed tasks, recursively), then its own compensation.
 * A child's events are its own (forwarded as `SubWorkflowEvent`s); its results are recorded under
 * `child/task`, relative to `root`.
 */
const compensateTree = (
  run: RunCore,
  root: string,
  results: Array<CompensationResult>
): Effect.Effect<void, never, unknown> =>
  Effect.suspend(() => {
    if (run.compensationTaken) return Effect.void
    run.compensationTaken = true
    const steps: Array<Effect.Effect<void, never, unknown>> = []
    const base = run.scope.prefix.slice(root.length)
    const children = run.children ?? []
    const child = (c: ChildRun) =>
      whenConcluded(c.run).pipe(Effect.andThen(compensateTree(c.run, root, results)))
    const byTask = new Map<number, Array<ChildRun>>()
    for (let c = children.length - 1; c >= 0; c--) {
      const entry = children[c]!
      if (!mayOwe(entry)) continue
      if (run.status[entry.task] !== COMPLETED) steps.push(child(entry))
      else {
        const list = byTask.get(entry.task)
        if (list === undefined) byTask.set(entry.task, [entry])
        else list.push(entry)
      }
    }
    const order = run.completionOrder
    for (let k = order.length - 1; k >= 0; k--) {
      const i = order[k]!
      const started = byTask.get(i)
      if (started !== undefined) for (const entry of started) steps.push(child(entry))
      if (run.impls[i]!.compensate !== undefined) steps.push(compensateTask(run, i, base + run.g.ids[i]!, results))
    }
    return Effect.forEach(steps, (step) => step, { discard: true })
  })

/** Compensations of `run`'s tree, in reverse completion order, each exactly once (`compensateTree`). */
const compensate = (run: RunCore): Effect.Effect<ReadonlyArray<CompensationResult>, never, unknown> =>
  Effect.suspend(() => {
    const results: Array<CompensationResult> = []
    return compensateTree(run, run.scope.prefix, results).pipe(Effect.as(results))
  })

/**
 * The outcome; its outputs record (the completed tasks' outputs by id) is built when first read: a run of
 * 100 000 tasks whose caller reads none of them builds no record of 100 000 keys. It keeps only the columns
 * it needs, not the run.
 */
const outcome = (
  run: RunCore,
  status: Outcome["status"],
  failures: Outcome["failures"],
  completed: Outcome["completed"],
  compensations: Outcome["compensations"],
  durationMs: number
): Outcome => {
  const { n, status: statuses, outputs: values } = run
  const ids = run.g.ids
  let outputs: Record<string, unknown> | undefined
  return {
    status,
    get outputs() {
      if (outputs !== undefined) return outputs
      outputs = {}
      for (let i = 0; i < n; i++) if (statuses[i] === COMPLETED) setOwn(outputs, ids[i]!, values[i])
      return outputs
    },
    failures,
    completed,
    compensations,
    durationMs
  }
}

/** The terminal event and the outcome; then whoever waits for the run's end (a parent compensating it) goes on. */
const conclude = (run: RunCore, compensations: ReadonlyArray<CompensationResult>): void => {
  try {
    report(run, compensations)
  } finally {
    run.concluded = true
    const waiters = run.onConcluded
    run.onConcluded = undefined
    if (waiters !== undefined) for (const waiter of waiters) waiter()
  }
}

const report = (run: RunCore, compensations: ReadonlyArray<CompensationResult>): void => {
  const { runId, cancelled, deadlineHit, failures } = run
  const at = run.now()
  const durationMs = at - run.runStart
  // The ids of completed tasks are only reported by a run that did not complete.
  const failing = cancelled || deadlineHit || failures.length > 0
  const completed: Array<string> = []
  if (failing) for (let i = 0; i < run.n; i++) if (run.status[i] === COMPLETED) completed.push(run.g.ids[i]!)
  const end = (status: Outcome["status"]) => outcome(run, status, failures, completed, compensations, durationMs)
  if (cancelled) {
    run.emit({ _tag: "RunCancelled", runId, at, durationMs })
    return run.resume?.(end("cancelled"))
  }
  if (failing) {
    run.emit({
      _tag: "RunFailed",
      runId,
      at,
      durationMs,
      failed: failures.map((f) => f.taskId),
      ...(deadlineHit ? { deadlineExceeded: true } : {})
    })
    return run.resume?.(end(deadlineHit ? "deadline" : "failed"))
  }
  run.emit({ _tag: "RunCompleted", runId, at, durationMs })
  run.resume?.(end("completed"))
}

/**
 * Ends the run once: compensations if it failed or was cancelled (or interrupted) and they are due, then its
 * terminal event.
 */
export const finish = (run: RunCore): void => {
  if (run.done) return
  run.done = true
  run.shared.wakers.delete(run.drain)
  run.deadlineFiber?.interruptUnsafe()
  run.rateTimer?.interruptUnsafe()
  run.rateTimer = undefined
  const failed = run.cancelled || run.deadlineHit || run.failures.length > 0
  // A sub-workflow cancelled by its parent (the parent failed or was cancelled) does not compensate by
  // itself: its parent compensates it (`compensateTree`: first, as it was interrupted mid-run), when the
  // parent compensates.
  const nestedCancel = run.cancelled && run.scope.prefix !== ""
  const needsCompensation = failed && !nestedCancel && run.settings.compensateOnFailure && owes(run)
  if (!needsCompensation) return conclude(run, [])
  const fiber = run.fork(compensate(run))
  run.compensating = fiber as Fiber.Fiber<unknown, unknown>
  fiber.addObserver((exit) => guarded(run, () => conclude(run, Exit.isSuccess(exit) ? exit.value : [])))
}

/** After a drain: ends the run when everything settled, and lets the tree's other runs use what was freed. */
export const afterDrain = (run: RunCore): void => {
  if (run.settled === run.n && run.running === 0 && run.preflighting === 0) finish(run)
  if (run.freed) {
    run.freed = false
    wakeOthers(run.shared, run.drain)
  }
}

/**
 * Runs engine bookkeeping called from a fiber observer (outside any Effect, where a throw would be
 * uncaught and end the process). The engine's own steps are built not to throw (user callbacks and values
 * are isolated where they are met); should one throw anyway, the run fails with that defect instead of
 * taking the process down.
 */
export const guarded = (run: RunCore, step: () => void): void => {
  try {
    step()
  } catch (defect) {
    run.draining = false
    if (run.done) return
    run.failures.push({ taskId: "(engine)", cause: Cause.die(defect) })
    try {
      abort(run, "engine error")
      finish(run)
    } catch {
      // the run cannot even conclude: leave it, the process lives on
    }
  }
}
