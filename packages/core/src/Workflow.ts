/**
 * Workflow: an immutable, typed value describing tasks and their dependencies.
 *
 * `Workflow.make("name")` (also exported as `workflow`) starts an empty workflow; each `.task(id, ...)`
 * returns a new workflow with one more task, and `.dependsOn(...ids)` after a task adds order-only
 * dependencies to it. Task ids, outputs, errors and required services accumulate in the type:
 * a dependency on an unknown id, a duplicate id, or reading an output the task does not depend on are
 * compile errors, and a workflow that needs a service cannot be run without it.
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Workflow } from "@troupe/core"
 *
 * const ci = Workflow.make("ci", { input: Schema.Struct({ repo: Schema.String }) })
 *   .task("checkout", ({ input }) => Effect.succeed(`/tmp/${input.repo}`))
 *   .task("build", { dependsOn: ["checkout"] }, ({ checkout }) => Effect.succeed(`${checkout}/dist`))
 *   .task("lint", { dependsOn: ["checkout"] }, ({ checkout }) => Effect.succeed(checkout.length))
 *   .task("test", { dependsOn: ["build"] }, ({ build }) => Effect.succeed(build.endsWith("dist")))
 *   .dependsOn("lint")
 * ```
 *
 * @since 0.1.0
 */
import { Duration, Effect, type Pipeable, Result, Schema } from "effect"
import * as Expression from "./Expression.ts"
import { pipeArguments } from "effect/Pipeable"
import {
  type Compiled,
  compile,
  type Entry,
  internals,
  InternalsId,
  type TaskImpl,
  type WorkflowInternals
} from "./internal/workflowPlan.ts"
import * as PlanLoops from "./internal/planLoops.ts"
import type * as Loop from "./Loop.ts"
import type { Plan, PlanNode } from "./Plan.ts"
import * as Policy from "./Policy.ts"
import * as Task from "./Task.ts"
import type {
  Attributes,
  Condition,
  ErrorOf,
  OutputOf,
  ServicesOf,
  Simplify,
  TypeError
} from "./Task.ts"
import { InvalidDefinition, type WorkflowFailed } from "./WorkflowError.ts"

// -----------------------------------------------------------------------------
// Type ids
// -----------------------------------------------------------------------------

/**
 * @category type ids
 * @since 0.1.0
 */
export const TypeId: unique symbol = Symbol.for("@troupe/core/Workflow") as never

/**
 * @category type ids
 * @since 0.1.0
 */
export type TypeId = typeof TypeId

// -----------------------------------------------------------------------------
// Type-level helpers
// -----------------------------------------------------------------------------

/**
 * Checks a new task id: it must not be empty, taken, or `input` (the workflow input's key).
 *
 * @category type-level
 * @since 0.1.0
 */
export type CheckId<Id extends string, Taken> = Id extends "" ? TypeError<"a task id cannot be empty">
  : Id extends "input" ? TypeError<`"input" is reserved for the workflow input; choose another task id`>
  : Id extends Taken ? TypeError<`task "${Id}" is already defined`>
  : unknown

/**
 * The context a task handler receives: the workflow input and the outputs of exactly its data
 * dependencies. With `runIfSkipped`, outputs of dependencies that may be skipped are optional.
 *
 * @category type-level
 * @since 0.1.0
 */
export type Context<
  Input,
  Outputs,
  Deps extends keyof Outputs,
  Maybe extends string = never,
  RunIfSkipped extends boolean = false
> = Simplify<
  & { readonly input: Input }
  & (true extends RunIfSkipped ?
      & { readonly [K in Exclude<Deps, Maybe>]: Outputs[K] }
      & { readonly [K in Extract<Deps, Maybe>]?: Outputs[K] }
    : { readonly [K in Deps]: Outputs[K] })
>

/**
 * The outputs record of a finished run: tasks that may be skipped (they have a condition, or depend on
 * one that has) are optional.
 *
 * @category type-level
 * @since 0.1.0
 */
export type ResultOutputs<Outputs, Maybe extends string> = Simplify<
  & { readonly [K in Exclude<keyof Outputs, Maybe>]: Outputs[K] }
  & { readonly [K in Extract<keyof Outputs, Maybe>]?: Outputs[K] }
>

type AddOutput<Outputs, Id extends string, A> = Outputs & { readonly [K in Id]: A }

/**
 * What a condition returns: a boolean, or an Effect of one.
 *
 * @category type-level
 * @since 0.1.0
 */
export type WhenResult = boolean | Effect.Effect<boolean, never, any>

type MaybeOf<Id extends string, W, Deps extends string, Maybe extends string, RunIfSkipped> =
  [W] extends [never] ? (true extends RunIfSkipped ? never : [Extract<Deps, Maybe>] extends [never] ? never : Id)
    : Id

// -----------------------------------------------------------------------------
// Models
// -----------------------------------------------------------------------------

/**
 * Options of a task declared in a workflow: its data dependencies, a condition and its attributes.
 *
 * @category models
 * @since 0.1.0
 */
export interface TaskOptions<Ctx, Deps extends string, RunIfSkipped extends boolean, W extends WhenResult>
  extends Attributes
{
  /** Tasks whose outputs this task reads (they run first). */
  readonly dependsOn?: ReadonlyArray<Deps> | undefined
  /** Skip the task (and, by default, its dependants) unless this returns true. */
  readonly when?: ((ctx: Ctx) => W) | undefined
  readonly runIfSkipped?: RunIfSkipped | undefined
  /** Cache policy (its key function sees the task's context), or `false` to never cache this task. */
  readonly cache?: false | Task.CachePolicy<Ctx> | undefined
  /** A concurrency key, or a function computing it from the task's context when it becomes ready. */
  readonly concurrencyKey?: string | ((ctx: Ctx) => string) | undefined
  /** A rate limit (see `Task.RateLimit`); its key function sees the task's context. */
  readonly rateLimit?: Task.RateLimit<Ctx> | undefined
}

