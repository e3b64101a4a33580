/**
 * Durable: run a Troupe workflow so that a killed process resumes where it stopped.
 *
 * The same workflow value runs as an `effect/workflow` Workflow on `effect/cluster`'s
 * `ClusterWorkflowEngine` over `SingleRunner`, journaled in an embedded SQLite file (`node:sqlite`). The
 * workflow's body is Troupe's engine, unchanged (priorities, critical path, pools, limits), with a `TaskHook`
 * that makes each leaf task execution an Activity named by its stable path (`task`, `child/task`,
 * `loop[3]`, `pipe/step`). On replay, stored results come back at once and only unfinished tasks run.
 *
 * Decisions:
 * - Retries are attempts inside one activity (the TaskHook contract): a task with all its retries, its
 *   per-attempt and overall timeouts and its fallback is one journaled step. A kill during a retry delay
 *   restarts that task from its first attempt.
 * - A fallback's output is the task's journaled output. A task that failed for good is journaled as failed
 *   (its error as JSON), so replay fails it the same way without running it.
 * - Compensations (sagas) are journaled too, each an Activity named `<path>#compensate`: a run killed while
 *   compensating does not run again the compensations that finished; the others run on resume (the one in
 *   flight at the kill may run twice: at-least-once, like a task).
 * - A cancel (`Durable.cancel`, at once in this process; through the store from another process, within
 *   `cancelPollInterval`) interrupts the tasks in flight where they run, then compensates. A cancelled run
 *   killed while compensating finishes on resume: its completed tasks replay (none runs), then it is
 *   cancelled again, so the compensations not journaled run (the task results are written to the store
 *   before the first compensation, so the resume knows which tasks completed).
 * - A task that starts a child workflow (`info.runWorkflow`) is one activity with its child's tasks as
 *   activities inside it (`task/name/childTask`); `Durable.step` journals a part of a task (the caller's work
 *   before the call) as an activity of its own (`task#step/name`).
 * - Outputs cross the journal as JSON: encoded with the task's `output` schema when it declares one, else
 *   they must be JSON data (a task returning a `Date`, a `Map`, a class instance... fails with
 *   `NotSerialisable` naming the task and where in the value). Every output, live or replayed, is the decoded
 *   journal value, so a resumed run sees exactly what an uninterrupted run sees.
 * - Guarantees: at-least-once execution per task (a task in flight at a kill runs again), exactly-once
 *   completion records (a task whose result was journaled never runs again).
 *
 * For builders of other durable features (helper modules in this package: schedules, signals, clocks):
 * `Durable.layer` provides `WorkflowEngine` (register your own `effect/workflow` workflows on it, e.g.
 * `MyWorkflow.toLayer(...)`), `SqliteClient.SqliteClient` and effect's `SqlClient` (the same database; version
 * your tables with `Migrations.migrate`, dialect-neutral), and `Sharding` (for `ClusterCron`).
 * `engineLayer` builds only the engine over a `SqlClient` you provide.
 *
 * @since 0.1.0
 */
import { mkdirSync } from "node:fs"
import { NodeCrypto } from "@effect/platform-node"
import { Cause, Context, Deferred, Duration, Effect, Exit, Fiber, Layer, Queue, Schema, Scope, Semaphore } from "effect"
import { ClusterWorkflowEngine, SingleRunner } from "effect/cluster"
import type { Sharding } from "effect/cluster"
import { Activity, Workflow as EffectWorkflow, WorkflowEngine } from "effect/workflow"
import {
  Engine,
  type Plan,
  type RunEvent,
  RunState,
  RunStore,
  TaskHook,
  Workflow,
  WorkflowError
} from "@troupe/core"
import { canonical, nonJsonAt, safeStringify } from "./internal/json.ts"
import type * as Migrations from "./Migrations.ts"
import * as SqliteClient from "./SqliteClient.ts"
import * as SqlRunStore from "./SqlRunStore.ts"

// -----------------------------------------------------------------------------
// Errors
// -----------------------------------------------------------------------------

/**
 * A value that must cross the journal is not JSON data and has no schema.
 *
 * @category errors
 * @since 0.1.0
 */
export class NotSerialisable extends Schema.TaggedError<NotSerialisable>()("NotSerialisable", {
  workflow: Schema.String,
  /** The task's path, or `input` for the run's input. */
  task: Schema.String,
  detail: Schema.String
}) {
  override get message() {
    const what = this.task === "input" ? "the input" : `the output of task "${this.task}"`
    return `${what} of workflow "${this.workflow}" cannot be journaled: ${this.detail}; ` +
      `return JSON data or declare an output schema (output: Schema)`
  }
}

/**
 * A run id was used again with a different input (or for another workflow).
 *
 * @category errors
 * @since 0.1.0
 */
export class IdempotencyConflict extends Schema.TaggedError<IdempotencyConflict>()("IdempotencyConflict", {
  runId: Schema.String,
  workflow: Schema.String,
  detail: Schema.String
}) {
  override get message() {
    return `run "${this.runId}" already exists with ${this.detail}; use another run id, or the same input to join it`
  }
}

/**
 * The code of a workflow changed incompatibly since the run started.
 *
 * @category errors
 * @since 0.1.0
 */
export class IncompatibleVersion extends Schema.TaggedError<IncompatibleVersion>()("IncompatibleVersion", {
  runId: Schema.String,
  workflow: Schema.String,
  /** The task's path, or `(workflow)` for the declared version. */
  task: Schema.String,
  change: Schema.String,
  storedVersion: Schema.String,
  currentVersion: Schema.String
}) {
  override get message() {
    return `cannot resume run "${this.runId}" of "${this.workflow}": ${
      this.task === "(workflow)" ? "" : `task "${this.task}" `
    }${this.change}. Ways out: finish it with the code of version "${this.storedVersion || "(none)"}"; ` +
      `start it over with Durable.restart; or declare a migration ({ migrate: { from: "${this.storedVersion}", outputs } })`
  }
}

/**
 * `resume` of a run whose workflow this process has not registered.
 *
 * @category errors
 * @since 0.1.0
 */
export class WorkflowNotRegistered extends Schema.TaggedError<WorkflowNotRegistered>()("WorkflowNotRegistered", {
  runId: Schema.String,
  workflow: Schema.String
}) {
  override get message() {
    return `run "${this.runId}" belongs to workflow "${this.workflow}", which this process has not registered: ` +
      `provide Durable.register(workflow) or call Durable.resume(workflow, runId)`
  }
}

/**
 * A task's journaled failure, read back on replay (the original error value did not survive the process).
 *
 * @category errors
 * @since 0.1.0
 */
export class ReplayedFailure extends Schema.TaggedError<ReplayedFailure>()("ReplayedFailure", {
  task: Schema.String,
  /** The original error as JSON (its `_tag` and fields), when it had a JSON form. */
  error: Schema.Unknown,
  detail: Schema.String
}) {
  override get message() {
    return this.detail
  }
}

/**
 * The engine's journal holds, as the result of this run, a failure of the durable runtime itself (not of a
 * task), and tasks of the run had completed, so it is not started over by itself.
 *
 * @category errors
 * @since 0.1.0
 */
export class BrokenRun extends Schema.TaggedError<BrokenRun>()("BrokenRun", {
  runId: Schema.String,
  workflow: Schema.String,
  detail: Schema.String
}) {
  override get message() {
    return `run "${this.runId}" of "${this.workflow}" cannot resume: the engine's journal holds a failure of the ` +
      `durable runtime itself, not of a task (${this.detail}). Start it over with Durable.restart(workflow, runId)`
  }
}

/**
 * @category errors
 * @since 0.1.0
 */
export type DurableError =
  | BrokenRun
  | NotSerialisable
  | IdempotencyConflict
  | IncompatibleVersion
  | WorkflowNotRegistered
  | RunStore.RunNotFound
  | RunStore.StoreError

/**
 * What a durable run of a workflow whose tasks fail with `E` fails with (`run`, `resume`, `restart`).
 *
 * @category errors
 * @since 0.1.0
 */
export type RunError<E> =
  | WorkflowError.WorkflowFailed<E>
  | WorkflowError.WorkflowTimeout
  | WorkflowError.WorkflowCancelled
  | WorkflowError.DefinitionError
  | DurableError

// -----------------------------------------------------------------------------
// Models
// -----------------------------------------------------------------------------

/**
 * A migration for a run started under an older version: outputs of completed tasks (their JSON form, by
 * path) are rewritten before they are decoded with the current schemas.
 *
 * @category models
 * @since 0.1.0
 */
export interface Migration {
  readonly from: string
  readonly outputs?: Readonly<Record<string, (stored: unknown) => unknown>> | undefined
}

