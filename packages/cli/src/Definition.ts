/**
 * Running data definitions: the handlers of their task types (built-in ones and a user's module), with the
 * loops a definition declares (`loop: { type: for_each | while }`) applied around them.
 *
 * Built-in task types, for definitions that need no code:
 * - `echo`: outputs `parameters.value` (or `parameters.message`, else the parameters);
 * - `sleep`: waits `parameters.ms` (or `parameters.seconds`), then outputs `parameters.value`;
 * - `fail`: fails with `parameters.message`; with `parameters.times: n`, only the first n attempts fail
 *   (to try retries);
 * - `command`: runs `parameters.command` (a command line, or a program with `parameters.args`; `shell: true`
 *   for a shell script) with `@troupe/node`'s Command: output lines stream as `TaskOutput` events, and a
 *   non-zero exit fails the task.
 *
 * @since 0.1.0
 */
import * as Expression from "@troupe/core/Expression"
import type { Plan, PlanNode } from "@troupe/core/Plan"
import * as Task from "@troupe/core/Task"
import type * as Workflow from "@troupe/core/Workflow"
import { Command } from "@troupe/node"
import { Duration, Effect, Result, Schema } from "effect"

/**
 * A handler of a task type: a function of the node, the context and the TaskInfo, or a task value.
 *
 * @category models
 * @since 0.1.0
 */
export type Handler = Workflow.PlanHandler<unknown, unknown> | Task.Task<unknown, unknown, unknown, never>

/**
 * Handlers by task type.
 *
 * @category models
 * @since 0.1.0
 */
export type Handlers = Readonly<Record<string, Handler>>

/**
 * A task of type `fail` failed, as asked.
 *
 * @category errors
 * @since 0.1.0
 */
export class RequestedFailure extends Schema.TaggedError<RequestedFailure>()("RequestedFailure", {
  taskId: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return this.reason
  }
}

/**
 * A loop's items or condition could not be read at run time.
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

const str = (u: unknown): string | undefined => (typeof u === "string" ? u : undefined)
const num = (u: unknown): number | undefined => (typeof u === "number" && Number.isFinite(u) ? u : undefined)

// -----------------------------------------------------------------------------
// Built-in task types
// -----------------------------------------------------------------------------

const attemptsSeen = new Map<string, number>()

/**
 * The built-in task types.
 *
 * @category handlers
 * @since 0.1.0
 */
export const builtins: Handlers = {
  echo: (node) => {
    const p = node.parameters
    return Object.hasOwn(p, "value") ? p.value : Object.hasOwn(p, "message") ? p.message : p
  },
  sleep: (node) => {
    const p = node.parameters
    const ms = num(p.ms) ?? (num(p.seconds) === undefined ? 1000 : num(p.seconds)! * 1000)
    return Effect.sleep(Duration.millis(Math.max(0, ms))).pipe(Effect.as(Object.hasOwn(p, "value") ? p.value : null))
  },
  fail: (node, _ctx, info) => {
    const p = node.parameters
    const times = num(p.times)
    const key = `${info.runId}/${info.path}`
    const seen = (attemptsSeen.get(key) ?? 0) + 1
    attemptsSeen.set(key, seen)
    if (times !== undefined && seen > times) {
      attemptsSeen.delete(key)
      return Effect.succeed(Object.hasOwn(p, "value") ? p.value : `succeeded on attempt ${seen}`)
    }
    return Effect.fail(new RequestedFailure({ taskId: node.id, reason: str(p.message) ?? `task ${node.id} failed` }))
  },
  command: (node, _ctx, info) => {
    const p = node.parameters
    const line = str(p.command)
    if (line === undefined || line === "") {
      return Effect.fail(new RequestedFailure({ taskId: node.id, reason: "parameters.command is required" }))
    }
    const args = Array.isArray(p.args) ? p.args.map(String) : undefined
    const env = typeof p.env === "object" && p.env !== null
      ? Object.fromEntries(Object.entries(p.env).map(([k, v]) => [k, String(v)]))
      : undefined
    const options = {
      ...(str(p.cwd) === undefined ? {} : { cwd: str(p.cwd) }),
      ...(env === undefined ? {} : { env })
    }
    const spec: Command.Spec = p.shell === true
      ? { command: line, shell: true, ...options }
      : args !== undefined
      ? { command: line, args, ...options }
      : Command.parse(line, options)
    // Through Command.task, so each output line is a TaskOutput event of this task.
    return Command.task(() => spec).run(undefined as never, info).pipe(
      Effect.map((result) => ({ exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr }))
    )
  }
}

// -----------------------------------------------------------------------------
// Loops
// -----------------------------------------------------------------------------

/** Reads `input.a.b` or `<task>.a.b` from a task's context. */
const readPath = (path: string, ctx: Readonly<Record<string, unknown>>): unknown => {
  let value: unknown = ctx
  for (const segment of path.split(".")) {
    if (typeof value !== "object" || value === null || !Object.hasOwn(value, segment)) return undefined
    value = (value as Record<string, unknown>)[segment]
  }
  return value
}

type Run = (node: PlanNode, ctx: Readonly<Record<string, unknown>>, info: Task.TaskInfo) => Effect.Effect<unknown, unknown, unknown>

