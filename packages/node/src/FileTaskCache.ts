/**
 * FileTaskCache: the disk and hybrid TaskCache layers, on effect's `FileSystem` and `Path`.
 *
 * One file per entry, `<directory>/<workflow>/<taskId>/<hash>.json`, holding
 * `{ "value": …, "storedAt": <ms>, "expiresAt": <ms> | null }`. Entries survive restarts: a new layer
 * (in this process or another one) sees the files earlier ones wrote.
 *
 * - Writes are atomic: the JSON goes to a temporary file next to its destination, which is then renamed
 *   over it, so a reader (or a crash) never sees half a file.
 * - TTL: the expiry is stored in the file and checked against effect's `Clock` on each read.
 * - Capacity (`maxEntries`, optional): least recently used files are deleted first. Recency is the
 *   file's modification time, which each read refreshes, so the order survives restarts too.
 * - Invalidating a task removes its folder; `clear` removes every workflow folder under the directory
 *   (files directly in the directory are left alone).
 * - A file that cannot be read or parsed is a miss (the file is removed and a warning logged), never a
 *   failure of the run.
 * - Values must be JSON data (plain objects, arrays, strings, finite numbers, booleans, null; or
 *   `undefined` at the top, for tasks that return nothing). `TaskCache.store` with the task's output
 *   Schema guarantees it; any other value is not written (a warning is logged).
 *
 * Path segments are percent-encoded (only `A-Z a-z 0-9 _ -` are kept), so any workflow name, task id or
 * custom hash is a safe single folder or file name. On case-insensitive file systems two task ids that
 * differ only by case share a folder: entries stay apart (the hash includes the task id) but
 * invalidating one task also drops the other's entries.
 *
 * Why not effect's `KeyValueStore.layerFileSystem` or `PersistedCache`: the key-value store keeps every
 * key as one flat file in one directory and writes in place (a crash mid-write leaves a truncated
 * file); removing one task's entries would mean listing the whole directory; it has no capacity or
 * recency. `PersistedCache` computes values through its own lookup function keyed by `Persistable`
 * request classes, while the engine needs a separate lookup and store around a handler it runs itself
 * (with retries and timeouts), invalidation per task and hit/eviction statistics. TTL, LRU and stats
 * are implemented once in `TaskCache.make` for every strategy; this module only provides the storage.
 *
 * The layers need `FileSystem` and `Path`: provide `NodeServices.layer` (or `NodeFileSystem.layer` and
 * `NodePath.layer`) from `@effect/platform-node`.
 *
 * @since 0.1.0
 */
import { Buffer } from "node:buffer"
import { createHash } from "node:crypto"
import * as TaskCache from "@troupe/core/TaskCache"
import { Clock, Effect, FileSystem, Layer, Option, Path, Random, Result, Schema, Semaphore } from "effect"
import type * as Duration from "effect/Duration"
import type { PlatformError } from "effect/PlatformError"

// -----------------------------------------------------------------------------
// Models
// -----------------------------------------------------------------------------

/**
 * Options of {@link layer}.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options {
  /** The cache directory; created if missing. Relative paths are resolved against the working directory. */
  readonly directory: string
  /** At most this many entries on disk (least recently used deleted first); unbounded when omitted. */
  readonly maxEntries?: number | undefined
  /** Default TTL of entries; without it entries live until evicted or invalidated. */
  readonly ttl?: Duration.Input | undefined
}

/**
 * Options of {@link layerHybrid}.
 *
 * @category models
 * @since 0.1.0
 */
export interface HybridOptions {
  readonly directory: string
  /** Entries kept in memory in front of the disk (default 1000). */
  readonly maxEntries?: number | undefined
  /** Entries kept on disk; unbounded when omitted. */
  readonly diskMaxEntries?: number | undefined
  readonly ttl?: Duration.Input | undefined
}

/**
 * The content of one cache file.
 *
 * @category models
 * @since 0.1.0
 */
export const StoredEntry = Schema.Struct({
  /** Absent when the task's output was `undefined`. */
  value: Schema.optionalKey(Schema.Unknown),
  storedAt: Schema.Number,
  expiresAt: Schema.NullOr(Schema.Number)
})

const decodeStoredEntry = Schema.decodeUnknownResult(Schema.fromJsonString(StoredEntry))

