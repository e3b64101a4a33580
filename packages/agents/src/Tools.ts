/**
 * Typed tools for LLM agents, on `effect/ai`'s `Tool` and `Toolkit`.
 *
 * A tool is an `effect/ai` `Tool` (name, description, parameters and result as Schemas) with a handler:
 * an Effect with its own errors and services. An `LlmAgent` takes a toolkit with its handlers (a
 * `Toolkit.WithHandler`, or an Effect that builds one, such as a `Toolkit` whose handler layer is
 * provided) and runs the tool-calling loop:
 *
 * - the model's tool calls run in parallel; their results go back to the model;
 * - a call the model got wrong is answered with a typed error the model can read and correct: an
 *   {@link UnknownTool}, {@link InvalidToolArguments} (the arguments fail the tool's Schema) or
 *   {@link MalformedToolArguments} (the arguments are not JSON);
 * - a handler's failure is returned to the model as an error result too, unless it is fatal
 *   ({@link fatal}, or any error with `fatal: true`): then the agent's run fails with {@link ToolFailed}.
 *
 * Any Troupe workflow can be a tool ({@link fromWorkflow}): its input Schema becomes the tool's parameters
 * and a call runs the workflow. {@link make} builds a one-tool toolkit from a tool and its handler, and
 * {@link merge} combines toolkits.
 *
 * **Example**
 *
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Tool } from "effect/ai"
 * import { LlmAgent, Tools } from "@troupe/agents"
 *
 * const Weather = Tool.make("weather", {
 *   description: "Today's temperature in a city",
 *   parameters: Schema.Struct({ city: Schema.String }),
 *   success: Schema.Struct({ celsius: Schema.Number })
 * })
 * const weather = Tools.make(Weather, ({ city }) => Effect.succeed({ celsius: city.length }))
 * const forecaster = LlmAgent.make({ name: "forecaster", capabilities: ["research"], tools: weather })
 * ```
 *
 * @since 0.1.0
 */
import * as Engine from "@troupe/core/Engine"
import type * as Task from "@troupe/core/Task"
import * as Workflow from "@troupe/core/Workflow"
import { Cause, Clock, Effect, Exit, Option, Predicate, Schema, Stream } from "effect"
import { AiError, Tool, Toolkit } from "effect/ai"

// =============================================================================
// Errors returned to the model
// =============================================================================

/**
 * The model called a tool that the agent does not have. Returned to the model (with the names it may
 * call), not a failure of the run.
 *
 * @category errors
 * @since 0.1.0
 */
export class UnknownTool extends Schema.TaggedError<UnknownTool>()("UnknownTool", {
  tool: Schema.String,
  available: Schema.Array(Schema.String)
}) {
  override get message(): string {
    return `There is no tool "${this.tool}"; the tools are: ${this.available.join(", ") || "(none)"}`
  }
}

/**
 * The model called a tool with arguments that do not decode with the tool's parameters Schema.
 *
 * @category errors
 * @since 0.1.0
 */
export class InvalidToolArguments extends Schema.TaggedError<InvalidToolArguments>()("InvalidToolArguments", {
  tool: Schema.String,
  description: Schema.String
}) {
  override get message(): string {
    return `The arguments of tool "${this.tool}" do not match its parameters: ${this.description}`
  }
}

/**
 * The model called a tool with arguments that are not JSON at all.
 *
 * @category errors
 * @since 0.1.0
 */
export class MalformedToolArguments extends Schema.TaggedError<MalformedToolArguments>()("MalformedToolArguments", {
  tool: Schema.String,
  /** The arguments as the model sent them (first 500 characters). */
  text: Schema.String
}) {
  override get message(): string {
    return `The arguments of tool "${this.tool}" are not valid JSON: ${this.text}`
  }
}

/**
 * A handler's error that must not go back to the model: the agent's run fails with {@link ToolFailed}.
 * Wrap an error with {@link fatal}, or give your error a `fatal: true` field.
 *
 * @category errors
 * @since 0.1.0
 */
export class Fatal extends Schema.TaggedError<Fatal>()("ToolFatal", {
  reason: Schema.String,
  cause: Schema.optional(Schema.Defect())
}) {
  /** Always `true`. */
  get fatal(): boolean {
    return true
  }
  override get message(): string {
    return this.reason
  }
}

/**
 * A tool call failed fatally (a {@link Fatal} error, an error with `fatal: true`, or a defect in the
 * handler): the agent stopped. Not retryable.
 *
 * @category errors
 * @since 0.1.0
 */
export class ToolFailed extends Schema.TaggedError<ToolFailed>()("ToolFailed", {
  tool: Schema.String,
  callId: Schema.String,
  description: Schema.String,
  cause: Schema.optional(Schema.Defect())
}) {
  /** Always `false`. */
  get retryable(): boolean {
    return false
  }
  override get message(): string {
    return `Tool "${this.tool}" (call ${this.callId}) failed fatally: ${this.description}`
  }
}

