import { assert, describe, expect, expectTypeOf, it } from "@effect/vitest"
import { Duration, Effect, Layer, Option, Redacted, Schema } from "effect"
import { LanguageModel } from "effect/ai"
import { FetchHttpClient, type HttpClient } from "effect/http"
import * as Agent from "../src/Agent.ts"
import * as LlmAgent from "../src/LlmAgent.ts"
import * as OpenAiCompatible from "../src/OpenAiCompatible.ts"
import * as Skill from "../src/Skill.ts"
import { type ChatServer, chatServer, completion } from "./fixtures/chatServer.ts"

const SECRET = "sk-test-SECRET"

const modelLayer = (server: ChatServer) =>
  OpenAiCompatible.layer({ model: "test-model", baseUrl: server.baseUrl, apiKey: Redacted.make(SECRET) }).pipe(
    Layer.provide(FetchHttpClient.layer)
  )

const reviewSkill = Skill.make({
  name: "code-review",
  description: "Review a change for bugs and style",
  instructions: "Always check the error handling first.\nList every issue on its own line.",
  resources: ["checklist.md"]
})

const request = (overrides?: Partial<Agent.AgentRequest>): Agent.AgentRequest => ({
  taskId: "review",
  description: "Review the build output for problems",
  parameters: { strict: true, files: ["a.ts", "b.ts"] },
  dependencies: { build: { ok: false, log: "error TS2345 in a.ts" }, lint: "3 warnings" },
  skills: [reviewSkill],
  attempt: 1,
  ...overrides
})

const reviewer = LlmAgent.make({
  name: "reviewer",
  capabilities: ["code_analysis", "debugging"],
  systemPrompt: "You are a meticulous reviewer.",
  priority: 8,
  maxConcurrent: 2
})

