/**
 * Property tests of the resilience features over random DAGs (from `@troupe/testing`'s `Dags`) on
 * TestClock: resource pools and per-key limits are never exceeded (counted inside the handlers and in the
 * events), dispatch is fair between concurrency keys, compensations run exactly once each in reverse
 * completion order for exactly the completed tasks, and the deadline cancels everything at its time.
 */
import { describe, expect, it } from "@effect/vitest"
import { Cause, Duration, Effect, Exit, Option } from "effect"
import * as fc from "fast-check"
import { Engine, Policy, type RunEvent, type Task, Workflow, WorkflowError } from "@troupe/core"
import { Dags, RunAssertions } from "@troupe/testing"

const NUM_RUNS = 60

type Events = ReadonlyArray<RunEvent.RunEvent>

const isEnd = (e: RunEvent.RunEvent): e is RunEvent.TaskEvent =>
  e._tag === "TaskCompleted" || e._tag === "TaskFailed" || e._tag === "TaskSkipped" || e._tag === "TaskCancelled"

const record = <A, E>(run: (options: Engine.RunOptions) => Effect.Effect<A, E>, options: Engine.RunOptions, advanceMs: number) =>
  Effect.gen(function*() {
    const recording = RunAssertions.record()
    const exit = yield* RunAssertions.runOnTestClock(run({ ...options, onEvent: recording.onEvent }), { advanceMs })
    return { exit, events: recording.events as Events }
  })

/** The declaration index of a DAG node. */
const indexOf = (dag: Dags.Dag, id: string): number => {
  const index = dag.nodes.findIndex((node) => node.id === id)
  if (index < 0) throw new Error(`no node "${id}"`)
  return index
}

/** A DAG workflow as a workflow without input, to hand to `Engine.run`. */
const runnable = <E>(wf: Dags.DagWorkflow<E, never>) => wf as unknown as Workflow.Workflow<"dag", void, {}, E>

// -----------------------------------------------------------------------------
// Limits
// -----------------------------------------------------------------------------

const POOLS = ["gpu", "db"] as const
const KEYS = ["acme", "globex", "initech"] as const

interface Demand {
  readonly gpu: number
  readonly db: number
  readonly key: string | undefined
  readonly retries: number
}

const limitsArb = Dags.arbitrary({ maxNodes: 40, maxDeps: 3, maxDurationMs: 30 }).chain((dag) =>
  fc.record({
    dag: fc.constant(dag),
    capacity: fc.record({ gpu: fc.integer({ min: 1, max: 3 }), db: fc.integer({ min: 1, max: 4 }) }),
    raw: fc.array(
      fc.record({
        gpu: fc.nat(3),
        db: fc.nat(4),
        key: fc.option(fc.constantFrom(...KEYS), { nil: undefined }),
        retries: fc.nat(2)
      }),
      { minLength: dag.nodes.length, maxLength: dag.nodes.length }
    ),
    perKeyLimit: fc.integer({ min: 1, max: 3 }),
    maxParallel: fc.oneof(fc.constant<"unbounded">("unbounded"), fc.integer({ min: 1, max: 8 })),
    failing: Dags.failures(dag),
    failureMode: fc.constantFrom<Engine.FailureMode>("fail-fast", "continue")
  })
)

