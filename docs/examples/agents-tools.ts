/**
 * docs/agents.md, "Tools, budgets and streaming": a tool-using LLM agent in a workflow.
 *
 * The agent has one typed tool (`weather`); the run has a token budget; the events show each tool call
 * and the tokens used, and RunMetrics prices them. The model here is a scripted stand-in (it asks for the
 * tool, then answers from the tool's result) so the example runs offline; swap `ScriptedModel` for
 * `OpenAiCompatible.layerConfig({ model: "gpt-4o-mini" })` to use a real one.
 */
import { AgentRegistry, AgentTask, Budget, LlmAgent, Tools } from "@troupe/agents"
import { Engine, Plan, type RunEvent, RunMetrics, Workflow } from "@troupe/core"
import { Effect, Layer, Schema, Stream } from "effect"
import { LanguageModel, type Prompt, type Response, Tool } from "effect/ai"

// A typed tool: parameters and result are Schemas, the handler an Effect.
export const Weather = Tool.make("weather", {
  description: "Today's weather in a city",
  parameters: Schema.Struct({ city: Schema.String }),
  success: Schema.Struct({ city: Schema.String, celsius: Schema.Number, sky: Schema.String })
})
export const weather = Tools.make(Weather, ({ city }) => Effect.succeed({ city, celsius: 21, sky: "sunny" }))

// An agent that may call it (up to 4 model calls per task).
export const forecaster = LlmAgent.make({
  name: "forecaster",
  capabilities: ["research"],
  systemPrompt: "You answer weather questions. Use the weather tool.",
  tools: weather,
  maxSteps: 4
})

// A workflow in which the agent answers with what the task before it found.
export const trip = Workflow.make("trip")
  .task("city", () => Effect.succeed("Lisbon"))
  .task(
    "forecast",
    { dependsOn: ["city"] },
    AgentTask.make({ description: "What is the weather in the city?", requires: ["research"], budget: { tokens: 5_000 } })
  )

// ---------------------------------------------------------------------------------------------------------
// A scripted stand-in for a model: calls the tool once, then answers from its result.
// ---------------------------------------------------------------------------------------------------------

const script = (prompt: Prompt.Prompt): Array<Response.PartEncoded> => [
  { type: "response-metadata", modelId: "scripted" },
  ...answer(prompt)
]

const answer = (prompt: Prompt.Prompt): Array<Response.PartEncoded> => {
  const usage = { inputTokens: { total: 120 }, outputTokens: { total: 15 } }
  const last = prompt.content.at(-1)
  if (last?.role === "tool") {
    const result = last.content[0]?.type === "tool-result" ? last.content[0].result as { city: string; celsius: number; sky: string } : undefined
    const text = `${result?.city}: ${result?.celsius} °C and ${result?.sky}.`
    return [{ type: "text", text }, { type: "finish", reason: "stop", usage }]
  }
  return [
    { type: "tool-call", id: "call-1", name: "weather", params: { city: "Lisbon" } },
    { type: "finish", reason: "tool-calls", usage }
  ]
}

const toStream = (parts: Array<Response.PartEncoded>): Array<Response.StreamPartEncoded> =>
  parts.flatMap((part): Array<Response.StreamPartEncoded> =>
    part.type === "text"
      ? [{ type: "text-start", id: "t" }, { type: "text-delta", id: "t", delta: part.text }, { type: "text-end", id: "t" }]
      : [part as Response.StreamPartEncoded]
  )

export const ScriptedModel = Layer.effect(
  LanguageModel.LanguageModel,
  LanguageModel.make({
    generateText: (options) => Effect.sync(() => script(options.prompt)),
    streamText: (options) => Stream.fromIterable(toStream(script(options.prompt)))
  })
)

// ---------------------------------------------------------------------------------------------------------
// Running it
// ---------------------------------------------------------------------------------------------------------

export const prices: RunMetrics.PriceTable = { "scripted": { inputPerMillion: 0.15, outputPerMillion: 0.6 } }

export const program = Effect.gen(function*() {
  const events: Array<RunEvent.RunEvent> = []
  const result = yield* Engine.run(trip, undefined, { onEvent: (event) => events.push(event) }).pipe(
    Effect.provide(AgentRegistry.layer([forecaster])),
    Effect.provide(ScriptedModel),
    Effect.provide(Budget.layer({ name: "demo", tokens: 50_000 }))
  )
  const metrics = RunMetrics.fromEvents(Plan.fromWorkflow(trip), events, { prices })
  return {
    answer: result.outputs.forecast,
    toolCalls: events.flatMap((e) => e._tag === "ToolCalled" ? [`${e.tool}(${JSON.stringify(e.arguments)}): ${e.outcome}`] : []),
    tokens: metrics.usage?.total.totalTokens,
    costUsd: metrics.usage?.total.costUsd
  }
})
