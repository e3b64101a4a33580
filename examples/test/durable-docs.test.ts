/**
 * The runnable example of docs/durable.md: a crash while a task is in flight, the resume, the run store and
 * the idempotency check.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as durable from "../../docs/examples/durable.ts"
import * as steps from "../../docs/examples/durable-steps.ts"

describe("docs examples: durable", () => {
  it.live("durable.ts: resumes after the crash without running finished tasks again", () =>
    Effect.gen(function*() {
      const result = yield* durable.demo()
      expect(result.outputs.invoice.issuedAt).toBeInstanceOf(Date)
      expect(result.outputs.email).toBe("mailed: charged 42 for inv-ada issued 2026-01-01")
      expect(result.skipped).toEqual(["invoice"])
      // `invoice` ran once (before the crash); `charge` was in flight and ran again; `email` ran once.
      expect(result.ran).toEqual(["invoice", "charge", "email"])
      expect(result.runs).toEqual(["bill-ada completed v1"])
      expect(result.states).toEqual(["invoice:completed", "charge:completed", "email:completed"])
      expect(result.conflict).toBe("IdempotencyConflict")
    }), 60_000)

  it.live("durable-steps.ts: a resumed supervisor neither plans again nor re-runs its child's finished task", () =>
    Effect.gen(function*() {
      const result = yield* steps.demo()
      expect(result.report).toBe("research launch: done; draft launch: done; review launch: done")
      expect(result.skipped).toEqual(["boss/team/step-1"])
      // The plan (a journaled step) ran once, before the crash; step-2 was in flight and ran again.
      expect(result.ran).toEqual(["plan", "step-1", "step-2", "step-3"])
    }), 60_000)
})
