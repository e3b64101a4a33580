/**
 * LLM agents: agents whose `run` asks a language model.
 *
 * An LLM agent is an ordinary `Agent` built on `effect/ai`'s `LanguageModel`
 * service, so any provider layer works (the OpenAI-compatible one in this
 * package, or an official one). Its `run` builds a prompt from the request:
 *
 * - the system message is the agent's system prompt followed by the
 *   instructions of the task's loaded skills;
 * - the user message holds the task description, its parameters and the
 *   outputs of its dependencies, both as JSON.
 *
 * When the request has an `outputSchema` the model is asked for structured
 * output (`LanguageModel.generateObject`) and the answer is decoded with the
 * schema; an answer that does not decode is an {@link OutputDecodeError}, a
 * typed, retryable failure. Otherwise the output is the answer's text.
 * Model failures (`AiError`) become `Agent.AgentError`s that keep the model's
 * verdict on retrying and the delay a rate limit asked for.
 *
 * With `tools` (see `Tools`, `Toolsets`, `Mcp`) the agent runs the
 * tool-calling loop; inside an agent task it reports each tool call
 * (`ToolCalled`), each model call's tokens (`AgentUsage`) and its streamed
 * text (`AgentText`) to the run, and stops before a model call when a
 * budget is spent (`Budget.BudgetExceeded`).
 *
 * **Example**
 *
 * ```ts
 * import { Layer } from "effect"
 * import { FetchHttpClient } from "effect/http"
 * import { LlmAgent, OpenAiCompatible } from "@troupe/agents"
 *
 * const writer = LlmAgent.make({
 *   name: "writer",
 *   capabilities: ["documentation"],
 *   systemPrompt: "You write concise technical documentation.",
 *   priority: 7,
 *   maxConcurrent: 2
 * })
 * // writer.run needs a LanguageModel:
 * const Model = OpenAiCompatible.layerConfig({ model: "gpt-4o-mini" }).pipe(Layer.provide(FetchHttpClient.layer))
 * ```
 *
 * @since 0.1.0
 */
import { Cause, Duration, Effect, Layer, Predicate, Schema, SchemaAST, Stream } from "effect"
import { type AiError, LanguageModel, type Prompt, type Response, type Tool, type Toolkit } from "effect/ai"
import * as Agent from "./Agent.ts"
import type * as Budget from "./Budget.ts"
import type * as Capability from "./Capability.ts"
import type { Skill } from "./Skill.ts"
import * as Tools from "./Tools.ts"

// =============================================================================
// Errors
// =============================================================================

/**
 * The model answered, but the answer does not decode with the task's output
 * schema (not JSON, or JSON of the wrong shape). Retryable: another attempt
 * may well produce a valid answer.
 *
 * @since 0.1.0
 * @category errors
 */
export class OutputDecodeError extends Schema.TaggedError<OutputDecodeError>()("OutputDecodeError", {
  /** The agent's name. */
  agent: Schema.String,
  taskId: Schema.String,
  /** Why the answer did not decode. */
  description: Schema.String,
  /** The model's answer, as text. */
  responseText: Schema.String
}) {
  /**
   * Always `true`.
   *
   * @since 0.1.0
   */
  get isRetryable(): boolean {
    return true
  }

  override get message(): string {
    return `Agent "${this.agent}" answered task "${this.taskId}" with output that does not match its schema: ${this.description}`
  }
}

/**
 * Whether a value is an {@link OutputDecodeError}.
 *
 * @since 0.1.0
 * @category guards
 */
export const isOutputDecodeError = (u: unknown): u is OutputDecodeError => Predicate.isTagged(u, "OutputDecodeError")

/**
 * The failures of an LLM agent's `run`.
 *
 * @since 0.1.0
 * @category errors
 */
export type LlmAgentError =
  | Agent.AgentError
  | OutputDecodeError
  | StepLimitReached
  | Tools.ToolFailed
  | Budget.BudgetExceeded

/**
 * The model still asked for tools after `maxSteps` model calls. Not retryable (the same prompt would
 * loop again); raise `maxSteps` or give the agent a narrower task.
 *
 * @since 0.1.0
 * @category errors
 */
