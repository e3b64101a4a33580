/**
 * The standing guard of issue 9 for CEL: any expression text compiles or is an issue (never a throw,
 * never a RangeError, never a hang), any compiled condition evaluates over any scope to a boolean or an
 * issue, and data definitions with CEL conditions decode under `Cel.layer` to a Plan or a typed error.
 * Small counts by default; `TROUPE_SOAK=1` for a long run.
 */
import { describe, expect, it } from "@effect/vitest"
import { Cel } from "@troupe/cel"
import { Expression, Plan, WorkflowError } from "@troupe/core"
import { Hostile } from "@troupe/testing"
import { Cause, Effect, Exit, Result } from "effect"
import * as fc from "fast-check"

const within = <A>(ms: number, f: () => A): A => {
  const started = performance.now()
  const out = f()
  const took = performance.now() - started
  if (took > ms) throw new Error(`took ${Math.round(took)} ms`)
  return out
}

describe("CEL fuzzing (issue 9 standing guard)", () => {
  it("compile gives a compiled expression or an issue with an in-range offset, and evaluation never throws", () => {
    const scope = fc.record({
      input: Hostile.value({ maxDepth: 3, keys: ["flag", "x", "a"] }),
      results: fc.dictionary(
        fc.constantFrom("a", "b", "__proto__", "constructor"),
        fc.record({
          status: fc.constantFrom("completed" as const, "failed" as const, "skipped" as const),
          output: Hostile.value({ maxDepth: 3, keys: ["x"] })
        }),
        { maxKeys: 3 }
      )
    })
    fc.assert(
      fc.property(fc.oneof(Hostile.celExpression(["a", "b", "__proto__", "constructor"]), fc.string()), scope, (source, s) => {
        const compiled = within(5_000, () => Cel.compile(source, ["a", "b", "__proto__", "constructor"]))
        if (Expression.isIssue(compiled)) {
          expect(typeof compiled.message).toBe("string")
          if (compiled.offset !== undefined) {
            expect(compiled.offset).toBeGreaterThanOrEqual(0)
            expect(compiled.offset).toBeLessThanOrEqual(source.length)
          }
          return
        }
        const verdict = within(5_000, () => compiled.evaluate(s as Expression.Scope))
        expect(typeof verdict === "boolean" || Expression.isIssue(verdict)).toBe(true)
        const value = Cel.compileValue(source, ["a", "b", "__proto__", "constructor"])
        if (!Expression.isIssue(value)) {
          const r = value.evaluate(s as Expression.Scope)
          expect(Result.isSuccess(r) || Result.isFailure(r)).toBe(true)
        }
      }),
      { numRuns: Hostile.runs(200) }
    )
  }, 120_000)

  it("a task's result is seen exactly when the scope has it as an own entry, whatever its id", () => {
    const id = fc.oneof(fc.constantFrom(...Hostile.inheritedNames), fc.constantFrom("a", "build"), Hostile.oddString())
    fc.assert(
      fc.property(id, fc.boolean(), fc.constantFrom("completed" as const, "failed" as const), (taskId, present, status) => {
        const c = Cel.compile(`results[${JSON.stringify(taskId)}].status == 'completed'`, [taskId])
        if (Expression.isIssue(c)) {
          // CEL strings cannot hold lone surrogates; every other id can be written.
          if (/surrogate/.test(c.message)) return
          throw new Error(`${JSON.stringify(taskId)}: ${c.message}`)
        }
        const results: Record<string, unknown> = {}
        if (present) Object.defineProperty(results, taskId, { value: { status, output: null }, enumerable: true })
        const verdict = c.evaluate({ input: null, results } as unknown as Expression.Scope)
        if (present) expect(verdict).toBe(status === "completed")
        else expect(verdict).toEqual({ message: `field not found: ${taskId}`, offset: 0 })
      }),
      { numRuns: Hostile.runs(200) }
    )
  })

  it("definitions with CEL conditions decode under Cel.layer to a Plan or a typed error", () => {
    fc.assert(
      fc.property(Hostile.definition(), (definition) => {
        const exit = within(5_000, () => Effect.runSyncExit(Plan.fromDefinition(definition).pipe(Effect.provide(Cel.layer))))
        if (Exit.isSuccess(exit)) return
        const error = Cause.findErrorOption(exit.cause)
        if (error._tag === "None") throw new Error(`a defect: ${Cause.pretty(exit.cause).slice(0, 500)}`)
        expect(WorkflowError.isDefinitionError(error.value)).toBe(true)
      }),
      { numRuns: Hostile.runs(150) }
    )
  }, 120_000)
})
