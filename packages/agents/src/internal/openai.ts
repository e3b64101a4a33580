/**
 * Wire protocol of the OpenAI chat-completions API and the pure translations
 * between it and `effect/ai` (prompt to messages, completion to response
 * parts, stream chunks to stream parts, HTTP failures to `AiError`).
 *
 * Everything here is platform-free and free of the HTTP client, so it can be
 * unit tested without a server.
 *
 * @internal
 */
import { Duration, Option, Redacted, Result, Schema } from "effect"
import { AiError, type Prompt, type Response, Tool } from "effect/ai"
import { Base64 } from "effect/encoding"

/** @internal */
const MODULE = "OpenAiCompatible"

// -----------------------------------------------------------------------------
// wire schemas (lenient: every server in the family fills a different subset)
// -----------------------------------------------------------------------------

const NullishString = Schema.optional(Schema.NullOr(Schema.String))
const NullishNumber = Schema.optional(Schema.NullOr(Schema.Number))

const WireToolCall = Schema.Struct({
  id: NullishString,
  function: Schema.Struct({
    name: Schema.String,
    arguments: NullishString
  })
})

const WireUsage = Schema.Struct({
  prompt_tokens: NullishNumber,
  completion_tokens: NullishNumber,
  prompt_tokens_details: Schema.optional(Schema.NullOr(Schema.Struct({ cached_tokens: NullishNumber }))),
  completion_tokens_details: Schema.optional(Schema.NullOr(Schema.Struct({ reasoning_tokens: NullishNumber })))
})

/** @internal */
export type WireUsage = typeof WireUsage.Type

/** @internal */
export const ChatCompletion = Schema.Struct({
  id: NullishString,
  model: NullishString,
  created: NullishNumber,
  choices: Schema.Array(Schema.Struct({
    message: Schema.Struct({
      content: NullishString,
      refusal: NullishString,
      reasoning_content: NullishString,
      reasoning: NullishString,
      tool_calls: Schema.optional(Schema.NullOr(Schema.Array(WireToolCall)))
    }),
    finish_reason: NullishString
  })),
  usage: Schema.optional(Schema.NullOr(WireUsage))
})

/** @internal */
export type ChatCompletion = typeof ChatCompletion.Type

/** @internal */
export const ChatCompletionChunk = Schema.Struct({
  id: NullishString,
  model: NullishString,
  created: NullishNumber,
  choices: Schema.optional(Schema.NullOr(Schema.Array(Schema.Struct({
    delta: Schema.optional(Schema.NullOr(Schema.Struct({
      content: NullishString,
      reasoning_content: NullishString,
      reasoning: NullishString,
      tool_calls: Schema.optional(Schema.NullOr(Schema.Array(Schema.Struct({
        index: Schema.optional(Schema.Number),
        id: NullishString,
        function: Schema.optional(Schema.NullOr(Schema.Struct({
          name: NullishString,
          arguments: NullishString
        })))
      }))))
    }))),
    finish_reason: NullishString
  })))),
  usage: Schema.optional(Schema.NullOr(WireUsage))
})

/** @internal */
export type ChatCompletionChunk = typeof ChatCompletionChunk.Type

const ErrorBody = Schema.Struct({
  error: Schema.Struct({
    message: NullishString,
    type: NullishString,
    code: Schema.optional(Schema.NullOr(Schema.Union([Schema.String, Schema.Number])))
  })
})
const decodeErrorBody = Schema.decodeUnknownOption(Schema.fromJsonString(ErrorBody))

/** A chat message as sent on the wire. @internal */
export type WireMessage =
  | { readonly role: "system"; readonly content: string }
  | { readonly role: "user"; readonly content: string | ReadonlyArray<WireContentPart> }
  | {
    readonly role: "assistant"
    readonly content: string | null
    readonly tool_calls?: ReadonlyArray<{
      readonly id: string
      readonly type: "function"
      readonly function: { readonly name: string; readonly arguments: string }
    }>
  }
  | { readonly role: "tool"; readonly tool_call_id: string; readonly content: string }

/** @internal */
export type WireContentPart =
  | { readonly type: "text"; readonly text: string }
  | { readonly type: "image_url"; readonly image_url: { readonly url: string } }

// -----------------------------------------------------------------------------
// secrets
// -----------------------------------------------------------------------------

