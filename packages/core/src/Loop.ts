/**
 * Loop: tasks that iterate. `Loop.forEach` runs a body over a list with a concurrency limit and produces
 * a typed array; `Loop.whileLoop` and `Loop.until` repeat a body over a state while (until) a condition
 * holds, with a required maximum number of iterations.
 *
 * Loops are `Task` values: add them to a workflow like any reusable task. The context the loop needs
 * (`Needs`, the task's 4th type parameter) is the parameter of its `items` (or `initial`) function, so the
 * workflow checks that the task depends on what the loop reads. Every iteration is visible as
 * `TaskIteration` events (`started`, then `completed` or `failed`), from index 0.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Loop, Workflow } from "@troupe/core"
 *
 * const wf = Workflow.make("crawl")
 *   .task("list", () => Effect.succeed(["a", "b", "c"]))
 *   .task("each", { dependsOn: ["list"] }, Loop.forEach({
 *     items: ({ list }: { readonly list: ReadonlyArray<string> }) => list,
 *     concurrency: 2,
 *     body: (page, index) => Effect.succeed(`${index}:${page}`)
 *   }))
 * ```
 *
 * @since 0.1.0
 */
import { Cause, Effect, Exit, Result, Schema } from "effect"
import type { Attributes, ErrorOf, OutputOf, ServicesOf, TaskInfo } from "./Task.ts"
import * as Task from "./Task.ts"
import { TaskHook } from "./TaskHook.ts"
import { describeCause } from "./internal/engine/describe.ts"

// -----------------------------------------------------------------------------
// Errors
// -----------------------------------------------------------------------------

/**
 * A while/until loop's condition still held after `maxIterations` iterations.
 *
 * @category errors
 * @since 0.1.0
 */
export class LoopLimitExceeded extends Schema.TaggedError<LoopLimitExceeded>()("LoopLimitExceeded", {
  taskId: Schema.String,
  maxIterations: Schema.Number
}) {
  override get message(): string {
    return `Loop of task "${this.taskId}" exceeded its maximum of ${this.maxIterations} iterations`
  }
}

/**
 * A loop declared in a data definition could not go on: its items are not a list or are more than its
 * `max_iterations`, or its condition could not be evaluated (no expression language, an evaluation error).
 *
 * @category errors
 * @since 0.1.0
 */
export class LoopError extends Schema.TaggedError<LoopError>()("LoopError", {
  taskId: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `loop of task "${this.taskId}": ${this.reason}`
  }
}

// -----------------------------------------------------------------------------
// Type-level helpers
// -----------------------------------------------------------------------------

/**
 * What the `items` function of a for-each may return: an iterable, or an Effect of one.
 *
 * @category type-level
 * @since 0.1.0
 */
export type Items = Iterable<unknown> | Effect.Effect<Iterable<unknown>, unknown, unknown>

/**
 * The element type of what an `items` function returns. (An Effect is checked first: Effects are
 * iterable too, for `yield*`.)
 *
 * @category type-level
 * @since 0.1.0
 */
export type ItemOf<I> = [I] extends [Effect.Effect<infer X, infer _E, infer _R>] ? (X extends Iterable<infer A> ? A : never)
  : [I] extends [Iterable<infer A>] ? A
  : never

/**
 * The output of a for-each: the bodies' outputs in item order; in `continue` mode one `Result` per item.
 *
 * @category type-level
 * @since 0.1.0
 */
export type ForEachOutput<B, E, Mode extends FailureMode> = [Mode] extends ["continue"]
  ? ReadonlyArray<Result.Result<B, E>>
  : [Mode] extends ["fail-fast"] ? ReadonlyArray<B>
  : ReadonlyArray<B> | ReadonlyArray<Result.Result<B, E>>

/**
 * The errors a for-each task fails with: in `continue` mode the bodies' errors are in the output instead.
 *
 * @category type-level
 * @since 0.1.0
 */
export type ForEachError<E, Mode extends FailureMode> = [Mode] extends ["continue"] ? never : E

// -----------------------------------------------------------------------------
// Models
// -----------------------------------------------------------------------------

/**
 * What a for-each does when an iteration fails:
 * - `fail-fast` (default): the task fails with the first error, iterations still running are interrupted;
 * - `continue`: every item runs; the output holds a `Result` per item.
 *
 * Defects (and interruptions) always fail the task.
 *
 * @category models
 * @since 0.1.0
 */
export type FailureMode = "fail-fast" | "continue"

/**
 * Options of `Loop.forEach`, with the task's attributes.
 *
 * @category models
 * @since 0.1.0
 */
export interface ForEachOptions<Ctx, I extends Items, F, Mode extends FailureMode> extends Attributes {
  /** The items, from the task's context (`{ input, ...dependency outputs }`). */
  readonly items: (ctx: Ctx) => I
  /** Most iterations running at once. Default 1 (one after the other). */
  readonly concurrency?: number | "unbounded" | undefined
  readonly failureMode?: Mode | undefined
  /** Runs for each item; returns an Effect, a Promise or a value. */
  readonly body: F
}

