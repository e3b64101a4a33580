/**
 * Signal: a task that waits for something outside the run, a person's approval, a webhook, another run,
 * or a timer, with a typed payload (a Schema) and a timeout.
 *
 * - `Signal.make(name, schema)` defines a signal.
 * - `Signal.wait(signal, { timeout })` is a task that waits for it and outputs its payload;
 *   `Signal.sleep(name, duration)` is a task that waits for a timer; `Signal.task(handler)` is a task whose
 *   handler can do both (`wait`, `sleep`) between its own steps.
 * - `Signal.send(runId, signal, payload)` delivers a signal (checked against its Schema) through the
 *   {@link Signals} service; `sendUnknown(runId, name, json)` delivers one by name, from JSON (a webhook).
 *
 * While a task waits, the run's events show it (`TaskWaiting`, then `TaskResumed`) and its state and
 * progress count it as `waiting`, not `running`.
 *
 * A run accepts signals from the moment one of its tasks first waits for a signal, or from `open(runId)`
 * (to accept signals that may arrive before the task waits). A signal that arrives while nothing waits for
 * it is kept for the next wait of that name, in order. A signal to a run the service does not know fails
 * with `UnknownRun`; a payload that does not match its Schema fails with `InvalidPayload`.
 *
 * {@link layerMemory} keeps waits in memory (timers are `Effect.sleep`); `@troupe/durable` provides a
 * layer on `DurableDeferred` and `DurableClock`, where waits and timers survive a restart. Signal tasks are
 * composite (see `TaskHook`): in durable mode they wait in the workflow body, not inside an activity.
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Signal, Workflow } from "@troupe/core"
 *
 * const Approval = Signal.make("approval", Schema.Struct({ approved: Schema.Boolean, by: Schema.String }))
 *
 * const release = Workflow.make("release")
 *   .task("build", () => Effect.succeed("v1.2.0"))
 *   .task("approve", { dependsOn: ["build"] }, Signal.wait(Approval, { timeout: "2 days" }))
 *   .task("deploy", { dependsOn: ["approve"] }, ({ approve }) =>
 *     Effect.succeed(approve.approved ? `deployed by ${approve.by}` : "rejected"))
 *
 * // elsewhere: yield* Signal.send(runId, Approval, { approved: true, by: "ada" })
 * ```
 *
 * @since 0.1.0
 */
import { Cause, Clock, Context, Deferred, Duration, Effect, Layer, Option, Schema } from "effect"
import * as RunStore from "./RunStore.ts"
import * as Task from "./Task.ts"
import type { TaskInfo } from "./Task.ts"

// -----------------------------------------------------------------------------
// Errors
// -----------------------------------------------------------------------------

/**
 * A signal to a run that does not accept signals: unknown, finished, or none of its tasks waited yet (use
 * `open` to accept early signals).
 *
 * @category errors
 * @since 0.1.0
 */
export class UnknownRun extends Schema.TaggedError<UnknownRun>()("UnknownRun", {
  runId: Schema.String,
  signal: Schema.String
}) {
  override get message(): string {
    return `Signal "${this.signal}" to run "${this.runId}": no such run accepts signals (unknown, finished, or nothing waited yet)`
  }
}

/**
 * A signal's payload that does not match its Schema.
 *
 * @category errors
 * @since 0.1.0
 */
export class InvalidPayload extends Schema.TaggedError<InvalidPayload>()("InvalidPayload", {
  runId: Schema.String,
  signal: Schema.String,
  issue: Schema.String
}) {
  override get message(): string {
    return `Signal "${this.signal}" to run "${this.runId}": the payload does not match the signal's schema: ${this.issue}`
  }
}

/**
 * A signal sent by name that the run does not know (no task of it waits or waited for that name).
 *
 * @category errors
 * @since 0.1.0
 */
export class UnknownSignal extends Schema.TaggedError<UnknownSignal>()("UnknownSignal", {
  runId: Schema.String,
  signal: Schema.String,
  known: Schema.Array(Schema.String)
}) {
  override get message(): string {
    return `Run "${this.runId}" has no signal "${this.signal}" (known: ${
      this.known.length === 0 ? "none" : this.known.map((k) => `"${k}"`).join(", ")
    })`
  }
}

/**
 * A wait for a signal that timed out.
 *
 * @category errors
 * @since 0.1.0
 */
