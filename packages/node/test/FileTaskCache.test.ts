import { NodeServices } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import * as Engine from "@troupe/core/Engine"
import * as TaskCache from "@troupe/core/TaskCache"
import { workflow } from "@troupe/core/Workflow"
import { InvalidDefinition } from "@troupe/core/WorkflowError"
import { Effect, Layer, Logger, Option, Schema } from "effect"
import { TestClock } from "effect/testing"
import { execFileSync } from "node:child_process"
import * as NFS from "node:fs"
import * as OS from "node:os"
import * as NPath from "node:path"
import * as FileTaskCache from "../src/FileTaskCache.ts"

/** A fresh directory under the OS temp directory, removed when the test's scope closes. */
const tempDir = Effect.acquireRelease(
  Effect.sync(() => NFS.mkdtempSync(NPath.join(OS.tmpdir(), "troupe-cache-"))),
  (dir) => Effect.sync(() => NFS.rmSync(dir, { recursive: true, force: true }))
)

/** Runs `body` with a freshly built cache from `layer` (each call builds a new instance). */
const withCache = <A, E>(
  layer: Layer.Layer<TaskCache.TaskCache, unknown, never>,
  body: (cache: TaskCache.TaskCache["Service"]) => Effect.Effect<A, E, TaskCache.TaskCache>
) =>
  Effect.gen(function*() {
    return yield* body(yield* TaskCache.TaskCache)
  }).pipe(Effect.provide(layer))

const disk = (options: FileTaskCache.Options) => FileTaskCache.layer(options).pipe(Layer.provide(NodeServices.layer))
const hybrid = (options: FileTaskCache.HybridOptions) =>
  FileTaskCache.layerHybrid(options).pipe(Layer.provide(NodeServices.layer))

const key = (taskId: string, hash = "abc123", workflow = "wf"): TaskCache.CacheKey => ({ workflow, taskId, hash })

/** Every file under a directory, relative to it, sorted. */
const listFiles = (dir: string): Array<string> =>
  (NFS.readdirSync(dir, { recursive: true, withFileTypes: true }) as Array<NFS.Dirent>)
    .filter((entry) => entry.isFile())
    .map((entry) => NPath.relative(dir, NPath.join(entry.parentPath, entry.name)))
    .sort()

