/**
 * Type tests for agent tasks: output, errors and services in a workflow.
 */
import { Engine, Workflow } from "@troupe/core"
import type * as Breaker from "@troupe/core/Breaker"
import type * as Task from "@troupe/core/Task"
import { Effect, Schema } from "effect"
import { expectTypeOf } from "vitest"
import { Agent } from "../src/index.ts"
import * as AgentRegistry from "../src/AgentRegistry.ts"
import * as AgentTask from "../src/AgentTask.ts"
import type * as Budget from "../src/Budget.ts"
import * as Capability from "../src/Capability.ts"
import type * as Skills from "../src/Skills.ts"

const Review = Schema.Struct({ approved: Schema.Boolean, comments: Schema.Array(Schema.String) })

// Output = the schema's type; services = the registry; errors = agent and routing errors.
const review = Agent.task({ description: "review", requires: ["code_analysis"], output: Review })
expectTypeOf(review).toEqualTypeOf<
  Task.Task<
    { readonly approved: boolean; readonly comments: ReadonlyArray<string> },
    Agent.AgentError | AgentRegistry.RoutingError | Budget.BudgetExceeded,
    AgentRegistry.AgentRegistry,
    unknown
  >
>()

// Without a schema the output is unknown.
const plain = AgentTask.make({ description: "anything" })
expectTypeOf<
  Task.Task<unknown, Agent.AgentError | AgentRegistry.RoutingError | Budget.BudgetExceeded, AgentRegistry.AgentRegistry>
>()
  .toEqualTypeOf(plain)

// Skills add the Skills service and SkillNotFound; a breaker adds CircuitOpen.
const skilled = Agent.task({ description: "s", skills: ["house-style"], breaker: { maxFailures: 2, resetTimeout: "1 second" } })
expectTypeOf<Effect.Services<ReturnType<typeof skilled.run>>>().toEqualTypeOf<
  AgentRegistry.AgentRegistry | Skills.Skills
>()
expectTypeOf<Effect.Error<ReturnType<typeof skilled.run>>>().toEqualTypeOf<
  Agent.AgentError | AgentRegistry.RoutingError | Budget.BudgetExceeded | Skills.SkillNotFound | Breaker.CircuitOpen
>()

// A task budget adds InvalidBudget (a limit that is not positive fails the pre-run check).
const budgeted = Agent.task({ description: "b", budget: { tokens: 1000 } })
expectTypeOf<Effect.Error<ReturnType<typeof budgeted.run>>>().toEqualTypeOf<
  Agent.AgentError | AgentRegistry.RoutingError | Budget.BudgetExceeded | Budget.InvalidBudget
>()
const noSkills = Agent.task({ description: "s", skills: [] })
expectTypeOf<Effect.Services<ReturnType<typeof noSkills.run>>>().toEqualTypeOf<AgentRegistry.AgentRegistry>()

// In a workflow: outputs are typed and the workflow requires the registry.
const wf = Workflow.make("review")
  .task("diff", () => Effect.succeed("+ a line"))
  .task("review", { dependsOn: ["diff"] }, review)
  .task("report", { dependsOn: ["review"] }, ({ review }) => Effect.succeed(review.approved ? "ok" : "no"))
expectTypeOf<Workflow.Outputs<typeof wf>["review"]>().toEqualTypeOf<{
  readonly approved: boolean
  readonly comments: ReadonlyArray<string>
}>()
expectTypeOf<Workflow.Services<typeof wf>>().toEqualTypeOf<AgentRegistry.AgentRegistry>()

// @ts-expect-error the registry is not provided
Effect.runPromise(Engine.run(wf))
Effect.runPromise(Engine.run(wf).pipe(Effect.provide(AgentRegistry.layer([]))))

// Parameters computed from the context: the task needs what the function reads.
const typed = Agent.task({
  description: "research",
  requires: ["research"],
  parameters: ({ input }: { readonly input: { readonly topic: string } }) => ({ topic: input.topic })
})
Workflow.make("ok", { input: Schema.Struct({ topic: Schema.String }) }).task("r", typed)
// @ts-expect-error the workflow input has no topic
Workflow.make("bad", { input: Schema.Struct({ title: Schema.String }) }).task("r", typed)

// Capabilities are checked: built-in ones by default, custom ones through a capability set.
// @ts-expect-error "juggling" is not a capability
Agent.task({ description: "x", requires: ["juggling"] })
const Caps = Capability.define(["translation"] as const)
Agent.task({ description: "x", requires: ["translation", "research"], capabilitySet: Caps })
// @ts-expect-error "juggling" is not in the set either
Agent.task({ description: "x", requires: ["juggling"], capabilitySet: Caps })

// A breaker family is shared between tasks.
const family = AgentTask.breakers({ maxFailures: 3, resetTimeout: "30 seconds" })
const shared = Agent.task({ description: "x", requires: ["research"], breaker: family })
expectTypeOf<Effect.Error<ReturnType<typeof shared.run>>>()
  .toEqualTypeOf<Agent.AgentError | AgentRegistry.RoutingError | Budget.BudgetExceeded | Breaker.CircuitOpen>()
