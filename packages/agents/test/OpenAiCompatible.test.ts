import { assert, describe, expect, it } from "@effect/vitest"
import {
  Cause,
  ConfigProvider,
  Duration,
  Effect,
  Exit,
  Fiber,
  Inspectable,
  Layer,
  Logger,
  Redacted,
  References,
  Schedule,
  Schema,
  Stream
} from "effect"
import { AiError, LanguageModel, Tool, Toolkit } from "effect/ai"
import { FetchHttpClient } from "effect/http"
import { TestClock } from "effect/testing"
import * as OpenAiCompatible from "../src/OpenAiCompatible.ts"
import { type ChatServer, chatServer, chunk, completion } from "./fixtures/chatServer.ts"

const SECRET = "sk-test-SECRET"

const modelLayer = (server: ChatServer, options?: Partial<OpenAiCompatible.Options>) =>
  OpenAiCompatible.layer({
    model: "test-model",
    baseUrl: server.baseUrl,
    apiKey: Redacted.make(SECRET),
    ...options
  }).pipe(Layer.provide(FetchHttpClient.layer))

const reasonOf = (exit: Exit.Exit<unknown, unknown>): AiError.AiErrorReason => {
  assert.isTrue(Exit.isFailure(exit))
  const error = Exit.isFailure(exit) ? Cause.findErrorOption(exit.cause) : undefined
  assert.isTrue(error !== undefined && error._tag === "Some" && AiError.isAiError(error.value))
  return (error as { value: AiError.AiError }).value.reason
}

const Review = Schema.Struct({
  verdict: Schema.Literals(["approve", "reject"]),
  issues: Schema.Array(Schema.String),
  score: Schema.optional(Schema.Number)
})