describe("FileTaskCache.layer", () => {
  it.effect("writes one JSON file per entry under <dir>/<workflow>/<taskId>/<hash>.json", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      yield* TestClock.setTime(1_000)
      yield* withCache(disk({ directory: dir, ttl: "1 minute" }), (cache) =>
        Effect.gen(function*() {
          yield* cache.set(key("build"), { artifact: "dist.tgz", files: [1, 2] })
          yield* cache.set(key("test", "def456"), null, { ttl: "Infinity" })
          expect(yield* cache.get(key("build"))).toEqual(Option.some({ artifact: "dist.tgz", files: [1, 2] }))
          expect(yield* cache.get(key("test", "def456"))).toEqual(Option.some(null))
          expect(yield* cache.stats).toMatchObject({ strategy: "disk", hits: 2, size: 2, maxSize: undefined })
        }))
      // Atomic writes leave no temporary files behind.
      expect(listFiles(dir)).toEqual([NPath.join("wf", "build", "abc123.json"), NPath.join("wf", "test", "def456.json")])
      expect(JSON.parse(NFS.readFileSync(NPath.join(dir, "wf", "build", "abc123.json"), "utf8"))).toEqual({
        value: { artifact: "dist.tgz", files: [1, 2] },
        storedAt: 1_000,
        expiresAt: 61_000,
        integrity: FileTaskCache.integrityOf(key("build"), 1_000, 61_000, `{"artifact":"dist.tgz","files":[1,2]}`)
      })
      expect(JSON.parse(NFS.readFileSync(NPath.join(dir, "wf", "test", "def456.json"), "utf8"))).toEqual({
        value: null,
        storedAt: 1_000,
        expiresAt: null,
        integrity: expect.stringMatching(/^sha256:[0-9a-f]{64}$/)
      })
    }))

  it.effect("survives a new layer instance (a restart)", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      yield* withCache(disk({ directory: dir }), (cache) =>
        Effect.gen(function*() {
          yield* cache.set(key("a"), "A")
          yield* cache.set(key("b"), "B")
        }))
      yield* withCache(disk({ directory: dir }), (cache) =>
        Effect.gen(function*() {
          // A fresh instance starts with fresh counters but sees the old entries.
          expect(yield* cache.stats).toMatchObject({ hits: 0, misses: 0, size: 2 })
          expect(yield* cache.get(key("a"))).toEqual(Option.some("A"))
          expect(yield* cache.get(key("b"))).toEqual(Option.some("B"))
          expect(yield* cache.get(key("c"))).toEqual(Option.none())
          expect(yield* cache.stats).toMatchObject({ hits: 2, misses: 1, size: 2 })
        }))
    }))

  it.effect("keeps a task that returned undefined", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      yield* withCache(disk({ directory: dir }), (cache) => cache.set(key("void"), undefined))
      yield* withCache(disk({ directory: dir }), (cache) =>
        Effect.gen(function*() {
          const found = yield* cache.get(key("void"))
          expect(Option.isSome(found)).toBe(true)
          expect(Option.getOrNull(found)).toBeUndefined()
        }))
    }))

  it.effect("expires entries by their stored expiry, across instances, under TestClock", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      yield* withCache(disk({ directory: dir, ttl: "1 hour" }), (cache) =>
        Effect.gen(function*() {
          yield* cache.set(key("a"), 1)
          yield* cache.set(key("b"), 2, { ttl: "10 minutes" })
        }))
      yield* TestClock.adjust("30 minutes")
      // The new instance has no default TTL: the expiry written in the file decides.
      yield* withCache(disk({ directory: dir }), (cache) =>
        Effect.gen(function*() {
          expect(yield* cache.get(key("b"))).toEqual(Option.none())
          expect(yield* cache.get(key("a"))).toEqual(Option.some(1))
          yield* TestClock.adjust("30 minutes")
          expect(yield* cache.stats).toMatchObject({ size: 0, evictions: 2, hits: 1, misses: 1 })
        }))
      expect(listFiles(dir)).toEqual([])
    }))

  it.effect("evicts the least recently used files past maxEntries, remembering recency across restarts", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      yield* withCache(disk({ directory: dir, maxEntries: 2 }), (cache) =>
        Effect.gen(function*() {
          yield* cache.set(key("a"), "A")
          yield* TestClock.adjust("1 second")
          yield* cache.set(key("b"), "B")
          yield* TestClock.adjust("1 second")
          expect(yield* cache.get(key("a"))).toEqual(Option.some("A")) // "b" is now the least recently used
        }))
      yield* TestClock.adjust("1 second")
      yield* withCache(disk({ directory: dir, maxEntries: 2 }), (cache) =>
        Effect.gen(function*() {
          yield* cache.set(key("c"), "C")
          expect(yield* cache.stats).toMatchObject({ evictions: 1, size: 2, maxSize: 2 })
        }))
      expect(listFiles(dir)).toEqual([NPath.join("wf", "a", "abc123.json"), NPath.join("wf", "c", "abc123.json")])
    }))

  it.effect("invalidates a task by removing its folder, and clears every workflow folder", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      NFS.writeFileSync(NPath.join(dir, "README.txt"), "not ours")
      yield* withCache(disk({ directory: dir }), (cache) =>
        Effect.gen(function*() {
          yield* cache.set(key("build", "01"), 1)
          yield* cache.set(key("build", "02"), 2)
          yield* cache.set(key("test", "01"), 3)
          yield* cache.set(key("build", "01", "other"), 4)
          expect(yield* cache.invalidateTask("wf", "build")).toBe(2)
          expect(NFS.existsSync(NPath.join(dir, "wf", "build"))).toBe(false)
          expect(yield* cache.invalidateTask("wf", "build")).toBe(0)
          expect(yield* cache.get(key("build", "01"))).toEqual(Option.none())
          expect(yield* cache.get(key("test", "01"))).toEqual(Option.some(3))
          expect(yield* cache.get(key("build", "01", "other"))).toEqual(Option.some(4))
          expect(yield* cache.stats).toMatchObject({ invalidations: 2, size: 2 })
          yield* cache.clear
          expect(yield* cache.stats).toMatchObject({ invalidations: 4, size: 0 })
        }))
      expect(listFiles(dir)).toEqual(["README.txt"])
    }))

  it.effect("invalidation also removes entries written by another instance", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      yield* withCache(disk({ directory: dir }), (cache) => cache.set(key("build"), 1))
      yield* withCache(disk({ directory: dir }), (cache) =>
        Effect.gen(function*() {
          expect(yield* cache.invalidateTask("wf", "build")).toBe(1)
          expect(yield* cache.stats).toMatchObject({ size: 0 })
        }))
    }))

  it.effect("treats a corrupted or malformed file as a miss, removes it, and keeps working", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const folder = NPath.join(dir, "wf", "build")
      NFS.mkdirSync(folder, { recursive: true })
      NFS.writeFileSync(NPath.join(folder, "truncated.json"), `{"value": {"a": 1`)
      NFS.writeFileSync(NPath.join(folder, "wrongshape.json"), `{"data": 1}`)
      yield* withCache(disk({ directory: dir }), (cache) =>
        Effect.gen(function*() {
          expect(yield* cache.get(key("build", "truncated"))).toEqual(Option.none())
          expect(yield* cache.get(key("build", "wrongshape"))).toEqual(Option.none())
          expect(yield* cache.stats).toMatchObject({ misses: 2, size: 0 })
          expect(NFS.readdirSync(folder)).toEqual([])
          yield* cache.set(key("build", "truncated"), "fresh")
          expect(yield* cache.get(key("build", "truncated"))).toEqual(Option.some("fresh"))
        }))
    }))

  it.effect("treats a value that no longer decodes with the output Schema as a miss", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const OldOutput = Schema.Struct({ count: Schema.Number })
      const NewOutput = Schema.Struct({ count: Schema.Number, label: Schema.String })
      yield* TaskCache.store(key("t"), { count: 1 }, { schema: OldOutput }).pipe(Effect.provide(disk({ directory: dir })))
      yield* withCache(disk({ directory: dir }), (cache) =>
        Effect.gen(function*() {
          expect(yield* TaskCache.lookup(key("t"), NewOutput)).toEqual(Option.none())
          expect(yield* cache.stats).toMatchObject({ hits: 0, misses: 1, size: 0 })
        }))
      expect(listFiles(dir)).toEqual([])
    }))

  it.effect("cleans up the temporary file when the rename fails", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      // A directory where the entry file should go makes the final rename fail.
      NFS.mkdirSync(NPath.join(dir, "wf", "build", "abc123.json", "blocker"), { recursive: true })
      yield* withCache(disk({ directory: dir }), (cache) =>
        Effect.gen(function*() {
          yield* cache.set(key("build"), "value")
          expect(yield* cache.get(key("build"))).toEqual(Option.none())
        }))
      expect(NFS.readdirSync(NPath.join(dir, "wf", "build"))).toEqual(["abc123.json"])
      expect(NFS.statSync(NPath.join(dir, "wf", "build", "abc123.json")).isDirectory()).toBe(true)
    }))

  it.effect("does not write values that are not JSON data", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      yield* withCache(disk({ directory: dir }), (cache) =>
        Effect.gen(function*() {
          yield* cache.set(key("date"), new Date(0))
          yield* cache.set(key("map"), { m: new Map() })
          yield* cache.set(key("nan"), [NaN])
          expect((yield* cache.stats).size).toBe(0)
        }))
      expect(listFiles(dir)).toEqual([])
    }))

  it.effect("keeps odd workflow names and task ids inside the directory", () =>
    Effect.gen(function*() {
      const dir = NPath.join(yield* tempDir, "cache")
      const odd = [key("..", "h", ".."), key("a/b", "../h", "/etc"), key("", "", ""), key("x".repeat(300), "h", "é 😀")]
      yield* withCache(disk({ directory: dir }), (cache) =>
        Effect.gen(function*() {
          for (const [i, k] of odd.entries()) yield* cache.set(k, i)
          for (const [i, k] of odd.entries()) expect(yield* cache.get(k)).toEqual(Option.some(i))
          expect((yield* cache.stats).size).toBe(odd.length)
        }))
      expect(listFiles(dir)).toHaveLength(odd.length)
      expect(NFS.readdirSync(NPath.dirname(dir))).toEqual(["cache"])
    }))
})

