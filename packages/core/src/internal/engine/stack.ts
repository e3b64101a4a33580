/**
 * @internal The task stack: what runs in a dispatched task's fiber. Each layer is a small combinator,
 * applied in this fixed order, from the inside out:
 *
 * 1. `call`: the handler (or the sub-workflow), given its context (and `TaskInfo` when it takes one);
 * 2. `withAttemptTimeout`: each attempt's limit (`attemptTimeout`);
 * 3. `withBreaker`: the circuit breaker sees the whole attempt, its timeout included;
 * 4. `attempt`: counts the attempt and reports attempts after the first as `TaskStarted`;
 * 5. `withRetry`: the retry policy (`Policy.decide`), with `TaskRetrying` and the policy's delay;
 * 6. `withTaskTimeout`: the task's limit over all attempts (`timeout`);
 * 7. `withFallback`: the fallback's output when everything above failed;
 * 8. `withHook`: the installed `TaskHook` around all of the above (a durable step), for leaf tasks;
 * 9. `withCacheStore`: stores the output under the key the preflight computed;
 * 10. `spanned`: a span `<workflow>.<task>` when a tracer is installed.
 *
 * The condition and the cache lookup come before, in the preflight (`preflight.ts`). A task with none of
 * layers 2–9 is "simple": an inline handler then runs without a fiber when it returns a finished Effect
 * or a plain value (`direct`).
 */
import { Cause, type Context, Duration, Effect, Exit, Option } from "effect"
import { CircuitOpen } from "../../Breaker.ts"
import * as Policy from "../../Policy.ts"
import type { RunEvent } from "../../RunEvent.ts"
import type { TaskInfo } from "../../Task.ts"
import type { TaskExecution } from "../../TaskHook.ts"
import * as TaskCache from "../../TaskCache.ts"
import { TaskTimeout } from "../../WorkflowError.ts"
import type { TaskImpl } from "../workflowPlan.ts"
import { reclaimParked, runWorkflowFor } from "./childRun.ts"
import { describeCause } from "./describe.ts"
import { contextFor, pathOf, type RunCore } from "./state.ts"

type Eff = Effect.Effect<unknown, unknown, unknown>

/**
 * Runs `effect` in its own fiber and waits for it at most `ms`. On timeout the fiber is asked to stop and
 * the wait ends at once, even if the fiber is inside an uninterruptible region (it then finishes that
 * region in the background and its result is discarded): a timeout frees the task's slot at once.
 */
const detachedTimeout = (effect: Eff, ms: number, onTimeout: () => unknown): Eff =>
  Effect.withFiber((fiber) =>
    Effect.callback<unknown, unknown>((resumeAttempt) => {
      const child = Effect.runForkWith(fiber.context as Context.Context<unknown>)(effect)
      child.addObserver((exit) => resumeAttempt(exit))
      return Effect.sync(() => child.interruptUnsafe())
    }).pipe(Effect.timeoutOrElse({ duration: Duration.millis(ms), orElse: () => Effect.fail(onTimeout()) }))
  )

/** One attempt and nothing around it: no breaker, timeout, retry, fallback or cache store. */
export const isSimple = (run: RunCore, i: number): boolean => {
  const impl = run.impls[i]!
  const node = impl.node
  return impl.breaker === undefined && node.attemptTimeoutMs === undefined &&
    (impl.retry ?? run.compiled.retry) === undefined && (node.timeoutMs ?? run.plan.defaultTimeoutMs) === undefined &&
    impl.fallback === undefined && run.cacheKeys[i] === undefined
}

/** A handler's Promise, settled by the dispatcher without a fiber. */
export interface Pending {
  readonly _tag: "Pending"
  readonly promise: PromiseLike<unknown>
}

const isPromiseLike = (u: object): u is PromiseLike<unknown> => typeof (u as { then?: unknown }).then === "function"

/**
 * For a simple task declared inline, when no tracer wants a span and no TaskHook is installed: calls the
 * handler here. A handler that returns an already-finished Effect (`Effect.succeed`, `Effect.fail`,
 * `Effect.void`) or a plain value completes without a fiber (an Exit); a Promise is settled by the
 * dispatcher when it settles, also without a fiber (a native Promise as it is, another thenable as `Pending`: a
 * Promise cannot be interrupted anyway);
 * otherwise the Effect it returned is what the fiber runs. Undefined: the task takes the full stack.
 */
