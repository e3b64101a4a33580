/**
 * RunAssertions: record a run's events and handler activity, run it on `TestClock`, and check the
 * invariants every correct run satisfies (each task started once, dependencies finished first, never
 * more than the concurrency limit in flight).
 *
 * Assertions throw an `Error` that says what went wrong (they do not depend on a test framework), so they
 * work inside `Effect.sync`, fast-check properties and plain tests alike.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Engine } from "@troupe/core"
 * import { Dags, RunAssertions } from "@troupe/testing"
 *
 * const dag = Dags.make([[10, []], [5, [0]], [7, [0]]])
 * const probe = RunAssertions.probe()
 * const recording = RunAssertions.record()
 * const wf = Dags.toWorkflow(dag, { handler: (node) => probe.wrap(node.id, Dags.sleeping()(node)) })
 * const program = RunAssertions.runOnTestClock(Engine.run(wf, undefined, { onEvent: recording.onEvent }), {
 *   advanceMs: Dags.totalWork(dag)
 * })
 * ```
 *
 * @since 0.1.0
 */
import { Cause, Effect, Exit, Fiber, Option, Scope } from "effect"
import * as fc from "fast-check"
import { TestClock } from "effect/testing"
import { type RunEvent, WorkflowError } from "@troupe/core"
import type { Dag } from "./Dags.ts"

// -----------------------------------------------------------------------------
// Recording
// -----------------------------------------------------------------------------

/**
 * The events of a run, in the order they were emitted.
 *
 * @category models
 * @since 0.1.0
 */
export interface Recording {
  readonly events: ReadonlyArray<RunEvent.RunEvent>
  /** Pass as the run's `onEvent` option. */
  readonly onEvent: (event: RunEvent.RunEvent) => void
}

/**
 * Starts an empty recording.
 *
 * @category constructors
 * @since 0.1.0
 */
export const record = (): Recording => {
  const events: Array<RunEvent.RunEvent> = []
  return { events, onEvent: (event) => void events.push(event) }
}

/**
 * What handlers did: how often each was invoked, how many ran at once, which ones ended (by any exit,
 * including interruption).
 *
 * @category models
 * @since 0.1.0
 */
