/**
 * Type tests for capabilities: built-in literals, custom capability sets, and rejections.
 */
import { Effect } from "effect"
import { expectTypeOf } from "vitest"
import * as Agent from "../src/Agent.ts"
import * as Capability from "../src/Capability.ts"

// Built-in capabilities type-check without a set.
const reviewer = Agent.make({
  name: "reviewer",
  capabilities: ["code_analysis", "testing"],
  run: () => Effect.succeed({ output: 1 })
})
expectTypeOf(reviewer).toEqualTypeOf<Agent.Agent<"code_analysis" | "testing", never, never>>()

// An unknown capability is rejected without a set.
Agent.make({
  name: "translator",
  // @ts-expect-error "translation" is not a built-in capability
  capabilities: ["translation"],
  run: () => Effect.succeed({ output: 1 })
})

// @ts-expect-error "translation" is not a built-in capability
Agent.fromFunction("translator", ["translation"], () => "x")

// A capability set adds custom literals.
const Caps = Capability.define(["translation", "summarisation"] as const)
type Caps = Capability.Of<typeof Caps>
expectTypeOf<Caps>().toEqualTypeOf<Capability.Builtin | "translation" | "summarisation">()
expectTypeOf<Capability.Capability<"translation">>().toEqualTypeOf<Capability.Builtin | "translation">()

const translator = Agent.make({
  name: "translator",
  capabilities: ["translation", "research"],
  capabilitySet: Caps,
  run: () => Effect.succeed({ output: 1 })
})
expectTypeOf(translator).toEqualTypeOf<Agent.Agent<"translation" | "research", never, never>>()

Agent.make({
  name: "translator",
  // @ts-expect-error "juggling" is not in the set
  capabilities: ["translation", "juggling"],
  capabilitySet: Caps,
  run: () => Effect.succeed({ output: 1 })
})

const summariser = Agent.fromFunction("summariser", ["summarisation"], (req) => req.description, {
  capabilitySet: Caps,
  priority: 3
})
expectTypeOf(summariser).toEqualTypeOf<Agent.Agent<"summarisation", never, never>>()

// @ts-expect-error "juggling" is not in the set
Agent.fromFunction("juggler", ["juggling"], () => 1, { capabilitySet: Caps })

class Boom {
  readonly _tag = "Boom"
}
const effectful = Agent.fromFunction("effectful", ["debugging"], () => Effect.fail(new Boom()))
expectTypeOf(effectful).toEqualTypeOf<Agent.Agent<"debugging", Boom, never>>()

// The set's list checks its arguments.
expectTypeOf(Caps.list("translation", "testing")).toEqualTypeOf<readonly ["translation", "testing"]>()
// @ts-expect-error "juggling" is not in the set
Caps.list("juggling")

// Guards narrow.
const u: unknown = "translation"
if (Caps.is(u)) expectTypeOf(u).toEqualTypeOf<Caps>()
if (Capability.isBuiltin(u)) expectTypeOf(u).toEqualTypeOf<Capability.Builtin>()

// Agent type helpers.
expectTypeOf<Agent.Capabilities<typeof translator>>().toEqualTypeOf<"translation" | "research">()
expectTypeOf<Agent.Error<typeof effectful>>().toEqualTypeOf<Boom>()
