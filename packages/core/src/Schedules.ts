/**
 * Schedules: run a workflow, an Orchestrator job or any Effect once at a time, every interval, or by
 * cron (Effect's `Cron`: 5 or 6 fields, named time zones).
 *
 * Each schedule has an id, a target, an input (a value, or a function of the fire time), an overlap policy
 * and a missed-run policy:
 * - overlap (a fire comes while the previous one still runs): `skip` (default: the fire is recorded as
 *   skipped), `queue` (it runs when the previous ones finished, in order), `allow` (it runs at once).
 * - missed (fires that were due while nothing ran them: the process was down, or the machine slept):
 *   `skip` (default: they are recorded as missed, the schedule goes on from now) or `{ catchUp: n }`
 *   (the latest n missed fires run, oldest first, one after another; older ones are recorded as missed).
 *   A fire that is late by at most `grace` (default 1 minute) is on time, not missed.
 *
 * `add` declares a schedule. The timing state (next and last fire time, paused) lives in a {@link Store}:
 * in memory by default (it lives as long as the layer), in SQLite with `@troupe/durable`. Declaring a
 * schedule whose id and timing are already in the store continues from the stored state, so a process that
 * declares its schedules at start-up resumes them after a restart, and applies the missed-run policy to
 * what fell due while it was down. Pausing skips fires until `resume` (they are not missed runs).
 *
 * Times are read from Effect's `Clock`, so `TestClock` drives schedules in tests.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Schedules, Workflow } from "@troupe/core"
 *
 * const report = Workflow.make<"report", { readonly day: string }>("report")
 *   .task("summary", ({ input }) => Effect.succeed(`summary of ${input.day}`))
 *
 * const program = Effect.gen(function*() {
 *   const schedules = yield* Schedules.Schedules
 *   yield* schedules.add({
 *     id: "daily-summary",
 *     when: Schedules.cron("0 9 * * MON-FRI", { timeZone: "Europe/Paris" }),
 *     target: Schedules.workflow(report),
 *     input: (at) => ({ day: at.toISOString().slice(0, 10) })
 *   })
 * }).pipe(Effect.provide(Schedules.layerMemory))
 * ```
 *
 * @since 0.1.0
 */
import { Cause, Clock, Context, Cron, DateTime, Duration, Effect, Exit, Fiber, Layer, Option, Result, Schema, Scope } from "effect"
import * as Engine from "./Engine.ts"
import * as Orchestrator from "./Orchestrator.ts"
import type * as Workflow from "./Workflow.ts"

// -----------------------------------------------------------------------------
// Errors
// -----------------------------------------------------------------------------

/**
 * A cron expression that does not parse.
 *
 * @category errors
 * @since 0.1.0
 */
export class InvalidCron extends Schema.TaggedError<InvalidCron>()("InvalidCron", {
  scheduleId: Schema.optional(Schema.String),
  expression: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `${where(this.scheduleId)}invalid cron expression "${this.expression}": ${this.reason}`
  }
}

/**
 * A time zone name that is not a known IANA zone (or a fixed offset such as `+02:00`).
 *
 * @category errors
 * @since 0.1.0
 */
export class UnknownTimeZone extends Schema.TaggedError<UnknownTimeZone>()("UnknownTimeZone", {
  scheduleId: Schema.optional(Schema.String),
  timeZone: Schema.String
}) {
  override get message(): string {
    return `${where(this.scheduleId)}unknown time zone "${this.timeZone}" (expected an IANA name such as "Europe/Paris")`
  }
}

/**
 * Any other invalid schedule: an interval that is not a positive duration, a time that is not a date, a
 * one-off time that has already passed, a negative catch-up count.
 *
 * @category errors
 * @since 0.1.0
 */
export class InvalidSchedule extends Schema.TaggedError<InvalidSchedule>()("InvalidSchedule", {
  scheduleId: Schema.optional(Schema.String),
  reason: Schema.String
}) {
  override get message(): string {
    return `${where(this.scheduleId)}${this.reason}`
  }
}

/**
 * No schedule with this id is declared.
 *
 * @category errors
 * @since 0.1.0
 */
export class ScheduleNotFound extends Schema.TaggedError<ScheduleNotFound>()("ScheduleNotFound", {
  scheduleId: Schema.String
}) {
  override get message(): string {
    return `No schedule "${this.scheduleId}" is declared`
  }
}

/**
 * A schedule with this id is already declared in this layer (delete it first to replace it).
 *
 * @category errors
 * @since 0.1.0
 */
export class ScheduleExists extends Schema.TaggedError<ScheduleExists>()("ScheduleExists", {
  scheduleId: Schema.String
}) {
  override get message(): string {
    return `A schedule "${this.scheduleId}" is already declared (delete it first to replace it)`
  }
}

/**
 * The schedule store failed (for example the database of a durable store).
 *
 * @category errors
 * @since 0.1.0
 */
export class ScheduleStoreError extends Schema.TaggedError<ScheduleStoreError>()("ScheduleStoreError", {
  operation: Schema.String,
  scheduleId: Schema.optional(Schema.String),
  reason: Schema.String
}) {
  override get message(): string {
    return `Schedule store ${this.operation}${this.scheduleId === undefined ? "" : ` of "${this.scheduleId}"`} failed: ${this.reason}`
  }
}