/**
 * @category models
 * @since 0.1.0
 */
export interface DurableOptions
  extends Omit<Engine.RunOptions, "runId" | "onEvent" | "onProgress" | "replay" | "estimates">
{
  /** Default: a random id. A run started again with the same id joins or resumes it. */
  readonly runId?: string | undefined
  /** Default: the workflow's `metadata.version`, else "". */
  readonly version?: string | undefined
  readonly migrate?: Migration | undefined
  /**
   * Called with every event of this process's part of the run (tasks replayed from the journal complete
   * again here, at once, without a `TaskStarted`).
   */
  readonly onEvent?: ((event: RunEvent.RunEvent) => void) | undefined
  /** Wraps each task execution inside its journaled step (tracing, throttling, a demo's slow motion). */
  readonly around?: (<A, E, R>(execution: TaskHook.TaskExecution, effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>) | undefined
  /**
   * Duration estimates (ms by task id) for critical-path priority. Default: the estimates declared on the
   * tasks, else the mean durations learned from past runs of the workflow in the store.
   */
  readonly estimates?: Readonly<Record<string, number>> | "learned" | "none" | undefined
}

/**
 * What a resumed run reports about itself.
 *
 * @category models
 * @since 0.1.0
 */
export interface DurableResult<Outputs> extends Engine.RunResult<Outputs> {
  /** Tasks (paths) whose journaled result was reused in this process without running them. */
  readonly skipped: ReadonlyArray<string>
  /** Tasks (paths) this process executed. */
  readonly executed: ReadonlyArray<string>
}

/**
 * @category models
 * @since 0.1.0
 */
export interface LayerOptions {
  /** The database file. Default `.troupe/troupe.db` (the directory is created). */
  readonly filename?: string | undefined
  /** `NORMAL` (default) survives a killed process; `FULL` also survives power loss, about 1.5× slower. */
  readonly synchronous?: "NORMAL" | "FULL" | undefined
  /** How often the runner polls storage for work it did not receive in-process (default 1 s). */
  readonly pollInterval?: Duration.Input | undefined
  /**
   * How long shutting down waits for tasks in flight (default 2 s). A task's execution is not interrupted
   * midway by a shutdown; one still running then is abandoned and runs again on resume.
   */
  readonly shutdownTimeout?: Duration.Input | undefined
  /**
   * How often a running run looks in the store for a cancel asked by another process (`troupe runs cancel`);
   * default 250 ms. `Durable.cancel` in the same process acts at once.
   */
  readonly cancelPollInterval?: Duration.Input | undefined
}

// -----------------------------------------------------------------------------
// Codecs: how outputs cross the journal
// -----------------------------------------------------------------------------

interface Codec {
  /** To JSON data, or a string saying where the value is not JSON. */
  readonly encode: (value: unknown) => { readonly json: unknown } | { readonly problem: string }
  readonly decode: (json: unknown) => { readonly value: unknown } | { readonly problem: string }
}

const plainCodec: Codec = {
  encode: (value) => {
    const problem = nonJsonAt(value)
    return problem === undefined ? { json: value } : { problem: `${problem} is not JSON data` }
  },
  decode: (json) => ({ value: json })
}

const schemaCodec = (schema: Schema.Top): Codec => {
  const codec = Schema.toCodecJson(schema as Schema.Codec<unknown, unknown>)
  const encode = Schema.encodeUnknownResult(codec)
  const decode = Schema.decodeUnknownResult(codec)
  return {
    encode: (value) => {
      const r = encode(value)
      return r._tag === "Success" ? { json: r.success } : { problem: `the output schema rejects it: ${r.failure.message}` }
    },
    decode: (json) => {
      const r = decode(json)
      return r._tag === "Success" ? { value: r.success } : { problem: r.failure.message }
    }
  }
}

const recordCodec = (children: ReadonlyMap<string, Codec>): Codec => ({
  encode: (value) => {
    if (typeof value !== "object" || value === null) return plainCodec.encode(value)
    const out: Record<string, unknown> = {}
    for (const [key, v] of Object.entries(value)) {
      const r = (children.get(key) ?? plainCodec).encode(v)
      if ("problem" in r) return { problem: `.${key}: ${r.problem}` }
      out[key] = r.json
    }
    return { json: out }
  },
  decode: (json) => {
    if (typeof json !== "object" || json === null) return { value: json }
    const out: Record<string, unknown> = {}
    for (const [key, v] of Object.entries(json)) {
      const r = (children.get(key) ?? plainCodec).decode(v)
      if ("problem" in r) return { problem: `.${key}: ${r.problem}` }
      out[key] = r.value
    }
    return { value: out }
  }
})

interface ImplLike {
  readonly node: { readonly id: string; readonly taskType: string }
  readonly output?: Schema.Top | undefined
  readonly cache?: false | { readonly output?: Schema.Top | undefined } | undefined
  readonly child?: { readonly workflow: { readonly head: EntryLike | undefined } } | undefined
}
interface EntryLike {
  readonly parent: EntryLike | undefined
  readonly impl: ImplLike
}

const implsOf = (head: EntryLike | undefined): Array<ImplLike> => {
  const out: Array<ImplLike> = []
  for (let e = head; e !== undefined; e = e.parent) out.push(e.impl)
  return out.reverse()
}

/** Codecs by path (sub-workflow tasks by their child's paths; a sub-workflow task's own output by record). */
const codecsOf = (impls: ReadonlyArray<ImplLike>, prefix: string, into: Map<string, Codec>): Map<string, Codec> => {
  const level = new Map<string, Codec>()
  for (const impl of impls) {
    const path = prefix + impl.node.id
    let codec: Codec
    if (impl.child !== undefined) {
      const children = codecsOf(implsOf(impl.child.workflow.head), `${path}/`, into)
      codec = recordCodec(children)
    } else {
      const schema = impl.output ?? (impl.cache === false ? undefined : impl.cache?.output)
      codec = schema === undefined ? plainCodec : schemaCodec(schema)
    }
    level.set(impl.node.id, codec)
    into.set(path, codec)
  }
  return level
}

/** A task's codec by path; loop iterations (`loop[3]`) and pipeline steps carry JSON data. */
const codecFor = (codecs: ReadonlyMap<string, Codec>, path: string): Codec => codecs.get(path) ?? plainCodec

// -----------------------------------------------------------------------------
// Shapes: what a version check compares
// -----------------------------------------------------------------------------

type Shape = Record<string, { readonly type: string; readonly deps: ReadonlyArray<string> }>

const shapeOf = (plan: Plan.Plan, prefix = "", into: Shape = {}): Shape => {
  for (const node of plan.nodes) {
    const path = prefix + node.id
    into[path] = { type: node.taskType, deps: [...node.dependsOn, ...node.after] }
    if (node.workflow !== undefined) shapeOf(node.workflow, `${path}/`, into)
  }
  return into
}

const basePath = (path: string): string => path.replace(/\[\d+\]/g, "")

interface Problem {
  readonly task: string
  readonly change: string
}

const compatibility = (options: {
  readonly stored: Shape | undefined
  readonly current: Shape
  readonly journaled: ReadonlyMap<string, string>
  readonly codecs: ReadonlyMap<string, Codec>
  readonly storedVersion: string
  readonly currentVersion: string
  readonly migrate: Migration | undefined
}): Problem | undefined => {
  const migrating = options.migrate !== undefined && options.migrate.from === options.storedVersion
  if (options.storedVersion !== options.currentVersion && !migrating) {
    return {
      task: "(workflow)",
      change: `its version changed from "${options.storedVersion}" to "${options.currentVersion}"`
    }
  }
  for (const [path, text] of options.journaled) {
    if (!text.startsWith("o")) continue
    // A step's entry (`task#step/name`) belongs to its task.
    const base = basePath(path).replace(/#.*$/, "")
    const now = options.current[base] ?? options.current[base.replace(/\/.*$/, "")]
    if (now === undefined) return { task: path, change: "completed in the stored run but no longer exists" }
    const before = options.stored?.[base]
    if (before !== undefined && canonical(before.deps) !== canonical(now.deps)) {
      return {
        task: path,
        change: `changed its dependencies from [${before.deps.join(", ")}] to [${now.deps.join(", ")}]`
      }
    }
    const decoded = decodeJournaled(options.codecs, path, text, migrating ? options.migrate : undefined)
    if ("problem" in decoded) return { task: path, change: `has a stored output that no longer decodes: ${decoded.problem}` }
  }
  return undefined
}

// -----------------------------------------------------------------------------
// Journal entries
// -----------------------------------------------------------------------------

interface FailureEntry {
  readonly message: string
  readonly error: unknown
  readonly defect: boolean
}

const encodeSuccess = (codec: Codec, value: unknown): { readonly text: string } | { readonly problem: string } => {
  const r = codec.encode(value)
  return "problem" in r ? r : { text: `o${JSON.stringify({ v: r.json })}` }
}

const decodeJournaled = (
  codecs: ReadonlyMap<string, Codec>,
  path: string,
  text: string,
  migrate: Migration | undefined
): { readonly value: unknown } | { readonly problem: string } => {
  let json: unknown
  try {
    json = (JSON.parse(text.slice(1)) as { v?: unknown }).v
  } catch (e) {
    return { problem: `journal entry is not JSON (${(e as Error).message})` }
  }
  const codec = codecFor(codecs, path)
  const first = codec.decode(json)
  if (!("problem" in first)) return first
  const fix = migrate?.outputs?.[path] ?? migrate?.outputs?.[basePath(path)]
  return fix === undefined ? first : codec.decode(fix(json))
}

const errorJson = (cause: Cause.Cause<unknown>): unknown => {
  const error = Cause.findErrorOption(cause)
  if (error._tag === "None") return null
  const value = error.value
  if (typeof value === "object" && value !== null) {
    const json: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) if (nonJsonAt(v) === undefined) json[k] = v
    if (value instanceof Error) json["message"] = value.message
    return json
  }
  return nonJsonAt(value) === undefined ? value : safeStringify(value)
}

// -----------------------------------------------------------------------------
// The runtime service
// -----------------------------------------------------------------------------

interface Entry {
  workflow: Workflow.Any
  readonly effectWorkflow: EffectWorkflow.Workflow<
    string,
    Schema.Struct<{ runId: typeof Schema.String; generation: typeof Schema.Number; input: typeof Schema.String }>,
    typeof Schema.String,
    typeof Schema.Never
  >
}

/** Per-run settings passed from `run`/`resume` to the body (same process), and what the body reports. */
interface RunLocal {
  readonly options: DurableOptions
  skipped: Array<string>
  executed: Array<string>
  state?: RunState.RunState | undefined
}

/**
 * The durable runtime: registered workflows, the store, the engine.
 *
 * @category services
 * @since 0.1.0
 */
export class DurableRuntime extends Context.Service<DurableRuntime, {
  readonly filename: string
  readonly registry: Map<string, Entry>
  readonly locals: Map<string, RunLocal>
  readonly scope: Scope.Scope
  readonly store: SqlRunStore.SqlRunStoreShape
  readonly engine: WorkflowEngine.WorkflowEngine["Service"]
  /** Runs executing in this process: cancelling one interrupts its tasks in flight at once. */
  readonly active: Map<string, Effect.Effect<void>>
  /** How often a running run looks for a cancel asked through the store by another process. */
  readonly cancelPollMs: number
}>()("@troupe/durable/DurableRuntime") {}

const versionOf = (workflow: Workflow.Any, options: { readonly version?: string | undefined } | undefined): string => {
  if (options?.version !== undefined) return options.version
  const v = Workflow.compiled(workflow).plan.metadata["version"]
  return v === undefined ? "" : String(v)
}

const Payload = { runId: Schema.String, generation: Schema.Number, input: Schema.String }

interface Envelope {
  readonly status: "completed" | "failed" | "timeout" | "cancelled" | "definition" | "superseded"
  readonly outputs?: Record<string, unknown>
  readonly failures?: ReadonlyArray<{ readonly taskId: string; readonly entry: FailureEntry }>
  readonly completed?: ReadonlyArray<string>
  readonly compensations?: ReadonlyArray<{ readonly taskId: string; readonly status: "completed" | "failed" }>
  readonly durationMs?: number
  readonly deadlineMs?: number
  readonly definition?: { readonly tag: string; readonly message: string }
}

const encodeOutputs = (codecs: ReadonlyMap<string, Codec>, outputs: Readonly<Record<string, unknown>>) => {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(outputs)) {
    const r = codecFor(codecs, k).encode(v)
    out[k] = "problem" in r ? null : r.json
  }
  return out
}

