/**
 * Failure modes: fail-fast (the default) versus continue.
 *
 * An import pipeline where `parse` fails (after 100 ms) while `thumbnails` is still working (1 s):
 *
 * ```text
 * fetch ─┬─ parse ──────── validate ─┬─ publish
 *        └─ thumbnails ─── index ────┘
 * ```
 *
 * - `fail-fast`: the failure interrupts `thumbnails` (cancelled while running) and cancels everything that
 *   has not started (`validate`, `index`, `publish`); the run fails at once.
 * - `continue`: only the descendants of `parse` are skipped (`validate`, `publish`); `thumbnails` and
 *   `index` finish; the run then fails with every failure.
 *
 * Either way the run fails with a `WorkflowFailed` carrying the typed error (`ParseError`) in its Cause and
 * the outputs of the tasks that completed. The statuses below come from the run's events, folded by
 * `RunState.fold`.
 *
 * Run it: `npx node --conditions=source examples/src/failure-modes.ts`
 *
 * @since 0.1.0
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Engine, Plan, type RunEvent, RunState, Workflow } from "@troupe/core"
import { Cause, Console, Effect, Schema } from "effect"

/**
 * The error `parse` fails with.
 *
 * @category errors
 * @since 0.1.0
 */
export class ParseError extends Schema.TaggedError<ParseError>()("ParseError", {
  line: Schema.Number,
  reason: Schema.String
}) {}

/**
 * The workflow.
 *
 * @category workflows
 * @since 0.1.0
 */
export const pipeline = Workflow.make("import")
  .task("fetch", () => Effect.succeed(["title,price", "book,12", "lamp,forty"]))
  .task("parse", { dependsOn: ["fetch"] }, ({ fetch }) =>
    Effect.sleep("100 millis").pipe(Effect.andThen(() => {
      const bad = fetch.findIndex((row, i) => i > 0 && Number.isNaN(Number(row.split(",")[1])))
      return bad === -1
        ? Effect.succeed(fetch.slice(1).map((row) => row.split(",")))
        : Effect.fail(new ParseError({ line: bad + 1, reason: `not a number: ${fetch[bad]}` }))
    })))
  .task("validate", { dependsOn: ["parse"] }, ({ parse }) => Effect.succeed(parse.length))
  .task("thumbnails", { dependsOn: ["fetch"] }, ({ fetch }) =>
    Effect.sleep("1 second").pipe(Effect.as(fetch.length - 1)))
  .task("index", { dependsOn: ["thumbnails"] }, ({ thumbnails }) => Effect.succeed(`${thumbnails} thumbnails`))
  .task("publish", { dependsOn: ["validate", "index"] }, ({ validate, index }) =>
    Effect.succeed(`${validate} rows, ${index}`))

/**
 * What a run in one failure mode did.
 *
 * @category models
 * @since 0.1.0
 */
export interface ModeOutcome {
  readonly mode: Engine.FailureMode
  readonly statuses: Readonly<Record<string, RunState.TaskStatus>>
  /** The tasks that completed, as `WorkflowFailed` reports them. */
  readonly completed: ReadonlyArray<string>
  /** The errors of failed tasks, by task id. */
  readonly errors: Readonly<Record<string, ParseError>>
}

const runIn = (mode: Engine.FailureMode) =>
  Effect.gen(function*() {
    const events: Array<RunEvent.RunEvent> = []
    const failed = yield* Engine.run(pipeline, undefined, { failureMode: mode, onEvent: (e) => events.push(e) }).pipe(
      // The run must fail with `WorkflowFailed`; anything else is a bug in this file.
      Effect.matchEffect({
        onSuccess: () => Effect.die(new Error("expected the run to fail")),
        onFailure: (error) => error._tag === "WorkflowFailed" ? Effect.succeed(error) : Effect.die(error)
      })
    )
    const state = RunState.fold(Plan.fromWorkflow(pipeline), failed.runId, events)
    const statuses: Record<string, RunState.TaskStatus> = {}
    const errors: Record<string, ParseError> = {}
    for (const failure of failed.failures) {
      const error = Cause.findErrorOption(failure.cause)
      if (error._tag === "Some") errors[failure.taskId] = error.value
    }
    yield* Console.log(`${mode}: run failed after ${state.durationMs} ms`)
    for (const task of state.tasks) {
      statuses[task.id] = task.status
      const error = errors[task.id]
      const why = task.status === "failed" && error !== undefined
        ? `${error._tag} at line ${error.line}: ${error.reason}`
        : task.status === "cancelled" && task.startedAt !== undefined
        ? `interrupted while running (${task.reason})`
        : task.reason ?? ""
      yield* Console.log(`  ${task.id.padEnd(10)} ${task.status.padEnd(9)} ${why}`.trimEnd())
    }
    const skipped = state.tasks.filter((t) => t.status === "skipped").map((t) => t.id)
    const cancelled = state.tasks.filter((t) => t.status === "cancelled").map((t) => t.id)
    yield* Console.log(`  skipped: [${skipped.join(", ")}]  cancelled: [${cancelled.join(", ")}]`)
    return { mode, statuses, completed: failed.completed, errors } satisfies ModeOutcome
  })

/**
 * Runs the pipeline in both modes and prints what happened to each task.
 *
 * @category running
 * @since 0.1.0
 */
export const main = Effect.gen(function*() {
  const failFast = yield* runIn("fail-fast")
  const keepGoing = yield* runIn("continue")
  return { failFast, keepGoing }
})

if (import.meta.main) NodeRuntime.runMain(main)