/**
 * Why a schedule definition is invalid.
 *
 * @category errors
 * @since 0.1.0
 */
export type DefinitionError = InvalidCron | UnknownTimeZone | InvalidSchedule

const where = (scheduleId: string | undefined) => scheduleId === undefined ? "" : `schedule "${scheduleId}": `

// -----------------------------------------------------------------------------
// Timing
// -----------------------------------------------------------------------------

/**
 * When a schedule fires. Build one with {@link once}, {@link every} or {@link cron}; they are plain data
 * (checked when the schedule is added).
 *
 * @category models
 * @since 0.1.0
 */
export type When = Once | Every | CronWhen

/**
 * @category models
 * @since 0.1.0
 */
export interface Once {
  readonly _tag: "Once"
  readonly at: DateTime.DateTime.Input
  /** Read a local date-time (no offset) in this zone. */
  readonly timeZone?: string | undefined
}

/**
 * @category models
 * @since 0.1.0
 */
export interface Every {
  readonly _tag: "Every"
  readonly interval: Duration.Input
  /** The first fire (then every interval after it). Default: one interval after the schedule is added. */
  readonly startAt?: DateTime.DateTime.Input | undefined
}

/**
 * @category models
 * @since 0.1.0
 */
export interface CronWhen {
  readonly _tag: "Cron"
  /** 5 fields (minute first) or 6 (second first). */
  readonly expression: string
  /** An IANA time zone, e.g. `Europe/Paris`. Default UTC. */
  readonly timeZone?: string | undefined
  /** Which occurrences of a local time repeated when clocks go back run. Default `earlier`. */
  readonly onDstOverlap?: Cron.DstOverlapPolicy | undefined
}

/**
 * Fire once at a time: a `Date`, epoch milliseconds, or an ISO string. With `timeZone`, a string without
 * an offset is a local time in that zone (`once("2024-12-25T09:00", { timeZone: "Europe/Paris" })`).
 *
 * @category constructors
 * @since 0.1.0
 */
export const once = (at: DateTime.DateTime.Input, options?: { readonly timeZone?: string | undefined }): Once => ({
  _tag: "Once",
  at,
  ...(options?.timeZone === undefined ? {} : { timeZone: options.timeZone })
})

/**
 * Fire every interval (`every("1 hour")`, `every(3_600_000)`), first one interval after the schedule is
 * added, or at `startAt`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const every = (interval: Duration.Input, options?: { readonly startAt?: DateTime.DateTime.Input | undefined }): Every => ({
  _tag: "Every",
  interval,
  ...(options?.startAt === undefined ? {} : { startAt: options.startAt })
})

/**
 * Fire by a cron expression (`"0 9 * * MON"`; six fields for seconds: `"*\/10 * * * * *"`), in UTC or a
 * named time zone.
 *
 * @category constructors
 * @since 0.1.0
 */
export const cron = (
  expression: string,
  options?: { readonly timeZone?: string | undefined; readonly onDstOverlap?: Cron.DstOverlapPolicy | undefined }
): CronWhen => ({
  _tag: "Cron",
  expression,
  ...(options?.timeZone === undefined ? {} : { timeZone: options.timeZone }),
  ...(options?.onDstOverlap === undefined ? {} : { onDstOverlap: options.onDstOverlap })
})

/** A checked timing: fire times as epoch milliseconds. */
interface Timing {
  /** A stable description of the timing (what must match for a stored schedule to be continued). */
  readonly fingerprint: string
  /** The first fire time at or after `t`; `undefined` when there is none. */
  readonly firstAtOrAfter: (t: number, anchor: number | undefined) => number | undefined
  /** The first fire time strictly after `t`. */
  readonly firstAfter: (t: number, anchor: number | undefined) => number | undefined
  /** The initial anchor when a schedule is created at `now` (`every` without `startAt`). */
  readonly initialAnchor: (now: number) => number | undefined
}

const MAX_ENUMERATE = 100_000

const resolveZone = (timeZone: string, scheduleId: string | undefined) =>
  Option.match(DateTime.zoneFromString(timeZone), {
    onNone: () => Result.fail(new UnknownTimeZone({ scheduleId, timeZone })),
    onSome: (zone) => Result.succeed(zone)
  })

const toMillis = (
  input: DateTime.DateTime.Input,
  timeZone: string | undefined,
  scheduleId: string | undefined,
  what: string
): Result.Result<number, DefinitionError> => {
  if (timeZone !== undefined) {
    const zone = resolveZone(timeZone, scheduleId)
    if (Result.isFailure(zone)) return Result.fail(zone.failure)
    const zoned = DateTime.makeZoned(input, { timeZone: zone.success, adjustForTimeZone: true })
    return Option.isNone(zoned)
      ? Result.fail(new InvalidSchedule({ scheduleId, reason: `${what} ${JSON.stringify(String(input))} is not a date` }))
      : Result.succeed(DateTime.toEpochMillis(zoned.value))
  }
  const made = DateTime.make(input)
  return Option.isNone(made)
    ? Result.fail(new InvalidSchedule({ scheduleId, reason: `${what} ${JSON.stringify(String(input))} is not a date` }))
    : Result.succeed(DateTime.toEpochMillis(made.value))
}