/**
 * Options of a sub-workflow task: like task options, plus the mapping from the parent's context to the
 * child's input (optional when the child takes no input).
 *
 * @category models
 * @since 0.1.0
 */
export type SubWorkflowOptions<
  Ctx,
  ChildInput,
  Deps extends string,
  RunIfSkipped extends boolean,
  W extends WhenResult
> =
  & TaskOptions<Ctx, Deps, RunIfSkipped, W>
  & ([void] extends [ChildInput] ? { readonly input?: ((ctx: Ctx) => ChildInput) | undefined }
    : { readonly input: (ctx: Ctx) => ChildInput })

/**
 * Workflow-wide settings (each can be overridden per run in `RunOptions`).
 *
 * @category models
 * @since 0.1.0
 */
export interface WorkflowOptions {
  readonly description?: string | undefined
  /** Most tasks running at once. Default unbounded. */
  readonly maxParallel?: number | undefined
  /** Timeout of tasks that declare none. */
  readonly defaultTimeout?: Duration.Input | undefined
  /** Deadline for the whole run: whatever still runs then is cancelled. */
  readonly deadline?: Duration.Input | undefined
  /** Capacities of named resource pools, e.g. `{ gpu: 2 }`. */
  readonly resources?: Readonly<Record<string, number>> | undefined
  /** Most tasks with the same `concurrencyKey` running at once. */
  readonly perKeyLimit?: number | undefined
  /** Retry policy of tasks that declare none. */
  readonly retry?: Policy.Retry | undefined
  /**
   * When a task fails, keep running every task that does not depend on it (only its dependants are
   * skipped), and fail the run at the end with every failure: the `continue` failure mode. Default false
   * (fail-fast). `RunOptions.failureMode` overrides it per run.
   */
  readonly continueOnFailure?: boolean | undefined
  readonly metadata?: Readonly<Record<string, unknown>> | undefined
}

/**
 * A workflow value. Type parameters:
 * - `Name`: its name;
 * - `Input`: the type of the run's input;
 * - `Outputs`: task id to output type, for every task declared so far;
 * - `E`, `R`: the errors and services of all tasks;
 * - `Last`: the id of the task declared last (what `.dependsOn` applies to);
 * - `Maybe`: ids of tasks that may be skipped.
 *
 * @category models
 * @since 0.1.0
 */
export interface Workflow<
  in out Name extends string,
  in out Input,
  in out Outputs,
  out E = never,
  out R = never,
  in out Last extends string = never,
  in out Maybe extends string = never
> extends Pipeable.Pipeable {
  readonly [TypeId]: {
    readonly _Input: (_: Input) => Input
    readonly _Outputs: (_: Outputs) => Outputs
    readonly _E: (_: never) => E
    readonly _R: (_: never) => R
    readonly _Maybe: (_: Maybe) => Maybe
  }
  readonly name: Name
  readonly description: string

  /** Adds a task. See the overloads for the accepted forms. */
  readonly task: TaskMethod<Name, Input, Outputs, E, R, Maybe>

  /**
   * Adds order-only dependencies to the task declared last: it starts after them without reading their
   * outputs.
   */
  readonly dependsOn: [Last] extends [never] ? TypeError<"dependsOn(...) must follow a task">
    : <const Ids extends ReadonlyArray<Exclude<keyof Outputs & string, Last>>>(
      ...ids: Ids
    ) => Workflow<
      Name,
      Input,
      Outputs,
      E,
      R,
      Last,
      Maybe | ([Extract<Ids[number], Maybe>] extends [never] ? never : Last)
    >

  /**
   * Gives the task declared last a compensation (saga): when a run fails, compensations of completed
   * tasks run in reverse completion order, each once, with the output of the task it undoes.
   */
  readonly compensate: [Last] extends [never] ? TypeError<"compensate(...) must follow a task">
    : <F extends (output: Outputs[Last & keyof Outputs], ctx: { readonly input: Input }) => unknown>(
      compensation: F
    ) => Workflow<Name, Input, Outputs, E, R | ServicesOf<ReturnType<F>>, Last, Maybe>

  /**
   * Output mapping (seed 003's `output_mapping`): publishes a named value computed from the output of the
   * task declared last. Later tasks read it like any output (`dependsOn: [name]`, then `ctx[name]`), typed.
   * In the Plan it is a node of task type `output_mapping` that depends on the task.
   */
  readonly publish: [Last] extends [never] ? TypeError<"publish(...) must follow a task">
    : <const Key extends string, F extends (output: Outputs[Last & keyof Outputs]) => unknown>(
      name: Key & CheckId<Key, keyof Outputs>,
      select: F
    ) => Workflow<
      Name,
      Input,
      AddOutput<Outputs, Key, OutputOf<ReturnType<F>>>,
      E | ErrorOf<ReturnType<F>>,
      R | ServicesOf<ReturnType<F>>,
      Last,
      Maybe | (Last extends Maybe ? Key : never)
    >

  /**
   * Gives the task declared last a fallback: when its retries are exhausted, the fallback's result becomes
   * the task's output (the run records that the fallback was used). The task's output type becomes the
   * union of both; the fallback's errors and services are added to the workflow's.
   */
  readonly fallback: [Last] extends [never] ? TypeError<"fallback(...) must follow a task">
    : <F extends (error: unknown, ctx: { readonly input: Input }) => unknown>(
      fallback: F
    ) => Workflow<
      Name,
      Input,
      Simplify<
        & Omit<Outputs, Last>
        & { readonly [K in Last]: Outputs[Last & keyof Outputs] | OutputOf<ReturnType<F>> }
      >,
      E | ErrorOf<ReturnType<F>>,
      R | ServicesOf<ReturnType<F>>,
      Last,
      Maybe
    >
}

/**
 * The overloads of `workflow.task(...)`.
 *
 * @category models
 * @since 0.1.0
 */