/**
 * Options of `Loop.whileLoop`, with the task's attributes.
 *
 * @category models
 * @since 0.1.0
 */
export interface WhileOptions<Ctx, S, W, E, R> extends Attributes {
  /** The state before the first iteration. */
  readonly initial: (ctx: Ctx) => S
  /** Checked before each iteration (the first too): the loop runs while it holds. */
  readonly while: (state: S, iteration: number) => W
  /** One iteration: the next state. */
  readonly body: (state: S, iteration: number, ctx: Ctx) => Effect.Effect<S, E, R>
  /** Required. When the condition still holds after this many iterations, the task fails with `LoopLimitExceeded`. */
  readonly maxIterations: number
}

/**
 * Options of `Loop.until`, with the task's attributes.
 *
 * @category models
 * @since 0.1.0
 */
export interface UntilOptions<Ctx, S, W, E, R> extends Attributes {
  /** The state before the first iteration. */
  readonly initial: (ctx: Ctx) => S
  /** Checked before each iteration (the first too): the loop stops as soon as it holds. */
  readonly until: (state: S, iteration: number) => W
  /** One iteration: the next state. */
  readonly body: (state: S, iteration: number, ctx: Ctx) => Effect.Effect<S, E, R>
  /** Required. When the condition still does not hold after this many iterations, the task fails with `LoopLimitExceeded`. */
  readonly maxIterations: number
}

/**
 * What a loop condition returns: a boolean, or an Effect of one.
 *
 * @category models
 * @since 0.1.0
 */
export type LoopCondition = boolean | Effect.Effect<boolean, unknown, unknown>

// -----------------------------------------------------------------------------
// Internals
// -----------------------------------------------------------------------------

/** Loops are composite: each iteration is its own execution for the installed TaskHook (`task[i]`). */
const makeTask = <A, E, R, Needs>(
  taskType: string,
  attributes: Attributes,
  run: (ctx: Needs, info: TaskInfo) => Effect.Effect<A, E, R>
): Task.Task<A, E, R, Needs> => ({ [Task.TypeId]: Task.TypeId, taskType, attributes, run, composite: true })

/** Runs one iteration's body through the installed TaskHook, if any, as the execution `path[index]`. */
const hooked = <A, E, R>(info: TaskInfo, index: number, effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.flatMap(TaskHook, (hook) =>
    hook === undefined
      ? effect
      : hook.around({ runId: info.runId, workflow: info.workflow, path: `${info.path}[${index}]`, taskId: info.node.id }, effect))

/** The task attributes among a loop's options (the loop's own fields removed). */
const attributesOf = (options: Attributes, own: ReadonlyArray<string>): Attributes => {
  const attributes: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(options)) if (!own.includes(key)) attributes[key] = value
  return attributes as Attributes
}

const iterationEnd = (info: TaskInfo, index: number, exit: Exit.Exit<unknown, unknown>): void => {
  if (Exit.isSuccess(exit)) info.iteration(index, "completed")
  else info.iteration(index, "failed", Cause.hasInterruptsOnly(exit.cause) ? "interrupted" : describeCause(exit.cause))
}

const toIterable = (items: unknown): Effect.Effect<Iterable<unknown>, unknown, unknown> =>
  Effect.isEffect(items) ? items as Effect.Effect<Iterable<unknown>, unknown, unknown> : Effect.succeed(items as Iterable<unknown>)

const checkLimit = (maxIterations: number): void => {
  if (!Number.isInteger(maxIterations) || maxIterations < 0) {
    throw new RangeError(`maxIterations must be an integer of at least 0, got ${maxIterations}`)
  }
}

const toCondition = (verdict: LoopCondition): Effect.Effect<boolean, unknown, unknown> =>
  typeof verdict === "boolean" ? Effect.succeed(verdict) : verdict

// -----------------------------------------------------------------------------
// Constructors
// -----------------------------------------------------------------------------