export class SignalTimeout extends Schema.TaggedError<SignalTimeout>()("SignalTimeout", {
  runId: Schema.String,
  taskId: Schema.String,
  signal: Schema.String,
  timeoutMs: Schema.Number
}) {
  override get message(): string {
    return `Task "${this.taskId}" of run "${this.runId}" waited ${Duration.format(Duration.millis(this.timeoutMs))} for signal "${this.signal}" in vain`
  }
}

/**
 * Why a signal could not be delivered.
 *
 * @category errors
 * @since 0.1.0
 */
export type SendError = UnknownRun | InvalidPayload | UnknownSignal

// -----------------------------------------------------------------------------
// Models
// -----------------------------------------------------------------------------

/**
 * The type id of signals.
 *
 * @category type ids
 * @since 0.1.0
 */
export const TypeId: unique symbol = Symbol.for("@troupe/core/Signal") as never

/**
 * @category type ids
 * @since 0.1.0
 */
export type TypeId = typeof TypeId

/**
 * A named signal with a typed payload.
 *
 * @category models
 * @since 0.1.0
 */
export interface Signal<out Name extends string, in out A, in out I = A> {
  readonly [TypeId]: TypeId
  readonly name: Name
  readonly schema: Schema.Codec<A, I>
}

/**
 * Any signal.
 *
 * @category models
 * @since 0.1.0
 */
export type Any = Signal<string, any, any>

/**
 * The payload type of a signal.
 *
 * @category models
 * @since 0.1.0
 */
export type Payload<S extends Any> = S extends Signal<string, infer A, infer _I> ? A : never

/**
 * A wait in progress, as `pending` lists it.
 *
 * @category models
 * @since 0.1.0
 */
export interface PendingWait {
  readonly runId: string
  /** The waiting task's path in the run. */
  readonly key: string
  readonly reason: "signal" | "timer"
  readonly name: string
  readonly since: number
  readonly until?: number | undefined
}

// -----------------------------------------------------------------------------
// Constructors
// -----------------------------------------------------------------------------

/**
 * Defines a signal: a name and the Schema of its payload.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = <const Name extends string, A, I>(name: Name, schema: Schema.Codec<A, I>): Signal<Name, A, I> => {
  if (typeof name !== "string" || name === "") throw new TypeError("Signal.make: the name must be a non-empty string")
  return { [TypeId]: TypeId, name, schema }
}

/**
 * @category guards
 * @since 0.1.0
 */
export const isSignal = (u: unknown): u is Any => typeof u === "object" && u !== null && TypeId in u

// -----------------------------------------------------------------------------
// Service
// -----------------------------------------------------------------------------

/**
 * One wait, as a {@link Signals} layer receives it.
 *
 * @category models
 * @since 0.1.0
 */
export interface AwaitRequest<A, I> {
  readonly runId: string
  /** The waiting task's id (for errors). */
  readonly taskId: string
  /** Stable within the run: the task's path, the signal name, and the index of this wait in the task. */
  readonly key: string
  readonly signal: Signal<string, A, I>
  readonly timeoutMs?: number | undefined
}

/**
 * One timer, as a {@link Signals} layer receives it.
 *
 * @category models
 * @since 0.1.0
 */
export interface SleepRequest {
  readonly runId: string
  readonly taskId: string
  readonly key: string
  readonly name: string
  readonly durationMs: number
}

/**
 * Waiting for and delivering signals, and timers.
 *
 * @category models
 * @since 0.1.0
 */
export interface SignalsApi {
  /** Waits for the signal (or takes one that arrived earlier); fails with `SignalTimeout` after the timeout. */
  readonly await: <A, I>(request: AwaitRequest<A, I>) => Effect.Effect<A, SignalTimeout>
  /** Waits for a timer (durable in durable layers). */
  readonly sleep: (request: SleepRequest) => Effect.Effect<void>
  /** Delivers a signal, checked against its Schema. */
  readonly send: <A, I>(runId: string, signal: Signal<string, A, I>, payload: A) => Effect.Effect<void, UnknownRun | InvalidPayload>
  /** Delivers a signal by name, decoding the payload from its encoded (JSON) form with the run's signal. */
  readonly sendUnknown: (runId: string, name: string, payload: unknown) => Effect.Effect<void, SendError>
  /** Accepts signals for a run before any of its tasks waits (optionally declaring which, for `sendUnknown`). */
  readonly open: (runId: string, signals?: ReadonlyArray<Any>) => Effect.Effect<void>
  /** Stops accepting signals for a run and drops what it kept. */
  readonly close: (runId: string) => Effect.Effect<void>
  /** Waits in progress (of one run, or all). */
  readonly pending: (runId?: string) => Effect.Effect<ReadonlyArray<PendingWait>>
}