export interface TaskMethod<Name extends string, Input, Outputs, E, R, Maybe extends string> {
  /** `.task(id, taskValue)`: a reusable task value whose needs fit `{ input }`. */
  <const Id extends string, A, E2, R2>(
    id: Id & CheckId<Id, keyof Outputs>,
    task: Task.Task<A, E2, R2, Context<Input, Outputs, never>>
  ): Workflow<Name, Input, AddOutput<Outputs, Id, A>, E | E2, R | R2, Id, Maybe>

  /** `.task(id, handler)`: a task without data dependencies; the handler receives `{ input }`. */
  <const Id extends string, F extends (ctx: Context<Input, Outputs, never>) => unknown>(
    id: Id & CheckId<Id, keyof Outputs>,
    handler: F
  ): Workflow<
    Name,
    Input,
    AddOutput<Outputs, Id, OutputOf<ReturnType<F>>>,
    E | ErrorOf<ReturnType<F>>,
    R | ServicesOf<ReturnType<F>>,
    Id,
    Maybe
  >

  /** `.task(id, options, taskValue)`: a reusable task value with dependencies and attributes. */
  <
    const Id extends string,
    A,
    E2,
    R2,
    const Deps extends keyof Outputs & string = never,
    RunIfSkipped extends boolean = false,
    W extends WhenResult = never
  >(
    id: Id & CheckId<Id, keyof Outputs>,
    options:
      TaskOptions<Context<Input, Outputs, Deps, Maybe, RunIfSkipped>, Deps, RunIfSkipped, W>,
    task: Task.Task<A, E2, R2, Context<Input, Outputs, Deps, Maybe, RunIfSkipped>>
  ): Workflow<
    Name,
    Input,
    AddOutput<Outputs, Id, A>,
    E | E2,
    R | R2 | ServicesOf<W>,
    Id,
    Maybe | MaybeOf<Id, W, Deps, Maybe, RunIfSkipped>
  >
  /** `.task(id, options, handler)`: declared dependencies, attributes and a condition, then the handler. */
  <
    const Id extends string,
    F extends (ctx: Context<Input, Outputs, Deps, Maybe, RunIfSkipped>) => unknown,
    const Deps extends keyof Outputs & string = never,
    RunIfSkipped extends boolean = false,
    W extends WhenResult = never
  >(
    id: Id & CheckId<Id, keyof Outputs>,
    options:
      TaskOptions<Context<Input, Outputs, Deps, Maybe, RunIfSkipped>, Deps, RunIfSkipped, W>,
    handler: F
  ): Workflow<
    Name,
    Input,
    AddOutput<Outputs, Id, OutputOf<ReturnType<F>>>,
    E | ErrorOf<ReturnType<F>>,
    R | ServicesOf<ReturnType<F>> | ServicesOf<W>,
    Id,
    Maybe | MaybeOf<Id, W, Deps, Maybe, RunIfSkipped>
  >

  /** `.task(id, childWorkflow, { input: (ctx) => childInput, ... })`: a sub-workflow as a task. */
  <
    const Id extends string,
    CN extends string,
    CI,
    CO,
    CE,
    CR,
    CM extends string,
    const Deps extends keyof Outputs & string = never,
    RunIfSkipped extends boolean = false,
    W extends WhenResult = never
  >(
    id: Id & CheckId<Id, keyof Outputs>,
    workflow: Workflow<CN, CI, CO, CE, CR, any, CM>,
    ...options: [void] extends [CI]
      ? [options?: SubWorkflowOptions<Context<Input, Outputs, Deps, Maybe, RunIfSkipped>, CI, Deps, RunIfSkipped, W>]
      : [options: SubWorkflowOptions<Context<Input, Outputs, Deps, Maybe, RunIfSkipped>, CI, Deps, RunIfSkipped, W>]
  ): Workflow<
    Name,
    Input,
    AddOutput<Outputs, Id, ResultOutputs<CO, CM>>,
    E | WorkflowFailed<CE>,
    R | CR | ServicesOf<W>,
    Id,
    Maybe | MaybeOf<Id, W, Deps, Maybe, RunIfSkipped>
  >

}

/**
 * Any workflow. (Structural on the type id only, so that any workflow value is assignable to it.)
 *
 * @category models
 * @since 0.1.0
 */
export interface Any {
  readonly [TypeId]: {
    readonly _Input: (_: never) => unknown
    readonly _Outputs: (_: never) => unknown
    readonly _E: (_: never) => unknown
    readonly _R: (_: never) => unknown
    readonly _Maybe: (_: never) => unknown
  }
  readonly name: string
  readonly description: string
}

type Variance<W extends Any> = W[TypeId]
type Out<F> = F extends (_: never) => infer X ? X : never

/**
 * The type of a workflow's run input.
 *
 * @category type-level
 * @since 0.1.0
 */
export type Input<W extends Any> = Out<Variance<W>["_Input"]>

/**
 * The outputs record a successful run of a workflow returns.
 *
 * @category type-level
 * @since 0.1.0
 */
export type Outputs<W extends Any> = ResultOutputs<
  Out<Variance<W>["_Outputs"]>,
  Out<Variance<W>["_Maybe"]> & string
>

/**
 * The errors a workflow's tasks can fail with.
 *
 * @category type-level
 * @since 0.1.0
 */
export type Error<W extends Any> = Out<Variance<W>["_E"]>

/**
 * The services a workflow's tasks require.
 *
 * @category type-level
 * @since 0.1.0
 */
export type Services<W extends Any> = Out<Variance<W>["_R"]>

// -----------------------------------------------------------------------------
// Implementation
// -----------------------------------------------------------------------------

const durationMs = (input: Duration.Input | undefined): number | undefined =>
  input === undefined ? undefined : Duration.toMillis(Duration.fromInputUnsafe(input))

// Shared frozen empties: most tasks have no tags, parameters, ... and a 100 000-task plan should not
// carry 100 000 copies of them.
const emptyArray: ReadonlyArray<never> = Object.freeze([])
const emptyRecord: Readonly<Record<string, unknown>> = Object.freeze({})

const freezeArray = <A>(xs: ReadonlyArray<A> | undefined): ReadonlyArray<A> =>
  xs === undefined || xs.length === 0 ? emptyArray : Object.freeze([...xs])

