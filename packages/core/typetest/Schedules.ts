/**
 * Type tests for schedules: a target fixes the input type; inputs (values or functions of the fire time)
 * are checked against it; the target's services are required by `add`.
 */
import { Effect } from "effect"
import { expectTypeOf } from "vitest"
import { Orchestrator, Schedules, Workflow } from "@troupe/core"

const report = Workflow.make<"report", { readonly day: string }>("report")
  .task("summary", ({ input }) => Effect.succeed(input.day))

const program = Effect.gen(function*() {
  const schedules = yield* Schedules.Schedules
  const info = yield* schedules.add({
    id: "daily",
    when: Schedules.cron("0 9 * * *"),
    target: Schedules.workflow(report),
    input: (at) => {
      expectTypeOf(at).toEqualTypeOf<Date>()
      return { day: at.toISOString() }
    }
  })
  expectTypeOf(info.nextFireAt).toEqualTypeOf<Date | undefined>()
  yield* schedules.add({ id: "v", when: Schedules.every("1 hour"), target: Schedules.workflow(report), input: { day: "x" } })
  // @ts-expect-error the workflow's input needs a day
  yield* schedules.add({ id: "bad", when: Schedules.every("1 hour"), target: Schedules.workflow(report), input: { date: "x" } })
  yield* schedules.add({
    id: "bad-fn",
    when: Schedules.every("1 hour"),
    target: Schedules.workflow(report),
    // @ts-expect-error the function must return the workflow's input
    input: (at: Date) => at.getTime()
  })
  // An Orchestrator job target needs the Orchestrator.
  return yield* schedules.add({ id: "job", when: Schedules.every("1 minute"), target: Schedules.job((n: number) => n * 2), input: 21 })
})
expectTypeOf<Effect.Services<typeof program>>().toEqualTypeOf<Schedules.Schedules | Orchestrator.Orchestrator>()
expectTypeOf<Effect.Error<typeof program>>().toEqualTypeOf<
  Schedules.DefinitionError | Schedules.ScheduleExists | Schedules.ScheduleStoreError
>()

// Policies are closed sets.
// @ts-expect-error "drop" is not an overlap policy
const overlap: Schedules.Overlap = "drop"
void overlap
const missed: Schedules.Missed = { catchUp: 3 }
void missed
