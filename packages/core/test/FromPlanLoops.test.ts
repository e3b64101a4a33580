/**
 * Workflow.fromPlan applies the loops a data definition declares (`loop: for_each | while`, agent-plan
 * spellings included), so a library user gets the same behaviour as `troupe run`: the handler runs once
 * per item (bounded by the loop's concurrency) or while the condition holds.
 */
import { describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"
import { Engine, Expression, Loop, Plan, Task, Workflow } from "@troupe/core"
import type { RunEvent } from "@troupe/core"

/**
 * A toy expression language for loop conditions: `<task>.<field> < <n>` holds when the task's output is
 * null or its field is below n, `<task>.<field> >= <n>` when the output is not null and its field is at
 * least n. Just enough to test the wiring; @troupe/cel is the real language.
 */
const toy: Expression.Language = {
  name: "toy",
  compile: (source, known) => {
    const match = /^(\w+)\.(\w+) (<|>=) (\d+)$/.exec(source)
    if (match === null) return { message: `cannot read "${source}"`, offset: 0 }
    const [, task, field, op, bound] = match as unknown as [string, string, string, string, string]
    const below = op === "<"
    if (!known.includes(task)) return { message: `unknown task "${task}"`, offset: 0 }
    return {
      source,
      references: [task],
      evaluate: (scope) => {
        const output = scope.results[task]?.output as Readonly<Record<string, unknown>> | null | undefined
        if (output === null || output === undefined) return below
        const value = output[field]
        return typeof value === "number" ? (value < Number(bound)) === below : { message: `no number "${field}"` }
      }
    }
  }
}
const withToy = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.provideService(effect, Expression.ExpressionLanguage, toy)

/** An agent plan, spelled as the system Troupe replaces writes it. */
const research = (loopOfRead: Record<string, unknown>) => ({
  plan_id: "research",
  steps: [
    { step_id: "plan", agent_id: "planner" },
    { step_id: "read", agent_id: "reader", dependencies: ["plan"], loop: loopOfRead },
    {
      step_id: "refine",
      agent_id: "editor",
      dependencies: ["read"],
      loop: { type: "while", condition: "refine.score < 3", max_iterations: 5 }
    }
  ]
})

const agents = (inFlight: { now: number; max: number }) => ({
  agent: (node: Plan.PlanNode, ctx: Readonly<Record<string, unknown>>) => {
    switch (node.agentType) {
      case "planner":
        return { sources: ["paper", "blog", "talk", "video"] }
      case "reader":
        return Effect.acquireUseRelease(
          Effect.sync(() => {
            inFlight.now++
            inFlight.max = Math.max(inFlight.max, inFlight.now)
          }),
          () =>
            node.parameters.source === "talk"
              ? Effect.fail(`cannot read the ${String(node.parameters.source)}`).pipe(Effect.delay("10 millis"))
              : Effect.succeed(`${String(node.parameters.index)}: ${String(node.parameters.source)}`).pipe(
                Effect.delay("10 millis")
              ),
          () => Effect.sync(() => inFlight.now--)
        )
      case "editor":
        return { score: Number(node.parameters.iteration) + 1, read: (ctx.read as ReadonlyArray<unknown>).length }
      default:
        return Effect.fail(`no agent ${String(node.agentType)}`)
    }
  }
})

const runOnClock = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.forkChild(effect)
    yield* TestClock.adjust("1 minute")
    return yield* Fiber.await(fiber)
  })