const decodeOutputs = (codecs: ReadonlyMap<string, Codec>, outputs: Readonly<Record<string, unknown>> | undefined) => {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(outputs ?? {})) {
    const r = codecFor(codecs, k).decode(v)
    out[k] = "problem" in r ? v : r.value
  }
  return out
}

const failureOf = (entry: FailureEntry, task: string): Cause.Cause<unknown> =>
  entry.defect
    ? Cause.die(new ReplayedFailure({ task, error: entry.error, detail: entry.message }))
    : Cause.fail(
      typeof entry.error === "object" && entry.error !== null && "_tag" in entry.error
        ? entry.error
        : new ReplayedFailure({ task, error: entry.error, detail: entry.message })
    )

/**
 * How long the run's history (events, outputs, statistics) is gathered before it is written in one
 * transaction. The engine's journal is written at each step regardless: a kill loses at most this much of
 * the history, which the resumed run records again from the journal.
 */
const HISTORY_BATCH_MS = 10

type Item = { readonly event: RunEvent.RunEvent } | { readonly output: readonly [string, string] }

/** The run's history: events and journal entries are queued and written in batches; `drain` writes the rest. */
const historyWriter = (store: SqlRunStore.SqlRunStoreShape, runId: string) =>
  Effect.gen(function*() {
    const queue = yield* Queue.unbounded<Item>()
    const writing = Semaphore.makeUnsafe(1)
    const flush = (items: ReadonlyArray<Item>) => {
      const events: Array<RunEvent.RunEvent> = []
      const outputs: Array<readonly [string, string]> = []
      for (const item of items) {
        if ("event" in item) events.push(item.event)
        else outputs.push(item.output)
      }
      // One write at a time (the flusher's and `now`'s would otherwise share the connection's transaction).
      return items.length === 0
        ? Effect.void
        : store.appendAll(runId, events, outputs).pipe(Effect.orDie, writing.withPermit, Effect.uninterruptible)
    }
    // What was taken from the queue and not written yet (the final drain writes it).
    // One array, emptied in place (`now` may write it while the flusher gathers).
    const taken: Array<Item> = []
    const flusher = yield* Effect.forever(Effect.gen(function*() {
      const first = yield* Queue.takeAll(queue)
      taken.push(...first)
      // Gather what the next tasks produce for a moment: one transaction for several settlements.
      yield* Effect.sleep(HISTORY_BATCH_MS)
      const more = yield* Queue.clear(queue)
      taken.push(...more)
      // Taken from `taken` only once the write starts (a drain before then writes it instead).
      yield* Effect.suspend(() => flush(taken.splice(0)))
    })).pipe(Effect.forkChild({ startImmediately: true }))
    // Writes what is gathered now (the flusher goes on with what comes next).
    const now = Effect.flatMap(Queue.clear(queue), (items) => flush([...taken.splice(0), ...items]))
    const drain = Effect.andThen(Fiber.interrupt(flusher), now)
    return { offer: (item: Item) => void Queue.offerUnsafe(queue, item), now, drain }
  })

/** One execution of a run in this process: what the hook, the compensations and the event filter share. */
interface Attempt {
  readonly runId: string
  readonly workflow: Workflow.Any
  /** Output codecs by path: from the workflow when the run starts, and from the hook for run-time children. */
  readonly codecs: Map<string, Codec>
  /** Journal entries the store had when this attempt started (tasks and compensations recorded before). */
  readonly journaled: ReadonlyMap<string, string>
  readonly migrate: Migration | undefined
  readonly local: RunLocal
  readonly store: SqlRunStore.SqlRunStoreShape
  readonly instance: WorkflowEngine.WorkflowInstance["Service"]
  readonly history: { readonly offer: (item: Item) => void; readonly now: Effect.Effect<void> }
  /** Set once the history was written before the first compensation (see `journaledCompensation`). */
  compensating?: boolean
  /** Compensation journal entries to record with their event (`recordEvent`). */
  readonly compensated: Map<string, string>
  readonly executed: Set<string>
  readonly skipped: Set<string>
  /** Failures seen live in this process (their full cause; the journal keeps a JSON form). */
  readonly liveErrors: Map<string, Cause.Cause<unknown>>
  /** Task executions in progress, by path (a cancel interrupts them). */
  readonly inFlight: Map<string, Fiber.Fiber<unknown, unknown>>
  /** Set when the run is being cancelled: tasks in flight are interrupted, not abandoned. */
  cancelling: boolean
  /** Set once a task was interrupted from outside (the process is stopping): nothing more is recorded. */
  stopping: boolean
  /**
   * Set when a run cancelled before its compensations were all journaled resumes: tasks replay from the
   * journal, none runs, and once `awaited` have replayed the run is cancelled (its missing compensations run).
   */
  readonly finishing?: { readonly awaited: Set<string>; readonly ready: Deferred.Deferred<void> } | undefined
}

