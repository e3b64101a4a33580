/**
 * A multi-agent research workflow: agents routed by capability, a debate between agents, a skill, and
 * the same workflow offline (scripted function agents) or with real language models.
 *
 * ```text
 *          ┌─ search_1 ─┐
 *   plan ──┼─ search_2 ─┼── assess (debate: advocate vs critic, judged) ── report
 *          └─ search_3 ─┘
 * ```
 *
 * - `plan`: the `planner` agent splits the topic (the workflow input) into three questions;
 * - `search_1..3`: three research tasks, routed by the `research` capability to two researcher agents
 *   (each runs at most two tasks at once), in parallel; each returns a `Finding`. They retry retryable
 *   agent failures (rate limits wait their Retry-After) and share per-agent circuit breakers;
 * - `assess`: a debate pattern: the `advocate` argues that the findings support the topic, the `critic`
 *   argues against, for two rounds; the `judge` decides;
 * - `report`: routed by the `documentation` capability to the `writer`, with the `report-style` skill
 *   (SKILL.md, embedded here) loaded; returns a `Report`.
 *
 * The workflow's type requires `AgentRegistry | Skills`. Two layers provide them with the same agent
 * names: `offlineLayer` (scripted function agents: deterministic, no network) and `llmLayer` (LLM agents
 * on an OpenAI-compatible chat-completions server: `OPENAI_BASE_URL`, optional `OPENAI_API_KEY`,
 * `OPENAI_MODEL` default `gpt-4o-mini`). `layer` picks `llmLayer` when `OPENAI_BASE_URL` is set.
 *
 * Run it: `npx node --conditions=source examples/src/research.ts [topic]`, or with a model:
 * `OPENAI_BASE_URL=http://localhost:11434/v1 OPENAI_MODEL=llama3.1 npx node --conditions=source examples/src/research.ts`.
 *
 * @since 0.1.0
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Agent, AgentRegistry, AgentTask, LlmAgent, OpenAiCompatible, Patterns, Skills, Tools } from "@troupe/agents"
import { Engine, Policy, Workflow } from "@troupe/core"
import { Config, Console, Effect, Layer, Option, Schema } from "effect"
import { Tool } from "effect/ai"
import { FetchHttpClient } from "effect/http"

// -----------------------------------------------------------------------------
// Data
// -----------------------------------------------------------------------------

/**
 * The planner's output: the questions to research.
 *
 * @category schemas
 * @since 0.1.0
 */
export const ResearchPlan = Schema.Struct({ questions: Schema.Array(Schema.String) })

/**
 * @category schemas
 * @since 0.1.0
 */
export type ResearchPlan = typeof ResearchPlan.Type

/**
 * What one researcher found.
 *
 * @category schemas
 * @since 0.1.0
 */
export const Finding = Schema.Struct({
  question: Schema.String,
  answer: Schema.String,
  sources: Schema.Array(Schema.String)
})

/**
 * @category schemas
 * @since 0.1.0
 */
export type Finding = typeof Finding.Type

/**
 * The final report.
 *
 * @category schemas
 * @since 0.1.0
 */
export const Report = Schema.Struct({
  title: Schema.String,
  summary: Schema.String,
  recommendation: Schema.String,
  sections: Schema.Array(Schema.Struct({ heading: Schema.String, body: Schema.String }))
})

/**
 * @category schemas
 * @since 0.1.0
 */
export type Report = typeof Report.Type

// -----------------------------------------------------------------------------
// Workflow
// -----------------------------------------------------------------------------

/** The researchers share one circuit breaker per agent across the three search tasks. */
const researchBreakers = AgentTask.breakers({ maxFailures: 3, window: "1 minute", resetTimeout: "30 seconds" })

type TopicContext = { readonly input: { readonly topic: string } }
const topic = ({ input }: TopicContext) => ({ topic: input.topic })

const search = (index: 0 | 1 | 2) =>
  Agent.task({
    description: "Research the question in the parameters and report what you found, with sources.",
    requires: ["research"],
    parameters: ({ plan }: { readonly plan: ResearchPlan }) => ({ question: plan.questions[index] ?? "" }),
    output: Finding,
    retry: Policy.exponential({ maxRetries: 2, initialDelay: "1 second", maxDelay: "30 seconds" }),
    breaker: researchBreakers
  })

