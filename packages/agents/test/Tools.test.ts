/**
 * Tool-using agents against the local chat-completions server (127.0.0.1): the tool-calling protocol
 * (definitions, calls, results, parallel calls), typed errors returned to the model (malformed arguments,
 * unknown tool names, arguments failing their Schema, handler errors), fatal tool errors, the step limit,
 * and the ToolCalled / AgentUsage events of a workflow run.
 */
import { assert, describe, expect, it } from "@effect/vitest"
import * as Engine from "@troupe/core/Engine"
import type * as RunEvent from "@troupe/core/RunEvent"
import * as RunMetrics from "@troupe/core/RunMetrics"
import * as Plan from "@troupe/core/Plan"
import * as Task from "@troupe/core/Task"
import * as Workflow from "@troupe/core/Workflow"
import { Effect, Exit, Layer, Redacted, Schema } from "effect"
import { Tool } from "effect/ai"
import { FetchHttpClient } from "effect/http"
import type * as Agent from "../src/Agent.ts"
import * as AgentRegistry from "../src/AgentRegistry.ts"
import * as AgentTask from "../src/AgentTask.ts"
import * as LlmAgent from "../src/LlmAgent.ts"
import * as OpenAiCompatible from "../src/OpenAiCompatible.ts"
import * as Tools from "../src/Tools.ts"
import { type ChatServer, chatServer, chunk, completion } from "./fixtures/chatServer.ts"

const usageChunk = (prompt_tokens: number, completion_tokens: number) => ({
  id: "chatcmpl-test",
  object: "chat.completion.chunk",
  created: 1_700_000_000,
  model: "test-model",
  choices: [],
  usage: { prompt_tokens, completion_tokens, total_tokens: prompt_tokens + completion_tokens }
})

const modelLayer = (server: ChatServer) =>
  OpenAiCompatible.layer({ model: "test-model", baseUrl: server.baseUrl, apiKey: Redacted.make("sk-x") }).pipe(
    Layer.provide(FetchHttpClient.layer)
  )

class Closed extends Schema.TaggedError<Closed>()("Closed", { city: Schema.String }) {}

const Weather = Tool.make("weather", {
  description: "Today's temperature in a city",
  parameters: Schema.Struct({ city: Schema.String, days: Schema.optional(Schema.Int) }),
  success: Schema.Struct({ celsius: Schema.Number })
})
const weatherCalls: Array<string> = []
const weather = Tools.make(Weather, ({ city }): Effect.Effect<{ readonly celsius: number }, Closed | Tools.Fatal> =>
  city === "Atlantis"
    ? Effect.fail(new Closed({ city }))
    : city === "Mordor"
    ? Effect.fail(Tools.fatal("the weather service refuses Mordor"))
    : Effect.sync(() => {
      weatherCalls.push(city)
      return { celsius: city.length }
    }))

const Clock = Tool.make("clock", { description: "The time", success: Schema.String })
const clock = Tools.make(Clock, () => Effect.succeed("12:00"))

const tools = Tools.merge(weather, clock)

const request = (overrides?: Partial<Agent.AgentRequest>): Agent.AgentRequest => ({
  taskId: "forecast",
  description: "What is the weather?",
  parameters: {},
  dependencies: {},
  skills: [],
  attempt: 1,
  ...overrides
})

const call = (id: string, name: string, args: string) => ({ id, name, arguments: args })

