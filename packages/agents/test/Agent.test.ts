import { assert, describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Option, Result, Schema } from "effect"
import * as Agent from "../src/Agent.ts"
import * as Capability from "../src/Capability.ts"

const request = (description = "do it"): Agent.AgentRequest => ({
  taskId: "t",
  description,
  parameters: { n: 2 },
  dependencies: {},
  skills: [],
  attempt: 1
})

class Boom {
  readonly _tag = "Boom"
  readonly message = "boom"
}

describe("Capability", () => {
  it("has the seeds' ten built-in capabilities", () => {
    expect(Capability.builtins).toEqual([
      "general_purpose",
      "code_analysis",
      "code_generation",
      "testing",
      "debugging",
      "documentation",
      "data_processing",
      "file_operations",
      "api_integration",
      "research"
    ])
    expect(Capability.isBuiltin("testing")).toBe(true)
    expect(Capability.isBuiltin("translation")).toBe(false)
  })

  it("define adds custom capabilities after the built-in ones, without duplicates", () => {
    const Caps = Capability.define(["translation", "testing", "translation"] as const)
    expect(Caps.all.slice(10)).toEqual(["translation"])
    expect(Caps.custom).toEqual(["translation"])
    expect(Caps.is("translation")).toBe(true)
    expect(Caps.is("research")).toBe(true)
    expect(Caps.is("juggling")).toBe(false)
    expect(Capability.isCapabilitySet(Caps)).toBe(true)
  })

  it.effect("decodes capability names with the set's schema", () =>
    Effect.gen(function*() {
      const Caps = Capability.define(["translation"] as const)
      expect(yield* Schema.decodeUnknownEffect(Caps.schema)("translation")).toBe("translation")
      const failed = yield* Effect.result(Schema.decodeUnknownEffect(Caps.schema)("juggling"))
      assert.isTrue(Result.isFailure(failed))
    }))

  it("covers and missing", () => {
    expect(Capability.covers(["a", "b"], ["b"])).toBe(true)
    expect(Capability.covers(["a"], [])).toBe(true)
    expect(Capability.missing(["a"], ["b", "a", "c"])).toEqual(["b", "c"])
  })
})

describe("Agent", () => {
  it("make fills in defaults and drops duplicate capabilities", () => {
    const agent = Agent.make({
      name: "a",
      capabilities: ["testing", "testing", "debugging"],
      run: () => Effect.succeed({ output: 1 })
    })
    expect(agent.priority).toBe(5)
    expect(agent.maxConcurrent).toBe(1)
    expect(agent.capabilities).toEqual(["testing", "debugging"])
    expect(Agent.isAgent(agent)).toBe(true)
    expect(Agent.isAgent({ name: "a" })).toBe(false)
  })

  it("make rejects invalid priority, concurrency and names", () => {
    const run = () => Effect.succeed({ output: 1 })
    expect(() => Agent.make({ name: "a", capabilities: [], priority: 0, run })).toThrow(/priority/)
    expect(() => Agent.make({ name: "a", capabilities: [], priority: 11, run })).toThrow(/priority/)
    expect(() => Agent.make({ name: "a", capabilities: [], priority: 2.5, run })).toThrow(/priority/)
    expect(() => Agent.make({ name: "a", capabilities: [], maxConcurrent: 0, run })).toThrow(/maxConcurrent/)
    expect(() => Agent.make({ name: "", capabilities: [], run })).toThrow(/name/)
  })

  it.effect("fromFunction accepts plain values and Effects", () =>
    Effect.gen(function*() {
      const plain = Agent.fromFunction("plain", ["general_purpose"], (req) => req.parameters)
      expect(yield* plain.run(request())).toEqual({ output: { n: 2 } })

      const text = Agent.fromFunction("text", ["general_purpose"], (req) => `hi ${req.description}`)
      expect(yield* text.run(request("bob"))).toEqual({ output: "hi bob", text: "hi bob" })

      const effectful = Agent.fromFunction(
        "effectful",
        ["general_purpose"],
        (req) => Effect.succeed(req.attempt * 10),
        { priority: 9, maxConcurrent: 3, description: "multiplies" }
      )
      expect(yield* effectful.run(request())).toEqual({ output: 10 })
      expect(effectful.priority).toBe(9)
      expect(effectful.maxConcurrent).toBe(3)
      expect(effectful.description).toBe("multiplies")

      const failing = Agent.fromFunction("failing", ["debugging"], () => Effect.fail(new Boom()))
      const error = yield* Effect.flip(failing.run(request()))
      expect(error).toBeInstanceOf(Boom)
    }))

  it.effect("fromFunction runs the function lazily, once per run", () =>
    Effect.gen(function*() {
      let calls = 0
      const agent = Agent.fromFunction("counter", ["general_purpose"], () => ++calls)
      const run = agent.run(request())
      expect(calls).toBe(0)
      yield* run
      yield* run
      expect(calls).toBe(2)
    }))

  it("withPriority and withMaxConcurrent return new agents (data-first and pipeable)", () => {
    const agent = Agent.fromFunction("a", ["testing"], () => 1)
    const changed = agent.pipe(Agent.withPriority(9), Agent.withMaxConcurrent(4))
    expect([changed.priority, changed.maxConcurrent]).toEqual([9, 4])
    expect([agent.priority, agent.maxConcurrent]).toEqual([5, 1])
    expect(Agent.withPriority(agent, 2).priority).toBe(2)
    expect(() => Agent.withPriority(agent, 12)).toThrow(RangeError)
  })

  it("AgentError carries retryability and Retry-After", () => {
    const limited = new Agent.AgentError({ agent: "w", reason: "rate limited", retryable: true, retryAfterMs: 1500 })
    expect(limited.message).toBe("Agent \"w\" failed: rate limited (retry after 1500 ms)")
    expect(Agent.isRetryable(limited)).toBe(true)
    expect(Option.map(Agent.retryAfter(limited), Duration.toMillis)).toEqual(Option.some(1500))

    const fatal = new Agent.AgentError({ agent: "w", reason: "bad request", retryable: false })
    expect(Agent.isRetryable(fatal)).toBe(false)
    expect(Agent.retryAfter(fatal)).toEqual(Option.none())
    expect(Agent.isRetryable(new Error("x"))).toBe(true)
  })

  it("toAgentError keeps AgentErrors and wraps anything else", () => {
    const original = new Agent.AgentError({ agent: "w", reason: "r", retryable: false })
    expect(Agent.toAgentError("other", original)).toBe(original)

    const wrapped = Agent.toAgentError("w", new Boom())
    expect(wrapped.reason).toBe("boom")
    expect(wrapped.retryable).toBe(true)
    expect(wrapped.cause).toBeInstanceOf(Boom)

    const typed = Agent.toAgentError("w", { _tag: "Decode", retryable: false, retryAfterMs: 7 })
    expect(typed.reason).toBe("Decode")
    expect(typed.retryable).toBe(false)
    expect(typed.retryAfterMs).toBe(7)
  })

  it.effect("normalizeErrors maps failures to AgentError", () =>
    Effect.gen(function*() {
      const agent = Agent.normalizeErrors(Agent.fromFunction("f", ["testing"], () => Effect.fail(new Boom())))
      const error = yield* Effect.flip(agent.run(request()))
      expect(error._tag).toBe("AgentError")
      expect(error.agent).toBe("f")
    }))
})
