/**
 * Issue 9 item 3: the API key never leaves the provider layer, in any form. A hostile local server echoes
 * the key (raw and escaped) in every place it can: error.message, error.code, error.type, a response header
 * kept for diagnostics (x-request-id), the raw body, a streamed chunk and a successful answer.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Engine from "@troupe/core/Engine"
import * as RunEvent from "@troupe/core/RunEvent"
import * as Workflow from "@troupe/core/Workflow"
import { Cause, Effect, Exit, Inspectable, Layer, Logger, Redacted, References, Schema, Stream } from "effect"
import { LanguageModel } from "effect/ai"
import { FetchHttpClient } from "effect/http"
import * as AgentRegistry from "../src/AgentRegistry.ts"
import * as AgentTask from "../src/AgentTask.ts"
import { secretForms } from "../src/internal/openai.ts"
import * as LlmAgent from "../src/LlmAgent.ts"
import * as OpenAiCompatible from "../src/OpenAiCompatible.ts"
import { chatServer, chunk, completion, type RecordedRequest } from "./fixtures/chatServer.ts"

// A key with a quote and a backslash: its JSON-escaped form differs from the raw one.
const SECRET = "sk-\"quo\\te/+ SECRET"

const forms = secretForms(SECRET)

const leaks = (text: string): ReadonlyArray<string> =>
  [...forms, "SECRET"].filter((form) => text.includes(form))

/** Echoes the key from the request's Authorization header in every field of an error. */
const echo = (status: number) => (request: RecordedRequest) => {
  const key = String(request.headers.authorization).replace(/^Bearer /, "")
  return {
    status,
    headers: { "x-request-id": `req-${key}`, "x-echo": key, [`x-${encodeURIComponent(key)}`]: "1" },
    // JSON.stringify escapes the quote and backslash; the raw body then holds the escaped form
    text: JSON.stringify({
      error: {
        message: `bad key ${key} / ${JSON.stringify(key)} / ${encodeURIComponent(key)}`,
        code: `code-${key}`,
        type: `type-${key}`
      },
      raw: key
    })
  }
}

const modelLayer = (baseUrl: string) =>
  OpenAiCompatible.layer({ model: "m", baseUrl, apiKey: Redacted.make(SECRET) }).pipe(
    Layer.provide(FetchHttpClient.layer)
  )

describe("API keys never leak (issue 9, item 3)", () => {
  it("secretForms covers raw, JSON-escaped, double-escaped, URL-encoded and \\u-escaped forms", () => {
    expect(forms).toContain(SECRET)
    expect(forms).toContain("sk-\\\"quo\\\\te/+ SECRET")
    expect(forms).toContain(encodeURIComponent(SECRET))
    expect(forms.some((form) => form.includes("\\u0022"))).toBe(true)
    expect(forms.some((form) => form.includes("\\u005C"))).toBe(true)
  })

  it.effect("no echo of the key reaches errors, events, run state, serialised errors or logs", () => {
    const logs: Array<string> = []
    const capture = Logger.make((options) => {
      logs.push(`${Inspectable.toStringUnknown(options.message)} ${Cause.pretty(options.cause)}`)
    })
    return Effect.gen(function*() {
      const server = yield* chatServer
      // every status class, each echoing the key in message, code, type, x-request-id and the raw body
      server.script(echo(400), echo(401), echo(403), echo(429), echo(500), echo(418))
      const errors: Array<unknown> = []
      for (let i = 0; i < 6; i++) {
        errors.push(
          yield* LanguageModel.generateText({ prompt: "hi" }).pipe(
            Effect.tapCause((cause) => Effect.logError("model call failed", cause)),
            Effect.provide(modelLayer(server.baseUrl)),
            Effect.flip
          )
        )
      }
      expect(server.requests[0]!.headers.authorization).toBe(`Bearer ${SECRET}`)
      for (const error of errors) {
        const texts = [
          String(error),
          JSON.stringify(error),
          Inspectable.toStringUnknown(error),
          (error as Error).message,
          JSON.stringify((error as { reason: unknown }).reason)
        ]
        for (const text of texts) expect(leaks(text)).toEqual([])
      }
      // the diagnostics are kept, scrubbed
      const first = errors[0] as { readonly message: string; readonly reason: { readonly metadata: any; readonly http: any } }
      expect(first.message).toContain("[code: code-<redacted>]")
      expect(first.message).toContain("[requestId: req-<redacted>]")
      expect(first.reason.metadata.openaiCompatible).toEqual({ code: "code-<redacted>", requestId: "req-<redacted>" })
      expect(first.reason.http.response.headers["x-echo"]).toBe("<redacted>")

      // a successful answer and a stream that echo the key
      server.script(
        (request) => ({ json: completion(`here: ${String(request.headers.authorization)}`) }),
        (request) => ({
          sse: [chunk({ content: `stream ${String(request.headers.authorization)}` }), chunk({}, "stop"), "[DONE]"]
        })
      )
      const answer = yield* LanguageModel.generateText({ prompt: "hi" }).pipe(Effect.provide(modelLayer(server.baseUrl)))
      expect(answer.text).toBe("here: Bearer <redacted>")
      const streamed = yield* LanguageModel.streamText({ prompt: "hi" }).pipe(
        Stream.runCollect,
        Effect.provide(modelLayer(server.baseUrl))
      )
      const streamedText = streamed.map((part) => part.type === "text-delta" ? part.delta : "").join("")
      expect(streamedText).toBe("stream Bearer <redacted>")

      // through an agent task in a workflow: TaskFailed events, the run state and the encoded events
      server.script(echo(401))
      const agent = LlmAgent.make({ name: "writer", capabilities: ["documentation"], model: modelLayer(server.baseUrl) })
      const wf = Workflow.make("leaky").task("write", AgentTask.make({ description: "write", requires: ["documentation"] }))
      const events: Array<RunEvent.RunEvent> = []
      const exit = yield* Engine.run(wf, undefined, { onEvent: (event) => events.push(event) }).pipe(
        Effect.provide(AgentRegistry.layer([agent])),
        Effect.tapCause((cause) => Effect.logError("run failed", cause)),
        Effect.exit
      )
      expect(Exit.isFailure(exit)).toBe(true)
      const failed = events.find((event) => event._tag === "TaskFailed")
      expect(failed).toBeDefined()
      const encoded = events.map((event) => JSON.stringify(Schema.encodeUnknownSync(RunEvent.RunEvent)(event)))
      for (const text of [...encoded, Inspectable.toStringUnknown(events), Cause.pretty((exit as any).cause)]) {
        expect(leaks(text)).toEqual([])
      }
      const all = logs.join("\n")
      expect(all).toContain("<redacted>")
      expect(leaks(all)).toEqual([])
    }).pipe(
      Effect.scoped,
      Effect.provide(Logger.layer([capture])),
      Effect.provideService(References.MinimumLogLevel, "All")
    )
  })
})
