/**
 * An OpenAI-compatible chat-completions provider for `effect/ai`'s
 * `LanguageModel` service, built on effect's own `HttpClient`.
 *
 * One small layer serves every server that speaks `POST {baseUrl}/chat/completions`:
 * OpenAI, Ollama (`http://localhost:11434/v1`), vLLM, llama.cpp's server and
 * OpenRouter (`https://openrouter.ai/api/v1`). It supports plain text,
 * structured output (`response_format: json_schema`, so
 * `LanguageModel.generateObject` works), function tools and streaming (SSE).
 *
 * It exists because the `@effect/ai-openai` 4.x betas do not load with effect
 * 4.1; when an official provider layer exists, provide that layer instead:
 * everything written against `LanguageModel` keeps working.
 *
 * Failures are `AiError`s: a 429 is a retryable `RateLimitError` whose
 * `retryAfter` carries the server's `Retry-After` (seconds or HTTP date), 408
 * and 5xx are retryable `InternalProviderError`s, 400/404/422 are
 * non-retryable `InvalidRequestError`s, 401/403 are `AuthenticationError`s.
 * {@link retryPolicy} is a schedule that retries only retryable errors and
 * waits at least as long as the server asked.
 *
 * The API key is held as a `Redacted` value: it is sent only in the
 * `Authorization` header, and it does not appear in the settings' `toString`
 * or JSON, nor in anything that leaves the layer: every text from the server
 * (error message, code and type, request id, kept headers, the body, answers
 * and streamed chunks) is scrubbed of it, raw and escaped (JSON, twice-JSON,
 * URL-encoded, `\uXXXX`). Keys shorter than 8 characters (placeholders for
 * local servers) are scrubbed from errors but not from answers.
 *
 * Tool calling: tool definitions, tool choice, parallel tool calls and their
 * results are translated both ways. With `toolCallValidation: "deferred"`
 * (what `LlmAgent` uses), a call whose arguments are not JSON is returned
 * with the raw text so that the agent can answer the model with an error.
 *
 * **Example**
 *
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { LanguageModel } from "effect/ai"
 * import { FetchHttpClient } from "effect/http"
 * import { OpenAiCompatible } from "@troupe/agents"
 *
 * // reads OPENAI_BASE_URL (default https://api.openai.com/v1), OPENAI_API_KEY (optional)
 * const Model = OpenAiCompatible.layerConfig({ model: "gpt-4o-mini" }).pipe(
 *   Layer.provide(FetchHttpClient.layer)
 * )
 *
 * const program = LanguageModel.generateText({ prompt: "Say hi" }).pipe(
 *   Effect.retry(OpenAiCompatible.retryPolicy({ times: 3 })),
 *   Effect.map((response) => response.text),
 *   Effect.provide(Model)
 * )
 * ```
 *
 * @since 0.1.0
 */
import { Clock, Config, Duration, Effect, Layer, Option, Predicate, Redacted, Schedule, Schema, Stream } from "effect"
import { type AiError, IdGenerator, LanguageModel, Model, OpenAiStructuredOutput } from "effect/ai"
import { Sse } from "effect/encoding"
import { HttpClient, type HttpClientError, HttpClientRequest, type HttpClientResponse } from "effect/http"
import * as Wire from "./internal/openai.ts"

// =============================================================================
// Models
// =============================================================================

/**
 * The base URL used when none is configured.
 *
 * @since 0.1.0
 * @category models
 */
export const DEFAULT_BASE_URL = "https://api.openai.com/v1"

/**
 * The provider name this layer reports through `effect/ai`'s `Model.ProviderName`.
 *
 * @since 0.1.0
 * @category models
 */
export const PROVIDER_NAME = "openai-compatible"

