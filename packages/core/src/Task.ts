/**
 * Task: what one step of a workflow does, plus its policy attributes.
 *
 * A handler receives a typed context `{ input, ...outputs of the task's data dependencies }` and returns an
 * `Effect`, a `Promise` or a plain value. Tasks are usually declared inline with `Workflow.task`; `Task.make`
 * builds a reusable task value that any workflow whose data fits can use.
 *
 * @since 0.1.0
 */
import { type Duration, Effect, type Schema } from "effect"
import type { PlanNode } from "./Plan.ts"
import type { TaskReport } from "./RunEvent.ts"
import type * as Breaker from "./Breaker.ts"
import type * as Policy from "./Policy.ts"
import type * as Workflow from "./Workflow.ts"
import { type DefinitionError, TaskException, type WorkflowFailed } from "./WorkflowError.ts"

// -----------------------------------------------------------------------------
// Type-level helpers
// -----------------------------------------------------------------------------

/**
 * Flattens an intersection for readable hovers.
 *
 * @category type-level
 * @since 0.1.0
 */
export type Simplify<A> = { [K in keyof A]: A[K] } extends infer B ? B : never

/**
 * A compile-time error message shown in a parameter position.
 *
 * @category type-level
 * @since 0.1.0
 */
export interface TypeError<Message extends string> {
  readonly "~troupe/error": Message
}

/**
 * What a handler's return value yields: the success of an Effect, or the awaited value.
 *
 * @category type-level
 * @since 0.1.0
 */
export type OutputOf<T> = [T] extends [never] ? never : [T] extends [Effect.Effect<infer A, infer _E, infer _R>] ? A : Awaited<T>

/**
 * The errors a handler's return value can fail with. A Promise can reject with anything: that becomes a
 * `TaskException`.
 *
 * @category type-level
 * @since 0.1.0
 */
export type ErrorOf<T> = [T] extends [never] ? never : [T] extends [Effect.Effect<infer _A, infer E, infer _R>] ? E
  : [T] extends [PromiseLike<unknown>] ? TaskException
  : never

/**
 * The services a handler's return value requires.
 *
 * @category type-level
 * @since 0.1.0
 */
export type ServicesOf<T> = [T] extends [never] ? never : [T] extends [Effect.Effect<infer _A, infer _E, infer R>] ? R : never

// -----------------------------------------------------------------------------
// Models
// -----------------------------------------------------------------------------

/**
 * Task priority: 1 (lowest) to 10 (highest). Ready tasks with a higher priority are dispatched first.
 *
 * @category models
 * @since 0.1.0
 */
export type Priority = 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 | 10

/**
 * The attributes a task carries into the Plan (all optional).
 *
 * @category models
 * @since 0.1.0
 */
export interface Attributes {
  readonly description?: string | undefined
  readonly priority?: Priority | undefined
  /** Limit for the whole task (all attempts, including retry delays). */
  readonly timeout?: Duration.Input | undefined
  /** Limit for each attempt. */
  readonly attemptTimeout?: Duration.Input | undefined
  /** Retry policy (see `Policy`). Default: the workflow's, else no retry. */
  readonly retry?: Policy.Retry | undefined
  /** Units of named resource pools held while the task runs, e.g. `{ gpu: 1 }`. */
  readonly resources?: Readonly<Record<string, number>> | undefined
  /**
   * Tasks with the same key share the per-key concurrency limit, dispatched fairly between keys. A function
   * computes the key from the task's context when the task becomes ready (a tenant, an API host).
   */
  readonly concurrencyKey?: string | ((ctx: never) => string) | undefined
  /**
   * At most `limit` starts of this task per `interval` (with every task that uses the same `rateLimit`
   * value, per key): requests per minute to a provider, per tenant. A task held back by its rate limit
   * waits without a slot (`TaskWaiting` with reason `rate-limit`); see `RateLimit`.
   */
  readonly rateLimit?: RateLimit<never> | undefined
  /** A circuit breaker guarding the task (shared with every task that uses the same value). */
  readonly breaker?: Breaker.Breaker | undefined
  /** Cache policy, or `false` to never cache this task. */
  readonly cache?: false | CachePolicy<any> | undefined
  readonly parameters?: Readonly<Record<string, unknown>> | undefined
  readonly metadata?: Readonly<Record<string, unknown>> | undefined
  readonly tags?: ReadonlyArray<string> | undefined
  /** Capabilities an agent needs to run this task. */
  readonly capabilities?: ReadonlyArray<string> | undefined
  /** Skills (SKILL.md) the task needs. */
  readonly skills?: ReadonlyArray<string> | undefined
  /** Run on this agent type, bypassing capability routing. */
  readonly agentType?: string | undefined
  readonly expectedOutputType?: string | undefined
  /** Expected duration: used by analysis and to order ready tasks. */
  readonly estimatedDuration?: Duration.Input | undefined
  /** Run even if a dependency was skipped (its output is then `undefined`). Default false. */
  readonly runIfSkipped?: boolean | undefined
  /**
   * The schema of the task's output: durable runs (`@troupe/durable`) journal the output encoded with it and
   * decode it on replay. Without it, a durable task's output must be JSON data.
   */
  readonly output?: Schema.Top | undefined
}