describe("Tools and the tool-calling loop", () => {
  it.effect("runs parallel tool calls, sends the results back and returns the final answer", () =>
    Effect.gen(function*() {
      weatherCalls.length = 0
      const server = yield* chatServer
      server.script(
        { json: completion(null, { toolCalls: [call("c1", "weather", "{\"city\":\"Paris\"}"), call("c2", "weather", "{\"city\":\"Rome\"}"), call("c3", "clock", "")] }) },
        { json: completion("Paris 5, Rome 4 at 12:00", { usage: { prompt_tokens: 30, completion_tokens: 9 } }) }
      )
      const agent = LlmAgent.make({ name: "forecaster", capabilities: ["research"], tools, model: modelLayer(server) })
      const response = yield* agent.run(request())
      expect(response.output).toBe("Paris 5, Rome 4 at 12:00")
      expect(response.usage).toMatchObject({ inputTokens: 41, outputTokens: 16 })
      expect(weatherCalls.sort()).toEqual(["Paris", "Rome"])
      // tool definitions on the wire
      const first = server.requests[0]!.body
      expect(first.tools.map((t: any) => t.function.name)).toEqual(["weather", "clock"])
      expect(first.tools[0].function.parameters.properties.city.type).toBe("string")
      expect(first.tools[0].function.description).toBe("Today's temperature in a city")
      // calls and results in the second request, in the model's order
      const messages = server.requests[1]!.body.messages
      expect(messages.at(-4).tool_calls.map((c: any) => c.id)).toEqual(["c1", "c2", "c3"])
      expect(messages.slice(-3)).toEqual([
        { role: "tool", tool_call_id: "c1", content: "{\"celsius\":5}" },
        { role: "tool", tool_call_id: "c2", content: "{\"celsius\":4}" },
        { role: "tool", tool_call_id: "c3", content: "12:00" }
      ])
    }))

  it.effect("answers malformed arguments, unknown tools, invalid arguments and handler errors with typed errors", () =>
    Effect.gen(function*() {
      const server = yield* chatServer
      server.script(
        {
          json: completion(null, {
            toolCalls: [
              call("m", "weather", "{\"city\": Paris"), // not JSON
              call("u", "teleport", "{}"), // no such tool
              call("i", "weather", "{\"city\": 42}"), // fails the Schema
              call("h", "weather", "{\"city\":\"Atlantis\"}") // the handler fails (not fatal)
            ]
          })
        },
        { json: completion("I could not get the weather.") }
      )
      const agent = LlmAgent.make({ name: "forecaster", capabilities: ["research"], tools, model: modelLayer(server) })
      const response = yield* agent.run(request())
      expect(response.output).toBe("I could not get the weather.")
      const results = server.requests[1]!.body.messages.slice(-4).map((m: any) => [m.tool_call_id, JSON.parse(m.content).error])
      expect(results[0]).toEqual(["m", expect.objectContaining({ _tag: "MalformedToolArguments", tool: "weather", text: "{\"city\": Paris" })])
      expect(results[1]).toEqual(["u", expect.objectContaining({ _tag: "UnknownTool", tool: "teleport", available: ["weather", "clock"] })])
      expect(results[2][0]).toBe("i")
      expect(results[2][1]).toMatchObject({ _tag: "InvalidToolArguments", tool: "weather" })
      expect(results[2][1].message).toContain("city")
      expect(results[3]).toEqual(["h", expect.objectContaining({ _tag: "Closed", city: "Atlantis" })])
    }))

  it.effect("a fatal tool error fails the agent with ToolFailed; the step limit is a typed error", () =>
    Effect.gen(function*() {
      const server = yield* chatServer
      server.script({ json: completion(null, { toolCalls: [call("f", "weather", "{\"city\":\"Mordor\"}")] }) })
      const agent = LlmAgent.make({ name: "forecaster", capabilities: ["research"], tools, model: modelLayer(server) })
      const fatal = yield* Effect.flip(agent.run(request()))
      assert.strictEqual(fatal._tag, "ToolFailed")
      expect(fatal.message).toContain("the weather service refuses Mordor")

      const looping = LlmAgent.make({ name: "looper", capabilities: ["research"], tools, maxSteps: 2, model: modelLayer(server) })
      server.script(
        { json: completion(null, { toolCalls: [call("a", "clock", "")] }) },
        { json: completion(null, { toolCalls: [call("b", "clock", "")] }) }
      )
      const limit = yield* Effect.flip(looping.run(request()))
      assert.strictEqual(limit._tag, "StepLimitReached")
      expect(limit).toMatchObject({ agent: "looper", taskId: "forecast", maxSteps: 2, toolCalls: ["clock", "clock"] })
      expect(() => LlmAgent.make({ name: "bad", capabilities: [], tools, maxSteps: 0 })).toThrow(/maxSteps/)
    }))

  it.effect("structured output after tools is decoded from the final answer", () =>
    Effect.gen(function*() {
      const server = yield* chatServer
      server.script(
        { json: completion(null, { toolCalls: [call("c", "clock", "")] }) },
        { json: completion("```json\n{\"time\":\"12:00\"}\n```") }
      )
      const agent = LlmAgent.make({ name: "forecaster", capabilities: ["research"], tools, model: modelLayer(server) })
      const response = yield* agent.run(request({ outputSchema: Schema.Struct({ time: Schema.String }) }))
      expect(response.output).toEqual({ time: "12:00" })
    }))

  it.effect("in a workflow: each tool call is a ToolCalled event, usage is an AgentUsage event, both in the metrics", () =>
    Effect.gen(function*() {
      const server = yield* chatServer
      // in a task the agent streams (SSE), tool-call arguments arriving in pieces
      server.script(
        {
          sse: [
            chunk({ tool_calls: [{ index: 0, id: "c1", function: { name: "weather", arguments: "{\"city\":" } }] }),
            chunk({ tool_calls: [{ index: 0, function: { arguments: "\"Oslo\"}" } }] }),
            chunk({ tool_calls: [{ index: 1, id: "c2", function: { name: "teleport", arguments: "{}" } }] }),
            chunk({}, "tool_calls"),
            usageChunk(11, 7),
            "[DONE]"
          ]
        },
        {
          sse: [chunk({ content: "Oslo is " }), chunk({ content: "4 degrees" }), chunk({}, "stop"), usageChunk(50, 5), "[DONE]"]
        }
      )
      const agent = LlmAgent.make({ name: "forecaster", capabilities: ["research"], tools, model: modelLayer(server) })
      const wf = Workflow.make("weather").task("forecast", AgentTask.make({ description: "Weather in Oslo?", requires: ["research"] }))
      const events: Array<RunEvent.RunEvent> = []
      const result = yield* Engine.run(wf, undefined, { onEvent: (event) => events.push(event) }).pipe(
        Effect.provide(AgentRegistry.layer([agent]))
      )
      expect(result.outputs.forecast).toBe("Oslo is 4 degrees")
      const calls = events.filter((e): e is RunEvent.Of<"ToolCalled"> => e._tag === "ToolCalled")
      expect(calls.map((e) => [e.taskId, e.agent, e.tool, e.callId, e.outcome])).toEqual(
        expect.arrayContaining([
          ["forecast", "forecaster", "weather", "c1", "success"],
          ["forecast", "forecaster", "teleport", "c2", "error"]
        ])
      )
      expect(calls.find((e) => e.callId === "c1")!.arguments).toEqual({ city: "Oslo" })
      expect(calls.find((e) => e.callId === "c2")!.message).toContain("There is no tool \"teleport\"")
      const usage = events.filter((e) => e._tag === "AgentUsage")
      expect(usage).toHaveLength(2)
      expect(server.requests[0]!.body.stream).toBe(true)
      const text = events.filter((e): e is RunEvent.Of<"AgentText"> => e._tag === "AgentText")
      expect(text.map((e) => e.delta).join("")).toBe("Oslo is 4 degrees")
      expect(text.at(-1)!.text).toBe("Oslo is 4 degrees")
      const metrics = RunMetrics.fromEvents(Plan.fromWorkflow(wf), events, {
        prices: { "test-model": { inputPerMillion: 1_000_000, outputPerMillion: 2_000_000 } }
      })
      expect(metrics.tasks[0]!.usage).toMatchObject({ calls: 2, inputTokens: 61, outputTokens: 12, costUsd: 61 + 24 })
      expect(metrics.usage!.byAgent[0]).toMatchObject({ agent: "forecaster", calls: 2 })
      expect(metrics.tasks[0]!.tools).toMatchObject({ calls: 2, failed: 1, byTool: { weather: 1, teleport: 1 } })
    }))

  it.effect("streamed tool calls with malformed arguments are answered with a typed error too", () =>
    Effect.gen(function*() {
      const server = yield* chatServer
      server.script(
        {
          sse: [
            chunk({ tool_calls: [{ index: 0, id: "m", function: { name: "weather", arguments: "{\"city\": Par" } }] }),
            chunk({ tool_calls: [{ index: 0, function: { arguments: "is" } }] }),
            chunk({}, "tool_calls"),
            "[DONE]"
          ]
        },
        { sse: [chunk({ content: "Sorry." }), chunk({}, "stop"), "[DONE]"] }
      )
      const agent = LlmAgent.make({ name: "forecaster", capabilities: ["research"], tools, model: modelLayer(server) })
      const texts: Array<string> = []
      const hooks: Agent.AgentHooks = {
        beforeModelCall: Effect.void,
        modelCalled: () => Effect.void,
        toolCalled: () => Effect.void,
        text: (delta) => Effect.sync(() => texts.push(delta))
      }
      const response = yield* agent.run(request({ hooks }))
      expect(response.output).toBe("Sorry.")
      expect(texts.join("")).toBe("Sorry.")
      const error = JSON.parse(server.requests[1]!.body.messages.at(-1).content).error
      expect(error).toMatchObject({ _tag: "MalformedToolArguments", tool: "weather", text: "{\"city\": Paris" })
    }))

  it.effect("a workflow is a tool: its input Schema is the tool's parameters", () =>
    Effect.gen(function*() {
      const Input = Schema.Struct({ a: Schema.Number, b: Schema.Number })
      const adder = Workflow.make<"adder", typeof Input.Type>("adder")
        .task("sum", ({ input }: { readonly input: typeof Input.Type }) => Effect.succeed(input.a + input.b))
      const add = Tools.fromWorkflow(adder, { name: "add", description: "Adds two numbers", parameters: Input })
      const server = yield* chatServer
      server.script(
        { json: completion(null, { toolCalls: [call("s", "add", "{\"a\":2,\"b\":3}"), call("t", "add", "{\"a\":\"x\"}")] }) },
        { json: completion("5") }
      )
      const agent = LlmAgent.make({ name: "calc", capabilities: ["research"], tools: add, model: modelLayer(server) })
      const response = yield* agent.run(request())
      expect(response.output).toBe("5")
      const body = server.requests[0]!.body
      expect(body.tools[0].function).toMatchObject({ name: "add", description: "Adds two numbers" })
      expect(Object.keys(body.tools[0].function.parameters.properties)).toEqual(["a", "b"])
      const [sum, bad] = server.requests[1]!.body.messages.slice(-2).map((m: any) => JSON.parse(m.content))
      expect(sum).toEqual({ sum: 5 })
      expect(bad.error._tag).toBe("InvalidToolArguments")
      const exit = yield* Effect.exit(agent.run(request()))
      expect(Exit.isFailure(exit)).toBe(true) // no scripted reply left: a typed model failure, not a crash
    }))

  it.effect("a task is a tool: it runs alone with the arguments as its input", () =>
    Effect.gen(function*() {
      const Input = Schema.Struct({ text: Schema.String })
      const shout = Task.make(
        { description: "Upper-cases a text" },
        ({ input }: { readonly input: typeof Input.Type }) => Effect.succeed(input.text.toUpperCase())
      )
      const kit = yield* Tools.resolve(Tools.fromTask(shout, { name: "shout", parameters: Input }))
      expect(Tool.getDescription(kit.tools.shout as Tool.Any)).toBe("Upper-cases a text")
      const outcome = yield* Tools.run(kit, { id: "1", name: "shout", params: { text: "hi" } })
      expect(outcome.result).toBe("HI")
      const bad = yield* Tools.run(kit, { id: "2", name: "shout", params: { text: 1 } })
      expect((bad.result as any).error._tag).toBe("InvalidToolArguments")
    }))
})
