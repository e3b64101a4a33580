/**
 * Pipeline: a typed chain of steps where each step's output is the next step's input.
 *
 * `Pipeline.make("etl")` (also `Pipeline.pipeline`) starts an empty pipeline; `.step(fn)`,
 * `.step(id, fn)` and `.step(id, options, fn)` append a step whose handler receives the previous step's
 * output (the first step receives the pipeline's input) and returns an Effect, a Promise or a value. The
 * types flow end to end: the output of step n is the input of step n + 1, and errors and required
 * services accumulate.
 *
 * A pipeline is compiled to an ordinary workflow (`pipeline.workflow`): one task per step, each depending
 * on the one before. Its Plan (`Plan.fromWorkflow(pipeline.workflow)`) is the same kind of Plan as any
 * workflow's, so the engine, analysis and renderers need nothing special. Step ids are the given ids,
 * else the handler function's name, else `step-1`, `step-2`, ... (by position).
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Pipeline } from "@troupe/core"
 *
 * const extract = (url: string) => Effect.succeed([`${url}/a`, `${url}/b`])
 * const etl = Pipeline.make("etl", { input: Schema.String })
 *   .step(extract)
 *   .step("transform", (rows) => rows.map((row) => row.toUpperCase()))
 *   .step("load", { priority: 8 }, async (rows) => rows.length)
 *
 * const loaded = await Effect.runPromise(Pipeline.run(etl, "https://example.com")) // 2
 * ```
 *
 * @since 0.1.0
 */
import { Effect, type Pipeable, type Schema } from "effect"
import { pipeArguments } from "effect/Pipeable"
import * as Engine from "./Engine.ts"
import type { Attributes, ErrorOf, OutputOf, ServicesOf, Simplify, TypeError } from "./Task.ts"
import * as Workflow from "./Workflow.ts"
import type { DefinitionError, WorkflowFailed, WorkflowTimeout } from "./WorkflowError.ts"

// -----------------------------------------------------------------------------
// Type ids
// -----------------------------------------------------------------------------

/**
 * @category type ids
 * @since 0.1.0
 */
export const TypeId: unique symbol = Symbol.for("@troupe/core/Pipeline") as never

/**
 * @category type ids
 * @since 0.1.0
 */
export type TypeId = typeof TypeId

// -----------------------------------------------------------------------------
// Models
// -----------------------------------------------------------------------------

/**
 * The attributes of a step (those of a task, except `runIfSkipped`: a step always reads its predecessor).
 *
 * @category models
 * @since 0.1.0
 */
export type StepOptions = Omit<Attributes, "runIfSkipped">

/**
 * A pipeline value. Type parameters:
 * - `Name`: its name (also the name of its workflow);
 * - `Input`: the run's input, which the first step receives;
 * - `Out`: the output of the last step (before any step: the input);
 * - `E`, `R`: the errors and services of all steps;
 * - `Outputs`: step id to output, for the steps given an explicit id (their outputs are typed in the
 *   workflow's result; steps with a generated id are in the workflow but not in this record);
 * - `HasSteps`: whether a step was added (a pipeline without steps cannot be run).
 *
 * @category models
 * @since 0.1.0
 */
export interface Pipeline<
  in out Name extends string,
  in out Input,
  in out Out,
  out E = never,
  out R = never,
  in out Outputs = {},
  in out HasSteps extends boolean = false
> extends Pipeable.Pipeable {
  readonly [TypeId]: {
    readonly _Input: (_: Input) => Input
    readonly _Out: (_: Out) => Out
    readonly _E: (_: never) => E
    readonly _R: (_: never) => R
    readonly _HasSteps: (_: HasSteps) => HasSteps
  }
  readonly name: Name
  /** The ids of the steps, in order. */
  readonly steps: ReadonlyArray<string>
  /** The compiled workflow: one task per step, each depending on the previous one. */
  readonly workflow: Workflow.Workflow<Name, Input, Outputs, E, R>
  /** Appends a step that receives the current output. */
  readonly step: StepMethod<Name, Input, Out, E, R, Outputs>
}