/**
 * How a task's output is cached when a `TaskCache` layer is provided (see `TaskCache`). By default every
 * task is cached under a key made of the workflow and task id, description, parameters, capabilities,
 * skills, `version`, the run input and the outputs of its data dependencies. `cache: false` opts out.
 *
 * @category models
 * @since 0.1.0
 */
export interface CachePolicy<Ctx = never> {
  /** Bump to invalidate entries written by older code. */
  readonly version?: string | number | undefined
  /** Key the entry by this value instead (it is hashed canonically). */
  readonly key?: ((ctx: Ctx) => unknown) | undefined
  /** Include dependencies' outputs in the key. Default true. */
  readonly includeDependencies?: boolean | undefined
  readonly ttl?: Duration.Input | undefined
  /** Encode/decode cached outputs with this schema; a cached value that no longer decodes is a miss. */
  readonly output?: Schema.Top | undefined
}

/**
 * A rate limit: at most `limit` task starts in any window of `interval`. The limit belongs to the value:
 * every task (in any run of the process) that uses the same `RateLimit` value shares it, per key. `key`
 * splits it further, by a fixed string or by a function of the task's context (a tenant, an API host),
 * computed when the task becomes ready. A ready task whose limit is used up waits for the window to move,
 * holding no concurrency slot, with a `TaskWaiting` event (reason `rate-limit`, the key as its name) and a
 * `TaskResumed` when it goes on. Retries inside the task are not rate limited (they are part of one start).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Workflow } from "@troupe/core"
 *
 * const openAi = { limit: 60, interval: "1 minute" } as const
 * const wf = Workflow.make<"summaries", { readonly tenant: string }>("summaries")
 *   .task("a", { rateLimit: openAi }, () => Effect.succeed("a"))
 *   .task("b", { rateLimit: { ...openAi, key: ({ input }) => input.tenant } }, () => Effect.succeed("b"))
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface RateLimit<Ctx = object> {
  /** Starts allowed per window: a whole number, at least 1. */
  readonly limit: number
  /** The window's length (more than 0). */
  readonly interval: Duration.Input
  /** Splits the limit by key: a string, or a function of the task's context. Default: one limit. */
  readonly key?: string | ((ctx: Ctx) => string) | undefined
}

/**
 * A condition: the task is skipped (with its dependants, by default) when it returns false.
 *
 * @category models
 * @since 0.1.0
 */
export type Condition<Ctx, R = never> = (ctx: Ctx) => boolean | Effect.Effect<boolean, never, R>

/**
 * The type id of task values.
 *
 * @category type ids
 * @since 0.1.0
 */
export const TypeId: unique symbol = Symbol.for("@troupe/core/Task") as never

/**
 * @category type ids
 * @since 0.1.0
 */
export type TypeId = typeof TypeId

/**
 * A reusable task: a handler that needs a context of type `Needs`, with attributes.
 *
 * @category models
 * @since 0.1.0
 */
export interface Task<out A, out E = never, out R = never, in Needs = unknown> {
  readonly [TypeId]: TypeId
  /** `function`, `agent`, `workflow`, or a custom task type. */
  readonly taskType: string
  readonly attributes: Attributes
  readonly when?: Condition<Needs, R> | undefined
  readonly run: (ctx: Needs, info: TaskInfo) => Effect.Effect<A, E, R>
  /**
   * Checked once before the run starts (before any task runs), with the task's node: for example an agent
   * task checks that some registered agent can take it and that its skills exist.
   */
  readonly check?: ((node: PlanNode) => Effect.Effect<void, E, R>) | undefined
  /**
   * Marks a task made of several executions (a loop's iterations, a pipeline's steps). The engine does not
   * wrap a composite task with the installed `TaskHook`; the task calls the hook itself for each execution,
   * with `TaskInfo.path` as the prefix (see `TaskHook`).
   */
  readonly composite?: true | undefined
}

// -----------------------------------------------------------------------------
// Constructors
// -----------------------------------------------------------------------------

/**
 * What the engine tells a task about the run it is part of.
 *
 * @category models
 * @since 0.1.0
 */