/**
 * Marks an error as fatal: returned from a tool handler, it fails the agent's run instead of going back
 * to the model.
 *
 * @category constructors
 * @since 0.1.0
 */
export const fatal = (reason: string, cause?: unknown): Fatal =>
  new Fatal({ reason, ...(cause === undefined ? {} : { cause }) })

/**
 * Whether a handler's error is fatal: a {@link Fatal}, or any object with `fatal: true`.
 *
 * @category guards
 * @since 0.1.0
 */
export const isFatal = (error: unknown): boolean => Predicate.hasProperty(error, "fatal") && error.fatal === true

// =============================================================================
// Models
// =============================================================================

/**
 * A toolkit with its handlers, or an Effect that builds one (a `Toolkit`, whose handlers are services,
 * is such an Effect): what `LlmAgent`'s `tools` option takes.
 *
 * @category models
 * @since 0.1.0
 */
export type Toolset<T extends Record<string, Tool.Any>, R = never, E = never> =
  | Toolkit.WithHandler<T>
  | Effect.Effect<Toolkit.WithHandler<T>, E, R>

/**
 * The services a toolset's handlers need when they run.
 *
 * @category models
 * @since 0.1.0
 */
export type HandlerServices<T extends Record<string, Tool.Any>> = IgnoreAny<Tool.HandlerServices<T[keyof T]>>

/** `any` (the services of a tool typed only as `Tool.Any`, for instance an MCP server's) as `never`: such toolsets carry their handlers already. */
type IgnoreAny<X> = 0 extends 1 & X ? never : X

/**
 * One tool call the model made.
 *
 * @category models
 * @since 0.1.0
 */
export interface Call {
  readonly id: string
  readonly name: string
  readonly params: unknown
  readonly metadata?: unknown
}

/**
 * The outcome of one call, as sent back to the model.
 *
 * @category models
 * @since 0.1.0
 */
export interface Outcome {
  readonly call: Call
  /** The encoded result, or `{ error: { _tag, message, ... } }` for a failure. */
  readonly result: unknown
  readonly isFailure: boolean
  readonly durationMs: number
  /** The error's description for a failure. */
  readonly message?: string | undefined
}

// =============================================================================
// Constructors
// =============================================================================

/**
 * A toolkit of one tool and its handler. The handler gets the decoded parameters and returns the result
 * (encoded with the tool's success Schema); its errors go back to the model unless fatal.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = <T extends Tool.Any, E, R>(
  tool: T,
  handler: (params: Tool.Parameters<T>) => Effect.Effect<Tool.Success<T>, E, R>
): Effect.Effect<Toolkit.WithHandler<{ readonly [K in T["name"]]: T }>, never, R> => {
  const toolkit = Toolkit.make(tool) as unknown as Toolkit.Toolkit<Record<string, Tool.Any>>
  return Effect.flatMap(
    toolkit.toHandlers({ [tool.name]: handler } as never) as Effect.Effect<never, never, R>,
    (handlers) => Effect.provide(toolkit, handlers as never)
  ) as never
}

type ToolsOf<K> = K extends Toolkit.WithHandler<infer T> ? T
  : K extends Effect.Effect<Toolkit.WithHandler<infer T>, any, any> ? T
  : never
type ServicesOf<K> = K extends Effect.Effect<any, any, infer R> ? R : never
type ErrorsOf<K> = K extends Effect.Effect<any, infer E, any> ? E : never
type UnionToIntersection<U> = (U extends unknown ? (u: U) => void : never) extends (i: infer I) => void ? I : never

/**
 * Combines toolsets into one; for a name in several, the last one wins.
 *
 * @category constructors
 * @since 0.1.0
 */
export const merge = <const Kits extends ReadonlyArray<Toolset<any, any, any>>>(
  ...kits: Kits
): Effect.Effect<
  Toolkit.WithHandler<UnionToIntersection<ToolsOf<Kits[number]>> & Record<string, Tool.Any>>,
  ErrorsOf<Kits[number]>,
  ServicesOf<Kits[number]>
> =>
  Effect.map(
    Effect.forEach(kits, (kit) => resolve(kit as Toolset<Record<string, Tool.Any>, unknown, unknown>)),
    (resolved) => {
      const tools: Record<string, Tool.Any> = {}
      for (const kit of resolved) Object.assign(tools, kit.tools)
      const handle = (name: string, params: unknown, id?: string, options?: unknown) => {
        const owner = [...resolved].reverse().find((kit) => Object.hasOwn(kit.tools, name))
        return owner === undefined
          ? Effect.fail(AiError.make({
            module: "Tools",
            method: `${name}.handle`,
            reason: new AiError.ToolNotFoundError({ toolName: name, availableTools: Object.keys(tools) })
          }))
          : owner.handle(name, params as never, id, options as never)
      }
      return { tools, handle } as never
    }
  ) as never