describe("FileTaskCache.encodeSegment", () => {
  it("keeps safe characters and escapes everything else, injectively", () => {
    expect(FileTaskCache.encodeSegment("build_1-a")).toBe("build_1-a")
    expect(FileTaskCache.encodeSegment("..")).toBe("%2E%2E")
    expect(FileTaskCache.encodeSegment("a/b")).toBe("a%2Fb")
    expect(FileTaskCache.encodeSegment("")).toBe("%")
    expect(FileTaskCache.encodeSegment("é")).toBe("%C3%A9")
    const long = FileTaskCache.encodeSegment("x".repeat(300))
    expect(long.length).toBeLessThanOrEqual(120)
    expect(long).not.toBe(FileTaskCache.encodeSegment(`${"x".repeat(299)}y`))
    const inputs = ["a.b", "a%2Eb", "%", "", "a b", "a+b"]
    expect(new Set(inputs.map(FileTaskCache.encodeSegment)).size).toBe(inputs.length)
  })
})

describe("FileTaskCache.layerHybrid", () => {
  it.effect("serves from memory first, falls back to disk, and survives a restart", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      yield* withCache(hybrid({ directory: dir, maxEntries: 10 }), (cache) =>
        Effect.gen(function*() {
          yield* cache.set(key("a"), "A")
          expect(listFiles(dir)).toEqual([NPath.join("wf", "a", "abc123.json")])
          // Served from memory even when the file is gone.
          NFS.rmSync(NPath.join(dir, "wf"), { recursive: true })
          expect(yield* cache.get(key("a"))).toEqual(Option.some("A"))
          yield* cache.set(key("b"), "B")
        }))
      yield* withCache(hybrid({ directory: dir, maxEntries: 10 }), (cache) =>
        Effect.gen(function*() {
          expect(yield* cache.get(key("a"))).toEqual(Option.none())
          expect(yield* cache.get(key("b"))).toEqual(Option.some("B")) // from disk
          NFS.rmSync(NPath.join(dir, "wf"), { recursive: true })
          expect(yield* cache.get(key("b"))).toEqual(Option.some("B")) // promoted into memory
          expect(yield* cache.stats).toMatchObject({ strategy: "hybrid", hits: 2, misses: 1, maxSize: undefined })
        }))
    }))

  it.effect("invalidates both memory and disk", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      yield* withCache(hybrid({ directory: dir, maxEntries: 10, diskMaxEntries: 5 }), (cache) =>
        Effect.gen(function*() {
          yield* cache.set(key("a"), "A")
          expect(yield* cache.invalidateTask("wf", "a")).toBe(1)
          expect(yield* cache.get(key("a"))).toEqual(Option.none())
          expect(yield* cache.stats).toMatchObject({ size: 0, maxSize: 5, invalidations: 1 })
        }))
      expect(listFiles(dir)).toEqual([])
    }))
})