export interface TaskInfo {
  readonly workflow: string
  readonly runId: string
  readonly node: PlanNode
  /**
   * The task's stable path in the run: its id at the top level, `child/task` inside a sub-workflow task
   * named `child` (recursively). `workflow` and `runId` are the top-level run's (see `TaskHook`).
   */
  readonly path: string
  /** The attempt being run, from 1. */
  readonly attempt: number
  /**
   * Reports a state change of a circuit breaker the task manages itself (for example a per-agent breaker)
   * as a `BreakerStateChanged` event.
   */
  readonly breakerChanged: (
    breaker: string,
    transition: { readonly from: "closed" | "open" | "half-open"; readonly to: "closed" | "open" | "half-open" }
  ) => void
  /**
   * Reports an event of this task (a tool call, streamed model text, token usage, an event of a run the
   * task drives itself, as a `SubWorkflowEvent`): the engine stamps it with the run, the time and the task.
   */
  readonly emit?: ((event: TaskReport) => void) | undefined
  /** Reports a loop iteration of this task as a `TaskIteration` event. */
  readonly iteration: (
    iteration: number,
    status: "started" | "completed" | "failed",
    message?: string
  ) => void
  /**
   * Runs a workflow built at run time as a child of this task (Temporal's child workflows), under the
   * tree's rules: it is prepared as a static sub-workflow is (validation, resource pools, task checks), it
   * shares the run tree's slots, pools and per-key counts, its events reach the run as `SubWorkflowEvent`s
   * of this task, and its tasks' paths are `<this task's path>/<name>/<task>` (a durable TaskHook journals
   * them by those paths). `name` defaults to `child-1`, `child-2`... in call order within the attempt.
   *
   * While the child runs, this task gives its slot up (a parent with `maxParallel: 1` does not deadlock);
   * it takes one back, waiting its turn under the limits, before it continues (its pool units and
   * concurrency key stay held). Interrupting or cancelling this task interrupts the child.
   * Succeeds with the child's outputs; fails with `WorkflowFailed` (a task of the child failed, or its
   * deadline passed) or a `DefinitionError` (the child is invalid, nothing of it ran).
   */
  readonly runWorkflow: <W extends Workflow.Any>(
    workflow: W,
    ...args: ChildArgs<W>
  ) => Effect.Effect<
    Workflow.Outputs<W>,
    WorkflowFailed<Workflow.Error<W>> | DefinitionError,
    Workflow.Services<W>
  >
}

/**
 * Options of `TaskInfo.runWorkflow`.
 *
 * @category models
 * @since 0.1.0
 */
export interface ChildOptions {
  /**
   * The child's name in its task's path (`<task path>/<name>/<child task>`) and run id: stable across
   * replays when the handler is. Unique within an attempt; no `/`. Default `child-<n>`.
   */
  readonly name?: string | undefined
}

/**
 * The arguments of `TaskInfo.runWorkflow` after the workflow: its input (optional when it takes none),
 * then the options.
 *
 * @category type-level
 * @since 0.1.0
 */
export type ChildArgs<W extends Workflow.Any> = [void] extends [Workflow.Input<W>]
  ? [input?: Workflow.Input<W>, options?: ChildOptions]
  : [input: Workflow.Input<W>, options?: ChildOptions]

const isPromiseLike = (u: unknown): u is PromiseLike<unknown> =>
  typeof u === "object" && u !== null && typeof (u as { then?: unknown }).then === "function"

/**
 * Turns a handler's result (Effect, Promise or plain value) into an Effect. A rejected Promise becomes a
 * `TaskException` naming the task; a synchronous throw is a defect.
 *
 * @category constructors
 * @since 0.1.0
 */
export const fromHandler = (
  taskId: string,
  make: () => unknown
): Effect.Effect<unknown, unknown, unknown> =>
  Effect.suspend(() => {
    const result = make()
    if (Effect.isEffect(result)) return result
    if (isPromiseLike(result)) {
      return Effect.tryPromise({
        try: () => Promise.resolve(result),
        catch: (cause) => new TaskException({ taskId, cause })
      })
    }
    return Effect.succeed(result)
  })

/**
 * A task value from attributes and a handler. The handler's parameter type says what the task needs
 * from the workflow (`input` and dependency outputs); adding it to a workflow whose data does not fit is a
 * compile error. A handler may take the run's `TaskInfo` as a second parameter (for example to start a
 * child workflow with `info.runWorkflow`).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Task, Workflow } from "@troupe/core"
 *
 * const count = Task.make(
 *   { description: "count words" },
 *   ({ input }: { readonly input: string }) => Effect.succeed(input.split(" ").length)
 * )
 * const wf = Workflow.make<"words", string>("words").task("count", count)
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = <Needs, F extends (ctx: Needs, info: TaskInfo) => unknown, R2 = never>(
  attributes: Attributes & { readonly when?: Condition<Needs, R2> | undefined; readonly taskType?: string },
  handler: F & ((ctx: Needs, info: TaskInfo) => unknown)
): Task<OutputOf<ReturnType<F>>, ErrorOf<ReturnType<F>>, ServicesOf<ReturnType<F>> | R2, Needs> => {
  const { taskType, when, ...rest } = attributes
  return {
    [TypeId]: TypeId,
    taskType: taskType ?? "function",
    attributes: rest,
    when: when as never,
    run: (ctx: Needs, info: TaskInfo) => fromHandler(info.node.id, () => handler(ctx, info)) as never
  }
}

// -----------------------------------------------------------------------------
// Guards
// -----------------------------------------------------------------------------

/**
 * @category guards
 * @since 0.1.0
 */
export const isTask = (u: unknown): u is Task<unknown, unknown, unknown, never> =>
  typeof u === "object" && u !== null && TypeId in u
