/**
 * Trigger: start a workflow when an event arrives. A trigger names the event (a lifecycle name, a custom
 * name, a definition or a pattern), an optional filter, the workflow, and how to make the workflow's input
 * from the event. Attach it with `Orchestrator.addTrigger(trigger)`: from then on each matching event that
 * passes the filter starts one run of the workflow (recorded in the history like any run; its services
 * are taken from the caller of `addTrigger`).
 *
 * A trigger is an event subscriber like any other: it never blocks the run or job that published the event
 * (a burst beyond its buffer is dropped and counted), and a filter or input mapping that throws, or a run
 * that cannot start (a definition error), counts as `failed` in its stats and is logged; the trigger stays
 * attached. A trigger whose workflow publishes the event it listens to (a `workflow.completed` trigger
 * without a filter, say) starts runs without end: filter on the workflow's name, or set `maxRuns`.
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Events, Orchestrator, Trigger, Workflow } from "@troupe/core"
 *
 * const Uploaded = Events.define("file.uploaded", Schema.Struct({ path: Schema.String }))
 * const ingest = Workflow.make<"ingest", string>("ingest").task("parse", ({ input }) => `parsed ${input}`)
 *
 * const onUpload = Trigger.make({
 *   on: Uploaded,
 *   filter: (event) => event.payload.path.endsWith(".csv"),
 *   workflow: ingest,
 *   input: (event) => event.payload.path
 * })
 *
 * const program = Effect.gen(function*() {
 *   const o = yield* Orchestrator.Orchestrator
 *   yield* o.addTrigger(onUpload)
 *   yield* o.emit(Uploaded, { path: "data.csv" }) // starts one run of "ingest"
 * }).pipe(Effect.provide(Orchestrator.layer()))
 * ```
 *
 * @since 0.1.0
 */
import type { Effect } from "effect"
import type * as Engine from "./Engine.ts"
import type * as Events from "./Events.ts"
import type * as Workflow from "./Workflow.ts"

// -----------------------------------------------------------------------------
// Models
// -----------------------------------------------------------------------------

const TypeId: unique symbol = Symbol.for("@troupe/core/Trigger") as never

/**
 * Run options a trigger passes to the runs it starts (everything but the per-run id and callbacks).
 *
 * @category models
 * @since 0.1.0
 */
export type RunOptions = Omit<Engine.RunOptions, "runId" | "onEvent" | "onProgress">

/**
 * A trigger: when `on` is published and `filter` accepts the event, start `workflow` with `input(event)`.
 *
 * @category models
 * @since 0.1.0
 */
export interface Trigger<S extends Events.Selector = Events.Selector, W extends Workflow.Any = Workflow.Any> {
  readonly [TypeId]: typeof TypeId
  /** A name for logs and stats; default: `<event> → <workflow>`. */
  readonly id: string
  readonly on: S
  readonly filter: ((event: Events.EventOf<S>) => boolean) | undefined
  readonly workflow: W
  readonly input: ((event: Events.EventOf<S>) => Workflow.Input<W>) | undefined
  readonly options: RunOptions | undefined
  /** Stop starting runs after this many (the trigger stays attached and counts what it skipped). */
  readonly maxRuns: number | undefined
  /** Events buffered before new ones are dropped (see `Events.SubscribeOptions`). Default 1024. */
  readonly bufferSize: number | undefined
}

/**
 * What `Trigger.make` takes. `input` is required when the workflow takes an input.
 *
 * @category models
 * @since 0.1.0
 */
export type MakeOptions<S extends Events.Selector, W extends Workflow.Any> =
  & {
    readonly id?: string | undefined
    readonly on: S
    readonly filter?: ((event: Events.EventOf<S>) => boolean) | undefined
    readonly workflow: W
    readonly options?: RunOptions | undefined
    readonly maxRuns?: number | undefined
    readonly bufferSize?: number | undefined
  }
  & ([void] extends [Workflow.Input<W>]
    ? { readonly input?: ((event: Events.EventOf<S>) => Workflow.Input<W>) | undefined }
    : { readonly input: (event: Events.EventOf<S>) => Workflow.Input<W> })

/**
 * What a trigger did since it was attached.
 *
 * @category models
 * @since 0.1.0
 */
export interface Stats {
  readonly id: string
  /** Runs started. */
  readonly fired: number
  /** Events the filter rejected, or that arrived after `maxRuns`. */
  readonly skipped: number
  /** Events whose filter or input mapping threw, or whose run could not start. */
  readonly failed: number
  /** Events lost because the trigger's buffer was full. */
  readonly dropped: number
  /** Ids of the runs it started, newest last (at most the last 100). */
  readonly runIds: ReadonlyArray<string>
  readonly status: "active" | "removed"
}

/**
 * An attached trigger: `remove` detaches it; `stats` reads its counters.
 *
 * @category models
 * @since 0.1.0
 */
export interface Handle {
  readonly id: string
  readonly remove: Effect.Effect<void>
  readonly stats: Effect.Effect<Stats>
}

// -----------------------------------------------------------------------------
// Constructors
// -----------------------------------------------------------------------------

/**
 * Makes a trigger (a plain value: attach it with `Orchestrator.addTrigger`).
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = <const S extends Events.Selector, W extends Workflow.Any>(
  options: MakeOptions<S, W>
): Trigger<S, W> =>
  Object.freeze({
    [TypeId]: TypeId,
    id: options.id ?? `${typeof options.on === "string" ? options.on : options.on.name} → ${options.workflow.name}`,
    on: options.on,
    filter: options.filter,
    workflow: options.workflow,
    input: options.input as Trigger<S, W>["input"],
    options: options.options,
    maxRuns: options.maxRuns,
    bufferSize: options.bufferSize
  }) as Trigger<S, W>

// -----------------------------------------------------------------------------
// Guards
// -----------------------------------------------------------------------------

/**
 * @category guards
 * @since 0.1.0
 */
export const isTrigger = (u: unknown): u is Trigger => typeof u === "object" && u !== null && TypeId in u