describe("FileTaskCache across processes", () => {
  it.effect("reads in this process what another process wrote", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const moduleUrl = new URL("../src/FileTaskCache.ts", import.meta.url).href
      const script = `
        import { NodeServices } from "@effect/platform-node"
        import { Effect, Layer, Schema } from "effect"
        import * as TaskCache from "@troupe/core/TaskCache"
        import * as FileTaskCache from ${JSON.stringify(moduleUrl)}
        const layer = FileTaskCache.layer({ directory: process.argv[1] }).pipe(Layer.provide(NodeServices.layer))
        const Output = Schema.Struct({ at: Schema.Date, n: Schema.Number })
        await Effect.runPromise(
          TaskCache.store({ workflow: "wf", taskId: "t", hash: "h1" }, { at: new Date(0), n: 7 }, { schema: Output })
            .pipe(Effect.provide(layer))
        )
      `
      execFileSync(process.execPath, ["--conditions=source", "--input-type=module", "-e", script, dir], {
        cwd: new URL("..", import.meta.url),
        stdio: "pipe"
      })
      const Output = Schema.Struct({ at: Schema.Date, n: Schema.Number })
      const found = yield* TaskCache.lookup({ workflow: "wf", taskId: "t", hash: "h1" }, Output).pipe(
        Effect.provide(disk({ directory: dir }))
      )
      expect(found).toEqual(Option.some({ at: new Date(0), n: 7 }))
    }))
})