/**
 * What the layer needs to talk to a server.
 *
 * - `model`: the model name sent with every request (`gpt-4o-mini`, `llama3.2`, ...).
 * - `baseUrl`: everything before `/chat/completions`; default {@link DEFAULT_BASE_URL}.
 * - `apiKey`: sent as `Authorization: Bearer ...`; omit it for local servers.
 * - `strictJsonSchema`: send structured-output schemas in OpenAI's strict
 *   subset (`strict: true`, optional fields become required nullable ones);
 *   default `true`. Turn it off for servers that reject strict mode.
 * - `structuredOutput`: `"json_schema"` (default) or `"json_object"` for
 *   servers that only know JSON mode; the schema then goes into a system
 *   message instead.
 * - `headers`: extra headers (e.g. OpenRouter's `HTTP-Referer`).
 * - `body`: extra request fields merged into every request (`temperature`,
 *   `max_tokens`, `seed`, ...).
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly model: string
  readonly baseUrl?: string | undefined
  readonly apiKey?: Redacted.Redacted<string> | undefined
  readonly strictJsonSchema?: boolean | undefined
  readonly structuredOutput?: "json_schema" | "json_object" | undefined
  readonly headers?: Readonly<Record<string, string>> | undefined
  readonly body?: Readonly<Record<string, unknown>> | undefined
}

/**
 * {@link Options} with every default filled in. Safe to print and serialise:
 * the API key shows as `<redacted>`.
 *
 * @since 0.1.0
 * @category models
 */
export class Settings extends Schema.Class<Settings>("@troupe/agents/OpenAiCompatible/Settings")({
  model: Schema.String,
  baseUrl: Schema.String,
  apiKey: Schema.optionalKey(Schema.Redacted(Schema.String)),
  strictJsonSchema: Schema.Boolean,
  structuredOutput: Schema.Literals(["json_schema", "json_object"]),
  headers: Schema.Record(Schema.String, Schema.String),
  body: Schema.Record(Schema.String, Schema.Unknown)
}) {}

// =============================================================================
// Constructors
// =============================================================================

/**
 * Fills in the defaults of {@link Options}. A trailing `/` of the base URL is
 * dropped; an empty API key counts as none.
 *
 * @since 0.1.0
 * @category constructors
 */
export const settings = (options: Options): Settings =>
  new Settings({
    model: options.model,
    baseUrl: (options.baseUrl ?? DEFAULT_BASE_URL).replace(/\/+$/, ""),
    ...(options.apiKey !== undefined && Redacted.value(options.apiKey).length > 0 ? { apiKey: options.apiKey } : {}),
    strictJsonSchema: options.strictJsonSchema ?? true,
    structuredOutput: options.structuredOutput ?? "json_schema",
    headers: { ...options.headers },
    body: { ...options.body }
  })

/**
 * Reads the settings from configuration: `OPENAI_BASE_URL` (default
 * {@link DEFAULT_BASE_URL}), `OPENAI_API_KEY` (optional, `Redacted`) and,
 * unless `options.model` is given, `OPENAI_MODEL`. The other options are
 * taken from `options`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const config = (
  options?: Omit<Options, "model" | "baseUrl" | "apiKey"> & { readonly model?: string | undefined }
): Config.Config<Settings> =>
  Config.all({
    baseUrl: Config.String("OPENAI_BASE_URL").pipe(Config.withDefault(DEFAULT_BASE_URL)),
    apiKey: Config.option(Config.Redacted("OPENAI_API_KEY")),
    model: options?.model !== undefined ? Config.succeed(options.model) : Config.String("OPENAI_MODEL")
  }).pipe(Config.map(({ apiKey, baseUrl, model }) =>
    settings({ ...options, model, baseUrl, apiKey: Option.getOrUndefined(apiKey) })
  ))

/** What the parts of the provider share: the settings, the HTTP client, the key scrubbers, the endpoint. */
interface Provider {
  readonly resolved: Settings
  readonly client: HttpClient.HttpClient
  readonly scrub: (text: string) => string
  readonly scrubAnswer: (text: string) => string
  readonly url: string
  readonly transformer: LanguageModel.CodecTransformer
}

// ---- the request ---------------------------------------------------------------------------------------

/**
 * A structured answer's `response_format`: a JSON Schema (`json_schema`), or `json_object` with the schema
 * in a system message first (for servers without `json_schema`).
 */
const responseFormat = (
  p: Provider,
  format: LanguageModel.ProviderOptions["responseFormat"],
  messages: Array<unknown>
): unknown => {
  if (format.type !== "json") return undefined
  // `Schema.Top` to the transformer's codec constraint: the transformer only reads the AST
  const jsonSchema = p.transformer(format.schema as Schema.Codec<unknown, unknown>).jsonSchema
  if (p.resolved.structuredOutput === "json_object") {
    messages.unshift({
      role: "system",
      content: `Answer with one JSON object (no prose, no code fence) that matches this JSON Schema:\n${
        JSON.stringify(jsonSchema)
      }`
    })
    return { type: "json_object" }
  }
  return {
    type: "json_schema",
    json_schema: {
      name: Wire.schemaName(format.objectName),
      schema: jsonSchema,
      strict: p.resolved.strictJsonSchema
    }
  }
}

