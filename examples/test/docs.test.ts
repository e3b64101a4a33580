/**
 * The runnable examples in docs/examples: each one runs and produces what its page says.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"
import { Engine } from "@troupe/core"
import * as caching from "../../docs/examples/caching.ts"
import * as childWorkflows from "../../docs/examples/child-workflows.ts"
import * as controlFlow from "../../docs/examples/control-flow.ts"
import * as events from "../../docs/examples/events.ts"
import * as orchestrator from "../../docs/examples/orchestrator.ts"
import * as plans from "../../docs/examples/plans.ts"
import * as resilience from "../../docs/examples/resilience.ts"
import * as running from "../../docs/examples/running.ts"
import * as visualize from "../../docs/examples/visualize.ts"
import * as workflows from "../../docs/examples/workflows.ts"

describe("docs examples", () => {
  it.live("workflows.ts", () =>
    Effect.gen(function*() {
      const result = yield* Engine.run(workflows.withNotify, { version: "1.2.0" })
      expect(result.outputs.notify).toBe("sent: dist.tgz with 1 notes")
      expect((yield* Engine.run(workflows.parent)).outputs.report).toBe("square is 49")
      expect((yield* Engine.run(workflows.left)).outputs.left).toBe(2)
      expect((yield* Engine.run(workflows.right)).outputs).toEqual({ a: 1, right: 10 })
      expect((yield* Engine.run(workflows.fromSteps, "url")).outputs["report"]).toBe(
        "url → url → url → fetch → parse → report"
      )
    }))

  it.effect("child-workflows.ts: a child started at run time runs under the parent's maxParallel", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.forkChild(childWorkflows.program, { startImmediately: true })
      yield* TestClock.adjust("20 millis")
      expect(yield* Fiber.join(fiber)).toEqual({
        report: "a.ts: ok, b.ts: ok, c.ts: ok, d.ts: ok",
        maxInFlight: 2,
        paths: ["checkAll/checks/a.ts", "checkAll/checks/b.ts", "checkAll/checks/c.ts", "checkAll/checks/d.ts"]
      })
    }))

  it.live("plans.ts", () =>
    Effect.gen(function*() {
      expect(yield* plans.program).toEqual({
        design: "design done",
        backend: "backend done",
        frontend: "frontend done",
        tests: "tests done"
      })
    }))
  it.live("plans.ts: loops in data through Workflow.fromPlan", () =>
    Effect.gen(function*() {
      expect(yield* plans.loops).toEqual(["0. intro", "1. usage", "2. faq"])
    }))

  it.live("control-flow.ts", () =>
    Effect.gen(function*() {
      expect(yield* controlFlow.program).toEqual({ loaded: 2, fetched: [2, 2, 2, 2], polls: 3 })
    }))

  it.live("running.ts", () =>
    Effect.gen(function*() {
      const { events, outputs } = yield* running.withHandle
      expect(outputs.summary).toBe("2 ok")
      expect(events.at(-1)).toBe("RunCompleted")
    }))

  it.live("resilience.ts", () =>
    Effect.gen(function*() {
      const result = yield* Engine.run(resilience.checkout, undefined, { perKeyLimit: 1 })
      expect(result.outputs.ship).toBe("c-1 + 1 recommendations")
      const byId = Object.fromEntries(result.state.tasks.map((t) => [t.id, t]))
      expect(byId.charge!.attempts).toBe(3)
      expect(byId.recommend!.fallbackUsed).toBe(true)
    }))

  it.live("caching.ts", () =>
    Effect.gen(function*() {
      const { cached, stats } = yield* caching.program.pipe(Effect.provide(caching.memory))
      expect(cached).toEqual(["fetch", "render"])
      expect(stats.hits).toBe(2)
    }))

  it.live("visualize.ts", () =>
    Effect.gen(function*() {
      const out = yield* visualize.program
      expect(out.mermaid.startsWith("graph TD")).toBe(true)
      expect(out.svg).toContain("<svg")
      expect(out.ascii).toContain("← backend, frontend")
    }))

  it.live("events.ts", () =>
    Effect.gen(function*() {
      const out = yield* events.program
      expect(out.log).toContain("uploaded sales.csv (1024 bytes)")
      expect(out.log).toContain("TaskCompleted index") // the triggered run of ingest
      expect(out.log).toContain("TaskCompleted job") // a job is a task too
      expect(out).toMatchObject({ triggered: 1, uploads: 2, slowDropped: 1 })
      expect(out.invalid).toContain("file.uploaded")
    }))

  it.live("orchestrator.ts", () =>
    Effect.gen(function*() {
      const out = yield* orchestrator.withEffect
      expect(out.sum).toBe(6)
      expect(out.doubled).toBe(42)
      expect(out.report).toContain("WORKFLOW PERFORMANCE REPORT")
      expect(yield* Effect.promise(orchestrator.withPromises)).toBe(6)
      expect(yield* orchestrator.restart).toEqual([2, 4]) // both jobs resumed after the "restart"
    }))
})
