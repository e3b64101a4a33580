/**
 * @internal The loops a data definition declares (`PlanNode.loop`), applied by `Workflow.fromPlan` around a
 * task type's handler. They are the `Loop` tasks code-built workflows use (one iteration engine: the same
 * `TaskIteration` events, concurrency, failure modes, iteration limit and per-iteration TaskHook paths),
 * fed from data: a for-each reads its items from the list or a path of the context, a while loop evaluates
 * its condition with the run's expression language.
 */
import { Effect, Result } from "effect"
import * as Expression from "../Expression.ts"
import * as Loop from "../Loop.ts"
import type { LoopData, PlanNode } from "../Plan.ts"
import type { TaskInfo } from "../Task.ts"

/** What runs one execution of a data-defined task: its node (per iteration, with the item), context, info. */
export type Run = (
  node: PlanNode,
  ctx: Readonly<Record<string, unknown>>,
  info: TaskInfo
) => Effect.Effect<unknown, unknown, unknown>

type ForEachData = Extract<LoopData, { readonly _tag: "ForEach" }>
type WhileData = Extract<LoopData, { readonly _tag: "While" }>

const messageOf = (e: unknown): string => String((e as { readonly message?: unknown } | null)?.message ?? e)

/** Reads `input.a.b` or `<task>.a.b` from a task's context (own keys only). */
const readPath = (path: string, ctx: Readonly<Record<string, unknown>>): unknown => {
  let value: unknown = ctx
  for (const segment of path.split(".")) {
    if (typeof value !== "object" || value === null || !Object.hasOwn(value, segment)) return undefined
    value = (value as Record<string, unknown>)[segment]
  }
  return value
}

const itemsOf = (
  loop: ForEachData,
  taskId: string,
  ctx: Readonly<Record<string, unknown>>
): Effect.Effect<ReadonlyArray<unknown>, Loop.LoopError> => {
  const items = typeof loop.items === "string" ? readPath(loop.items, ctx) : loop.items
  if (!Array.isArray(items)) {
    return Effect.fail(new Loop.LoopError({ taskId, reason: `"${String(loop.items)}" is not a list` }))
  }
  if (loop.maxIterations !== undefined && items.length > loop.maxIterations) {
    return Effect.fail(
      new Loop.LoopError({ taskId, reason: `${items.length} items, more than max_iterations (${loop.maxIterations})` })
    )
  }
  return Effect.succeed(items)
}

/**
 * A for-each: the handler runs once per item, `concurrency` at a time, each run seeing the item in its
 * parameters under `itemName`, and `index`. The output is the list of results; in `continue` mode one
 * `{ ok: true, value }` or `{ ok: false, error }` per item (plain data, so it prints and serialises).
 */
const forEach = (run: Run, loop: ForEachData): Run => (node, ctx, info) => {
  const task = Loop.forEach({
    items: () => itemsOf(loop, node.id, ctx),
    concurrency: loop.concurrency,
    failureMode: loop.failureMode,
    body: (item: unknown, index: number) =>
      run({ ...node, parameters: { ...node.parameters, [loop.itemName]: item, index } }, ctx, info)
  })
  const results = task.run(ctx, info) as Effect.Effect<ReadonlyArray<unknown>, unknown, unknown>
  return loop.failureMode === "continue"
    ? Effect.map(results, (all) =>
      (all as ReadonlyArray<Result.Result<unknown, unknown>>).map((r) =>
        Result.isSuccess(r) ? { ok: true, value: r.success } : { ok: false, error: messageOf(r.failure) }
      ))
    : results
}

/**
 * A while loop (an until loop: while the condition does not hold): the handler runs again while the
 * condition holds (checked before each run, over `input`
 * and `results`, where `results.<this task>.output` is the last run's output, `null` before the first);
 * each run sees `iteration` and `previous` in its parameters. Still holding after `maxIterations` runs is a
 * `LoopLimitExceeded`.
 */
const whileLoop = (run: Run, loop: WhileData, known: ReadonlyArray<string>): Run => (node, ctx, info) =>
  Effect.gen(function*() {
    const language = yield* Expression.ExpressionLanguage
    const fail = (reason: string) => Effect.fail(new Loop.LoopError({ taskId: node.id, reason }))
    if (language === undefined || language.name !== loop.language) {
      return yield* fail(`the ${loop.language} expression language is not provided`)
    }
    const condition = language.compile(loop.condition, known)
    if (Expression.isIssue(condition)) return yield* fail(condition.message)
    const results: Record<string, { readonly status: string; readonly output?: unknown }> = {}
    for (const [key, value] of Object.entries(ctx)) if (key !== "input") results[key] = { status: "completed", output: value }
    return yield* Loop.whileLoop({
      initial: (): unknown => null,
      while: (output) => {
        const holds = condition.evaluate({ input: ctx.input, results: { ...results, [node.id]: { status: "completed", output } } })
        // An until loop goes on while its condition does not hold.
        return typeof holds === "boolean" ? Effect.succeed(holds !== (loop.until === true)) : fail(holds.message)
      },
      body: (previous, iteration) =>
        run({ ...node, parameters: { ...node.parameters, iteration, previous } }, ctx, info),
      maxIterations: loop.maxIterations
    }).run(ctx, info)
  })

/** The handler's run with the node's declared loop around it (the run itself when it declares none). */
export const withLoop = (run: Run, loop: LoopData | undefined, known: ReadonlyArray<string>): Run =>
  loop === undefined ? run : loop._tag === "ForEach" ? forEach(run, loop) : whileLoop(run, loop, known)