/** The chat-completions request body. */
const requestBody = (
  p: Provider,
  providerOptions: LanguageModel.ProviderOptions,
  method: string,
  stream: boolean
): Effect.Effect<Record<string, unknown>, AiError.AiError> =>
  Effect.gen(function*() {
    const messages = yield* Effect.fromResult(Wire.toMessages(providerOptions.prompt, method))
    const tools = yield* Effect.fromResult(Wire.toTools(providerOptions.tools, providerOptions.toolChoice, method))
    const response_format = responseFormat(p, providerOptions.responseFormat, messages)
    return {
      ...p.resolved.body,
      ...tools,
      model: p.resolved.model,
      messages,
      ...(response_format !== undefined ? { response_format } : {}),
      ...(stream ? { stream: true, stream_options: { include_usage: true } } : {})
    }
  })

const httpFailure = (p: Provider, method: string) => (error: HttpClientError.HttpClientError): AiError.AiError => {
  const reason = error.reason
  switch (reason._tag) {
    case "TransportError":
    case "EncodeError":
    case "InvalidUrlError":
      return Wire.networkError({
        method,
        httpMethod: "POST",
        url: p.url,
        kind: reason._tag,
        description: describeCause(reason.description, reason.cause),
        scrub: p.scrub
      })
    default:
      return Wire.invalidOutput(method, `Could not read the response: ${p.scrub(reason.message)}`)
  }
}

/** POSTs the body; a status of 400 or more is the typed error its status and headers call for. */
const send = (
  p: Provider,
  payload: Record<string, unknown>,
  method: string
): Effect.Effect<HttpClientResponse.HttpClientResponse, AiError.AiError> => {
  let request = HttpClientRequest.post(p.url).pipe(
    HttpClientRequest.setHeaders(p.resolved.headers),
    HttpClientRequest.bodyJsonUnsafe(payload)
  )
  if (p.resolved.apiKey !== undefined) request = HttpClientRequest.bearerToken(request, p.resolved.apiKey)
  return p.client.execute(request).pipe(
    Effect.mapError(httpFailure(p, method)),
    Effect.flatMap((response) =>
      response.status < 400 ? Effect.succeed(response) : Effect.gen(function*() {
        const text = yield* response.text.pipe(Effect.option)
        const nowMillis = yield* Clock.currentTimeMillis
        return yield* Effect.fail(Wire.statusError({
          method,
          httpMethod: "POST",
          url: p.url,
          status: response.status,
          headers: response.headers,
          body: Option.getOrUndefined(text),
          nowMillis,
          scrub: p.scrub
        }))
      })
    )
  )
}

// ---- the answer ----------------------------------------------------------------------------------------

const idMaker = Effect.gen(function*() {
  const generator = yield* IdGenerator.IdGenerator
  const prefix = yield* generator.generateId()
  let counter = 0
  return () => `${prefix}_${counter++}`
})

const decodeCompletion = Schema.decodeUnknownEffect(Wire.ChatCompletion)
const decodeChunk = Schema.decodeUnknownEffect(Schema.fromJsonString(Wire.ChatCompletionChunk))

// One JSON completion, read and decoded. The body is scrubbed before it is parsed: a server may echo the key
// in a successful answer too.
const readCompletion = (p: Provider, response: HttpClientResponse.HttpClientResponse, method: string) =>
  Effect.gen(function*() {
    const text = p.scrubAnswer(yield* response.text.pipe(Effect.mapError(httpFailure(p, method))))
    const json = yield* Effect.try({
      try: () => JSON.parse(text) as unknown,
      catch: (error) => Wire.invalidOutput(method, `The response is not JSON: ${p.scrub(String(error))}`)
    })
    return yield* decodeCompletion(json).pipe(
      Effect.mapError((error) => Wire.invalidOutput(method, p.scrub(error.message)))
    )
  })