describe("FileTaskCache: nothing read from disk is trusted (issue 9)", () => {
  const entryFile = (dir: string, taskId = "build", hash = "abc123") => NPath.join(dir, "wf", taskId, `${hash}.json`)
  const logs = () => {
    const lines: Array<string> = []
    const logger = Logger.make<unknown, void>(({ message }) => {
      lines.push((Array.isArray(message) ? message : [message]).map(String).join(" "))
    })
    return { lines, layer: Logger.layer([logger]) }
  }

  it.effect("a value edited on disk (still valid JSON) fails the integrity check: a miss, removed, never served", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      yield* withCache(disk({ directory: dir }), (cache) => cache.set(key("build"), { approved: false, amount: 10 }))
      const file = entryFile(dir)
      const stored = JSON.parse(NFS.readFileSync(file, "utf8"))
      NFS.writeFileSync(file, JSON.stringify({ ...stored, value: { approved: true, amount: 10 } }))
      const { layer, lines } = logs()
      yield* withCache(disk({ directory: dir }), (cache) =>
        Effect.gen(function*() {
          expect(yield* cache.get(key("build"))).toEqual(Option.none())
          expect(yield* cache.stats).toMatchObject({ misses: 1, hits: 0 })
        })).pipe(Effect.provide(layer))
      expect(NFS.existsSync(file)).toBe(false)
      expect(lines.join("\n")).toContain("fails its integrity check")
    }))

  it.effect("edited times, a file copied to another key and a file without integrity are misses too", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      yield* withCache(disk({ directory: dir, ttl: "1 minute" }), (cache) =>
        Effect.gen(function*() {
          yield* cache.set(key("build", "h1"), "for h1")
          yield* cache.set(key("build", "h2"), "for h2")
        }))
      // Extend the expiry by hand.
      const h1 = JSON.parse(NFS.readFileSync(entryFile(dir, "build", "h1"), "utf8"))
      NFS.writeFileSync(entryFile(dir, "build", "h1"), JSON.stringify({ ...h1, expiresAt: null }))
      // Serve h2's file as h3's entry.
      NFS.copyFileSync(entryFile(dir, "build", "h2"), entryFile(dir, "build", "h3"))
      // The format before integrity stamps.
      NFS.writeFileSync(entryFile(dir, "build", "h4"), JSON.stringify({ value: "old", storedAt: 0, expiresAt: null }))
      yield* withCache(disk({ directory: dir }), (cache) =>
        Effect.gen(function*() {
          expect(yield* cache.get(key("build", "h1"))).toEqual(Option.none())
          expect(yield* cache.get(key("build", "h3"))).toEqual(Option.none())
          expect(yield* cache.get(key("build", "h4"))).toEqual(Option.none())
          expect(yield* cache.get(key("build", "h2"))).toEqual(Option.some("for h2"))
        }))
      expect(listFiles(dir)).toEqual([NPath.join("wf", "build", "h2.json")])
    }))

  it.effect("a FIFO in place of an entry is a miss at once (not a hung run), and is removed", () =>
    Effect.gen(function*() {
      if (process.platform === "win32") return
      const dir = yield* tempDir
      NFS.mkdirSync(NPath.join(dir, "wf", "build"), { recursive: true })
      execFileSync("mkfifo", [entryFile(dir)])
      expect(NFS.statSync(entryFile(dir)).isFIFO()).toBe(true)
      const { layer, lines } = logs()
      const found = yield* withCache(disk({ directory: dir }), (cache) => cache.get(key("build"))).pipe(
        Effect.provide(layer),
        Effect.timeoutOption("5 seconds"),
        TestClock.withLive
      )
      expect(found).toEqual(Option.some(Option.none()))
      expect(NFS.existsSync(entryFile(dir))).toBe(false)
      expect(lines.join("\n")).toContain("a FIFO in place of a cache file")
      // And the slot works again.
      yield* withCache(disk({ directory: dir }), (cache) =>
        Effect.gen(function*() {
          yield* cache.set(key("build"), 1)
          expect(yield* cache.get(key("build"))).toEqual(Option.some(1))
        }))
    }))

  it.effect("a symbolic link in place of an entry is not followed, even to a valid entry", () =>
    Effect.gen(function*() {
      if (process.platform === "win32") return
      const dir = yield* tempDir
      yield* withCache(disk({ directory: dir }), (cache) => cache.set(key("build", "real"), "real value"))
      NFS.symlinkSync(entryFile(dir, "build", "real"), entryFile(dir, "build", "link"))
      yield* withCache(disk({ directory: dir }), (cache) =>
        Effect.gen(function*() {
          expect(yield* cache.get(key("build", "link"))).toEqual(Option.none())
          expect(yield* cache.get(key("build", "real"))).toEqual(Option.some("real value"))
        }))
      expect(NFS.existsSync(entryFile(dir, "build", "link"))).toBe(false)
    }))

  it.effect("files over maxEntryBytes are neither read nor written", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      yield* withCache(disk({ directory: dir }), (cache) => cache.set(key("build", "big"), "x".repeat(5_000)))
      yield* withCache(disk({ directory: dir, maxEntryBytes: 1_000 }), (cache) =>
        Effect.gen(function*() {
          expect(yield* cache.get(key("build", "big"))).toEqual(Option.none())
          yield* cache.set(key("build", "big2"), "y".repeat(5_000))
          yield* cache.set(key("build", "small"), "z")
          expect(yield* cache.get(key("build", "small"))).toEqual(Option.some("z"))
        }))
      expect(listFiles(dir)).toEqual([NPath.join("wf", "build", "small.json")])
    }))

  it.effect("temporary files orphaned by a crash are removed when a layer is built, once old enough", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const now = Date.now()
      yield* TestClock.setTime(now)
      const folder = NPath.join(dir, "wf", "build")
      NFS.mkdirSync(folder, { recursive: true })
      const old = NPath.join(folder, "abc123.json.4242-1-zz.tmp")
      const young = NPath.join(folder, "abc123.json.4243-1-yy.tmp")
      NFS.writeFileSync(old, `{"value": "half`)
      NFS.writeFileSync(young, `{"value": "in fli`)
      NFS.utimesSync(old, new Date(now - 60 * 60_000), new Date(now - 60 * 60_000))
      NFS.utimesSync(young, new Date(now - 1_000), new Date(now - 1_000))
      yield* withCache(disk({ directory: dir }), (cache) =>
        Effect.gen(function*() {
          expect((yield* cache.stats).size).toBe(0)
        }))
      expect(listFiles(dir)).toEqual([NPath.join("wf", "build", "abc123.json.4243-1-yy.tmp")])
      yield* TestClock.setTime(now + 11 * 60_000)
      yield* withCache(disk({ directory: dir }), () => Effect.void)
      expect(listFiles(dir)).toEqual([])
    }))

  it("numeric options are checked when the layer is built, naming the option", () => {
    const attempts: Array<readonly [string, () => unknown]> = [
      ["FileTaskCache.maxEntries", () => FileTaskCache.layer({ directory: "x", maxEntries: NaN })],
      ["FileTaskCache.maxEntries", () => FileTaskCache.layer({ directory: "x", maxEntries: -1 })],
      ["FileTaskCache.maxEntryBytes", () => FileTaskCache.layer({ directory: "x", maxEntryBytes: 1.5 })],
      ["FileTaskCache.maxEntryBytes", () => FileTaskCache.layer({ directory: "x", maxEntryBytes: Infinity })],
      ["FileTaskCache.temporaryFileMaxAge", () => FileTaskCache.layer({ directory: "x", temporaryFileMaxAge: NaN })],
      ["TaskCache.ttl", () => FileTaskCache.layer({ directory: "x", ttl: -1 })],
      ["TaskCache.maxEntries", () => FileTaskCache.layerHybrid({ directory: "x", maxEntries: NaN })],
      ["FileTaskCache.maxEntries", () => FileTaskCache.layerHybrid({ directory: "x", diskMaxEntries: 0.5 })]
    ]
    for (const [path, attempt] of attempts) {
      let thrown: unknown
      try {
        attempt()
      } catch (e) {
        thrown = e
      }
      expect(thrown, path).toBeInstanceOf(InvalidDefinition)
      expect((thrown as InvalidDefinition).path, path).toBe(path)
    }
  })
})