export const direct = (
  run: RunCore,
  i: number
): Exit.Exit<unknown, unknown> | Promise<unknown> | Pending | Eff | undefined => {
  const impl = run.impls[i]!
  if (run.tracing || run.hook !== undefined || impl.handler === undefined || (!run.plain && !isSimple(run, i))) {
    return undefined
  }
  // A handler that declares no parameter (`() => ...`) cannot read the context: it is not built.
  const ctx = impl.handler.length === 0 && impl.compensate === undefined
    ? run.inputOnly
    : run.contexts[i] ?? contextFor(run, i)
  run.contexts[i] = impl.compensate === undefined ? undefined : ctx
  try {
    const result: unknown = impl.handler(ctx as never)
    if (typeof result !== "object" || result === null) return Exit.succeed(result)
    // A native Promise (what most handlers return) is settled by the dispatcher as it is.
    if (result instanceof Promise) return result
    if (Exit.isExit(result)) return result
    if (Effect.isEffect(result)) return result
    if (isPromiseLike(result)) return { _tag: "Pending", promise: result }
    return Exit.succeed(result)
  } catch (defect) {
    // A handler that throws, or returns a value that throws when looked at (a hostile Proxy).
    return Exit.die(defect)
  }
}

/** What a task that takes a second parameter is told about its run. */
const taskInfo = (run: RunCore, i: number, attempt: number): TaskInfo => {
  const node = run.impls[i]!.node
  const { emit, now, runId } = run
  return {
    workflow: run.plan.name,
    runId,
    node,
    path: pathOf(run, i),
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
      }),
    runWorkflow: runWorkflowFor(run, i)
  }
}

/** Layer 1: the handler (inline handlers take only the context: no TaskInfo is built for them). */
const call = (run: RunCore, impl: TaskImpl, i: number, ctx: Record<string, unknown>, k: number): Eff =>
  impl.child !== undefined
    ? run.runChild(impl, ctx)
    : impl.run(ctx as never, impl.run.length < 2 ? undefined as never : taskInfo(run, i, k))

/** Layer 2. */
const withAttemptTimeout = (impl: TaskImpl, attempt: Eff): Eff => {
  const ms = impl.node.attemptTimeoutMs
  if (ms === undefined) return attempt
  return detachedTimeout(attempt, ms, () => new TaskTimeout({ taskId: impl.node.id, timeoutMs: ms, scope: "attempt" }))
}

/** Layer 3: a breaker guard around one attempt; transitions are reported as `BreakerStateChanged`. */
const withBreaker = (run: RunCore, impl: TaskImpl, attempt: Eff): Eff => {
  const breaker = impl.breaker
  if (breaker === undefined) return attempt
  const taskId = impl.node.id
  const report = (change: { readonly from: "closed" | "open" | "half-open"; readonly to: "closed" | "open" | "half-open" } | undefined) => {
    if (change !== undefined) {
      run.emit({ _tag: "BreakerStateChanged", runId: run.runId, at: run.now(), breaker: breaker.name, taskId, ...change })
    }
  }
  return Effect.suspend(() => {
    const permit = breaker.tryAcquire(run.now())
    report(permit.transition)
    if (!permit.allowed) {
      return Effect.fail(new CircuitOpen({ breaker: breaker.name, taskId, retryAfterMs: permit.retryAfterMs }))
    }
    return attempt.pipe(Effect.onExit((exit) =>
      Effect.sync(() => {
        if (Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause)) return breaker.release()
        report(breaker.record(run.now(), Exit.isSuccess(exit)))
      })
    ))
  })
}

/** Layers 1–4 for attempt `k`. */
const attempt = (run: RunCore, impl: TaskImpl, i: number, ctx: Record<string, unknown>, k: number): Eff =>
  Effect.suspend(() => {
    // A retry after a timeout interrupted the task's child workflow: it takes its slot back first (`childRun.ts`).
    if (k > 1 && run.parking?.has(i) === true) return Effect.andThen(reclaimParked(run, i), attempt(run, impl, i, ctx, k))
    run.attempts[i] = k
    if (k > 1) run.emit({ _tag: "TaskStarted", runId: run.runId, at: run.now(), taskId: impl.node.id, attempt: k })
    return withBreaker(run, impl, withAttemptTimeout(impl, call(run, impl, i, ctx, k)))
  })

/** Decides whether to retry; an error that cannot be inspected is retried as one that matches no rule. */
const decide = (policy: Policy.Retry, error: unknown, retriesByRule: Array<number>, draw: number): Policy.Decision => {
  try {
    return Policy.decide(policy, error, retriesByRule, draw)
  } catch {
    // A getter or Proxy trap throws: the original failure is kept, and retried as an error that matches no
    // rule and suggests no delay would be.
    try {
      return Policy.decide(policy, undefined, retriesByRule, draw)
    } catch {
      return { _tag: "Stop", reason: "not-retryable" }
    }
  }
}

/** Layer 5. */
const withRetry = (run: RunCore, impl: TaskImpl, i: number, ctx: Record<string, unknown>): Eff => {
  const policy = impl.retry ?? run.compiled.retry
  if (policy === undefined) return attempt(run, impl, i, ctx, 1)
  const retriesByRule: Array<number> = []
  const loop = (k: number): Eff =>
    attempt(run, impl, i, ctx, k).pipe(Effect.catchCause((cause) => {
      if (Cause.hasInterruptsOnly(cause)) return Effect.failCause(cause)
      const error = Option.getOrUndefined(Cause.findErrorOption(cause))
      const decision = decide(policy, error, retriesByRule, run.random.nextDoubleUnsafe())
      if (decision._tag === "Stop") return Effect.failCause(cause)
      retriesByRule[decision.rule] = (retriesByRule[decision.rule] ?? 0) + 1
      run.emit({
        _tag: "TaskRetrying",
        runId: run.runId,
        at: run.now(),
        taskId: impl.node.id,
        attempt: k,
        delayMs: decision.delayMs,
        message: describeCause(cause)
      })
      return Effect.sleep(Duration.millis(decision.delayMs)).pipe(Effect.andThen(loop(k + 1)))
    }))
  return loop(1)
}