const freezeRecord = (r: Readonly<Record<string, unknown>> | undefined): Readonly<Record<string, unknown>> => {
  if (r === undefined) return emptyRecord
  for (const _ in r) return Object.freeze({ ...r })
  return emptyRecord
}

const predicateCondition = Object.freeze({ _tag: "Predicate" as const })

const keyOf = (attrs: Attributes): TaskImpl["keyOf"] =>
  typeof attrs.concurrencyKey === "function" ? attrs.concurrencyKey as TaskImpl["keyOf"] : undefined

const makeNode = (
  id: string,
  index: number,
  taskType: string,
  attrs: Attributes,
  dependsOn: ReadonlyArray<string>,
  after: ReadonlyArray<string>,
  hasCondition: boolean,
  child: WorkflowInternals | undefined
): PlanNode => {
  const node: { -readonly [K in keyof PlanNode]: PlanNode[K] } = {
    id,
    index,
    description: attrs.description ?? "",
    taskType,
    dependsOn: freezeArray(dependsOn),
    after: freezeArray(after),
    priority: attrs.priority ?? 5,
    parameters: freezeRecord(attrs.parameters),
    metadata: freezeRecord(attrs.metadata),
    tags: freezeArray(attrs.tags),
    capabilities: freezeArray(attrs.capabilities),
    skills: freezeArray(attrs.skills),
    runIfSkipped: attrs.runIfSkipped ?? false
  }
  // The optional fields are set only when present: a plain task's node is half the size (a 100 000-task
  // plan holds 100 000 of them).
  if (attrs.timeout !== undefined) node.timeoutMs = durationMs(attrs.timeout)
  if (attrs.attemptTimeout !== undefined) node.attemptTimeoutMs = durationMs(attrs.attemptTimeout)
  if (attrs.retry !== undefined) node.retry = Object.freeze(Policy.toData(attrs.retry))
  if (attrs.resources !== undefined) node.resources = freezeRecord(attrs.resources) as Readonly<Record<string, number>>
  if (typeof attrs.concurrencyKey === "string") node.concurrencyKey = attrs.concurrencyKey
  if (typeof attrs.concurrencyKey === "function") node.concurrencyKeyComputed = true
  if (attrs.breaker !== undefined) node.breaker = attrs.breaker.name
  if (attrs.cache !== undefined) node.cache = attrs.cache === false ? false : Object.freeze({ version: attrs.cache.version })
  if (attrs.agentType !== undefined) node.agentType = attrs.agentType
  if (attrs.expectedOutputType !== undefined) node.expectedOutputType = attrs.expectedOutputType
  if (hasCondition) node.condition = predicateCondition
  if (attrs.estimatedDuration !== undefined) node.estimatedDurationMs = durationMs(attrs.estimatedDuration)
  if (child !== undefined) node.workflow = compile(child).plan
  return Object.freeze(node)
}

// The builder's methods live on the prototype (called as `wf.task(...)`): a 100 000-task workflow built by
// a loop of `.task` calls does not allocate five closures per call.
const internalsOf = (self: unknown): WorkflowInternals => (self as { readonly [InternalsId]: WorkflowInternals })[InternalsId]

const Proto = {
  pipe() {
    return pipeArguments(this, arguments)
  },
  task(this: unknown, id: string, a: unknown, b?: unknown) {
    return makeWorkflow(addTask(internalsOf(this), id, a, b))
  },
  dependsOn(this: unknown, ...ids: ReadonlyArray<string>) {
    return makeWorkflow(addAfter(internalsOf(this), ids))
  },
  publish(this: unknown, name: string, select: (output: unknown) => unknown) {
    return makeWorkflow(addPublish(internalsOf(this), name, select))
  },
  compensate(this: unknown, f: (output: never, ctx: never) => unknown) {
    return makeWorkflow(updateLast(internalsOf(this), "compensate", (impl) => ({
      node: Object.freeze({ ...impl.node, compensable: true }),
      compensate: (output: never, ctx: never) => Task.fromHandler(impl.node.id, () => f(output, ctx))
    })))
  },
  fallback(this: unknown, f: (error: unknown, ctx: never) => unknown) {
    return makeWorkflow(updateLast(internalsOf(this), "fallback", (impl) => ({
      node: Object.freeze({ ...impl.node, hasFallback: true }),
      fallback: (error: unknown, ctx: never) => Task.fromHandler(impl.node.id, () => f(error, ctx))
    })))
  }
}

const makeWorkflow = (w: WorkflowInternals): Workflow<string, unknown, {}> => {
  const self = Object.create(Proto)
  self[InternalsId] = w
  self[TypeId] = TypeId
  self.name = w.name
  self.description = w.description
  return Object.freeze(self)
}

const isWorkflowValue = (u: unknown): boolean => typeof u === "object" && u !== null && InternalsId in u

const push = (w: WorkflowInternals, impl: TaskImpl): WorkflowInternals => ({
  ...w,
  head: { parent: w.head, impl, size: (w.head?.size ?? 0) + 1 } satisfies Entry
})

type Options = Attributes & {
  readonly dependsOn?: ReadonlyArray<string> | undefined
  readonly when?: Condition<never, unknown> | undefined
  readonly input?: ((ctx: never) => unknown) | undefined
}