describe("resilience properties (random DAGs on TestClock)", () => {
  it.effect("no resource pool, key limit or maxParallel is ever exceeded (inside handlers and in the events)", () =>
    RunAssertions.property(limitsArb, ({ dag, capacity, raw, perKeyLimit, maxParallel, failing, failureMode }) =>
      Effect.gen(function*() {
        // Demands never exceed a pool (that would be a definition error, tested elsewhere).
        const demands: ReadonlyArray<Demand> = raw.map((r) => ({
          ...r,
          gpu: r.gpu % (capacity.gpu + 1),
          db: r.db % (capacity.db + 1)
        }))
        const inUse = { gpu: 0, db: 0 }
        const perKey = new Map<string, number>()
        let running = 0
        const violations: Array<string> = []
        const sleeping = Dags.sleeping({ failing })
        const guard = (node: Dags.DagNode) =>
          Effect.suspend(() => {
            const d = demands[node.index]!
            running++
            if (maxParallel !== "unbounded" && running > maxParallel) violations.push(`${running} running`)
            for (const pool of POOLS) {
              inUse[pool] += d[pool]
              if (inUse[pool] > capacity[pool]) violations.push(`${pool}: ${inUse[pool]} > ${capacity[pool]}`)
            }
            if (d.key !== undefined) {
              const n = (perKey.get(d.key) ?? 0) + 1
              perKey.set(d.key, n)
              if (n > perKeyLimit) violations.push(`key ${d.key}: ${n} > ${perKeyLimit}`)
            }
            return sleeping(node).pipe(Effect.onExit(() =>
              Effect.sync(() => {
                running--
                for (const pool of POOLS) inUse[pool] -= d[pool]
                if (d.key !== undefined) perKey.set(d.key, perKey.get(d.key)! - 1)
              })
            ))
          })
        const wf = Dags.toWorkflow(dag, {
          handler: guard,
          attributes: (node): Task.Attributes => {
            const d = demands[node.index]!
            return {
              resources: { gpu: d.gpu, db: d.db },
              ...(d.key === undefined ? {} : { concurrencyKey: d.key }),
              ...(d.retries === 0 ? {} : { retry: Policy.fixed({ maxRetries: d.retries, initialDelay: "3 millis" }) })
            }
          }
        })
        const { exit, events } = yield* record((o) => Engine.run(runnable(wf), undefined, o), {
          resources: capacity,
          perKeyLimit,
          maxParallel,
          failureMode
        }, Dags.totalWork(dag) * 3 + 20)
        expect(violations).toEqual([])
        // The same, from the events alone: a task holds its units from its first TaskStarted to its end.
        const held = { gpu: 0, db: 0 }
        const keys = new Map<string, number>()
        const holding = new Set<string>()
        for (const e of events) {
          if (e._tag === "TaskStarted" && e.attempt === 1) {
            const d = demands[indexOf(dag, e.taskId)]!
            holding.add(e.taskId)
            for (const pool of POOLS) {
              held[pool] += d[pool]
              expect(held[pool]).toBeLessThanOrEqual(capacity[pool])
            }
            if (d.key !== undefined) {
              keys.set(d.key, (keys.get(d.key) ?? 0) + 1)
              expect(keys.get(d.key)).toBeLessThanOrEqual(perKeyLimit)
            }
          } else if (isEnd(e) && holding.delete(e.taskId)) {
            const d = demands[indexOf(dag, e.taskId)]!
            for (const pool of POOLS) held[pool] -= d[pool]
            if (d.key !== undefined) keys.set(d.key, keys.get(d.key)! - 1)
          }
        }
        if (maxParallel !== "unbounded") RunAssertions.assertConcurrencyAtMost(events, maxParallel)
        RunAssertions.assertWellFormed(events, dag.nodes.map((n) => n.id))
        RunAssertions.assertDependenciesFirst(dag, events)
        expect(Exit.isSuccess(exit)).toBe(failing.size === 0)
        expect(running).toBe(0)
      }), { numRuns: NUM_RUNS }))

  // ---------------------------------------------------------------------------
  // Fairness
  // ---------------------------------------------------------------------------

  const fairnessArb = fc.integer({ min: 2, max: 4 }).chain((keyCount) =>
    fc.integer({ min: 3, max: 20 }).chain((perKey) => {
      const slots = Array.from({ length: keyCount * perKey }, (_, i) => i % keyCount)
      return fc.record({
        keyCount: fc.constant(keyCount),
        // A random declaration order of perKey tasks for each key.
        order: fc.shuffledSubarray(slots, { minLength: slots.length, maxLength: slots.length }),
        durations: fc.array(fc.integer({ min: 1, max: 50 }), { minLength: slots.length, maxLength: slots.length }),
        priorities: fc.array(fc.integer({ min: 1, max: 10 }), { minLength: slots.length, maxLength: slots.length })
      })
    })
  )

  it.effect("fairness: with keys always ready (perKeyLimit 1, maxParallel 1) no key falls more than one dispatch behind", () =>
    RunAssertions.property(fairnessArb, ({ keyCount, order, durations, priorities }) =>
      Effect.gen(function*() {
        const dag = Dags.make(order.map((_, i) => [durations[i]!, [], priorities[i] as Task.Priority] as const))
        const keyOf = (id: string) => `k${order[indexOf(dag, id)]!}`
        const wf = Dags.toWorkflow(dag, {
          handler: Dags.sleeping(),
          attributes: (node) => ({ concurrencyKey: keyOf(node.id) })
        })
        const { exit, events } = yield* record((o) => Engine.run(runnable(wf), undefined, o), {
          perKeyLimit: 1,
          maxParallel: 1
        }, Dags.totalWork(dag))
        expect(Exit.isSuccess(exit)).toBe(true)
        const dispatched = events.flatMap((e) => (e._tag === "TaskStarted" ? [keyOf(e.taskId)] : []))
        expect(dispatched).toHaveLength(order.length)
        const counts = new Map<string, number>()
        for (let k = 0; k < keyCount; k++) counts.set(`k${k}`, 0)
        dispatched.forEach((key, position) => {
          counts.set(key, counts.get(key)! + 1)
          const values = [...counts.values()]
          const spread = Math.max(...values) - Math.min(...values)
          if (spread > 1) {
            throw new Error(`after ${position + 1} dispatches the counts per key are ${JSON.stringify([...counts])}`)
          }
        })
      }), { numRuns: NUM_RUNS }))

  it.effect("fairness with two keys and uneven backlogs: alternate while both have work, then drain the rest", () =>
    RunAssertions.property(
      fc.record({ a: fc.integer({ min: 1, max: 25 }), b: fc.integer({ min: 1, max: 25 }), aFirst: fc.boolean() }),
      ({ a, b, aFirst }) =>
        Effect.gen(function*() {
          const keys = aFirst
            ? [...Array(a).fill("A"), ...Array(b).fill("B")]
            : [...Array(b).fill("B"), ...Array(a).fill("A")]
          const dag = Dags.make(keys.map(() => [10, []] as const))
          const wf = Dags.toWorkflow(dag, {
            handler: Dags.sleeping(),
            attributes: (node) => ({ concurrencyKey: keys[node.index]! })
          })
          const { events } = yield* record((o) => Engine.run(runnable(wf), undefined, o), {
            perKeyLimit: 1,
            maxParallel: 1
          }, Dags.totalWork(dag))
          const dispatched = events.flatMap((e) => (e._tag === "TaskStarted" ? [keys[indexOf(dag, e.taskId)]!] : []))
          const first = keys[0]!
          const second = first === "A" ? "B" : "A"
          const pairs = Math.min(a, b)
          const expected = [
            ...Array.from({ length: pairs }, () => [first, second]).flat(),
            ...Array(keys.length - 2 * pairs).fill(a > b ? "A" : "B")
          ]
          expect(dispatched.join("")).toBe(expected.join(""))
        }),
      { numRuns: NUM_RUNS }
    ))

  // ---------------------------------------------------------------------------
  // Compensation
  // ---------------------------------------------------------------------------

  /** The builder with `.compensate`, for generated ids. */
  interface SagaBuilder {
    readonly task: (
      id: string,
      options: Task.Attributes & { readonly dependsOn: ReadonlyArray<string> },
      handler: () => Effect.Effect<unknown, unknown>
    ) => SagaBuilder
    readonly compensate: (f: (output: unknown) => Effect.Effect<unknown, unknown>) => SagaBuilder
  }

  const sagaArb = Dags.arbitrary({ maxNodes: 30, maxDeps: 3, maxDurationMs: 20 }).chain((dag) =>
    fc.record({
      dag: fc.constant(dag),
      failing: Dags.failures(dag, { minSize: 1, maxSize: 1 }),
      compensable: fc.array(fc.boolean(), { minLength: dag.nodes.length, maxLength: dag.nodes.length }),
      // About a quarter of the compensations fail.
      undoFails: fc.array(fc.integer({ min: 0, max: 3 }).map((n) => n === 0), {
        minLength: dag.nodes.length,
        maxLength: dag.nodes.length
      }),
      undoMs: fc.array(fc.integer({ min: 0, max: 5 }), { minLength: dag.nodes.length, maxLength: dag.nodes.length }),
      maxParallel: fc.oneof(fc.constant<"unbounded">("unbounded"), fc.integer({ min: 1, max: 6 })),
      mode: fc.constantFrom<"fail-fast" | "continue+compensate">("fail-fast", "continue+compensate")
    })
  )

  it.effect("compensations run exactly once each, in reverse completion order, for exactly the completed tasks", () =>
    RunAssertions.property(sagaArb, ({ dag, failing, compensable, undoFails, undoMs, maxParallel, mode }) =>
      Effect.gen(function*() {
        const calls: Array<{ readonly id: string; readonly output: unknown }> = []
        const sleeping = Dags.sleeping({ failing })
        let builder = Workflow.make("saga") as unknown as SagaBuilder
        for (const node of dag.nodes) {
          builder = builder.task(
            node.id,
            { dependsOn: node.deps.map(Dags.idOf), priority: node.priority },
            // A fresh object per task: the compensation must receive this very value.
            () => Effect.map(sleeping(node), (id) => ({ id }))
          )
          if (compensable[node.index] === true) {
            builder = builder.compensate((output) =>
              Effect.sleep(Duration.millis(undoMs[node.index]!)).pipe(
                Effect.andThen(Effect.sync(() => calls.push({ id: node.id, output }))),
                Effect.andThen(undoFails[node.index] === true ? Effect.fail("undo failed") : Effect.void)
              )
            )
          }
        }
        const wf = builder as unknown as Workflow.Workflow<"saga", void, {}, unknown>
        const { exit, events } = yield* record((o) => Engine.run(wf, undefined, o), {
          maxParallel,
          ...(mode === "fail-fast" ? { failureMode: "fail-fast" } : { failureMode: "continue", compensateOnFailure: true })
        }, Dags.totalWork(dag) + 5 * dag.nodes.length + 10)

        const completedEvents = events.filter((e): e is RunEvent.Of<"TaskCompleted"> => e._tag === "TaskCompleted")
        const expected = completedEvents.filter((e) => compensable[indexOf(dag, e.taskId)] === true).reverse()
        // Exactly the completed compensable tasks, once each, newest first, each with its own output.
        expect(calls.map((c) => c.id)).toEqual(expected.map((e) => e.taskId))
        calls.forEach((c, k) => expect(c.output).toBe(expected[k]!.output))
        // Reported in the error and in the events, failures included.
        if (Exit.isSuccess(exit)) throw new Error("the run should fail")
        const error = Option.getOrThrow(Cause.findErrorOption(exit.cause))
        if (!(error instanceof WorkflowError.WorkflowFailed)) throw new Error(`unexpected ${String(error)}`)
        expect(error.compensations.map((c) => [c.taskId, c.status])).toEqual(
          expected.map((e) => [e.taskId, undoFails[indexOf(dag, e.taskId)] === true ? "failed" : "completed"])
        )
        expect(
          events.flatMap((e) =>
            e._tag === "TaskCompensated"
              ? [[e.taskId, "completed"]]
              : e._tag === "CompensationFailed"
              ? [[e.taskId, "failed"]]
              : []
          )
        ).toEqual(error.compensations.map((c) => [c.taskId, c.status]))
        // The run ends after the last compensation.
        const last = events[events.length - 1]!
        expect(last._tag).toBe("RunFailed")
      }), { numRuns: NUM_RUNS }))

  // ---------------------------------------------------------------------------
  // Deadline
  // ---------------------------------------------------------------------------

  it.effect("the deadline cancels everything still running or pending at exactly its time and frees every slot", () =>
    RunAssertions.property(
      Dags.arbitrary({ minNodes: 2, maxNodes: 40, maxDurationMs: 40 }).chain((dag) =>
        fc.record({
          dag: fc.constant(dag),
          deadline: fc.integer({ min: 1, max: Math.max(1, Dags.criticalPath(dag) - 1) }),
          maxParallel: fc.oneof(fc.constant<"unbounded">("unbounded"), fc.integer({ min: 1, max: 6 }))
        })
      ),
      ({ dag, deadline, maxParallel }) =>
        Effect.gen(function*() {
          const probe = RunAssertions.probe()
          const sleeping = Dags.sleeping()
          const wf = Dags.toWorkflow(dag, { handler: (node) => probe.wrap(node.id, sleeping(node)) })
          const { exit, events } = yield* record((o) => Engine.run(runnable(wf), undefined, o), {
            maxParallel,
            deadline: Duration.millis(deadline)
          }, Dags.totalWork(dag) + 10)
          const timeline = RunAssertions.timeline(events)
          RunAssertions.assertWellFormed(events, dag.nodes.map((n) => n.id))
          expect(timeline.runEnd).toBe("RunFailed")
          expect(timeline.runEndedAt).toBe(deadline)
          for (const task of timeline.tasks.values()) {
            if (task.startedAt !== undefined) expect(task.startedAt).toBeLessThan(deadline)
            if (task.end === "cancelled") expect(task.endedAt).toBe(deadline)
            else expect(task.endedAt).toBeLessThanOrEqual(deadline)
          }
          // Everything that had not completed was cancelled: none failed, none left running.
          const completed = RunAssertions.idsWith(timeline, "completed")
          const cancelled = RunAssertions.idsWith(timeline, "cancelled")
          expect(completed.size + cancelled.size).toBe(dag.nodes.length)
          expect(cancelled.size).toBeGreaterThan(0)
          expect(probe.inFlight()).toBe(0)
          for (const id of cancelled) {
            if (probe.invocations.has(id)) expect(probe.interrupted.has(id)).toBe(true)
          }
          if (Exit.isSuccess(exit)) throw new Error("the run should fail")
          const error = Option.getOrThrow(Cause.findErrorOption(exit.cause))
          expect(error).toBeInstanceOf(WorkflowError.WorkflowTimeout)
          const timeout = error as WorkflowError.WorkflowTimeout
          expect(timeout.deadlineMs).toBe(deadline)
          RunAssertions.assertSameSet("completed in the error", timeout.completed, completed)
          expect(Object.keys(timeout.outputs).sort()).toEqual([...completed].sort())
        }),
      { numRuns: NUM_RUNS }
    ))
})