export interface Probe {
  /** Wraps a handler's effect so the probe sees it start and end. */
  readonly wrap: <A, E, R>(id: string, effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  readonly invocations: ReadonlyMap<string, number>
  /** Handlers running now. */
  readonly inFlight: () => number
  /** The most handlers that ever ran at once. */
  readonly maxInFlight: () => number
  /** Ids whose handler ended by interruption. */
  readonly interrupted: ReadonlySet<string>
}

/**
 * A fresh probe.
 *
 * @category constructors
 * @since 0.1.0
 */
export const probe = (): Probe => {
  const invocations = new Map<string, number>()
  const interrupted = new Set<string>()
  let inFlight = 0
  let maxInFlight = 0
  return {
    wrap: (id, effect) =>
      Effect.suspend(() => {
        invocations.set(id, (invocations.get(id) ?? 0) + 1)
        inFlight++
        maxInFlight = Math.max(maxInFlight, inFlight)
        return effect.pipe(
          Effect.onExit((exit) =>
            Effect.sync(() => {
              inFlight--
              if (Exit.isFailure(exit) && exit.cause.reasons.some((r) => r._tag === "Interrupt")) interrupted.add(id)
            })
          )
        )
      }),
    invocations,
    inFlight: () => inFlight,
    maxInFlight: () => maxInFlight,
    interrupted
  }
}

// -----------------------------------------------------------------------------
// Running
// -----------------------------------------------------------------------------

/**
 * Forks `effect`, advances the `TestClock` by `advanceMs` (then 1 ms at a time, up to `maxExtraMs`,
 * default 10 000, if it has not finished), and returns its exit. Dies if the effect never finishes.
 * Requires a `TestClock` (`it.effect` provides one; so does `property`).
 *
 * @category running
 * @since 0.1.0
 */
export const runOnTestClock = <A, E, R>(
  effect: Effect.Effect<A, E, R>,
  options: { readonly advanceMs: number; readonly maxExtraMs?: number | undefined }
): Effect.Effect<Exit.Exit<A, E>, never, R> =>
  Effect.gen(function*() {
    const fiber = yield* Effect.forkChild(effect, { startImmediately: true })
    yield* TestClock.adjust(Math.max(0, options.advanceMs))
    const maxExtra = options.maxExtraMs ?? 10_000
    for (let extra = 0; fiber.pollUnsafe() === undefined; extra++) {
      if (extra > maxExtra) {
        yield* Fiber.interrupt(fiber)
        return yield* Effect.die(
          new Error(`the run did not finish within ${options.advanceMs + maxExtra} ms of virtual time`)
        )
      }
      yield* Effect.yieldNow
      if (fiber.pollUnsafe() !== undefined) break
      yield* TestClock.adjust(1)
    }
    return yield* Fiber.await(fiber)
  })

/**
 * Checks a fast-check property whose body is an Effect: each run gets its own `TestClock` and `Scope`.
 * Fails (as a defect carrying fast-check's report, with the shrunk counterexample) if any run fails.
 *
 * @category running
 * @since 0.1.0
 */
export const property = <T>(
  arbitrary: fc.Arbitrary<T>,
  check: (value: T) => Effect.Effect<void, unknown, Scope.Scope>,
  parameters: fc.Parameters<[T]> = {}
): Effect.Effect<void> =>
  Effect.promise(() =>
    fc.assert(
      fc.asyncProperty(arbitrary, (value) =>
        Effect.runPromise(
          check(value).pipe(
            Effect.scoped,
            Effect.provide(TestClock.layer())
          )
        )),
      parameters
    )
  )

// -----------------------------------------------------------------------------
// Reading events
// -----------------------------------------------------------------------------

/**
 * How a task ended.
 *
 * @category models
 * @since 0.1.0
 */
export type TaskEnd = "completed" | "failed" | "skipped" | "cancelled"

/**
 * One task as seen in the events: when it first started and how it ended, with positions in the event
 * list (`order`) to compare events that share a timestamp.
 *
 * @category models
 * @since 0.1.0
 */
export interface TaskTimeline {
  readonly id: string
  /** TaskStarted events with attempt 1 (a correct run has at most one). */
  readonly starts: number
  readonly startedAt?: number | undefined
  readonly startOrder?: number | undefined
  readonly end?: TaskEnd | undefined
  readonly endedAt?: number | undefined
  readonly endOrder?: number | undefined
  /** How many end events the task had (a correct run has at most one). */
  readonly ends: number
}

/**
 * The run as seen in its events.
 *
 * @category models
 * @since 0.1.0
 */
export interface Timeline {
  readonly tasks: ReadonlyMap<string, TaskTimeline>
  readonly runStartedAt?: number | undefined
  readonly runEnd?: "RunCompleted" | "RunFailed" | "RunCancelled" | undefined
  readonly runEndedAt?: number | undefined
  /** The end event's `durationMs`. */
  readonly durationMs?: number | undefined
}

const endOf = (tag: RunEvent.RunEvent["_tag"]): TaskEnd | undefined =>
  tag === "TaskCompleted"
    ? "completed"
    : tag === "TaskFailed"
    ? "failed"
    : tag === "TaskSkipped"
    ? "skipped"
    : tag === "TaskCancelled"
    ? "cancelled"
    : undefined

/**
 * Folds events into per-task timelines.
 *
 * @category constructors
 * @since 0.1.0
 */
export const timeline = (events: ReadonlyArray<RunEvent.RunEvent>): Timeline => {
  type Mutable = { -readonly [K in keyof TaskTimeline]: TaskTimeline[K] }
  const tasks = new Map<string, Mutable>()
  const get = (id: string): Mutable => {
    let t = tasks.get(id)
    if (t === undefined) {
      t = { id, starts: 0, ends: 0 }
      tasks.set(id, t)
    }
    return t
  }
  let runStartedAt: number | undefined
  let runEnd: Timeline["runEnd"]
  let runEndedAt: number | undefined
  let durationMs: number | undefined
  events.forEach((event, order) => {
    switch (event._tag) {
      case "RunStarted":
        runStartedAt = event.at
        return
      case "RunCompleted":
      case "RunFailed":
      case "RunCancelled":
        runEnd = event._tag
        runEndedAt = event.at
        durationMs = event.durationMs
        return
      case "TaskStarted": {
        const t = get(event.taskId)
        if (event.attempt === 1) {
          t.starts++
          if (t.startedAt === undefined) {
            t.startedAt = event.at
            t.startOrder = order
          }
        }
        return
      }
      default: {
        const end = endOf(event._tag)
        if (end === undefined || !("taskId" in event)) return
        const t = get(event.taskId)
        t.ends++
        t.end = end
        t.endedAt = event.at
        t.endOrder = order
      }
    }
  })
  return { tasks, runStartedAt, runEnd, runEndedAt, durationMs }
}

/**
 * The ids of the tasks that ended a given way.
 *
 * @category combinators
 * @since 0.1.0
 */
export const idsWith = (events: ReadonlyArray<RunEvent.RunEvent> | Timeline, end: TaskEnd): ReadonlySet<string> => {
  const t = "tasks" in events ? events : timeline(events)
  const ids = new Set<string>()
  for (const task of t.tasks.values()) if (task.end === end) ids.add(task.id)
  return ids
}

/**
 * The ids of the tasks that started.
 *
 * @category combinators
 * @since 0.1.0
 */
export const startedIds = (events: ReadonlyArray<RunEvent.RunEvent> | Timeline): ReadonlySet<string> => {
  const t = "tasks" in events ? events : timeline(events)
  const ids = new Set<string>()
  for (const task of t.tasks.values()) if (task.starts > 0) ids.add(task.id)
  return ids
}

// -----------------------------------------------------------------------------
// Assertions
// -----------------------------------------------------------------------------

const fail = (message: string): never => {
  throw new Error(message)
}

/**
 * The event list is one run: it starts with RunStarted, ends with exactly one run end event, and every
 * task has at most one start (attempt 1) and exactly one end, never a start after its end.
 *
 * @category assertions
 * @since 0.1.0
 */
export const assertWellFormed = (events: ReadonlyArray<RunEvent.RunEvent>, taskIds: Iterable<string>): void => {
  if (events[0]?._tag !== "RunStarted") fail(`the first event is ${events[0]?._tag}, not RunStarted`)
  const ends = events.filter((e) => e._tag === "RunCompleted" || e._tag === "RunFailed" || e._tag === "RunCancelled")
  if (ends.length !== 1) fail(`expected one run end event, got ${ends.length}`)
  const last = events[events.length - 1]!
  if (last !== ends[0]) fail(`the last event is ${last._tag}, not the run's end`)
  const t = timeline(events)
  for (const id of taskIds) {
    const task = t.tasks.get(id)
    if (task === undefined || task.ends !== 1) fail(`task "${id}" has ${task?.ends ?? 0} end events, expected 1`)
    if (task!.starts > 1) fail(`task "${id}" started ${task!.starts} times`)
    if (task!.startOrder !== undefined && task!.startOrder > task!.endOrder!) fail(`task "${id}" started after it ended`)
    if (task!.startedAt !== undefined && task!.startedAt > task!.endedAt!) fail(`task "${id}" ends before it starts`)
  }
}

/**
 * Every handler that ran was invoked exactly once, and exactly the tasks with a TaskStarted event ran.
 *
 * @category assertions
 * @since 0.1.0
 */
export const assertRanOnce = (probe: Probe, events: ReadonlyArray<RunEvent.RunEvent>): void => {
  const started = startedIds(events)
  for (const [id, count] of probe.invocations) {
    if (count !== 1) fail(`task "${id}" ran ${count} times`)
    if (!started.has(id)) fail(`task "${id}" ran without a TaskStarted event`)
  }
  for (const id of started) if (!probe.invocations.has(id)) fail(`task "${id}" started but its handler never ran`)
}

/**
 * No task started before all of its dependencies completed: each dependency has a TaskCompleted event
 * earlier in the list, at a time no later than the start.
 *
 * @category assertions
 * @since 0.1.0
 */
export const assertDependenciesFirst = (dag: Dag, events: ReadonlyArray<RunEvent.RunEvent>): void => {
  const t = timeline(events)
  for (const node of dag.nodes) {
    const task = t.tasks.get(node.id)
    if (task?.startOrder === undefined) continue
    for (const d of node.deps) {
      const dep = t.tasks.get(dag.nodes[d]!.id)
      if (dep?.end !== "completed") {
        fail(`task "${node.id}" started although its dependency "${dag.nodes[d]!.id}" ${dep?.end ?? "did not end"}`)
      }
      if (dep!.endOrder! > task.startOrder || dep!.endedAt! > task.startedAt!) {
        fail(
          `task "${node.id}" started (at ${task.startedAt}, event ${task.startOrder}) before its dependency ` +
            `"${dep!.id}" completed (at ${dep!.endedAt}, event ${dep!.endOrder})`
        )
      }
    }
  }
}

/**
 * Never more than `limit` tasks between their TaskStarted and their end event.
 *
 * @category assertions
 * @since 0.1.0
 */
export const assertConcurrencyAtMost = (events: ReadonlyArray<RunEvent.RunEvent>, limit: number): void => {
  const running = new Set<string>()
  for (const event of events) {
    if (event._tag === "TaskStarted") {
      running.add(event.taskId)
      if (running.size > limit) {
        fail(`${running.size} tasks running at ${event.at} (limit ${limit}): ${[...running].join(", ")}`)
      }
    } else if (endOf(event._tag) !== undefined && "taskId" in event) {
      running.delete(event.taskId)
    }
  }
}

/**
 * Two sets have the same elements; the message lists the differences.
 *
 * @category assertions
 * @since 0.1.0
 */
export const assertSameSet = (what: string, actual: Iterable<string>, expected: Iterable<string>): void => {
  const a = new Set(actual)
  const e = new Set(expected)
  const missing = [...e].filter((x) => !a.has(x))
  const extra = [...a].filter((x) => !e.has(x))
  if (missing.length > 0 || extra.length > 0) {
    fail(`${what}: missing [${missing.join(", ")}], unexpected [${extra.join(", ")}]`)
  }
}

// -----------------------------------------------------------------------------
// Failures
// -----------------------------------------------------------------------------

/**
 * The typed error of a failed exit; throws (failing the test) when the exit succeeded or failed without one.
 *
 * @category assertions
 * @since 0.1.0
 */
export const errorOf = <A, E>(exit: Exit.Exit<A, E>): E => {
  if (Exit.isSuccess(exit)) return fail("expected a failure, the effect succeeded")
  const error = Cause.findErrorOption(exit.cause)
  if (Option.isNone(error)) return fail(`expected a typed failure, got ${Cause.pretty(exit.cause)}`)
  return error.value
}

/**
 * The `WorkflowFailed` of a failed run; throws (failing the test) otherwise.
 *
 * @category assertions
 * @since 0.1.0
 */
export const failedRun = <A, E>(exit: Exit.Exit<A, E>): WorkflowError.WorkflowFailed<unknown> => {
  const error: unknown = errorOf(exit)
  if (!(error instanceof WorkflowError.WorkflowFailed)) return fail(`expected WorkflowFailed, got ${String(error)}`)
  return error
}

/**
 * The typed error a task failed with in a failed run (undefined for a defect); throws when the task did
 * not fail.
 *
 * @category assertions
 * @since 0.1.0
 */
export const taskError = (failed: WorkflowError.WorkflowFailed<unknown>, taskId: string): unknown => {
  const failure = failed.failures.find((f) => f.taskId === taskId)
  if (failure === undefined) return fail(`no failure for task "${taskId}"`)
  return Option.getOrUndefined(Cause.findErrorOption(failure.cause))
}