const generateText = (p: Provider) => (providerOptions: LanguageModel.ProviderOptions) =>
  Effect.gen(function*() {
    const method = "generateText"
    const payload = yield* requestBody(p, providerOptions, method, false)
    const response = yield* send(p, payload, method)
    const completion = yield* readCompletion(p, response, method)
    const makeId = yield* idMaker
    const deferred = providerOptions.toolCallValidation === "deferred"
    return yield* Effect.fromResult(Wire.toParts(completion, { model: p.resolved.model, method, makeId, deferred }))
  })

/**
 * Turns the text of a server-sent-events stream, as it arrives, into response parts (until `[DONE]`); each
 * chunk is scrubbed and decoded.
 */
const sseReader = (p: Provider, state: ReturnType<typeof Wire.makeStreamState>, method: string) => {
  const events: Array<Sse.Event> = []
  let done = false
  const parser = Sse.makeParser((event) => {
    if (event._tag === "Event") events.push(event)
  })
  return (text: string) =>
    Effect.gen(function*() {
      const error = parser.feed(text)
      if (error !== undefined) return yield* Effect.fail(Wire.invalidOutput(method, p.scrub(error.message)))
      const parts: Array<ReturnType<typeof state.onChunk>[number]> = []
      for (const event of events.splice(0)) {
        if (done) break
        if (event.data.trim() === "[DONE]") {
          done = true
          break
        }
        const chunk = yield* decodeChunk(p.scrubAnswer(event.data)).pipe(
          Effect.mapError((error) => Wire.invalidOutput(method, p.scrub(error.message)))
        )
        parts.push(...state.onChunk(chunk))
      }
      return parts
    })
}

const streamText = (p: Provider) => (providerOptions: LanguageModel.ProviderOptions) =>
  Stream.unwrap(Effect.gen(function*() {
    const method = "streamText"
    const payload = yield* requestBody(p, providerOptions, method, true)
    const response = yield* send(p, payload, method)
    const makeId = yield* idMaker
    const deferred = providerOptions.toolCallValidation === "deferred"
    const state = Wire.makeStreamState({ model: p.resolved.model, method, makeId, deferred })
    // A server that ignores `stream: true` and answers with one JSON completion: replayed as a stream.
    if ((response.headers["content-type"] ?? "").includes("application/json")) {
      const completion = yield* readCompletion(p, response, method)
      const parts = yield* Effect.fromResult(Wire.toParts(completion, { model: p.resolved.model, method, makeId, deferred }))
      return Stream.fromIterable(Wire.partsToStream(parts))
    }
    return response.stream.pipe(
      Stream.mapError(httpFailure(p, method)),
      Stream.decodeText(),
      Stream.mapEffect(sseReader(p, state, method)),
      Stream.flattenIterable,
      Stream.concat(Stream.fromEffect(Effect.suspend(() => Effect.fromResult(state.finish()))).pipe(
        Stream.flattenIterable
      ))
    )
  }))

/**
 * Builds the `LanguageModel` service. Requires an `HttpClient` (for instance
 * `FetchHttpClient.layer` from `effect/http`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: (options: Options) => Effect.Effect<LanguageModel.LanguageModel, never, HttpClient.HttpClient> =
  Effect.fnUntraced(function*(options: Options) {
    const resolved = options instanceof Settings ? options : settings(options)
    const p: Provider = {
      resolved,
      client: yield* HttpClient.HttpClient,
      scrub: Wire.scrubber(resolved.apiKey),
      scrubAnswer: Wire.answerScrubber(resolved.apiKey),
      url: `${resolved.baseUrl}/chat/completions`,
      transformer: resolved.strictJsonSchema
        ? OpenAiStructuredOutput.toCodecOpenAI
        : LanguageModel.defaultCodecTransformer
    }
    return yield* LanguageModel.make({ generateText: generateText(p), streamText: streamText(p), codecTransformer: p.transformer })
  })

const describeCause = (description: string | undefined, cause: unknown): string | undefined => {
  if (description !== undefined) return description
  if (cause instanceof Error) {
    const inner = cause.cause instanceof Error ? `: ${cause.cause.message}` : ""
    return `${cause.message}${inner}`
  }
  return undefined
}

// =============================================================================
// Retry
// =============================================================================

/**
 * The delay a failure asks for before the next attempt: the `retryAfter` of
 * an `AiError` (set from a 429's `Retry-After`), any other `retryAfter`
 * `Duration` field, or a `retryAfterMs` number (as on `Agent.AgentError`).
 *
 * @since 0.1.0
 * @category retry
 */
