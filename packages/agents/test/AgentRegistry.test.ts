import { assert, describe, expect, it } from "@effect/vitest"
import { Context, Effect, Exit, Fiber, Layer, Scope } from "effect"
import * as Agent from "../src/Agent.ts"
import * as AgentRegistry from "../src/AgentRegistry.ts"
import * as Capability from "../src/Capability.ts"

const request: Agent.AgentRequest = {
  taskId: "t",
  description: "d",
  parameters: {},
  dependencies: {},
  skills: [],
  attempt: 1
}

const agent = (
  name: string,
  capabilities: ReadonlyArray<Capability.Builtin>,
  options?: { priority?: number; maxConcurrent?: number }
) => Agent.fromFunction(name, capabilities, () => name, options)

const Registry = AgentRegistry.AgentRegistry

/** Acquires in `scope` and returns the chosen agent's name. */
const acquireIn = (scope: Scope.Scope, requirement: AgentRegistry.Requirement) =>
  AgentRegistry.acquire(requirement).pipe(
    Effect.map((lease) => lease.agent.name),
    Scope.provide(scope)
  )

/** Lets forked fibers run until they block. */
const settle = Effect.gen(function*() {
  for (let i = 0; i < 20; i++) yield* Effect.yieldNow
})

const runningOf = Effect.gen(function*() {
  const load = yield* Registry.use((r) => r.load)
  return Object.fromEntries(load.map((l) => [l.name, l.running]))
})