/**
 * The forms in which a secret can appear in a text that came from the network: raw, JSON-escaped (once
 * and twice: a JSON body quoting another JSON text), URL-encoded, and with every character outside
 * `[A-Za-z0-9_-]` as a `\uXXXX` escape (lower and upper case hex). Longest first, so that replacing one
 * form never leaves a piece of a longer one.
 *
 * @internal
 */
export const secretForms = (secret: string): ReadonlyArray<string> => {
  if (secret.length === 0) return []
  const json1 = JSON.stringify(secret).slice(1, -1)
  const json2 = JSON.stringify(json1).slice(1, -1)
  const unicode = (upper: boolean) =>
    secret.replace(/[^A-Za-z0-9_-]/g, (c) => {
      const hex = c.charCodeAt(0).toString(16).padStart(4, "0")
      return `\\u${upper ? hex.toUpperCase() : hex}`
    })
  const forms = new Set([secret, json1, json2, encodeURIComponent(secret), unicode(false), unicode(true)])
  return [...forms].sort((a, b) => b.length - a.length)
}

/**
 * Removes every occurrence of the API key, in any of its {@link secretForms}, from a text that came from
 * the network (a server may echo the Authorization header in an error body, its code or type, or a
 * header). Every string the provider layer hands out passes through it.
 *
 * @internal
 */
export const scrubber = (apiKey: Redacted.Redacted<string> | undefined) => {
  const forms = secretForms(apiKey === undefined ? "" : Redacted.value(apiKey))
  return (text: string): string => {
    if (forms.length === 0) return text
    let out = text
    for (const form of forms) if (out.includes(form)) out = out.split(form).join("<redacted>")
    return out
  }
}

/**
 * The scrubber for successful answers: the same as {@link scrubber} for keys of at least 8 characters;
 * shorter "keys" (placeholders such as `"x"` for local servers) are not secrets, and scrubbing them
 * would corrupt answers.
 *
 * @internal
 */
export const answerScrubber = (apiKey: Redacted.Redacted<string> | undefined) => {
  const secret = apiKey === undefined ? "" : Redacted.value(apiKey)
  return secret.length >= 8 ? scrubber(apiKey) : (text: string): string => text
}

/**
 * Scrubs every string inside a JSON-like value (object keys too); other values are kept.
 *
 * @internal
 */
const scrubDeep = (scrub: (text: string) => string, value: unknown, depth = 0): unknown => {
  if (typeof value === "string") return scrub(value)
  if (depth > 64 || typeof value !== "object" || value === null) return value
  if (Array.isArray(value)) return value.map((item) => scrubDeep(scrub, item, depth + 1))
  const out: Record<string, unknown> = {}
  for (const [key, item] of Object.entries(value)) out[scrub(key)] = scrubDeep(scrub, item, depth + 1)
  return out
}

// -----------------------------------------------------------------------------
// prompt -> messages
// -----------------------------------------------------------------------------

const fail = (method: string, reason: AiError.AiErrorReason) => AiError.make({ module: MODULE, method, reason })

const fileUrl = (part: Prompt.FilePart): string => {
  const data = part.data
  if (data instanceof URL) return data.href
  if (typeof data === "string") {
    return /^(https?:|data:)/.test(data) ? data : `data:${part.mediaType};base64,${data}`
  }
  return `data:${part.mediaType};base64,${Base64.encode(data)}`
}

const stringifyResult = (result: unknown): string => typeof result === "string" ? result : JSON.stringify(result) ?? "null"

/**
 * Translates an `effect/ai` prompt into chat-completions messages. Image files
 * are sent as `image_url` parts; other files are rejected.
 *
 * @internal
 */