const addTask = (w: WorkflowInternals, id: string, a: unknown, b: unknown): WorkflowInternals => {
  const index = w.head?.size ?? 0
  // .task(id, handler)
  if (typeof a === "function") {
    const handler = a as (ctx: unknown) => unknown
    return push(w, { node: makeNode(id, index, "function", {}, [], [], false, undefined), run: runHandler, handler })
  }
  // .task(id, taskValue)
  if (Task.isTask(a)) return push(w, fromTaskValue(id, index, a, {}))
  // .task(id, childWorkflow, options)
  if (isWorkflowValue(a)) {
    const child = internals(a)
    const options = (b ?? {}) as Options
    const { dependsOn, when, input, ...attrs } = options
    return push(w, {
      node: makeNode(id, index, "workflow", attrs, dependsOn ?? [], [], when !== undefined, child),
      run: () => {
        throw new globalThis.Error("sub-workflow tasks are run by the engine")
      },
      when,
      retry: attrs.retry,
      breaker: attrs.breaker,
      cache: attrs.cache,
      keyOf: keyOf(attrs),
      rateLimit: attrs.rateLimit,
      child: { workflow: child, input }
    })
  }
  // .task(id, options, childWorkflow): not in the typed overloads (the options come after the workflow),
  // but accepted as the same task when the types were bypassed (JavaScript, a cast), never a TypeError later.
  if (isWorkflowValue(b)) return addTask(w, id, b, a)
  const options = (a ?? {}) as Options
  // .task(id, options, taskValue)
  if (Task.isTask(b)) return push(w, fromTaskValue(id, index, b, options))
  // .task(id, options, handler) (the options are the attributes: makeNode reads only attribute fields)
  const handler = b as (ctx: unknown) => unknown
  const attrs: Attributes = options
  const when = options.when
  const impl: { -readonly [K in keyof TaskImpl]: TaskImpl[K] } = {
    node: makeNode(id, index, "function", attrs, options.dependsOn ?? [], [], when !== undefined, undefined),
    run: runHandler,
    handler
  }
  // Like the node's, the optional fields are set only when present.
  if (when !== undefined) impl.when = when
  if (attrs.retry !== undefined) impl.retry = attrs.retry
  if (attrs.breaker !== undefined) impl.breaker = attrs.breaker
  if (attrs.cache !== undefined) impl.cache = attrs.cache
  if (attrs.output !== undefined) impl.output = attrs.output
  if (typeof attrs.concurrencyKey === "function") impl.keyOf = keyOf(attrs)
  if (attrs.rateLimit !== undefined) impl.rateLimit = attrs.rateLimit
  return push(w, impl)
}

/**
 * The `run` of every task declared with a handler: one function for all of them (not a closure per task),
 * called as `impl.run(ctx)`, so it reads the handler and the id from its task.
 */
const runHandler = function(this: TaskImpl, ctx: never) {
  const handler = this.handler!
  return Task.fromHandler(this.node.id, () => handler(ctx))
} as unknown as TaskImpl["run"]

const fromTaskValue = (
  id: string,
  index: number,
  task: Task.Task<unknown, unknown, unknown, never>,
  options: Options
): TaskImpl => {
  const { dependsOn, when, ...attrs } = options
  const condition = when ?? task.when
  const merged = { ...task.attributes, ...attrs }
  return {
    retry: merged.retry,
    breaker: merged.breaker,
    cache: merged.cache,
    output: merged.output,
    keyOf: keyOf(merged),
    rateLimit: merged.rateLimit,
    node: makeNode(id, index, task.taskType, merged, dependsOn ?? [], [],
      condition !== undefined, undefined),
    run: task.run as TaskImpl["run"],
    check: task.check as TaskImpl["check"],
    when: condition as TaskImpl["when"],
    composite: task.composite
  }
}

const addPublish = (w: WorkflowInternals, name: string, select: (output: unknown) => unknown): WorkflowInternals => {
  const head = w.head
  if (head === undefined) throw new globalThis.Error("publish(...) must follow a task")
  // The nearest task that is not itself a published value: what `.publish` derives from.
  let source = head
  while (source.impl.derived === true && source.parent !== undefined) source = source.parent
  const from = source.impl.node.id
  return push(w, {
    node: makeNode(name, head.size, "output_mapping", { description: `${from} → ${name}` }, [from], [], false,
      undefined),
    run: (ctx: never) => Task.fromHandler(name, () => select((ctx as Record<string, unknown>)[from])),
    cache: false,
    derived: true
  })
}

/**
 * Replaces the task declared last (skipping published values stacked on top of it, which stay where
 * they are).
 */
const updateLast = (
  w: WorkflowInternals,
  method: string,
  f: (impl: TaskImpl) => Partial<TaskImpl>
): WorkflowInternals => {
  const derived: Array<Entry> = []
  let target = w.head
  while (target !== undefined && target.impl.derived === true) {
    derived.push(target)
    target = target.parent
  }
  if (target === undefined) throw new globalThis.Error(`${method}(...) must follow a task`)
  let head: Entry = { ...target, impl: { ...target.impl, ...f(target.impl) } }
  for (let k = derived.length - 1; k >= 0; k--) head = { ...derived[k]!, parent: head }
  return { ...w, head }
}

const addAfter = (w: WorkflowInternals, ids: ReadonlyArray<string>): WorkflowInternals =>
  updateLast(w, "dependsOn", ({ node }) => ({
    node: Object.freeze({
      ...node,
      after: Object.freeze([
        ...node.after,
        ...ids.filter((id) => !node.after.includes(id) && !node.dependsOn.includes(id))
      ])
    })
  }))

// -----------------------------------------------------------------------------
// Constructors
// -----------------------------------------------------------------------------

/**
 * Starts an empty workflow. Give the input's type with a Schema (`{ input: Schema }`), or as a type
 * argument (`Workflow.make<"name", Input>("name")`); without either, the workflow takes no input.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make: {
  <const Name extends string, S extends Schema.Top>(
    name: Name,
    options: WorkflowOptions & { readonly input: S }
  ): Workflow<Name, S["Type"], {}>
  <const Name extends string, Input = void>(
    name: Name,
    options?: WorkflowOptions
  ): Workflow<Name, Input, {}>
} = (name: string, options?: WorkflowOptions & { readonly input?: Schema.Top | undefined }) =>
  makeWorkflow({
    name,
    description: options?.description ?? "",
    inputSchema: options?.input,
    maxParallel: options?.maxParallel,
    defaultTimeoutMs: durationMs(options?.defaultTimeout),
    deadlineMs: durationMs(options?.deadline),
    resources: options?.resources === undefined ? undefined : Object.freeze({ ...options.resources }),
    perKeyLimit: options?.perKeyLimit,
    retry: options?.retry,
    continueOnFailure: options?.continueOnFailure,
    metadata: Object.freeze({ ...options?.metadata }),
    head: undefined
  }) as never

/**
 * `workflow("name")` reads like the card: `workflow("ci").task(...).dependsOn(...)`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const workflow = make

// -----------------------------------------------------------------------------
// Dynamic workflows
// -----------------------------------------------------------------------------

/**
 * The context a task of a dynamic workflow receives: the run's input and, by id, the outputs of the tasks
 * it declared in `dependsOn` (their ids are only known at run time, so their outputs are `unknown`).
 *
 * @category models
 * @since 0.1.0
 */