const compensationKey = (path: string) => `${path}#compensate`

const pathOf = (event: RunEvent.RunEvent, prefix = ""): string | undefined =>
  event._tag === "SubWorkflowEvent"
    ? pathOf(event.event, `${prefix}${event.taskId}/`)
    : "taskId" in event
    ? prefix + event.taskId
    : undefined

/** The run's event listener: user callback, then the history (minus what an earlier process recorded). */
const recordEvent = (attempt: Attempt) => (event: RunEvent.RunEvent) => {
  const inner = innermost(event)
  if (inner._tag === "TaskFailed" && Cause.hasInterruptsOnly(inner.cause) && !attempt.cancelling) attempt.stopping = true
  if (attempt.stopping) return
  attempt.local.options.onEvent?.(event)
  // A task or compensation whose result the store already has was recorded by an earlier process: its
  // replayed events would count it twice (and with a zero duration).
  const path = pathOf(event)
  if (path !== undefined) {
    const task = inner._tag === "TaskStarted" || inner._tag === "TaskCompleted" || inner._tag === "TaskFailed" ||
      inner._tag === "TaskRetrying"
    if (task && attempt.journaled.has(path)) return
    // Finishing a cancel: a task blocked instead of running did not start.
    if (attempt.finishing !== undefined && inner._tag === "TaskStarted") return
    const compensation = inner._tag === "TaskCompensated" || inner._tag === "CompensationFailed"
    if (compensation && attempt.journaled.has(compensationKey(path))) return
    const text = compensation ? attempt.compensated.get(compensationKey(path)) : undefined
    if (text !== undefined) {
      // The compensation's journal entry goes after its event: a batch that has the entry has the event
      // (a resume skips the events of a journaled compensation).
      attempt.compensated.delete(compensationKey(path))
      attempt.history.offer({ event })
      return attempt.history.offer({ output: [compensationKey(path), text] })
    }
  }
  attempt.history.offer({ event })
}

/** A failure as a journal entry (`e{...}` for tasks, `f{...}` for compensations). */
const failureText = (prefix: "e" | "f", cause: Cause.Cause<unknown>): string =>
  `${prefix}${
    safeStringify({
      message: Engine.describeCause(cause),
      error: errorJson(cause),
      defect: Cause.hasDies(cause) && !Cause.hasFails(cause)
    } satisfies FailureEntry)
  }`

/** Runs one task execution inside its activity (interruptible by a cancel); returns its journal entry. */
const executeTask = <A, E, R>(attempt: Attempt, execution: TaskHook.TaskExecution, effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const path = execution.path
    attempt.executed.add(path)
    const around = attempt.local.options.around
    // The engine runs an activity uninterruptibly: the task itself is made interruptible, and its fiber is
    // kept so that a cancel interrupts it (a fiber of its own per task would cost ~0.4 ms per task).
    const exit = yield* Effect.withFiber((fiber) => {
      attempt.inFlight.set(path, fiber as Fiber.Fiber<unknown, unknown>)
      const task = Effect.provideService(effect, CurrentTask, { attempt, path })
      return Effect.exit(Effect.interruptible(around === undefined ? task : around(execution, task)))
    }).pipe(Effect.ensuring(Effect.sync(() => attempt.inFlight.delete(path))))
    if (Exit.isSuccess(exit)) {
      const r = encodeSuccess(codecFor(attempt.codecs, path), exit.value)
      if ("text" in r) return r.text
      const error = new NotSerialisable({ workflow: attempt.workflow.name, task: path, detail: r.problem })
      attempt.liveErrors.set(path, Cause.fail(error))
      return failureText("e", Cause.fail(error))
    }
    if (Cause.hasInterruptsOnly(exit.cause)) {
      // Cancelled: the run ends here, the entry only answers the activity. Stopping: no entry at all, the
      // task runs again on resume.
      return attempt.cancelling ? "x" : yield* Effect.failCause(exit.cause)
    }
    attempt.liveErrors.set(path, exit.cause)
    return failureText("e", exit.cause)
  }) as Effect.Effect<string, never, R>

/** The task's result from its journal entry (live or replayed). */
const settleTask = <A, E>(attempt: Attempt, path: string, text: string): Effect.Effect<A, E> => {
  if (!attempt.executed.has(path)) attempt.skipped.add(path)
  const finishing = attempt.finishing
  if (finishing !== undefined && finishing.awaited.delete(path) && finishing.awaited.size === 0) {
    Deferred.doneUnsafe(finishing.ready, Effect.void)
  }
  if (text === "x") return Effect.interrupt
  if (attempt.journaled.get(path) !== text) attempt.history.offer({ output: [path, text] })
  if (text.startsWith("e")) {
    const live = attempt.liveErrors.get(path)
    if (live !== undefined) {
      attempt.liveErrors.delete(path)
      return Effect.failCause(live as Cause.Cause<E>)
    }
    return Effect.failCause(failureOf(JSON.parse(text.slice(1)) as FailureEntry, path) as Cause.Cause<E>)
  }
  const decoded = decodeJournaled(attempt.codecs, path, text, attempt.migrate)
  if ("problem" in decoded) {
    return Effect.andThen(
      attempt.store.setStatus(attempt.runId, "pending", `incompatible code: task ${path} ${decoded.problem}`).pipe(Effect.orDie),
      EffectWorkflow.suspend(attempt.instance)
    )
  }
  return Effect.succeed(decoded.value as A)
}

/** The task execution a `step` is part of (set by the journaling hook; none outside durable runs). */
const CurrentTask = Context.Reference<{ readonly attempt: Attempt; readonly path: string } | undefined>(
  "@troupe/durable/Durable/CurrentTask",
  { defaultValue: () => undefined }
)

/**
 * A journaled step inside a task: in a durable run, `effect` runs as a step of its own, named
 * `<task path>#step/<name>`, whose result is journaled when it succeeds; when the task runs again (a resume after
 * a kill while the task was in flight, or a retry of the task), the step's result comes back from the
 * journal without running it. For the work a task does before it waits on something long, most of all
 * before it starts a child workflow with `info.runWorkflow` (a supervisor's planning call: on resume the
 * child is resumed under the same plan). A failed step is journaled too, but a later run of the task runs it
 * again. Outside a durable run, `effect` runs as it is.
 *
 * The result crosses the journal as JSON: give `output` (a schema) for values that are not JSON data, else
 * a non-JSON result fails with `NotSerialisable`. `name` must be unique within the task.
 *
 * **Example**
 * ```ts
 * const boss = Task.make({}, (_: void, info: Task.TaskInfo) =>
 *   Effect.gen(function*() {
 *     const plan = yield* Durable.step("plan", callTheModel)
 *     return yield* info.runWorkflow(teamFor(plan), undefined, { name: "team" })
 *   }))
 * ```
 *
 * @category running
 * @since 0.1.0
 */
export const step = <A, E, R>(
  name: string,
  effect: Effect.Effect<A, E, R>,
  options?: { readonly output?: Schema.Codec<A, unknown> | undefined }
): Effect.Effect<A, E | NotSerialisable, R> =>
  Effect.flatMap(CurrentTask, (task): Effect.Effect<A, E | NotSerialisable, R> => {
    if (task === undefined) return effect
    const { attempt, path } = task
    const key = `${path}#step/${name}`
    const codec = options?.output === undefined ? plainCodec : schemaCodec(options.output)
    // A failure journaled by an earlier run of the task is passed over: the next try is a new step attempt.
    const tryAt = (n: number): Effect.Effect<A, E | NotSerialisable, R> => {
      let live: Cause.Cause<unknown> | undefined
      const activity = Activity.make({
        name: key,
        success: Schema.String,
        execute: Effect.exit(effect).pipe(Effect.flatMap((exit): Effect.Effect<string> => {
          if (Exit.isFailure(exit)) {
            if (Cause.hasInterruptsOnly(exit.cause)) return Effect.failCause(exit.cause) as never
            live = exit.cause
            return Effect.succeed(failureText("e", exit.cause))
          }
          const r = encodeSuccess(codec, exit.value)
          if ("text" in r) return Effect.succeed(r.text)
          live = Cause.fail(new NotSerialisable({ workflow: attempt.workflow.name, task: key, detail: r.problem }))
          return Effect.succeed(failureText("e", live))
        }))
      })
      // The activity needs the workflow instance, which the task's context has inside a durable run.
      const journaled = Effect.provideService(activity, Activity.CurrentAttempt, n) as Effect.Effect<string>
      return Effect.flatMap(journaled, (text): Effect.Effect<A, E | NotSerialisable, R> => {
        if (text.startsWith("o")) {
          const decoded = decodeJournaled(new Map([[key, codec]]), key, text, undefined)
          return "problem" in decoded ? Effect.die(new Error(`step ${key}: ${decoded.problem}`)) : Effect.succeed(decoded.value as A)
        }
        return live === undefined ? tryAt(n + 1) : Effect.failCause(live as Cause.Cause<E | NotSerialisable>)
      })
    }
    return tryAt(1)
  })

