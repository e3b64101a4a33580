/**
 * FileTaskCache: the disk and hybrid TaskCache layers, on effect's `FileSystem` and `Path`.
 *
 * One file per entry, `<directory>/<workflow>/<taskId>/<hash>.json`, holding
 * `{ "value": …, "storedAt": <ms>, "expiresAt": <ms> | null, "integrity": "sha256:…" }`. Entries survive
 * restarts: a new layer (in this process or another one) sees the files earlier ones wrote.
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
 * - Nothing read is trusted: `integrity` is the SHA-256 of the entry's key (workflow, task id, hash),
 *   times and value text, so a file that was changed but is still valid JSON (an edited value, a file
 *   copied to another key) is a miss and is removed, never served. Only regular files are read (opened
 *   non-blocking and without following symbolic links, then checked on the open handle): a FIFO, a
 *   device or a symbolic link in place of an entry is a miss, not a hung run. A file larger than
 *   `maxEntryBytes` (default 64 MiB) is a miss and is removed; a value larger than that is not written.
 * - Temporary files left by a crash mid-write (`*.tmp` next to entries) are removed when a layer is built,
 *   once older than `temporaryFileMaxAge` (default 10 minutes, so another process's write in flight is
 *   left alone).
 * - Numeric options are checked when the layer is built: `maxEntries: NaN`, a negative TTL or a
 *   fractional byte limit throw `InvalidDefinition` naming the option.
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
import { constants as FsConstants } from "node:fs"
import { open as openFile } from "node:fs/promises"
import * as TaskCache from "@troupe/core/TaskCache"
import { InvalidDefinition } from "@troupe/core/WorkflowError"
import { Clock, Duration, Effect, FileSystem, Layer, Option, Path, Random, Result, Schema, Semaphore } from "effect"
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
  /** The largest entry file read or written, in bytes (default 64 MiB). */
  readonly maxEntryBytes?: number | undefined
  /** Temporary files older than this are removed when the layer is built (default 10 minutes). */
  readonly temporaryFileMaxAge?: Duration.Input | undefined
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
  /** The largest entry file read or written, in bytes (default 64 MiB). */
  readonly maxEntryBytes?: number | undefined
  /** Temporary files older than this are removed when the layer is built (default 10 minutes). */
  readonly temporaryFileMaxAge?: Duration.Input | undefined
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
  expiresAt: Schema.NullOr(Schema.Number),
  /** `sha256:` and the hex SHA-256 of the key, the times and the value's JSON text (see {@link integrityOf}). */
  integrity: Schema.String
})

/**
 * The integrity stamp of an entry: binds the value's JSON text (as `JSON.stringify` writes it; empty for
 * `undefined`) to its key and times, so an edited value, edited times or a file moved to another key do
 * not verify.
 *
 * @category constructors
 * @since 0.1.0
 */
export const integrityOf = (
  key: TaskCache.CacheKey,
  storedAt: number,
  expiresAt: number | null,
  valueText: string
): string =>
  `sha256:${
    createHash("sha256").update(JSON.stringify([key.workflow, key.taskId, key.hash, storedAt, expiresAt]))
      .update("\n").update(valueText, "utf8").digest("hex")
  }`

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

/** Walks without recursion (any depth), so a deep output is judged, not a stack overflow. */
const isJsonData = (root: unknown): boolean => {
  const ancestors = new Set<object>()
  // An object on the stack is visited; the EXIT marker after it removes it from the ancestors.
  const EXIT = Symbol("exit")
  const stack: Array<unknown> = [root]
  while (stack.length > 0) {
    const value = stack.pop()
    if (value === EXIT) {
      ancestors.delete(stack.pop() as object)
      continue
    }
    switch (typeof value) {
      case "string":
      case "boolean":
        continue
      case "number":
        if (!Number.isFinite(value)) return false
        continue
      case "object": {
        if (value === null) continue
        if (ancestors.has(value)) return false
        ancestors.add(value)
        stack.push(value, EXIT)
        if (Array.isArray(value)) {
          for (const item of value) stack.push(item)
          continue
        }
        const proto: unknown = Object.getPrototypeOf(value)
        if (proto !== Object.prototype && proto !== null) return false
        // `undefined` properties are allowed: JSON drops them, which reads back the same.
        for (const item of Object.values(value)) if (item !== undefined) stack.push(item)
        continue
      }
      default:
        return false
    }
  }
  return true
}

