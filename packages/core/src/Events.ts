/**
 * Events: the Orchestrator's typed lifecycle and custom events, and the bus that delivers them.
 *
 * Names (seed style):
 * - workflows: `workflow.started`, `workflow.completed`, `workflow.failed`, `workflow.cancelled`;
 * - tasks: `task.created`, `task.started` (once per attempt), `task.retrying`, `task.completed` (also for
 *   cache hits), `task.failed`, `task.skipped`, `task.cancelled`. Jobs submitted to the Orchestrator are
 *   tasks too: each job publishes `task.created`, `task.started` and one of `task.completed` /
 *   `task.failed` / `task.cancelled` with `jobId` set (and `workflow: "job"`), so a `task.completed`
 *   subscriber sees them. They also publish `job.queued`, `job.started`, `job.completed`, `job.failed`,
 *   `job.cancelled` with the job's priority and metadata;
 * - custom events: `custom.<anything>` with any payload, or a name declared with {@link define} and a
 *   Schema: its payload is checked when it is emitted and typed where it is received.
 *
 * Subscribing: by exact name, by definition, or by pattern, where `*` matches any run of characters
 * (`task.*`, `*.failed`, `*`). Handlers receive the event typed by the name or pattern.
 *
 * Delivery: each subscriber has its own bounded buffer (default 1024 events) drained by its own fiber, in
 * order. Publishing never waits for a subscriber: when a subscriber's buffer is full the new event is
 * dropped for that subscriber only and counted (`dropped` in its stats, and the `troupe_events_dropped`
 * counter). A handler may return nothing, a Promise or an Effect; the next event is delivered when it
 * finished. A handler that throws (or whose Promise rejects, or whose Effect fails) is reported in the log
 * and detached: it receives nothing more and its stats say why. A slow or failing subscriber never slows,
 * blocks or fails a run, a job or another subscriber.
 *
 * Why per-subscriber queues and not one `PubSub`: Effect's bounded `PubSub` strategies share one buffer
 * between subscribers, so one slow subscriber either makes the others lose events (`dropping`) or loses
 * events without a count (`sliding`), and every subscriber is woken for every event; a queue per subscriber
 * (Effect's `Queue.dropping`) holds only the events it subscribed to and counts exactly what it lost.
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Events, Orchestrator, Workflow } from "@troupe/core"
 *
 * const Deployed = Events.define("deploy.finished", Schema.Struct({ env: Schema.String }))
 *
 * const program = Effect.gen(function*() {
 *   const o = yield* Orchestrator.Orchestrator
 *   yield* o.on("task.*", (event) => console.log(event._tag, event.taskId))
 *   yield* o.on(Deployed, (event) => console.log("deployed to", event.payload.env))
 *   yield* o.execute(Workflow.make("w").task("a", () => 1))
 *   yield* o.emit(Deployed, { env: "prod" })
 *   yield* o.flushEvents
 * }).pipe(Effect.provide(Orchestrator.layer()))
 * ```
 *
 * @since 0.1.0
 */
import { Cause, type Context, Effect, Exit, Fiber, Metric, Queue, Schema, Scope } from "effect"
import type * as RunEvent from "./RunEvent.ts"
import type * as Task from "./Task.ts"
import type { TypeError } from "./Task.ts"

// -----------------------------------------------------------------------------
// Models: lifecycle events
// -----------------------------------------------------------------------------

/**
 * A run event as a lifecycle event: the RunEvent plus the workflow's name and, for a job, its id.
 *
 * @category models
 * @since 0.1.0
 */
export type WorkflowEvent<T extends RunEvent.Tag> = RunEvent.Of<T> & {
  readonly workflow: string
  /** Set when the event is about a submitted job (then `taskId` and `runId` are the job id). */
  readonly jobId?: string | undefined
}

/**
 * A task exists: published for each task of a workflow when its run starts, and for a job when it is
 * submitted.
 *
 * @category models
 * @since 0.1.0
 */
export interface TaskCreated {
  readonly _tag: "TaskCreated"
  readonly runId: string
  readonly at: number
  readonly taskId: string
  readonly workflow: string
  /** 1 (lowest) to 10 (highest). */
  readonly priority: number
  readonly jobId?: string | undefined
}