export const retryAfter = (error: unknown): Duration.Duration | undefined => {
  if (Predicate.hasProperty(error, "retryAfter") && Duration.isDuration(error.retryAfter)) return error.retryAfter
  if (Predicate.hasProperty(error, "retryAfterMs") && typeof error.retryAfterMs === "number") {
    return Duration.millis(Math.max(0, error.retryAfterMs))
  }
  return undefined
}

/**
 * Whether a failure is worth another attempt: its `isRetryable` flag (every
 * `AiError` and `LlmAgent.OutputDecodeError` has one) or its `retryable`
 * field (as on `Agent.AgentError`). Failures with neither are not retried.
 *
 * @since 0.1.0
 * @category retry
 */
export const isRetryable = (error: unknown): boolean =>
  (Predicate.hasProperty(error, "isRetryable") && error.isRetryable === true) ||
  (Predicate.hasProperty(error, "retryable") && error.retryable === true)

/**
 * Makes a retry schedule honour the server: the delay before the next attempt
 * becomes the larger of the schedule's own delay and the failure's
 * {@link retryAfter}.
 *
 * @since 0.1.0
 * @category retry
 */
export const retryAfterAware = <Output, Input, E, R>(
  self: Schedule.Schedule<Output, Input, E, R>
): Schedule.Schedule<Output, Input, E, R> =>
  Schedule.modifyDelay(self, ({ duration, input }) => {
    const requested = retryAfter(input)
    return Effect.succeed(requested === undefined ? duration : Duration.max(duration, requested))
  })

/**
 * A retry schedule for language-model calls: exponential backoff from `base`
 * (default 500 ms, `factor` 2, each delay capped at `maxDelay`, default 30 s),
 * at most `times` retries (default 3), only while the failure
 * {@link isRetryable}, and never sooner than the server's `Retry-After`
 * ({@link retryAfterAware}, which is not capped).
 *
 * @since 0.1.0
 * @category retry
 */
export const retryPolicy = (options?: {
  readonly times?: number | undefined
  readonly base?: Duration.Input | undefined
  readonly factor?: number | undefined
  readonly maxDelay?: Duration.Input | undefined
}): Schedule.Schedule<Duration.Duration, unknown> => {
  const maxDelay = Duration.fromInputUnsafe(options?.maxDelay ?? "30 seconds")
  return Schedule.exponential(options?.base ?? "500 millis", options?.factor ?? 2).pipe(
    Schedule.modifyDelay(({ duration }) => Effect.succeed(Duration.min(duration, maxDelay))),
    Schedule.upTo({ times: options?.times ?? 3 }),
    Schedule.while(({ input }) => isRetryable(input)),
    retryAfterAware
  )
}

// =============================================================================
// Layers
// =============================================================================

/**
 * A `LanguageModel` layer for the given options. Provide an `HttpClient`
 * (`FetchHttpClient.layer`) to it.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<LanguageModel.LanguageModel, never, HttpClient.HttpClient> =>
  Layer.effect(LanguageModel.LanguageModel, make(options))

/**
 * A `LanguageModel` layer whose settings come from {@link config}
 * (`OPENAI_BASE_URL`, `OPENAI_API_KEY`, `OPENAI_MODEL`).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  options?: Parameters<typeof config>[0]
): Layer.Layer<LanguageModel.LanguageModel, Config.ConfigError, HttpClient.HttpClient> =>
  Layer.effect(
    LanguageModel.LanguageModel,
    Effect.flatMap(config(options), make)
  )

/**
 * The layer as an `effect/ai` `Model`, which also provides `Model.ProviderName`
 * and `Model.ModelName` and can be used in an `ExecutionPlan`.
 *
 * @since 0.1.0
 * @category layers
 */
export const model = (
  name: string,
  options?: Omit<Options, "model">
): Model.Model<typeof PROVIDER_NAME, LanguageModel.LanguageModel, HttpClient.HttpClient> =>
  Model.make(PROVIDER_NAME, name, layer({ ...options, model: name }))