const compileWhen = (when: When, scheduleId?: string): Result.Result<Timing, DefinitionError> => {
  switch (when._tag) {
    case "Once": {
      const at = toMillis(when.at, when.timeZone, scheduleId, "the time")
      if (Result.isFailure(at)) return Result.fail(at.failure)
      const t0 = at.success
      return Result.succeed({
        fingerprint: JSON.stringify(["once", t0]),
        firstAtOrAfter: (t) => t <= t0 ? t0 : undefined,
        firstAfter: (t) => t < t0 ? t0 : undefined,
        initialAnchor: () => undefined
      })
    }
    case "Every": {
      const decoded = Duration.fromInput(when.interval)
      const ms = Option.isNone(decoded) ? NaN : Duration.toMillis(decoded.value)
      if (!Number.isFinite(ms) || ms < 1) {
        return Result.fail(
          new InvalidSchedule({
            scheduleId,
            reason: `the interval ${JSON.stringify(String(when.interval))} is not a finite duration of at least 1 millisecond`
          })
        )
      }
      let start: number | undefined
      if (when.startAt !== undefined) {
        const s = toMillis(when.startAt, undefined, scheduleId, "startAt")
        if (Result.isFailure(s)) return Result.fail(s.failure)
        start = s.success
      }
      const atOrAfter = (t: number, anchor: number | undefined): number => {
        const a = anchor ?? start ?? t
        if (t <= a) return a
        return a + Math.ceil((t - a) / ms) * ms
      }
      return Result.succeed({
        fingerprint: JSON.stringify(["every", ms, start ?? null]),
        firstAtOrAfter: atOrAfter,
        firstAfter: (t, anchor) => atOrAfter(t + 1, anchor),
        initialAnchor: (now) => start ?? now + ms
      })
    }
    case "Cron": {
      let zone: DateTime.TimeZone | undefined
      if (when.timeZone !== undefined) {
        const z = resolveZone(when.timeZone, scheduleId)
        if (Result.isFailure(z)) return Result.fail(z.failure)
        zone = z.success
      }
      const parsed = Cron.parse(when.expression, zone ?? DateTime.zoneMakeNamedUnsafe("UTC"), {
        onDstOverlap: when.onDstOverlap
      })
      if (Result.isFailure(parsed)) {
        return Result.fail(
          new InvalidCron({ scheduleId, expression: when.expression, reason: parsed.failure.message })
        )
      }
      const c = parsed.success
      return Result.succeed({
        fingerprint: JSON.stringify(["cron", when.expression.trim(), when.timeZone ?? "UTC", when.onDstOverlap ?? "earlier"]),
        firstAtOrAfter: (t) => Cron.next(c, new Date(t - 1)).getTime(),
        firstAfter: (t) => Cron.next(c, new Date(t)).getTime(),
        initialAnchor: () => undefined
      })
    }
  }
}

/**
 * Checks a timing (cron syntax, time zone, interval, dates) without adding a schedule.
 *
 * @category constructors
 * @since 0.1.0
 */
export const validate = (when: When): Effect.Effect<void, DefinitionError> =>
  Effect.fromResult(Result.map(compileWhen(when), () => undefined))

/**
 * The next `count` fire times after `from` (a preview; for `every` without `startAt`, as if the schedule
 * were added at `from`).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Schedules } from "@troupe/core"
 *
 * const times = Effect.runSync(Schedules.upcoming(Schedules.cron("0 9 * * MON"), new Date("2024-12-20T00:00:00Z"), 2))
 * // [2024-12-23T09:00:00.000Z, 2024-12-30T09:00:00.000Z]
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const upcoming = (
  when: When,
  from: DateTime.DateTime.Input,
  count: number
): Effect.Effect<ReadonlyArray<Date>, DefinitionError> =>
  Effect.gen(function*() {
    const timing = yield* Effect.fromResult(compileWhen(when))
    const start = yield* Effect.fromResult(toMillis(from, undefined, undefined, "from"))
    const out: Array<Date> = []
    const anchor = timing.initialAnchor(start)
    let t = anchor ?? timing.firstAfter(start, anchor)
    while (t !== undefined && out.length < count) {
      out.push(new Date(t))
      t = timing.firstAfter(t, anchor)
    }
    return out
  })

// -----------------------------------------------------------------------------
// Targets
// -----------------------------------------------------------------------------

/**
 * One fire of a schedule, as its target sees it.
 *
 * @category models
 * @since 0.1.0
 */
export interface Fire {
  readonly scheduleId: string
  /** The scheduled time of this fire. */
  readonly at: Date
  /** The fire was missed (it was due while nothing ran it) and runs now by the catch-up policy. */
  readonly catchUp: boolean
  /** A run id derived from the schedule and the fire time: `<scheduleId>@<ISO time>` (stable across restarts). */
  readonly runId: string
}

/**
 * What a schedule runs. Build one with {@link workflow}, {@link job} or {@link effect}.
 *
 * @category models
 * @since 0.1.0
 */