/**
 * @category models
 * @since 0.1.0
 */
export interface JobQueued {
  readonly _tag: "JobQueued"
  readonly jobId: string
  readonly at: number
  readonly priority: Task.Priority
  readonly metadata: Readonly<Record<string, unknown>>
}

/**
 * @category models
 * @since 0.1.0
 */
export interface JobStarted {
  readonly _tag: "JobStarted"
  readonly jobId: string
  readonly at: number
  readonly priority: Task.Priority
  readonly metadata: Readonly<Record<string, unknown>>
}

/**
 * @category models
 * @since 0.1.0
 */
export interface JobCompleted {
  readonly _tag: "JobCompleted"
  readonly jobId: string
  readonly at: number
  readonly durationMs: number
  readonly result: unknown
  readonly metadata: Readonly<Record<string, unknown>>
}

/**
 * @category models
 * @since 0.1.0
 */
export interface JobFailed {
  readonly _tag: "JobFailed"
  readonly jobId: string
  readonly at: number
  readonly durationMs: number
  readonly message: string
  readonly cause: Cause.Cause<unknown>
  readonly metadata: Readonly<Record<string, unknown>>
}

/**
 * @category models
 * @since 0.1.0
 */
export interface JobCancelled {
  readonly _tag: "JobCancelled"
  readonly jobId: string
  readonly at: number
  readonly metadata: Readonly<Record<string, unknown>>
}

/**
 * The lifecycle events by name. Run events map onto them as follows: `RunStarted` → `workflow.started`,
 * `RunCompleted` → `workflow.completed`, `RunFailed` → `workflow.failed`, `RunCancelled` →
 * `workflow.cancelled`, `TaskStarted` → `task.started`, `TaskCompleted` → `task.completed`, `TaskFailed` →
 * `task.failed`, `TaskSkipped` → `task.skipped`, `TaskRetrying` → `task.retrying`, `TaskCancelled` →
 * `task.cancelled`; `task.created` is published for every task when its run starts.
 *
 * @category models
 * @since 0.1.0
 */
export interface Lifecycle {
  readonly "workflow.started": WorkflowEvent<"RunStarted">
  readonly "workflow.completed": WorkflowEvent<"RunCompleted">
  readonly "workflow.failed": WorkflowEvent<"RunFailed">
  readonly "workflow.cancelled": WorkflowEvent<"RunCancelled">
  readonly "task.created": TaskCreated
  readonly "task.started": WorkflowEvent<"TaskStarted">
  readonly "task.completed": WorkflowEvent<"TaskCompleted">
  readonly "task.failed": WorkflowEvent<"TaskFailed">
  readonly "task.skipped": WorkflowEvent<"TaskSkipped">
  readonly "task.retrying": WorkflowEvent<"TaskRetrying">
  readonly "task.cancelled": WorkflowEvent<"TaskCancelled">
  readonly "job.queued": JobQueued
  readonly "job.started": JobStarted
  readonly "job.completed": JobCompleted
  readonly "job.failed": JobFailed
  readonly "job.cancelled": JobCancelled
}

/**
 * The name of a lifecycle event.
 *
 * @category models
 * @since 0.1.0
 */
export type LifecycleName = keyof Lifecycle

const runEventNames: { readonly [K in RunEvent.Tag]?: LifecycleName } = {
  RunStarted: "workflow.started",
  RunCompleted: "workflow.completed",
  RunFailed: "workflow.failed",
  RunCancelled: "workflow.cancelled",
  TaskStarted: "task.started",
  TaskCompleted: "task.completed",
  TaskFailed: "task.failed",
  TaskSkipped: "task.skipped",
  TaskRetrying: "task.retrying",
  TaskCancelled: "task.cancelled"
}

/**
 * The lifecycle event name of a run event, if it has one.
 *
 * @category models
 * @since 0.1.0
 */
export const nameOfRunEvent = (event: RunEvent.RunEvent): LifecycleName | undefined =>
  Object.hasOwn(runEventNames, event._tag) ? runEventNames[event._tag] : undefined

// -----------------------------------------------------------------------------
// Models: custom events
// -----------------------------------------------------------------------------

/**
 * The name of an untyped custom event: anything under `custom.`.
 *
 * @category models
 * @since 0.1.0
 */
export type CustomName = `custom.${string}`

