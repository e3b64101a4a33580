/**
 * Running data definitions: the handlers of their task types (built-in ones and a user's module). The loops
 * a definition declares (`loop: { type: for_each | while }`) are applied by `Workflow.fromPlan`.
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
import * as Loop from "@troupe/core/Loop"
import * as Task from "@troupe/core/Task"
import type * as Workflow from "@troupe/core/Workflow"
import { Command } from "@troupe/node"
import { Duration, Effect, Schema } from "effect"

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
 * A loop's items or condition could not be read at run time (raised by `Workflow.fromPlan`'s loops).
 *
 * @category errors
 * @since 0.1.0
 */
export const LoopError = Loop.LoopError

/**
 * @category errors
 * @since 0.1.0
 */
export type LoopError = Loop.LoopError

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

/**
 * The handlers a Plan runs with: the built-in task types, then the given ones (which win). A node's declared
 * loop is applied by `Workflow.fromPlan` itself, for the command line and library users alike.
 *
 * @category handlers
 * @since 0.1.0
 */
export const handlersFor = (handlers: Handlers = {}): Handlers => {
  const all: Record<string, Handler> = { ...builtins }
  for (const [type, handler] of Object.entries(handlers)) {
    Object.defineProperty(all, type, { value: handler, enumerable: true, writable: true, configurable: true })
  }
  return all
}
