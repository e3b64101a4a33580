/**
 * The standing guard of issue 9: generated runs (random DAGs on TestClock) with injected failures of every
 * kind (typed failures with hostile values, defects, throwing handlers, rejected Promises), retries,
 * throwing callbacks, failure modes, limits and interruptions keep the process alive (vitest fails a file
 * on any uncaught exception) and end every run with exactly one terminal event, last. Small counts in CI;
 * `TROUPE_SOAK=1` runs many more.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Logger, Stream } from "effect"
import { TestClock } from "effect/testing"
import * as fc from "fast-check"
import { Engine, Plan, Policy, RunEvent, RunState } from "@troupe/core"
import { Dags, RunAssertions } from "@troupe/testing"

// Detached callbacks are reported as warnings: not printed here (EngineHardening checks the report).
const silent = Logger.layer([])

const SOAK = process.env.TROUPE_SOAK === "1"
const NUM_RUNS = SOAK ? 2_000 : 60

type Fault = "fail" | "die" | "throw" | "reject" | "ok"
type Hostile = "null-proto" | "throwing-toString" | "proxy" | "plain" | "deep" | "undefined"

const hostileValue = (kind: Hostile): unknown => {
  switch (kind) {
    case "null-proto":
      return Object.create(null)
    case "throwing-toString":
      return {
        toString() {
          throw new Error("trap")
        }
      }
    case "proxy":
      return new Proxy({}, {
        get() {
          throw new Error("trap")
        },
        has() {
          throw new Error("trap")
        },
        getPrototypeOf() {
          throw new Error("trap")
        },
        ownKeys() {
          throw new Error("trap")
        }
      })
    case "deep": {
      let v: unknown = 0
      for (let i = 0; i < 5_000; i++) v = { v }
      return v
    }
    case "plain":
      return { reason: "plain" }
    case "undefined":
      return undefined
  }
}

interface Scenario {
  readonly dag: Dags.Dag
  readonly faults: ReadonlyArray<Fault>
  readonly hostile: Hostile
  readonly retry: boolean
  readonly continueOnFailure: boolean
  readonly maxParallel: number | "unbounded"
  /** The onEvent callback throws at this event (none when undefined). */
  readonly throwAt: number | undefined
  readonly progressThrows: boolean
  /** Interrupt the run after this many ms (none when undefined). */
  readonly interruptAfter: number | undefined
  readonly start: boolean
}

const scenario: fc.Arbitrary<Scenario> = Dags.arbitrary({ maxNodes: 25, maxDurationMs: 10 }).chain((dag) =>
  fc.record({
    dag: fc.constant(dag),
    faults: fc.array(fc.constantFrom<Fault>("ok", "ok", "ok", "fail", "die", "throw", "reject"), {
      minLength: dag.nodes.length,
      maxLength: dag.nodes.length
    }),
    hostile: fc.constantFrom<Hostile>("null-proto", "throwing-toString", "proxy", "plain", "deep", "undefined"),
    retry: fc.boolean(),
    continueOnFailure: fc.boolean(),
    maxParallel: fc.oneof(fc.constant<"unbounded">("unbounded"), fc.integer({ min: 1, max: 4 })),
    throwAt: fc.option(fc.nat({ max: 40 }), { nil: undefined }),
    progressThrows: fc.boolean(),
    interruptAfter: fc.option(fc.integer({ min: 0, max: 30 }), { nil: undefined }),
    start: fc.boolean()
  })
)

const handlerFor = (s: Scenario, node: Dags.DagNode) => () => {
  const fault = s.faults[node.index]!
  const sleep = Effect.sleep(`${node.durationMs} millis`)
  switch (fault) {
    case "ok":
      return sleep.pipe(Effect.as(node.id))
    case "fail":
      return sleep.pipe(Effect.andThen(Effect.fail(hostileValue(s.hostile))))
    case "die":
      return sleep.pipe(Effect.andThen(Effect.die(hostileValue(s.hostile))))
    case "throw":
      throw hostileValue(s.hostile)
    case "reject":
      return new Promise((_, reject) => setTimeout(() => reject(hostileValue(s.hostile)), 0))
  }
}