/**
 * The research workflow: its input is `{ topic }`.
 *
 * @category workflows
 * @since 0.1.0
 */
export const research = Workflow.make("research", {
  input: Schema.Struct({ topic: Schema.String }),
  description: "plan, search in parallel, debate the evidence, write the report"
})
  .task("plan", Agent.task({
    description: "Split the research topic in the parameters into exactly three questions.",
    agentType: "planner",
    parameters: topic,
    output: ResearchPlan
  }))
  .task("search_1", { dependsOn: ["plan"] }, search(0))
  .task("search_2", { dependsOn: ["plan"] }, search(1))
  .task("search_3", { dependsOn: ["plan"] }, search(2))
  .task("assess", { dependsOn: ["search_1", "search_2", "search_3"] }, Patterns.debate({
    description: "The findings are strong enough to recommend adopting the topic in the parameters.",
    pro: "advocate",
    con: "critic",
    judge: "judge",
    rounds: 2,
    parameters: topic
  }))
  .task("report", { dependsOn: ["plan", "search_1", "search_2", "search_3", "assess"] }, Agent.task({
    description: "Write the research report on the topic in the parameters from the findings and the debate's verdict.",
    requires: ["documentation"],
    skills: ["report-style"],
    parameters: topic,
    output: Report
  }))

// -----------------------------------------------------------------------------
// Skills
// -----------------------------------------------------------------------------

/**
 * The skills of the example, embedded (a program would discover them on disk with `SkillsFs`).
 *
 * @category layers
 * @since 0.1.0
 */
export const skillsLayer = Skills.layerMemory([{
  path: "skills/report-style/SKILL.md",
  text: [
    "---",
    "name: report-style",
    "description: How research reports are written",
    "version: 1.0.0",
    "---",
    "Give every finding its own section, headed by its question.",
    "End with a section named Assessment that states the verdict.",
    "The recommendation starts with Adopt or Wait."
  ].join("\n")
}])

// -----------------------------------------------------------------------------
// Offline agents
// -----------------------------------------------------------------------------

const slug = (text: string): string =>
  text.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "")

const topicOf = (request: Agent.AgentRequest): string => String(request.parameters.topic ?? "the topic")

/** The findings among a request's dependencies (`search_*` outputs). */
const findingsOf = (request: Agent.AgentRequest): ReadonlyArray<Finding> =>
  Object.entries(request.dependencies)
    .filter(([id]) => id.startsWith("search_"))
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([, value]) => Schema.decodeUnknownSync(Finding)(value))

const sourceCount = (findings: ReadonlyArray<Finding>): number =>
  findings.reduce((n, f) => n + f.sources.length, 0)

const planner = Agent.fromFunction("planner", ["general_purpose"], (request) => {
  const subject = topicOf(request)
  return {
    questions: [
      `What is ${subject}?`,
      `Who uses ${subject} today, and for what?`,
      `What are the risks of adopting ${subject}?`
    ]
  }
}, { description: "offline: scripted planner" })

const researcher = (name: string) =>
  Agent.fromFunction(name, ["research"], (request) =>
    Effect.gen(function*() {
      const question = String(request.parameters.question)
      yield* Effect.sleep("200 millis") // simulated latency: the three searches overlap
      return {
        question,
        answer: `Notes on "${question}" (from the offline corpus).`,
        sources: [`https://example.org/${slug(question)}`]
      }
    }), { maxConcurrent: 2, description: "offline: scripted researcher" })

const advocate = Agent.fromFunction("advocate", ["general_purpose"], (request) => {
  const findings = findingsOf(request)
  return `Round ${String(request.parameters.round)}: ${findings.length} findings with ${
    sourceCount(findings)
  } sources support ${topicOf(request)}.`
}, { description: "offline: scripted advocate" })

const critic = Agent.fromFunction("critic", ["general_purpose"], (request) => {
  const heard = (request.dependencies.transcript as ReadonlyArray<Patterns.Turn>).length
  return `Round ${String(request.parameters.round)}: after ${heard} arguments, the evidence on ${
    topicOf(request)
  } is still preliminary.`
}, { description: "offline: scripted critic" })