export const toMessages = (
  prompt: Prompt.Prompt,
  method: string
): Result.Result<Array<WireMessage>, AiError.AiError> => {
  const messages: Array<WireMessage> = []
  for (const message of prompt.content) {
    switch (message.role) {
      case "system": {
        messages.push({ role: "system", content: message.content })
        break
      }
      case "user": {
        const parts: Array<WireContentPart> = []
        for (const part of message.content) {
          if (part.type === "text") {
            parts.push({ type: "text", text: part.text })
          } else if (part.mediaType.startsWith("image/")) {
            parts.push({ type: "image_url", image_url: { url: fileUrl(part) } })
          } else {
            return Result.fail(fail(
              method,
              new AiError.InvalidUserInputError({
                description: `File parts of media type '${part.mediaType}' are not supported by chat completions`
              })
            ))
          }
        }
        const allText = parts.every((part) => part.type === "text")
        messages.push({
          role: "user",
          content: allText ? parts.map((part) => (part as { readonly text: string }).text).join("\n") : parts
        })
        break
      }
      case "assistant": {
        let text = ""
        const toolCalls: Array<{
          readonly id: string
          readonly type: "function"
          readonly function: { readonly name: string; readonly arguments: string }
        }> = []
        for (const part of message.content) {
          if (part.type === "text") text += part.text
          else if (part.type === "tool-call" && !part.providerExecuted) {
            toolCalls.push({
              id: part.id,
              type: "function",
              function: { name: part.name, arguments: JSON.stringify(part.params ?? {}) }
            })
          }
        }
        messages.push(
          toolCalls.length > 0
            ? { role: "assistant", content: text.length > 0 ? text : null, tool_calls: toolCalls }
            : { role: "assistant", content: text }
        )
        break
      }
      case "tool": {
        for (const part of message.content) {
          if (part.type === "tool-result") {
            messages.push({ role: "tool", tool_call_id: part.id, content: stringifyResult(part.result) })
          }
        }
        break
      }
    }
  }
  return Result.succeed(messages)
}

/**
 * Translates the tools and tool choice prepared by `LanguageModel` into the
 * `tools` / `tool_choice` request fields. Provider-defined tools (another
 * vendor's built-ins) cannot be expressed and are rejected.
 *
 * @internal
 */
export const toTools = (
  tools: ReadonlyArray<Tool.Any>,
  toolChoice: unknown,
  method: string
): Result.Result<Record<string, unknown>, AiError.AiError> => {
  if (tools.length === 0) return Result.succeed({})
  const wire: Array<unknown> = []
  for (const tool of tools) {
    if (Tool.isProviderDefined(tool)) {
      return Result.fail(fail(
        method,
        new AiError.ToolConfigurationError({
          toolName: tool.name,
          description: "Provider-defined tools are not supported by the OpenAI-compatible chat-completions layer"
        })
      ))
    }
    const description = Tool.getDescription(tool)
    wire.push({
      type: "function",
      function: {
        name: tool.name,
        ...(description !== undefined ? { description } : {}),
        parameters: Tool.getJsonSchema(tool)
      }
    })
  }
  let tool_choice: unknown = "auto"
  if (toolChoice === "none" || toolChoice === "required" || toolChoice === "auto") tool_choice = toolChoice
  else if (typeof toolChoice === "object" && toolChoice !== null) {
    if ("tool" in toolChoice && typeof toolChoice.tool === "string") {
      tool_choice = { type: "function", function: { name: toolChoice.tool } }
    } else if ("mode" in toolChoice && toolChoice.mode === "required") {
      tool_choice = "required"
    }
  }
  return Result.succeed({ tools: wire, tool_choice })
}

/**
 * `json_schema.name` must match `^[a-zA-Z0-9_-]{1,64}$`.
 *
 * @internal
 */
export const schemaName = (objectName: string): string => {
  const cleaned = objectName.replace(/[^a-zA-Z0-9_-]/g, "_").slice(0, 64)
  return cleaned.length > 0 ? cleaned : "output"
}

// -----------------------------------------------------------------------------
// completion -> response parts
// -----------------------------------------------------------------------------

/** @internal */
export const finishReason = (reason: string | null | undefined): Response.FinishReason => {
  switch (reason) {
    case "stop":
      return "stop"
    case "length":
      return "length"
    case "content_filter":
      return "content-filter"
    case "tool_calls":
    case "function_call":
      return "tool-calls"
    case null:
    case undefined:
      return "unknown"
    default:
      return "other"
  }
}

const int = (value: number | null | undefined): number | undefined =>
  typeof value === "number" && Number.isFinite(value) ? Math.trunc(value) : undefined

const defined = <A extends object>(record: A): A => {
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(record)) if (value !== undefined) out[key] = value
  return out as A
}

/** @internal */
export const usage = (wire: WireUsage | null | undefined): typeof Response.Usage.Encoded => ({
  inputTokens: defined({
    total: int(wire?.prompt_tokens),
    cacheRead: int(wire?.prompt_tokens_details?.cached_tokens)
  }),
  outputTokens: defined({
    total: int(wire?.completion_tokens),
    reasoning: int(wire?.completion_tokens_details?.reasoning_tokens)
  })
})

