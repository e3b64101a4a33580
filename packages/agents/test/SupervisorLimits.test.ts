/**
 * The supervisor's subtasks under the parent run's limits (issue 8): they run as a child workflow of the
 * supervisor task (`TaskInfo.runWorkflow`), so a parent `maxParallel` bounds them, and the supervisor gives
 * its own slot up while they run.
 */
import { describe, expect, it } from "@effect/vitest"
import { Engine, Workflow } from "@troupe/core"
import { Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"
import * as Agent from "../src/Agent.ts"
import * as AgentRegistry from "../src/AgentRegistry.ts"
import * as Patterns from "../src/Patterns.ts"

describe("supervisor subtasks and the parent's maxParallel", () => {
  it.effect("a parent run with maxParallel 2 never has more than 2 supervisor subtasks running at once", () =>
    Effect.gen(function*() {
      const inFlight = { now: 0, max: 0 }
      const lead = Agent.fromFunction("lead", ["general_purpose"], (request) =>
        request.parameters.phase === "plan"
          ? { subtasks: [1, 2, 3, 4, 5].map((n) => ({ agent: "worker", description: `part ${n}` })) }
          : "combined")
      const worker = Agent.fromFunction("worker", ["general_purpose"], (request) =>
        Effect.acquireUseRelease(
          Effect.sync(() => {
            inFlight.now++
            inFlight.max = Math.max(inFlight.max, inFlight.now)
          }),
          () => Effect.sleep("1 second").pipe(Effect.as(request.description)),
          () => Effect.sync(() => inFlight.now--)
        ), { maxConcurrent: 10 })
      const wf = Workflow.make("parent", { maxParallel: 2 })
        .task("work", Patterns.supervisor({ description: "split the work", supervisor: "lead", agents: ["worker"] }))
      const fiber = yield* Effect.forkChild(
        Engine.run(wf).pipe(Effect.provide(AgentRegistry.layer([lead, worker])))
      )
      yield* TestClock.adjust("10 seconds")
      const result = yield* Fiber.join(fiber)
      expect(result.outputs.work.subtasks).toHaveLength(5)
      // exactly 2: the supervisor gave its own slot up while its subtasks ran
      expect(inFlight.max).toBe(2)
    }))
})
