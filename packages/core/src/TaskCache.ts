/**
 * TaskCache: the result cache of tasks, as a service with swappable layers.
 *
 * A task's output is stored under a {@link CacheKey}: the workflow name, the task id and a stable hash of
 * everything the output depends on (description, parameters, capabilities, skills, version, input and,
 * by default, the dependencies' outputs). Before running a task the engine looks its key up; a hit
 * completes the task without running it.
 *
 * Values cross the cache as JSON-compatible data. {@link store} encodes a value with the task's output
 * Schema (through `Schema.toCodecJson`) and {@link lookup} decodes it back; a cached value that no longer
 * decodes is a miss, not a crash.
 *
 * The service is built from a {@link Backend} (the storage: memory, disk, or a {@link hybrid} of two)
 * by {@link make}, which adds what every strategy shares: TTL against effect's `Clock` (so `TestClock`
 * controls expiry), hit/miss counting and {@link CacheStats}. Layers: {@link layerMemory} (LRU with max
 * entries and TTL), {@link layerNone} (always a miss). The disk and hybrid layers live in `@troupe/node`
 * (`FileTaskCache`). Cache operations never fail: a backend that cannot read or write logs a warning and
 * behaves as a miss.
 *
 * When no TaskCache is provided at all, {@link lookup} and {@link store} behave like {@link layerNone}:
 * no cache is the default.
 *
 * @since 0.1.0
 */
import { Clock, Context, Duration, Effect, Layer, Option, Result, Schema } from "effect"
import type * as Scope from "effect/Scope"
import { canonicalJson, HashError, hashValue } from "./internal/cacheKey.ts"
import { checkCount, checkDuration, orThrow } from "./internal/checkOptions.ts"
import { InvalidDefinition } from "./WorkflowError.ts"

// -----------------------------------------------------------------------------
// Models
// -----------------------------------------------------------------------------

/**
 * Where a cache keeps its entries.
 *
 * @category models
 * @since 0.1.0
 */
export type Strategy = "memory" | "disk" | "hybrid" | "none"

/**
 * The key of one cached task output. `hash` is a lowercase hex string (see {@link CacheKey.make}).
 *
 * @category models
 * @since 0.1.0
 */
export interface CacheKey {
  readonly workflow: string
  readonly taskId: string
  readonly hash: string
}

/**
 * What a task's cache key is made of. Components that are `undefined` are left out of the hash, so
 * `{ description: undefined }` and `{}` give the same key.
 *
 * @category models
 * @since 0.1.0
 */
export interface KeyComponents {
  readonly workflow: string
  readonly taskId: string
  readonly description?: string | undefined
  readonly parameters?: unknown
  /** Required capabilities. Order and duplicates do not matter (the list is sorted and deduplicated). */
  readonly capabilities?: ReadonlyArray<string> | undefined
  /** Required skills. Order and duplicates do not matter (the list is sorted and deduplicated). */
  readonly skills?: ReadonlyArray<string> | undefined
  /** A version the task declares; bump it to invalidate old entries after changing the task's code. */
  readonly version?: string | number | undefined
  readonly input?: unknown
  /**
   * The outputs of the task's dependencies by task id; leave undefined when they must not count. A Map
   * gives the same key as the record with the same entries; in a record only own keys count, so give a
   * task id such as `__proto__` as an own property (or use a Map).
   */
  readonly dependencyOutputs?: Readonly<Record<string, unknown>> | ReadonlyMap<string, unknown> | undefined
}

/**
 * Counters of one cache instance (they start at zero when the layer is built).
 *
 * - `hits`, `misses`: lookups that found a live value, and lookups that did not (absent, expired, or
 *   no longer decodable); `hitRate` is `hits / (hits + misses)`, 0 before the first lookup.
 * - `evictions`: entries the cache dropped by itself: least recently used entries over `maxSize`, and
 *   entries whose TTL ran out.
 * - `invalidations`: entries removed by `invalidateTask` and `clear`.
 * - `size`: entries stored now; `maxSize`: the capacity, `undefined` when unbounded.
 *
 * @category models
 * @since 0.1.0
 */