/**
 * The overloads of `pipeline.step(...)`.
 *
 * @category models
 * @since 0.1.0
 */
export interface StepMethod<Name extends string, Input, Out, E, R, Outputs> {
  /** `.step(fn)`: the id is the function's name, else `step-<position>`. */
  <F extends (input: Out) => unknown>(
    handler: F
  ): Pipeline<Name, Input, OutputOf<ReturnType<F>>, E | ErrorOf<ReturnType<F>>, R | ServicesOf<ReturnType<F>>, Outputs, true>

  /** `.step(id, fn)`. */
  <const Id extends string, F extends (input: Out) => unknown>(
    id: Id & Workflow.CheckId<Id, keyof Outputs>,
    handler: F
  ): Pipeline<
    Name,
    Input,
    OutputOf<ReturnType<F>>,
    E | ErrorOf<ReturnType<F>>,
    R | ServicesOf<ReturnType<F>>,
    AddOutput<Outputs, Id, OutputOf<ReturnType<F>>>,
    true
  >

  /** `.step(id, options, fn)`: with task attributes (retry, timeout, priority, resources, ...). */
  <const Id extends string, F extends (input: Out) => unknown>(
    id: Id & Workflow.CheckId<Id, keyof Outputs>,
    options: StepOptions,
    handler: F
  ): Pipeline<
    Name,
    Input,
    OutputOf<ReturnType<F>>,
    E | ErrorOf<ReturnType<F>>,
    R | ServicesOf<ReturnType<F>>,
    AddOutput<Outputs, Id, OutputOf<ReturnType<F>>>,
    true
  >
}

type AddOutput<Outputs, Id extends string, A> = Outputs & { readonly [K in Id]: A }

/**
 * Any pipeline.
 *
 * @category models
 * @since 0.1.0
 */
export interface Any {
  readonly [TypeId]: {
    readonly _Input: (_: never) => unknown
    readonly _Out: (_: never) => unknown
    readonly _E: (_: never) => unknown
    readonly _R: (_: never) => unknown
    readonly _HasSteps: (_: never) => unknown
  }
  readonly name: string
  readonly steps: ReadonlyArray<string>
  readonly workflow: Workflow.Any
}

type Variance<P extends Any> = P[TypeId]
type Out<F> = F extends (_: never) => infer X ? X : never

/**
 * The input of a pipeline.
 *
 * @category type-level
 * @since 0.1.0
 */
export type Input<P extends Any> = Out<Variance<P>["_Input"]>

/**
 * The output of a pipeline's last step.
 *
 * @category type-level
 * @since 0.1.0
 */
export type Output<P extends Any> = Out<Variance<P>["_Out"]>

/**
 * The errors of a pipeline's steps.
 *
 * @category type-level
 * @since 0.1.0
 */
export type Error<P extends Any> = Out<Variance<P>["_E"]>

/**
 * The services a pipeline's steps require.
 *
 * @category type-level
 * @since 0.1.0
 */
export type Services<P extends Any> = Out<Variance<P>["_R"]>

type HasSteps<P extends Any> = Out<Variance<P>["_HasSteps"]>

type RunArgs<P extends Any> = [void] extends [Input<P>]
  ? [input?: Input<P>, options?: Engine.RunOptions]
  : [input: Input<P>, options?: Engine.RunOptions]

// -----------------------------------------------------------------------------
// Implementation
// -----------------------------------------------------------------------------

/** The workflow as the pipeline drives it: step ids are only known at run time here. */
type LooseWorkflow = Workflow.Dynamic<string, unknown, unknown, unknown>

interface State {
  readonly name: string
  readonly workflow: LooseWorkflow
  readonly steps: ReadonlyArray<string>
}

const Proto = {
  pipe() {
    return pipeArguments(this, arguments)
  }
}

const makePipeline = (state: State): Pipeline<string, unknown, unknown> => {
  const self = Object.create(Proto)
  self[TypeId] = TypeId
  self.name = state.name
  self.steps = state.steps
  self.workflow = state.workflow
  self.step = (a: unknown, b?: unknown, c?: unknown) => makePipeline(addStep(state, a, b, c))
  return Object.freeze(self)
}

