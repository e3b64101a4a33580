/**
 * Token and money budgets (scripted agents: the logic, no server), and the coalescing of streamed text.
 */
import { assert, describe, expect, it } from "@effect/vitest"
import * as Engine from "@troupe/core/Engine"
import type * as RunEvent from "@troupe/core/RunEvent"
import * as Workflow from "@troupe/core/Workflow"
import { Cause, Effect, Exit, Fiber, Layer, Option } from "effect"
import { TestClock } from "effect/testing"
import * as Agent from "../src/Agent.ts"
import * as AgentRegistry from "../src/AgentRegistry.ts"
import * as AgentTask from "../src/AgentTask.ts"
import * as Budget from "../src/Budget.ts"

/** An agent whose every answer used 100 tokens (60 in, 40 out) of model "small". */
const calls: Array<string> = []
const scripted = Agent.make({
  name: "scripted",
  capabilities: ["research"],
  maxConcurrent: 4,
  run: (request) =>
    Effect.sync(() => {
      calls.push(request.taskId)
      return { output: `done ${request.taskId}`, usage: { inputTokens: 60, outputTokens: 40, model: "small" } }
    })
})

const step = (description: string) => AgentTask.make({ description, requires: ["research"] })

// a chain of four agent tasks and one independent one
const chain = Workflow.make("chain")
  .task("a", step("a"))
  .task("b", { dependsOn: ["a"] }, step("b"))
  .task("c", { dependsOn: ["b"] }, step("c"))
  .task("d", { dependsOn: ["c"] }, step("d"))

const registry = AgentRegistry.layer([scripted])

const failureOf = (exit: Exit.Exit<unknown, unknown>, taskId: string): unknown => {
  assert.isTrue(Exit.isFailure(exit))
  const error = Exit.isFailure(exit) ? Cause.findErrorOption(exit.cause) : Option.none()
  assert.isTrue(Option.isSome(error))
  const failed = (error as Option.Some<{ readonly failures: ReadonlyArray<{ taskId: string; cause: Cause.Cause<unknown> }> }>).value
  const failure = failed.failures.find((f) => f.taskId === taskId)
  assert.isDefined(failure)
  return Option.getOrUndefined(Cause.findErrorOption(failure!.cause))
}