/** Layer 6. */
const withTaskTimeout = (run: RunCore, impl: TaskImpl, body: Eff): Eff => {
  const timeoutMs = impl.node.timeoutMs ?? run.plan.defaultTimeoutMs
  if (timeoutMs === undefined) return body
  return detachedTimeout(body, timeoutMs, () => new TaskTimeout({ taskId: impl.node.id, timeoutMs, scope: "task" }))
}

/** Layer 7. */
const withFallback = (run: RunCore, impl: TaskImpl, i: number, ctx: Record<string, unknown>, body: Eff): Eff => {
  const fallback = impl.fallback
  if (fallback === undefined) return body
  return body.pipe(Effect.catchCause((cause) => {
    if (Cause.hasInterruptsOnly(cause)) return Effect.failCause(cause)
    run.emit({ _tag: "TaskFallback", runId: run.runId, at: run.now(), taskId: impl.node.id, message: describeCause(cause) })
    run.fallbackUsed[i] = 1
    const error = Option.getOrUndefined(Cause.findErrorOption(cause))
    // After a timeout interrupted the task's child workflow, it takes its slot back first (`childRun.ts`).
    if (run.parking?.has(i) === true) return Effect.andThen(reclaimParked(run, i), Effect.suspend(() => fallback(error, ctx as never)))
    return fallback(error, ctx as never)
  }))
}

/**
 * Layer 8: the TaskHook wraps the stack of a leaf task (not sub-workflows, whose tasks are wrapped, nor
 * composite tasks, which call the hook per execution).
 */
const withHook = (run: RunCore, impl: TaskImpl, i: number, body: Eff): Eff => {
  const hook = run.hook
  if (hook === undefined || impl.child !== undefined || impl.composite === true) return body
  const execution: { -readonly [K in keyof TaskExecution]: TaskExecution[K] } = {
    runId: run.scope.runId,
    workflow: run.scope.workflow,
    path: pathOf(run, i),
    taskId: impl.node.id
  }
  const output = impl.output ?? (impl.cache === false ? undefined : impl.cache?.output)
  if (output !== undefined) execution.output = output
  return hook.around(execution, body)
}

/** Layer 9: not for a fallback's output. */
const withCacheStore = (run: RunCore, impl: TaskImpl, i: number, body: Eff): Eff => {
  const key = run.cacheKeys[i]
  if (key === undefined) return body
  const policy = impl.cache === false ? undefined : impl.cache
  const ttl = policy?.ttl
  const schema = policy?.output
  return body.pipe(Effect.tap((value) =>
    run.fallbackUsed[i] === 1
      ? Effect.void
      : schema === undefined
      ? TaskCache.store(key, value, ttl === undefined ? {} : { ttl })
      : TaskCache.store(key, value as never, { schema: schema as never, ...(ttl === undefined ? {} : { ttl }) })
  ))
}

/**
 * Layer 10: each task runs in a span `<workflow>.<task>` when a tracer is installed (with Effect's built-in
 * tracer, which records nowhere, the spans would be pure overhead on the per-task path).
 */
const spanned = (run: RunCore, taskId: string, effect: Eff): Eff =>
  run.tracing
    ? Effect.withSpan(effect, `${run.plan.name}.${taskId}`, {
      attributes: { "troupe.workflow": run.plan.name, "troupe.task": taskId, "troupe.run": run.runId },
      captureStackTrace: false
    })
    : effect

/** The whole stack of task `i` (built when it is dispatched; a throw while building is the task's defect). */
export const taskEffect = (run: RunCore, i: number): Eff => {
  const impl = run.impls[i]!
  const ctx = run.contexts[i] ?? contextFor(run, i)
  // Kept only for the compensation, which receives the context the task ran with.
  run.contexts[i] = impl.compensate === undefined ? undefined : ctx
  if (isSimple(run, i)) {
    // The common case: one attempt, nothing around it but the hook and the span.
    const once = run.hook === undefined ? call(run, impl, i, ctx, 1) : Effect.suspend(() => call(run, impl, i, ctx, 1))
    return spanned(run, impl.node.id, withHook(run, impl, i, once))
  }
  const body = withFallback(run, impl, i, ctx, withTaskTimeout(run, impl, withRetry(run, impl, i, ctx)))
  return spanned(run, impl.node.id, withCacheStore(run, impl, i, withHook(run, impl, i, body)))
}