// -----------------------------------------------------------------------------
// Paths
// -----------------------------------------------------------------------------

const MAX_SEGMENT = 120

const isSafeChar = (ch: string): boolean => /^[A-Za-z0-9_-]$/.test(ch)

/**
 * Turns a workflow name, task id or hash into a single, safe path segment. Only `A-Z a-z 0-9 _ -` are
 * kept; every other character becomes `%XX` per UTF-8 byte (so ".", ".." and "/" cannot escape the
 * directory). The empty string becomes "%". A segment longer than 120 characters is cut and suffixed
 * with `~` and the SHA-256 of the original, to stay within file-name limits. Distinct inputs give
 * distinct segments.
 *
 * @category constructors
 * @since 0.1.0
 */
export const encodeSegment = (text: string): string => {
  if (text.length === 0) return "%"
  let out = ""
  for (const ch of text) {
    if (isSafeChar(ch)) {
      out += ch
    } else {
      for (const byte of Buffer.from(ch, "utf8")) out += `%${byte.toString(16).toUpperCase().padStart(2, "0")}`
    }
  }
  if (out.length <= MAX_SEGMENT) return out
  return `${out.slice(0, MAX_SEGMENT - 65)}~${createHash("sha256").update(text, "utf8").digest("hex")}`
}

// -----------------------------------------------------------------------------
// JSON data
// -----------------------------------------------------------------------------

const isJsonData = (value: unknown, ancestors: Set<object>): boolean => {
  switch (typeof value) {
    case "string":
    case "boolean":
      return true
    case "number":
      return Number.isFinite(value)
    case "object": {
      if (value === null) return true
      if (ancestors.has(value)) return false
      ancestors.add(value)
      try {
        if (Array.isArray(value)) return value.every((item) => isJsonData(item, ancestors))
        const proto: unknown = Object.getPrototypeOf(value)
        if (proto !== Object.prototype && proto !== null) return false
        // `undefined` properties are allowed: JSON drops them, which reads back the same.
        return Object.values(value).every((item) => item === undefined || isJsonData(item, ancestors))
      } finally {
        ancestors.delete(value)
      }
    }
    default:
      return false
  }
}

/**
 * Whether a value survives a JSON round trip unchanged (`undefined` at the top is allowed).
 *
 * @category guards
 * @since 0.1.0
 */
export const isStorable = (value: unknown): boolean => value === undefined || isJsonData(value, new Set())

// -----------------------------------------------------------------------------
// Backend
// -----------------------------------------------------------------------------

interface Indexed {
  readonly taskDir: string
  /** `null` when not known (an entry found on disk at startup and not read since). */
  readonly expiresAt: number | undefined | null
}

const isNotFound = (error: PlatformError): boolean => error.reason._tag === "NotFound"

const warn = (message: string, file: string, error?: unknown): Effect.Effect<void> =>
  Effect.logWarning(`FileTaskCache: ${message}`).pipe(
    Effect.annotateLogs(error === undefined ? { file } : { file, error: String(error) })
  )

let tempCounter = 0

/**
 * The disk {@link TaskCache.Backend}, for building other layers (for example a hybrid with another front).
 *
 * @category constructors
 * @since 0.1.0
 */