const judge = Agent.fromFunction("judge", ["general_purpose"], (request) => {
  const sources = sourceCount(findingsOf(request))
  const transcript = request.dependencies.transcript as ReadonlyArray<Patterns.Turn>
  return sources >= 3
    ? { winner: "pro", verdict: `${sources} independent sources over ${transcript.length} arguments: the case holds.` }
    : { winner: "con", verdict: `Only ${sources} sources: the case is not made.` }
}, { description: "offline: scripted judge" })

const writer = Agent.fromFunction("writer", ["documentation"], (request) =>
  Effect.gen(function*() {
    if (!request.skills.some((skill) => skill.name === "report-style")) {
      return yield* new Agent.AgentError({ agent: "writer", reason: "the report-style skill is missing", retryable: false })
    }
    const subject = topicOf(request)
    const findings = findingsOf(request)
    const assess = request.dependencies.assess as Patterns.DebateResult
    return {
      title: `Research report: ${subject}`,
      summary: `${findings.length} questions researched with ${sourceCount(findings)} sources; the ${assess.winner} side won the debate.`,
      recommendation: assess.winner === "pro" ? `Adopt ${subject}.` : `Wait on ${subject}.`,
      sections: [
        ...findings.map((f) => ({ heading: f.question, body: `${f.answer} Sources: ${f.sources.join(", ")}` })),
        { heading: "Assessment", body: assess.verdict }
      ]
    }
  }), { description: "offline: scripted writer" })

/**
 * The scripted agents: deterministic, no network.
 *
 * @category agents
 * @since 0.1.0
 */
export const offlineAgents = [planner, researcher("researcher-1"), researcher("researcher-2"), advocate, critic, judge, writer] as const

/**
 * The services of the workflow with the scripted agents.
 *
 * @category layers
 * @since 0.1.0
 */
export const offlineLayer: Layer.Layer<AgentRegistry.AgentRegistry | Skills.Skills, never> = Layer.mergeAll(
  Layer.orDie(AgentRegistry.layer(offlineAgents)),
  Layer.orDie(skillsLayer)
)

// -----------------------------------------------------------------------------
// LLM agents
// -----------------------------------------------------------------------------

// -----------------------------------------------------------------------------
// A tool for the LLM researchers
// -----------------------------------------------------------------------------

/**
 * The team's notes: what the researchers' `search_notes` tool looks up (a stand-in for a search API or
 * an MCP server; see docs/agents.md).
 *
 * @category tools
 * @since 0.1.0
 */
export const notes: ReadonlyArray<{ readonly title: string; readonly url: string; readonly text: string }> = [
  {
    title: "WebAssembly outside the browser",
    url: "https://webassembly.org/docs/non-web/",
    text: "WASI lets WebAssembly modules run on servers with a capability-based sandbox."
  },
  {
    title: "Edge functions on WebAssembly",
    url: "https://example.org/edge-wasm",
    text: "Several CDNs run customer code as WebAssembly for fast cold starts and isolation."
  },
  {
    title: "Risks of adopting WebAssembly",
    url: "https://example.org/wasm-risks",
    text: "Tooling maturity, debugging and the evolving component model are the main risks."
  }
]

/** The notes whose title or text contains every word of the query (case-insensitive), best first. */
const searchNotes = (query: string) => {
  const words = query.toLowerCase().split(/\W+/).filter((w) => w.length > 2)
  const score = (note: (typeof notes)[number]) =>
    words.filter((w) => `${note.title} ${note.text}`.toLowerCase().includes(w)).length
  return notes.map((note) => ({ note, score: score(note) }))
    .filter(({ score }) => score > 0)
    .sort((a, b) => b.score - a.score)
    .slice(0, 3)
    .map(({ note }) => note)
}

/**
 * The `search_notes` tool: the LLM researchers call it for sources before they answer.
 *
 * @category tools
 * @since 0.1.0
 */
export const SearchNotes = Tool.make("search_notes", {
  description: "Search the team's research notes. Returns matching notes with their URLs, best match first.",
  parameters: Schema.Struct({ query: Schema.String }),
  success: Schema.Array(Schema.Struct({ title: Schema.String, url: Schema.String, text: Schema.String }))
})