/**
 * A custom event, published with `emit`.
 *
 * @category models
 * @since 0.1.0
 */
export interface CustomEvent<P = unknown, N extends string = string> {
  readonly _tag: "Custom"
  readonly name: N
  readonly at: number
  readonly payload: P
}

const DefinitionTypeId: unique symbol = Symbol.for("@troupe/core/Events/Definition") as never

/**
 * A custom event declared with a name and a payload Schema (see {@link define}).
 *
 * @category models
 * @since 0.1.0
 */
export interface Definition<N extends string, P> {
  readonly [DefinitionTypeId]: typeof DefinitionTypeId
  readonly name: N
  readonly schema: Schema.Top & { readonly Type: P }
}

type Reserved = `task.${string}` | `workflow.${string}` | `job.${string}`

/**
 * Rejects, at compile time, a custom event name under a lifecycle prefix or containing `*`.
 *
 * @category models
 * @since 0.1.0
 */
export type CheckCustomName<N extends string> = N extends Reserved
  ? TypeError<`"${N}" is a lifecycle event name: choose a name outside task.*, workflow.* and job.*`>
  : N extends `${string}*${string}` ? TypeError<`"${N}" contains "*", which is the pattern wildcard`>
  : N extends "" ? TypeError<"an event name cannot be empty">
  : unknown

/**
 * Declares a custom event: its name and the Schema of its payload. Emitting it checks the payload (an
 * invalid one is an `InvalidEventPayload`, and nothing is delivered); subscribers receive the payload typed.
 *
 * @category constructors
 * @since 0.1.0
 */
export const define = <const N extends string, S extends Schema.Top>(
  name: N & CheckCustomName<N>,
  schema: S
): Definition<N, S["Type"]> => Object.freeze({ [DefinitionTypeId]: DefinitionTypeId, name, schema }) as never

/**
 * @category guards
 * @since 0.1.0
 */
export const isDefinition = (u: unknown): u is Definition<string, unknown> =>
  typeof u === "object" && u !== null && DefinitionTypeId in u

// -----------------------------------------------------------------------------
// Models: names, patterns, handlers
// -----------------------------------------------------------------------------

/**
 * What `on` accepts: a lifecycle name, a custom name, a pattern with `*`, or a definition.
 *
 * @category models
 * @since 0.1.0
 */
export type Selector = LifecycleName | CustomName | `${string}*${string}` | Definition<string, any>

type Matching<P extends string, K extends string> = K extends unknown
  ? P extends `${infer A}*${infer B}` ? (K extends `${A}${string}${B}` ? K : never) : (K extends P ? K : never)
  : never

/**
 * The event a handler of a selector receives: the lifecycle event of that name, the union of the lifecycle
 * events a pattern matches (plus custom events unless the pattern only matches lifecycle names), or a custom
 * event with the definition's payload type.
 *
 * @category models
 * @since 0.1.0
 */
export type EventOf<S> = S extends Definition<infer N, infer P> ? CustomEvent<P, N>
  : S extends LifecycleName ? Lifecycle[S]
  : S extends `${string}*${string}` ?
      | Lifecycle[Matching<S, LifecycleName>]
      | (S extends Reserved ? never : CustomEvent)
  : S extends string ? CustomEvent<unknown, S>
  : never

/**
 * A handler. It may return nothing, a Promise or an Effect; the next event is delivered once it finished.
 * If it throws, rejects or fails, it is reported and detached.
 *
 * @category models
 * @since 0.1.0
 */
export type Handler<S> = (event: EventOf<S>) => unknown

/**
 * Options of a subscription.
 *
 * @category models
 * @since 0.1.0
 */
export interface SubscribeOptions {
  /** Events buffered for this subscriber before new ones are dropped (and counted). Default 1024. */
  readonly bufferSize?: number | undefined
}

/**
 * What a subscriber received, lost and why it stopped.
 *
 * @category models
 * @since 0.1.0
 */
export interface SubscriberStats {
  readonly id: number
  /** The name or pattern subscribed to. */
  readonly pattern: string
  /** Events its handler finished with. */
  readonly delivered: number
  /** Events dropped because its buffer was full. */
  readonly dropped: number
  /** Events waiting in its buffer (including the one being handled). */
  readonly pending: number
  readonly status: "active" | "unsubscribed" | "failed"
  /** Why the handler was detached, when `status` is `failed`. */
  readonly error?: string | undefined
}