/**
 * Whether a value survives a JSON round trip unchanged (`undefined` at the top is allowed).
 *
 * @category guards
 * @since 0.1.0
 */
export const isStorable = (value: unknown): boolean => {
  if (value === undefined) return true
  try {
    return isJsonData(value)
  } catch {
    return false // a throwing getter or Proxy trap
  }
}

/** `JSON.stringify` that reports a failure (a value too deep for it, a throwing `toJSON`) as `undefined`. */
const stringify = (value: unknown): string | undefined => {
  try {
    return JSON.stringify(value)
  } catch {
    return undefined
  }
}

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

const DEFAULT_MAX_ENTRY_BYTES = 64 * 1024 * 1024
const DEFAULT_TEMPORARY_FILE_MAX_AGE = "10 minutes"
const TEMP_SUFFIX = ".tmp"

const shown = (value: unknown): string =>
  typeof value === "number" || typeof value === "boolean" || value === undefined || value === null
    ? String(value)
    : typeof value === "string"
    ? JSON.stringify(value.slice(0, 40))
    : typeof value

/** Throws `InvalidDefinition` unless `value` is a whole number ≥ `min` (or Infinity, when allowed). */
const checkWhole = (option: string, value: unknown, min: number, unbounded: boolean): void => {
  if (value === undefined || (unbounded && value === Infinity)) return
  if (typeof value !== "number" || !Number.isInteger(value) || value < min) {
    throw new InvalidDefinition({
      path: `FileTaskCache.${option}`,
      reason: `must be a whole number ≥ ${min}${unbounded ? " or Infinity" : ""}, got ${shown(value)}`
    })
  }
}

/** The milliseconds of a duration option ≥ 0; throws `InvalidDefinition` naming it otherwise. */
const checkMillis = (option: string, value: Duration.Input | undefined, fallback: Duration.Input): number => {
  const bad = () =>
    new InvalidDefinition({ path: `FileTaskCache.${option}`, reason: `must be a duration ≥ 0, got ${shown(value)}` })
  if (typeof value === "number" && Number.isNaN(value)) throw bad()
  let decoded: Option.Option<Duration.Duration>
  try {
    decoded = Duration.fromInput(value ?? fallback)
  } catch {
    throw bad()
  }
  if (Option.isNone(decoded)) throw bad()
  const ms = Duration.toMillis(decoded.value)
  if (Number.isNaN(ms) || ms < 0) throw bad()
  return ms
}

type ReadOutcome =
  | { readonly _tag: "Text"; readonly text: string }
  | { readonly _tag: "NotFound" }
  | { readonly _tag: "NotRegular"; readonly what: string }
  | { readonly _tag: "TooLarge"; readonly size: number }

// O_NONBLOCK: opening a FIFO does not wait for a writer. O_NOFOLLOW: a symbolic link is not followed
// (ELOOP). Neither exists on Windows, where neither is needed.
const READ_FLAGS = FsConstants.O_RDONLY | (FsConstants.O_NONBLOCK ?? 0) | (FsConstants.O_NOFOLLOW ?? 0)

/**
 * Reads an entry file if, once open, it is a regular file of at most `limit` bytes. Effect's
 * `FileSystem` cannot open non-blocking or without following links, and `readFile` on a FIFO waits for a
 * writer forever, so this uses `node:fs` directly.
 */