/** The TaskHook: each task execution is an activity named by its path. */
const journalingHook = (attempt: Attempt): TaskHook.TaskHookShape => ({
  around: <A, E, R>(execution: TaskHook.TaskExecution, effect: Effect.Effect<A, E, R>) => {
    const path = execution.path
    // A task of a workflow started at run time (`TaskInfo.runWorkflow`) was not in the workflow the run
    // started with: its output schema comes with the execution.
    if (execution.output !== undefined && !attempt.codecs.has(path)) attempt.codecs.set(path, schemaCodec(execution.output))
    // Finishing a cancel: a task without a journaled result does not run; the cancel interrupts it.
    if (attempt.finishing !== undefined && !attempt.journaled.has(path)) return Effect.never
    const activity = Activity.make({ name: path, success: Schema.String, execute: executeTask(attempt, execution, effect) })
    return Effect.flatMap(activity, (text) => settleTask<A, E>(attempt, path, text)).pipe(
      // A cancel interrupts the task where it runs (in the engine's activity fiber), not only its caller.
      Effect.onInterrupt(() => Effect.sync(() => attempt.cancelling && attempt.inFlight.get(path)?.interruptUnsafe()))
    ) as Effect.Effect<A, E, R>
  }
})

type Compensate = (output: never, ctx: never) => Effect.Effect<unknown, unknown, unknown>

/**
 * A compensation as an activity named `<path>#compensate`: after a crash, the compensations that finished
 * are not run again (their journaled result comes back), those that did not run on resume.
 */
const journaledCompensation = (attempt: Attempt, path: string, compensate: Compensate): Compensate => (output, ctx) => {
  const key = compensationKey(path)
  const activity = Activity.make({
    name: key,
    success: Schema.String,
    execute: Effect.exit(Effect.suspend(() => compensate(output, ctx))).pipe(
      Effect.flatMap((exit): Effect.Effect<string> => {
        if (Exit.isSuccess(exit)) return Effect.succeed("c")
        if (Cause.hasInterruptsOnly(exit.cause)) return Effect.failCause(exit.cause) as never
        attempt.liveErrors.set(key, exit.cause)
        return Effect.succeed(failureText("f", exit.cause))
      })
    )
  })
  // The results of the tasks to compensate are in the store before any compensation starts: a resume after
  // a kill during the compensations of a cancel finds there which of them are still due (`uncompensated`).
  const before = attempt.compensating === true ? Effect.void : Effect.suspend(() => {
    attempt.compensating = true
    return attempt.history.now
  })
  return Effect.flatMap(Effect.andThen(before, activity), (text) => {
    if (attempt.journaled.get(key) !== text) attempt.compensated.set(key, text)
    if (text === "c") return Effect.void
    const live = attempt.liveErrors.get(key)
    attempt.liveErrors.delete(key)
    return Effect.failCause(live ?? failureOf(JSON.parse(text.slice(1)) as FailureEntry, path))
  })
}

/**
 * The same workflow with duration estimates on its top-level tasks (for the engine's critical-path order)
 * and its compensations journaled (at every level): a copy; the workflow value itself is not changed. With
 * nothing to change, the workflow itself (and its compiled plan) is used.
 */
const instrument = <W extends Workflow.Any>(
  workflow: W,
  estimates: Readonly<Record<string, number>> | undefined,
  compensation: (path: string, compensate: Compensate) => Compensate
): W => {
  const key = Symbol.for("@troupe/core/Workflow/internals")
  type Internals = { readonly head: EntryLike | undefined }
  const rebuild = (internals: Internals, prefix: string, top: boolean): Internals => {
    const chain: Array<EntryLike> = []
    for (let e = internals.head; e !== undefined; e = e.parent) chain.push(e)
    let changed = false
    let head: EntryLike | undefined
    for (let i = chain.length - 1; i >= 0; i--) {
      const entry = chain[i]!
      let impl = entry.impl as ImplLike & { readonly compensate?: Compensate }
      const path = prefix + impl.node.id
      const ms = top ? estimates?.[impl.node.id] : undefined
      if (ms !== undefined) impl = { ...impl, node: Object.freeze({ ...(impl.node as Plan.PlanNode), estimatedDurationMs: ms }) }
      if (impl.compensate !== undefined) impl = { ...impl, compensate: compensation(path, impl.compensate) }
      if (impl.child !== undefined) {
        const child = rebuild(impl.child.workflow, `${path}/`, false)
        if (child !== impl.child.workflow) impl = { ...impl, child: { ...impl.child, workflow: child } }
      }
      changed ||= impl !== entry.impl
      head = { ...entry, parent: head, impl }
    }
    return changed ? { ...internals, head } : internals
  }
  const internals = (workflow as unknown as Record<symbol, Internals | undefined>)[key]
  if (internals === undefined) return workflow
  const rebuilt = rebuild(internals, "", true)
  if (rebuilt === internals) return workflow
  const copy = Object.create(Object.getPrototypeOf(workflow))
  Object.assign(copy, workflow)
  copy[key] = rebuilt
  return copy as W
}

/**
 * A cancelled run killed while compensating: the journaled task results its resume must replay before it
 * is cancelled again (empty when every completed task with a compensation has its compensation journaled:
 * nothing is left to do). Only tasks of the workflow's static plan count (a run-time child's tasks are not
 * compensated when their caller is cancelled).
 */
const uncompensated = (
  workflow: Workflow.Any,
  plan: Plan.Plan,
  journaled: ReadonlyMap<string, string>
): Set<string> => {
  const compensated = new Set<string>()
  instrument(workflow, undefined, (path, compensate) => {
    compensated.add(path)
    return compensate
  })
  const missing = [...compensated].some((path) =>
    journaled.get(path)?.startsWith("o") === true && !journaled.has(compensationKey(path))
  )
  if (!missing) return new Set()
  const shape = shapeOf(plan)
  const awaited = new Set<string>()
  for (const [path, text] of journaled) {
    if ((text.startsWith("o") || text.startsWith("e")) && shape[basePath(path)] !== undefined) awaited.add(path)
  }
  return awaited
}

/** Where a run stands when its body starts: done already, or incompatible, or an attempt to run. */
const openAttempt = (
  runtime: DurableRuntime["Service"],
  entry: Entry,
  payload: { readonly runId: string; readonly generation: number }
) =>
  Effect.gen(function*() {
    const { runId } = payload
    const store = runtime.store
    const workflow = entry.workflow
    const compiled = Workflow.compiled(workflow)
    const codecs = new Map<string, Codec>()
    codecsOf(compiled.impls as unknown as ReadonlyArray<ImplLike>, "", codecs)
    const local: RunLocal = runtime.locals.get(runId) ?? { options: {}, skipped: [], executed: [] }
    const record = yield* store.get(runId).pipe(Effect.orDie)
    const row = yield* store.durableRow(runId).pipe(Effect.orDie)
    if (row.generation !== payload.generation) return { done: { status: "superseded" } satisfies Envelope }
    const journaled = yield* store.journaledOutputs(runId).pipe(Effect.orDie)
    const cancelled = record.status === "cancelled" || record.cancelRequested
    const awaited = cancelled ? uncompensated(workflow, compiled.plan, journaled) : undefined
    if (awaited !== undefined && awaited.size === 0) {
      yield* store.setStatus(runId, "cancelled").pipe(Effect.orDie)
      return { done: { status: "cancelled", completed: [] } satisfies Envelope }
    }
    const instance = yield* WorkflowEngine.WorkflowInstance
    const problem = compatibility({
      stored: row.shape,
      current: shapeOf(compiled.plan),
      journaled,
      codecs,
      storedVersion: record.version,
      currentVersion: versionOf(workflow, local.options),
      migrate: local.options.migrate
    })
    if (problem !== undefined) {
      // Never store a permanent failure for a code change: suspend until resumed under compatible code.
      yield* store.setStatus(runId, "pending", `incompatible code: task ${problem.task} ${problem.change}`).pipe(
        Effect.orDie
      )
      return yield* EffectWorkflow.suspend(instance)
    }
    const history = yield* historyWriter(store, runId)
    const attempt: Attempt = {
      runId,
      workflow,
      codecs,
      journaled,
      migrate: local.options.migrate?.from === record.version ? local.options.migrate : undefined,
      local,
      store,
      instance,
      history,
      executed: new Set(),
      skipped: new Set(),
      liveErrors: new Map(),
      inFlight: new Map(),
      compensated: new Map(),
      cancelling: awaited !== undefined,
      stopping: false,
      finishing: awaited === undefined ? undefined : { awaited, ready: Deferred.makeUnsafe<void>() }
    }
    return { attempt, drain: history.drain }
  })