/**
 * A subscription: `unsubscribe` stops delivery (events already buffered are discarded); `stats` reads
 * its counters.
 *
 * @category models
 * @since 0.1.0
 */
export interface Subscription {
  readonly unsubscribe: Effect.Effect<void>
  readonly stats: Effect.Effect<SubscriberStats>
}

// -----------------------------------------------------------------------------
// Errors
// -----------------------------------------------------------------------------

/**
 * A custom event was emitted with a payload its Schema rejects, or under a reserved name.
 *
 * @category errors
 * @since 0.1.0
 */
export class InvalidEvent extends Schema.TaggedError<InvalidEvent>()("InvalidEvent", {
  name: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `Invalid event "${this.name}": ${this.reason}`
  }
}

// -----------------------------------------------------------------------------
// Patterns
// -----------------------------------------------------------------------------

/**
 * The name a selector subscribes to (a definition's name, else the string itself).
 *
 * @category models
 * @since 0.1.0
 */
export const selectorName = (selector: Selector): string =>
  typeof selector === "string" ? selector : selector.name

/**
 * Compiles a name or pattern to a matcher: `*` matches any run of characters (including none and dots);
 * everything else matches itself.
 *
 * @category constructors
 * @since 0.1.0
 */
export const matcher = (pattern: string): (name: string) => boolean => {
  if (!pattern.includes("*")) return (name) => name === pattern
  const parts = pattern.split("*")
  const first = parts[0]!
  const last = parts[parts.length - 1]!
  return (name) => {
    if (name.length < first.length + last.length || !name.startsWith(first) || !name.endsWith(last)) return false
    let at = first.length
    const end = name.length - last.length
    for (let i = 1; i < parts.length - 1; i++) {
      const found = name.indexOf(parts[i]!, at)
      if (found < 0 || found + parts[i]!.length > end) return false
      at = found + parts[i]!.length
    }
    return true
  }
}

const reservedPrefixes = ["task.", "workflow.", "job."]

/**
 * Is this a name custom events may not use (a lifecycle prefix, a wildcard, empty)?
 *
 * @category guards
 * @since 0.1.0
 */
export const isReservedName = (name: string): boolean =>
  name === "" || name.includes("*") || reservedPrefixes.some((prefix) => name.startsWith(prefix))

// -----------------------------------------------------------------------------
// The bus
// -----------------------------------------------------------------------------

/**
 * Events dropped because a subscriber's buffer was full, by subscription pattern.
 *
 * @category metrics
 * @since 0.1.0
 */
export const droppedCounter = Metric.counter("troupe_events_dropped", {
  description: "Events dropped because a subscriber's buffer was full"
})

/**
 * A bus: publish by name, subscribe by name or pattern. Built by {@link makeBus} in a scope; closing the
 * scope stops every subscriber.
 *
 * @category models
 * @since 0.1.0
 */
export interface Bus {
  /** Delivers an event to the subscribers whose pattern matches `name`. Never waits, never throws. */
  readonly publish: (name: string, event: unknown) => void
  /** Is any subscriber listening to `name`? (Lets publishers skip building events nobody reads.) */
  readonly has: (name: string) => boolean
  readonly subscribe: (
    pattern: string,
    handler: (event: never) => unknown,
    options?: SubscribeOptions
  ) => Effect.Effect<Subscription>
  /** Waits until every subscriber has handled every event published so far (or was detached). */
  readonly flush: Effect.Effect<void>
  /** The stats of the active subscriptions and of the last 100 that ended. */
  readonly stats: Effect.Effect<ReadonlyArray<SubscriberStats>>
}

interface Subscriber {
  readonly id: number
  readonly pattern: string
  readonly matches: (name: string) => boolean
  readonly queue: Queue.Queue<unknown>
  delivered: number
  dropped: number
  pending: number
  status: SubscriberStats["status"]
  error: string | undefined
  idle: Array<() => void>
}

const statsOf = (s: Subscriber): SubscriberStats => ({
  id: s.id,
  pattern: s.pattern,
  delivered: s.delivered,
  dropped: s.dropped,
  pending: s.pending,
  status: s.status,
  ...(s.error === undefined ? {} : { error: s.error })
})