/**
 * The tool with its handler.
 *
 * @category tools
 * @since 0.1.0
 */
export const notesTool = Tools.make(SearchNotes, ({ query }) => Effect.succeed(searchNotes(query)))

/**
 * The same agents (same names, capabilities and limits) as LLM agents.
 *
 * @category agents
 * @since 0.1.0
 */
export const llmAgents = [
  LlmAgent.make({
    name: "planner",
    capabilities: ["general_purpose"],
    description: "LLM planner",
    systemPrompt: "You plan research. Split a topic into exactly three precise, complementary questions."
  }),
  ...["researcher-1", "researcher-2"].map((name) =>
    LlmAgent.make({
      name,
      capabilities: ["research"],
      maxConcurrent: 2,
      description: "LLM researcher",
      systemPrompt:
        "You are a careful researcher. Search the team's notes with the search_notes tool first, then answer the question concisely and list the sources (URLs) you rely on.",
      tools: notesTool,
      maxSteps: 4
    })
  ),
  LlmAgent.make({
    name: "advocate",
    capabilities: ["general_purpose"],
    description: "LLM advocate",
    systemPrompt: "You argue FOR the motion, using the research findings. One short paragraph per turn."
  }),
  LlmAgent.make({
    name: "critic",
    capabilities: ["general_purpose"],
    description: "LLM critic",
    systemPrompt: "You argue AGAINST the motion: weak evidence, risks, open questions. One short paragraph per turn."
  }),
  LlmAgent.make({
    name: "judge",
    capabilities: ["general_purpose"],
    description: "LLM judge",
    systemPrompt: "You judge debates impartially: pick the side that argued better from the evidence, and say why."
  }),
  LlmAgent.make({
    name: "writer",
    capabilities: ["documentation"],
    description: "LLM writer",
    systemPrompt: "You write clear, short research reports for engineers."
  })
] as const

/**
 * The language model: an OpenAI-compatible chat-completions server (`OPENAI_BASE_URL`,
 * `OPENAI_API_KEY`, `OPENAI_MODEL` default `gpt-4o-mini`).
 *
 * @category layers
 * @since 0.1.0
 */
export const modelLayer = Layer.unwrap(Effect.gen(function*() {
  const model = yield* Config.String("OPENAI_MODEL").pipe(Config.withDefault("gpt-4o-mini"))
  return OpenAiCompatible.layerConfig({ model })
})).pipe(Layer.provide(FetchHttpClient.layer))

/**
 * The services of the workflow with LLM agents.
 *
 * @category layers
 * @since 0.1.0
 */
export const llmLayer = Layer.mergeAll(
  AgentRegistry.layer(llmAgents).pipe(Layer.provide(modelLayer)),
  skillsLayer
)

/**
 * `llmLayer` when `OPENAI_BASE_URL` is set, else `offlineLayer`.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = Layer.unwrap(Effect.gen(function*() {
  const baseUrl = yield* Config.option(Config.String("OPENAI_BASE_URL"))
  return Option.isSome(baseUrl) ? llmLayer : offlineLayer
}))

// -----------------------------------------------------------------------------
// Running
// -----------------------------------------------------------------------------

/**
 * The report as Markdown.
 *
 * @category rendering
 * @since 0.1.0
 */
export const renderReport = (report: Report): string =>
  [
    `# ${report.title}`,
    "",
    report.summary,
    "",
    `**Recommendation:** ${report.recommendation}`,
    ...report.sections.flatMap((s) => ["", `## ${s.heading}`, "", s.body])
  ].join("\n")

/**
 * Runs the workflow on `topic`, prints the report and returns the outputs. Needs the workflow's services
 * (`layer`, `offlineLayer` or `llmLayer`).
 *
 * @category running
 * @since 0.1.0
 */
export const main = (subject = "WebAssembly on the server") =>
  Effect.gen(function*() {
    const result = yield* Engine.run(research, { topic: subject })
    yield* Console.log(renderReport(result.outputs.report))
    yield* Console.log(`\n(debate won by the ${result.outputs.assess.winnerAgent}; ${result.durationMs} ms)`)
    return result.outputs
  })

if (import.meta.main) NodeRuntime.runMain(main(process.argv[2]).pipe(Effect.provide(layer)))