export type DynamicContext<Input> = { readonly input: Input } & Readonly<Record<string, unknown>>

/**
 * Options of a task of a dynamic workflow: like {@link TaskOptions}, with dependencies named by any string
 * (an unknown or duplicate id is a `DefinitionError` when the run starts, before any task runs).
 *
 * @category models
 * @since 0.1.0
 */
export interface DynamicTaskOptions<Input, W extends WhenResult = boolean> extends Attributes {
  /** Tasks whose outputs this task reads (they run first). */
  readonly dependsOn?: ReadonlyArray<string> | undefined
  /** Skip the task (and, by default, its dependants) unless this returns true. */
  readonly when?: ((ctx: DynamicContext<Input>) => W) | undefined
  readonly runIfSkipped?: boolean | undefined
  /** Cache policy (its key function sees the task's context), or `false` to never cache this task. */
  readonly cache?: false | Task.CachePolicy<DynamicContext<Input>> | undefined
  /** A concurrency key, or a function computing it from the task's context when it becomes ready. */
  readonly concurrencyKey?: string | ((ctx: DynamicContext<Input>) => string) | undefined
  /** A rate limit (see `Task.RateLimit`); its key function sees the task's context. */
  readonly rateLimit?: Task.RateLimit<DynamicContext<Input>> | undefined
}

/**
 * A workflow whose tasks are only known at run time (a plan an LLM produced, a list read from a file, the
 * subtasks of a supervisor): built with {@link dynamic}, task by task, usually in a loop. Task ids are
 * plain strings and outputs are `unknown`, but the errors (`E`) and services (`R`) of the tasks still
 * accumulate in the type, so running it requires the services its tasks need. It is a workflow value like
 * any other: `Engine.run`, the Orchestrator, `Plan.fromWorkflow` and sub-workflow tasks accept it.
 *
 * In a loop, declare the variable with the errors and services the tasks may have, so that each
 * `builder = builder.task(...)` assigns back:
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Engine, Workflow } from "@troupe/core"
 *
 * const steps = [{ id: "a", deps: [] }, { id: "b", deps: ["a"] }] // known only at run time
 * let wf: Workflow.Dynamic<"steps", void, never, never> = Workflow.dynamic("steps")
 * for (const step of steps) {
 *   wf = wf.task(step.id, { dependsOn: step.deps }, (ctx) => Effect.succeed(`${step.id} after ${step.deps.map((d) => ctx[d])}`))
 * }
 * const outputs = Engine.run(wf).pipe(Effect.map((result) => result.outputs)) // Readonly<Record<string, unknown>>
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export interface Dynamic<in out Name extends string, in out Input, out E = never, out R = never>
  extends Pipeable.Pipeable
{
  readonly [TypeId]: {
    readonly _Input: (_: Input) => Input
    readonly _Outputs: (_: Readonly<Record<string, unknown>>) => Readonly<Record<string, unknown>>
    readonly _E: (_: never) => E
    readonly _R: (_: never) => R
    readonly _Maybe: (_: never) => never
  }
  readonly name: Name
  readonly description: string
  /** Adds a task: `(id, handler)`, `(id, taskValue)`, `(id, options, handler | taskValue)`, `(id, workflow, options?)`. */
  readonly task: DynamicTaskMethod<Name, Input, E, R>
  /** Adds order-only dependencies to the task declared last. */
  readonly dependsOn: (...ids: ReadonlyArray<string>) => Dynamic<Name, Input, E, R>
  /** Publishes a named value computed from the output of the task declared last (see `Workflow.publish`). */
  readonly publish: <F extends (output: unknown) => unknown>(
    name: string,
    select: F
  ) => Dynamic<Name, Input, E | ErrorOf<ReturnType<F>>, R | ServicesOf<ReturnType<F>>>
  /** Gives the task declared last a compensation (see `Workflow.compensate`). */
  readonly compensate: <F extends (output: unknown, ctx: { readonly input: Input }) => unknown>(
    compensation: F
  ) => Dynamic<Name, Input, E, R | ServicesOf<ReturnType<F>>>
  /** Gives the task declared last a fallback (see `Workflow.fallback`). */
  readonly fallback: <F extends (error: unknown, ctx: { readonly input: Input }) => unknown>(
    fallback: F
  ) => Dynamic<Name, Input, E | ErrorOf<ReturnType<F>>, R | ServicesOf<ReturnType<F>>>
}

/**
 * The overloads of `dynamic.task(...)`.
 *
 * @category models
 * @since 0.1.0
 */