describe("AgentRegistry routing", () => {
  it.effect("an explicit agent type wins over capabilities", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const chosen = yield* acquireIn(scope, { agentType: "writer", capabilities: ["testing"] })
      expect(chosen).toBe("writer")
    }).pipe(Effect.provide(AgentRegistry.layer([
      agent("tester", ["testing"], { priority: 10 }),
      agent("writer", ["documentation"], { priority: 1 })
    ]))))

  it.effect("an unknown agent type lists the registered agents", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(AgentRegistry.check([{ taskId: "review", agentType: "ghost" }]))
      assert.strictEqual(error._tag, "UnknownAgent")
      expect(error.message).toBe(
        "Agent type \"ghost\" required by task \"review\" is not registered. Registered agents: [tester, writer]"
      )
    }).pipe(Effect.provide(AgentRegistry.layer([agent("tester", ["testing"]), agent("writer", ["documentation"])]))))

  it.effect("no matching agent lists the requirement and every agent with its capabilities", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(
        AgentRegistry.check([{ taskId: "ok", capabilities: ["testing"] }, {
          taskId: "t1",
          capabilities: ["testing", "debugging"]
        }])
      )
      assert.strictEqual(error._tag, "NoMatchingAgent")
      if (error._tag !== "NoMatchingAgent") return
      expect(error.required).toEqual(["testing", "debugging"])
      expect(error.agents).toEqual([
        { name: "tester", capabilities: ["testing"] },
        { name: "fixer", capabilities: ["debugging", "code_generation"] }
      ])
      expect(error.message).toBe(
        "No agent has all the capabilities [testing, debugging] required by task \"t1\". " +
          "Registered agents: tester [testing], fixer [debugging, code_generation]"
      )
      const scope = yield* Scope.make()
      const failed = yield* Effect.flip(acquireIn(scope, { capabilities: ["research"] }))
      expect(failed._tag).toBe("NoMatchingAgent")
    }).pipe(Effect.provide(AgentRegistry.layer([
      agent("tester", ["testing"]),
      agent("fixer", ["debugging", "code_generation"])
    ]))))

  it.effect("an empty registry reports no agents", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(AgentRegistry.check([{ capabilities: ["testing"] }]))
      expect(error.message).toBe("No agent has all the capabilities [testing] required. Registered agents: none")
    }).pipe(Effect.provide(AgentRegistry.layerEmpty)))

  it.effect("prefers the highest priority, then the least loaded, then registration order", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const req = { capabilities: ["code_analysis"] as const }
      // "high" has priority 9 and 2 slots: it takes the first two.
      expect(yield* acquireIn(scope, req)).toBe("high")
      expect(yield* acquireIn(scope, req)).toBe("high")
      // then the priority-5 agents, least loaded first, ties by registration order: a, b, a, b
      expect(yield* acquireIn(scope, req)).toBe("a")
      expect(yield* acquireIn(scope, req)).toBe("b")
      expect(yield* acquireIn(scope, req)).toBe("a")
      expect(yield* acquireIn(scope, req)).toBe("b")
      // the low-priority agent only when the others are full
      expect(yield* acquireIn(scope, req)).toBe("low")
      expect(yield* runningOf).toEqual({ low: 1, a: 2, b: 2, high: 2, other: 0 })
    }).pipe(Effect.provide(AgentRegistry.layer([
      agent("low", ["code_analysis"], { priority: 1, maxConcurrent: 5 }),
      agent("a", ["code_analysis", "testing"], { priority: 5, maxConcurrent: 2 }),
      agent("b", ["code_analysis"], { priority: 5, maxConcurrent: 2 }),
      agent("high", ["code_analysis"], { priority: 9, maxConcurrent: 2 }),
      agent("other", ["testing"], { priority: 10, maxConcurrent: 5 })
    ]))))

  it.effect("candidates are ordered by priority then registration, and the capabilities must all be covered", () =>
    Effect.gen(function*() {
      const registry = yield* Registry
      const names = (yield* registry.candidates({ capabilities: ["testing"] })).map((a) => a.name)
      expect(names).toEqual(["both", "t1", "t2"])
      const both = (yield* registry.candidates({ capabilities: ["testing", "debugging"] })).map((a) => a.name)
      expect(both).toEqual(["both"])
      // no requirement: every agent fits
      expect((yield* registry.candidates({})).length).toBe(4)
    }).pipe(Effect.provide(AgentRegistry.layer([
      agent("t1", ["testing"], { priority: 3 }),
      agent("d", ["debugging"], { priority: 9 }),
      agent("t2", ["testing"], { priority: 3 }),
      agent("both", ["testing", "debugging"], { priority: 4 })
    ]))))

  it.effect("a full agent is waited for, not exceeded, and a released slot wakes the waiter", () =>
    Effect.gen(function*() {
      const first = yield* Scope.make()
      expect(yield* acquireIn(first, { agentType: "solo" })).toBe("solo")

      const second = yield* Scope.make()
      const waiter = yield* Effect.forkChild(acquireIn(second, { capabilities: ["testing"] }), {
        startImmediately: true
      })
      yield* settle
      expect(waiter.pollUnsafe()).toBeUndefined()
      expect(yield* runningOf).toEqual({ solo: 1 })

      yield* Scope.close(first, Exit.void)
      expect(yield* Fiber.join(waiter)).toBe("solo")
      expect(yield* runningOf).toEqual({ solo: 1 })
      yield* Scope.close(second, Exit.void)
      expect(yield* runningOf).toEqual({ solo: 0 })
    }).pipe(Effect.provide(AgentRegistry.layer([agent("solo", ["testing"], { maxConcurrent: 1 })]))))

  it.effect("a waiter takes whichever candidate frees first", () =>
    Effect.gen(function*() {
      const a = yield* Scope.make()
      const b = yield* Scope.make()
      expect(yield* acquireIn(a, { capabilities: ["testing"] })).toBe("x")
      expect(yield* acquireIn(b, { capabilities: ["testing"] })).toBe("y")
      const scope = yield* Scope.make()
      const waiter = yield* Effect.forkChild(acquireIn(scope, { capabilities: ["testing"] }), {
        startImmediately: true
      })
      yield* settle
      expect(waiter.pollUnsafe()).toBeUndefined()
      yield* Scope.close(b, Exit.void)
      expect(yield* Fiber.join(waiter)).toBe("y")
    }).pipe(Effect.provide(AgentRegistry.layer([
      agent("x", ["testing"], { priority: 8 }),
      agent("y", ["testing"], { priority: 2 })
    ]))))

  it.effect("an interrupted waiter leaves no slot taken", () =>
    Effect.gen(function*() {
      const first = yield* Scope.make()
      yield* acquireIn(first, { agentType: "solo" })
      const second = yield* Scope.make()
      const waiter = yield* Effect.forkChild(acquireIn(second, { agentType: "solo" }), { startImmediately: true })
      yield* settle
      yield* Fiber.interrupt(waiter)
      yield* Scope.close(first, Exit.void)
      expect(yield* runningOf).toEqual({ solo: 0 })
      const third = yield* Scope.make()
      expect(yield* acquireIn(third, { agentType: "solo" })).toBe("solo")
    }).pipe(Effect.provide(AgentRegistry.layer([agent("solo", ["testing"])]))))

  it.effect("registering an agent wakes waiters, which may take it", () =>
    Effect.gen(function*() {
      const registry = yield* Registry
      const first = yield* Scope.make()
      yield* acquireIn(first, { capabilities: ["testing"] })
      const second = yield* Scope.make()
      const waiter = yield* Effect.forkChild(acquireIn(second, { capabilities: ["testing"] }), {
        startImmediately: true
      })
      yield* settle
      expect(waiter.pollUnsafe()).toBeUndefined()
      yield* registry.register(agent("late", ["testing"]))
      expect(yield* Fiber.join(waiter)).toBe("late")
      const duplicate = yield* Effect.flip(registry.register(agent("late", ["testing"])))
      expect(duplicate.message).toBe("Agent \"late\" is registered twice")
    }).pipe(Effect.provide(AgentRegistry.layer([agent("early", ["testing"])]))))

  it.effect("the layer fails on duplicate agent names", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(
        Effect.provide(
          Registry.useSync((r) => r),
          AgentRegistry.layer([agent("a", ["testing"]), agent("a", ["research"])])
        )
      )
      expect(error._tag).toBe("DuplicateAgent")
    }))
})