describe("OpenAiCompatible", () => {
  describe("settings", () => {
    it("fills defaults and never shows the API key", () => {
      const settings = OpenAiCompatible.settings({ model: "m", apiKey: Redacted.make(SECRET) })
      expect(settings.baseUrl).toBe("https://api.openai.com/v1")
      expect(settings.strictJsonSchema).toBe(true)
      for (const text of [String(settings), JSON.stringify(settings), Inspectable.toStringUnknown(settings)]) {
        expect(text).not.toContain(SECRET)
        expect(text).toContain("<redacted>")
      }
    })

    it.effect("reads OPENAI_BASE_URL, OPENAI_API_KEY and OPENAI_MODEL", () =>
      Effect.gen(function*() {
        const provider = ConfigProvider.fromEnv({
          env: { OPENAI_BASE_URL: "http://localhost:11434/v1/", OPENAI_API_KEY: SECRET, OPENAI_MODEL: "llama3.2" }
        })
        const settings = yield* OpenAiCompatible.config().parse(provider)
        expect(settings.baseUrl).toBe("http://localhost:11434/v1")
        expect(settings.model).toBe("llama3.2")
        expect(settings.apiKey && Redacted.value(settings.apiKey)).toBe(SECRET)
        const defaults = yield* OpenAiCompatible.config({ model: "gpt-4o-mini" }).parse(ConfigProvider.fromEnv({ env: {} }))
        expect(defaults.baseUrl).toBe(OpenAiCompatible.DEFAULT_BASE_URL)
        expect(defaults.apiKey).toBeUndefined()
        expect(defaults.model).toBe("gpt-4o-mini")
      }))
  })

  describe("against a chat-completions server", () => {
    it.effect("generates plain text", () =>
      Effect.gen(function*() {
        const server = yield* chatServer
        server.script({ json: completion("Hello from the model", { usage: { prompt_tokens: 5, completion_tokens: 4 } }) })
        const response = yield* LanguageModel.generateText({
          prompt: [{ role: "system", content: "Be brief." }, { role: "user", content: "Say hello" }]
        }).pipe(Effect.provide(modelLayer(server, { body: { temperature: 0 } })))
        expect(response.text).toBe("Hello from the model")
        expect(response.finishReason).toBe("stop")
        expect(response.usage.inputTokens.total).toBe(5)
        expect(response.usage.outputTokens.total).toBe(4)

        expect(server.requests).toHaveLength(1)
        const request = server.requests[0]!
        expect(request.headers.authorization).toBe(`Bearer ${SECRET}`)
        expect(request.body.model).toBe("test-model")
        expect(request.body.temperature).toBe(0)
        expect(request.body.messages).toEqual([
          { role: "system", content: "Be brief." },
          { role: "user", content: "Say hello" }
        ])
        expect(request.body.response_format).toBeUndefined()
      }))

    it.effect("sends no Authorization header without an API key (Ollama, llama.cpp)", () =>
      Effect.gen(function*() {
        const server = yield* chatServer
        server.script({ json: completion("ok") })
        yield* LanguageModel.generateText({ prompt: "hi" }).pipe(
          Effect.provide(modelLayer(server, { apiKey: undefined }))
        )
        expect(server.requests[0]!.headers.authorization).toBeUndefined()
      }))

    it.effect("decodes structured output with a Schema (response_format json_schema)", () =>
      Effect.gen(function*() {
        const server = yield* chatServer
        server.script({ json: completion(JSON.stringify({ verdict: "reject", issues: ["no tests"], score: null })) })
        const response = yield* LanguageModel.generateObject({
          prompt: "Review this change",
          schema: Review,
          objectName: "code review"
        }).pipe(Effect.provide(modelLayer(server)))
        // strict mode sends optional fields as required-nullable and decodes null back to absent
        expect(response.value).toEqual({ verdict: "reject", issues: ["no tests"] })

        const format = server.requests[0]!.body.response_format
        expect(format.type).toBe("json_schema")
        expect(format.json_schema.name).toBe("code_review")
        expect(format.json_schema.strict).toBe(true)
        expect(format.json_schema.schema.type).toBe("object")
        expect(Object.keys(format.json_schema.schema.properties).sort()).toEqual(["issues", "score", "verdict"])
        expect(format.json_schema.schema.additionalProperties).toBe(false)
      }))

    it.effect("uses the plain JSON Schema when strict mode is off", () =>
      Effect.gen(function*() {
        const server = yield* chatServer
        server.script({ json: completion(JSON.stringify({ verdict: "approve", issues: [], score: 9 })) })
        const response = yield* LanguageModel.generateObject({ prompt: "Review", schema: Review }).pipe(
          Effect.provide(modelLayer(server, { strictJsonSchema: false }))
        )
        expect(response.value).toEqual({ verdict: "approve", issues: [], score: 9 })
        const format = server.requests[0]!.body.response_format
        expect(format.json_schema.strict).toBe(false)
        expect(format.json_schema.schema.required).toEqual(["verdict", "issues"])
      }))

    it.effect("json_object mode puts the schema into a system message", () =>
      Effect.gen(function*() {
        const server = yield* chatServer
        server.script({ json: completion(JSON.stringify({ verdict: "approve", issues: [] })) })
        const response = yield* LanguageModel.generateObject({ prompt: "Review", schema: Review }).pipe(
          Effect.provide(modelLayer(server, { structuredOutput: "json_object", strictJsonSchema: false }))
        )
        expect(response.value).toEqual({ verdict: "approve", issues: [] })
        const body = server.requests[0]!.body
        expect(body.response_format).toEqual({ type: "json_object" })
        expect(body.messages[0].role).toBe("system")
        expect(body.messages[0].content).toContain("\"verdict\"")
      }))

    it.effect("an answer that does not match the schema is a retryable StructuredOutputError", () =>
      Effect.gen(function*() {
        const server = yield* chatServer
        server.script({ json: completion("{\"verdict\": \"maybe\"}") })
        const exit = yield* LanguageModel.generateObject({ prompt: "Review", schema: Review }).pipe(
          Effect.provide(modelLayer(server)),
          Effect.exit
        )
        const reason = reasonOf(exit)
        expect(reason._tag).toBe("StructuredOutputError")
        expect(reason.isRetryable).toBe(true)
      }))

    it.effect("streams text over server-sent events", () =>
      Effect.gen(function*() {
        const server = yield* chatServer
        server.script({
          sse: [
            chunk({ role: "assistant", content: "" }),
            chunk({ content: "Hel" }),
            chunk({ content: "lo" }),
            chunk({}, "stop"),
            { ...chunk({}), choices: [], usage: { prompt_tokens: 3, completion_tokens: 2 } },
            "[DONE]"
          ]
        })
        const parts = yield* LanguageModel.streamText({ prompt: "hi" }).pipe(
          Stream.runCollect,
          Effect.provide(modelLayer(server))
        )
        const text = parts.flatMap((part) => part.type === "text-delta" ? [part.delta] : []).join("")
        expect(text).toBe("Hello")
        const finish = parts.find((part) => part.type === "finish")
        expect(finish?.type === "finish" && finish.reason).toBe("stop")
        expect(finish?.type === "finish" && finish.usage.outputTokens.total).toBe(2)
        expect(server.requests[0]!.body.stream).toBe(true)
      }))

    it.effect("calls function tools and sends their results back", () =>
      Effect.gen(function*() {
        const GetWeather = Tool.make("GetWeather", {
          description: "Weather of a city",
          parameters: Schema.Struct({ city: Schema.String }),
          success: Schema.Struct({ celsius: Schema.Number })
        })
        const toolkit = Toolkit.make(GetWeather)
        const handlers = toolkit.toLayer({ GetWeather: ({ city }) => Effect.succeed({ celsius: city.length }) })
        const server = yield* chatServer
        server.script({
          json: completion(null, { toolCalls: [{ id: "call_1", name: "GetWeather", arguments: "{\"city\":\"Paris\"}" }] })
        })
        const response = yield* Effect.gen(function*() {
          const tk = yield* toolkit
          return yield* LanguageModel.generateText({ prompt: "Weather in Paris?", toolkit: tk })
        }).pipe(Effect.provide([modelLayer(server), handlers]))
        expect(response.toolResults.map((result) => result.result)).toEqual([{ celsius: 5 }])
        const body = server.requests[0]!.body
        expect(body.tools[0].type).toBe("function")
        expect(body.tools[0].function.name).toBe("GetWeather")
        expect(body.tools[0].function.parameters.properties.city.type).toBe("string")
        expect(body.tool_choice).toBe("auto")

        // the next turn carries the call and its result
        server.script({ json: completion("It is 5 degrees") })
        const followUp = yield* LanguageModel.generateText({
          prompt: [
            { role: "user", content: "Weather in Paris?" },
            {
              role: "assistant",
              content: [{ type: "tool-call", id: "call_1", name: "GetWeather", params: { city: "Paris" } }]
            },
            {
              role: "tool",
              content: [{ type: "tool-result", id: "call_1", name: "GetWeather", isFailure: false, result: { celsius: 5 } }]
            }
          ]
        }).pipe(Effect.provide(modelLayer(server)))
        expect(followUp.text).toBe("It is 5 degrees")
        expect(server.requests[1]!.body.messages.slice(1)).toEqual([
          {
            role: "assistant",
            content: null,
            tool_calls: [{ id: "call_1", type: "function", function: { name: "GetWeather", arguments: "{\"city\":\"Paris\"}" } }]
          },
          { role: "tool", tool_call_id: "call_1", content: "{\"celsius\":5}" }
        ])
      }))
  })

  describe("errors", () => {
    it.effect("maps HTTP statuses to typed AiError reasons", () =>
      Effect.gen(function*() {
        const server = yield* chatServer
        const cases = [
          [400, "InvalidRequestError", false],
          [401, "AuthenticationError", false],
          [403, "AuthenticationError", false],
          [404, "InvalidRequestError", false],
          [422, "InvalidRequestError", false],
          [429, "RateLimitError", true],
          [500, "InternalProviderError", true],
          [503, "InternalProviderError", true],
          [418, "UnknownError", false]
        ] as const
        for (const [status, tag, retryable] of cases) {
          server.script({ status, json: { error: { message: `status ${status}`, type: "test" } } })
          const exit = yield* LanguageModel.generateText({ prompt: "hi" }).pipe(
            Effect.provide(modelLayer(server)),
            Effect.exit
          )
          const reason = reasonOf(exit)
          expect([status, reason._tag, reason.isRetryable]).toEqual([status, tag, retryable])
        }
        server.script({ status: 429, json: { error: { message: "quota", code: "insufficient_quota" } } })
        const quota = reasonOf(
          yield* LanguageModel.generateText({ prompt: "hi" }).pipe(Effect.provide(modelLayer(server)), Effect.exit)
        )
        expect([quota._tag, quota.isRetryable]).toEqual(["QuotaExhaustedError", false])
      }))

    it.effect("a 429 exposes Retry-After (seconds) as the error's retryAfter", () =>
      Effect.gen(function*() {
        const server = yield* chatServer
        server.script({ status: 429, headers: { "retry-after": "2" }, json: { error: { message: "slow down" } } })
        const error = yield* LanguageModel.generateText({ prompt: "hi" }).pipe(
          Effect.provide(modelLayer(server)),
          Effect.flip
        )
        expect(error.reason._tag).toBe("RateLimitError")
        expect(error.isRetryable).toBe(true)
        expect(error.retryAfter && Duration.toMillis(error.retryAfter)).toBe(2000)
        expect(OpenAiCompatible.retryAfter(error) && Duration.toMillis(OpenAiCompatible.retryAfter(error)!)).toBe(2000)
      }))

    it.live("a 429 Retry-After given as an HTTP date is relative to now", () =>
      Effect.gen(function*() {
        const server = yield* chatServer
        const at = new Date(Date.now() + 30_000).toUTCString()
        server.script({ status: 429, headers: { "retry-after": at }, json: { error: { message: "slow down" } } })
        const error = yield* LanguageModel.generateText({ prompt: "hi" }).pipe(
          Effect.provide(modelLayer(server)),
          Effect.flip
        )
        const millis = Duration.toMillis(error.retryAfter!)
        expect(millis).toBeGreaterThan(27_000)
        expect(millis).toBeLessThanOrEqual(30_000)
      }))

    it.effect("the retry policy waits as long as Retry-After asks (virtual time)", () =>
      Effect.gen(function*() {
        const server = yield* chatServer
        server.script(
          { status: 429, headers: { "retry-after": "2" }, json: { error: { message: "slow down" } } },
          { json: completion("finally") }
        )
        const fiber = yield* LanguageModel.generateText({ prompt: "hi" }).pipe(
          Effect.retry(OpenAiCompatible.retryPolicy({ times: 3, base: "100 millis" })),
          Effect.provide(modelLayer(server)),
          Effect.forkChild
        )
        yield* server.waitForRequests(1)
        yield* TestClock.adjust("1999 millis")
        // give a (wrongly) early retry real time to reach the server
        yield* TestClock.withLive(Effect.sleep("100 millis"))
        expect(server.requests).toHaveLength(1)
        yield* TestClock.adjust("1 millis")
        const response = yield* Fiber.join(fiber)
        expect(response.text).toBe("finally")
        expect(server.requests).toHaveLength(2)
      }))

    it.live("the retry policy waits for Retry-After: 1 in real time", () =>
      Effect.gen(function*() {
        const server = yield* chatServer
        server.script(
          { status: 429, headers: { "retry-after": "1" }, json: { error: { message: "slow down" } } },
          { json: completion("after a second") }
        )
        const response = yield* LanguageModel.generateText({ prompt: "hi" }).pipe(
          Effect.retry(OpenAiCompatible.retryPolicy({ base: "10 millis" })),
          Effect.provide(modelLayer(server))
        )
        expect(response.text).toBe("after a second")
        expect(server.requests).toHaveLength(2)
        const waited = server.requests[1]!.receivedAt - server.requests[0]!.receivedAt
        expect(waited).toBeGreaterThanOrEqual(950)
        expect(waited).toBeLessThan(5000)
      }))

    it.live("a 500 is retried and the retry succeeds", () =>
      Effect.gen(function*() {
        const server = yield* chatServer
        server.script(
          { status: 500, json: { error: { message: "boom" } } },
          { status: 503, text: "unavailable" },
          { json: completion("recovered") }
        )
        const response = yield* LanguageModel.generateText({ prompt: "hi" }).pipe(
          Effect.retry(OpenAiCompatible.retryPolicy({ base: "10 millis" })),
          Effect.provide(modelLayer(server))
        )
        expect(response.text).toBe("recovered")
        expect(server.requests).toHaveLength(3)
      }))

    it.live("a 400 is not retried: the server sees exactly one request", () =>
      Effect.gen(function*() {
        const server = yield* chatServer
        server.script(
          { status: 400, json: { error: { message: "bad parameter", param: "model" } } },
          { json: completion("must not be reached") }
        )
        const error = yield* LanguageModel.generateText({ prompt: "hi" }).pipe(
          Effect.retry(OpenAiCompatible.retryPolicy({ base: "10 millis" })),
          Effect.provide(modelLayer(server)),
          Effect.flip
        )
        expect(error.reason._tag).toBe("InvalidRequestError")
        expect(error.message).toContain("bad parameter")
        expect(server.requests).toHaveLength(1)
      }))

    it.live("a slow response hits the timeout and the request is aborted", () =>
      Effect.gen(function*() {
        const server = yield* chatServer
        server.script({ delayMs: 10_000, json: completion("too late") })
        const exit = yield* LanguageModel.generateText({ prompt: "hi" }).pipe(
          Effect.timeout("200 millis"),
          Effect.provide(modelLayer(server)),
          Effect.exit
        )
        assert.isTrue(Exit.isFailure(exit))
        const error = Exit.isFailure(exit) ? Cause.findErrorOption(exit.cause) : undefined
        expect(error?._tag === "Some" && Cause.isTimeoutError(error.value)).toBe(true)
        yield* server.waitForAbort(0).pipe(Effect.timeout("3 seconds"))
        expect(server.requests[0]!.aborted).toBe(true)
      }))

    it.live("a refused connection is a retryable NetworkError", () =>
      Effect.gen(function*() {
        const baseUrl = yield* Effect.scoped(Effect.map(chatServer, (server) => server.baseUrl))
        const error = yield* LanguageModel.generateText({ prompt: "hi" }).pipe(
          Effect.provide(
            OpenAiCompatible.layer({ model: "m", baseUrl, apiKey: Redacted.make(SECRET) }).pipe(
              Layer.provide(FetchHttpClient.layer)
            )
          ),
          Effect.flip
        )
        expect(error.reason._tag).toBe("NetworkError")
        expect(error.isRetryable).toBe(true)
        expect(JSON.stringify(error)).not.toContain(SECRET)
        expect(String(error)).not.toContain(SECRET)
      }))
  })

  describe("secrets", () => {
    const logs: Array<string> = []
    const capture = Logger.make((options) => {
      logs.push(`${Inspectable.toStringUnknown(options.message)} ${Cause.pretty(options.cause)}`)
    })
    it.effect("the API key appears in no error, JSON or log output", () =>
      Effect.gen(function*() {
        const server = yield* chatServer
        // a careless server that echoes the Authorization header in its error bodies and headers
        const echo = (status: number) => (request: { readonly headers: Record<string, unknown> }) => ({
          status,
          headers: { "x-echo": String(request.headers.authorization) },
          json: { error: { message: `bad key: ${String(request.headers.authorization)}` } }
        })
        server.script(echo(401), (request) => ({ status: 500, text: `internal: ${String(request.headers.authorization)}` }))
        server.script(echo(429))
        const settings = OpenAiCompatible.settings({ model: "m", baseUrl: server.baseUrl, apiKey: Redacted.make(SECRET) })
        const errors: Array<unknown> = []
        for (let i = 0; i < 3; i++) {
          const error = yield* LanguageModel.generateText({ prompt: "hi" }).pipe(
            Effect.tapCause((cause) => Effect.logError("model call failed", cause)),
            Effect.tapError((error) => Effect.logWarning(error)),
            Effect.provide(OpenAiCompatible.layer(settings).pipe(Layer.provide(FetchHttpClient.layer))),
            Effect.flip
          )
          errors.push(error)
        }
        yield* Effect.logDebug("settings", settings)
        yield* Effect.logInfo({ settings })

        expect(server.requests.map((request) => request.headers.authorization)).toEqual(
          Array(3).fill(`Bearer ${SECRET}`)
        )
        for (const error of errors) {
          for (const text of [String(error), JSON.stringify(error), Inspectable.toStringUnknown(error), (error as Error).message]) {
            expect(text).not.toContain(SECRET)
          }
        }
        expect((errors[0] as AiError.AiError).message).toContain("bad key: Bearer <redacted>")
        expect(logs.length).toBeGreaterThanOrEqual(8)
        const all = logs.join("\n")
        expect(all).toContain("model call failed")
        expect(all).toContain("<redacted>")
        expect(all).not.toContain(SECRET)
      }).pipe(
        Effect.provide(Logger.layer([capture])),
        Effect.provideService(References.MinimumLogLevel, "All")
      ))
  })

  describe("retryAfterAware", () => {
    it.effect("delays by the larger of the schedule's delay and the error's retryAfter", () =>
      Effect.gen(function*() {
        const step = yield* Schedule.toStep(OpenAiCompatible.retryAfterAware(Schedule.spaced("1 second")))
        const rateLimited = AiError.make({
          module: "test",
          method: "test",
          reason: new AiError.RateLimitError({ retryAfter: Duration.seconds(5) })
        })
        const [, long] = yield* step(0, rateLimited)
        expect(Duration.toMillis(long)).toBe(5000)
        const [, short] = yield* step(0, new Error("no hint"))
        expect(Duration.toMillis(short)).toBe(1000)
      }))

    it.effect("retryPolicy stops at non-retryable errors and after `times` retries", () =>
      Effect.gen(function*() {
        let calls = 0
        const failing = (retryable: boolean) =>
          Effect.suspend(() => {
            calls++
            return Effect.fail({ isRetryable: retryable })
          })
        yield* failing(false).pipe(Effect.retry(OpenAiCompatible.retryPolicy({ times: 5 })), Effect.ignore)
        expect(calls).toBe(1)
        calls = 0
        const fiber = yield* failing(true).pipe(
          Effect.retry(OpenAiCompatible.retryPolicy({ times: 2, base: "1 second" })),
          Effect.ignore,
          Effect.forkChild
        )
        yield* TestClock.adjust("1 minute")
        yield* Fiber.join(fiber)
        expect(calls).toBe(3)
      }))
  })
})