export interface Target<in I, out R> {
  readonly _tag: "Target"
  /** A name for listings (the workflow's name, `job`, or the name given). */
  readonly name: string
  readonly run: (input: I, fire: Fire) => Effect.Effect<unknown, unknown, R>
}

/**
 * Run options a schedule passes to each run of its workflow (the run id is the fire's).
 *
 * @category models
 * @since 0.1.0
 */
export type WorkflowRunOptions = Omit<Engine.RunOptions, "runId">

/**
 * Run a workflow at each fire, with the fire's `runId`. With `{ orchestrator: true }` the run goes through
 * the `Orchestrator` service (so it appears in its history, state and stats).
 *
 * @category targets
 * @since 0.1.0
 */
export const workflow = <W extends Workflow.Any, const Orch extends boolean = false>(
  wf: W,
  options?: WorkflowRunOptions & { readonly orchestrator?: Orch | undefined }
): Target<Workflow.Input<W>, Workflow.Services<W> | (Orch extends true ? Orchestrator.Orchestrator : never)> => {
  const { orchestrator, ...runOptions } = options ?? {}
  return {
    _tag: "Target",
    name: wf.name,
    run: (input: unknown, fire: Fire) =>
      orchestrator === true
        ? Effect.gen(function*() {
          const o = yield* Orchestrator.Orchestrator
          const execute = o.execute as (...args: Array<unknown>) => Effect.Effect<unknown, unknown, never>
          return yield* execute(wf, input, { ...runOptions, runId: fire.runId })
        })
        : (Engine.run as (...args: Array<unknown>) => Effect.Effect<unknown, unknown, never>)(wf, input, { ...runOptions, runId: fire.runId })
  } as never
}

/**
 * Submit an Orchestrator job at each fire (priority and metadata as `submit` takes them; the metadata gets
 * `scheduleId` and `scheduledAt`), and wait for it: the fire finishes when the job does, and fails when
 * the job failed or was cancelled (this is what the overlap policy sees).
 *
 * @category targets
 * @since 0.1.0
 */
export const job = <I, A, E = never, R = never>(
  agent: Orchestrator.Agent<I, A, E, R>,
  options?: { readonly priority?: Orchestrator.SubmitOptions["priority"]; readonly metadata?: Readonly<Record<string, unknown>> }
): Target<I, R | Orchestrator.Orchestrator> => ({
  _tag: "Target",
  name: "job",
  run: (input, fire) =>
    Effect.gen(function*() {
      const o = yield* Orchestrator.Orchestrator
      const submit = o.submit as (agent: unknown, input: unknown, options: Orchestrator.SubmitOptions) => Effect.Effect<string, never, R>
      const id = yield* submit(agent, input, {
        ...(options?.priority === undefined ? {} : { priority: options.priority }),
        metadata: { ...options?.metadata, scheduleId: fire.scheduleId, scheduledAt: fire.at.toISOString() }
      })
      const done = yield* o.awaitJob(id)
      if (done.status !== "completed") {
        return yield* Effect.fail(new Error(`job ${id} ${done.status}${done.message === undefined ? "" : `: ${done.message}`}`))
      }
      return done.result
    })
})

/**
 * Run any Effect at each fire.
 *
 * @category targets
 * @since 0.1.0
 */
export const effect = <I = void, R = never>(
  name: string,
  run: (input: I, fire: Fire) => Effect.Effect<unknown, unknown, R>
): Target<I, R> => ({ _tag: "Target", name, run })

// -----------------------------------------------------------------------------
// Definitions and views
// -----------------------------------------------------------------------------

/**
 * What happens to a fire while the previous fire of the same schedule still runs.
 *
 * @category models
 * @since 0.1.0
 */
export type Overlap = "skip" | "queue" | "allow"

/**
 * What happens to fires that were due while nothing ran them.
 *
 * @category models
 * @since 0.1.0
 */
export type Missed = "skip" | { readonly catchUp: number }

/**
 * A schedule to add.
 *
 * @category models
 * @since 0.1.0
 */
export interface Definition<I, R> {
  readonly id: string
  readonly when: When
  readonly target: Target<I, R>
  /** The input of each fire: a value, or a function of the fire time. */
  readonly input?: NoInfer<I> | ((at: Date) => NoInfer<I>) | undefined
  /** Default `skip`. */
  readonly overlap?: Overlap | undefined
  /** Default `skip`. */
  readonly missed?: Missed | undefined
  /** How late a fire may start and still count as on time. Default 1 minute. */
  readonly grace?: Duration.Input | undefined
  /** Add it paused. */
  readonly paused?: boolean | undefined
}

/**
 * A fire as the history records it.
 *
 * @category models
 * @since 0.1.0
 */
export interface FireRecord {
  readonly scheduleId: string
  /** The scheduled time (for `missed`, the latest missed time). */
  readonly at: Date
  readonly status: "queued" | "running" | "completed" | "failed" | "skipped" | "missed"
  readonly catchUp: boolean
  readonly runId: string
  readonly startedAt?: number | undefined
  readonly finishedAt?: number | undefined
  /** Why it was skipped or missed, or the failure. */
  readonly message?: string | undefined
  /** For `missed`: how many fires this record stands for. */
  readonly count?: number | undefined
}