export class StepLimitReached extends Schema.TaggedError<StepLimitReached>()("StepLimitReached", {
  agent: Schema.String,
  taskId: Schema.String,
  maxSteps: Schema.Number,
  /** The tools called, in order. */
  toolCalls: Schema.Array(Schema.String)
}) {
  /** Always `false`. */
  get retryable(): boolean {
    return false
  }
  override get message(): string {
    return `Agent "${this.agent}" still called tools after ${this.maxSteps} model calls on task "${this.taskId}" (${this.toolCalls.length} tool calls)`
  }
}

// =============================================================================
// Models
// =============================================================================

/**
 * Options of {@link make}, besides those every agent has (`Agent.Options`).
 *
 * - `systemPrompt`: the first part of the system message; default
 *   {@link defaultSystemPrompt}.
 * - `model`: a layer providing the `LanguageModel` (for instance
 *   `OpenAiCompatible.model("gpt-4o-mini")`). Without it the agent requires
 *   `LanguageModel` from its environment, so one layer can serve many agents.
 *
 * @since 0.1.0
 * @category models
 */
export interface LlmOptions<RM, T extends Record<string, Tool.Any> = {}, RT = never, ET = never> {
  readonly systemPrompt?: string | undefined
  readonly model?: Layer.Layer<LanguageModel.LanguageModel, unknown, RM> | undefined
  /**
   * Tools the model may call (see `Tools`): the agent runs the tool-calling loop until the model answers
   * without calling a tool, or `maxSteps` model calls.
   */
  readonly tools?: Tools.Toolset<T, RT, ET> | undefined
  /** The most model calls per request when the agent has tools; default 8. */
  readonly maxSteps?: number | undefined
  /**
   * Stream the answer (`LanguageModel.streamText`) when the task listens for text, so progress views see
   * it as it comes (`AgentText` events); default `true`. The final answer is the same either way.
   */
  readonly stream?: boolean | undefined
}

// =============================================================================
// Prompt
// =============================================================================

/**
 * The system prompt used when none is given.
 *
 * @since 0.1.0
 * @category prompt
 */
export const defaultSystemPrompt = (agent: {
  readonly name: string
  readonly capabilities: ReadonlyArray<string>
  readonly description?: string | undefined
}): string =>
  [
    `You are "${agent.name}", an agent in a workflow${
      agent.capabilities.length > 0 ? ` with these capabilities: ${agent.capabilities.join(", ")}` : ""
    }.`,
    agent.description,
    "Complete the task you are given. Use the outputs of earlier tasks where they help. Answer with the result only."
  ].filter((line) => line !== undefined && line.length > 0).join("\n")

const toJson = (value: unknown): string => {
  try {
    const text = JSON.stringify(value, (_key, v: unknown) => typeof v === "bigint" ? v.toString() : v, 2)
    return text ?? String(value)
  } catch {
    return String(value)
  }
}

const fence = (value: unknown): string => "```json\n" + toJson(value) + "\n```"

/**
 * The system message for a request: the system prompt, then one section per
 * loaded skill with its description, instructions and resources.
 *
 * @since 0.1.0
 * @category prompt
 */
export const systemMessage = (systemPrompt: string, skills: ReadonlyArray<Skill>): string => {
  if (skills.length === 0) return systemPrompt
  const sections = skills.map((skill) =>
    [
      `## Skill: ${skill.name}`,
      skill.description,
      "",
      skill.instructions,
      skill.resources.length > 0 ? `\nResources of this skill: ${skill.resources.join(", ")}` : undefined
    ].filter((line) => line !== undefined).join("\n")
  )
  return [systemPrompt, "", "# Skills", "Follow the instructions of these skills.", "", sections.join("\n\n")].join("\n")
}

/**
 * The user message for a request: the task description, its parameters and
 * the outputs of its dependencies (JSON), and the attempt number after the
 * first attempt.
 *
 * @since 0.1.0
 * @category prompt
 */