/** @internal */
export const metadataPart = (
  wire: { readonly id?: string | null | undefined; readonly model?: string | null | undefined; readonly created?: number | null | undefined },
  fallbackModel: string
): Response.ResponseMetadataPartEncoded =>
  defined({
    type: "response-metadata" as const,
    id: wire.id ?? undefined,
    modelId: wire.model ?? fallbackModel,
    timestamp: typeof wire.created === "number" ? new Date(wire.created * 1000).toISOString() : undefined
  })

/** Parses tool-call arguments; `undefined` when they are not JSON. @internal */
const parseArguments = (text: string | null | undefined): Option.Option<unknown> => {
  if (text === null || text === undefined || text.trim().length === 0) return Option.some({})
  try {
    return Option.some(Tool.unsafeSecureJsonParse(text))
  } catch {
    return Option.none()
  }
}

/**
 * Metadata of a tool call whose arguments are not JSON, returned (with the raw text as `params`) when the
 * caller validates tool calls itself (`toolCallValidation: "deferred"`), so that it can answer the model
 * with an error instead of failing the request.
 *
 * @internal
 */
const MALFORMED_ARGUMENTS = { openaiCompatible: { malformedArguments: true } } as const

const toolCallPart = (
  options: { readonly method: string; readonly deferred?: boolean | undefined },
  id: string,
  name: string,
  text: string | null | undefined
): Result.Result<Response.ToolCallPartEncoded, AiError.AiError> => {
  const params = parseArguments(text)
  if (Option.isSome(params)) return Result.succeed({ type: "tool-call", id, name, params: params.value })
  if (options.deferred === true) {
    return Result.succeed({ type: "tool-call", id, name, params: text ?? "", metadata: MALFORMED_ARGUMENTS })
  }
  return Result.fail(invalidArguments(options.method, name))
}

const invalidArguments = (method: string, name: string) =>
  fail(method, new AiError.InvalidOutputError({ description: `Arguments of tool call '${name}' are not valid JSON` }))

/**
 * Translates a decoded chat completion into encoded response parts.
 *
 * @internal
 */
export const toParts = (
  completion: ChatCompletion,
  options: {
    readonly model: string
    readonly method: string
    readonly makeId: () => string
    readonly deferred?: boolean | undefined
  }
): Result.Result<Array<Response.PartEncoded>, AiError.AiError> => {
  const parts: Array<Response.PartEncoded> = [metadataPart(completion, options.model)]
  const choice = completion.choices[0]
  if (choice === undefined) {
    return Result.fail(
      fail(options.method, new AiError.InvalidOutputError({ description: "The completion has no choices" }))
    )
  }
  const message = choice.message
  const reasoning = message.reasoning_content ?? message.reasoning
  if (typeof reasoning === "string" && reasoning.length > 0) parts.push({ type: "reasoning", text: reasoning })
  if (typeof message.content === "string" && message.content.length > 0) {
    parts.push({ type: "text", text: message.content })
  }
  for (const call of message.tool_calls ?? []) {
    const part = toolCallPart(options, call.id ?? options.makeId(), call.function.name, call.function.arguments)
    if (Result.isFailure(part)) return Result.fail(part.failure)
    parts.push(part.success)
  }
  const refused = typeof message.refusal === "string" && message.refusal.length > 0
  parts.push({
    type: "finish",
    reason: refused ? "content-filter" : finishReason(choice.finish_reason),
    usage: usage(completion.usage)
  })
  return Result.succeed(parts)
}

/**
 * The parts of a whole completion as stream parts (for a server that answered a streaming request with
 * one JSON body).
 *
 * @internal
 */
export const partsToStream = (parts: ReadonlyArray<Response.PartEncoded>): Array<Response.StreamPartEncoded> => {
  const out: Array<Response.StreamPartEncoded> = []
  parts.forEach((part, i) => {
    switch (part.type) {
      case "text":
        out.push({ type: "text-start", id: `text-${i}` }, { type: "text-delta", id: `text-${i}`, delta: part.text }, {
          type: "text-end",
          id: `text-${i}`
        })
        break
      case "reasoning":
        out.push(
          { type: "reasoning-start", id: `reasoning-${i}` },
          { type: "reasoning-delta", id: `reasoning-${i}`, delta: part.text },
          { type: "reasoning-end", id: `reasoning-${i}` }
        )
        break
      default:
        out.push(part as Response.StreamPartEncoded)
    }
  })
  return out
}

// -----------------------------------------------------------------------------
// stream chunks -> stream parts
// -----------------------------------------------------------------------------