/** An id for a step given without one: the function's name when it is free, else `step-<position>`. */
const defaultId = (handler: { readonly name: string }, taken: ReadonlyArray<string>): string => {
  const name = handler.name
  if (name !== "" && name !== "input" && !taken.includes(name)) return name
  const position = taken.length + 1
  let id = `step-${position}`
  for (let k = 2; taken.includes(id); k++) id = `step-${position}-${k}`
  return id
}

const addStep = (state: State, a: unknown, b: unknown, c: unknown): State => {
  type Handler = (input: unknown) => unknown
  const [id, options, handler] = typeof a === "function"
    ? [defaultId(a, state.steps), {}, a as Handler]
    : typeof b === "function"
    ? [a as string, {}, b as Handler]
    : [a as string, (b ?? {}) as Workflow.DynamicTaskOptions<unknown>, c as Handler]
  const previous = state.steps.at(-1)
  const workflow = previous === undefined
    ? state.workflow.task(id, options, (ctx) => handler(ctx.input))
    : state.workflow.task(id, { ...options, dependsOn: [previous] }, (ctx) => handler(ctx[previous]))
  return { name: state.name, workflow, steps: Object.freeze([...state.steps, id]) }
}

// -----------------------------------------------------------------------------
// Constructors
// -----------------------------------------------------------------------------

/**
 * Starts an empty pipeline. Give the input's type with a Schema (`{ input: Schema }`), or as a type
 * argument (`Pipeline.make<"name", Input>("name")`); without either, the pipeline takes no input. The
 * other options are the workflow's (deadline, default timeout and retry, resources, metadata).
 *
 * @category constructors
 * @since 0.1.0
 */
export const make: {
  <const Name extends string, S extends Schema.Top>(
    name: Name,
    options: Workflow.WorkflowOptions & { readonly input: S }
  ): Pipeline<Name, S["Type"], S["Type"]>
  <const Name extends string, Input = void>(
    name: Name,
    options?: Workflow.WorkflowOptions
  ): Pipeline<Name, Input, Input>
} = (name: string, options?: Workflow.WorkflowOptions & { readonly input?: Schema.Top | undefined }) =>
  makePipeline({
    name,
    workflow: Workflow.dynamic(name, options as Workflow.WorkflowOptions) as LooseWorkflow,
    steps: Object.freeze([])
  }) as never

/**
 * `pipeline("etl").step(extract).step(transform).step(load)` (same as `Pipeline.make`).
 *
 * @category constructors
 * @since 0.1.0
 */
export const pipeline = make

// -----------------------------------------------------------------------------
// Guards
// -----------------------------------------------------------------------------

/**
 * @category guards
 * @since 0.1.0
 */
export const isPipeline = (u: unknown): u is Any => typeof u === "object" && u !== null && TypeId in u

// -----------------------------------------------------------------------------
// Running
// -----------------------------------------------------------------------------

/**
 * Runs a pipeline's workflow with `Engine.run` and succeeds with the last step's output. Fails like
 * `Engine.run`: `WorkflowFailed` with the failed step's Cause, `WorkflowTimeout`, or a `DefinitionError`
 * found before anything runs. A pipeline without steps does not type-check.
 *
 * @category running
 * @since 0.1.0
 */
export const run = <P extends Any>(
  pipeline: P & ([HasSteps<P>] extends [true] ? unknown : TypeError<"a pipeline needs at least one step">),
  ...[input, options]: RunArgs<P>
): Effect.Effect<Output<P>, WorkflowFailed<Error<P>> | WorkflowTimeout | DefinitionError, Services<P>> => {
  const last = pipeline.steps.at(-1)
  const running = Engine.run(pipeline.workflow, input as never, options) as Effect.Effect<
    Engine.RunResult<Readonly<Record<string, unknown>>>,
    WorkflowFailed<Error<P>> | WorkflowTimeout | DefinitionError,
    Services<P>
  >
  return Effect.map(running, (result) => (last === undefined ? undefined : result.outputs[last]) as Output<P>)
}