export interface DynamicTaskMethod<Name extends string, Input, E, R> {
  /** `.task(id, handler)`: the handler receives `{ input }`. */
  <F extends (ctx: DynamicContext<Input>) => unknown>(
    id: string,
    handler: F
  ): Dynamic<Name, Input, E | ErrorOf<ReturnType<F>>, R | ServicesOf<ReturnType<F>>>
  /** `.task(id, taskValue)`. */
  <A, E2, R2>(id: string, task: Task.Task<A, E2, R2, DynamicContext<Input>>): Dynamic<Name, Input, E | E2, R | R2>
  /** `.task(id, options, taskValue)`. */
  <A, E2, R2, W extends WhenResult = boolean>(
    id: string,
    options: DynamicTaskOptions<Input, W>,
    task: Task.Task<A, E2, R2, DynamicContext<Input>>
  ): Dynamic<Name, Input, E | E2, R | R2 | ServicesOf<W>>
  /** `.task(id, options, handler)`. */
  <F extends (ctx: DynamicContext<Input>) => unknown, W extends WhenResult = boolean>(
    id: string,
    options: DynamicTaskOptions<Input, W>,
    handler: F
  ): Dynamic<Name, Input, E | ErrorOf<ReturnType<F>>, R | ServicesOf<ReturnType<F>> | ServicesOf<W>>
  /** `.task(id, childWorkflow, { input: (ctx) => childInput, ... })`: a sub-workflow as a task. */
  <C extends Any, W extends WhenResult = boolean>(
    id: string,
    workflow: C,
    options?: DynamicTaskOptions<Input, W> & { readonly input?: ((ctx: DynamicContext<Input>) => Input_<C>) | undefined }
  ): Dynamic<Name, Input, E | WorkflowFailed<Error<C>>, R | Services<C> | ServicesOf<W>>
}

type Input_<C extends Any> = Input<C>

/**
 * Starts an empty {@link Dynamic} workflow: one whose task ids, dependencies and handlers are only known at
 * run time. Same options as {@link make}.
 *
 * @category constructors
 * @since 0.1.0
 */
export const dynamic: {
  <const Name extends string, S extends Schema.Top>(
    name: Name,
    options: WorkflowOptions & { readonly input: S }
  ): Dynamic<Name, S["Type"]>
  <const Name extends string, Input = void>(
    name: Name,
    options?: WorkflowOptions
  ): Dynamic<Name, Input>
} = make as never

/**
 * What runs a task of a data-defined Plan: given its node (description, parameters, capabilities, ...),
 * its context (`input` and the outputs of its dependencies) and the run's TaskInfo. Returns an Effect, a
 * Promise or a value.
 *
 * @category models
 * @since 0.1.0
 */
export type PlanHandler<E = never, R = never> = (
  node: PlanNode,
  ctx: { readonly input: unknown } & Readonly<Record<string, unknown>>,
  info: Task.TaskInfo
) => Effect.Effect<unknown, E, R> | PromiseLike<unknown> | unknown

type HandlerError<H> = H extends Task.Task<infer _A, infer E, infer _R, infer _N> ? E
  : H extends (...args: never) => infer Out ? ErrorOf<Out>
  : never
type HandlerServices<H> = H extends Task.Task<infer _A, infer _E, infer R, infer _N> ? R
  : H extends (...args: never) => infer Out ? ServicesOf<Out>
  : never

/**
 * A runnable workflow from a Plan (usually decoded from a data definition with `Plan.fromDefinition`):
 * each task runs the handler registered for its `taskType`: a function of the node and context, or a task
 * value (for example `Agent.task(...)`, which routes each node by its required capabilities and checks, before
 * the run, that some agent can take it). The Plan's settings (strategy, max parallel
 * tasks, continue on failure, timeouts, retry configs, conditions, including expressions) all apply, and so
 * do its loops: a node with `loop: { type: for_each, items }` runs its handler once per item (the item and
 * `index` in its parameters; `failure_mode: continue` gives `{ ok, value | error }` per item), one with
 * `loop: { type: while, condition, max_iterations }` runs it while the condition holds (`iteration` and
 * `previous` in its parameters), failing with `Loop.LoopError` or `Loop.LoopLimitExceeded` (while conditions
 * need the expression language the definition was decoded with, e.g. `@troupe/cel`'s `Cel.layer`).
 * A task type without a handler is an `InvalidDefinition` naming the task and the handlers there are.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Engine, Plan, Workflow } from "@troupe/core"
 *
 * const program = Effect.gen(function*() {
 *   const plan = yield* Plan.fromDefinition({
 *     id: "greet",
 *     tasks: [{ id: "hello", task_type: "echo", parameters: { text: "hi" } }]
 *   })
 *   const wf = yield* Workflow.fromPlan(plan, {
 *     handlers: { echo: (node) => Effect.succeed(node.parameters.text) }
 *   })
 *   return (yield* Engine.run(wf, undefined)).outputs // { hello: "hi" }
 * })
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const fromPlan = <
  Handlers extends Readonly<Record<string, PlanHandler<any, any> | Task.Task<unknown, any, any, any>>>
>(
  plan: Plan,
  options: { readonly handlers: Handlers }
): Effect.Effect<
  Workflow<
    string,
    unknown,
    Readonly<Record<string, unknown>>,
    HandlerError<Handlers[keyof Handlers]> | Loop.LoopError | Loop.LoopLimitExceeded,
    HandlerServices<Handlers[keyof Handlers]>
  >,
  InvalidDefinition
> =>
  Effect.gen(function*() {
    const language = yield* Expression.ExpressionLanguage
    const known = plan.nodes.map((node) => node.id)
    const taken = new Set(known)
    // Mapped names by the task they map: later tasks that read that task read its mapped values too.
    const mappedBy = new Map<string, ReadonlyArray<string>>()
    let head: Entry | undefined
    const push = (impl: TaskImpl) => {
      head = { parent: head, impl, size: (head?.size ?? 0) + 1 }
    }
    for (let i = 0; i < plan.nodes.length; i++) {
      const declared = plan.nodes[i]!
      // Own properties only: a task type such as "constructor" or "toString" is not a handler.
      const handler = Object.hasOwn(options.handlers, declared.taskType) ? options.handlers[declared.taskType] : undefined
      if (handler === undefined) {
        return yield* new InvalidDefinition({
          path: `tasks[${i}].task_type`,
          taskId: declared.id,
          reason: `no handler for task type "${declared.taskType}"; handlers: [${Object.keys(options.handlers).join(", ")}]`
        })
      }
      const node = withMappedDependencies(declared, mappedBy)
      const retry = node.retry === undefined ? undefined : Policy.fromData(node.retry)
      push(planTask(node, handler, retry, known))
      const mapping = node.metadata["outputMapping"] as Readonly<Record<string, string>> | undefined
      if (mapping === undefined) continue
      const names: Array<string> = []
      for (const [name, source] of Object.entries(mapping)) {
        const path = `tasks[${i}].output_mapping.${name}`
        if (taken.has(name) || name === "input") {
          return yield* new InvalidDefinition({
            path,
            taskId: node.id,
            reason: `the mapped name "${name}" is already ${name === "input" ? "the run's input" : "a task id or a mapped name"}`
          })
        }
        taken.add(name)
        names.push(name)
        push(yield* mappedValue(language, source, node, name, path, known, (head?.size ?? 0)))
      }
      mappedBy.set(node.id, names)
    }
    return makeWorkflow({
      id: plan.id,
      name: plan.name,
      description: plan.description,
      inputSchema: undefined,
      maxParallel: plan.maxParallel,
      defaultTimeoutMs: plan.defaultTimeoutMs,
      deadlineMs: plan.deadlineMs,
      resources: plan.resources,
      perKeyLimit: plan.perKeyLimit,
      retry: plan.defaultRetry === undefined ? undefined : Policy.fromData(plan.defaultRetry),
      strategy: plan.strategy,
      continueOnFailure: plan.continueOnFailure,
      metadata: plan.metadata,
      head
    }) as never
  })

/**
 * The implementation of a data-defined task: its task type's handler (a function of the node, or a task
 * value), with the loop the node declares around it (`loop: for_each | while`, see `Plan.LoopData`): a loop
 * runs the handler once per item or while its condition holds, as the `Loop` tasks do, and calls the
 * TaskHook per iteration (composite).
 */
