import { describe, expect, it } from "@effect/vitest"
import { AgentRegistry, OpenAiCompatible } from "@troupe/agents"
import { Engine, Plan } from "@troupe/core"
import { ConfigProvider, Effect, Fiber, Layer } from "effect"
import { TestClock, TestConsole } from "effect/testing"
import { FetchHttpClient } from "effect/http"
import { chatServer, completion } from "../../packages/agents/test/fixtures/chatServer.ts"
import { Finding, layer, llmAgents, main, offlineLayer, research } from "../src/research.ts"

describe("research", () => {
  it.effect("runs the multi-agent research workflow offline with scripted agents", () =>
    Effect.gen(function*() {
      const fiber = yield* main("WebAssembly").pipe(Effect.provide(offlineLayer), Effect.forkChild)
      yield* TestClock.adjust("200 millis")
      const outputs = yield* Fiber.join(fiber)

      expect(outputs.plan.questions).toEqual([
        "What is WebAssembly?",
        "Who uses WebAssembly today, and for what?",
        "What are the risks of adopting WebAssembly?"
      ])
      expect(outputs.search_2).toEqual({
        question: "Who uses WebAssembly today, and for what?",
        answer: "Notes on \"Who uses WebAssembly today, and for what?\" (from the offline corpus).",
        sources: ["https://example.org/who-uses-webassembly-today-and-for-what"]
      })
      expect(outputs.assess.transcript.map((t) => `${t.round}:${t.side}:${t.agent}`)).toEqual([
        "1:pro:advocate",
        "1:con:critic",
        "2:pro:advocate",
        "2:con:critic"
      ])
      expect(outputs.assess.transcript[3]!.argument).toBe(
        "Round 2: after 3 arguments, the evidence on WebAssembly is still preliminary."
      )
      expect(outputs.assess.winner).toBe("pro")
      expect(outputs.assess.winnerAgent).toBe("advocate")
      expect(outputs.report.title).toBe("Research report: WebAssembly")
      expect(outputs.report.summary).toBe("3 questions researched with 3 sources; the pro side won the debate.")
      expect(outputs.report.recommendation).toBe("Adopt WebAssembly.")
      expect(outputs.report.sections.map((s) => s.heading)).toEqual([...outputs.plan.questions, "Assessment"])
      expect(outputs.report.sections[3]!.body).toBe("3 independent sources over 4 arguments: the case holds.")

      const lines = yield* TestConsole.logLines
      expect(String(lines[0]).split("\n")[0]).toBe("# Research report: WebAssembly")
      expect(String(lines[1])).toMatch(/^\n\(debate won by the advocate; \d+ ms\)$/)
    }))

  it.effect("the three searches run in parallel on the two researchers", () =>
    Effect.gen(function*() {
      const fiber = yield* Engine.run(research, { topic: "Rust" }).pipe(Effect.provide(offlineLayer), Effect.forkChild)
      yield* TestClock.adjust("200 millis")
      const result = yield* Fiber.join(fiber)
      const timing = (id: string) => {
        const task = result.state.tasks.find((t) => t.id === id)!
        return [task.startedAt, task.finishedAt]
      }
      expect(["search_1", "search_2", "search_3"].map(timing)).toEqual([[0, 200], [0, 200], [0, 200]])
      expect(result.durationMs).toBe(200)
      const plan = Plan.fromWorkflow(research)
      expect(plan.nodes.find((n) => n.id === "report")!.skills).toEqual(["report-style"])
      expect(plan.nodes.find((n) => n.id === "search_1")!.capabilities).toEqual(["research"])
    }))

  const plannerOf = (env: Record<string, string>) =>
    Effect.gen(function*() {
      const context = yield* Layer.build(layer.pipe(Layer.provide(ConfigProvider.layer(ConfigProvider.fromEnvRecord(env)))))
      const agents = yield* AgentRegistry.AgentRegistry.pipe(Effect.provideContext(context), Effect.flatMap((r) => r.agents))
      return agents.find((a) => a.name === "planner")?.description
    })

  it.effect("uses the scripted agents unless OPENAI_BASE_URL is set, then LLM agents", () =>
    Effect.gen(function*() {
      expect(yield* plannerOf({})).toBe("offline: scripted planner")
      expect(yield* plannerOf({ OPENAI_BASE_URL: "http://127.0.0.1:9/v1" })).toBe("LLM planner")
    }))
})

describe("research with tools", () => {
  it.effect("an LLM researcher searches the notes with its tool before it answers (local chat server)", () =>
    Effect.gen(function*() {
      const server = yield* chatServer
      server.script(
        { json: completion(null, { toolCalls: [{ id: "s1", name: "search_notes", arguments: "{\"query\":\"WebAssembly risks\"}" }] }) },
        {
          json: completion(JSON.stringify({
            question: "What are the risks?",
            answer: "Tooling maturity.",
            sources: ["https://example.org/wasm-risks"]
          }))
        }
      )
      const researcher = llmAgents.find((agent) => agent.name === "researcher-1")!
      const response = yield* researcher.run({
        taskId: "search_3",
        description: "Answer the question",
        parameters: { question: "What are the risks?" },
        dependencies: {},
        skills: [],
        attempt: 1,
        outputSchema: Finding
      }).pipe(
        Effect.provide(
          OpenAiCompatible.layer({ model: "m", baseUrl: server.baseUrl }).pipe(Layer.provide(FetchHttpClient.layer))
        )
      )
      expect(response.output).toEqual({
        question: "What are the risks?",
        answer: "Tooling maturity.",
        sources: ["https://example.org/wasm-risks"]
      })
      expect(server.requests[0]!.body.tools[0].function.name).toBe("search_notes")
      const toolResult = JSON.parse(server.requests[1]!.body.messages.at(-1).content)
      expect(toolResult[0].url).toBe("https://example.org/wasm-risks")
    }).pipe(Effect.scoped))
})