/**
 * Waits for the run; a cancel (from `Durable.cancel` in this process at once, or asked through the store by
 * another process, seen within `cancelPollInterval`) interrupts the tasks in flight and runs the
 * compensations.
 */
const awaitRun = (
  runtime: DurableRuntime["Service"],
  attempt: Attempt,
  handle: Engine.RunHandle<unknown, unknown>,
  slot: CancelSlot
) =>
  Effect.gen(function*() {
    const cancel = Effect.suspend(() => {
      attempt.cancelling = true
      return handle.cancel
    })
    slot.cancel = cancel
    // Asked before the engine had started the run.
    if (slot.asked) yield* cancel
    // Finishing a cancel: once the completed tasks have replayed, cancel (their missing compensations run).
    // Replay takes milliseconds; the bound is for a task the replay does not reach (a condition that now
    // skips it): the cancel then goes on without it.
    if (attempt.finishing !== undefined) {
      const replayed = Effect.race(Deferred.await(attempt.finishing.ready), Effect.sleep(FINISHING_BOUND_MS))
      yield* Effect.forkChild(Effect.andThen(replayed, cancel))
    }
    const watcher = yield* Effect.forever(
      Effect.andThen(
        Effect.sleep(runtime.cancelPollMs),
        Effect.flatMap(attempt.store.get(attempt.runId).pipe(Effect.orDie), (r) => r.cancelRequested ? cancel : Effect.void)
      )
    ).pipe(Effect.forkChild({ startImmediately: true }))
    const exit = yield* Effect.exit(handle.await)
    yield* Fiber.interrupt(watcher)
    attempt.local.state = yield* handle.state
    return exit
  })

/** How long a resumed cancelled run waits at most for its completed tasks to replay before it cancels. */
const FINISHING_BOUND_MS = 5_000

/** How `Durable.cancel` reaches a run of this process: registered before the run starts. */
interface CancelSlot {
  asked: boolean
  cancel: Effect.Effect<void> | undefined
}

/** The workflow body: Troupe's engine with the journaling TaskHook and journaled compensations. */
const makeBody = (runtime: DurableRuntime["Service"], entry: Entry) =>
(
  payload: { readonly runId: string; readonly generation: number; readonly input: string }
): Effect.Effect<string, never, WorkflowEngine.WorkflowInstance | WorkflowEngine.WorkflowEngine> =>
  Effect.gen(function*() {
    const opened = yield* openAttempt(runtime, entry, payload)
    if ("done" in opened) return JSON.stringify(opened.done)
    const { attempt, drain } = opened
    const local = attempt.local
    const estimates = yield* estimatesFor(attempt.store, attempt.workflow, local.options)
    const input = yield* decodeInput(attempt.workflow, payload.input)
    const { around: _a, estimates: _e, migrate: _m, onEvent: _o, version: _v, ...engineOptions } = local.options
    const workflow = instrument(attempt.workflow, estimates, (path, f) => journaledCompensation(attempt, path, f))
    const slot: CancelSlot = { asked: false, cancel: undefined }
    runtime.active.set(attempt.runId, Effect.suspend(() => {
      slot.asked = true
      return slot.cancel ?? Effect.void
    }))
    const handle = yield* Engine.start(workflow, input as never, {
      ...engineOptions,
      runId: attempt.runId,
      onEvent: recordEvent(attempt),
      replay: 0
    } as Engine.RunOptions).pipe(
      Effect.provideService(TaskHook.TaskHook, journalingHook(attempt)),
      Effect.exit
    )
    const exit: Exit.Exit<Engine.RunResult<unknown>, unknown> = Exit.isFailure(handle)
      ? handle as Exit.Exit<never, unknown>
      : yield* awaitRun(runtime, attempt, handle.value, slot).pipe(
        Effect.ensuring(Effect.sync(() => runtime.active.delete(attempt.runId)))
      )
    runtime.active.delete(attempt.runId)
    yield* drain
    local.skipped = [...attempt.skipped]
    local.executed = [...attempt.executed]
    if (interruptedByShutdown(exit)) {
      // The process is stopping (Ctrl-C, a shutdown): a task was interrupted, not failed. Store no result:
      // the run stays unfinished in the journal and resumes on the next start.
      return yield* Effect.interrupt
    }
    return JSON.stringify(envelopeOf(exit, attempt.codecs, attempt.liveErrors))
  }).pipe(Effect.provideService(TaskHook.TaskHook, undefined)) as never

/** A run that ended because its tasks were interrupted from outside (not failed, not cancelled). */
const interruptedByShutdown = (exit: Exit.Exit<unknown, unknown>): boolean => {
  if (Exit.isSuccess(exit)) return false
  if (Cause.hasInterruptsOnly(exit.cause)) return true
  const error = Cause.findErrorOption(exit.cause)
  if (error._tag === "None") return false
  const e = error.value as { readonly _tag?: string }
  if (e._tag !== "WorkflowFailed") return false
  return (e as WorkflowError.WorkflowFailed<unknown>).failures.some((f) => Cause.hasInterruptsOnly(f.cause))
}

const innermost = (event: RunEvent.RunEvent): RunEvent.RunEvent =>
  event._tag === "SubWorkflowEvent" ? innermost(event.event) : event

const envelopeOf = (
  exit: Exit.Exit<Engine.RunResult<unknown>, unknown>,
  codecs: ReadonlyMap<string, Codec>,
  _live: ReadonlyMap<string, Cause.Cause<unknown>>
): Envelope => {
  if (Exit.isSuccess(exit)) {
    return {
      status: "completed",
      outputs: encodeOutputs(codecs, exit.value.outputs as Record<string, unknown>),
      durationMs: exit.value.durationMs
    }
  }
  const error = Cause.findErrorOption(exit.cause)
  if (error._tag === "None") {
    return { status: "failed", failures: [{ taskId: "(run)", entry: { message: Engine.describeCause(exit.cause), error: null, defect: true } }] }
  }
  const e = error.value as { readonly _tag?: string }
  if (e._tag === "WorkflowFailed") {
    const f = e as WorkflowError.WorkflowFailed<unknown>
    return {
      status: "failed",
      failures: f.failures.map((x) => ({
        taskId: x.taskId,
        entry: {
          message: Engine.describeCause(x.cause),
          error: errorJson(x.cause),
          defect: Cause.hasDies(x.cause) && !Cause.hasFails(x.cause)
        }
      })),
      completed: f.completed,
      outputs: encodeOutputs(codecs, f.outputs as Record<string, unknown>),
      compensations: f.compensations.map((c) => ({ taskId: c.taskId, status: c.status }))
    }
  }
  if (e._tag === "WorkflowTimeout") {
    const t = e as WorkflowError.WorkflowTimeout
    return {
      status: "timeout",
      deadlineMs: t.deadlineMs,
      completed: t.completed,
      outputs: encodeOutputs(codecs, t.outputs as Record<string, unknown>),
      compensations: t.compensations.map((c) => ({ taskId: c.taskId, status: c.status }))
    }
  }
  if (e._tag === "WorkflowCancelled") {
    return { status: "cancelled", completed: (e as WorkflowError.WorkflowCancelled).completed }
  }
  return {
    status: "definition",
    definition: { tag: e._tag ?? "Error", message: (e as { message?: string }).message ?? String(e) }
  }
}

const decodeInput = (workflow: Workflow.Any, text: string) =>
  Effect.suspend(() => Workflow.decodeInput(workflow, text === "" ? undefined : JSON.parse(text))).pipe(Effect.orDie)

const encodeInput = (workflow: Workflow.Any, input: unknown): Effect.Effect<string, NotSerialisable> =>
  Effect.suspend(() => {
    const schema = (workflow as unknown as { readonly [k: symbol]: { readonly inputSchema?: Schema.Top } })[
      Symbol.for("@troupe/core/Workflow/internals")
    ]?.inputSchema
    if (schema !== undefined) {
      const r = Schema.encodeUnknownResult(Schema.toCodecJson(schema as Schema.Codec<unknown, unknown>))(input)
      return r._tag === "Success"
        ? Effect.succeed(JSON.stringify(r.success) ?? "")
        : Effect.fail(new NotSerialisable({ workflow: workflow.name, task: "input", detail: r.failure.message }))
    }
    const problem = nonJsonAt(input)
    return problem === undefined
      ? Effect.succeed(input === undefined ? "" : JSON.stringify(input))
      : Effect.fail(new NotSerialisable({ workflow: workflow.name, task: "input", detail: `${problem} is not JSON data` }))
  })