const runOf = (handler: Handler): Run =>
  Task.isTask(handler)
    ? (node, ctx, info) => handler.run(ctx as never, { ...info, node })
    : (node, ctx, info) => Task.fromHandler(node.id, () => handler(node, ctx as never, info))

/** The node one iteration sees: the item and its index in its parameters. */
const iterationNode = (node: PlanNode, name: string, item: unknown, index: number): PlanNode => ({
  ...node,
  parameters: { ...node.parameters, [name]: item, index }
})

const forEach = (
  run: Run,
  loop: Extract<NonNullable<PlanNode["loop"]>, { _tag: "ForEach" }>
): Run =>
(node, ctx, info) =>
  Effect.gen(function*() {
    const items = typeof loop.items === "string" ? readPath(loop.items, ctx) : loop.items
    if (!Array.isArray(items)) {
      return yield* new LoopError({ taskId: node.id, reason: `"${String(loop.items)}" is not a list` })
    }
    if (loop.maxIterations !== undefined && items.length > loop.maxIterations) {
      return yield* new LoopError({
        taskId: node.id,
        reason: `${items.length} items, more than max_iterations (${loop.maxIterations})`
      })
    }
    const results = yield* Effect.forEach(
      items.map((item, index) => [item, index] as const),
      ([item, index]) =>
        Effect.suspend(() => {
          info.iteration(index, "started")
          return run(iterationNode(node, loop.itemName, item, index), ctx, info)
        }).pipe(
          Effect.tap(() => Effect.sync(() => info.iteration(index, "completed"))),
          Effect.tapError((e) => Effect.sync(() => info.iteration(index, "failed", String((e as { message?: unknown })?.message ?? e)))),
          loop.failureMode === "continue" ? Effect.result : (effect) => effect
        ),
      { concurrency: loop.concurrency }
    )
    return loop.failureMode === "continue"
      ? (results as Array<Result.Result<unknown, unknown>>).map((r) =>
        Result.isSuccess(r) ? { ok: true, value: r.success } : { ok: false, error: String((r.failure as { message?: unknown })?.message ?? r.failure) }
      )
      : results
  })

const whileLoop = (
  run: Run,
  loop: Extract<NonNullable<PlanNode["loop"]>, { _tag: "While" }>,
  known: ReadonlyArray<string>
): Run =>
(node, ctx, info) =>
  Effect.gen(function*() {
    const language = yield* Expression.ExpressionLanguage
    if (language === undefined || language.name !== loop.language) {
      return yield* new LoopError({ taskId: node.id, reason: `the ${loop.language} expression language is not provided` })
    }
    const compiled = language.compile(loop.condition, known)
    if (Expression.isIssue(compiled)) return yield* new LoopError({ taskId: node.id, reason: compiled.message })
    const results: Record<string, { readonly status: string; readonly output?: unknown }> = {}
    for (const [key, value] of Object.entries(ctx)) if (key !== "input") results[key] = { status: "completed", output: value }
    let output: unknown = null
    for (let iteration = 0;; iteration++) {
      const scope: Expression.Scope = {
        input: ctx.input,
        // The loop's own entry: the last iteration's output (null before the first).
        results: { ...results, [node.id]: { status: "completed", output } }
      }
      const holds = compiled.evaluate(scope)
      if (typeof holds !== "boolean") return yield* new LoopError({ taskId: node.id, reason: holds.message })
      if (!holds) return output
      if (iteration >= loop.maxIterations) {
        return yield* new LoopError({
          taskId: node.id,
          reason: `the condition still held after max_iterations (${loop.maxIterations})`
        })
      }
      info.iteration(iteration, "started")
      output = yield* run(
        { ...node, parameters: { ...node.parameters, iteration, previous: output } },
        ctx,
        info
      ).pipe(Effect.tapError((e) => Effect.sync(() => info.iteration(iteration, "failed", String((e as { message?: unknown })?.message ?? e)))))
      info.iteration(iteration, "completed")
    }
  })

/**
 * The handlers a Plan runs with: the built-in task types, then the given ones (which win), each wrapped so
 * that a node's declared loop runs it per item or while its condition holds.
 *
 * @category handlers
 * @since 0.1.0
 */
export const handlersFor = (plan: Plan, handlers: Handlers = {}): Handlers => {
  const all: Record<string, Handler> = { ...builtins }
  for (const [type, handler] of Object.entries(handlers)) {
    Object.defineProperty(all, type, { value: handler, enumerable: true, writable: true, configurable: true })
  }
  if (!plan.nodes.some((node) => node.loop !== undefined)) return all
  const known = plan.nodes.map((node) => node.id)
  const wrapped: Record<string, Handler> = {}
  for (const type of Object.keys(all)) {
    const run = runOf(all[type]!)
    const handler: Workflow.PlanHandler<unknown, unknown> = (node, ctx, info) => {
      const loop = node.loop
      if (loop === undefined) return run(node, ctx, info)
      return loop._tag === "ForEach" ? forEach(run, loop)(node, ctx, info) : whileLoop(run, loop, known)(node, ctx, info)
    }
    const original = all[type]!
    Object.defineProperty(wrapped, type, {
      value: Task.isTask(original)
        ? { ...original, run: (ctx: never, info: Task.TaskInfo) => Effect.suspend(() => handler(info.node, ctx, info) as never) }
        : handler,
      enumerable: true,
      writable: true,
      configurable: true
    })
  }
  return wrapped
}
