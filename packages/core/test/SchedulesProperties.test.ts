/**
 * Property tests of the overlap policies against a reference model: for any interval, work duration and
 * policy, the fires that start (and when) are exactly what the policy says, over 12 simulated hours.
 */
import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import { Clock, Effect, Layer } from "effect"
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
})