export interface CacheStats {
  readonly strategy: Strategy
  readonly hits: number
  readonly misses: number
  readonly hitRate: number
  readonly evictions: number
  readonly invalidations: number
  readonly size: number
  readonly maxSize: number | undefined
}

/**
 * Options of one `set`.
 *
 * @category models
 * @since 0.1.0
 */
export interface SetOptions {
  /** How long the entry lives; overrides the layer's default TTL. `"Infinity"` means forever. */
  readonly ttl?: Duration.Input | undefined
}

/**
 * One stored entry, as a {@link Backend} keeps it. Times are epoch milliseconds from effect's `Clock`.
 *
 * @category models
 * @since 0.1.0
 */
export interface Entry {
  readonly value: unknown
  readonly storedAt: number
  /** When the entry stops being served; `undefined` for never. */
  readonly expiresAt?: number | undefined
}

/**
 * The storage under a TaskCache. A backend only stores, finds and removes entries (and applies its own
 * capacity, counting what it evicts); expiry, hit/miss counting and stats are added by {@link make}.
 * Operations never fail: a backend that cannot do its work logs a warning and reports nothing found.
 *
 * @category models
 * @since 0.1.0
 */
export interface Backend {
  /** The entry under a key, whether or not it has expired. Counts as a use for LRU ordering. */
  readonly get: (key: CacheKey) => Effect.Effect<Option.Option<Entry>>
  readonly set: (key: CacheKey, entry: Entry) => Effect.Effect<void>
  readonly remove: (key: CacheKey) => Effect.Effect<void>
  /** Removes every entry of one task; returns how many there were. */
  readonly removeTask: (workflow: string, taskId: string) => Effect.Effect<number>
  /** Removes every entry; returns how many there were. */
  readonly clear: Effect.Effect<number>
  /** Removes the entries known to have expired at `now`; returns how many. */
  readonly removeExpired: (now: number) => Effect.Effect<number>
  readonly size: Effect.Effect<number>
  /** Capacity, `undefined` when unbounded. */
  readonly maxSize: number | undefined
  /** Entries dropped so far to stay within `maxSize`. */
  readonly evictions: Effect.Effect<number>
}

/**
 * A value that a cache key is made of could not be read: a getter, `toJSON` or Proxy trap threw (the
 * depth of a value is never a problem: keys are computed without recursion). {@link CacheKey.make} and
 * {@link CacheKey.fromValue} throw it; the engine fails only the task whose key it was.
 *
 * @category errors
 * @since 0.1.0
 */
export class UnhashableValue extends Schema.TaggedError<UnhashableValue>()("UnhashableValue", {
  workflow: Schema.String,
  taskId: Schema.String,
  /** Where in the key's components: `$.dependencyOutputs.fetch.items[3]`, ... */
  path: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `Cannot compute the cache key of task "${this.taskId}" (workflow "${this.workflow}"): ${this.path}: ${this.reason}`
  }
}

// -----------------------------------------------------------------------------
// Service
// -----------------------------------------------------------------------------

/**
 * The task result cache.
 *
 * `get` records a hit or a miss. Given a `decode` function, a value that fails to decode is removed and
 * recorded as a miss (see {@link lookup}, which decodes with a Schema).
 *
 * @category services
 * @since 0.1.0
 */
export class TaskCache extends Context.Service<TaskCache, {
  readonly strategy: Strategy
  readonly get: <A = unknown, E = never, R = never>(
    key: CacheKey,
    decode?: (value: unknown) => Effect.Effect<A, E, R>
  ) => Effect.Effect<Option.Option<A>, never, R>
  readonly set: (key: CacheKey, value: unknown, options?: SetOptions) => Effect.Effect<void>
  /** Removes every entry of one task of one workflow; returns how many were removed. */
  readonly invalidateTask: (workflow: string, taskId: string) => Effect.Effect<number>
  readonly clear: Effect.Effect<void>
  readonly stats: Effect.Effect<CacheStats>
}>()("@troupe/core/TaskCache") {}

// -----------------------------------------------------------------------------
// Keys
// -----------------------------------------------------------------------------

const KEY_FORMAT = 1