describe("FileTaskCache: deep values (issue 9)", () => {
  const nested = (depth: number, leaf: unknown): unknown => {
    let out: unknown = leaf
    for (let i = 0; i < depth; i++) out = i % 2 === 0 ? { a: out } : [out]
    return out
  }

  it.effect("a 20 000-deep output neither fails its task nor the run: it is judged without recursion and not cached if JSON cannot hold it", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      let runs = 0
      const wf = workflow("deep")
        .task("a", () => Effect.sync(() => nested(20_000, ++runs)))
        .task("b", { dependsOn: ["a"] }, () => Effect.succeed("done"))
      const first = yield* Engine.run(wf).pipe(Effect.provide(disk({ directory: dir })))
      expect(first.outputs.b).toBe("done")
      // Moderately deep values are cached and read back intact.
      yield* withCache(disk({ directory: dir }), (cache) =>
        Effect.gen(function*() {
          yield* cache.set(key("mid"), nested(500, "leaf"))
          expect(yield* cache.get(key("mid"))).toEqual(Option.some(nested(500, "leaf")))
        }))
      expect(FileTaskCache.isStorable(nested(100_000, 1))).toBe(true)
      const cyclic: Record<string, unknown> = {}
      cyclic.self = [cyclic]
      expect(FileTaskCache.isStorable(cyclic)).toBe(false)
      const shared = { x: 1 }
      expect(FileTaskCache.isStorable([shared, shared])).toBe(true)
    }))
})
