/**
 * Property tests against reference models: for any interval, work duration and overlap policy, the fires
 * that start (and when) are exactly what the policy says, over 12 simulated hours; for any downtime and
 * catch-up count, a restart runs exactly the fires the missed-run policy says.
 */
import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import { Clock, Context, Effect, Exit, Layer, Scope } from "effect"
import { TestClock } from "effect/testing"
import { Schedules } from "@troupe/core"

const MIN = 60_000
const HORIZON = 12 * 60 * MIN

/** The starts the policy should produce (ms from the beginning), as a reference model. */
const model = (interval: number, work: number, overlap: Schedules.Overlap): Array<number> => {
  const fires: Array<number> = []
  for (let f = interval; f <= HORIZON; f += interval) fires.push(f)
  if (overlap === "allow") return fires
  const starts: Array<number> = []
  let busyUntil = -Infinity
  if (overlap === "skip") {
    for (const f of fires) {
      if (f >= busyUntil) {
        starts.push(f)
        busyUntil = f + work
      }
    }
    return starts
  }
  for (const f of fires) {
    const s = Math.max(f, busyUntil)
    if (s > HORIZON) break
    starts.push(s)
    busyUntil = s + work
  }
  return starts
}

const observe = (interval: number, work: number, overlap: Schedules.Overlap) =>
  Effect.gen(function*() {
    const starts: Array<number> = []
    const schedules = yield* Schedules.Schedules
    yield* schedules.add({
      id: "p",
      when: Schedules.every(interval),
      overlap,
      target: Schedules.effect<void>("p", () =>
        Effect.gen(function*() {
          starts.push(yield* Clock.currentTimeMillis)
          yield* Effect.sleep(work)
        }))
    })
    yield* TestClock.adjust(HORIZON)
    const history = yield* schedules.history("p")
    return { starts, history }
  }).pipe(Effect.provide(Schedules.layer({ historyLimit: 10_000 }).pipe(Layer.provide(Schedules.layerStoreMemory))))

describe("Schedules properties", () => {
  it("overlap policies start exactly the fires the policy allows, at the right instants", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 5, max: 120 }),
        fc.integer({ min: 0, max: 300 }),
        fc.constantFrom<Schedules.Overlap>("skip", "queue", "allow"),
        async (intervalMin, workMin, overlap) => {
          const interval = intervalMin * MIN
          // Half a minute off the grid, so a fire never lands on the instant the previous one finishes.
          const work = workMin * MIN + 30_000
          const { history, starts } = await Effect.runPromise(
            observe(interval, work, overlap).pipe(Effect.provide(TestClock.layer()), Effect.scoped)
          )
          expect(starts).toEqual(model(interval, work, overlap))
          // Every fire is in the history exactly once.
          const fires = Math.floor(HORIZON / interval)
          expect(history).toHaveLength(fires)
          expect(new Set(history.map((r) => r.at.getTime())).size).toBe(fires)
          if (overlap === "skip") {
            expect(history.filter((r) => r.status === "skipped")).toHaveLength(fires - starts.length)
          }
        }
      ),
      { numRuns: 60 }
    )
  }, 60_000)

  it("a restart after any downtime runs exactly the fires the missed-run policy says", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 5, max: 120 }),
        fc.integer({ min: 0, max: 5 * 3600 }),
        fc.integer({ min: 0, max: 10 * 3600 }),
        fc.integer({ min: 0, max: 3 }),
        async (intervalMin, upSeconds, downSeconds, catchUp) => {
          const interval = intervalMin * MIN
          const t1 = upSeconds * 1000
          const restart = t1 + downSeconds * 1000
          // Reference model.
          const firstRun: Array<number> = []
          for (let f = interval; f <= t1; f += interval) firstRun.push(f)
          const due: Array<number> = []
          for (let f = (firstRun.length + 1) * interval; f <= restart; f += interval) due.push(f)
          const latest = due.at(-1)
          const onTime = latest !== undefined && restart - latest <= 60_000
          const late = onTime ? due.slice(0, -1) : due
          const caught = late.slice(late.length - Math.min(catchUp, late.length))
          // The second process lives one more second after the restart: a fire due in that second is an
          // ordinary fire, not a missed one.
          const after: Array<number> = []
          for (let f = (firstRun.length + due.length + 1) * interval; f <= restart + 1000; f += interval) after.push(f)
          const expected = [
            ...caught.map((at) => ({ at, catchUp: true })),
            ...(onTime ? [{ at: latest!, catchUp: false }] : []),
            ...after.map((at) => ({ at, catchUp: false }))
          ]
          const missed = late.length - caught.length

          const store = Schedules.makeMemoryStore()
          const log: Array<{ at: number; catchUp: boolean }> = []
          const definition = {
            id: "m",
            when: Schedules.every(interval),
            missed: { catchUp } as const,
            target: Schedules.effect<void>("m", (_, fire) => Effect.sync(() => void log.push({ at: fire.at.getTime(), catchUp: fire.catchUp })))
          }
          const process = <A>(body: (s: Schedules.SchedulesApi) => Effect.Effect<A, unknown>) =>
            Effect.gen(function*() {
              const scope = yield* Scope.make()
              const ctx = yield* Layer.build(Schedules.layer().pipe(Layer.provide(Layer.succeed(Schedules.Store, store)))).pipe(
                Scope.provide(scope)
              )
              const out = yield* body(Context.get(ctx, Schedules.Schedules))
              yield* Scope.close(scope, Exit.void)
              return out
            })
          const history = await Effect.runPromise(
            Effect.gen(function*() {
              yield* process((s) => Effect.andThen(s.add(definition), TestClock.adjust(t1)))
              yield* TestClock.adjust(restart - t1)
              return yield* process((s) =>
                Effect.gen(function*() {
                  yield* s.add(definition)
                  yield* TestClock.adjust("1 second")
                  return yield* s.history("m")
                })
              )
            }).pipe(Effect.provide(TestClock.layer()), Effect.scoped)
          )
          expect(log.slice(0, firstRun.length)).toEqual(firstRun.map((at) => ({ at, catchUp: false })))
          expect(log.slice(firstRun.length)).toEqual(expected)
          const missedRecords = history.filter((r) => r.status === "missed")
          expect(missedRecords.map((r) => r.count)).toEqual(missed > 0 ? [missed] : [])
        }
      ),
      { numRuns: 100, examples: [[5, 2095, 4, 0], [5, 2095, 4, 2], [5, 300, 0, 1]] }
    )
  }, 60_000)
})