/**
 * A schedule as `list` and `get` show it.
 *
 * @category models
 * @since 0.1.0
 */
export interface ScheduleInfo {
  readonly id: string
  readonly when: When
  readonly target: string
  readonly overlap: Overlap
  readonly missed: Missed
  readonly paused: boolean
  /** `undefined` when it will not fire again (a one-off that fired). */
  readonly nextFireAt: Date | undefined
  readonly lastFireAt: Date | undefined
  /** Fires running now. */
  readonly running: number
  /** Fires waiting behind a running one (overlap `queue`, or catch-up). */
  readonly queued: number
}

// -----------------------------------------------------------------------------
// Store
// -----------------------------------------------------------------------------

/**
 * The timing state of a schedule as a store keeps it (plain JSON data).
 *
 * @category models
 * @since 0.1.0
 */
export interface StoredSchedule {
  readonly id: string
  /** Identifies the timing; a stored schedule is continued only when it matches. */
  readonly fingerprint: string
  readonly paused: boolean
  /** Epoch ms; `null` when it will not fire again. */
  readonly nextFireAt: number | null
  readonly lastFireAt: number | null
  /** The anchor of an `every` schedule (epoch ms). */
  readonly anchor: number | null
  readonly updatedAt: number
}

/**
 * Where schedules' timing state lives.
 *
 * @category services
 * @since 0.1.0
 */
export interface StoreShape {
  readonly get: (id: string) => Effect.Effect<StoredSchedule | undefined, ScheduleStoreError>
  readonly put: (schedule: StoredSchedule) => Effect.Effect<void, ScheduleStoreError>
  readonly remove: (id: string) => Effect.Effect<void, ScheduleStoreError>
  readonly list: Effect.Effect<ReadonlyArray<StoredSchedule>, ScheduleStoreError>
}

/**
 * The schedule store service.
 *
 * @category services
 * @since 0.1.0
 */
export class Store extends Context.Service<Store, StoreShape>()("@troupe/core/Schedules/Store") {}

/**
 * An in-memory store (a plain map). Keep one value and provide it to several layers in turn to simulate
 * restarts in tests.
 *
 * @category constructors
 * @since 0.1.0
 */
export const makeMemoryStore = (): StoreShape => {
  const map = new Map<string, StoredSchedule>()
  return {
    get: (id) => Effect.sync(() => map.get(id)),
    put: (schedule) => Effect.sync(() => void map.set(schedule.id, schedule)),
    remove: (id) => Effect.sync(() => void map.delete(id)),
    list: Effect.sync(() => Array.from(map.values()))
  }
}

/**
 * @category layers
 * @since 0.1.0
 */
export const layerStoreMemory: Layer.Layer<Store> = Layer.sync(Store, makeMemoryStore)

// -----------------------------------------------------------------------------
// Service
// -----------------------------------------------------------------------------

/**
 * The schedules' operations.
 *
 * @category models
 * @since 0.1.0
 */
export interface SchedulesApi {
  /**
   * Declares a schedule and starts it. The target runs with the services of the caller of `add`. When the
   * store holds a schedule with this id and the same timing, it continues from the stored state (next
   * fire, paused); what fell due meanwhile goes through the missed-run policy.
   */
  readonly add: <I, R>(
    definition: Definition<I, R>
  ) => Effect.Effect<ScheduleInfo, DefinitionError | ScheduleExists | ScheduleStoreError, R>
  readonly list: Effect.Effect<ReadonlyArray<ScheduleInfo>>
  readonly get: (id: string) => Effect.Effect<ScheduleInfo, ScheduleNotFound>
  /** Stops firing until `resume` (running fires go on). */
  readonly pause: (id: string) => Effect.Effect<void, ScheduleNotFound | ScheduleStoreError>
  /** Fires again from now on (fires due while paused are not run). */
  readonly resume: (id: string) => Effect.Effect<void, ScheduleNotFound | ScheduleStoreError>
  /** Removes the schedule (and its stored state); running fires go on. */
  readonly delete: (id: string) => Effect.Effect<void, ScheduleNotFound | ScheduleStoreError>
  /** Recent fires, oldest first (at most `historyLimit`). */
  readonly history: (id: string) => Effect.Effect<ReadonlyArray<FireRecord>, ScheduleNotFound>
}

/**
 * The schedules service.
 *
 * @category services
 * @since 0.1.0
 */
export class Schedules extends Context.Service<Schedules, SchedulesApi>()("@troupe/core/Schedules") {}

/**
 * Options of {@link make}.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options {
  /** Fire records kept per schedule. Default 100. */
  readonly historyLimit?: number | undefined
}

interface Entry {
  readonly id: string
  readonly when: When
  readonly timing: Timing
  readonly target: Target<unknown, never>
  readonly input: unknown
  readonly overlap: Overlap
  readonly missed: Missed
  readonly graceMs: number
  readonly context: Context.Context<never>
  state: StoredSchedule
  timer: Fiber.Fiber<void, unknown> | undefined
  running: number
  readonly queue: Array<{ readonly fire: Fire; readonly record: { value: FireRecord } }>
  readonly history: Array<{ value: FireRecord }>
  deleted: boolean
}