const planTask = (
  node: PlanNode,
  handler: PlanHandler<unknown, unknown> | Task.Task<unknown, unknown, unknown, never>,
  retry: Policy.Retry | undefined,
  known: ReadonlyArray<string>
): TaskImpl => {
  if (node.loop === undefined) {
    return Task.isTask(handler)
      ? { node, run: handler.run as TaskImpl["run"], check: handler.check as TaskImpl["check"], composite: handler.composite, retry }
      : { node, run: (ctx: never, info: Task.TaskInfo) => Task.fromHandler(node.id, () => handler(node, ctx, info)), retry }
  }
  const once: PlanLoops.Run = Task.isTask(handler)
    ? (iteration, ctx, info) => handler.run(ctx as never, { ...info, node: iteration })
    : (iteration, ctx, info) => Task.fromHandler(node.id, () => handler(iteration, ctx as never, info))
  const looped = PlanLoops.withLoop(once, node.loop, known)
  return {
    node,
    run: (ctx: never, info: Task.TaskInfo) => looped(node, ctx, info),
    check: Task.isTask(handler) ? handler.check as TaskImpl["check"] : undefined,
    composite: true,
    retry
  }
}

/** A node whose data dependencies include the values mapped from them (a definition cannot name those). */
const withMappedDependencies = (node: PlanNode, mappedBy: ReadonlyMap<string, ReadonlyArray<string>>): PlanNode => {
  if (mappedBy.size === 0) return node
  const extra = node.dependsOn.flatMap((id) => mappedBy.get(id) ?? [])
  return extra.length === 0 ? node : Object.freeze({ ...node, dependsOn: Object.freeze([...node.dependsOn, ...extra]) })
}

/**
 * A definition's output mapping entry as a published value: a node named `name` (task type
 * `output_mapping`) that depends on the task and on the tasks the expression reads, and evaluates the
 * expression over their outputs, like `.publish` does for code-built workflows.
 */
const mappedValue = (
  language: Expression.Language | undefined,
  source: string,
  from: PlanNode,
  name: string,
  path: string,
  known: ReadonlyArray<string>,
  index: number
): Effect.Effect<TaskImpl, InvalidDefinition> => {
  const invalid = (reason: string) => new InvalidDefinition({ path, taskId: from.id, reason })
  if (language?.compileValue === undefined) {
    return Effect.fail(invalid(
      `evaluating output mappings needs an expression language that evaluates values (provide @troupe/cel's Cel.layer)`
    ))
  }
  const compiled = language.compileValue(source, known)
  if (Expression.isIssue(compiled)) return Effect.fail(invalid(`invalid output mapping "${source}": ${compiled.message}`))
  const reads = [from.id, ...compiled.references.filter((id) => id !== from.id)]
  return Effect.succeed({
    node: makeNode(name, index, "output_mapping", { description: `${from.id} → ${name}` }, reads, [], false, undefined),
    run: (ctx: never) =>
      Effect.suspend(() => {
        const outputs = ctx as Readonly<Record<string, unknown>> & { readonly input: unknown }
        const results = Object.fromEntries(reads.map((id) => [id, { status: "completed", output: outputs[id] }]))
        const value = compiled.evaluate({ input: outputs.input, results })
        return Result.isSuccess(value)
          ? Effect.succeed(value.success)
          : Effect.fail(invalid(`evaluating "${source}" failed: ${value.failure.message}`))
      }),
    cache: false,
    derived: true
  })
}

// -----------------------------------------------------------------------------
// Guards
// -----------------------------------------------------------------------------

/**
 * @category guards
 * @since 0.1.0
 */
export const isWorkflow = (u: unknown): u is Any => isWorkflowValue(u)

// -----------------------------------------------------------------------------
// Accessors
// -----------------------------------------------------------------------------

/**
 * Decodes an unknown value (from JSON, the command line) into a workflow's input with its Schema.
 * Workflows without an input schema accept anything as-is.
 *
 * @category combinators
 * @since 0.1.0
 */
export const decodeInput = <W extends Any>(
  workflow: W,
  input: unknown
): Effect.Effect<Input<W>, Schema.SchemaError> => {
  const schema = internals(workflow).inputSchema
  if (schema === undefined) return Schema.decodeUnknownEffect(Schema.Unknown)(input) as never
  return Schema.decodeUnknownEffect(schema as Schema.Codec<unknown, unknown, never>)(input) as never
}

/** @internal */
export const compiled = (workflow: Any): Compiled => compile(internals(workflow))
