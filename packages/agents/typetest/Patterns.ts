/**
 * Type tests for the multi-agent patterns: typed results, usable as tasks of any workflow.
 */
import { Engine, Workflow } from "@troupe/core"
import type * as Task from "@troupe/core/Task"
import type { WorkflowFailed } from "@troupe/core/WorkflowError"
import { Effect, Schema } from "effect"
import { expectTypeOf } from "vitest"
import type * as Agent from "../src/Agent.ts"
import * as AgentRegistry from "../src/AgentRegistry.ts"
import * as Patterns from "../src/Patterns.ts"

const Report = Schema.Struct({ summary: Schema.String })

// Supervisor: the combined result has the output schema's type.
const lead = Patterns.supervisor({ description: "audit", supervisor: "lead", output: Report })
expectTypeOf(lead).toEqualTypeOf<
  Task.Task<
    Patterns.SupervisorResult<{ readonly summary: string }>,
    Patterns.SupervisorFailure,
    AgentRegistry.AgentRegistry,
    unknown
  >
>()
expectTypeOf<Patterns.SupervisorFailure>().toExtend<
  Patterns.PatternFailure | WorkflowFailed<unknown>
>()
const untyped = Patterns.supervisor({ description: "audit", supervisor: "lead" })
expectTypeOf<Task.Task<Patterns.SupervisorResult<unknown>, Patterns.SupervisorFailure, AgentRegistry.AgentRegistry>>()
  .toEqualTypeOf(untyped)

// Consensus: the decision is one of the choices (or null).
const vote = Patterns.consensus({ description: "ship?", voters: ["a", "b"], choices: ["ship", "wait"] })
expectTypeOf<Task.Task<Patterns.ConsensusResult<"ship" | "wait">, Patterns.PatternFailure, AgentRegistry.AgentRegistry>>()
  .toEqualTypeOf(vote)
const free = Patterns.consensus({ description: "name?", voters: ["a"] })
expectTypeOf<Task.Task<Patterns.ConsensusResult<string>, Patterns.PatternFailure, AgentRegistry.AgentRegistry>>()
  .toEqualTypeOf(free)

// Chain of thought: the answer has the schema's type, else it is text.
const chain = Patterns.chainOfThought({
  description: "estimate",
  reasoner: "r",
  steps: ["a", "b"],
  output: Schema.Struct({ days: Schema.Number })
})
const textChain = Patterns.chainOfThought({ description: "estimate", reasoner: "r", steps: ["a"] })

// In a workflow: outputs are typed; the workflow requires the registry.
const wf = Workflow.make("patterns", { input: Schema.Struct({ topic: Schema.String }) })
  .task("notes", ({ input }) => Effect.succeed(input.topic))
  .task("lead", { dependsOn: ["notes"] }, lead)
  .task("vote", vote)
  .task("debate", Patterns.debate({
    description: "motion",
    pro: "a",
    con: "b",
    judge: "c",
    parameters: ({ input }: { readonly input: { readonly topic: string } }) => ({ topic: input.topic })
  }))
  .task("chain", chain)
  .task("text", textChain)
  .task("draft", Patterns.collaborative({ description: "write", agents: ["a", "b"] }))
  .task("use", { dependsOn: ["lead", "vote", "debate", "chain", "text", "draft"] }, (ctx) =>
    Effect.succeed({
      summary: ctx.lead.result.summary,
      decision: ctx.vote.decision,
      winner: ctx.debate.winner,
      days: ctx.chain.answer.days,
      text: ctx.text.answer,
      draft: ctx.draft.draft
    }))
expectTypeOf<Workflow.Outputs<typeof wf>["use"]>().toEqualTypeOf<{
  summary: string
  decision: "ship" | "wait" | null
  winner: Patterns.Side
  days: number
  text: string
  draft: string
}>()
expectTypeOf<Workflow.Services<typeof wf>>().toEqualTypeOf<AgentRegistry.AgentRegistry>()
expectTypeOf<Workflow.Error<typeof wf>>().toExtend<Patterns.SupervisorFailure | Agent.AgentError>()

// @ts-expect-error the registry is not provided
Effect.runPromise(Engine.run(wf, { topic: "x" }))
Effect.runPromise(Engine.run(wf, { topic: "x" }).pipe(Effect.provide(AgentRegistry.layer([]))))

// A pattern whose parameters read the input does not fit a workflow without it.
const needsTopic = Patterns.debate({
  description: "motion",
  pro: "a",
  con: "b",
  judge: "c",
  parameters: ({ input }: { readonly input: { readonly topic: string } }) => ({ topic: input.topic })
})
// @ts-expect-error the workflow has no input
Workflow.make("none").task("d", needsTopic)

// @ts-expect-error a decision must be one of the choices
const _wrong: Patterns.ConsensusResult<"ship" | "wait">["decision"] = "maybe"