/** What the parts of the service share: the store, the layer's scope (timers and fires) and the schedules. */
interface Runtime {
  readonly store: StoreShape
  readonly scope: Scope.Scope
  readonly historyLimit: number
  readonly entries: Map<string, Entry>
}

const DAY = 86_400_000
const errorMessage = (cause: Cause.Cause<unknown>): string => {
  try {
    return Engine.describeCause(cause)
  } catch {
    return "failed"
  }
}

const fork = <A, E>(rt: Runtime, effect: Effect.Effect<A, E>): Effect.Effect<Fiber.Fiber<A, E>> =>
  Effect.forkIn(effect, rt.scope, { startImmediately: true })

// ---- fires: history, overlap policy, running a target ------------------------------------------------

/** Adds a record to the schedule's history (at most `historyLimit`); the box is updated as the fire goes on. */
const recordFire = (rt: Runtime, entry: Entry, value: FireRecord): { value: FireRecord } => {
  const box = { value }
  entry.history.push(box)
  if (entry.history.length > rt.historyLimit) entry.history.shift()
  return box
}

const fireOf = (entry: Entry, at: number, catchUp: boolean): Fire => {
  const date = new Date(at)
  return { scheduleId: entry.id, at: date, catchUp, runId: `${entry.id}@${date.toISOString()}` }
}

const inputFor = (entry: Entry, at: Date): unknown =>
  typeof entry.input === "function" ? (entry.input as (at: Date) => unknown)(at) : entry.input

/** Runs the target in the layer's scope; when it ends, its record is settled and the next queued fire starts. */
const startFire = (rt: Runtime, entry: Entry, fire: Fire, box: { value: FireRecord }): Effect.Effect<void> =>
  Effect.gen(function*() {
    const now = yield* Clock.currentTimeMillis
    entry.running++
    box.value = { ...box.value, status: "running", startedAt: now }
    const program = Effect.suspend(() => entry.target.run(inputFor(entry, fire.at), fire)).pipe(
      Effect.provideContext(entry.context)
    )
    yield* fork(rt, Effect.exit(program).pipe(Effect.flatMap((exit) => finishFire(rt, entry, box, exit))))
  })

const finishFire = (rt: Runtime, entry: Entry, box: { value: FireRecord }, exit: Exit.Exit<unknown, unknown>) =>
  Effect.gen(function*() {
    const finishedAt = yield* Clock.currentTimeMillis
    entry.running--
    box.value = Exit.isSuccess(exit)
      ? { ...box.value, status: "completed", finishedAt }
      : { ...box.value, status: "failed", finishedAt, message: errorMessage(exit.cause) }
    const nextQueued = entry.queue.shift()
    if (nextQueued !== undefined) yield* startFire(rt, entry, nextQueued.fire, nextQueued.record)
  })

/** The overlap policy: start now, queue behind the running fire, or record it as skipped. */
const dispatchFire = (rt: Runtime, entry: Entry, fire: Fire, queueBehind: boolean): Effect.Effect<void> =>
  Effect.gen(function*() {
    const base: FireRecord = { scheduleId: entry.id, at: fire.at, status: "queued", catchUp: fire.catchUp, runId: fire.runId }
    if (entry.running === 0 || entry.overlap === "allow") return yield* startFire(rt, entry, fire, recordFire(rt, entry, base))
    if (entry.overlap === "queue" || queueBehind) {
      entry.queue.push({ fire, record: recordFire(rt, entry, base) })
      return
    }
    recordFire(rt, entry, { ...base, status: "skipped", message: "the previous fire was still running (overlap: skip)" })
  })

// ---- timing: what is due, the missed-run policy, the timer -------------------------------------------

const saveState = (rt: Runtime, entry: Entry, patch: Partial<StoredSchedule>) =>
  Effect.gen(function*() {
    const now = yield* Clock.currentTimeMillis
    entry.state = { ...entry.state, ...patch, updatedAt: now }
    if (!entry.deleted) yield* rt.store.put(entry.state)
  })

/** Every fire time in [first, now]: how many, the last one, and only the latest `keep` of them. */
const dueFires = (entry: Entry, first: number, now: number, keep: number) => {
  const anchor = entry.state.anchor ?? undefined
  const due: Array<number> = []
  let count = 0
  let last = first
  for (let t: number | undefined = first; t !== undefined && t <= now; t = entry.timing.firstAfter(t, anchor)) {
    count++
    last = t
    due.push(t)
    if (due.length > keep) due.shift()
    if (count >= MAX_ENUMERATE) break
  }
  return { due, count, last }
}

/** One `missed` record standing for `missedCount` fires, at the latest of them. */
const recordMissed = (rt: Runtime, entry: Entry, at: number, missedCount: number) => {
  const fire = fireOf(entry, at, false)
  recordFire(rt, entry, {
    scheduleId: entry.id,
    at: fire.at,
    status: "missed",
    catchUp: false,
    runId: fire.runId,
    count: missedCount,
    message: `${missedCount} fire${missedCount === 1 ? " was" : "s were"} due while nothing ran ${
      missedCount === 1 ? "it" : "them"
    } (missed: ${typeof entry.missed === "object" ? `catch up ${entry.missed.catchUp}` : "skip"})`
  })
}