/**
 * The per-request state of a streamed completion: which blocks are open and
 * the tool calls whose arguments are still arriving.
 *
 * @internal
 */
export const makeStreamState = (options: {
  readonly model: string
  readonly method: string
  readonly makeId: () => string
  readonly deferred?: boolean | undefined
}) => {
  let metadataSent = false
  let textOpen = false
  let reasoningOpen = false
  let reason: Response.FinishReason = "unknown"
  let lastUsage: WireUsage | null | undefined = undefined
  let finished = false
  const tools = new Map<number, { id: string; name: string; args: string }>()
  const TEXT_ID = "text-0"
  const REASONING_ID = "reasoning-0"

  const onChunk = (chunk: ChatCompletionChunk): Array<Response.StreamPartEncoded> => {
    const out: Array<Response.StreamPartEncoded> = []
    if (!metadataSent) {
      metadataSent = true
      out.push(metadataPart(chunk, options.model))
    }
    if (chunk.usage) lastUsage = chunk.usage
    for (const choice of chunk.choices ?? []) {
      const delta = choice.delta
      const reasoning = delta?.reasoning_content ?? delta?.reasoning
      if (typeof reasoning === "string" && reasoning.length > 0) {
        if (!reasoningOpen) {
          reasoningOpen = true
          out.push({ type: "reasoning-start", id: REASONING_ID })
        }
        out.push({ type: "reasoning-delta", id: REASONING_ID, delta: reasoning })
      }
      if (typeof delta?.content === "string" && delta.content.length > 0) {
        if (reasoningOpen) {
          reasoningOpen = false
          out.push({ type: "reasoning-end", id: REASONING_ID })
        }
        if (!textOpen) {
          textOpen = true
          out.push({ type: "text-start", id: TEXT_ID })
        }
        out.push({ type: "text-delta", id: TEXT_ID, delta: delta.content })
      }
      for (const call of delta?.tool_calls ?? []) {
        const index = call.index ?? 0
        let entry = tools.get(index)
        if (entry === undefined) {
          entry = { id: call.id ?? options.makeId(), name: call.function?.name ?? "", args: "" }
          tools.set(index, entry)
          out.push({ type: "tool-params-start", id: entry.id, name: entry.name })
        }
        const args = call.function?.arguments
        if (typeof args === "string" && args.length > 0) {
          entry.args += args
          out.push({ type: "tool-params-delta", id: entry.id, delta: args })
        }
      }
      if (typeof choice.finish_reason === "string") reason = finishReason(choice.finish_reason)
    }
    return out
  }

  const finish = (): Result.Result<Array<Response.StreamPartEncoded>, AiError.AiError> => {
    if (finished) return Result.succeed([])
    finished = true
    const out: Array<Response.StreamPartEncoded> = []
    if (!metadataSent) out.push(metadataPart({}, options.model))
    if (reasoningOpen) out.push({ type: "reasoning-end", id: REASONING_ID })
    if (textOpen) out.push({ type: "text-end", id: TEXT_ID })
    for (const entry of tools.values()) {
      out.push({ type: "tool-params-end", id: entry.id })
      const part = toolCallPart(options, entry.id, entry.name, entry.args)
      if (Result.isFailure(part)) return Result.fail(part.failure)
      out.push(part.success)
    }
    out.push({ type: "finish", reason, usage: usage(lastUsage) })
    return Result.succeed(out)
  }

  return { onChunk, finish }
}

// -----------------------------------------------------------------------------
// HTTP failures -> AiError
// -----------------------------------------------------------------------------

/**
 * Reads the server's requested delay from `retry-after-ms` (milliseconds) or
 * `retry-after` (delta-seconds or an HTTP date, relative to `nowMillis`).
 *
 * @internal
 */
export const parseRetryAfter = (
  headers: Readonly<Record<string, string | undefined>>,
  nowMillis: number
): Duration.Duration | undefined => {
  const ms = headers["retry-after-ms"]?.trim()
  if (ms !== undefined && /^\d+(\.\d+)?$/.test(ms)) return Duration.millis(Number(ms))
  const value = headers["retry-after"]?.trim()
  if (value === undefined || value.length === 0) return undefined
  if (/^\d+(\.\d+)?$/.test(value)) return Duration.millis(Math.round(Number(value) * 1000))
  const date = Date.parse(value)
  if (Number.isNaN(date)) return undefined
  return Duration.millis(Math.max(0, date - nowMillis))
}

const MAX_BODY = 2000