export const userMessage = (request: Agent.AgentRequest): string => {
  const parts = [`# Task\n${request.description}`]
  if (Object.keys(request.parameters).length > 0) parts.push(`# Parameters\n${fence(request.parameters)}`)
  const dependencies = Object.entries(request.dependencies)
  if (dependencies.length > 0) {
    parts.push(
      `# Outputs of the tasks this task depends on\n${
        dependencies.map(([id, output]) => `## ${id}\n${fence(output)}`).join("\n\n")
      }`
    )
  }
  if (request.outputSchema !== undefined) parts.push("# Answer\nAnswer with JSON that matches the requested schema.")
  if (request.attempt > 1) parts.push(`(This is attempt ${request.attempt}; earlier attempts failed.)`)
  return parts.join("\n\n")
}

/**
 * The whole prompt for a request.
 *
 * @since 0.1.0
 * @category prompt
 */
export const prompt = (systemPrompt: string, request: Agent.AgentRequest): Prompt.RawInput => [
  { role: "system", content: systemMessage(systemPrompt, request.skills) },
  { role: "user", content: userMessage(request) }
]

// =============================================================================
// Constructors
// =============================================================================

const describe = (u: unknown): string =>
  Predicate.hasProperty(u, "message") && typeof u.message === "string" ? u.message : String(u)

const isObjectSchema = (schema: Agent.OutputSchema): boolean => SchemaAST.toEncoded(schema.ast)._tag === "Objects"

const usageOf = (
  usage: {
    readonly inputTokens: { readonly total?: number | undefined; readonly cacheRead?: number | undefined }
    readonly outputTokens: { readonly total?: number | undefined }
  },
  model?: string | undefined
): Agent.Usage => {
  const input = usage.inputTokens.total
  const output = usage.outputTokens.total
  const cached = usage.inputTokens.cacheRead
  return {
    ...(input !== undefined ? { inputTokens: input } : {}),
    ...(output !== undefined ? { outputTokens: output } : {}),
    ...(input !== undefined && output !== undefined ? { totalTokens: input + output } : {}),
    ...(cached !== undefined && cached > 0 ? { cachedTokens: cached } : {}),
    ...(model !== undefined ? { model } : {})
  }
}

const addUsage = (a: Agent.Usage, b: Agent.Usage): Agent.Usage => {
  const sum = (x: number | undefined, y: number | undefined) =>
    x === undefined && y === undefined ? undefined : (x ?? 0) + (y ?? 0)
  const out: Record<string, unknown> = {
    inputTokens: sum(a.inputTokens, b.inputTokens),
    outputTokens: sum(a.outputTokens, b.outputTokens),
    totalTokens: sum(a.totalTokens, b.totalTokens),
    cachedTokens: sum(a.cachedTokens, b.cachedTokens),
    model: b.model ?? a.model
  }
  for (const key of Object.keys(out)) if (out[key] === undefined) delete out[key]
  return out as Agent.Usage
}

const modelIdOf = (parts: ReadonlyArray<{ readonly type: string }>): string | undefined => {
  const meta = parts.find((part) => part.type === "response-metadata") as { readonly modelId?: string } | undefined
  return meta?.modelId
}

const fromAiError = (agent: string, taskId: string) => (error: AiError.AiError): LlmAgentError => {
  const reason = error.reason
  if (reason._tag === "StructuredOutputError") {
    return new OutputDecodeError({ agent, taskId, description: reason.description, responseText: reason.responseText })
  }
  const retryAfter = error.retryAfter
  return new Agent.AgentError({
    agent,
    reason: error.message,
    retryable: error.isRetryable,
    ...(retryAfter !== undefined ? { retryAfterMs: Duration.toMillis(retryAfter) } : {}),
    cause: error
  })
}

/** Errors of the provider that are not `AiError`s (a schema error decoding a response): retryable. */
const fromAnyError = (agent: string, taskId: string) => (error: unknown): LlmAgentError =>
  Predicate.isTagged(error, "AiError")
    ? fromAiError(agent, taskId)(error as AiError.AiError)
    : new Agent.AgentError({ agent, reason: describe(error), retryable: true, cause: error })

/** The stream parts the loop reads. */
type LoosePart =
  | { readonly type: "text-delta"; readonly delta: string }
  | { readonly type: "tool-call"; readonly id: string; readonly name: string; readonly params: unknown; readonly metadata?: unknown }
  | { readonly type: "response-metadata"; readonly modelId?: string | undefined }
  | { readonly type: "finish"; readonly usage: Response.Usage }
  | { readonly type: "other" }

/** One model call's result, whichever way it was made. */
interface Step {
  readonly text: string
  readonly toolCalls: ReadonlyArray<Tools.Call>
  readonly usage: Agent.Usage
}

/** The answer's text as JSON: a code fence around it is tolerated. */
const jsonText = (text: string): string => {
  const fenced = /^\s*```(?:json)?\s*\n([\s\S]*?)\n?```\s*$/.exec(text)
  return fenced !== null ? fenced[1]! : text
}

const DEFAULT_MAX_STEPS = 8

/** What the parts of an LLM agent's `run` share: its name, system prompt, step limit and call style. */
interface AgentConfig {
  readonly name: string
  readonly systemPrompt: string
  readonly maxSteps: number
  readonly streaming: boolean
}

interface CallOptions {
  readonly prompt: Prompt.RawInput
  readonly toolkit?: Toolkit.WithHandler<Record<string, Tool.Any>>
  readonly disableToolCallResolution?: boolean
  readonly toolCallValidation?: "deferred"
}

/** A streamed model call: text deltas go to the task's hooks as they come. */
const streamStep = (
  base: CallOptions,
  hooks: NonNullable<Agent.AgentRequest["hooks"]>,
  onError: (error: unknown) => LlmAgentError
): Effect.Effect<Step, LlmAgentError, LanguageModel.LanguageModel> =>
  Effect.suspend(() => {
    let text = ""
    const toolCalls: Array<Tools.Call> = []
    let usage: Agent.Usage = {}
    let model: string | undefined
    return (LanguageModel.streamText(base as never) as unknown as Stream.Stream<LoosePart, unknown, LanguageModel.LanguageModel>).pipe(
      Stream.runForEach((part) => {
        switch (part.type) {
          case "text-delta":
            text += part.delta
            return hooks.text(part.delta)
          case "tool-call":
            toolCalls.push({ id: part.id, name: part.name, params: part.params, metadata: part.metadata })
            return Effect.void
          case "response-metadata":
            model = part.modelId
            return Effect.void
          case "finish":
            usage = usageOf(part.usage)
            return Effect.void
          default:
            return Effect.void
        }
      }),
      Effect.mapError(onError),
      Effect.map((): Step => ({ text, toolCalls, usage: model === undefined ? usage : { ...usage, model } }))
    )
  })

/** A model call answered at once. */
const generateStep = (
  base: CallOptions,
  onError: (error: unknown) => LlmAgentError
): Effect.Effect<Step, LlmAgentError, LanguageModel.LanguageModel> =>
  (LanguageModel.generateText(base as never) as unknown as Effect.Effect<
    { readonly text: string; readonly toolCalls: ReadonlyArray<Tools.Call>; readonly usage: Response.Usage; readonly content: ReadonlyArray<{ readonly type: string }> },
    unknown,
    LanguageModel.LanguageModel
  >).pipe(
    Effect.mapError(onError),
    Effect.map((response): Step => ({
      text: response.text,
      toolCalls: response.toolCalls.map((call) => ({
        id: call.id,
        name: call.name,
        params: call.params,
        metadata: (call as { readonly metadata?: unknown }).metadata
      })),
      usage: usageOf(response.usage, modelIdOf(response.content))
    }))
  )

/** One model call with the conversation so far (and the tools, when there are any). */
const step = (
  config: AgentConfig,
  request: Agent.AgentRequest,
  messages: ReadonlyArray<Prompt.MessageEncoded>,
  toolkit: Toolkit.WithHandler<Record<string, Tool.Any>> | undefined
): Effect.Effect<Step, LlmAgentError, LanguageModel.LanguageModel> => {
  const onError = fromAnyError(config.name, request.taskId)
  const base: CallOptions = {
    prompt: messages as Prompt.RawInput,
    ...(toolkit === undefined ? {} : { toolkit, disableToolCallResolution: true, toolCallValidation: "deferred" as const })
  }
  const hooks = request.hooks
  return config.streaming && hooks !== undefined ? streamStep(base, hooks, onError) : generateStep(base, onError)
}

/** The budget check before, and the usage report after, each model call. */
const counted = <A extends { readonly usage: Agent.Usage }, E, R>(
  request: Agent.AgentRequest,
  call: Effect.Effect<A, E, R>
): Effect.Effect<A, E | Budget.BudgetExceeded, R> => {
  const hooks = request.hooks
  if (hooks === undefined) return call
  return hooks.beforeModelCall.pipe(
    Effect.andThen(call),
    Effect.tap((result) => hooks.modelCalled(result.usage))
  )
}

// ---- the tool-calling loop -----------------------------------------------------------------------------

/** The final answer: its text, or (with an output schema) the value decoded from it as JSON. */
const finalAnswer = (config: AgentConfig, request: Agent.AgentRequest, text: string, usage: Agent.Usage) => {
  const schema = request.outputSchema
  if (schema === undefined) return Effect.succeed({ output: text, text, usage })
  return Schema.decodeUnknownEffect(Schema.fromJsonString(schema as Schema.Codec<unknown, unknown>))(jsonText(text)).pipe(
    Effect.mapError((error) =>
      new OutputDecodeError({ agent: config.name, taskId: request.taskId, description: error.message, responseText: text })
    ),
    Effect.map((output) => ({ output, text, usage }))
  )
}

/** Runs the model's tool calls in parallel, each reported to the task (`ToolCalled`). */
const runToolCalls = (
  request: Agent.AgentRequest,
  toolkit: Toolkit.WithHandler<Record<string, Tool.Any>>,
  calls: ReadonlyArray<Tools.Call>
) =>
  Effect.forEach(calls, (call) =>
    Tools.run(toolkit, call).pipe(
      Effect.tapError((error) =>
        request.hooks?.toolCalled({
          tool: call.name,
          callId: call.id,
          arguments: call.params,
          durationMs: 0,
          outcome: "fatal",
          message: error.message
        }) ?? Effect.void
      ),
      Effect.tap((outcome) =>
        request.hooks?.toolCalled({
          tool: call.name,
          callId: call.id,
          arguments: call.params,
          durationMs: outcome.durationMs,
          outcome: outcome.isFailure ? "error" : "success",
          ...(outcome.message === undefined ? {} : { message: outcome.message })
        }) ?? Effect.void
      )
    ), { concurrency: "unbounded" }) as unknown as Effect.Effect<ReadonlyArray<Tools.Outcome>, Tools.ToolFailed>

/** The assistant's turn (its text and tool calls) and the tools' answers, added to the conversation. */
const appendToolRound = (messages: Array<Prompt.MessageEncoded>, result: Step, outcomes: ReadonlyArray<Tools.Outcome>) => {
  messages.push({
    role: "assistant",
    content: [
      ...(result.text.length > 0 ? [{ type: "text" as const, text: result.text }] : []),
      ...result.toolCalls.map((call) => ({
        type: "tool-call" as const,
        id: call.id,
        name: call.name,
        params: call.params,
        providerExecuted: false
      }))
    ]
  } as Prompt.MessageEncoded)
  messages.push({
    role: "tool",
    content: outcomes.map((outcome) => ({
      type: "tool-result" as const,
      id: outcome.call.id,
      name: outcome.call.name,
      isFailure: outcome.isFailure,
      result: outcome.result
    }))
  } as Prompt.MessageEncoded)
}

/** Model calls and tool calls until the model answers without tools (at most `maxSteps` model calls). */
const loop = (
  config: AgentConfig,
  request: Agent.AgentRequest,
  toolkit: Toolkit.WithHandler<Record<string, Tool.Any>>
): Effect.Effect<Agent.AgentResponse, LlmAgentError, LanguageModel.LanguageModel> =>
  Effect.gen(function*() {
    const messages: Array<Prompt.MessageEncoded> = [...prompt(config.systemPrompt, request) as Array<Prompt.MessageEncoded>]
    let usage: Agent.Usage = {}
    const called: Array<string> = []
    for (let n = 1; n <= config.maxSteps; n++) {
      const result = yield* counted(request, step(config, request, messages, toolkit))
      usage = addUsage(usage, result.usage)
      if (result.toolCalls.length === 0) return yield* finalAnswer(config, request, result.text, usage)
      const outcomes = yield* runToolCalls(request, toolkit, result.toolCalls)
      called.push(...result.toolCalls.map((call) => call.name))
      appendToolRound(messages, result, outcomes)
    }
    return yield* new StepLimitReached({ agent: config.name, taskId: request.taskId, maxSteps: config.maxSteps, toolCalls: called })
  })

/** Without tools: one call; with an output schema, a structured answer (`generateObject`). */
const ask = (
  config: AgentConfig,
  request: Agent.AgentRequest
): Effect.Effect<Agent.AgentResponse, LlmAgentError, LanguageModel.LanguageModel> => {
  const input = prompt(config.systemPrompt, request)
  const onError = fromAiError(config.name, request.taskId)
  const schema = request.outputSchema
  if (schema === undefined) {
    return counted(request, step(config, request, input as ReadonlyArray<Prompt.MessageEncoded>, undefined)).pipe(
      Effect.map((result) => ({ output: result.text, text: result.text, usage: result.usage }))
    )
  }
  // The provider contract needs an object at the root: other schemas are wrapped in `{ value }`.
  const wrapped = !isObjectSchema(schema)
  const objectSchema = (wrapped ? Schema.Struct({ value: schema }) : schema) as Schema.Codec<
    unknown,
    Record<string, unknown>
  >
  return counted(
    request,
    LanguageModel.generateObject({ prompt: input, schema: objectSchema, objectName: request.taskId }).pipe(
      Effect.mapError(onError),
      Effect.map((response) => ({
        output: wrapped ? (response.value as { readonly value: unknown }).value : response.value,
        text: response.text,
        usage: usageOf(response.usage, modelIdOf(response.content))
      }))
    )
  )
}

/**
 * A model layer that cannot be built is the agent's non-retryable AgentError; every other failure of the run
 * (the agent's own, a toolset's) is kept as it is.
 */
const modelLayer = <RM>(name: string, model: Layer.Layer<LanguageModel.LanguageModel, unknown, RM>) =>
  Layer.catchCause(
    model,
    (cause) =>
      Layer.effect(
        LanguageModel.LanguageModel,
        Effect.fail(
          new Agent.AgentError({
            agent: name,
            reason: `Could not build the language model: ${describe(Cause.squash(cause))}`,
            retryable: false,
            cause: Cause.squash(cause)
          })
        )
      )
  )

/**
 * Makes an LLM agent. Takes the options of `Agent.make` (name, capabilities,
 * priority, maxConcurrent, ...) without `run`, plus {@link LlmOptions}.
 * Throws a `RangeError` for invalid agent options, like `Agent.make`, and for
 * a `maxSteps` that is not a positive integer.
 *
 * With `tools`, `run` is a tool-calling loop: the model's tool calls run in
 * parallel, each reported to the task (`ToolCalled` events) and answered (a
 * call the model got wrong, or a handler's non-fatal error, is answered with
 * a typed error it can read), until the model answers without tools; more than
 * `maxSteps` model calls is a {@link StepLimitReached}. A structured answer
 * (`outputSchema`) is then decoded from the final text as JSON.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = <
  const C extends K,
  RM = LanguageModel.LanguageModel,
  K extends string = Capability.Builtin,
  T extends Record<string, Tool.Any> = {},
  RT = never,
  ET = never
>(
  options: Agent.Options<K> & LlmOptions<RM, T, RT, ET> & {
    readonly name: string
    readonly capabilities: ReadonlyArray<C>
  }
): Agent.Agent<C, LlmAgentError | ET, RM | RT | Tools.HandlerServices<T>> => {
  const systemPrompt = options.systemPrompt ?? defaultSystemPrompt(options)
  const name = options.name
  const maxSteps = options.maxSteps ?? DEFAULT_MAX_STEPS
  if (!(Number.isInteger(maxSteps) && maxSteps >= 1)) {
    throw new RangeError(`Agent "${name}": maxSteps must be a positive integer, got ${maxSteps}`)
  }
  const config: AgentConfig = {
    name,
    systemPrompt,
    maxSteps,
    streaming: options.stream !== false
  }
  const toolset = options.tools
  const withTools = (request: Agent.AgentRequest) =>
    toolset === undefined
      ? ask(config, request)
      : Effect.flatMap(
        Tools.resolve(toolset as unknown as Tools.Toolset<Record<string, Tool.Any>, RT, LlmAgentError>),
        (toolkit) => loop(config, request, toolkit)
      )
  const model = options.model === undefined ? undefined : modelLayer(name, options.model)
  const run = model === undefined
    ? withTools
    : (request: Agent.AgentRequest) => withTools(request).pipe(Effect.provide(model))

  return Agent.make<C, LlmAgentError | ET, RM | RT | Tools.HandlerServices<T>, K>({
    name,
    description: options.description,
    capabilities: options.capabilities,
    capabilitySet: options.capabilitySet,
    priority: options.priority,
    maxConcurrent: options.maxConcurrent,
    run: run as never
  })
}