const check = (s: Scenario) =>
  Effect.gen(function*() {
    const events: Array<RunEvent.RunEvent> = []
    let seen = 0
    const wf = Dags.toWorkflow(s.dag, {
      // Called when the task runs: it may throw, return a failing Effect or a Promise that rejects.
      handler: (node) => handlerFor(s, node)() as Effect.Effect<unknown>,
      attributes: () => (s.retry ? { retry: Policy.fixed({ maxRetries: 1, initialDelay: "1 millis" }) } : {})
    })
    const throwing = (e: RunEvent.RunEvent) => {
      if (s.throwAt !== undefined && seen++ === s.throwAt) throw hostileValue(s.hostile)
      void e
    }
    // `run`: events are recorded by onProgress, onEvent throws; `start`: both callbacks may throw, and the
    // events are read from the handle's stream.
    const options: Engine.RunOptions = {
      maxParallel: s.maxParallel,
      failureMode: s.continueOnFailure ? "continue" : "fail-fast",
      onEvent: throwing,
      onProgress: s.start
        ? (s.progressThrows ? () => { throw new Error("progress bug") } : undefined)
        : (_p, e) => { events.push(e) }
    }
    let allEvents: ReadonlyArray<RunEvent.RunEvent> = events
    if (s.start) {
      const handle = yield* Engine.start(wf, undefined, options)
      const fiber = yield* Effect.forkChild(Effect.exit(handle.await), { startImmediately: true })
      if (s.interruptAfter !== undefined) {
        yield* TestClock.adjust(s.interruptAfter)
        yield* handle.cancel
      }
      yield* TestClock.adjust(Dags.totalWork(s.dag) * 2 + 10)
      for (let i = 0; i < 50 && fiber.pollUnsafe() === undefined; i++) {
        yield* Effect.promise(() => new Promise((r) => setTimeout(r, 0)))
        yield* TestClock.adjust(10)
      }
      expect(fiber.pollUnsafe(), "the run's await never ended").toBeDefined()
      const state = yield* handle.state
      expect(state.status).not.toBe("running")
      allEvents = yield* Stream.runCollect(handle.events)
    } else {
      const run = Engine.run(wf, undefined, options)
      const fiber = yield* Effect.forkChild(Effect.exit(run), { startImmediately: true })
      if (s.interruptAfter !== undefined) {
        yield* TestClock.adjust(s.interruptAfter)
        yield* Fiber.interrupt(fiber)
      } else {
        yield* TestClock.adjust(Dags.totalWork(s.dag) * 2 + 10)
        for (let i = 0; i < 50 && fiber.pollUnsafe() === undefined; i++) {
          yield* Effect.promise(() => new Promise((r) => setTimeout(r, 0)))
          yield* TestClock.adjust(10)
        }
        expect(fiber.pollUnsafe(), "the run never ended").toBeDefined()
      }
      const state = RunState.fold(Plan.fromWorkflow(wf), events[0]?.runId ?? "", events)
      if (events.length > 0) expect(state.status).not.toBe("running")
      allEvents = events
    }
    const terminals = allEvents.filter(RunEvent.isTerminal)
    expect(terminals).toHaveLength(1)
    expect(RunEvent.isTerminal(allEvents.at(-1)!)).toBe(true)
  })

describe("guard: generated hostile runs", () => {
  it.effect(`keep the process alive and end with exactly one terminal event (${NUM_RUNS} runs)`, () =>
    RunAssertions.property(scenario, (s) => check(s).pipe(Effect.provide(silent)), { numRuns: NUM_RUNS }), { timeout: SOAK ? 600_000 : 60_000 })
})
