/**
 * The standing guard of issue 9, definitions half: whatever a definition holds (hostile keys such as
 * `__proto__`, odd numbers, odd strings, deep nesting, CEL soup, things that are no definition at all),
 * `Plan.fromDefinition` and `Plan.diagnose` answer with a Plan or typed errors: never a defect, never a
 * throw, never a hang, never a polluted prototype. Small counts by default; `TROUPE_SOAK=1` for a long run.
 * (CEL conditions under the CEL layer are fuzzed in packages/cel/test/CelFuzz.test.ts.)
 */
import { describe, expect, it } from "@effect/vitest"
import { Hostile } from "@troupe/testing"
import { Cause, Effect, Exit } from "effect"
import * as fc from "fast-check"
import * as Plan from "../src/Plan.ts"
import * as Workflow from "../src/Workflow.ts"
import { isDefinitionError } from "../src/WorkflowError.ts"

/** Every own name of Object.prototype now, to check that nothing was added to it. */
const prototypeNames = () => Object.getOwnPropertyNames(Object.prototype).sort().join(",")

/** The outcome of decoding, with what went wrong described (for fast-check's counterexample). */
const decode = (definition: unknown): { readonly ok: boolean; readonly problem?: string } => {
  const started = performance.now()
  let exit: Exit.Exit<Plan.Plan, unknown>
  try {
    exit = Effect.runSyncExit(Plan.fromDefinition(definition))
  } catch (thrown) {
    return { ok: false, problem: `threw ${String(thrown)}` }
  }
  const ms = performance.now() - started
  if (ms > 5_000) return { ok: false, problem: `took ${Math.round(ms)} ms` }
  if (Exit.isSuccess(exit)) {
    // A decoded plan goes through Workflow.fromPlan (no handlers: typed errors for the task types) the same way.
    let built: Exit.Exit<unknown, unknown>
    try {
      built = Effect.runSyncExit(Workflow.fromPlan(exit.value, { handlers: {} }) as Effect.Effect<unknown, unknown>)
    } catch (thrown) {
      return { ok: false, problem: `fromPlan threw ${String(thrown)}` }
    }
    if (Exit.isFailure(built) && Cause.findErrorOption(built.cause)._tag === "None") {
      return { ok: false, problem: `fromPlan died: ${Cause.pretty(built.cause).slice(0, 500)}` }
    }
    return { ok: true }
  }
  const failure = Cause.findErrorOption(exit.cause)
  if (failure._tag === "None") return { ok: false, problem: `a defect: ${Cause.pretty(exit.cause).slice(0, 500)}` }
  const error = failure.value
  if (!isDefinitionError(error)) return { ok: false, problem: `an untyped failure: ${String(error)}` }
  // The message of the error is readable (hostile values are described without trusting them).
  if (typeof error.message !== "string" || error.message.length === 0) return { ok: false, problem: "no message" }
  return { ok: true }
}

describe("definition fuzzing (issue 9 standing guard)", () => {
  it("Plan.fromDefinition only ever gives a Plan or a typed DefinitionError", () => {
    const before = prototypeNames()
    fc.assert(
      fc.property(Hostile.definition(), (definition) => {
        const outcome = decode(definition)
        if (!outcome.ok) throw new Error(outcome.problem)
        expect(prototypeNames()).toBe(before)
        expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined()
      }),
      { numRuns: Hostile.runs(150) }
    )
  }, 120_000)

  it("Plan.diagnose never throws and reports problems with paths", () => {
    fc.assert(
      fc.property(Hostile.definition(), (definition) => {
        const exit = Effect.runSyncExit(Plan.diagnose(definition))
        if (Exit.isFailure(exit)) throw new Error(`diagnose failed: ${Cause.pretty(exit.cause).slice(0, 500)}`)
        for (const problem of exit.value.problems) {
          expect(typeof problem.path).toBe("string")
          expect(typeof problem.message).toBe("string")
        }
      }),
      { numRuns: Hostile.runs(100) }
    )
  }, 120_000)

  it("known hostile shapes: inherited task ids, deep parameters, odd numbers", () => {
    const samples: ReadonlyArray<unknown> = [
      { name: "wf", tasks: [{ id: "__proto__" }, { id: "b", depends_on: ["__proto__"] }] },
      { name: "wf", tasks: [{ id: "constructor" }, { id: "toString", depends_on: ["constructor", "hasOwnProperty"] }] },
      { name: "wf", tasks: [{ id: "a", parameters: Hostile.nested(10_000) }] },
      { name: "wf", tasks: [{ id: "a", retry: { max_retries: Number.NaN } }] },
      { name: "wf", tasks: [{ id: "a", timeout: Number.POSITIVE_INFINITY, priority: -0 }] },
      { name: "wf", max_parallel: Number.NaN, tasks: [{ id: "a" }] },
      { name: "wf", tasks: [{ id: "a", condition: "(".repeat(5_000) + "true" + ")".repeat(5_000) }] },
      JSON.parse(`{"name":"wf","__proto__":{"polluted":1},"tasks":[{"id":"a","__proto__":{"depends_on":["x"]}}]}`),
      Hostile.nested(20_000),
      Object.create(null)
    ]
    for (const sample of samples) {
      const outcome = decode(sample)
      expect(outcome.problem).toBeUndefined()
    }
    expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined()
  })
})