/**
 * A task that runs `body` for each item, at most `concurrency` at once, and outputs the results in item
 * order. In `fail-fast` mode (default) the first failure fails the task and interrupts the iterations
 * still running; in `continue` mode every item runs and the output holds a `Result` per item.
 *
 * Memory stays bounded by the items and the results: iterations are started on demand, `concurrency` at
 * a time, and nothing per iteration is kept once it has finished.
 *
 * @example
 * ```ts
 * import { Effect, Result } from "effect"
 * import { Loop } from "@troupe/core"
 *
 * // Task<ReadonlyArray<Result.Result<number, string>>, never, never, { readonly input: ReadonlyArray<number> }>
 * const halves = Loop.forEach({
 *   items: ({ input }: { readonly input: ReadonlyArray<number> }) => input,
 *   concurrency: 4,
 *   failureMode: "continue",
 *   body: (n) => n % 2 === 0 ? Effect.succeed(n / 2) : Effect.fail(`${n} is odd`)
 * })
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const forEach = <
  Ctx,
  I extends Items,
  B,
  Mode extends FailureMode = "fail-fast"
>(
  options: ForEachOptions<Ctx, I, (item: ItemOf<I>, index: number, ctx: Ctx) => B, Mode>
): Task.Task<
  ForEachOutput<OutputOf<B>, ErrorOf<B>, Mode>,
  ForEachError<ErrorOf<B>, Mode> | ErrorOf<I>,
  ServicesOf<B> | ServicesOf<I>,
  Ctx
> => {
  const { body, concurrency = 1, failureMode = "fail-fast", items } = options
  const attributes = attributesOf(options, ["items", "concurrency", "failureMode", "body"])
  const keepGoing = failureMode === "continue"
  const run = (ctx: Ctx, info: TaskInfo): Effect.Effect<unknown, unknown, unknown> => {
    const taskId = info.node.id
    const iterate = (item: unknown, index: number): Effect.Effect<unknown, unknown, unknown> => {
      info.iteration(index, "started")
      const effect = hooked(
        info,
        index,
        Task.fromHandler(taskId, () => (body as (item: unknown, index: number, ctx: Ctx) => unknown)(item, index, ctx))
      ).pipe(Effect.onExit((exit) => Effect.sync(() => iterationEnd(info, index, exit))))
      return keepGoing ? Effect.result(effect) : effect
    }
    return Effect.flatMap(
      Effect.suspend(() => toIterable(items(ctx))),
      (list) => Effect.forEach(list, iterate, { concurrency })
    )
  }
  return makeTask("for-each", attributes, run) as never
}

const loop = <Ctx, S>(
  taskType: string,
  initial: (ctx: Ctx) => S,
  proceed: (state: S, iteration: number) => Effect.Effect<boolean, unknown, unknown>,
  body: (state: S, iteration: number, ctx: Ctx) => Effect.Effect<S, unknown, unknown>,
  maxIterations: number,
  attributes: Attributes
): Task.Task<S, unknown, unknown, Ctx> => {
  checkLimit(maxIterations)
  const run = (ctx: Ctx, info: TaskInfo): Effect.Effect<S, unknown, unknown> =>
    Effect.suspend(() => {
      const step = (state: S, i: number): Effect.Effect<S, unknown, unknown> =>
        Effect.flatMap(proceed(state, i), (go) => {
          if (!go) return Effect.succeed(state)
          if (i >= maxIterations) {
            return Effect.fail(new LoopLimitExceeded({ taskId: info.node.id, maxIterations }))
          }
          info.iteration(i, "started")
          return hooked(info, i, Effect.suspend(() => body(state, i, ctx))).pipe(
            Effect.onExit((exit) => Effect.sync(() => iterationEnd(info, i, exit))),
            Effect.flatMap((next) => step(next, i + 1))
          )
        })
      return step(initial(ctx), 0)
    })
  return makeTask(taskType, attributes, run)
}

/**
 * A task that repeats `body` over a state while `while(state, iteration)` holds (checked before each
 * iteration) and outputs the final state. `maxIterations` is required: when the condition still holds
 * after that many iterations the task fails with `LoopLimitExceeded`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Loop } from "@troupe/core"
 *
 * const doubling = Loop.whileLoop({
 *   initial: () => 1,
 *   while: (n) => n < 100,
 *   body: (n) => Effect.succeed(n * 2),
 *   maxIterations: 10
 * })
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const whileLoop = <Ctx, S, W extends LoopCondition, E = never, R = never>(
  options: WhileOptions<Ctx, S, W, E, R>
): Task.Task<S, E | ErrorOf<W> | LoopLimitExceeded, R | ServicesOf<W>, Ctx> =>
  loop<Ctx, S>(
    "while",
    options.initial,
    (state, i) => toCondition(options.while(state, i)),
    options.body,
    options.maxIterations,
    attributesOf(options, ["initial", "while", "body", "maxIterations"])
  ) as never

/**
 * `whileLoop` with the condition inverted: repeats `body` until `until(state, iteration)` holds (checked
 * before each iteration, so a condition that holds at once runs no iteration).
 *
 * @category constructors
 * @since 0.1.0
 */
export const until = <Ctx, S, W extends LoopCondition, E = never, R = never>(
  options: UntilOptions<Ctx, S, W, E, R>
): Task.Task<S, E | ErrorOf<W> | LoopLimitExceeded, R | ServicesOf<W>, Ctx> =>
  loop<Ctx, S>(
    "until",
    options.initial,
    (state, i) => Effect.map(toCondition(options.until(state, i)), (done) => !done),
    options.body,
    options.maxIterations,
    attributesOf(options, ["initial", "until", "body", "maxIterations"])
  ) as never