const readRegularFile = (file: string, limit: number): Effect.Effect<ReadOutcome, unknown> =>
  Effect.tryPromise({
    try: async (): Promise<ReadOutcome> => {
      let handle: Awaited<ReturnType<typeof openFile>>
      try {
        handle = await openFile(file, READ_FLAGS)
      } catch (error) {
        const code = (error as { readonly code?: unknown }).code
        if (code === "ENOENT") return { _tag: "NotFound" }
        if (code === "ELOOP" || code === "EMLINK") return { _tag: "NotRegular", what: "a symbolic link" }
        throw error
      }
      try {
        const stat = await handle.stat()
        if (!stat.isFile()) {
          const what = stat.isFIFO()
            ? "a FIFO"
            : stat.isDirectory()
            ? "a directory"
            : stat.isSocket()
            ? "a socket"
            : "a device"
          return { _tag: "NotRegular", what }
        }
        if (stat.size > limit) return { _tag: "TooLarge", size: stat.size }
        // Read at most limit + 1 bytes: a file that grew since the stat is still bounded.
        const buffer = Buffer.alloc(Math.min(stat.size, limit) + 1)
        let length = 0
        while (length < buffer.length) {
          const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length)
          if (bytesRead === 0) break
          length += bytesRead
        }
        if (length > limit) return { _tag: "TooLarge", size: length }
        return { _tag: "Text", text: buffer.toString("utf8", 0, length) }
      } finally {
        await handle.close()
      }
    },
    catch: (error) => error
  })

/** What the parts of the disk backend share: the file system, the directory, the limits and the index. */
interface Disk {
  readonly fs: FileSystem.FileSystem
  readonly path: Path.Path
  readonly root: string
  readonly maxEntries: number
  readonly maxEntryBytes: number
  /** Writes and removals run one at a time. */
  readonly lock: Semaphore.Semaphore
  /** File path -> what we know of it. Insertion order is recency: least recently used first. */
  readonly index: Map<string, Indexed>
  evictions: number
}

// ---- files and folders -----------------------------------------------------------------------------------

const taskDirOf = (d: Disk, workflow: string, taskId: string): string =>
  d.path.join(d.root, encodeSegment(workflow), encodeSegment(taskId))

const fileOf = (d: Disk, key: TaskCache.CacheKey): string =>
  d.path.join(taskDirOf(d, key.workflow, key.taskId), `${encodeSegment(key.hash)}.json`)

const listDir = (d: Disk, dir: string) =>
  d.fs.readDirectoryEntries(dir).pipe(
    Effect.catch((error) => isNotFound(error) ? Effect.succeed([]) : Effect.fail(error))
  )

/** Every entry file under the directory, with its task folder and modification time (and the temporary files). */
const scanAll = (d: Disk) =>
  Effect.gen(function*() {
    const { fs, path, root } = d
    const found: Array<{ readonly file: string; readonly taskDir: string; readonly mtime: number }> = []
    const temporary: Array<{ readonly file: string; readonly mtime: number }> = []
    for (const workflow of yield* listDir(d, root)) {
      if (workflow.type !== "Directory") continue
      const workflowDir = path.join(root, workflow.name)
      for (const task of yield* listDir(d, workflowDir)) {
        if (task.type !== "Directory") continue
        const taskDir = path.join(workflowDir, task.name)
        for (const entry of yield* listDir(d, taskDir)) {
          const isTemp = entry.name.endsWith(TEMP_SUFFIX)
          if (entry.type !== "File" || !(entry.name.endsWith(".json") || isTemp)) continue
          const file = path.join(taskDir, entry.name)
          const info = yield* fs.stat(file).pipe(Effect.option)
          if (Option.isNone(info)) continue
          const mtime = Option.getOrElse(info.value.mtime, () => new Date(0)).getTime()
          if (isTemp) temporary.push({ file, mtime })
          else found.push({ file, taskDir, mtime })
        }
      }
    }
    return { found, temporary }
  })

