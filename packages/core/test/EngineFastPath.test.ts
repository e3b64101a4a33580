/**
 * The engine's quiet path: when nobody but the state tracker listens to a run (no `onEvent`, no
 * `onProgress`, no handle stream), a task's first `TaskStarted` and its `TaskCompleted` are folded into the
 * tracker by position without being built. The state a run ends with must be the same as when every event
 * is built and seen by a listener: this property runs random DAGs both ways and compares the results.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import * as fc from "fast-check"
import { Engine, Workflow } from "@troupe/core"

/** How task `i` produces its output: an Effect, a Promise, a plain value, or an Effect with a retry policy. */
type Kind = "effect" | "promise" | "value" | "retried" | "failing"

interface Spec {
  readonly deps: ReadonlyArray<ReadonlyArray<number>>
  readonly kinds: ReadonlyArray<Kind>
}

const specArb: fc.Arbitrary<Spec> = fc.integer({ min: 1, max: 24 }).chain((n) =>
  fc.record({
    deps: fc.tuple(
      ...Array.from({ length: n }, (_, i) =>
        i === 0 ? fc.constant<ReadonlyArray<number>>([]) : fc.uniqueArray(fc.integer({ min: 0, max: i - 1 }), { maxLength: 3 }))
    ),
    kinds: fc.array(fc.constantFrom<Kind>("effect", "promise", "value", "retried", "failing"), {
      minLength: n,
      maxLength: n
    })
  })
)

/** The builder with loosely typed ids (the ids are generated). */
interface LooseBuilder {
  readonly task: (
    id: string,
    options: Record<string, unknown>,
    handler: (ctx: Record<string, unknown>) => unknown
  ) => LooseBuilder
}

const build = (spec: Spec) => {
  let wf = Workflow.make("fast-path") as unknown as LooseBuilder
  spec.kinds.forEach((kind, i) => {
    const dependsOn = spec.deps[i]!.map((d) => `t${d}`)
    const sum = (ctx: Record<string, unknown>) =>
      dependsOn.reduce((total, d) => total + (ctx[d] as number), i)
    const handler = (ctx: Record<string, unknown>): unknown =>
      kind === "effect" || kind === "retried"
        ? Effect.succeed(sum(ctx))
        : kind === "promise"
        ? Promise.resolve(sum(ctx))
        : kind === "failing"
        ? Effect.fail(`t${i} failed`)
        : sum(ctx)
    wf = wf.task(`t${i}`, kind === "retried" ? { dependsOn, retry: { maxRetries: 1 } } : { dependsOn }, handler)
  })
  return wf as unknown as Workflow.Workflow<"fast-path", void, Record<string, number>, string>
}

const runBoth = (spec: Spec) =>
  Effect.gen(function*() {
    const wf = build(spec)
    const options = { runId: "r", failureMode: "continue" as const }
    const quiet = yield* Effect.exit(Engine.run(wf, undefined, options))
    const seen: Array<string> = []
    const heard = yield* Effect.exit(Engine.run(wf, undefined, { ...options, onEvent: (e) => seen.push(e._tag) }))
    return { quiet, heard, seen }
  })

describe("Engine quiet path", () => {
  it.effect("a run nobody listens to ends in the same state as one whose events are all built (random DAGs)", () =>
    Effect.promise(() =>
      fc.assert(
        fc.asyncProperty(specArb, async (spec) => {
          const { heard, quiet, seen } = await Effect.runPromise(runBoth(spec))
          expect(Exit.isSuccess(quiet)).toBe(Exit.isSuccess(heard))
          if (Exit.isSuccess(quiet) && Exit.isSuccess(heard)) {
            expect(quiet.value.outputs).toEqual(heard.value.outputs)
            // Timings are wall-clock here: the state is compared without them.
            const strip = (state: typeof quiet.value.state) =>
              state.tasks.map(({ durationMs: _d, finishedAt: _f, startedAt: _s, ...task }) => task)
            expect(strip(quiet.value.state)).toEqual(strip(heard.value.state))
            expect(quiet.value.state.progress).toEqual(heard.value.state.progress)
            expect(seen.filter((tag) => tag === "TaskStarted")).toHaveLength(spec.kinds.length)
          } else {
            expect(quiet).toEqual(heard)
          }
        }),
        { numRuns: Number(process.env.TROUPE_FAST_PATH_RUNS ?? 60) }
      )
    ))
})