const normaliseNames = (names: ReadonlyArray<string> | undefined): ReadonlyArray<string> | undefined =>
  names === undefined ? undefined : Array.from(new Set(names)).sort()

/** A Map of dependency outputs as the record it stands for (own keys only, `__proto__` included). */
const ownRecord = (
  outputs: Readonly<Record<string, unknown>> | ReadonlyMap<string, unknown> | undefined
): Readonly<Record<string, unknown>> | undefined => {
  if (!(outputs instanceof Map)) return outputs as Readonly<Record<string, unknown>> | undefined
  const record: Record<string, unknown> = Object.create(null)
  for (const [id, value] of outputs as ReadonlyMap<string, unknown>) {
    Object.defineProperty(record, id, { value, enumerable: true, writable: true, configurable: true })
  }
  return record
}

const hashOrThrow = (workflow: string, taskId: string, value: unknown): string => {
  try {
    return hashValue(value)
  } catch (error) {
    if (error instanceof HashError) throw new UnhashableValue({ workflow, taskId, path: error.path, reason: error.reason })
    throw error
  }
}

/**
 * Constructors of {@link CacheKey}s.
 *
 * - `make(components)`: the default key of a task. The hash is SHA-256 (64 hex characters) of the
 *   canonical JSON of the components: object keys sorted, arrays in order, `undefined` dropped, Dates as
 *   ISO strings, bigints as strings, Maps and Sets sorted. It is stable across processes, platforms and
 *   the order in which object keys were written, and changes when any component changes.
 * - `fromValue({ workflow, taskId, value })`: a key whose hash is taken from any value, for tasks that
 *   supply their own key function.
 *
 * Both walk values without recursion (any depth hashes) and never call a value's `toString`; a getter,
 * `toJSON` or Proxy trap that throws makes them throw {@link UnhashableValue}.
 *
 * **Example**
 *
 * ```ts
 * import { TaskCache } from "@troupe/core"
 *
 * const key = TaskCache.CacheKey.make({
 *   workflow: "ci",
 *   taskId: "build",
 *   parameters: { target: "es2022", minify: true },
 *   input: { ref: "main" }
 * })
 * // key.hash is the same for { minify: true, target: "es2022" }
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const CacheKey: {
  readonly make: (components: KeyComponents) => CacheKey
  readonly fromValue: (options: { readonly workflow: string; readonly taskId: string; readonly value: unknown }) => CacheKey
} = {
  make: (components) => ({
    workflow: components.workflow,
    taskId: components.taskId,
    hash: hashOrThrow(components.workflow, components.taskId, {
      format: KEY_FORMAT,
      workflow: components.workflow,
      taskId: components.taskId,
      description: components.description,
      parameters: components.parameters,
      capabilities: normaliseNames(components.capabilities),
      skills: normaliseNames(components.skills),
      version: components.version,
      input: components.input,
      dependencyOutputs: ownRecord(components.dependencyOutputs)
    })
  }),
  fromValue: ({ taskId, value, workflow }) => ({ workflow, taskId, hash: hashOrThrow(workflow, taskId, value) })
}

/**
 * The canonical JSON text a key hash is computed from (useful to see why two keys differ). Throws
 * {@link UnhashableValue} (with workflow and task id `""`) for a value that cannot be read.
 *
 * @category constructors
 * @since 0.1.0
 */
export const canonicalize = (value: unknown): string | undefined => {
  try {
    return canonicalJson(value)
  } catch (error) {
    if (error instanceof HashError) throw new UnhashableValue({ workflow: "", taskId: "", path: error.path, reason: error.reason })
    throw error
  }
}

// -----------------------------------------------------------------------------
// Constructors
// -----------------------------------------------------------------------------

/**
 * Options of {@link make} and {@link layer}.
 *
 * @category models
 * @since 0.1.0
 */
export interface MakeOptions {
  readonly strategy: Strategy
  /** Default TTL of entries; without it entries live until evicted or invalidated. */
  readonly ttl?: Duration.Input | undefined
}