const touch = (d: Disk, file: string, indexed: Indexed) => {
  d.index.delete(file)
  d.index.set(file, indexed)
}

const removeFile = (d: Disk, file: string) =>
  d.fs.remove(file, { force: true }).pipe(
    Effect.catch((error) => warn("cannot remove a cache file", file, error))
  )

/** Beyond `maxEntries`, the least recently used entries are removed. */
const evictOverflow = (d: Disk) =>
  Effect.gen(function*() {
    while (d.index.size > d.maxEntries) {
      const oldest = d.index.keys().next()
      if (oldest.done === true) break
      d.index.delete(oldest.value)
      yield* removeFile(d, oldest.value)
      d.evictions++
    }
  })

/**
 * Opens the directory: indexes the entries found (oldest first) and removes the temporary files of writes
 * that never finished.
 */
const openDirectory = (d: Disk, temporaryFileMaxAge: number) =>
  Effect.gen(function*() {
    yield* d.fs.makeDirectory(d.root, { recursive: true })
    const { found: existing, temporary } = yield* scanAll(d)
    // Temporary files of writes that never finished (a crash between write and rename). Young ones may
    // belong to another process writing right now: only those older than the limit are removed.
    const openedAt = yield* Clock.currentTimeMillis
    for (const { file, mtime } of temporary) {
      if (openedAt - mtime >= temporaryFileMaxAge) yield* removeFile(d, file)
    }
    existing.sort((a, b) => a.mtime - b.mtime || (a.file < b.file ? -1 : a.file > b.file ? 1 : 0))
    for (const { file, taskDir } of existing) d.index.set(file, { taskDir, expiresAt: null })
  })

// ---- reading -----------------------------------------------------------------------------------------------

/**
 * An entry read from disk, if it is one: a file that is missing, unreadable, not a regular file, too large,
 * corrupted or fails its integrity check is a miss (and, but for the unreadable, removed).
 */
const getEntry = (d: Disk, key: TaskCache.CacheKey): Effect.Effect<Option.Option<TaskCache.Entry>> =>
  Effect.gen(function*() {
    const { index, maxEntryBytes } = d
    const file = fileOf(d, key)
    const discard = (message: string, detail?: unknown) =>
      Effect.gen(function*() {
        yield* warn(message, file, detail)
        index.delete(file)
        yield* removeFile(d, file)
        return Option.none<TaskCache.Entry>()
      })
    const read = yield* Effect.result(readRegularFile(file, maxEntryBytes))
    if (Result.isFailure(read)) {
      index.delete(file)
      yield* warn("cannot read a cache file; treating it as a miss", file, read.failure)
      return Option.none()
    }
    const outcome = read.success
    if (outcome._tag === "NotFound") {
      index.delete(file)
      return Option.none()
    }
    if (outcome._tag === "NotRegular") {
      return yield* discard(`${outcome.what} in place of a cache file; treating it as a miss and removing it`)
    }
    if (outcome._tag === "TooLarge") {
      return yield* discard(
        `a cache file of ${outcome.size} bytes is over maxEntryBytes (${maxEntryBytes}); treating it as a miss and removing it`
      )
    }
    const decoded = decodeStoredEntry(outcome.text)
    if (Result.isFailure(decoded)) {
      return yield* discard("corrupted cache file; treating it as a miss and removing it", decoded.failure.message)
    }
    const stored = decoded.success
    const valueText = stored.value === undefined ? "" : stringify(stored.value)
    if (valueText === undefined || stored.integrity !== integrityOf(key, stored.storedAt, stored.expiresAt, valueText)) {
      return yield* discard("a cache file fails its integrity check; treating it as a miss and removing it")
    }
    const expiresAt = stored.expiresAt === null ? undefined : stored.expiresAt
    touch(d, file, { taskDir: taskDirOf(d, key.workflow, key.taskId), expiresAt })
    const now = yield* Clock.currentTimeMillis
    yield* d.fs.utimes(file, new Date(now), new Date(now)).pipe(Effect.ignore)
    return Option.some<TaskCache.Entry>({ value: stored.value, storedAt: stored.storedAt, expiresAt })
  })