/**
 * The signals service.
 *
 * @category services
 * @since 0.1.0
 */
export class Signals extends Context.Service<Signals, SignalsApi>()("@troupe/core/Signals") {}

const describeIssue = (error: unknown): string => {
  const text = error instanceof Error ? error.message : String(error)
  return text.replace(/\s+/g, " ").trim()
}

/**
 * Checks a payload against a signal's Schema. `encoded: true` decodes it from the encoded (JSON) form;
 * otherwise it checks a value of the payload's type.
 *
 * @category constructors
 * @since 0.1.0
 */
export const checkPayload = <A, I>(
  runId: string,
  signal: Signal<string, A, I>,
  payload: unknown,
  encoded: boolean
): Effect.Effect<A, InvalidPayload> =>
  Effect.suspend(() => {
    const schema = encoded ? signal.schema : Schema.toType(signal.schema)
    return Schema.decodeUnknownEffect(schema as Schema.Codec<A, unknown>)(payload)
  }).pipe(
    Effect.mapError((error) => new InvalidPayload({ runId, signal: signal.name, issue: describeIssue(error) })),
    Effect.catchDefect((defect) =>
      Effect.fail(new InvalidPayload({ runId, signal: signal.name, issue: describeIssue(defect) }))
    )
  )

interface Mailbox {
  readonly signals: Map<string, Any>
  readonly buffered: Map<string, Array<unknown>>
  readonly waiters: Map<string, Array<Deferred.Deferred<unknown>>>
  readonly waits: Set<PendingWait>
}

/**
 * Builds the in-memory service: waits and kept signals live as long as the layer, timers are
 * `Effect.sleep` (so `TestClock` drives them). At most `maxRuns` runs are kept (the oldest without a wait
 * in progress is dropped first). When a `RunStore` is provided, a run it records as finished refuses
 * signals, and a run it records as unfinished accepts them before any of its tasks waited.
 *
 * @category constructors
 * @since 0.1.0
 */