describe("AgentRegistry routing table", () => {
  it.effect("task types route through the default table", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      expect(yield* acquireIn(scope, { taskType: "code_review" })).toBe("analyst")
      expect(yield* acquireIn(scope, { taskType: "docs" })).toBe("writer")
      expect(yield* acquireIn(scope, { taskType: "testing" })).toBe("tester")
      // the task's own capabilities take precedence over its type
      expect(yield* acquireIn(scope, { taskType: "docs", capabilities: ["testing"] })).toBe("tester")
      expect(AgentRegistry.defaultRouting["code_review"]).toEqual(["code_analysis"])
      expect(AgentRegistry.defaultRouting["documentation"]).toEqual(["documentation"])
      const error = yield* Effect.flip(acquireIn(scope, { taskType: "research" }))
      expect(error._tag).toBe("NoMatchingAgent")
    }).pipe(Effect.provide(AgentRegistry.layer([
      agent("analyst", ["code_analysis"], { maxConcurrent: 5 }),
      agent("writer", ["documentation"], { maxConcurrent: 5 }),
      agent("tester", ["testing"], { maxConcurrent: 5 })
    ]))))

  it.effect("custom routing entries are added to the defaults", () =>
    Effect.gen(function*() {
      const registry = yield* Registry
      expect(registry.routing["translate"]).toEqual(["translation"])
      expect(registry.routing["code_review"]).toEqual(["code_analysis", "testing"])
      expect(registry.routing["docs"]).toEqual(["documentation"])
      const names = (yield* registry.candidates({ taskType: "translate" })).map((a) => a.name)
      expect(names).toEqual(["translator"])
    }).pipe(Effect.provide(AgentRegistry.layer([
      Agent.fromFunction("translator", ["translation"], () => "hola", {
        capabilitySet: Capability.define(["translation"] as const)
      })
    ], { routing: { translate: ["translation"], code_review: ["code_analysis", "testing"] } }))))

  it.effect("replaceDefaultRouting starts from an empty table", () =>
    Effect.gen(function*() {
      const registry = yield* Registry
      expect(Object.keys(registry.routing)).toEqual(["mine"])
      // an unknown task type requires nothing: any agent fits
      expect((yield* registry.candidates({ taskType: "code_review" })).map((a) => a.name)).toEqual(["any"])
    }).pipe(Effect.provide(AgentRegistry.layer([agent("any", ["research"])], {
      routing: { mine: ["research"] },
      replaceDefaultRouting: true
    }))))

  it("requiredCapabilities drops duplicates", () => {
    expect(AgentRegistry.requiredCapabilities({}, { capabilities: ["a", "a", "b"] })).toEqual(["a", "b"])
    expect(AgentRegistry.requiredCapabilities({ x: ["c"] }, { taskType: "x" })).toEqual(["c"])
    expect(AgentRegistry.requiredCapabilities({ x: ["c"] }, { taskType: "toString" })).toEqual([])
  })
})

class Greeting extends Context.Service<Greeting, { readonly word: string }>()("test/Greeting") {}

describe("AgentRegistry.run", () => {
  it.effect("runs the request on the chosen agent with the services the layer captured", () =>
    Effect.gen(function*() {
      const registry = yield* Registry
      const result = yield* registry.run({ capabilities: ["research"] }, { ...request, description: "moon" })
      expect(result).toEqual({ agent: "greeter", response: { output: "hello moon", text: "hello moon" } })
      expect(yield* runningOf).toEqual({ greeter: 0 })
    }).pipe(Effect.provide(
      AgentRegistry.layer([
        Agent.fromFunction("greeter", ["research"], (req) =>
          Greeting.useSync((g) => `${g.word} ${req.description}`))
      ]).pipe(Layer.provide(Layer.succeed(Greeting, { word: "hello" })))
    )))

  it.effect("agent failures become AgentErrors and release the slot", () =>
    Effect.gen(function*() {
      const registry = yield* Registry
      const error = yield* Effect.flip(registry.run({ agentType: "broken" }, request))
      assert.strictEqual(error._tag, "AgentError")
      if (error._tag !== "AgentError") return
      expect(error.agent).toBe("broken")
      expect(error.reason).toBe("disk full")
      expect(yield* runningOf).toEqual({ broken: 0 })
    }).pipe(Effect.provide(AgentRegistry.layer([
      Agent.fromFunction("broken", ["file_operations"], () => Effect.fail(new Error("disk full")))
    ]))))
})