/**
 * Checks the numbers of cache options, as the layers and a task's cache policy take them: `ttl` a
 * duration ≥ 0 (`"Infinity"` allowed), `maxEntries` a whole number ≥ 0 (or `Infinity`). Returns the first
 * problem as an `InvalidDefinition` whose path is `path` (default `"cache"`) and the option, or
 * `undefined`. The layers throw it when built; the engine can report a task's policy with the task.
 *
 * **Example**
 *
 * ```ts
 * import { TaskCache } from "@troupe/core"
 *
 * TaskCache.validateOptions({ ttl: -1 }, { path: "tasks[2].cache", taskId: "fetch" })?.path
 * // "tasks[2].cache.ttl"
 * ```
 *
 * @category guards
 * @since 0.1.0
 */
export const validateOptions = (
  options: { readonly ttl?: Duration.Input | undefined; readonly maxEntries?: number | undefined },
  at?: { readonly path?: string | undefined; readonly taskId?: string | undefined }
): InvalidDefinition | undefined => {
  const path = at?.path ?? "cache"
  const ttl = checkDuration(`${path}.ttl`, options.ttl, { infinite: true, taskId: at?.taskId })
  if (ttl instanceof InvalidDefinition) return ttl
  return checkCount(`${path}.maxEntries`, options.maxEntries, 0, { unbounded: true, taskId: at?.taskId })
}

/** Checks a TTL option (a duration ≥ 0, `"Infinity"` allowed); throws `InvalidDefinition` naming it. */
const checkTtl = (path: string, ttl: Duration.Input | undefined): void =>
  orThrow(checkDuration(path, ttl, { infinite: true }))

/** Checks a capacity option (a whole number ≥ 0, or Infinity); throws `InvalidDefinition` naming it. */
const checkMaxEntries = (path: string, maxEntries: number | undefined): void =>
  orThrow(checkCount(path, maxEntries, 0, { unbounded: true }))

/** When an entry stored at `now` expires; `null` when the TTL is not a valid duration (nothing is stored). */
const expiryOf = (now: number, ttl: Duration.Input | undefined): number | undefined | null => {
  if (ttl === undefined) return undefined
  const millis = checkDuration("ttl", ttl, { infinite: true })
  if (typeof millis !== "number") return null
  return Number.isFinite(millis) ? now + millis : undefined
}