export const makeBackend = (options: {
  readonly directory: string
  readonly maxEntries?: number | undefined
}): Effect.Effect<TaskCache.Backend, PlatformError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const root = path.resolve(options.directory)
    const requested = options.maxEntries
    const maxEntries = requested === undefined || Number.isNaN(requested)
      ? Number.POSITIVE_INFINITY
      : Math.max(0, Math.floor(requested))
    const lock = yield* Semaphore.make(1)
    // File path -> what we know of it. Insertion order is recency: least recently used first.
    const index = new Map<string, Indexed>()
    let evictions = 0

    const taskDirOf = (workflow: string, taskId: string): string =>
      path.join(root, encodeSegment(workflow), encodeSegment(taskId))
    const fileOf = (key: TaskCache.CacheKey): string =>
      path.join(taskDirOf(key.workflow, key.taskId), `${encodeSegment(key.hash)}.json`)

    const listDir = (dir: string) =>
      fs.readDirectoryEntries(dir).pipe(
        Effect.catch((error) => isNotFound(error) ? Effect.succeed([]) : Effect.fail(error))
      )

    /** Every entry file under the directory, with its task folder and modification time. */
    const scan = Effect.gen(function*() {
      const found: Array<{ readonly file: string; readonly taskDir: string; readonly mtime: number }> = []
      for (const workflow of yield* listDir(root)) {
        if (workflow.type !== "Directory") continue
        const workflowDir = path.join(root, workflow.name)
        for (const task of yield* listDir(workflowDir)) {
          if (task.type !== "Directory") continue
          const taskDir = path.join(workflowDir, task.name)
          for (const entry of yield* listDir(taskDir)) {
            if (entry.type !== "File" || !entry.name.endsWith(".json")) continue
            const file = path.join(taskDir, entry.name)
            const info = yield* fs.stat(file).pipe(Effect.option)
            if (Option.isNone(info)) continue
            found.push({ file, taskDir, mtime: Option.getOrElse(info.value.mtime, () => new Date(0)).getTime() })
          }
        }
      }
      return found
    })

    const touch = (file: string, indexed: Indexed) => {
      index.delete(file)
      index.set(file, indexed)
    }

    const removeFile = (file: string) =>
      fs.remove(file, { force: true }).pipe(
        Effect.catch((error) => warn("cannot remove a cache file", file, error))
      )

    const evictOverflow = Effect.gen(function*() {
      while (index.size > maxEntries) {
        const oldest = index.keys().next()
        if (oldest.done === true) break
        index.delete(oldest.value)
        yield* removeFile(oldest.value)
        evictions++
      }
    })

    yield* fs.makeDirectory(root, { recursive: true })
    const existing = yield* scan
    existing.sort((a, b) => a.mtime - b.mtime || (a.file < b.file ? -1 : a.file > b.file ? 1 : 0))
    for (const { file, taskDir } of existing) index.set(file, { taskDir, expiresAt: null })

    const get = (key: TaskCache.CacheKey): Effect.Effect<Option.Option<TaskCache.Entry>> =>
      Effect.gen(function*() {
        const file = fileOf(key)
        const read = yield* Effect.result(fs.readFileString(file))
        if (Result.isFailure(read)) {
          index.delete(file)
          if (!isNotFound(read.failure)) yield* warn("cannot read a cache file; treating it as a miss", file, read.failure)
          return Option.none()
        }
        const decoded = decodeStoredEntry(read.success)
        if (Result.isFailure(decoded)) {
          yield* warn("corrupted cache file; treating it as a miss and removing it", file, decoded.failure.message)
          index.delete(file)
          yield* removeFile(file)
          return Option.none()
        }
        const stored = decoded.success
        const expiresAt = stored.expiresAt === null ? undefined : stored.expiresAt
        touch(file, { taskDir: taskDirOf(key.workflow, key.taskId), expiresAt })
        const now = yield* Clock.currentTimeMillis
        yield* fs.utimes(file, new Date(now), new Date(now)).pipe(Effect.ignore)
        return Option.some<TaskCache.Entry>({ value: stored.value, storedAt: stored.storedAt, expiresAt })
      })

    const set = (key: TaskCache.CacheKey, entry: TaskCache.Entry): Effect.Effect<void> =>
      Effect.gen(function*() {
        const file = fileOf(key)
        if (!isStorable(entry.value)) {
          return yield* warn("the value is not JSON data; not cached (give the task an output Schema)", file)
        }
        const taskDir = taskDirOf(key.workflow, key.taskId)
        const text = JSON.stringify({ value: entry.value, storedAt: entry.storedAt, expiresAt: entry.expiresAt ?? null })
        const nonce = yield* Random.nextIntBetween(0, 2 ** 31)
        const temp = `${file}.${process.pid}-${++tempCounter}-${nonce.toString(36)}.tmp`
        const stamp = new Date(entry.storedAt)
        const written = yield* Effect.gen(function*() {
          yield* fs.makeDirectory(taskDir, { recursive: true })
          yield* fs.writeFileString(temp, text)
          yield* fs.utimes(temp, stamp, stamp)
          yield* fs.rename(temp, file)
        }).pipe(
          Effect.as(true),
          Effect.catch((error) =>
            fs.remove(temp, { force: true }).pipe(
              Effect.ignore,
              Effect.andThen(warn("cannot write a cache file", file, error)),
              Effect.as(false)
            )
          )
        )
        if (!written) return
        touch(file, { taskDir, expiresAt: entry.expiresAt })
        yield* evictOverflow
      }).pipe(lock.withPermits(1))

    const remove = (key: TaskCache.CacheKey): Effect.Effect<void> =>
      Effect.suspend(() => {
        const file = fileOf(key)
        index.delete(file)
        return removeFile(file)
      }).pipe(lock.withPermits(1))

    const removeTask = (workflow: string, taskId: string): Effect.Effect<number> =>
      Effect.gen(function*() {
        const taskDir = taskDirOf(workflow, taskId)
        const entries = yield* listDir(taskDir).pipe(
          Effect.catch((error) => Effect.as(warn("cannot list a task's cache folder", taskDir, error), []))
        )
        const count = entries.filter((entry) => entry.type === "File" && entry.name.endsWith(".json")).length
        for (const [file, indexed] of index) if (indexed.taskDir === taskDir) index.delete(file)
        yield* fs.remove(taskDir, { recursive: true, force: true }).pipe(
          Effect.catch((error) => warn("cannot remove a task's cache folder", taskDir, error))
        )
        return count
      }).pipe(lock.withPermits(1))

    const clear: Effect.Effect<number> = Effect.gen(function*() {
      const files = yield* scan.pipe(
        Effect.catch((error) => Effect.as(warn("cannot list the cache directory", root, error), []))
      )
      index.clear()
      const workflows = yield* listDir(root).pipe(Effect.orElseSucceed(() => []))
      for (const workflow of workflows) {
        if (workflow.type !== "Directory") continue
        const dir = path.join(root, workflow.name)
        yield* fs.remove(dir, { recursive: true, force: true }).pipe(
          Effect.catch((error) => warn("cannot remove a workflow's cache folder", dir, error))
        )
      }
      return files.length
    }).pipe(lock.withPermits(1))

    const removeExpired = (now: number): Effect.Effect<number> =>
      Effect.gen(function*() {
        let removed = 0
        for (const [file, indexed] of index) {
          if (typeof indexed.expiresAt === "number" && indexed.expiresAt <= now) {
            index.delete(file)
            yield* removeFile(file)
            removed++
          }
        }
        return removed
      }).pipe(lock.withPermits(1))

    return {
      get,
      set,
      remove,
      removeTask,
      clear,
      removeExpired,
      size: Effect.sync(() => index.size),
      maxSize: Number.isFinite(maxEntries) ? maxEntries : undefined,
      evictions: Effect.sync(() => evictions)
    } satisfies TaskCache.Backend
  })

