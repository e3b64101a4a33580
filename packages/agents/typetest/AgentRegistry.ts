/**
 * Type tests for the registry layers: the layer needs what the agents need.
 */
import { Context, Effect, type Layer, type Scope } from "effect"
import { expectTypeOf } from "vitest"
import * as Agent from "../src/Agent.ts"
import * as AgentRegistry from "../src/AgentRegistry.ts"
import * as Capability from "../src/Capability.ts"

class Llm extends Context.Service<Llm, { readonly ask: (q: string) => Effect.Effect<string> }>()("typetest/Llm") {}

const plain = Agent.fromFunction("plain", ["research"], () => 1)
const needsLlm = Agent.fromFunction("llm", ["research"], (req) => Llm.use((llm) => llm.ask(req.description)))
expectTypeOf(needsLlm).toEqualTypeOf<Agent.Agent<"research", never, Llm>>()

const Caps = Capability.define(["translation"] as const)
const custom = Agent.fromFunction("t", ["translation"], () => "x", { capabilitySet: Caps })

const layer = AgentRegistry.layer([plain, needsLlm, custom])
expectTypeOf(layer).toEqualTypeOf<Layer.Layer<AgentRegistry.AgentRegistry, AgentRegistry.DuplicateAgent, Llm>>()

const noDeps = AgentRegistry.layer([plain, custom])
expectTypeOf(noDeps).toEqualTypeOf<Layer.Layer<AgentRegistry.AgentRegistry, AgentRegistry.DuplicateAgent, never>>()

// acquire needs the registry and a scope; its errors are routing errors
const lease = AgentRegistry.acquire({ capabilities: ["research"] })
expectTypeOf(lease).toEqualTypeOf<
  Effect.Effect<AgentRegistry.Lease, AgentRegistry.RoutingError, AgentRegistry.AgentRegistry | Scope.Scope>
>()

// a registered agent fails with AgentError only
expectTypeOf<ReturnType<AgentRegistry.RegisteredAgent["run"]>>().toEqualTypeOf<
  Effect.Effect<Agent.AgentResponse, Agent.AgentError, never>
>()

// agents are values, not strings
// @ts-expect-error a string is not an agent
AgentRegistry.layer(["plain"])