/**
 * Runs what is due at `now` (the next fire time has passed). The next fire time is stored first; a fire late
 * by at most `grace` runs as usual, older ones go through the missed-run policy (catch up the latest n).
 */
const tick = (rt: Runtime, entry: Entry, now: number) =>
  Effect.gen(function*() {
    const first = entry.state.nextFireAt
    if (first === null) return
    const keep = (typeof entry.missed === "object" ? entry.missed.catchUp : 0) + 2
    const { due, count, last } = dueFires(entry, first, now, keep)
    const next = entry.timing.firstAfter(Math.max(now, last), entry.state.anchor ?? undefined)
    yield* saveState(rt, entry, { nextFireAt: next ?? null, lastFireAt: last })

    const latest = due[due.length - 1]!
    const onTime = now - latest <= entry.graceMs
    const late = onTime ? due.slice(0, -1) : due
    const lateCount = onTime ? count - 1 : count
    const catchUp = typeof entry.missed === "object" ? Math.min(entry.missed.catchUp, lateCount) : 0
    const missedCount = lateCount - catchUp
    if (missedCount > 0) recordMissed(rt, entry, late[late.length - catchUp - 1]!, missedCount)
    const toRun = late.slice(late.length - catchUp).map((t) => fireOf(entry, t, true))
    if (onTime) toRun.push(fireOf(entry, latest, false))
    for (let k = 0; k < toRun.length; k++) yield* dispatchFire(rt, entry, toRun[k]!, k > 0)
  })

/** Sleeps until the next fire time (in steps of at most a day), ticks, and again, until none is left. */
const timerLoop = (rt: Runtime, entry: Entry): Effect.Effect<void> =>
  Effect.gen(function*() {
    while (true) {
      const next = entry.state.nextFireAt
      if (next === null || entry.state.paused) return
      let now = yield* Clock.currentTimeMillis
      while (now < next) {
        yield* Effect.sleep(Duration.millis(Math.min(next - now, DAY)))
        now = yield* Clock.currentTimeMillis
      }
      yield* tick(rt, entry, now)
    }
  }).pipe(
    Effect.catchCause((cause) =>
      Cause.hasInterruptsOnly(cause)
        ? Effect.failCause(cause)
        : Effect.logError(`schedule "${entry.id}" stopped: ${errorMessage(cause)}`)
    )
  ) as Effect.Effect<void>

const startTimer = (rt: Runtime, entry: Entry) =>
  Effect.gen(function*() {
    if (entry.timer !== undefined) yield* Fiber.interrupt(entry.timer)
    entry.timer = entry.state.paused || entry.state.nextFireAt === null ? undefined : yield* fork(rt, timerLoop(rt, entry))
  })

const stopTimer = (entry: Entry) =>
  Effect.gen(function*() {
    const timer = entry.timer
    entry.timer = undefined
    if (timer !== undefined) yield* Fiber.interrupt(timer)
  })

// ---- declaring a schedule ----------------------------------------------------------------------------

/** The definition's id, timing and policies, checked (each problem an `InvalidSchedule` naming it). */
const checkDefinition = <I, R>(definition: Definition<I, R>) =>
  Effect.gen(function*() {
    const id = definition.id
    if (typeof id !== "string" || id === "") {
      return yield* new InvalidSchedule({ reason: "a schedule id must be a non-empty string" })
    }
    const timing = yield* Effect.fromResult(compileWhen(definition.when, id))
    const missed = definition.missed ?? "skip"
    if (
      typeof missed === "object" &&
      (!Number.isInteger(missed.catchUp) || missed.catchUp < 0 || missed.catchUp > 1000)
    ) {
      return yield* new InvalidSchedule({
        scheduleId: id,
        reason: `missed.catchUp must be an integer from 0 to 1000, got ${String(missed.catchUp)}`
      })
    }
    const overlap = definition.overlap ?? "skip"
    if (overlap !== "skip" && overlap !== "queue" && overlap !== "allow") {
      return yield* new InvalidSchedule({ scheduleId: id, reason: `overlap must be skip, queue or allow, got ${String(overlap)}` })
    }
    const graceInput = Duration.fromInput(definition.grace ?? "1 minute")
    const graceMs = Option.isNone(graceInput) ? NaN : Duration.toMillis(graceInput.value)
    if (!(graceMs >= 0) || !Number.isFinite(graceMs)) {
      return yield* new InvalidSchedule({ scheduleId: id, reason: `grace must be a finite duration, got ${String(definition.grace)}` })
    }
    return { id, timing, missed, overlap, graceMs }
  })

/**
 * The timing state to start from: the stored one when its timing matches (a restart continues it), else a
 * fresh one whose first fire is the next after now (a one-off time already passed is an `InvalidSchedule`).
 */