/**
 * A toolset resolved to a toolkit with its handlers.
 *
 * @category constructors
 * @since 0.1.0
 */
export const resolve = <T extends Record<string, Tool.Any>, R, E = never>(
  toolset: Toolset<T, R, E>
): Effect.Effect<Toolkit.WithHandler<T>, E, R> =>
  Effect.isEffect(toolset) ? toolset : Effect.succeed(toolset)

/**
 * A workflow as a tool: the model fills in the workflow's input (described by `parameters`, a Schema of
 * the workflow's input type, whose JSON Schema the model sees), a call runs the workflow with it and
 * answers with its outputs (or with `select` of the run's result). A failed run is an error the model
 * reads; `fatal: true` makes it fail the agent instead.
 *
 * @category constructors
 * @since 0.1.0
 */
export const fromWorkflow = <
  W extends Workflow.Any,
  const Name extends string,
  P extends Schema.Codec<Workflow.Input<W>, unknown>
>(
  workflow: W,
  options: {
    readonly name: Name
    readonly description?: string | undefined
    readonly parameters: P
    readonly select?: ((result: Engine.RunResult<Workflow.Outputs<W>>) => unknown) | undefined
    readonly fatal?: boolean | undefined
  }
): Effect.Effect<
  Toolkit.WithHandler<{ readonly [K in Name]: Tool.Tool<Name, { readonly parameters: P; readonly success: typeof Schema.Unknown; readonly failure: typeof Schema.Never; readonly failureMode: "error" }>}>,
  never,
  Workflow.Services<W>
> => {
  const tool = Tool.make(options.name, {
    description: options.description ?? `Runs the workflow "${workflowName(workflow)}" and answers with its outputs`,
    parameters: options.parameters as unknown as Schema.Top,
    success: Schema.Unknown
  })
  return make(tool, (params) =>
    (Engine.run as (w: Workflow.Any, input: unknown) => Effect.Effect<Engine.RunResult<unknown>, { readonly message: string }, Workflow.Services<W>>)(
      workflow,
      params
    ).pipe(
      Effect.map((result) => options.select !== undefined ? options.select(result as never) : result.outputs),
      Effect.mapError((error) => options.fatal === true ? fatal(error.message, error) : error)
    )) as never
}

/**
 * A task as a tool: the model fills in the task's input (described by `parameters`), a call runs the
 * task alone (in a one-task workflow, with its retry, timeout and other attributes) and answers with its
 * output. The task reads the arguments as `input`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const fromTask = <A, E, R, const Name extends string, P extends Schema.Codec<any, unknown>>(
  task: Task.Task<A, E, R, { readonly input: P["Type"] }>,
  options: {
    readonly name: Name
    readonly description?: string | undefined
    readonly parameters: P
    readonly fatal?: boolean | undefined
  }
): Effect.Effect<
  Toolkit.WithHandler<{ readonly [K in Name]: Tool.Tool<Name, { readonly parameters: P; readonly success: typeof Schema.Unknown; readonly failure: typeof Schema.Never; readonly failureMode: "error" }>}>,
  never,
  R
> => {
  const workflow = Workflow.dynamic<string, P["Type"]>(options.name).task(options.name, task as never)
  return fromWorkflow(workflow as unknown as Workflow.Workflow<string, P["Type"], Record<string, unknown>, E, R>, {
    name: options.name,
    description: options.description ?? task.attributes.description ?? `Runs the task "${options.name}"`,
    parameters: options.parameters as never,
    select: (result) => (result.outputs as Record<string, unknown>)[options.name],
    ...(options.fatal === undefined ? {} : { fatal: options.fatal })
  }) as never
}

const workflowName = (workflow: Workflow.Any): string =>
  Predicate.hasProperty(workflow, "name") && typeof workflow.name === "string" ? workflow.name : "workflow"

// =============================================================================
// Running calls
// =============================================================================

const MAX_TEXT = 500

const describeError = (error: unknown): string => {
  if (Predicate.hasProperty(error, "message") && typeof error.message === "string" && error.message.length > 0) {
    return error.message
  }
  if (Predicate.hasProperty(error, "_tag") && typeof error._tag === "string") return error._tag
  try {
    return String(error)
  } catch {
    return "unknown error"
  }
}

/** The error as the model sees it: `{ error: { _tag, message, ...own string/number/boolean fields } }`. */
const errorResult = (error: unknown): unknown => {
  const fields: Record<string, unknown> = {}
  if (typeof error === "object" && error !== null) {
    for (const [key, value] of Object.entries(error)) {
      if (key === "cause" || key === "stack") continue
      if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") fields[key] = value
      else if (Array.isArray(value) && value.every((v) => typeof v === "string")) fields[key] = value
    }
  }
  return {
    error: {
      ...fields,
      _tag: Predicate.hasProperty(error, "_tag") && typeof error._tag === "string" ? error._tag : "Error",
      message: describeError(error)
    }
  }
}