describe("Budget", () => {
  it.effect("a spent run budget stops the next agent task with BudgetExceeded; completed work is kept", () =>
    Effect.gen(function*() {
      calls.length = 0
      const exit = yield* Engine.run(chain).pipe(
        Effect.provide(Budget.layer({ name: "nightly", tokens: 250 })),
        Effect.provide(registry),
        Effect.exit
      )
      // a (100), b (200), c (300: allowed, 200 < 250 before it), d refused
      expect(calls).toEqual(["a", "b", "c"])
      const error = failureOf(exit, "d")
      assert.isTrue(Budget.isBudgetExceeded(error))
      const exceeded = error as Budget.BudgetExceeded
      expect(exceeded).toMatchObject({ budget: "nightly", taskId: "d", limit: { tokens: 250 }, spent: { tokens: 300, calls: 3 } })
      expect(exceeded.message).toContain(`Budget "nightly" (250 tokens) is spent: 300 tokens`)
      const failed = (Exit.isFailure(exit) ? Cause.findErrorOption(exit.cause) : Option.none()) as Option.Some<any>
      expect(failed.value.outputs).toMatchObject({ a: "done a", b: "done b", c: "done c" })
    }))

  it.effect("in continue mode every later agent task fails with BudgetExceeded, not retried; money budgets use the price table", () =>
    Effect.gen(function*() {
      calls.length = 0
      const wide = Workflow.make("wide", { maxParallel: 1 })
        .task("a", step("a"))
        .task("b", { dependsOn: ["a"] }, AgentTask.make({ description: "b", requires: ["research"], retry: { maxRetries: 3 } }))
        .task("c", { dependsOn: ["a"] }, step("c"))
      // $1 per million in, $2 per million out: 60 * 1 + 40 * 2 = 140 micro-dollars per call
      const exit = yield* Engine.run(wide, undefined, { failureMode: "continue" }).pipe(
        Effect.provide(Budget.layer({ usd: 0.0001, prices: { small: { inputPerMillion: 1, outputPerMillion: 2 } } })),
        Effect.provide(registry),
        Effect.exit
      )
      expect(calls).toEqual(["a"])
      for (const id of ["b", "c"]) {
        const error = failureOf(exit, id) as Budget.BudgetExceeded
        expect(error._tag).toBe("BudgetExceeded")
        expect(error.spent.usd).toBeCloseTo(0.00014, 10)
        expect(error.budget).toBe("run")
      }
    }))

  it.effect("each run gets a fresh ledger; a task budget counts that task's calls", () =>
    Effect.gen(function*() {
      calls.length = 0
      const budgetLayer = Budget.layer({ tokens: 1000 })
      for (let i = 0; i < 3; i++) {
        yield* Engine.run(chain).pipe(Effect.provide(budgetLayer), Effect.provide(registry))
      }
      expect(calls).toHaveLength(12)
      // a task whose budget allows one call: its retry is refused
      let attempts = 0
      const flaky = Agent.make({
        name: "flaky",
        capabilities: ["research"],
        run: () =>
          Effect.suspend(() => {
            attempts++
            return attempts === 1
              ? Effect.fail(new Agent.AgentError({ agent: "flaky", reason: "try again", retryable: true }))
              : Effect.succeed({ output: "ok" })
          })
      })
      const used = Agent.make({
        name: "used",
        capabilities: ["research"],
        run: () => Effect.succeed({ output: "x", usage: { inputTokens: 10, outputTokens: 0 } })
      })
      const once = Workflow.make("once").task(
        "t",
        AgentTask.make({ description: "t", agentType: "used", budget: { tokens: 5 } })
      )
      const exit = yield* Engine.run(once).pipe(Effect.provide(AgentRegistry.layer([used, flaky])), Effect.exit)
      expect(Exit.isSuccess(exit)).toBe(true) // the first call is allowed (nothing spent yet)
      const twice = Workflow.make("twice").task(
        "t",
        AgentTask.make({ description: "t", agentType: "used", budget: { tokens: 5 }, retry: { maxRetries: 2 } })
      ).task("u", { dependsOn: ["t"] }, AgentTask.make({ description: "u", agentType: "used", budget: { tokens: 5 } }))
      const ok = yield* Engine.run(twice).pipe(Effect.provide(AgentRegistry.layer([used, flaky])))
      expect(ok.outputs).toEqual({ t: "x", u: "x" }) // task budgets are per task
    }))

  it.effect("a budget of zero, a negative one or none at all is a typed InvalidBudget", () =>
    Effect.gen(function*() {
      const zero = yield* Effect.flip(Layer.build(Budget.layer({ name: "zero", tokens: 0 })).pipe(Effect.scoped))
      expect(zero).toMatchObject({ _tag: "InvalidBudget", budget: "zero", field: "tokens", value: 0 })
      expect(zero.message).toBe(`Budget "zero": tokens must be a positive finite number, got 0`)
      const negative = yield* Effect.flip(Budget.make({ usd: -1 }))
      expect(negative).toMatchObject({ field: "usd", value: -1 })
      const nan = yield* Effect.flip(Budget.make({ tokens: Number.NaN }))
      expect(nan.field).toBe("tokens")
      const none = yield* Effect.flip(Budget.make({}))
      expect(none.field).toBe("limits")
      // a task budget that is not positive fails the run's pre-run check: nothing runs
      calls.length = 0
      const wf = Workflow.make("bad")
        .task("a", step("a"))
        .task("b", AgentTask.make({ description: "b", requires: ["research"], budget: { tokens: -5 } }))
      const exit = yield* Engine.run(wf).pipe(Effect.provide(registry), Effect.exit)
      expect(Exit.isFailure(exit)).toBe(true)
      expect(calls).toEqual([])
      const invalid = failureOf(exit, "b") as Budget.InvalidBudget
      expect(invalid._tag).toBe("InvalidBudget")
      expect(invalid.message).toContain("tokens must be a positive finite number, got -5")
    }))
})

describe("streamed text", () => {
  it.effect("deltas are coalesced into bounded AgentText events; the final answer is unchanged", () =>
    Effect.gen(function*() {
      const deltas = Array.from({ length: 1000 }, (_, i) => `w${i} `)
      const streamer = Agent.make({
        name: "streamer",
        capabilities: ["research"],
        run: (request) =>
          Effect.gen(function*() {
            // 1000 deltas at once, then 3 more 150 ms apart (virtual time)
            for (const delta of deltas) yield* request.hooks!.text(delta)
            for (const delta of ["a", "b", "c"]) {
              yield* Effect.sleep("150 millis")
              yield* request.hooks!.text(delta)
            }
            return { output: deltas.join("") + "abc" }
          })
      })
      const wf = Workflow.make("stream").task("t", AgentTask.make({ description: "t", requires: ["research"] }))
      const events: Array<RunEvent.RunEvent> = []
      const fiber = yield* Engine.run(wf, undefined, { onEvent: (event) => events.push(event) }).pipe(
        Effect.provide(AgentRegistry.layer([streamer])),
        Effect.forkChild
      )
      yield* TestClock.adjust("1 second")
      const result = yield* Fiber.join(fiber)
      expect(result.outputs.t).toBe(deltas.join("") + "abc")
      const text = events.filter((e): e is RunEvent.Of<"AgentText"> => e._tag === "AgentText")
      // the first delta at once, then one event per 2000 pending characters, then one per 150 ms
      expect(text.length).toBeLessThan(12)
      expect(text.map((e) => e.delta).join("")).toBe(deltas.join("") + "abc")
      for (const event of text) {
        expect(event.delta.length).toBeLessThanOrEqual(2000)
        expect(event.text.length).toBeLessThanOrEqual(2000)
      }
      expect(text.at(-1)!.text.endsWith("w999 abc")).toBe(true)
      expect(text.at(-1)!).toMatchObject({ taskId: "t", agent: "streamer" })
    }))
})