export const makeMemory = (options?: { readonly maxRuns?: number | undefined }): Effect.Effect<SignalsApi> =>
  Effect.gen(function*() {
    const runStore = yield* Effect.serviceOption(RunStore.RunStore)
    const maxRuns = Math.max(1, options?.maxRuns ?? 10_000)
    const mailboxes = new Map<string, Mailbox>()

    const mailbox = (runId: string): Mailbox => {
      let box = mailboxes.get(runId)
      if (box === undefined) {
        box = { signals: new Map(), buffered: new Map(), waiters: new Map(), waits: new Set() }
        mailboxes.set(runId, box)
        if (mailboxes.size > maxRuns) {
          for (const [id, b] of mailboxes) {
            if (b.waits.size === 0 && id !== runId) {
              mailboxes.delete(id)
              break
            }
          }
        }
      }
      return box
    }

    /** The run's mailbox if it accepts signals (see the RunStore rule above). */
    const accepting = (runId: string): Effect.Effect<Mailbox | undefined> =>
      Effect.gen(function*() {
        if (Option.isSome(runStore)) {
          const record = yield* Effect.option(runStore.value.get(runId))
          if (Option.isSome(record)) {
            const status = record.value.status
            if (status === "completed" || status === "failed" || status === "cancelled") return undefined
            return mailbox(runId)
          }
        }
        return mailboxes.get(runId)
      })

    const deliver = (box: Mailbox, name: string, value: unknown) => {
      const waiters = box.waiters.get(name)
      const waiter = waiters?.shift()
      if (waiter !== undefined) return Deferred.succeed(waiter, value)
      const kept = box.buffered.get(name) ?? []
      kept.push(value)
      box.buffered.set(name, kept)
      return Effect.void
    }

    const api: SignalsApi = {
      await: <A, I>(request: AwaitRequest<A, I>) =>
        Effect.gen(function*() {
          const box = mailbox(request.runId)
          const name = request.signal.name
          box.signals.set(name, request.signal)
          const kept = box.buffered.get(name)
          if (kept !== undefined && kept.length > 0) return kept.shift() as A
          const deferred = yield* Deferred.make<unknown>()
          const waiters = box.waiters.get(name) ?? []
          waiters.push(deferred)
          box.waiters.set(name, waiters)
          const since = yield* Clock.currentTimeMillis
          const wait: PendingWait = {
            runId: request.runId,
            key: request.key,
            reason: "signal",
            name,
            since,
            ...(request.timeoutMs === undefined ? {} : { until: since + request.timeoutMs })
          }
          box.waits.add(wait)
          const awaited = Deferred.await(deferred) as Effect.Effect<A>
          const timed = request.timeoutMs === undefined ? awaited : awaited.pipe(
            Effect.timeoutOrElse({
              duration: Duration.millis(request.timeoutMs),
              // A signal handed to this wait at the deadline still counts (it is never lost).
              orElse: () =>
                Deferred.isDoneUnsafe(deferred)
                  ? (Deferred.await(deferred) as Effect.Effect<A>)
                  : Effect.fail(
                    new SignalTimeout({ runId: request.runId, taskId: request.taskId, signal: name, timeoutMs: request.timeoutMs! })
                  )
            })
          )
          return yield* timed.pipe(
            Effect.ensuring(Effect.sync(() => {
              box.waits.delete(wait)
              const list = box.waiters.get(name)
              const at = list?.indexOf(deferred) ?? -1
              if (at >= 0) list!.splice(at, 1)
            }))
          )
        }),
      sleep: (request) =>
        Effect.gen(function*() {
          const box = mailbox(request.runId)
          const since = yield* Clock.currentTimeMillis
          const wait: PendingWait = {
            runId: request.runId,
            key: request.key,
            reason: "timer",
            name: request.name,
            since,
            until: since + request.durationMs
          }
          box.waits.add(wait)
          yield* Effect.sleep(Duration.millis(request.durationMs)).pipe(
            Effect.ensuring(Effect.sync(() => box.waits.delete(wait)))
          )
        }),
      send: (runId, signal, payload) =>
        Effect.gen(function*() {
          const box = yield* accepting(runId)
          if (box === undefined) return yield* new UnknownRun({ runId, signal: signal.name })
          const value = yield* checkPayload(runId, signal, payload, false)
          if (!box.signals.has(signal.name)) box.signals.set(signal.name, signal)
          yield* deliver(box, signal.name, value)
        }),
      sendUnknown: (runId, name, payload) =>
        Effect.gen(function*() {
          const box = yield* accepting(runId)
          if (box === undefined) return yield* new UnknownRun({ runId, signal: name })
          const signal = box.signals.get(name)
          if (signal === undefined) {
            return yield* new UnknownSignal({ runId, signal: name, known: Array.from(box.signals.keys()) })
          }
          const value = yield* checkPayload(runId, signal, payload, true)
          yield* deliver(box, name, value)
        }),
      open: (runId, signals) =>
        Effect.sync(() => {
          const box = mailbox(runId)
          for (const signal of signals ?? []) box.signals.set(signal.name, signal)
        }),
      close: (runId) => Effect.sync(() => void mailboxes.delete(runId)),
      pending: (runId) =>
        Effect.sync(() => {
          const boxes = runId === undefined ? Array.from(mailboxes.values()) : [mailboxes.get(runId)].filter((b) => b !== undefined)
          return boxes.flatMap((box) => Array.from(box.waits))
        })
    }
    return api
  })

/**
 * The in-memory service (see {@link makeMemory}).
 *
 * @category layers
 * @since 0.1.0
 */
export const layerMemory: Layer.Layer<Signals> = Layer.effect(Signals, makeMemory())

// -----------------------------------------------------------------------------
// Delivering
// -----------------------------------------------------------------------------

/**
 * Delivers a signal to a run: `UnknownRun` when the run does not accept signals, `InvalidPayload` when the
 * payload does not match the signal's Schema.
 *
 * @category delivering
 * @since 0.1.0
 */