/**
 * Maps a non-2xx response to an `AiError`: 429 is a retryable
 * `RateLimitError` carrying `retryAfter` (or a non-retryable
 * `QuotaExhaustedError` for `insufficient_quota`), 408 and 5xx are retryable
 * `InternalProviderError`s, 400/404/409/422 are `InvalidRequestError`s,
 * 401/403 are `AuthenticationError`s, anything else is an `UnknownError`.
 * Texts from the server are passed through `scrub`.
 *
 * @internal
 */
export const statusError = (params: {
  readonly method: string
  readonly httpMethod: string
  readonly url: string
  readonly status: number
  readonly headers: Readonly<Record<string, string | undefined>>
  readonly body: string | undefined
  readonly nowMillis: number
  readonly scrub: (text: string) => string
}): AiError.AiError => {
  const { scrub, status } = params
  const body = params.body === undefined ? undefined : scrub(params.body).slice(0, MAX_BODY)
  const decoded = params.body === undefined ? Option.none() : decodeErrorBody(params.body)
  const message = Option.isSome(decoded) && typeof decoded.value.error.message === "string"
    ? scrub(decoded.value.error.message)
    : undefined
  const rawCode = Option.isSome(decoded) ? decoded.value.error.code ?? decoded.value.error.type ?? undefined : undefined
  const code = rawCode === undefined ? undefined : scrub(String(rawCode))
  const rawRequestId = params.headers["x-request-id"]
  const requestId = rawRequestId === undefined ? undefined : scrub(rawRequestId)
  const description = [
    message ?? `HTTP ${status}`,
    `(${params.httpMethod} ${scrub(params.url)})`,
    code !== undefined ? `[code: ${code}]` : undefined,
    requestId !== undefined ? `[requestId: ${requestId}]` : undefined,
    message === undefined && body !== undefined && body.length > 0
      ? `Response: ${body.length > 200 ? body.slice(0, 200) + "..." : body}`
      : undefined
  ].filter((part) => part !== undefined).join(" ")
  const headers: Record<string, string> = {}
  for (const [key, value] of Object.entries(params.headers)) {
    if (value !== undefined) {
      headers[scrub(key)] = key === "set-cookie" || key === "authorization" ? "<redacted>" : scrub(value)
    }
  }
  const http = { response: { status, headers }, ...(body !== undefined ? { body } : {}) }
  const metadata = { openaiCompatible: { code: code ?? null, requestId: requestId ?? null } }
  let reason: AiError.AiErrorReason
  switch (status) {
    case 400:
    case 404:
    case 409:
    case 413:
    case 422:
      reason = new AiError.InvalidRequestError({ description, http, metadata })
      break
    case 401:
      reason = new AiError.AuthenticationError({ kind: "InvalidKey", description, http, metadata })
      break
    case 403:
      reason = new AiError.AuthenticationError({ kind: "InsufficientPermissions", description, http, metadata })
      break
    case 408:
      reason = new AiError.InternalProviderError({ description, http, metadata })
      break
    case 429: {
      if (code === "insufficient_quota") {
        reason = new AiError.QuotaExhaustedError({ http, metadata })
      } else {
        const retryAfter = parseRetryAfter(params.headers, params.nowMillis)
        reason = new AiError.RateLimitError({ ...(retryAfter !== undefined ? { retryAfter } : {}), http, metadata })
      }
      break
    }
    default:
      reason = status >= 500
        ? new AiError.InternalProviderError({ description, http, metadata })
        : new AiError.UnknownError({ description, http, metadata })
  }
  return fail(params.method, reason)
}

/**
 * Maps a request that never got a response (connection refused, reset,
 * invalid URL) to a retryable `NetworkError`. The original cause is dropped on
 * purpose: it holds the request, whose headers carry the credentials.
 *
 * @internal
 */
export const networkError = (params: {
  readonly method: string
  readonly httpMethod: string
  readonly url: string
  readonly kind: "TransportError" | "EncodeError" | "InvalidUrlError"
  readonly description: string | undefined
  readonly scrub: (text: string) => string
}): AiError.AiError =>
  fail(
    params.method,
    new AiError.NetworkError({
      reason: params.kind,
      method: params.httpMethod,
      url: params.scrub(params.url),
      ...(params.description !== undefined ? { description: params.scrub(params.description) } : {})
    })
  )

/** @internal */
export const invalidOutput = (method: string, description: string) =>
  fail(method, new AiError.InvalidOutputError({ description }))