describe("Workflow.fromPlan: loops declared in data", () => {
  it.effect("for_each runs the handler per item (item_var, index), at most `concurrency` at once; while repeats", () =>
    Effect.gen(function*() {
      const plan = yield* Plan.fromDefinition(
        research({ type: "for_each", items: "plan.sources", item_var: "source", concurrency: 2, failure_mode: "continue" })
      )
      const inFlight = { now: 0, max: 0 }
      const wf = yield* Workflow.fromPlan(plan, { handlers: agents(inFlight) })
      const events: Array<RunEvent.RunEvent> = []
      const exit = yield* runOnClock(Engine.run(wf, undefined, { onEvent: (e) => events.push(e) }))
      expect(exit._tag).toBe("Success")
      const outputs = exit._tag === "Success" ? exit.value.outputs : {}
      expect(outputs["read"]).toStrictEqual([
        { ok: true, value: "0: paper" },
        { ok: true, value: "1: blog" },
        { ok: false, error: "cannot read the talk" },
        { ok: true, value: "3: video" }
      ])
      expect(inFlight.max).toBe(2)
      // Three rounds: the condition holds before the first (null) and after scores 1 and 2.
      expect(outputs["refine"]).toStrictEqual({ score: 3, read: 4 })
      const iterations = events.flatMap((e) => e._tag === "TaskIteration" ? [`${e.taskId}#${e.iteration}:${e.status}`] : [])
      expect(iterations.filter((i) => i.startsWith("read#") && i.endsWith("started"))).toHaveLength(4)
      expect(iterations).toContain("read#2:failed")
      expect(iterations.filter((i) => i.startsWith("refine#"))).toStrictEqual([
        "refine#0:started",
        "refine#0:completed",
        "refine#1:started",
        "refine#1:completed",
        "refine#2:started",
        "refine#2:completed"
      ])
    }).pipe(withToy))

  it.effect("fail-fast for_each fails the task with the item's error; a while loop over its limit fails with LoopLimitExceeded", () =>
    Effect.gen(function*() {
      const failFast = yield* Plan.fromDefinition(research({ type: "for_each", items: "plan.sources", as: "source" }))
      const wf = yield* Workflow.fromPlan(failFast, { handlers: agents({ now: 0, max: 0 }) })
      const exit = yield* runOnClock(Effect.flip(Engine.run(wf)))
      const error = exit._tag === "Success" ? exit.value : undefined
      expect(error?._tag).toBe("WorkflowFailed")
      const failure = error?._tag === "WorkflowFailed" ? error.failures[0] : undefined
      expect(failure?.taskId).toBe("read")
      expect(failure === undefined ? undefined : Cause.findErrorOption(failure.cause)).toMatchObject({
        _tag: "Some",
        value: "cannot read the talk"
      })

      const endless = yield* Plan.fromDefinition({
        id: "endless",
        tasks: [{ id: "grow", task_type: "grow", loop: { type: "while", condition: "grow.size < 100", max_iterations: 3 } }]
      })
      const grow = yield* Workflow.fromPlan(endless, { handlers: { grow: (node) => ({ size: Number(node.parameters.iteration) }) } })
      const limit = yield* Effect.flip(Engine.run(grow))
      const reason = limit._tag === "WorkflowFailed" ? Cause.findErrorOption(limit.failures[0]!.cause) : undefined
      expect(reason).toMatchObject({ _tag: "Some", value: { _tag: "LoopLimitExceeded", taskId: "grow", maxIterations: 3 } })
      expect(reason?._tag === "Some" && reason.value instanceof Loop.LoopLimitExceeded).toBe(true)
    }).pipe(withToy))

  it.effect("until repeats until the condition holds, checked before each run (as Loop.until)", () =>
    Effect.gen(function*() {
      const plan = yield* Plan.fromDefinition({
        id: "count",
        tasks: [{ id: "count", task_type: "count", loop: { type: "until", condition: "count.done >= 1", max_iterations: 10 } }]
      })
      expect(plan.nodes[0]!.loop).toMatchObject({ _tag: "While", until: true, maxIterations: 10 })
      const seen: Array<unknown> = []
      const wf = yield* Workflow.fromPlan(plan, {
        handlers: {
          count: (node) => {
            seen.push(node.parameters.iteration)
            return { done: Number(node.parameters.iteration) >= 2 ? 1 : 0 }
          }
        }
      })
      // null does not hold, runs 0 and 1 give done 0, run 2 gives done 1: three runs.
      expect((yield* Engine.run(wf)).outputs["count"]).toStrictEqual({ done: 1 })
      expect(seen).toStrictEqual([0, 1, 2])
      // `do_until` is the same loop; a condition that holds before the first run runs nothing.
      const at = yield* Plan.fromDefinition({
        id: "none",
        tasks: [{ id: "none", task_type: "count", loop: { type: "do_until", condition: "none.done < 5", max_iterations: 3 } }]
      })
      const none = yield* Workflow.fromPlan(at, { handlers: { count: () => ({ done: 0 }) } })
      expect((yield* Engine.run(none)).outputs["none"]).toBe(null)
    }).pipe(withToy))

  it.effect("a task-value handler sees each item in its node; items that are not a list are a LoopError", () =>
    Effect.gen(function*() {
      const seen: Array<unknown> = []
      const record = Task.make({}, (_ctx: unknown) => Effect.succeed("done"))
      const handler: Task.Task<string, never, never, unknown> = {
        ...record,
        run: (ctx, info) => Effect.sync(() => seen.push(info.node.parameters.item)).pipe(Effect.andThen(record.run(ctx, info)))
      }
      const plan = yield* Plan.fromDefinition({
        id: "each",
        tasks: [
          { id: "list", task_type: "list" },
          { id: "each", task_type: "each", loop: { type: "for_each", items: [1, 2, 3] } },
          { id: "bad", task_type: "each", depends_on: ["list"], loop: { type: "for_each", items: "list.rows" } }
        ]
      })
      const wf = yield* Workflow.fromPlan(plan, { handlers: { each: handler, list: () => ({ rows: "not a list" }) } })
      const error = yield* Effect.flip(Engine.run(wf, undefined, { failureMode: "continue" }))
      expect(seen).toStrictEqual([1, 2, 3])
      expect(error._tag === "WorkflowFailed" ? error.outputs["each"] : undefined).toStrictEqual(["done", "done", "done"])
      const failure = error._tag === "WorkflowFailed" ? error.failures[0] : undefined
      expect(failure?.taskId).toBe("bad")
      const loopError = failure === undefined ? undefined : Cause.findErrorOption(failure.cause)
      expect(loopError).toMatchObject({ _tag: "Some", value: { _tag: "LoopError", taskId: "bad" } })
      expect(loopError?._tag === "Some" ? (loopError.value as Loop.LoopError).message : "").toBe(
        `loop of task "bad": "list.rows" is not a list`
      )
    }))
})