/**
 * Builds a TaskCache over a backend: TTL (checked against effect's `Clock` on every `get`), hit and miss
 * counting, invalidation counting and stats.
 *
 * A `ttl` that is not a duration ≥ 0 (`NaN`, negative, not a duration at all) throws `InvalidDefinition`
 * naming `TaskCache.ttl` when `make` is called. A `set` given such a TTL stores nothing and logs a warning.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (options: MakeOptions & { readonly backend: Backend }): Effect.Effect<TaskCache["Service"]> => {
  checkTtl("TaskCache.ttl", options.ttl)
  return Effect.sync(() => {
    const { backend, strategy } = options
    let hits = 0
    let misses = 0
    let expirations = 0
    let invalidations = 0

    const miss = Effect.sync(() => {
      misses++
      return Option.none()
    })

    const get = <A = unknown, E = never, R = never>(
      key: CacheKey,
      decode?: (value: unknown) => Effect.Effect<A, E, R>
    ): Effect.Effect<Option.Option<A>, never, R> =>
      Effect.gen(function*() {
        const found = yield* backend.get(key)
        if (Option.isNone(found)) return yield* miss
        const entry = found.value
        const now = yield* Clock.currentTimeMillis
        if (entry.expiresAt !== undefined && entry.expiresAt <= now) {
          yield* backend.remove(key)
          expirations++
          return yield* miss
        }
        if (decode === undefined) {
          hits++
          // Without a decoder the caller asked for `unknown` (A defaults to it).
          return Option.some(entry.value as A)
        }
        const decoded = yield* Effect.result(decode(entry.value))
        if (Result.isFailure(decoded)) {
          yield* Effect.logWarning("TaskCache: a cached value no longer decodes; treating it as a miss").pipe(
            Effect.annotateLogs({ workflow: key.workflow, taskId: key.taskId, hash: key.hash })
          )
          yield* backend.remove(key)
          return yield* miss
        }
        hits++
        return Option.some(decoded.success)
      })

    const set = (key: CacheKey, value: unknown, setOptions?: SetOptions): Effect.Effect<void> =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        const expiresAt = expiryOf(now, setOptions?.ttl !== undefined ? setOptions.ttl : options.ttl)
        if (expiresAt === null) {
          return Effect.logWarning("TaskCache: the TTL is not a duration ≥ 0; not cached").pipe(
            Effect.annotateLogs({ workflow: key.workflow, taskId: key.taskId })
          )
        }
        return backend.set(key, { value, storedAt: now, expiresAt })
      })

    const invalidateTask = (workflow: string, taskId: string): Effect.Effect<number> =>
      Effect.tap(backend.removeTask(workflow, taskId), (removed) =>
        Effect.sync(() => {
          invalidations += removed
        }))

    const clear: Effect.Effect<void> = Effect.flatMap(backend.clear, (removed) =>
      Effect.sync(() => {
        invalidations += removed
      }))

    const stats: Effect.Effect<CacheStats> = Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      expirations += yield* backend.removeExpired(now)
      const size = yield* backend.size
      const evicted = yield* backend.evictions
      const lookups = hits + misses
      return {
        strategy,
        hits,
        misses,
        hitRate: lookups === 0 ? 0 : hits / lookups,
        evictions: evicted + expirations,
        invalidations,
        size,
        maxSize: backend.maxSize
      }
    })

    return TaskCache.of({ strategy, get, set, invalidateTask, clear, stats })
  })
}

// -----------------------------------------------------------------------------
// Backends
// -----------------------------------------------------------------------------

const memoryId = (key: CacheKey): string => JSON.stringify([key.workflow, key.taskId, key.hash])

/**
 * An in-memory backend with least-recently-used eviction: past `maxEntries` (default 1000) the entry
 * whose last `get` or `set` is oldest is dropped. Values are kept as they are (not copied).
 *
 * `maxEntries` must be a whole number ≥ 0 or `Infinity`; anything else (`NaN`, `-1`, `1.5`) throws
 * `InvalidDefinition` naming `TaskCache.maxEntries` when this is called.
 *
 * @category constructors
 * @since 0.1.0
 */
export const memoryBackend = (options?: { readonly maxEntries?: number | undefined }): Effect.Effect<Backend> => {
  checkMaxEntries("TaskCache.maxEntries", options?.maxEntries)
  return Effect.sync(() => {
    const maxEntries = options?.maxEntries ?? 1_000
    // A Map iterates in insertion order: re-inserting on use keeps the least recently used first.
    const entries = new Map<string, { readonly key: CacheKey; readonly entry: Entry }>()
    let evictions = 0

    const removeWhere = (predicate: (key: CacheKey, entry: Entry) => boolean): number => {
      let removed = 0
      for (const [id, slot] of entries) {
        if (predicate(slot.key, slot.entry)) {
          entries.delete(id)
          removed++
        }
      }
      return removed
    }

    return {
      get: (key) =>
        Effect.sync(() => {
          const id = memoryId(key)
          const slot = entries.get(id)
          if (slot === undefined) return Option.none()
          entries.delete(id)
          entries.set(id, slot)
          return Option.some(slot.entry)
        }),
      set: (key, entry) =>
        Effect.sync(() => {
          const id = memoryId(key)
          entries.delete(id)
          entries.set(id, { key, entry })
          while (entries.size > maxEntries) {
            const oldest = entries.keys().next()
            if (oldest.done === true) break
            entries.delete(oldest.value)
            evictions++
          }
        }),
      remove: (key) =>
        Effect.sync(() => {
          entries.delete(memoryId(key))
        }),
      removeTask: (workflow, taskId) =>
        Effect.sync(() => removeWhere((key) => key.workflow === workflow && key.taskId === taskId)),
      clear: Effect.sync(() => {
        const removed = entries.size
        entries.clear()
        return removed
      }),
      removeExpired: (now) =>
        Effect.sync(() => removeWhere((_, entry) => entry.expiresAt !== undefined && entry.expiresAt <= now)),
      size: Effect.sync(() => entries.size),
      maxSize: Number.isFinite(maxEntries) ? maxEntries : undefined,
      evictions: Effect.sync(() => evictions)
    }
  })
}