// -----------------------------------------------------------------------------
// Layers
// -----------------------------------------------------------------------------

/**
 * A disk TaskCache (strategy `"disk"`).
 *
 * **Example**
 *
 * ```ts
 * import { NodeServices } from "@effect/platform-node"
 * import { Layer } from "effect"
 * import { FileTaskCache } from "@troupe/node"
 *
 * const CacheLive = FileTaskCache.layer({ directory: ".troupe/cache", ttl: "7 days" }).pipe(
 *   Layer.provide(NodeServices.layer)
 * )
 * ```
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (
  options: Options
): Layer.Layer<TaskCache.TaskCache, PlatformError, FileSystem.FileSystem | Path.Path> =>
  TaskCache.layer({
    strategy: "disk",
    ttl: options.ttl,
    backend: makeBackend({ directory: options.directory, maxEntries: options.maxEntries })
  })

/**
 * A hybrid TaskCache (strategy `"hybrid"`): an LRU memory cache of `maxEntries` in front of the disk
 * cache. Reads that miss memory fall back to disk and are copied into memory; writes go to both.
 *
 * @category layers
 * @since 0.1.0
 */
export const layerHybrid = (
  options: HybridOptions
): Layer.Layer<TaskCache.TaskCache, PlatformError, FileSystem.FileSystem | Path.Path> =>
  TaskCache.layer({
    strategy: "hybrid",
    ttl: options.ttl,
    backend: Effect.all([
      TaskCache.memoryBackend({ maxEntries: options.maxEntries }),
      makeBackend({ directory: options.directory, maxEntries: options.diskMaxEntries })
    ]).pipe(Effect.map(([front, back]) => TaskCache.hybrid(front, back)))
  })