const isMalformed = (call: Call): Option.Option<string> => {
  const meta = call.metadata
  const flagged = Predicate.hasProperty(meta, "openaiCompatible") &&
    Predicate.hasProperty(meta.openaiCompatible, "malformedArguments") &&
    meta.openaiCompatible.malformedArguments === true
  if (typeof call.params === "string") {
    if (flagged) return Option.some(call.params)
    try {
      JSON.parse(call.params)
    } catch {
      return Option.some(call.params)
    }
  }
  return flagged ? Option.some(String(call.params)) : Option.none()
}

const paramsOf = (call: Call): unknown => {
  if (typeof call.params !== "string") return call.params
  try {
    return JSON.parse(call.params)
  } catch {
    return call.params
  }
}

/** The reason of an `AiError` (or the error itself). */
const reasonOf = (error: unknown): unknown => AiError.isAiError(error) ? error.reason : error

/**
 * Runs one tool call: answers a call the model got wrong with a typed error, runs the handler, and turns
 * its failure into an error result unless it is fatal (then: {@link ToolFailed}).
 *
 * @category running
 * @since 0.1.0
 */
export const run = <T extends Record<string, Tool.Any>>(
  toolkit: Toolkit.WithHandler<T>,
  call: Call
): Effect.Effect<Outcome, ToolFailed, HandlerServices<T>> =>
  Effect.gen(function*() {
    const started = yield* Clock.currentTimeMillis
    const done = (result: unknown, error?: unknown) =>
      Effect.map(Clock.currentTimeMillis, (now): Outcome => ({
        call,
        result: error === undefined ? result : errorResult(error),
        isFailure: error !== undefined,
        durationMs: now - started,
        ...(error === undefined ? {} : { message: describeError(error) })
      }))
    const malformed = isMalformed(call)
    if (Option.isSome(malformed)) {
      return yield* done(undefined, new MalformedToolArguments({ tool: call.name, text: malformed.value.slice(0, MAX_TEXT) }))
    }
    if (!Object.hasOwn(toolkit.tools, call.name)) {
      return yield* done(undefined, new UnknownTool({ tool: call.name, available: Object.keys(toolkit.tools) }))
    }
    const exit = yield* toolkit.handle(call.name as keyof T, paramsOf(call) as never, call.id).pipe(
      Effect.flatMap((stream) =>
        stream.pipe(
          Stream.filter((result) => result.preliminary === false),
          Stream.runLast
        )
      ),
      Effect.exit
    )
    if (Exit.isSuccess(exit)) {
      const last = exit.value
      if (Option.isNone(last)) return yield* done(undefined, fatalOf(call, "the handler produced no result"))
      const value = last.value
      if (value.isFailure) {
        const reason = reasonOf(value.result)
        return yield* done(undefined, toModelError(call, reason))
      }
      return yield* done(value.encodedResult)
    }
    const failure = Cause.findErrorOption(exit.cause)
    if (Option.isNone(failure)) {
      // a defect or an interruption: the tool is broken, the agent stops
      if (Cause.hasInterruptsOnly(exit.cause)) return yield* Effect.failCause(exit.cause as Cause.Cause<never>)
      return yield* new ToolFailed({
        tool: call.name,
        callId: call.id,
        description: Cause.pretty(exit.cause).split("\n")[0] ?? "defect",
        cause: Cause.squash(exit.cause)
      })
    }
    const reason = reasonOf(failure.value)
    if (isFatal(reason)) {
      return yield* new ToolFailed({ tool: call.name, callId: call.id, description: describeError(reason), cause: reason })
    }
    return yield* done(undefined, toModelError(call, reason))
  }).pipe(
    Effect.tap((outcome) => outcome.isFailure ? Effect.void : Effect.void)
  ) as never

const fatalOf = (call: Call, description: string) => new ToolFailed({ tool: call.name, callId: call.id, description })

/** Schema validation of the parameters becomes `InvalidToolArguments`; everything else is kept. */
const toModelError = (call: Call, reason: unknown): unknown =>
  Predicate.isTagged(reason, "ToolParameterValidationError")
    ? new InvalidToolArguments({
      tool: call.name,
      description: Predicate.hasProperty(reason, "description") && typeof reason.description === "string"
        ? reason.description
        : describeError(reason)
    })
    : Predicate.isTagged(reason, "ToolNotFoundError")
    ? new UnknownTool({
      tool: call.name,
      available: Predicate.hasProperty(reason, "availableTools") && Array.isArray(reason.availableTools)
        ? reason.availableTools as Array<string>
        : []
    })
    : reason