/**
 * A backend that stores nothing: every `get` finds nothing.
 *
 * @category constructors
 * @since 0.1.0
 */
export const noneBackend: Backend = {
  get: () => Effect.succeed(Option.none()),
  set: () => Effect.void,
  remove: () => Effect.void,
  removeTask: () => Effect.succeed(0),
  clear: Effect.succeed(0),
  removeExpired: () => Effect.succeed(0),
  size: Effect.succeed(0),
  maxSize: 0,
  evictions: Effect.succeed(0)
}

/**
 * A backend with a fast `front` (usually {@link memoryBackend}) in front of a durable `back` (usually
 * the disk). Writes go to both; a read tries the front, then the back, and copies a back hit into the
 * front. Removal, invalidation and clearing apply to both.
 *
 * The back holds every entry, so size, capacity and evictions are the back's: an entry the front drops
 * is still cached.
 *
 * **Example**
 *
 * ```ts
 * import { Effect } from "effect"
 * import { TaskCache } from "@troupe/core"
 *
 * declare const disk: Effect.Effect<TaskCache.Backend>
 *
 * const layer = TaskCache.layer({
 *   strategy: "hybrid",
 *   backend: Effect.all([TaskCache.memoryBackend({ maxEntries: 100 }), disk]).pipe(
 *     Effect.map(([front, back]) => TaskCache.hybrid(front, back))
 *   )
 * })
 * ```
 *
 * @category combinators
 * @since 0.1.0
 */
export const hybrid = (front: Backend, back: Backend): Backend => ({
  get: (key) =>
    Effect.flatMap(front.get(key), (inFront) =>
      Option.isSome(inFront)
        ? Effect.succeed(inFront)
        : Effect.tap(back.get(key), (inBack) => Option.isSome(inBack) ? front.set(key, inBack.value) : Effect.void)),
  set: (key, entry) => Effect.andThen(front.set(key, entry), back.set(key, entry)),
  remove: (key) => Effect.andThen(front.remove(key), back.remove(key)),
  removeTask: (workflow, taskId) =>
    Effect.map(
      Effect.all([front.removeTask(workflow, taskId), back.removeTask(workflow, taskId)]),
      ([a, b]) => Math.max(a, b)
    ),
  clear: Effect.map(Effect.all([front.clear, back.clear]), ([a, b]) => Math.max(a, b)),
  removeExpired: (now) =>
    Effect.map(Effect.all([front.removeExpired(now), back.removeExpired(now)]), ([a, b]) => Math.max(a, b)),
  size: back.size,
  maxSize: back.maxSize,
  evictions: back.evictions
})

// -----------------------------------------------------------------------------
// Schema-aware access
// -----------------------------------------------------------------------------

/**
 * Looks a key up in the provided TaskCache and, given the task's output Schema, decodes the cached JSON
 * value with `Schema.toCodecJson(schema)`. A value that fails to decode is a miss (and is removed).
 * Without a TaskCache in the context this is always a miss.
 *
 * **Example**
 *
 * ```ts
 * import { Effect, Option, Schema } from "effect"
 * import { TaskCache } from "@troupe/core"
 *
 * const Output = Schema.Struct({ artifact: Schema.String })
 * const key = TaskCache.CacheKey.make({ workflow: "ci", taskId: "build", input: { ref: "main" } })
 *
 * const program = Effect.gen(function*() {
 *   yield* TaskCache.store(key, { artifact: "dist.tgz" }, { schema: Output })
 *   const cached = yield* TaskCache.lookup(key, Output) // Option<{ readonly artifact: string }>
 *   return Option.getOrUndefined(cached)
 * }).pipe(Effect.provide(TaskCache.layerMemory({ maxEntries: 100 })))
 * ```
 *
 * @category combinators
 * @since 0.1.0
 */