const isPromiseLike = (u: unknown): u is PromiseLike<unknown> =>
  typeof u === "object" && u !== null && typeof (u as { then?: unknown }).then === "function"

/**
 * Describes a thrown value without trusting it (its `toString` or `message` may throw, it may have no
 * prototype).
 *
 * @category models
 * @since 0.1.0
 */
export const describe = (u: unknown): string => {
  try {
    if (u instanceof Error) return u.message === "" ? u.name : `${u.name}: ${u.message}`
    if (typeof u === "string") return u
    if (typeof u === "object" && u !== null) {
      const tag = (u as { _tag?: unknown })._tag
      if (typeof tag === "string") return tag
      const message = (u as { message?: unknown }).message
      if (typeof message === "string") return message
      return Object.prototype.toString.call(u)
    }
    return String(u)
  } catch {
    return "(a value that could not be described)"
  }
}

/** What the bus's parts share: the subscribers, the route cache, and where fibers and metrics run. */
interface BusState {
  readonly scope: Scope.Scope
  readonly context: Context.Context<never>
  readonly all: Array<Subscriber>
  readonly ended: Array<Subscriber>
  readonly active: Set<Subscriber>
  /** name -> the active subscribers matching it; cleared whenever the set of subscribers changes. */
  readonly routes: Map<string, ReadonlyArray<Subscriber>>
  /** Drops not yet added to the metric, per pattern. */
  readonly droppedByPattern: Map<string, number>
  nextId: number
  closed: boolean
}

const route = (bus: BusState, name: string): ReadonlyArray<Subscriber> => {
  let found = bus.routes.get(name)
  if (found === undefined) {
    found = [...bus.active].filter((s) => s.matches(name))
    if (bus.routes.size >= 4096) bus.routes.clear() // many distinct custom names: start over rather than grow
    bus.routes.set(name, found)
  }
  return found
}

/** Drops are added to the metric in batches: one fiber per burst, not one per dropped event. */
const countDropped = (bus: BusState, pattern: string) => {
  const { droppedByPattern } = bus
  const before = droppedByPattern.size
  droppedByPattern.set(pattern, (droppedByPattern.get(pattern) ?? 0) + 1)
  if (before > 0) return
  // Yields first, so the drops of the same burst are counted by this one fiber.
  Effect.runForkWith(bus.context)(Effect.andThen(Effect.yieldNow, () => {
    const counts = [...droppedByPattern]
    droppedByPattern.clear()
    return Effect.forEach(
      counts,
      ([pattern, n]) => Metric.update(Metric.withAttributes(droppedCounter, { pattern }), n),
      { discard: true }
    )
  }))
}

/** Wakes the `flush` waiters of a subscriber that has nothing pending (or ended). */
const settleIdle = (s: Subscriber) => {
  if (s.pending > 0 && s.status === "active") return
  const waiters = s.idle
  s.idle = []
  for (const wake of waiters) wake()
}

const detach = (bus: BusState, s: Subscriber, status: "unsubscribed" | "failed", error?: string) => {
  if (s.status !== "active") return
  s.status = status
  s.error = error
  s.pending = 0
  bus.active.delete(s)
  bus.routes.clear()
  Queue.shutdownUnsafe(s.queue)
  settleIdle(s)
  // Keep the stats of the last ended subscriptions only.
  bus.ended.push(s)
  if (bus.ended.length > 100) {
    const gone = bus.ended.shift()!
    const at = bus.all.indexOf(gone)
    if (at >= 0) bus.all.splice(at, 1)
  }
}

/** Offers the event to each matching subscriber's buffer; never waits (a full buffer drops and counts). */
const publishOn = (bus: BusState, name: string, event: unknown): void => {
  if (bus.closed) return
  const subscribers = route(bus, name)
  for (let i = 0; i < subscribers.length; i++) {
    const s = subscribers[i]!
    if (s.status !== "active") continue
    if (Queue.offerUnsafe(s.queue, event)) {
      s.pending++
    } else {
      s.dropped++
      countDropped(bus, s.pattern)
    }
  }
}