const estimatesFor = (store: SqlRunStore.SqlRunStoreShape, workflow: Workflow.Any, options: DurableOptions) =>
  Effect.gen(function*() {
    if (options.estimates === "none") return undefined
    if (typeof options.estimates === "object") return options.estimates
    const plan = Workflow.compiled(workflow).plan
    if (options.estimates !== "learned" && plan.nodes.some((n) => n.estimatedDurationMs !== undefined)) return undefined
    const stats = yield* store.durations(workflow.name).pipe(Effect.orElseSucceed(() => new Map<string, RunStore.TaskStats>()))
    const out: Record<string, number> = {}
    for (const node of plan.nodes) {
      const s = stats.get(node.id)
      if (s !== undefined && s.count > 0) out[node.id] = s.meanMs
    }
    return Object.keys(out).length === 0 ? undefined : out
  })

const ensureRegistered = (runtime: DurableRuntime["Service"], workflow: Workflow.Any) =>
  Effect.gen(function*() {
    const existing = runtime.registry.get(workflow.name)
    if (existing !== undefined) {
      existing.workflow = workflow
      return existing
    }
    const effectWorkflow = EffectWorkflow.make(`troupe/${workflow.name}`, {
      payload: Payload,
      success: Schema.String,
      idempotencyKey: ({ generation, runId }) => `${runId}#${generation}`
    })
    const entry: Entry = { workflow, effectWorkflow }
    runtime.registry.set(workflow.name, entry)
    yield* runtime.engine.register(effectWorkflow, makeBody(runtime, entry)).pipe(
      Effect.provideService(Scope.Scope, runtime.scope)
    )
    return entry
  })

// -----------------------------------------------------------------------------
// Layers
// -----------------------------------------------------------------------------

/**
 * The engine alone: `WorkflowEngine` (ClusterWorkflowEngine over SingleRunner, message storage in SQL)
 * over the `SqlClient` in context.
 *
 * @category layers
 * @since 0.1.0
 */
export const engineLayer = (options?: {
  readonly pollInterval?: Duration.Input | undefined
  readonly shutdownTimeout?: Duration.Input | undefined
}): Layer.Layer<
  WorkflowEngine.WorkflowEngine | Sharding.Sharding,
  never,
  import("effect/sql").SqlClient.SqlClient
> =>
  ClusterWorkflowEngine.layer.pipe(
    Layer.provideMerge(
      SingleRunner.layer({
        runnerStorage: "memory",
        shardingConfig: {
          entityMessagePollInterval: Duration.toMillis(Duration.fromInputUnsafe(options?.pollInterval ?? 1000)),
          entityTerminationTimeout: Duration.toMillis(Duration.fromInputUnsafe(options?.shutdownTimeout ?? 2000))
        }
      })
    ),
    Layer.provide(NodeCrypto.layerDigest),
    Layer.orDie
  ) as never

/**
 * Durable runs on an embedded SQLite database: the engine, the run store (`RunStore` and `SqlRunStore`),
 * the SQL client, and the runtime.
 *
 * **Example**
 * ```ts
 * import { Effect } from "effect"
 * import { Durable } from "@troupe/durable"
 * const program = Durable.run(wf, input, { runId: "nightly-2026-12-03" })
 * program.pipe(Effect.provide(Durable.layer({ filename: ".troupe/app.db" })), Effect.runPromise)
 * ```
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (options: LayerOptions = {}): Layer.Layer<
  | DurableRuntime
  | RunStore.RunStore
  | SqlRunStore.SqlRunStore
  | WorkflowEngine.WorkflowEngine
  | Sharding.Sharding
  | SqliteClient.SqliteClient
  | import("effect/sql").SqlClient.SqlClient,
  SqliteClient.OpenError | RunStore.StoreError | Migrations.MigrationError
> => {
  const filename = options.filename ?? ".troupe/troupe.db"
  const sqlite = Layer.unwrap(Effect.sync(() => {
    if (options.filename === undefined) mkdirSync(".troupe", { recursive: true })
    return SqliteClient.layer({ filename, synchronous: options.synchronous })
  }))
  const runtime = Layer.effect(
    DurableRuntime,
    Effect.gen(function*() {
      return {
        filename,
        registry: new Map(),
        locals: new Map(),
        scope: yield* Effect.scope,
        store: yield* SqlRunStore.SqlRunStore,
        engine: yield* WorkflowEngine.WorkflowEngine,
        active: new Map(),
        cancelPollMs: Duration.toMillis(Duration.fromInputUnsafe(options.cancelPollInterval ?? 250))
      }
    })
  )
  return runtime.pipe(
    Layer.provideMerge(Layer.mergeAll(engineLayer(options), SqlRunStore.layer)),
    Layer.provideMerge(sqlite)
  )
}

/**
 * Registers workflows with the engine when the layer is built, so their unfinished runs resume by
 * themselves (without waiting for a `run` or `resume` call), and `resume(runId)` finds them.
 *
 * @category layers
 * @since 0.1.0
 */
export const register = <const Ws extends ReadonlyArray<Workflow.Any>>(
  ...workflows: Ws
): Layer.Layer<never, never, DurableRuntime | Workflow.Services<Ws[number]>> =>
  Layer.effectDiscard(Effect.gen(function*() {
    const runtime = yield* DurableRuntime
    for (const workflow of workflows) yield* ensureRegistered(runtime, workflow)
  }))

// -----------------------------------------------------------------------------
// Running
// -----------------------------------------------------------------------------

type Args<W extends Workflow.Any> = [void] extends [Workflow.Input<W>]
  ? [input?: Workflow.Input<W>, options?: DurableOptions]
  : [input: Workflow.Input<W>, options?: DurableOptions]

const newRunId = () => `run-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`

const prepareRun = (
  runtime: DurableRuntime["Service"],
  workflow: Workflow.Any,
  runId: string,
  inputText: string,
  options: DurableOptions
) =>
  Effect.gen(function*() {
    const store = runtime.store
    const compiled = Workflow.compiled(workflow)
    const version = versionOf(workflow, options)
    const shape = shapeOf(compiled.plan)
    const { created, record } = yield* store.registerDurable({
      runId,
      workflow: workflow.name,
      version,
      durable: true,
      input: inputText === "" ? undefined : JSON.parse(inputText),
      inputText,
      plan: compiled.plan,
      shape
    })
    if (!created) {
      if (record.workflow !== workflow.name) {
        return yield* new IdempotencyConflict({ runId, workflow: workflow.name, detail: `workflow "${record.workflow}"` })
      }
      const row = yield* store.durableRow(runId)
      const stored = row.inputText ?? ""
      if (stored !== inputText && canonical(stored === "" ? null : JSON.parse(stored)) !== canonical(inputText === "" ? null : JSON.parse(inputText))) {
        return yield* new IdempotencyConflict({
          runId,
          workflow: workflow.name,
          detail: `a different input (stored ${truncate(stored)}, given ${truncate(inputText)})`
        })
      }
      if (!RunStore.isFinishedStatus(record.status) || record.status === "failed") {
        const codecs = new Map<string, Codec>()
        codecsOf(compiled.impls as unknown as ReadonlyArray<ImplLike>, "", codecs)
        const problem = compatibility({
          stored: row.shape,
          current: shape,
          journaled: yield* store.journaledOutputs(runId),
          codecs,
          storedVersion: record.version,
          currentVersion: version,
          migrate: options.migrate
        })
        if (problem !== undefined && record.status !== "failed") {
          return yield* new IncompatibleVersion({
            runId,
            workflow: workflow.name,
            ...problem,
            storedVersion: record.version,
            currentVersion: version
          })
        }
      }
      return { generation: row.generation, record }
    }
    return { generation: 0, record }
  })

const truncate = (s: string) => (s.length > 80 ? `${s.slice(0, 77)}...` : s)