export function lookup(key: CacheKey): Effect.Effect<Option.Option<unknown>>
export function lookup<S extends Schema.Constraint>(
  key: CacheKey,
  schema: S
): Effect.Effect<Option.Option<S["Type"]>, never, S["DecodingServices"]>
export function lookup(key: CacheKey, schema?: Schema.Constraint): Effect.Effect<Option.Option<unknown>, never, unknown> {
  return Effect.flatMap(Effect.serviceOption(TaskCache), (cache) => {
    if (Option.isNone(cache)) return Effect.succeed(Option.none())
    if (schema === undefined) return cache.value.get(key)
    const decode = Schema.decodeUnknownEffect(Schema.toCodecJson(schema))
    return cache.value.get(key, (value) => decode(value))
  })
}

/**
 * Options of {@link store}.
 *
 * @category models
 * @since 0.1.0
 */
export interface StoreOptions<S extends Schema.Constraint> extends SetOptions {
  /** The task's output Schema: the value is stored as `Schema.toCodecJson(schema)` encodes it. */
  readonly schema: S
}

/**
 * Stores a task's output in the provided TaskCache, encoded with `Schema.toCodecJson(schema)` when a
 * schema is given. A value that fails to encode is not stored (a warning is logged). Without a TaskCache
 * in the context this does nothing.
 *
 * @category combinators
 * @since 0.1.0
 */
export function store(key: CacheKey, value: unknown, options?: SetOptions): Effect.Effect<void>
export function store<S extends Schema.Constraint>(
  key: CacheKey,
  value: S["Type"],
  options: StoreOptions<S>
): Effect.Effect<void, never, S["EncodingServices"]>
export function store(
  key: CacheKey,
  value: unknown,
  options?: SetOptions & { readonly schema?: Schema.Constraint }
): Effect.Effect<void, never, unknown> {
  return Effect.flatMap(Effect.serviceOption(TaskCache), (cache) => {
    if (Option.isNone(cache)) return Effect.void
    const setOptions: SetOptions = options?.ttl !== undefined ? { ttl: options.ttl } : {}
    const schema = options?.schema
    if (schema === undefined) return cache.value.set(key, value, setOptions)
    return Schema.encodeUnknownEffect(Schema.toCodecJson(schema))(value).pipe(
      Effect.matchEffect({
        onFailure: (error) =>
          Effect.logWarning("TaskCache: the output does not encode with its Schema; not cached").pipe(
            Effect.annotateLogs({ workflow: key.workflow, taskId: key.taskId, error: error.message })
          ),
        onSuccess: (encoded) => cache.value.set(key, encoded, setOptions)
      })
    )
  })
}

// -----------------------------------------------------------------------------
// Layers
// -----------------------------------------------------------------------------

/**
 * A TaskCache layer over any backend (the node package builds its disk and hybrid layers with it).
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = <E, R>(
  options: MakeOptions & { readonly backend: Effect.Effect<Backend, E, R> }
): Layer.Layer<TaskCache, E, Exclude<R, Scope.Scope>> => {
  checkTtl("TaskCache.ttl", options.ttl)
  return Layer.effect(
    TaskCache,
    Effect.flatMap(options.backend, (backend) => make({ strategy: options.strategy, ttl: options.ttl, backend }))
  )
}

/**
 * An in-memory TaskCache: at most `maxEntries` entries (default 1000, least recently used evicted
 * first), each living `ttl` (default: until evicted) measured with effect's `Clock`. Invalid numbers
 * (`maxEntries: NaN`, `ttl: -1`) throw `InvalidDefinition` naming the option when this is called.
 *
 * **Example**
 *
 * ```ts
 * import { TaskCache } from "@troupe/core"
 *
 * const CacheLive = TaskCache.layerMemory({ maxEntries: 500, ttl: "1 hour" })
 * ```
 *
 * @category layers
 * @since 0.1.0
 */
export const layerMemory = (
  options?: { readonly maxEntries?: number | undefined; readonly ttl?: Duration.Input | undefined }
): Layer.Layer<TaskCache> =>
  layer({ strategy: "memory", ttl: options?.ttl, backend: memoryBackend({ maxEntries: options?.maxEntries }) })

/**
 * A TaskCache that stores nothing: every lookup is a miss (and is counted as one).
 *
 * @category layers
 * @since 0.1.0
 */
export const layerNone: Layer.Layer<TaskCache> = layer({ strategy: "none", backend: Effect.succeed(noneBackend) })