/** Hands one event to a handler (nothing, a Promise or an Effect); a failing handler is logged and detached. */
const deliver = (bus: BusState, s: Subscriber, handler: (event: never) => unknown, event: unknown): Effect.Effect<void> =>
  Effect.suspend(() => {
    const result = handler(event as never)
    if (Effect.isEffect(result)) return result as Effect.Effect<unknown, unknown>
    if (isPromiseLike(result)) return Effect.tryPromise({ try: () => Promise.resolve(result), catch: (e) => e })
    return Effect.void
  }).pipe(
    Effect.exit,
    Effect.flatMap((exit) => {
      if (Exit.isSuccess(exit)) {
        s.delivered++
        s.pending = Math.max(0, s.pending - 1)
        settleIdle(s)
        return Effect.void
      }
      if (Cause.hasInterruptsOnly(exit.cause)) return Effect.void
      const error = Cause.findErrorOption(exit.cause)
      const reason = describe(error._tag === "Some" ? error.value : Cause.squash(exit.cause))
      detach(bus, s, "failed", reason)
      return Effect.logWarning(`Events: the handler of "${s.pattern}" failed and was detached: ${reason}`)
    })
  )

/** The subscriber's own fiber: takes its events in order while it is active. */
const deliveryLoop = (bus: BusState, s: Subscriber, handler: (event: never) => unknown) =>
  Effect.whileLoop({
    while: () => s.status === "active",
    body: () =>
      Queue.take(s.queue).pipe(
        Effect.flatMap((event) => s.status === "active" ? deliver(bus, s, handler, event) : Effect.void),
        Effect.catchCause(() => Effect.sync(() => detach(bus, s, "unsubscribed")))
      ),
    step: () => {}
  })

const subscribeOn = (bus: BusState): Bus["subscribe"] => (pattern, handler, options) =>
  Effect.gen(function*() {
    const capacity = Math.max(1, Math.floor(options?.bufferSize ?? 1024))
    const s: Subscriber = {
      id: bus.nextId++,
      pattern,
      matches: matcher(pattern),
      queue: yield* Queue.dropping<unknown>(capacity),
      delivered: 0,
      dropped: 0,
      pending: 0,
      status: bus.closed ? "unsubscribed" : "active",
      error: undefined,
      idle: []
    }
    bus.all.push(s)
    const stats = Effect.sync(() => statsOf(s))
    if (bus.closed) return { unsubscribe: Effect.void, stats }
    bus.active.add(s)
    bus.routes.clear()
    const fiber = yield* Effect.forkIn(deliveryLoop(bus, s, handler), bus.scope)
    return {
      unsubscribe: Effect.suspend(() => {
        detach(bus, s, "unsubscribed")
        return Fiber.interrupt(fiber)
      }),
      stats
    }
  })

/** Waits until every active subscriber has handled what was published so far. */
const flushBus = (bus: BusState): Effect.Effect<void> =>
  Effect.suspend(() => {
    const waiting = [...bus.active].filter((s) => s.pending > 0)
    if (waiting.length === 0) return Effect.void
    return Effect.forEach(
      waiting,
      (s) =>
        Effect.callback<void>((resume) => {
          if (s.pending === 0 || s.status !== "active") return resume(Effect.void)
          s.idle.push(() => resume(Effect.void))
        }),
      { discard: true }
    )
  })

/**
 * Builds a bus whose subscriber fibers live in the current scope.
 *
 * @category constructors
 * @since 0.1.0
 */
export const makeBus: Effect.Effect<Bus, never, Scope.Scope> = Effect.gen(function*() {
  const bus: BusState = {
    scope: yield* Effect.scope,
    context: yield* Effect.context<never>(),
    all: [],
    ended: [],
    active: new Set(),
    routes: new Map(),
    droppedByPattern: new Map(),
    nextId: 1,
    closed: false
  }
  yield* Scope.addFinalizer(
    bus.scope,
    Effect.sync(() => {
      bus.closed = true
      for (const s of [...bus.active]) detach(bus, s, "unsubscribed")
    })
  )
  return {
    publish: (name, event) => publishOn(bus, name, event),
    has: (name) => !bus.closed && route(bus, name).length > 0,
    subscribe: subscribeOn(bus),
    flush: flushBus(bus),
    stats: Effect.sync(() => bus.all.map(statsOf))
  }
})