const execute = <W extends Workflow.Any>(
  runtime: DurableRuntime["Service"],
  workflow: W,
  runId: string,
  inputText: string,
  options: DurableOptions
) =>
  Effect.gen(function*() {
    const entry = yield* ensureRegistered(runtime, workflow)
    const { generation } = yield* prepareRun(runtime, workflow, runId, inputText, options)
    const local: RunLocal = { options, skipped: [], executed: [] }
    runtime.locals.set(runId, local)
    const started = Date.now()
    const once = (generation: number) => entry.effectWorkflow.execute({ runId, generation, input: inputText })
    const text = yield* once(generation).pipe(
      Effect.catchDefect((defect) => recoverBroken(runtime, workflow, runId, defect, once)),
      Effect.ensuring(Effect.sync(() => runtime.locals.delete(runId)))
    )
    const envelope = JSON.parse(text) as Envelope
    const codecs = new Map<string, Codec>()
    codecsOf(Workflow.compiled(workflow).impls as unknown as ReadonlyArray<ImplLike>, "", codecs)
    return yield* resultOf<W>(runtime, workflow, runId, envelope, codecs, local, Date.now() - started)
  })

/**
 * The engine stored a failure of the runtime itself as the result of a run's execution (the body never
 * fails for a task: a defect there is a store or decoding failure, e.g. a database opened by code that
 * predates its migrations). Such a result would come back forever. When the store holds no journaled task
 * result of the run, nothing is lost by starting it over: it restarts (a new generation). Otherwise
 * `BrokenRun` names the way out.
 */
const recoverBroken = (
  runtime: DurableRuntime["Service"],
  workflow: Workflow.Any,
  runId: string,
  defect: unknown,
  once: (generation: number) => Effect.Effect<string, never, WorkflowEngine.WorkflowEngine>
) =>
  Effect.gen(function*() {
    const detail = defect instanceof Error ? defect.message : safeStringify(defect)
    const journaled = yield* runtime.store.journaledOutputs(runId)
    if ([...journaled.keys()].some((path) => !path.endsWith("#compensate"))) {
      return yield* new BrokenRun({ runId, workflow: workflow.name, detail })
    }
    const plan = Workflow.compiled(workflow).plan
    const record = yield* runtime.store.get(runId)
    const generation = yield* runtime.store.restart(runId, { plan, shape: shapeOf(plan), version: record.version })
    return yield* once(generation)
  })

const resultOf = <W extends Workflow.Any>(
  runtime: DurableRuntime["Service"],
  workflow: W,
  runId: string,
  envelope: Envelope,
  codecs: ReadonlyMap<string, Codec>,
  local: RunLocal,
  elapsed: number
): Effect.Effect<
  DurableResult<Workflow.Outputs<W>>,
  RunError<Workflow.Error<W>>
> =>
  Effect.gen(function*() {
    const outputs = decodeOutputs(codecs, envelope.outputs)
    const compensations = (envelope.compensations ?? []).map((c) => ({ taskId: c.taskId, status: c.status }))
    switch (envelope.status) {
      case "completed": {
        // The stored history (every process's part of the run, with the original durations), else what
        // this process saw.
        const state = yield* RunStore.state(runId).pipe(
          Effect.provideService(RunStore.RunStore, runtime.store),
          Effect.orElseSucceed(() => local.state ?? RunState.fold(Workflow.compiled(workflow).plan, runId, []))
        )
        return {
          runId,
          workflow: workflow.name,
          outputs: outputs as Workflow.Outputs<W>,
          state,
          durationMs: envelope.durationMs ?? elapsed,
          skipped: local.skipped,
          executed: local.executed
        }
      }
      case "failed":
        return yield* Effect.fail(
          new WorkflowError.WorkflowFailed<Workflow.Error<W>>({
            workflow: workflow.name,
            runId,
            failures: (envelope.failures ?? []).map((f) => ({
              taskId: f.taskId,
              cause: failureOf(f.entry, f.taskId) as Cause.Cause<Workflow.Error<W>>
            })),
            compensations,
            completed: envelope.completed ?? [],
            outputs
          })
        )
      case "timeout":
        return yield* Effect.fail(
          new WorkflowError.WorkflowTimeout({
            workflow: workflow.name,
            runId,
            deadlineMs: envelope.deadlineMs ?? 0,
            completed: envelope.completed ?? [],
            outputs,
            compensations
          })
        )
      case "cancelled":
      case "superseded":
        return yield* Effect.fail(
          new WorkflowError.WorkflowCancelled({ workflow: workflow.name, runId, completed: envelope.completed ?? [] })
        )
      case "definition":
        return yield* Effect.die(new Error(envelope.definition?.message ?? "invalid workflow definition"))
    }
  })

/**
 * Runs a workflow durably and waits for its result. A run started again with the same `runId` joins it
 * (same process) or resumes it from its journal (after a crash), and returns the stored result when it
 * has finished. Same run id with another input: `IdempotencyConflict`. Code changed incompatibly since
 * the run started: `IncompatibleVersion`.
 *
 * @category running
 * @since 0.1.0
 */
export const run = <W extends Workflow.Any>(
  workflow: W,
  ...[input, options = {}]: Args<W>
): Effect.Effect<
  DurableResult<Workflow.Outputs<W>>,
  RunError<Workflow.Error<W>>,
  DurableRuntime | Workflow.Services<W>
> =>
  Effect.gen(function*() {
    const runtime = yield* DurableRuntime
    const inputText = yield* encodeInput(workflow, input)
    return yield* execute(runtime, workflow, options.runId ?? newRunId(), inputText, options)
  }) as never

/** Runs (or joins, or resumes) a stored run with the input it was started with. */
const executeStored = <W extends Workflow.Any>(
  runtime: DurableRuntime["Service"],
  workflow: W,
  runId: string,
  options: DurableOptions
) =>
  Effect.flatMap(
    runtime.store.durableRow(runId),
    (row) => execute(runtime, workflow, runId, row.inputText ?? "", options)
  )

/**
 * Resumes a run from its journal (or returns its stored result). `resume(runId)` finds the workflow among
 * those registered in this process (`Durable.register`, or an earlier `run`); `resume(workflow, runId)`
 * registers it and returns typed outputs.
 *
 * @category running
 * @since 0.1.0
 */
export const resume: {
  (runId: string, options?: Omit<DurableOptions, "runId">): Effect.Effect<
    DurableResult<Readonly<Record<string, unknown>>>,
    RunError<unknown>,
    DurableRuntime
  >
  <W extends Workflow.Any>(workflow: W, runId: string, options?: Omit<DurableOptions, "runId">): Effect.Effect<
    DurableResult<Workflow.Outputs<W>>,
    RunError<Workflow.Error<W>>,
    DurableRuntime | Workflow.Services<W>
  >
} = ((a: string | Workflow.Any, b?: unknown, c?: unknown) =>
  Effect.gen(function*() {
    const runtime = yield* DurableRuntime
    const runId = typeof a === "string" ? a : (b as string)
    const options = ((typeof a === "string" ? b : c) ?? {}) as DurableOptions
    const record = yield* runtime.store.get(runId)
    const workflow = typeof a === "string" ? runtime.registry.get(record.workflow)?.workflow : a
    if (workflow === undefined) return yield* new WorkflowNotRegistered({ runId, workflow: record.workflow })
    if (workflow.name !== record.workflow) {
      return yield* new IdempotencyConflict({ runId, workflow: workflow.name, detail: `workflow "${record.workflow}"` })
    }
    return yield* executeStored(runtime, workflow, runId, options)
  })) as never

/**
 * Starts a run over: its journal is set aside (a new generation), its record goes back to pending, and it
 * runs from the beginning under the current code. The way out of `IncompatibleVersion` when neither the old
 * code nor a migration can finish it.
 *
 * @category running
 * @since 0.1.0
 */
export const restart = <W extends Workflow.Any>(
  workflow: W,
  runId: string,
  options: Omit<DurableOptions, "runId"> = {}
): Effect.Effect<
  DurableResult<Workflow.Outputs<W>>,
  RunError<Workflow.Error<W>>,
  DurableRuntime | Workflow.Services<W>
> =>
  Effect.gen(function*() {
    const runtime = yield* DurableRuntime
    const plan = Workflow.compiled(workflow).plan
    yield* runtime.store.restart(runId, { plan, shape: shapeOf(plan), version: versionOf(workflow, options) })
    return yield* executeStored(runtime, workflow, runId, options)
  }) as never

/**
 * Asks a run to stop: a pending run is cancelled at once; a running one stops at its next check (within
 * about 250 ms), wherever it runs on this database.
 *
 * @category running
 * @since 0.1.0
 */
export const cancel = (runId: string): Effect.Effect<RunStore.RunRecord, RunStore.RunNotFound | RunStore.StoreError, DurableRuntime> =>
  Effect.flatMap(DurableRuntime, (runtime) =>
    Effect.tap(runtime.store.cancel(runId), () => {
      // Running in this process: interrupt its tasks in flight now, without waiting for the next poll.
      const active = runtime.active.get(runId)
      return active === undefined ? Effect.void : Effect.forkDetach(active)
    }))
