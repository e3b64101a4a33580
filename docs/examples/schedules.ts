/**
 * Schedules: a daily report by cron in a time zone, a health check every 5 minutes, a one-off Orchestrator
 * job, and what the schedules recorded. Run by examples/test/schedules-docs.test.ts on a TestClock.
 */
import { Effect } from "effect"
import { Orchestrator, Schedules, Workflow } from "@troupe/core"

/** The workflow a schedule runs: its input is computed from the fire time. */
export const report = Workflow.make<"report", { readonly day: string }>("report")
  .task("collect", ({ input }) => Effect.succeed(`metrics of ${input.day}`))
  .task("summary", { dependsOn: ["collect"] }, ({ collect }) => Effect.succeed(`summary: ${collect}`))

export const checks: Array<string> = []

/** Declares the schedules (call it at start-up: with a durable store, a restart continues them). */
export const declare = Effect.gen(function*() {
  const schedules = yield* Schedules.Schedules
  yield* schedules.add({
    id: "daily-report",
    when: Schedules.cron("0 9 * * MON-FRI", { timeZone: "Europe/Paris" }),
    target: Schedules.workflow(report, { orchestrator: true }),
    input: (at) => ({ day: at.toISOString().slice(0, 10) }),
    overlap: "skip",
    missed: { catchUp: 1 }
  })
  yield* schedules.add({
    id: "health",
    when: Schedules.every("5 minutes"),
    target: Schedules.effect("health-check", (_: void, fire) => Effect.sync(() => void checks.push(fire.at.toISOString())))
  })
  yield* schedules.add({
    id: "launch",
    when: Schedules.once("2025-01-06T08:30", { timeZone: "Europe/Paris" }),
    target: Schedules.job((campaign: string) => Effect.succeed(`${campaign} launched`), { priority: 8 }),
    input: "new-year"
  })
  // Bad input is a typed error that names the problem.
  const bad = yield* Effect.flip(
    schedules.add({ id: "typo", when: Schedules.cron("0 9 * * MON", { timeZone: "Europe/Pariss" }), target: Schedules.effect("x", () => Effect.void) })
  )
  return bad.message // schedule "typo": unknown time zone "Europe/Pariss" (expected an IANA name such as "Europe/Paris")
})

/** What happened: fires per schedule, the Orchestrator's runs and jobs. */
export const summary = Effect.gen(function*() {
  const schedules = yield* Schedules.Schedules
  const orchestrator = yield* Orchestrator.Orchestrator
  const reports = yield* schedules.history("daily-report")
  const runs = yield* orchestrator.history({ workflow: report })
  const jobs = yield* orchestrator.jobs()
  return {
    reportFires: reports.map((r) => `${r.at.toISOString()} ${r.status}`),
    reportRuns: runs.map((r) => r.runId).sort(),
    healthChecks: checks.length,
    launch: jobs.map((j) => j.result),
    next: (yield* schedules.get("daily-report")).nextFireAt?.toISOString()
  }
})

/** A preview of fire times, without adding anything. */
export const preview = Schedules.upcoming(
  Schedules.cron("0 9 * * MON-FRI", { timeZone: "Europe/Paris" }),
  "2025-03-28T12:00:00Z",
  3
)

export const layer = Schedules.layerMemory
