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
import { Duration, Effect, type Layer, Predicate, Schema, SchemaAST } from "effect"
import { type AiError, LanguageModel, type Prompt } from "effect/ai"
import * as Agent from "./Agent.ts"
import type * as Capability from "./Capability.ts"
import type { Skill } from "./Skill.ts"

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
export type LlmAgentError = Agent.AgentError | OutputDecodeError

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
export interface LlmOptions<RM> {
  readonly systemPrompt?: string | undefined
  readonly model?: Layer.Layer<LanguageModel.LanguageModel, unknown, RM> | undefined
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

const usageOf = (usage: { readonly inputTokens: { readonly total?: number | undefined }; readonly outputTokens: { readonly total?: number | undefined } }): Agent.Usage => {
  const input = usage.inputTokens.total
  const output = usage.outputTokens.total
  return {
    ...(input !== undefined ? { inputTokens: input } : {}),
    ...(output !== undefined ? { outputTokens: output } : {}),
    ...(input !== undefined && output !== undefined ? { totalTokens: input + output } : {})
  }
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

/**
 * Makes an LLM agent. Takes the options of `Agent.make` (name, capabilities,
 * priority, maxConcurrent, ...) without `run`, plus {@link LlmOptions}.
 * Throws a `RangeError` for invalid agent options, like `Agent.make`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = <
  const C extends K,
  RM = LanguageModel.LanguageModel,
  K extends string = Capability.Builtin
>(
  options: Agent.Options<K> & LlmOptions<RM> & {
    readonly name: string
    readonly capabilities: ReadonlyArray<C>
  }
): Agent.Agent<C, LlmAgentError, RM> => {
  const systemPrompt = options.systemPrompt ?? defaultSystemPrompt(options)
  const name = options.name

  const ask = (request: Agent.AgentRequest): Effect.Effect<Agent.AgentResponse, LlmAgentError, LanguageModel.LanguageModel> => {
    const input = prompt(systemPrompt, request)
    const onError = fromAiError(name, request.taskId)
    const schema = request.outputSchema
    if (schema === undefined) {
      return LanguageModel.generateText({ prompt: input }).pipe(
        Effect.mapError(onError),
        Effect.map((response) => ({ output: response.text, text: response.text, usage: usageOf(response.usage) }))
      )
    }
    // The provider contract needs an object at the root: other schemas are wrapped in `{ value }`.
    const wrapped = !isObjectSchema(schema)
    const objectSchema = (wrapped ? Schema.Struct({ value: schema }) : schema) as Schema.Codec<
      unknown,
      Record<string, unknown>
    >
    return LanguageModel.generateObject({ prompt: input, schema: objectSchema, objectName: request.taskId }).pipe(
      Effect.mapError(onError),
      Effect.map((response) => ({
        output: wrapped ? (response.value as { readonly value: unknown }).value : response.value,
        text: response.text,
        usage: usageOf(response.usage)
      }))
    )
  }

  const model = options.model
  const run = model === undefined
    ? (ask as (request: Agent.AgentRequest) => Effect.Effect<Agent.AgentResponse, LlmAgentError, RM>)
    : (request: Agent.AgentRequest): Effect.Effect<Agent.AgentResponse, LlmAgentError, RM> =>
      ask(request).pipe(
        Effect.provide(model),
        Effect.mapError((error): LlmAgentError =>
          Agent.isAgentError(error) || isOutputDecodeError(error)
            ? error
            : new Agent.AgentError({
              agent: name,
              reason: `Could not build the language model: ${describe(error)}`,
              retryable: false,
              cause: error
            })
        )
      )

  return Agent.make<C, LlmAgentError, RM, K>({
    name,
    description: options.description,
    capabilities: options.capabilities,
    capabilitySet: options.capabilitySet,
    priority: options.priority,
    maxConcurrent: options.maxConcurrent,
    run
  })
}
