/**
 * Property tests of capability routing over generated registries and task requirements (fast-check).
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Scope } from "effect"
import * as fc from "fast-check"
import * as Agent from "../src/Agent.ts"
import * as AgentRegistry from "../src/AgentRegistry.ts"
import type * as Capability from "../src/Capability.ts"

const universe: ReadonlyArray<Capability.Builtin> = ["code_analysis", "testing", "debugging", "research"]

interface AgentSpec {
  readonly capabilities: ReadonlyArray<Capability.Builtin>
  readonly priority: number
  readonly maxConcurrent: number
}

type RequirementSpec =
  | { readonly kind: "caps"; readonly capabilities: ReadonlyArray<Capability.Builtin> }
  | { readonly kind: "type"; readonly index: number }

const agentSpec: fc.Arbitrary<AgentSpec> = fc.record({
  capabilities: fc.subarray([...universe]),
  // a small range makes equal priorities (ties) common
  priority: fc.integer({ min: 1, max: 4 }),
  maxConcurrent: fc.integer({ min: 1, max: 3 })
})

const registrySpec = fc.array(agentSpec, { minLength: 1, maxLength: 6 })

const requirementSpec: fc.Arbitrary<RequirementSpec> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant("caps" as const),
      capabilities: fc.subarray([...universe], { maxLength: 2 })
    })
  },
  // indexes past the registry's end name unknown agents
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("type" as const), index: fc.nat({ max: 7 }) }) }
)

const nameOf = (i: number) => `agent${i}`

const toRequirement = (spec: RequirementSpec): AgentRegistry.Requirement =>
  spec.kind === "type" ? { agentType: nameOf(spec.index) } : { capabilities: spec.capabilities }

const covers = (agent: AgentSpec, spec: RequirementSpec, index: number): boolean =>
  spec.kind === "type" ? spec.index === index : spec.capabilities.every((c) => agent.capabilities.includes(c))

const settle = Effect.gen(function*() {
  for (let i = 0; i < 20; i++) yield* Effect.yieldNow
})

const request: Agent.AgentRequest = {
  taskId: "t",
  description: "d",
  parameters: {},
  dependencies: {},
  skills: [],
  attempt: 1
}

const layerOf = (specs: ReadonlyArray<AgentSpec>, run?: (name: string) => Effect.Effect<unknown>) =>
  AgentRegistry.layer(specs.map((spec, i) =>
    Agent.fromFunction(nameOf(i), spec.capabilities, () => (run ?? Effect.succeed)(nameOf(i)), {
      priority: spec.priority,
      maxConcurrent: spec.maxConcurrent
    })
  ))

const runProperty = <A>(effect: Effect.Effect<A, unknown>) => Effect.runPromise(effect)

describe("routing properties", () => {
  it("matches the reference model: covering agent or explicit type, best free slot, waits when full", async () => {
    await fc.assert(
      fc.asyncProperty(registrySpec, fc.array(requirementSpec, { minLength: 1, maxLength: 16 }), (specs, reqs) =>
        runProperty(Effect.gen(function*() {
          const registry = yield* AgentRegistry.AgentRegistry
          const held = yield* Scope.make()
          const running = specs.map(() => 0)
          const waiters: Array<{ spec: RequirementSpec; fiber: Fiber.Fiber<string, unknown> }> = []

          for (const spec of reqs) {
            const candidates = specs.flatMap((agent, i) => covers(agent, spec, i) ? [i] : [])
            if (candidates.length === 0) {
              const error = yield* Effect.flip(Effect.scoped(registry.acquire(toRequirement(spec))))
              expect(error._tag).toBe(spec.kind === "type" ? "UnknownAgent" : "NoMatchingAgent")
              continue
            }
            const free = candidates
              .filter((i) => running[i]! < specs[i]!.maxConcurrent)
              .sort((a, b) =>
                specs[b]!.priority - specs[a]!.priority || running[a]! - running[b]! || a - b
              )
            if (free.length > 0) {
              const lease = yield* registry.acquire(toRequirement(spec)).pipe(Scope.provide(held))
              expect(lease.agent.name).toBe(nameOf(free[0]!))
              running[free[0]!]!++
            } else {
              // every candidate is full: the acquisition waits (acquires and releases once served)
              const fiber = yield* Effect.forkChild(
                Effect.scoped(Effect.map(registry.acquire(toRequirement(spec)), (lease) => lease.agent.name)),
                { startImmediately: true }
              )
              yield* settle
              expect(fiber.pollUnsafe()).toBeUndefined()
              waiters.push({ spec, fiber })
            }
          }

          const load = yield* registry.load
          expect(load.map((l) => l.running)).toEqual(running)
          for (const l of load) expect(l.running).toBeLessThanOrEqual(l.maxConcurrent)

          // freeing the held slots serves every waiter, each on a covering agent (or its explicit type)
          yield* Scope.close(held, Exit.void)
          for (const { fiber, spec } of waiters) {
            const name = yield* Fiber.join(fiber)
            const index = Number(name.slice("agent".length))
            expect(covers(specs[index]!, spec, index)).toBe(true)
          }
          expect((yield* registry.load).every((l) => l.running === 0)).toBe(true)
        }).pipe(Effect.provide(layerOf(specs))))
      ),
      { numRuns: 300 }
    )
  })

  it("never runs more than maxConcurrent tasks on an agent, and every task lands on a fitting agent", async () => {
    await fc.assert(
      fc.asyncProperty(
        registrySpec,
        fc.array(requirementSpec, { minLength: 1, maxLength: 30 }),
        fc.integer({ min: 1, max: 5 }),
        (specs, reqs, work) => {
          const inFlight = new Map<string, number>()
          const peak = new Map<string, number>()
          // each run yields `work` times while counted as in flight, so runs overlap
          const run = (name: string) =>
            Effect.gen(function*() {
              const now = (inFlight.get(name) ?? 0) + 1
              inFlight.set(name, now)
              peak.set(name, Math.max(peak.get(name) ?? 0, now))
              for (let i = 0; i < work; i++) yield* Effect.yieldNow
              inFlight.set(name, (inFlight.get(name) ?? 1) - 1)
              return name
            })
          const routable = reqs.filter((spec) => specs.some((agent, i) => covers(agent, spec, i)))
          return runProperty(Effect.gen(function*() {
            const registry = yield* AgentRegistry.AgentRegistry
            const results = yield* Effect.forEach(
              routable,
              (spec) => Effect.map(registry.run(toRequirement(spec), request), (r) => ({ spec, agent: r.agent })),
              { concurrency: "unbounded" }
            )
            expect(results.length).toBe(routable.length)
            for (const { agent, spec } of results) {
              const index = Number(agent.slice("agent".length))
              expect(covers(specs[index]!, spec, index)).toBe(true)
            }
            specs.forEach((spec, i) => {
              expect(peak.get(nameOf(i)) ?? 0).toBeLessThanOrEqual(spec.maxConcurrent)
            })
            expect((yield* registry.load).every((l) => l.running === 0)).toBe(true)
          }).pipe(Effect.provide(layerOf(specs, run))))
        }
      ),
      { numRuns: 200 }
    )
  })

  it("spreads load across equal agents within one task of each other", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 0, max: 25 }),
        fc.array(fc.boolean(), { maxLength: 3 }),
        (equal, maxConcurrent, priority, extra, noise) =>
          runProperty(Effect.gen(function*() {
            const registry = yield* AgentRegistry.AgentRegistry
            const held = yield* Scope.make()
            const n = Math.min(extra + 1, equal * maxConcurrent + 3)
            // hold n leases at once; those beyond the equal agents' capacity wait
            const fibers = yield* Effect.forEach(
              Array.from({ length: n }, (_, i) => i),
              () =>
                Effect.forkChild(registry.acquire({ capabilities: ["testing"] }).pipe(Scope.provide(held)), {
                  startImmediately: true
                })
            )
            yield* settle
            const load = yield* registry.load
            const equalLoads = load.filter((l) => l.name.startsWith("equal")).map((l) => l.running)
            expect(equalLoads.reduce((a, b) => a + b, 0)).toBe(Math.min(n, equal * maxConcurrent))
            expect(Math.max(...equalLoads) - Math.min(...equalLoads)).toBeLessThanOrEqual(1)
            for (const l of load) expect(l.running).toBeLessThanOrEqual(l.maxConcurrent)
            // agents without the capability get nothing, whatever their priority
            for (const l of load.filter((l) => l.name.startsWith("other"))) expect(l.running).toBe(0)
            // lower-priority covering agents only take what the equal ones cannot, spread evenly too;
            // with none of them, the rest waits
            const lowLoads = load.filter((l) => l.name.startsWith("low")).map((l) => l.running)
            const overflow = Math.max(0, n - equal * maxConcurrent)
            expect(lowLoads.reduce((a, b) => a + b, 0)).toBe(lowLoads.length === 0 ? 0 : overflow)
            if (lowLoads.length > 0) expect(Math.max(...lowLoads) - Math.min(...lowLoads)).toBeLessThanOrEqual(1)
            const waiting = fibers.filter((f) => f.pollUnsafe() === undefined).length
            expect(waiting).toBe(lowLoads.length === 0 ? overflow : 0)
            yield* Fiber.interruptAll(fibers)
            yield* Scope.close(held, Exit.void)
          }).pipe(Effect.provide(AgentRegistry.layer([
            ...noise.map((covering, i) =>
              covering
                ? Agent.fromFunction(`low${i}`, ["testing"], () => 0, { priority: 1, maxConcurrent: 10 })
                : Agent.fromFunction(`other${i}`, ["research"], () => 0, { priority: 10, maxConcurrent: 10 })
            ),
            ...Array.from({ length: equal }, (_, i) =>
              Agent.fromFunction(`equal${i}`, ["testing"], () => 0, { priority: priority + 1, maxConcurrent }))
          ]))))
      ),
      { numRuns: 300 }
    )
  })
})