export const send = <A, I>(
  runId: string,
  signal: Signal<string, A, I>,
  payload: NoInfer<A>
): Effect.Effect<void, UnknownRun | InvalidPayload, Signals> =>
  Signals.use((signals) => signals.send(runId, signal, payload))

/**
 * Delivers a signal by name with a payload in its encoded (JSON) form, for webhooks and command lines.
 *
 * @category delivering
 * @since 0.1.0
 */
export const sendUnknown = (runId: string, name: string, payload: unknown): Effect.Effect<void, SendError, Signals> =>
  Signals.use((signals) => signals.sendUnknown(runId, name, payload))

// -----------------------------------------------------------------------------
// Waiting
// -----------------------------------------------------------------------------

const toMillis = (input: Duration.Input, what: string): number => {
  const decoded = Duration.fromInput(input)
  const ms = Option.isNone(decoded) ? NaN : Duration.toMillis(decoded.value)
  if (!(ms >= 0) || !Number.isFinite(ms)) {
    throw new TypeError(`${what} must be a finite, non-negative duration, got ${JSON.stringify(String(input))}`)
  }
  return ms
}

/**
 * What a `Signal.task` handler receives beside the context: waits bound to its run and task.
 *
 * @category models
 * @since 0.1.0
 */
export interface Waits {
  readonly runId: string
  /** The task's path in the run. */
  readonly path: string
  /** Waits for a signal (its payload), with an optional timeout. */
  readonly wait: <A, I>(
    signal: Signal<string, A, I>,
    options?: { readonly timeout?: Duration.Input | undefined }
  ) => Effect.Effect<A, SignalTimeout, Signals>
  /** Waits for a timer (durable in durable mode). */
  readonly sleep: (name: string, duration: Duration.Input) => Effect.Effect<void, never, Signals>
}

const waitsFor = (info: TaskInfo): Waits => {
  const counts = new Map<string, number>()
  const keyOf = (name: string) => {
    const k = counts.get(name) ?? 0
    counts.set(name, k + 1)
    return `${info.path}/${name}${k === 0 ? "" : `#${k}`}`
  }
  const report = <A, E, R>(
    reason: "signal" | "timer",
    name: string,
    untilMs: number | undefined,
    effect: Effect.Effect<A, E, R>
  ): Effect.Effect<A, E, R> =>
    Effect.gen(function*() {
      const since = yield* Clock.currentTimeMillis
      info.emit?.({
        _tag: "TaskWaiting",
        reason,
        name,
        ...(untilMs === undefined ? {} : { until: since + untilMs })
      })
      return yield* effect.pipe(
        Effect.onExit((exit) =>
          Effect.gen(function*() {
            const timedOut = exit._tag === "Failure" &&
              Cause.findErrorOption(exit.cause).pipe(Option.exists((e) => e instanceof SignalTimeout))
            // Interrupted or broken waits end with the task's own event (cancelled, failed).
            if (exit._tag === "Failure" && !timedOut) return
            const now = yield* Clock.currentTimeMillis
            info.emit?.({
              _tag: "TaskResumed",
              reason,
              name,
              outcome: timedOut ? "timeout" : reason === "signal" ? "signal" : "elapsed",
              waitedMs: now - since
            })
          })
        )
      )
    })
  return {
    runId: info.runId,
    path: info.path,
    wait: (signal, options) =>
      Effect.suspend(() => {
        const timeoutMs = options?.timeout === undefined ? undefined : toMillis(options.timeout, "timeout")
        const key = keyOf(signal.name)
        return report(
          "signal",
          signal.name,
          timeoutMs,
          Signals.use((signals) =>
            signals.await({ runId: info.runId, taskId: info.node.id, key, signal, timeoutMs }))
        )
      }),
    sleep: (name, duration) =>
      Effect.suspend(() => {
        const durationMs = toMillis(duration, "duration")
        const key = keyOf(name)
        return report(
          "timer",
          name,
          durationMs,
          Signals.use((signals) =>
            signals.sleep({ runId: info.runId, taskId: info.node.id, key, name, durationMs }))
        )
      })
  }
}

const signalTask = <A, E, R, Needs>(
  attributes: Task.Attributes | undefined,
  taskType: string,
  run: (ctx: Needs, info: TaskInfo) => Effect.Effect<A, E, R>
): Task.Task<A, E, R, Needs> => ({
  [Task.TypeId]: Task.TypeId,
  taskType,
  attributes: attributes ?? {},
  composite: true,
  run
})

