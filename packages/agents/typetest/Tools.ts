/**
 * Type tests for tools, tool-using LLM agents, budgets and MCP toolsets.
 */
import type * as Task from "@troupe/core/Task"
import * as Workflow from "@troupe/core/Workflow"
import { Context, Effect, Schema } from "effect"
import { type LanguageModel, Tool } from "effect/ai"
import { expectTypeOf } from "vitest"
import type * as Agent from "../src/Agent.ts"
import * as AgentTask from "../src/AgentTask.ts"
import * as Budget from "../src/Budget.ts"
import * as LlmAgent from "../src/LlmAgent.ts"
import * as Mcp from "../src/Mcp.ts"
import type { McpClient } from "effect/ai"
import * as Tools from "../src/Tools.ts"

class Db extends Context.Service<Db, { readonly find: (id: string) => Effect.Effect<string> }>()("typetest/Db") {}

const Lookup = Tool.make("lookup", {
  parameters: Schema.Struct({ id: Schema.String }),
  success: Schema.String
})

// The handler gets the decoded parameters and must return the success type; its services stay typed.
const lookup = Tools.make(Lookup, ({ id }) =>
  Effect.gen(function*() {
    const db = yield* Db
    return yield* db.find(id)
  }))
expectTypeOf<Effect.Services<typeof lookup>>().toEqualTypeOf<Db>()

// @ts-expect-error the handler must return the tool's success type (a string)
Tools.make(Lookup, ({ id }) => Effect.succeed(id.length))

// @ts-expect-error the parameters have no `name`
Tools.make(Lookup, ({ name }) => Effect.succeed(name))

// An agent with tools needs the toolset's services besides the model.
const agent = LlmAgent.make({ name: "a", capabilities: ["research"], tools: lookup })
expectTypeOf(agent).toEqualTypeOf<
  Agent.Agent<"research", LlmAgent.LlmAgentError, LanguageModel.LanguageModel | Db>
>()

// An MCP toolset adds its connection and McpUnavailable.
const librarian = LlmAgent.make({ name: "l", capabilities: ["research"], tools: Mcp.toolset() })
expectTypeOf(librarian).toEqualTypeOf<
  Agent.Agent<"research", LlmAgent.LlmAgentError | Mcp.McpUnavailable, LanguageModel.LanguageModel | McpClient.McpClient>
>()

// The errors an LLM agent can fail with name the tool loop and budgets.
expectTypeOf<LlmAgent.LlmAgentError>().toEqualTypeOf<
  Agent.AgentError | LlmAgent.OutputDecodeError | LlmAgent.StepLimitReached | Tools.ToolFailed | Budget.BudgetExceeded
>()

// A workflow as a tool: its parameters must describe the workflow's input.
const Input = Schema.Struct({ a: Schema.Number })
const wf = Workflow.make<"w", typeof Input.Type>("w").task("double", ({ input }: { readonly input: { readonly a: number } }) =>
  Effect.succeed(input.a * 2))
Tools.fromWorkflow(wf, { name: "double", parameters: Input })
// @ts-expect-error the parameters Schema does not describe the workflow's input
Tools.fromWorkflow(wf, { name: "double", parameters: Schema.Struct({ b: Schema.String }) })

// A task as a tool: its input is the parameters' type.
declare const shout: Task.Task<string, never, never, { readonly input: { readonly text: string } }>
Tools.fromTask(shout, { name: "shout", parameters: Schema.Struct({ text: Schema.String }) })
// @ts-expect-error the task reads `text`, the parameters give `other`
Tools.fromTask(shout, { name: "shout", parameters: Schema.Struct({ other: Schema.Number }) })

// Budgets: the layer can fail with InvalidBudget; a task budget adds InvalidBudget to the task's errors.
expectTypeOf(Budget.layer({ tokens: 1 })).toEqualTypeOf<import("effect").Layer.Layer<Budget.Budget, Budget.InvalidBudget>>()
const budgeted = AgentTask.make({ description: "x", budget: { usd: 1 } })
expectTypeOf<Effect.Error<ReturnType<typeof budgeted.run>>>().toExtend<Budget.InvalidBudget | Budget.BudgetExceeded | Agent.AgentError | import("../src/AgentRegistry.ts").RoutingError>()
// @ts-expect-error a budget limit is a number
AgentTask.make({ description: "x", budget: { tokens: "1000" } })
