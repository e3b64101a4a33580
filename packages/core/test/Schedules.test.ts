import { describe, expect, it } from "@effect/vitest"
import { Clock, Context, type Duration, Effect, Exit, Layer, Scope } from "effect"
import { TestClock } from "effect/testing"
import { Orchestrator, Schedules, Workflow } from "@troupe/core"

const iso = (ms: number) => new Date(ms).toISOString()
const t = (s: string) => Date.parse(s)

/** A target that records (scheduled time, actual start time) and optionally works for a while. */
const recorder = (log: Array<{ at: string; started: string; catchUp: boolean }>, workFor?: Duration.Input) =>
  Schedules.effect<void>("recorder", (_, fire) =>
    Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      log.push({ at: fire.at.toISOString(), started: iso(now), catchUp: fire.catchUp })
      if (workFor !== undefined) yield* Effect.sleep(workFor)
    }))

describe("Schedules", () => {
  it.effect("the seed's three examples fire at exactly the expected instants over three simulated weeks", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(t("2024-12-20T00:00:00Z")) // a Friday
      const schedules = yield* Schedules.Schedules
      const once: Array<{ at: string; started: string; catchUp: boolean }> = []
      const hourly: typeof once = []
      const monday: typeof once = []
      yield* schedules.add({ id: "once", when: Schedules.once("2024-12-25T09:00:00Z"), target: recorder(once) })
      yield* schedules.add({ id: "hourly", when: Schedules.every("3600 seconds"), target: recorder(hourly) })
      yield* schedules.add({ id: "monday", when: Schedules.cron("0 9 * * MON"), target: recorder(monday) })
      expect((yield* schedules.get("monday")).nextFireAt?.toISOString()).toBe("2024-12-23T09:00:00.000Z")

      for (let day = 0; day < 21; day++) yield* TestClock.adjust("1 day")

      expect(once).toEqual([{ at: "2024-12-25T09:00:00.000Z", started: "2024-12-25T09:00:00.000Z", catchUp: false }])
      expect(monday.map((f) => f.at)).toEqual([
        "2024-12-23T09:00:00.000Z",
        "2024-12-30T09:00:00.000Z",
        "2025-01-06T09:00:00.000Z"
      ])
      expect(hourly).toHaveLength(21 * 24)
      hourly.forEach((f, k) => expect(f.at).toBe(iso(t("2024-12-20T01:00:00Z") + k * 3_600_000)))
      // Every fire started at its scheduled instant, not later.
      for (const f of [...once, ...hourly, ...monday]) expect(f.started).toBe(f.at)
      expect((yield* schedules.get("once")).nextFireAt).toBeUndefined()
      expect((yield* schedules.history("hourly")).every((r) => r.status === "completed")).toBe(true)
    }).pipe(Effect.provide(Schedules.layerMemory)))

  it.effect("a cron in a named time zone follows daylight-saving changes", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(t("2026-03-27T00:00:00Z"))
      const schedules = yield* Schedules.Schedules
      const nine: Array<{ at: string; started: string; catchUp: boolean }> = []
      const twoThirty: typeof nine = []
      yield* schedules.add({
        id: "nine",
        when: Schedules.cron("0 9 * * *", { timeZone: "Europe/Berlin" }),
        target: recorder(nine)
      })
      yield* schedules.add({
        id: "two-thirty",
        when: Schedules.cron("30 2 * * *", { timeZone: "Europe/Berlin" }),
        target: recorder(twoThirty)
      })
      for (let day = 0; day < 4; day++) yield* TestClock.adjust("1 day")
      // 09:00 local: CET (UTC+1) until Sunday 29 March 2026, CEST (UTC+2) after.
      expect(nine.map((f) => f.at)).toEqual([
        "2026-03-27T08:00:00.000Z",
        "2026-03-28T08:00:00.000Z",
        "2026-03-29T07:00:00.000Z",
        "2026-03-30T07:00:00.000Z"
      ])
      // 02:30 does not exist on 29 March in Berlin (02:00 jumps to 03:00): that day it fires once, at
      // 03:30 local time (01:30Z), then at 02:30 CEST (00:30Z).
      expect(twoThirty.map((f) => f.at)).toEqual([
        "2026-03-27T01:30:00.000Z",
        "2026-03-28T01:30:00.000Z",
        "2026-03-29T01:30:00.000Z",
        "2026-03-30T00:30:00.000Z"
      ])

      // Autumn: 02:30 happens twice on 25 October 2026; by default only the earlier one fires.
      yield* TestClock.setTime(t("2026-10-24T12:00:00Z"))
      const autumn: typeof nine = []
      const both: typeof nine = []
      yield* schedules.add({
        id: "autumn",
        when: Schedules.cron("30 2 * * *", { timeZone: "Europe/Berlin" }),
        target: recorder(autumn)
      })
      yield* schedules.add({
        id: "autumn-both",
        when: Schedules.cron("30 2 * * *", { timeZone: "Europe/Berlin", onDstOverlap: "both" }),
        target: recorder(both)
      })
      yield* TestClock.adjust("1 day")
      expect(autumn.map((f) => f.at)).toEqual(["2026-10-25T00:30:00.000Z"])
      expect(both.map((f) => f.at)).toEqual(["2026-10-25T00:30:00.000Z", "2026-10-25T01:30:00.000Z"])
    }).pipe(Effect.provide(Schedules.layerMemory)))

  describe("overlap", () => {
    // Every 10 minutes, each fire works 25 minutes; one simulated hour.
    const scenario = (overlap: Schedules.Overlap) =>
      Effect.gen(function*() {
        const schedules = yield* Schedules.Schedules
        const log: Array<{ at: string; started: string; catchUp: boolean }> = []
        yield* schedules.add({ id: "slow", when: Schedules.every("10 minutes"), target: recorder(log, "25 minutes"), overlap })
        for (let k = 0; k < 60; k++) yield* TestClock.adjust("1 minute")
        const history = yield* schedules.history("slow")
        const info = yield* schedules.get("slow")
        return { started: log.map((f) => f.started.slice(11, 16)), history, info }
      }).pipe(Effect.provide(Schedules.layerMemory))

    it.effect("skip: a fire while the previous one runs is recorded as skipped", () =>
      Effect.gen(function*() {
        const { history, started } = yield* scenario("skip")
        expect(started).toEqual(["00:10", "00:40"])
        expect(history.map((r) => `${r.at.toISOString().slice(11, 16)} ${r.status}`)).toEqual([
          "00:10 completed",
          "00:20 skipped",
          "00:30 skipped",
          "00:40 running",
          "00:50 skipped",
          "01:00 skipped"
        ])
        expect(history[1]!.message).toContain("overlap: skip")
      }))

    it.effect("queue: a fire waits for the previous ones and runs after them, in order", () =>
      Effect.gen(function*() {
        const { history, info, started } = yield* scenario("queue")
        expect(started).toEqual(["00:10", "00:35", "01:00"])
        expect(history.map((r) => r.status)).toEqual(["completed", "completed", "running", "queued", "queued", "queued"])
        expect(info.queued).toBe(3)
      }))

    it.effect("allow: every fire runs at once, concurrently with the previous ones", () =>
      Effect.gen(function*() {
        const { info, started } = yield* scenario("allow")
        expect(started).toEqual(["00:10", "00:20", "00:30", "00:40", "00:50", "01:00"])
        expect(info.running).toBe(3)
      }))
  })

  describe("missed runs (the process was down)", () => {
    const hourly = (log: Array<{ at: string; started: string; catchUp: boolean }>, missed?: Schedules.Missed) => ({
      id: "hourly",
      when: Schedules.every("1 hour", { startAt: "2024-12-20T01:00:00Z" }),
      target: recorder(log),
      ...(missed === undefined ? {} : { missed })
    })

    /** Runs `body` with the Schedules service built over `store`, then releases it (a "process"). */
    const process = <A, E>(
      store: Schedules.StoreShape,
      body: (schedules: Schedules.SchedulesApi) => Effect.Effect<A, E>
    ) =>
      Effect.gen(function*() {
        const scope = yield* Scope.make()
        const context = yield* Layer.build(Schedules.layer().pipe(Layer.provide(Layer.succeed(Schedules.Store, store)))).pipe(
          Scope.provide(scope)
        )
        const result = yield* body(Context.get(context, Schedules.Schedules))
        yield* Scope.close(scope, Exit.void)
        return result
      })

    const downtime = (missed: Schedules.Missed | undefined, restartAt: string) =>
      Effect.gen(function*() {
        yield* TestClock.setTime(t("2024-12-20T00:00:00Z"))
        const store = Schedules.makeMemoryStore()
        const log: Array<{ at: string; started: string; catchUp: boolean }> = []
        yield* process(store, (s) =>
          Effect.gen(function*() {
            yield* s.add(hourly(log, missed))
            yield* TestClock.adjust("150 minutes") // fires 01:00 and 02:00, then the process stops at 02:30
          }))
        yield* TestClock.setTime(t(restartAt))
        const after = yield* process(store, (s) =>
          Effect.gen(function*() {
            const info = yield* s.add(hourly(log, missed))
            yield* TestClock.adjust("1 second")
            const next = (yield* s.get("hourly")).nextFireAt?.toISOString()
            return { info, next, history: yield* s.history("hourly") }
          }))
        return { log, ...after }
      })

    it.effect("skip: fires due while down are recorded as missed (with a count), none run, the schedule goes on", () =>
      Effect.gen(function*() {
        const { history, log, next } = yield* downtime(undefined, "2024-12-20T07:30:00Z")
        expect(log.map((f) => f.at.slice(11, 16))).toEqual(["01:00", "02:00"])
        expect(history).toHaveLength(1)
        expect(history[0]).toMatchObject({ status: "missed", count: 5 })
        expect(history[0]!.at.toISOString()).toBe("2024-12-20T07:00:00.000Z")
        expect(next).toBe("2024-12-20T08:00:00.000Z")
      }))

    it.effect("catch up n: the latest n missed fires run (oldest first), the older ones are missed", () =>
      Effect.gen(function*() {
        const { history, log, next } = yield* downtime({ catchUp: 2 }, "2024-12-20T07:30:00Z")
        expect(log.slice(2)).toEqual([
          { at: "2024-12-20T06:00:00.000Z", started: "2024-12-20T07:30:00.000Z", catchUp: true },
          { at: "2024-12-20T07:00:00.000Z", started: "2024-12-20T07:30:00.000Z", catchUp: true }
        ])
        expect(history.map((r) => r.status)).toEqual(["missed", "completed", "completed"])
        expect(history[0]!.count).toBe(3)
        expect(next).toBe("2024-12-20T08:00:00.000Z")
      }))

    it.effect("a fire late by less than the grace period runs as an ordinary fire", () =>
      Effect.gen(function*() {
        const { history, log } = yield* downtime(undefined, "2024-12-20T07:00:30Z")
        expect(log.slice(2)).toEqual([
          { at: "2024-12-20T07:00:00.000Z", started: "2024-12-20T07:00:30.000Z", catchUp: false }
        ])
        expect(history[0]).toMatchObject({ status: "missed", count: 4 })
      }))

    it.effect("a restart with no downtime misses nothing and keeps the stored next fire", () =>
      Effect.gen(function*() {
        const { history, info, log } = yield* downtime(undefined, "2024-12-20T02:30:00Z")
        expect(info.nextFireAt?.toISOString()).toBe("2024-12-20T03:00:00.000Z")
        expect(history).toEqual([])
        expect(log).toHaveLength(2)
      }))

    it.effect("a paused schedule stays paused across a restart, and a changed timing starts afresh", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(t("2024-12-20T00:00:00Z"))
        const store = Schedules.makeMemoryStore()
        const log: Array<{ at: string; started: string; catchUp: boolean }> = []
        yield* process(store, (s) => Effect.andThen(s.add(hourly(log)), s.pause("hourly")))
        yield* TestClock.setTime(t("2024-12-20T05:00:00Z"))
        const paused = yield* process(store, (s) => s.add(hourly(log)))
        expect(paused.paused).toBe(true)
        const changed = yield* process(store, (s) => s.add({ ...hourly(log), when: Schedules.cron("15 * * * *") }))
        expect(changed.paused).toBe(false)
        expect(changed.nextFireAt?.toISOString()).toBe("2024-12-20T05:15:00.000Z")
      }))
  })

  it.effect("list, pause, resume and delete", () =>
    Effect.gen(function*() {
      const schedules = yield* Schedules.Schedules
      const log: Array<{ at: string; started: string; catchUp: boolean }> = []
      yield* schedules.add({ id: "a", when: Schedules.every("1 hour"), target: recorder(log) })
      yield* schedules.add({ id: "b", when: Schedules.cron("0 0 1 1 *"), target: recorder([]) })
      expect((yield* schedules.list).map((s) => s.id)).toEqual(["a", "b"])
      yield* TestClock.adjust("90 minutes") // a fired at 01:00
      yield* schedules.pause("a")
      expect((yield* schedules.get("a")).paused).toBe(true)
      yield* TestClock.adjust("3 hours") // 02:00, 03:00, 04:00 not fired
      expect(log.map((f) => f.at.slice(11, 16))).toEqual(["01:00"])
      yield* schedules.resume("a")
      expect((yield* schedules.get("a")).nextFireAt?.toISOString()).toBe("1970-01-01T05:00:00.000Z")
      yield* TestClock.adjust("1 hour")
      expect(log.map((f) => f.at.slice(11, 16))).toEqual(["01:00", "05:00"])
      // Fires during the pause are not missed runs.
      expect((yield* schedules.history("a")).map((r) => r.status)).toEqual(["completed", "completed"])
      yield* schedules.delete("a")
      yield* TestClock.adjust("5 hours")
      expect(log).toHaveLength(2)
      expect((yield* schedules.list).map((s) => s.id)).toEqual(["b"])
      const missing = yield* Effect.flip(schedules.pause("a"))
      expect(missing).toBeInstanceOf(Schedules.ScheduleNotFound)
      expect(missing.message).toBe(`No schedule "a" is declared`)
    }).pipe(Effect.provide(Schedules.layerMemory)))

  it.effect("bad input gives typed errors that name the problem", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(t("2025-01-01T00:00:00Z"))
      const schedules = yield* Schedules.Schedules
      const add = (id: string, when: Schedules.When, extra?: { readonly missed?: Schedules.Missed }) =>
        Effect.flip(schedules.add({ id, when, target: recorder([]), ...extra }))

      const fields = yield* add("weekly", Schedules.cron("0 9 * *"))
      expect(fields._tag).toBe("InvalidCron")
      expect(fields.message).toContain(`schedule "weekly": invalid cron expression "0 9 * *"`)
      const range = yield* add("r", Schedules.cron("61 * * * *"))
      expect(range._tag).toBe("InvalidCron")
      expect(range.message).toContain("61")

      const zone = yield* add("z", Schedules.cron("0 9 * * MON", { timeZone: "Mars/Olympus_Mons" }))
      expect(zone).toBeInstanceOf(Schedules.UnknownTimeZone)
      expect(zone.message).toBe(`schedule "z": unknown time zone "Mars/Olympus_Mons" (expected an IANA name such as "Europe/Paris")`)
      const zone2 = yield* add("z2", Schedules.once("2025-06-01T09:00", { timeZone: "Nowhere/City" }))
      expect(zone2._tag).toBe("UnknownTimeZone")

      expect((yield* add("i", Schedules.every(0)))._tag).toBe("InvalidSchedule")
      expect((yield* add("i2", Schedules.every("soon" as never))).message).toContain(`the interval "soon"`)
      expect((yield* add("d", Schedules.once("not a date"))).message).toContain(`the time "not a date" is not a date`)
      const past = yield* add("p", Schedules.once("2024-12-25T09:00:00Z"))
      expect(past.message).toBe(`schedule "p": the time 2024-12-25T09:00:00.000Z has already passed`)
      expect((yield* add("c", Schedules.every("1 hour"), { missed: { catchUp: -1 } })).message).toContain("catchUp")

      yield* schedules.add({ id: "dup", when: Schedules.every("1 hour"), target: recorder([]) })
      const dup = yield* add("dup", Schedules.every("1 hour"))
      expect(dup).toBeInstanceOf(Schedules.ScheduleExists)
      expect((yield* Effect.flip(schedules.get("nope"))).scheduleId).toBe("nope")
      // Nothing invalid was added.
      expect((yield* schedules.list).map((s) => s.id)).toEqual(["dup"])
      // The same checks without adding anything.
      expect((yield* Effect.flip(Schedules.validate(Schedules.cron("every monday"))))._tag).toBe("InvalidCron")
    }).pipe(Effect.provide(Schedules.layerMemory)))

  it.effect("once in a time zone, upcoming previews", () =>
    Effect.gen(function*() {
      const times = yield* Schedules.upcoming(Schedules.cron("0 9 * * MON"), "2024-12-20T00:00:00Z", 3)
      expect(times.map((d) => d.toISOString())).toEqual([
        "2024-12-23T09:00:00.000Z",
        "2024-12-30T09:00:00.000Z",
        "2025-01-06T09:00:00.000Z"
      ])
      const six = yield* Schedules.upcoming(Schedules.cron("*/20 * * * * *"), "2024-12-20T00:00:00Z", 3)
      expect(six.map((d) => d.toISOString().slice(11, 19))).toEqual(["00:00:20", "00:00:40", "00:01:00"])
      const paris = yield* Schedules.upcoming(Schedules.once("2024-12-25T09:00", { timeZone: "Europe/Paris" }), 0, 5)
      expect(paris.map((d) => d.toISOString())).toEqual(["2024-12-25T08:00:00.000Z"])
      const every = yield* Schedules.upcoming(Schedules.every("90 minutes"), "2024-12-20T00:00:00Z", 2)
      expect(every.map((d) => d.toISOString().slice(11, 16))).toEqual(["01:30", "03:00"])
    }))

  it.effect("a workflow target gets the input computed from the fire time and a run id per fire", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(t("2024-12-20T00:00:00Z"))
      const seen: Array<string> = []
      const report = Workflow.make<"report", { readonly day: string }>("report")
        .task("summary", ({ input }) => Effect.sync(() => seen.push(input.day)))
      const schedules = yield* Schedules.Schedules
      yield* schedules.add({
        id: "daily",
        when: Schedules.cron("0 9 * * *"),
        target: Schedules.workflow(report, { orchestrator: true }),
        input: (at) => ({ day: at.toISOString().slice(0, 10) })
      })
      yield* TestClock.adjust("2 days")
      expect(seen).toEqual(["2024-12-20", "2024-12-21"])
      const orchestrator = yield* Orchestrator.Orchestrator
      const runs = yield* orchestrator.history({ workflow: report })
      expect(runs.map((r) => r.runId).sort()).toEqual(["daily@2024-12-20T09:00:00.000Z", "daily@2024-12-21T09:00:00.000Z"])

      // An Orchestrator job, with a constant input.
      yield* schedules.add({
        id: "double",
        when: Schedules.every("1 minute"),
        target: Schedules.job((n: number) => n * 2, { priority: 7 }),
        input: 21
      })
      yield* TestClock.adjust("1 minute")
      const jobs = yield* orchestrator.jobs()
      expect(jobs).toHaveLength(1)
      expect(jobs[0]).toMatchObject({ status: "completed", result: 42, priority: 7 })
      expect(jobs[0]!.metadata).toMatchObject({ scheduleId: "double" })
      // A failing fire is recorded with its error.
      yield* schedules.add({
        id: "failing",
        when: Schedules.every("1 minute"),
        target: Schedules.effect("boom", () => Effect.fail(new Error("disk full")))
      })
      yield* TestClock.adjust("1 minute")
      expect(yield* schedules.history("failing")).toMatchObject([{ status: "failed", message: "disk full" }])
    }).pipe(Effect.provide(Layer.mergeAll(Schedules.layerMemory, Orchestrator.layer()))))

  it.effect("scheduled Orchestrator runs and jobs reach the Orchestrator's event subscribers (task.completed, job.completed)", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(t("2024-12-20T08:59:00Z"))
      const orchestrator = yield* Orchestrator.Orchestrator
      const seen: Array<string> = []
      yield* orchestrator.on("task.completed", (e) =>
        seen.push(`task.completed ${e.jobId === undefined ? `${e.runId}/${e.taskId}` : "job"} ${String(e.output)}`))
      yield* orchestrator.on("job.completed", (e) => seen.push(`job.completed ${String(e.metadata["scheduleId"])} ${String(e.result)}`))
      const report = Workflow.make("report").task("summary", () => "ok")
      const schedules = yield* Schedules.Schedules
      yield* schedules.add({ id: "daily", when: Schedules.cron("0 9 * * *"), target: Schedules.workflow(report, { orchestrator: true }) })
      yield* schedules.add({ id: "double", when: Schedules.cron("0 9 * * *"), target: Schedules.job((n: number) => n * 2), input: 21 })
      yield* TestClock.adjust("1 minute")
      yield* orchestrator.flushEvents
      expect(seen.sort()).toEqual([
        "job.completed double 42",
        "task.completed daily@2024-12-20T09:00:00.000Z/summary ok",
        "task.completed job 42"
      ])
    }).pipe(Effect.provide(Layer.mergeAll(Schedules.layerMemory, Orchestrator.layer()))))
})