/**
 * A task that waits for a signal and outputs its payload. With `timeout`, it fails with `SignalTimeout`
 * when no signal came in time (give it a `fallback` or handle it downstream).
 *
 * @category tasks
 * @since 0.1.0
 */
export const wait = <A, I>(
  signal: Signal<string, A, I>,
  options?: Task.Attributes & { readonly timeout?: Duration.Input | undefined }
): Task.Task<A, SignalTimeout, Signals, unknown> => {
  const { timeout, ...attributes } = options ?? {}
  if (timeout !== undefined) toMillis(timeout, `Signal.wait("${signal.name}"): timeout`)
  return signalTask(
    { description: `wait for signal "${signal.name}"`, ...attributes },
    "signal",
    (_ctx, info) => waitsFor(info).wait(signal, timeout === undefined ? undefined : { timeout })
  )
}

/**
 * A task that waits for a timer: `Effect.sleep` in memory, a durable timer in durable mode (a restart
 * does not start it over).
 *
 * @category tasks
 * @since 0.1.0
 */
export const sleep = (
  name: string,
  duration: Duration.Input,
  attributes?: Task.Attributes
): Task.Task<void, never, Signals, unknown> => {
  toMillis(duration, `Signal.sleep("${name}"): duration`)
  return signalTask(
    { description: `wait ${Duration.format(Duration.fromInputUnsafe(duration))}`, ...attributes },
    "timer",
    (_ctx, info) => waitsFor(info).sleep(name, duration)
  )
}

/**
 * A task whose handler can wait for signals and timers between its own steps: it receives the task's
 * context and {@link Waits} bound to its run.
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Signal } from "@troupe/core"
 *
 * const Review = Signal.make("review", Schema.Struct({ ok: Schema.Boolean }))
 *
 * const review = Signal.task(({ input }: { readonly input: string }, { wait, sleep }) =>
 *   Effect.gen(function*() {
 *     yield* sleep("cool-off", "1 hour")
 *     const first = yield* wait(Review, { timeout: "1 day" })
 *     const second = yield* wait(Review, { timeout: "1 day" })
 *     return `${input}: ${first.ok && second.ok ? "approved twice" : "rejected"}`
 *   }))
 * ```
 *
 * @category tasks
 * @since 0.1.0
 */
export const task: {
  <Needs, A, E, R>(
    handler: (ctx: Needs, waits: Waits) => Effect.Effect<A, E, R>
  ): Task.Task<A, E, R | Signals, Needs>
  <Needs, A, E, R>(
    attributes: Task.Attributes,
    handler: (ctx: Needs, waits: Waits) => Effect.Effect<A, E, R>
  ): Task.Task<A, E, R | Signals, Needs>
} = (...args: Array<unknown>): Task.Task<any, any, any, any> => {
  const [attributes, handler] = args.length === 1
    ? [undefined, args[0] as (ctx: unknown, waits: Waits) => Effect.Effect<unknown, unknown, unknown>]
    : [args[0] as Task.Attributes, args[1] as (ctx: unknown, waits: Waits) => Effect.Effect<unknown, unknown, unknown>]
  return signalTask(attributes, "signal", (ctx, info) => Effect.suspend(() => handler(ctx, waitsFor(info))))
}

/**
 * Waits for a signal outside a task (for example in an Orchestrator job that knows its run id). No run
 * events are emitted.
 *
 * @category waiting
 * @since 0.1.0
 */
export const await_ = <A, I>(
  runId: string,
  signal: Signal<string, A, I>,
  options?: { readonly timeout?: Duration.Input | undefined; readonly key?: string | undefined }
): Effect.Effect<A, SignalTimeout, Signals> =>
  Effect.suspend(() => {
    const timeoutMs = options?.timeout === undefined ? undefined : toMillis(options.timeout, "timeout")
    return Signals.use((signals) =>
      signals.await({
        runId,
        taskId: options?.key ?? signal.name,
        key: options?.key ?? signal.name,
        signal,
        timeoutMs
      }))
  })

export {
  /**
   * Waits for a signal outside a task (see `await_`).
   *
   * @category waiting
   * @since 0.1.0
   */
  await_ as await
}