// ---- writing -----------------------------------------------------------------------------------------------

/** The file's text with its integrity field, or why the entry is not cached. */
const encodeEntry = (
  d: Disk,
  key: TaskCache.CacheKey,
  entry: TaskCache.Entry
): { readonly text: string } | { readonly notCached: string } => {
  if (!isStorable(entry.value)) return { notCached: "the value is not JSON data; not cached (give the task an output Schema)" }
  const expiresAt = entry.expiresAt ?? null
  const valueText = entry.value === undefined ? "" : stringify(entry.value)
  if (valueText === undefined) return { notCached: "the value cannot be written as JSON (too deep?); not cached" }
  const integrity = integrityOf(key, entry.storedAt, expiresAt, valueText)
  // The value's text is spliced in as it is (it was just produced by JSON.stringify).
  const fields = JSON.stringify({ storedAt: entry.storedAt, expiresAt, integrity })
  const text = entry.value === undefined ? fields : `{"value":${valueText},${fields.slice(1)}`
  if (Buffer.byteLength(text, "utf8") > d.maxEntryBytes) {
    return { notCached: `the entry is over maxEntryBytes (${d.maxEntryBytes}); not cached` }
  }
  return { text }
}

/** Writes a temporary file, then renames it over the entry (readers never see half a file); `false` on failure. */
const writeAtomically = (d: Disk, file: string, taskDir: string, text: string, storedAt: number) =>
  Effect.gen(function*() {
    const { fs } = d
    const nonce = yield* Random.nextIntBetween(0, 2 ** 31)
    const temp = `${file}.${process.pid}-${++tempCounter}-${nonce.toString(36)}${TEMP_SUFFIX}`
    const stamp = new Date(storedAt)
    return yield* Effect.gen(function*() {
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
  })

const setEntry = (d: Disk, key: TaskCache.CacheKey, entry: TaskCache.Entry): Effect.Effect<void> =>
  Effect.gen(function*() {
    const file = fileOf(d, key)
    const encoded = encodeEntry(d, key, entry)
    if ("notCached" in encoded) return yield* warn(encoded.notCached, file)
    const taskDir = taskDirOf(d, key.workflow, key.taskId)
    const written = yield* writeAtomically(d, file, taskDir, encoded.text, entry.storedAt)
    if (!written) return
    touch(d, file, { taskDir, expiresAt: entry.expiresAt })
    yield* evictOverflow(d)
  }).pipe(d.lock.withPermits(1))

// ---- removing ----------------------------------------------------------------------------------------------

const removeEntry = (d: Disk, key: TaskCache.CacheKey): Effect.Effect<void> =>
  Effect.suspend(() => {
    const file = fileOf(d, key)
    d.index.delete(file)
    return removeFile(d, file)
  }).pipe(d.lock.withPermits(1))

const removeTaskEntries = (d: Disk, workflow: string, taskId: string): Effect.Effect<number> =>
  Effect.gen(function*() {
    const taskDir = taskDirOf(d, workflow, taskId)
    const entries = yield* listDir(d, taskDir).pipe(
      Effect.catch((error) => Effect.as(warn("cannot list a task's cache folder", taskDir, error), []))
    )
    const count = entries.filter((entry) => entry.type === "File" && entry.name.endsWith(".json")).length
    for (const [file, indexed] of d.index) if (indexed.taskDir === taskDir) d.index.delete(file)
    yield* d.fs.remove(taskDir, { recursive: true, force: true }).pipe(
      Effect.catch((error) => warn("cannot remove a task's cache folder", taskDir, error))
    )
    return count
  }).pipe(d.lock.withPermits(1))

const clearAll = (d: Disk): Effect.Effect<number> =>
  Effect.gen(function*() {
    const files = yield* Effect.map(scanAll(d), ({ found }) => found).pipe(
      Effect.catch((error) => Effect.as(warn("cannot list the cache directory", d.root, error), []))
    )
    d.index.clear()
    const workflows = yield* listDir(d, d.root).pipe(Effect.orElseSucceed(() => []))
    for (const workflow of workflows) {
      if (workflow.type !== "Directory") continue
      const dir = d.path.join(d.root, workflow.name)
      yield* d.fs.remove(dir, { recursive: true, force: true }).pipe(
        Effect.catch((error) => warn("cannot remove a workflow's cache folder", dir, error))
      )
    }
    return files.length
  }).pipe(d.lock.withPermits(1))

const removeExpiredEntries = (d: Disk, now: number): Effect.Effect<number> =>
  Effect.gen(function*() {
    let removed = 0
    for (const [file, indexed] of d.index) {
      if (typeof indexed.expiresAt === "number" && indexed.expiresAt <= now) {
        d.index.delete(file)
        yield* removeFile(d, file)
        removed++
      }
    }
    return removed
  }).pipe(d.lock.withPermits(1))

/**
 * The disk {@link TaskCache.Backend}, for building other layers (for example a hybrid with another front).
 *
 * @category constructors
 * @since 0.1.0
 */
export const makeBackend = (options: {
  readonly directory: string
  readonly maxEntries?: number | undefined
  readonly maxEntryBytes?: number | undefined
  readonly temporaryFileMaxAge?: Duration.Input | undefined
}): Effect.Effect<TaskCache.Backend, PlatformError, FileSystem.FileSystem | Path.Path> => {
  checkWhole("maxEntries", options.maxEntries, 0, true)
  checkWhole("maxEntryBytes", options.maxEntryBytes, 1, false)
  const temporaryFileMaxAge = checkMillis("temporaryFileMaxAge", options.temporaryFileMaxAge, DEFAULT_TEMPORARY_FILE_MAX_AGE)
  const maxEntryBytes = options.maxEntryBytes ?? DEFAULT_MAX_ENTRY_BYTES
  return Effect.gen(function*() {
    const path = yield* Path.Path
    const d: Disk = {
      fs: yield* FileSystem.FileSystem,
      path,
      root: path.resolve(options.directory),
      maxEntries: options.maxEntries ?? Number.POSITIVE_INFINITY,
      maxEntryBytes,
      lock: yield* Semaphore.make(1),
      index: new Map(),
      evictions: 0
    }
    yield* openDirectory(d, temporaryFileMaxAge)
    return {
      get: (key) => getEntry(d, key),
      set: (key, entry) => setEntry(d, key, entry),
      remove: (key) => removeEntry(d, key),
      removeTask: (workflow, taskId) => removeTaskEntries(d, workflow, taskId),
      clear: clearAll(d),
      removeExpired: (now) => removeExpiredEntries(d, now),
      size: Effect.sync(() => d.index.size),
      maxSize: Number.isFinite(d.maxEntries) ? d.maxEntries : undefined,
      evictions: Effect.sync(() => d.evictions)
    } satisfies TaskCache.Backend
  })
}

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
    backend: makeBackend({
      directory: options.directory,
      maxEntries: options.maxEntries,
      maxEntryBytes: options.maxEntryBytes,
      temporaryFileMaxAge: options.temporaryFileMaxAge
    })
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
      makeBackend({
        directory: options.directory,
        maxEntries: options.diskMaxEntries,
        maxEntryBytes: options.maxEntryBytes,
        temporaryFileMaxAge: options.temporaryFileMaxAge
      })
    ]).pipe(Effect.map(([front, back]) => TaskCache.hybrid(front, back)))
  })