describe("LlmAgent", () => {
  it("is an agent that needs a LanguageModel", () => {
    expect(Agent.isAgent(reviewer)).toBe(true)
    expect(reviewer.name).toBe("reviewer")
    expect(reviewer.capabilities).toEqual(["code_analysis", "debugging"])
    expect(reviewer.priority).toBe(8)
    expect(reviewer.maxConcurrent).toBe(2)
    expectTypeOf(reviewer).toEqualTypeOf<
      Agent.Agent<"code_analysis" | "debugging", LlmAgent.LlmAgentError, LanguageModel.LanguageModel>
    >()
    expect(() => LlmAgent.make({ name: "bad", capabilities: [], priority: 11 })).toThrow(RangeError)
  })

  it.effect("puts skill instructions into the system prompt and the task into the user prompt", () =>
    Effect.gen(function*() {
      const server = yield* chatServer
      server.script({ json: completion("Two problems found.", { usage: { prompt_tokens: 120, completion_tokens: 8 } }) })
      const response = yield* reviewer.run(request()).pipe(Effect.provide(modelLayer(server)))
      expect(response).toEqual({
        output: "Two problems found.",
        text: "Two problems found.",
        usage: { inputTokens: 120, outputTokens: 8, totalTokens: 128, model: "test-model" }
      })

      const [system, user] = server.requests[0]!.body.messages
      expect(system.role).toBe("system")
      expect(system.content).toContain("You are a meticulous reviewer.")
      expect(system.content).toContain("## Skill: code-review")
      expect(system.content).toContain("Review a change for bugs and style")
      expect(system.content).toContain("Always check the error handling first.\nList every issue on its own line.")
      expect(system.content).toContain("checklist.md")

      expect(user.role).toBe("user")
      expect(user.content).toContain("Review the build output for problems")
      expect(user.content).toContain(JSON.stringify({ strict: true, files: ["a.ts", "b.ts"] }, null, 2))
      expect(user.content).toContain("## build")
      expect(user.content).toContain(JSON.stringify({ ok: false, log: "error TS2345 in a.ts" }, null, 2))
      expect(user.content).toContain("## lint\n```json\n\"3 warnings\"\n```")
      expect(user.content).not.toContain("attempt")
      expect(server.requests[0]!.body.response_format).toBeUndefined()
    }))

  it.effect("uses a default system prompt naming the agent and its capabilities", () =>
    Effect.gen(function*() {
      const server = yield* chatServer
      server.script({ json: completion("ok") })
      const agent = LlmAgent.make({ name: "helper", capabilities: ["research"] })
      yield* agent.run(request({ skills: [], attempt: 2 })).pipe(Effect.provide(modelLayer(server)))
      const [system, user] = server.requests[0]!.body.messages
      expect(system.content).toContain("\"helper\"")
      expect(system.content).toContain("research")
      expect(system.content).not.toContain("# Skills")
      expect(user.content).toContain("attempt 2")
    }))

  it.effect("decodes structured output with the request's output schema", () =>
    Effect.gen(function*() {
      const Findings = Schema.Struct({
        severity: Schema.Literals(["low", "high"]),
        issues: Schema.Array(Schema.String)
      })
      const server = yield* chatServer
      server.script({ json: completion(JSON.stringify({ severity: "high", issues: ["type error in a.ts"] })) })
      const response = yield* reviewer.run(request({ outputSchema: Findings as Agent.OutputSchema })).pipe(
        Effect.provide(modelLayer(server))
      )
      expect(response.output).toEqual({ severity: "high", issues: ["type error in a.ts"] })
      const body = server.requests[0]!.body
      expect(body.response_format.type).toBe("json_schema")
      expect(body.response_format.json_schema.name).toBe("review")
      expect(Object.keys(body.response_format.json_schema.schema.properties)).toEqual(["severity", "issues"])
    }))

  it.effect("wraps a non-object output schema in { value } and unwraps the answer", () =>
    Effect.gen(function*() {
      const server = yield* chatServer
      server.script({ json: completion(JSON.stringify({ value: ["a", "b"] })) })
      const response = yield* reviewer.run(request({ outputSchema: Schema.Array(Schema.String) as Agent.OutputSchema }))
        .pipe(Effect.provide(modelLayer(server)))
      expect(response.output).toEqual(["a", "b"])
      expect(server.requests[0]!.body.response_format.json_schema.schema.properties.value.type).toBe("array")
    }))

  it.effect("an answer that does not decode is a retryable OutputDecodeError", () =>
    Effect.gen(function*() {
      const Findings = Schema.Struct({ severity: Schema.Literals(["low", "high"]) })
      const server = yield* chatServer
      server.script({ json: completion("{\"severity\": \"catastrophic\"}") })
      const error = yield* reviewer.run(request({ outputSchema: Findings as Agent.OutputSchema })).pipe(
        Effect.provide(modelLayer(server)),
        Effect.flip
      )
      assert.isTrue(LlmAgent.isOutputDecodeError(error))
      if (!LlmAgent.isOutputDecodeError(error)) return
      expect(error.agent).toBe("reviewer")
      expect(error.taskId).toBe("review")
      expect(error.responseText).toBe("{\"severity\": \"catastrophic\"}")
      expect(error.isRetryable).toBe(true)
      expect(Agent.isRetryable(error)).toBe(true)
      expect(OpenAiCompatible.isRetryable(error)).toBe(true)
      expect(error.message).toContain("does not match its schema")
    }))

  it.effect("model failures become AgentErrors that keep retryability and Retry-After", () =>
    Effect.gen(function*() {
      const server = yield* chatServer
      server.script(
        { status: 400, json: { error: { message: "unknown parameter" } } },
        { status: 429, headers: { "retry-after": "2" }, json: { error: { message: `slow down` } } },
        (recorded) => ({ status: 401, json: { error: { message: `bad key ${String(recorded.headers.authorization)}` } } })
      )
      const errors: Array<LlmAgent.LlmAgentError> = []
      for (let i = 0; i < 3; i++) {
        errors.push(yield* reviewer.run(request()).pipe(Effect.provide(modelLayer(server)), Effect.flip))
      }
      const [badRequest, rateLimited, unauthorized] = errors.map((error) => {
        assert.isTrue(Agent.isAgentError(error))
        return error as Agent.AgentError
      })
      expect(badRequest!.retryable).toBe(false)
      expect(Agent.isRetryable(badRequest)).toBe(false)
      expect(badRequest!.reason).toContain("unknown parameter")
      expect(rateLimited!.retryable).toBe(true)
      expect(rateLimited!.retryAfterMs).toBe(2000)
      expect(Option.map(Agent.retryAfter(rateLimited), Duration.toMillis)).toEqual(Option.some(2000))
      expect(OpenAiCompatible.retryAfter(rateLimited) && Duration.toMillis(OpenAiCompatible.retryAfter(rateLimited)!))
        .toBe(2000)
      expect(unauthorized!.retryable).toBe(false)
      for (const error of errors) {
        expect(JSON.stringify(error)).not.toContain(SECRET)
        expect(String(error)).not.toContain(SECRET)
      }
    }))

  it.effect("with a model layer the agent needs only what the layer needs", () =>
    Effect.gen(function*() {
      const server = yield* chatServer
      server.script({ json: completion("from my own model") })
      const agent = LlmAgent.make({
        name: "self-contained",
        capabilities: ["general_purpose"],
        model: OpenAiCompatible.model("own-model", { baseUrl: server.baseUrl })
      })
      expectTypeOf(agent.run).returns.toEqualTypeOf<
        Effect.Effect<Agent.AgentResponse, LlmAgent.LlmAgentError, HttpClient.HttpClient>
      >()
      const response = yield* agent.run(request()).pipe(Effect.provide(FetchHttpClient.layer))
      expect(response.output).toBe("from my own model")
      expect(server.requests[0]!.body.model).toBe("own-model")
    }))

  it.effect("a model layer that cannot be built is a non-retryable AgentError", () =>
    Effect.gen(function*() {
      const agent = LlmAgent.make({
        name: "misconfigured",
        capabilities: ["general_purpose"],
        model: Layer.effect(LanguageModel.LanguageModel, Effect.fail(new Error("OPENAI_MODEL is missing")))
      })
      const error = yield* agent.run(request()).pipe(Effect.flip)
      assert.isTrue(Agent.isAgentError(error))
      expect((error as Agent.AgentError).retryable).toBe(false)
      expect((error as Agent.AgentError).reason).toContain("OPENAI_MODEL is missing")
    }))
})