const initialState = <I, R>(rt: Runtime, definition: Definition<I, R>, id: string, timing: Timing) =>
  Effect.gen(function*() {
    const now = yield* Clock.currentTimeMillis
    const stored = yield* rt.store.get(id)
    if (stored !== undefined && stored.fingerprint === timing.fingerprint) {
      return definition.paused === undefined ? stored : { ...stored, paused: definition.paused }
    }
    const anchor = timing.initialAnchor(now)
    const next = definition.when._tag === "Every" ? timing.firstAtOrAfter(now, anchor) : timing.firstAfter(now - 1, anchor)
    if (definition.when._tag === "Once" && next === undefined) {
      const at = yield* Effect.fromResult(toMillis(definition.when.at, definition.when.timeZone, id, "the time"))
      return yield* new InvalidSchedule({
        scheduleId: id,
        reason: `the time ${new Date(at).toISOString()} has already passed`
      })
    }
    const state: StoredSchedule = {
      id,
      fingerprint: timing.fingerprint,
      paused: definition.paused ?? false,
      nextFireAt: next ?? null,
      lastFireAt: null,
      anchor: anchor ?? null,
      updatedAt: now
    }
    return state
  })

const addSchedule = (rt: Runtime) => <I, R>(definition: Definition<I, R>) =>
  Effect.gen(function*() {
    if (typeof definition.id === "string" && rt.entries.has(definition.id)) {
      return yield* new ScheduleExists({ scheduleId: definition.id })
    }
    const { graceMs, id, missed, overlap, timing } = yield* checkDefinition(definition)
    const state = yield* initialState(rt, definition, id, timing)
    const context = yield* Effect.context<R>()
    const entry: Entry = {
      id,
      when: definition.when,
      timing,
      target: definition.target as Target<unknown, never>,
      input: definition.input,
      overlap,
      missed,
      graceMs,
      context: context as Context.Context<never>,
      state,
      timer: undefined,
      running: 0,
      queue: [],
      history: [],
      deleted: false
    }
    yield* rt.store.put(state)
    rt.entries.set(id, entry)
    yield* startTimer(rt, entry)
    return infoOf(entry)
  })

// ---- the other operations ----------------------------------------------------------------------------

const infoOf = (entry: Entry): ScheduleInfo => ({
  id: entry.id,
  when: entry.when,
  target: entry.target.name,
  overlap: entry.overlap,
  missed: entry.missed,
  paused: entry.state.paused,
  nextFireAt: entry.state.nextFireAt === null ? undefined : new Date(entry.state.nextFireAt),
  lastFireAt: entry.state.lastFireAt === null ? undefined : new Date(entry.state.lastFireAt),
  running: entry.running,
  queued: entry.queue.length
})

const find = (rt: Runtime, id: string) =>
  Effect.suspend(() => {
    const entry = rt.entries.get(id)
    return entry === undefined ? Effect.fail(new ScheduleNotFound({ scheduleId: id })) : Effect.succeed(entry)
  })

const pauseSchedule = (rt: Runtime, id: string) =>
  Effect.gen(function*() {
    const entry = yield* find(rt, id)
    if (entry.state.paused) return
    yield* stopTimer(entry)
    yield* saveState(rt, entry, { paused: true })
  })

const resumeSchedule = (rt: Runtime, id: string) =>
  Effect.gen(function*() {
    const entry = yield* find(rt, id)
    if (!entry.state.paused) return
    const now = yield* Clock.currentTimeMillis
    const anchor = entry.state.anchor ?? undefined
    // A one-off whose time passed while paused stays due (the missed-run policy decides).
    const next = entry.when._tag === "Once" ? entry.state.nextFireAt : entry.timing.firstAtOrAfter(now, anchor) ?? null
    yield* saveState(rt, entry, { paused: false, nextFireAt: next })
    yield* startTimer(rt, entry)
  })

const deleteSchedule = (rt: Runtime, id: string) =>
  Effect.gen(function*() {
    const entry = yield* find(rt, id)
    entry.deleted = true
    rt.entries.delete(id)
    entry.queue.length = 0
    yield* stopTimer(entry)
    yield* rt.store.remove(id)
  })

/**
 * Builds the service over the provided {@link Store}. Timers and running fires belong to the layer's
 * scope: releasing the layer stops them (the stored state stays).
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (options?: Options): Effect.Effect<SchedulesApi, never, Store | Scope.Scope> =>
  Effect.gen(function*() {
    const rt: Runtime = {
      store: yield* Store,
      scope: yield* Scope.Scope,
      historyLimit: Math.max(1, options?.historyLimit ?? 100),
      entries: new Map()
    }
    const api: SchedulesApi = {
      add: addSchedule(rt),
      list: Effect.sync(() => Array.from(rt.entries.values(), infoOf)),
      get: (id) => Effect.map(find(rt, id), infoOf),
      pause: (id) => pauseSchedule(rt, id),
      resume: (id) => resumeSchedule(rt, id),
      delete: (id) => deleteSchedule(rt, id),
      history: (id) => Effect.map(find(rt, id), (entry) => entry.history.map((box) => box.value))
    }
    return api
  })

/**
 * The service over the provided {@link Store}.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (options?: Options): Layer.Layer<Schedules, never, Store> => Layer.effect(Schedules, make(options))

/**
 * The service with an in-memory store: schedules live as long as the layer.
 *
 * @category layers
 * @since 0.1.0
 */
export const layerMemory: Layer.Layer<Schedules> = layer().pipe(Layer.provide(layerStoreMemory))
