import { assert, describe, expect, it } from "@effect/vitest"
import { Cause, DateTime, Duration, Effect, Layer, Option, Schema } from "effect"
import { TestClock } from "effect/testing"
import { Hostile } from "@troupe/testing"
import * as fc from "fast-check"
import { TaskCache } from "../src/TaskCache.ts"
import * as TC from "../src/TaskCache.ts"
import { canonicalJson, sha256, utf8 } from "../src/internal/cacheKey.ts"
import * as Engine from "../src/Engine.ts"
import { workflow } from "../src/Workflow.ts"
import { InvalidDefinition } from "../src/WorkflowError.ts"

const key = (taskId: string, hash = "00", workflow = "wf"): TC.CacheKey => ({ workflow, taskId, hash })

const withCache = <A, E>(layer: Layer.Layer<TaskCache>, body: (cache: TaskCache["Service"]) => Effect.Effect<A, E, TaskCache>) =>
  Effect.gen(function*() {
    return yield* body(yield* TaskCache)
  }).pipe(Effect.provide(layer))

describe("internal/cacheKey", () => {
  it("computes SHA-256 (FIPS 180-4 test vectors)", () => {
    expect(sha256("")).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    expect(sha256("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    expect(sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")).toBe(
      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
    )
    expect(sha256("a".repeat(1_000_000))).toBe("cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    // Lengths around the padding boundary (55/56/64 bytes), checked against a reference implementation.
    expect(sha256("a".repeat(55))).toBe("9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318")
    expect(sha256("a".repeat(56))).toBe("b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a")
    expect(sha256("a".repeat(64))).toBe("ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb")
  })

  it("encodes UTF-8 like TextEncoder, including astral characters and lone surrogates", () => {
    for (const text of ["", "abc", "é", "€", "😀", "a\ud800b", "\udc00"]) {
      expect(Array.from(utf8(text))).toEqual(Array.from(new TextEncoder().encode(text)))
    }
  })

  it("serialises canonically", () => {
    expect(canonicalJson({ b: 1, a: { d: [3, 1], c: true } })).toBe(`{"a":{"c":true,"d":[3,1]},"b":1}`)
    expect(canonicalJson({ a: undefined, f: () => 1, b: [undefined, null] })).toBe(`{"b":[null,null]}`)
    expect(canonicalJson(new Date(0))).toBe(`"1970-01-01T00:00:00.000Z"`)
    expect(canonicalJson(12345678901234567890n)).toBe(`"12345678901234567890"`)
    expect(canonicalJson(new Map<unknown, number>([["z", 1], ["a", 2]]))).toBe(`[["a",2],["z",1]]`)
    expect(canonicalJson(new Set([3, 1, 2]))).toBe("[1,2,3]")
    expect(canonicalJson([NaN, Infinity, -0])).toBe(`["NaN","Infinity",0]`)
    expect(canonicalJson(undefined)).toBeUndefined()
    const cyclic: Record<string, unknown> = { a: 1 }
    cyclic["self"] = cyclic
    expect(canonicalJson(cyclic)).toBe(`{"a":1,"self":"[Circular]"}`)
    // The same object twice is not a cycle.
    const shared = { x: 1 }
    expect(canonicalJson([shared, shared])).toBe(`[{"x":1},{"x":1}]`)
  })
})

describe("CacheKey", () => {
  const base: TC.KeyComponents = {
    workflow: "ci",
    taskId: "build",
    description: "Build the app",
    parameters: { target: "es2022", minify: true, nested: { b: 1, a: 2 } },
    capabilities: ["node", "docker"],
    skills: ["typescript"],
    version: 1,
    input: { ref: "main", when: new Date("2024-01-01T00:00:00Z") },
    dependencyOutputs: { install: { lockfile: "abc" } }
  }

  it("is a 64-character hex hash carrying workflow and task id", () => {
    const k = TC.CacheKey.make(base)
    expect(k.workflow).toBe("ci")
    expect(k.taskId).toBe("build")
    expect(k.hash).toMatch(/^[0-9a-f]{64}$/)
  })

  it("is stable under object key order, capability/skill order and undefined fields", () => {
    const reordered: TC.KeyComponents = {
      dependencyOutputs: { install: { lockfile: "abc" } },
      input: { when: new Date("2024-01-01T00:00:00Z"), ref: "main" },
      version: 1,
      skills: ["typescript", "typescript"],
      capabilities: ["docker", "node"],
      parameters: { nested: { a: 2, b: 1 }, minify: true, target: "es2022" },
      description: "Build the app",
      taskId: "build",
      workflow: "ci"
    }
    expect(TC.CacheKey.make(reordered).hash).toBe(TC.CacheKey.make(base).hash)
    expect(TC.CacheKey.make({ ...base, parameters: { ...(base.parameters as object), extra: undefined } }).hash).toBe(
      TC.CacheKey.make(base).hash
    )
  })

  it("changes when any component changes", () => {
    const changes: Record<string, Partial<TC.KeyComponents>> = {
      workflow: { workflow: "cd" },
      taskId: { taskId: "test" },
      description: { description: "Build the app quickly" },
      parameters: { parameters: { target: "es2020", minify: true, nested: { b: 1, a: 2 } } },
      nestedParameter: { parameters: { target: "es2022", minify: true, nested: { b: 1, a: 3 } } },
      capabilities: { capabilities: ["node"] },
      skills: { skills: ["rust"] },
      version: { version: 2 },
      versionType: { version: "1" },
      input: { input: { ref: "dev", when: new Date("2024-01-01T00:00:00Z") } },
      inputDate: { input: { ref: "main", when: new Date("2024-01-02T00:00:00Z") } },
      dependencyOutputs: { dependencyOutputs: { install: { lockfile: "abd" } } },
      noDependencyOutputs: { dependencyOutputs: undefined },
      arrayOrder: { skills: ["typescript"], input: { ref: ["main", "dev"] } }
    }
    const seen = new Map<string, string>([[TC.CacheKey.make(base).hash, "base"]])
    for (const [name, change] of Object.entries(changes)) {
      const hash = TC.CacheKey.make({ ...base, ...change }).hash
      expect(seen.get(hash), `${name} collides with ${seen.get(hash)}`).toBeUndefined()
      seen.set(hash, name)
    }
    // Arrays keep their order.
    expect(TC.CacheKey.make({ ...base, input: [1, 2] }).hash).not.toBe(TC.CacheKey.make({ ...base, input: [2, 1] }).hash)
  })

  it("builds keys from a custom value", () => {
    const a = TC.CacheKey.fromValue({ workflow: "ci", taskId: "t", value: { x: 1, y: 2 } })
    const b = TC.CacheKey.fromValue({ workflow: "ci", taskId: "t", value: { y: 2, x: 1 } })
    expect(a).toEqual(b)
    expect(a.hash).toBe(sha256(`{"x":1,"y":2}`))
  })
})

describe("TaskCache.layerMemory", () => {
  it.effect("evicts the least recently used entry first and counts evictions", () =>
    withCache(TC.layerMemory({ maxEntries: 2 }), (cache) =>
      Effect.gen(function*() {
        yield* cache.set(key("a"), "A")
        yield* cache.set(key("b"), "B")
        // Using "a" makes "b" the least recently used.
        expect(yield* cache.get(key("a"))).toEqual(Option.some("A"))
        yield* cache.set(key("c"), "C")
        expect((yield* cache.stats).evictions).toBe(1)
        expect(yield* cache.get(key("b"))).toEqual(Option.none())
        expect(yield* cache.get(key("a"))).toEqual(Option.some("A"))
        expect(yield* cache.get(key("c"))).toEqual(Option.some("C"))
        // Overwriting an existing key does not evict.
        yield* cache.set(key("c"), "C2")
        expect((yield* cache.stats).evictions).toBe(1)
        // "a" is now the oldest use: two new entries evict "a" then "c".
        yield* cache.set(key("d"), "D")
        expect(yield* cache.get(key("c"))).toEqual(Option.some("C2"))
        yield* cache.set(key("e"), "E")
        expect(yield* cache.get(key("a"))).toEqual(Option.none())
        expect(yield* cache.get(key("d"))).toEqual(Option.none())
        const stats = yield* cache.stats
        expect(stats.evictions).toBe(3)
        expect(stats.size).toBe(2)
        expect(stats.maxSize).toBe(2)
      })))

  it.effect("expires entries after the TTL under TestClock", () =>
    withCache(TC.layerMemory({ maxEntries: 10, ttl: "1 minute" }), (cache) =>
      Effect.gen(function*() {
        yield* cache.set(key("a"), 1)
        yield* TestClock.adjust("59 seconds")
        expect(yield* cache.get(key("a"))).toEqual(Option.some(1))
        yield* TestClock.adjust("1 second")
        expect(yield* cache.get(key("a"))).toEqual(Option.none())
        const stats = yield* cache.stats
        expect(stats).toMatchObject({ hits: 1, misses: 1, evictions: 1, size: 0 })
      })))

  it.effect("lets one set override the default TTL, and counts expired entries on stats", () =>
    withCache(TC.layerMemory({ ttl: "1 minute" }), (cache) =>
      Effect.gen(function*() {
        yield* cache.set(key("short"), 1, { ttl: "10 seconds" })
        yield* cache.set(key("forever"), 2, { ttl: "Infinity" })
        yield* cache.set(key("default"), 3)
        yield* TestClock.adjust("30 seconds")
        // The expired entry is dropped (and counted) by stats without a lookup.
        expect(yield* cache.stats).toMatchObject({ size: 2, evictions: 1, hits: 0, misses: 0 })
        yield* TestClock.adjust("1 hour")
        expect(yield* cache.get(key("default"))).toEqual(Option.none())
        expect(yield* cache.get(key("forever"))).toEqual(Option.some(2))
        expect(yield* cache.stats).toMatchObject({ size: 1, evictions: 2 })
      })))

  it.effect("keeps entries without a TTL forever", () =>
    withCache(TC.layerMemory(), (cache) =>
      Effect.gen(function*() {
        yield* cache.set(key("a"), { deep: [1, 2] })
        yield* TestClock.adjust("3650 days")
        expect(yield* cache.get(key("a"))).toEqual(Option.some({ deep: [1, 2] }))
        expect((yield* cache.stats).maxSize).toBe(1000)
      })))

  it.effect("reports stats", () =>
    withCache(TC.layerMemory({ maxEntries: 5 }), (cache) =>
      Effect.gen(function*() {
        expect(yield* cache.stats).toEqual({
          strategy: "memory",
          hits: 0,
          misses: 0,
          hitRate: 0,
          evictions: 0,
          invalidations: 0,
          size: 0,
          maxSize: 5
        })
        yield* cache.set(key("a"), 1)
        yield* cache.set(key("b"), 2)
        yield* cache.get(key("a"))
        yield* cache.get(key("a"))
        yield* cache.get(key("b"))
        yield* cache.get(key("missing"))
        expect(yield* cache.stats).toEqual({
          strategy: "memory",
          hits: 3,
          misses: 1,
          hitRate: 0.75,
          evictions: 0,
          invalidations: 0,
          size: 2,
          maxSize: 5
        })
      })))

  it.effect("invalidates exactly one task's entries, and clears everything", () =>
    withCache(TC.layerMemory(), (cache) =>
      Effect.gen(function*() {
        yield* cache.set(key("build", "01"), 1)
        yield* cache.set(key("build", "02"), 2)
        yield* cache.set(key("test", "01"), 3)
        yield* cache.set(key("build", "01", "other-workflow"), 4)
        expect(yield* cache.invalidateTask("wf", "build")).toBe(2)
        expect(yield* cache.invalidateTask("wf", "build")).toBe(0)
        expect(yield* cache.get(key("build", "01"))).toEqual(Option.none())
        expect(yield* cache.get(key("build", "02"))).toEqual(Option.none())
        expect(yield* cache.get(key("test", "01"))).toEqual(Option.some(3))
        expect(yield* cache.get(key("build", "01", "other-workflow"))).toEqual(Option.some(4))
        expect(yield* cache.stats).toMatchObject({ invalidations: 2, size: 2 })
        yield* cache.clear
        expect(yield* cache.stats).toMatchObject({ invalidations: 4, size: 0 })
        expect(yield* cache.get(key("test", "01"))).toEqual(Option.none())
      })))

  it.effect("gives each layer build its own entries and counters", () =>
    Effect.gen(function*() {
      const layer = TC.layerMemory()
      yield* TC.store(key("a"), 1).pipe(Effect.provide(layer))
      expect(yield* TC.lookup(key("a")).pipe(Effect.provide(layer))).toEqual(Option.none())
    }))
})

describe("TaskCache.layerNone", () => {
  it.effect("stores nothing and counts every lookup as a miss", () =>
    withCache(TC.layerNone, (cache) =>
      Effect.gen(function*() {
        yield* cache.set(key("a"), 1)
        expect(yield* cache.get(key("a"))).toEqual(Option.none())
        expect(yield* cache.invalidateTask("wf", "a")).toBe(0)
        expect(yield* cache.stats).toEqual({
          strategy: "none",
          hits: 0,
          misses: 1,
          hitRate: 0,
          evictions: 0,
          invalidations: 0,
          size: 0,
          maxSize: 0
        })
      })))
})

describe("TaskCache.lookup / TaskCache.store", () => {
  const Output = Schema.Struct({ artifact: Schema.String, builtAt: Schema.DateTimeUtcFromString, size: Schema.Number })
  const value = { artifact: "dist.tgz", builtAt: DateTime.makeUnsafe("2024-01-01T00:00:00Z"), size: 42 }

  it.effect("stores the JSON encoding of the output and decodes it back", () =>
    withCache(TC.layerMemory(), (cache) =>
      Effect.gen(function*() {
        yield* TC.store(key("build"), value, { schema: Output })
        // What crosses the cache is JSON data.
        expect(yield* cache.get(key("build"))).toEqual(
          Option.some({ artifact: "dist.tgz", builtAt: "2024-01-01T00:00:00.000Z", size: 42 })
        )
        const decoded = yield* TC.lookup(key("build"), Output)
        assert.isTrue(Option.isSome(decoded))
        if (Option.isSome(decoded)) {
          expect(decoded.value.artifact).toBe("dist.tgz")
          expect(DateTime.isDateTime(decoded.value.builtAt)).toBe(true)
          expect(DateTime.toEpochMillis(decoded.value.builtAt)).toBe(Date.parse("2024-01-01T00:00:00Z"))
        }
      })))

  it.effect("treats a value that no longer decodes as a miss and drops it", () =>
    withCache(TC.layerMemory(), (cache) =>
      Effect.gen(function*() {
        // Stored by an older version of the task whose output had another shape.
        yield* cache.set(key("build"), { artifact: 7 })
        expect(yield* TC.lookup(key("build"), Output)).toEqual(Option.none())
        expect(yield* cache.stats).toMatchObject({ hits: 0, misses: 1, size: 0 })
        // The task then runs and stores a fresh value, which is a hit.
        yield* TC.store(key("build"), value, { schema: Output })
        expect(Option.isSome(yield* TC.lookup(key("build"), Output))).toBe(true)
        expect(yield* cache.stats).toMatchObject({ hits: 1, misses: 1, size: 1 })
      })))

  it.effect("does not store a value that fails to encode", () =>
    withCache(TC.layerMemory(), (cache) =>
      Effect.gen(function*() {
        const bad = { artifact: 1, builtAt: "nope", size: "x" } as unknown as typeof Output.Type
        yield* TC.store(key("build"), bad, { schema: Output })
        expect((yield* cache.stats).size).toBe(0)
      })))

  it.effect("passes the TTL through", () =>
    withCache(TC.layerMemory(), () =>
      Effect.gen(function*() {
        yield* TC.store(key("a"), value, { schema: Output, ttl: "5 seconds" })
        yield* TestClock.adjust("5 seconds")
        expect(yield* TC.lookup(key("a"), Output)).toEqual(Option.none())
      })))

  it.effect("is a miss and a no-op without a TaskCache in the context", () =>
    Effect.gen(function*() {
      yield* TC.store(key("a"), 1)
      yield* TC.store(key("a"), value, { schema: Output })
      expect(yield* TC.lookup(key("a"))).toEqual(Option.none())
      expect(yield* TC.lookup(key("a"), Output)).toEqual(Option.none())
    }))
})

describe("TaskCache.hybrid", () => {
  const hybridLayer = TC.layer({
    strategy: "hybrid",
    ttl: "1 minute",
    backend: Effect.all([TC.memoryBackend({ maxEntries: 1 }), TC.memoryBackend({ maxEntries: 3 })]).pipe(
      Effect.map(([front, back]) => TC.hybrid(front, back))
    )
  })

  it.effect("serves from the front, falls back to the back, and promotes back hits", () =>
    Effect.gen(function*() {
      const front = yield* TC.memoryBackend({ maxEntries: 1 })
      const back = yield* TC.memoryBackend({ maxEntries: 3 })
      const cache = yield* TC.make({ strategy: "hybrid", backend: TC.hybrid(front, back) })
      yield* cache.set(key("a"), "A")
      yield* cache.set(key("b"), "B") // the front keeps only "b"
      expect(Option.isNone(yield* front.get(key("a")))).toBe(true)
      expect(yield* cache.get(key("a"))).toEqual(Option.some("A")) // from the back
      expect(Option.isSome(yield* front.get(key("a")))).toBe(true) // promoted
      // Front evictions are not cache evictions: the back still holds everything.
      expect(yield* cache.stats).toMatchObject({ strategy: "hybrid", hits: 1, evictions: 0, size: 2, maxSize: 3 })
      yield* cache.set(key("c"), "C")
      yield* cache.set(key("d"), "D")
      expect(yield* cache.stats).toMatchObject({ evictions: 1, size: 3 })
      expect(yield* cache.invalidateTask("wf", "d")).toBe(1)
      expect(Option.isNone(yield* front.get(key("d")))).toBe(true)
      expect(Option.isNone(yield* back.get(key("d")))).toBe(true)
    }))

  it.effect("keeps the TTL of promoted entries", () =>
    withCache(hybridLayer, (cache) =>
      Effect.gen(function*() {
        yield* cache.set(key("a"), "A")
        yield* cache.set(key("b"), "B")
        yield* TestClock.adjust("30 seconds")
        expect(yield* cache.get(key("a"))).toEqual(Option.some("A"))
        yield* TestClock.adjust("30 seconds")
        expect(yield* cache.get(key("a"))).toEqual(Option.none())
        expect(yield* cache.stats).toMatchObject({ size: 0, hits: 1, misses: 1 })
      })))
})

const deep = (depth: number, leaf: unknown): unknown => {
  let value: unknown = leaf
  for (let i = 0; i < depth; i++) value = i % 2 === 0 ? { next: value } : [value]
  return value
}

describe("hostile values in cache keys (issue 9)", () => {
  it("hashes a 20 000-deep value without recursion, and the leaf still counts", () => {
    const a = TC.CacheKey.make({ workflow: "w", taskId: "t", dependencyOutputs: { d: deep(20_000, 1) } })
    const b = TC.CacheKey.make({ workflow: "w", taskId: "t", dependencyOutputs: { d: deep(20_000, 2) } })
    expect(a.hash).toMatch(/^[0-9a-f]{64}$/)
    expect(a.hash).not.toBe(b.hash)
    expect(TC.CacheKey.make({ workflow: "w", taskId: "t", dependencyOutputs: { d: deep(20_000, 1) } }).hash).toBe(a.hash)
  })

  it("keeps the canonical form of shallow values (the iterative walk is the recursive one)", () => {
    const cyclic: Record<string, unknown> = { a: 1 }
    cyclic.self = cyclic
    expect(canonicalJson(cyclic)).toBe(`{"a":1,"self":"[Circular]"}`)
    const shared = { x: 1 }
    expect(canonicalJson([shared, shared])).toBe(`[{"x":1},{"x":1}]`)
    expect(canonicalJson(new Map<unknown, unknown>([[{ k: 2 }, undefined], ["a", [undefined, () => 1]]])))
      .toBe(`[["a",[null,null]],[{"k":2},null]]`)
    expect(canonicalJson({ d: new Date(0), n: [NaN, -0, -Infinity], b: 10n, u8: Uint8Array.of(1, 2) }))
      .toBe(`{"b":"10","d":"1970-01-01T00:00:00.000Z","n":["NaN",0,"-Infinity"],"u8":[1,2]}`)
    expect(canonicalJson({ toJSON: () => ({ toJSON: () => "inner" }) })).toBe(`"inner"`)
  })

  it("__proto__, constructor and toString are keys like any other (own properties, or a Map)", () => {
    const own = (id: string, value: unknown): Record<string, unknown> => {
      const record: Record<string, unknown> = {}
      Object.defineProperty(record, id, { value, enumerable: true, writable: true, configurable: true })
      return record
    }
    for (const id of ["__proto__", "constructor", "toString", "hasOwnProperty"]) {
      const k = (value: unknown) => TC.CacheKey.make({ workflow: "w", taskId: "t", dependencyOutputs: own(id, value) }).hash
      expect(k(1), id).not.toBe(k(2))
      expect(k(1), id).not.toBe(TC.CacheKey.make({ workflow: "w", taskId: "t", dependencyOutputs: {} }).hash)
      const viaMap = TC.CacheKey.make({ workflow: "w", taskId: "t", dependencyOutputs: new Map([[id, 1]]) }).hash
      expect(viaMap, id).toBe(k(1))
    }
  })

  it("a value without a prototype, or with a throwing toString, hashes; a throwing getter is a typed error", () => {
    const bare = Object.create(null) as Record<string, unknown>
    bare.a = 1
    const evil = { a: 1, toString: () => { throw new Error("no") }, valueOf: () => { throw new Error("no") } }
    expect(TC.canonicalize(bare)).toBe(`{"a":1}`)
    expect(TC.canonicalize(evil)).toBe(`{"a":1}`)
    const hostile = { outer: [0, { get bad(): unknown { throw new Error("boom") } }] }
    const error = (() => {
      try {
        TC.CacheKey.make({ workflow: "w", taskId: "t", input: hostile })
      } catch (e) {
        return e
      }
    })()
    assert(error instanceof TC.UnhashableValue)
    expect(error.taskId).toBe("t")
    expect(error.path).toBe("$.input.outer[1]")
    expect(error.message).toContain("boom")
    const revoked = Proxy.revocable({}, {})
    revoked.revoke()
    expect(() => TC.CacheKey.fromValue({ workflow: "w", taskId: "k", value: { p: revoked.proxy } }))
      .toThrow(TC.UnhashableValue)
    let n = 0
    const endless = { toJSON: (): unknown => ({ n: n++, toJSON: endless.toJSON }) }
    expect(() => TC.canonicalize(endless)).toThrow(/toJSON returned a new object/)
  })
})

describe("numeric options of caches (issue 9)", () => {
  it("maxEntries and ttl that are not valid numbers throw InvalidDefinition naming the option", () => {
    for (const maxEntries of [NaN, -1, 1.5, -Infinity]) {
      expect(() => TC.layerMemory({ maxEntries }), String(maxEntries)).toThrow(/TaskCache\.maxEntries: must be a whole number/)
    }
    for (const ttl of [NaN, -1, "soon" as never, Duration.millis(-5)]) {
      expect(() => TC.layerMemory({ ttl }), String(ttl)).toThrow(/TaskCache\.ttl/)
    }
    const error = (() => {
      try {
        TC.layerMemory({ maxEntries: NaN })
      } catch (e) {
        return e
      }
    })()
    assert(error instanceof InvalidDefinition)
    expect(error.path).toBe("TaskCache.maxEntries")
    // The limits themselves are fine.
    TC.layerMemory({ maxEntries: 0, ttl: 0 })
    TC.layerMemory({ maxEntries: Infinity, ttl: "Infinity" })
  })

  it("validateOptions names the option and the task, for the engine to report a task's cache policy", () => {
    expect(TC.validateOptions({ ttl: -1 }, { path: "tasks[2].cache", taskId: "fetch" })).toMatchObject({
      _tag: "InvalidDefinition",
      path: "tasks[2].cache.ttl",
      taskId: "fetch"
    })
    expect(TC.validateOptions({ maxEntries: Number.NaN })?.path).toBe("cache.maxEntries")
    expect(TC.validateOptions({ ttl: "Infinity", maxEntries: Infinity })).toBeUndefined()
    expect(TC.validateOptions({})).toBeUndefined()
  })

  it.effect("a set with an invalid TTL stores nothing (never an entry that expires at NaN)", () =>
    withCache(TC.layerMemory(), (cache) =>
      Effect.gen(function*() {
        yield* cache.set(key("a"), "A", { ttl: NaN })
        yield* cache.set(key("b"), "B", { ttl: -5 })
        expect(yield* cache.get(key("a"))).toEqual(Option.none())
        expect(yield* cache.get(key("b"))).toEqual(Option.none())
        expect((yield* cache.stats).size).toBe(0)
      })))
})

describe("the engine with deep dependency outputs (issue 9)", () => {
  it.effect("a 10 000-deep dependency output is hashed into its dependant's key: served from the cache, not a RangeError", () =>
    Effect.gen(function*() {
      let runs = 0
      const wf = workflow("deep")
        .task("a", { cache: false }, () => Effect.succeed(deep(10_000, "leaf")))
        .task("b", { dependsOn: ["a"] }, () => Effect.sync(() => ++runs))
      const first = yield* Engine.run(wf)
      const second = yield* Engine.run(wf)
      expect(first.outputs.b).toBe(1)
      expect(second.outputs.b).toBe(1)
      expect(runs).toBe(1)
    }).pipe(Effect.provide(TC.layerMemory())))
})

describe("the engine with hostile values in cache keys (issue 9)", () => {
  it.effect("a dependency output with a throwing getter fails only its cached dependant, naming the path", () =>
    Effect.gen(function*() {
      const hostile = { items: [1, { get secret(): unknown { throw new Error("no access") } }] }
      const wf = workflow("hostile")
        .task("a", { cache: false }, () => Effect.succeed(hostile))
        .task("b", { dependsOn: ["a"] }, () => Effect.succeed("never"))
      const exit = yield* Effect.exit(Engine.run(wf))
      assert(exit._tag === "Failure")
      const failed = Cause.findErrorOption(exit.cause)
      assert(failed._tag === "Some")
      const error = failed.value as { readonly failures: ReadonlyArray<{ readonly taskId: string; readonly cause: Cause.Cause<unknown> }>; readonly completed: ReadonlyArray<string> }
      expect(error.failures.map((f) => f.taskId)).toEqual(["b"])
      expect(Cause.pretty(error.failures[0]!.cause)).toContain("$.dependencyOutputs.a.output.items[1]")
      expect([...error.completed]).toEqual(["a"])
    }).pipe(Effect.provide(TC.layerMemory())))

  it.effect("a task cache policy with a NaN TTL caches nothing (never an entry with a NaN expiry)", () =>
    Effect.gen(function*() {
      let runs = 0
      const wf = workflow("ttl-nan").task("t", { cache: { ttl: Number.NaN } }, () => Effect.sync(() => ++runs))
      yield* Engine.run(wf).pipe(Effect.exit)
      yield* Engine.run(wf).pipe(Effect.exit)
      const stats = yield* TaskCache.use((cache) => cache.stats)
      expect(stats.size).toBe(0)
      expect(stats.hits).toBe(0)
    }).pipe(Effect.provide(TC.layerMemory())))
})

describe("cache keys over generated hostile values (issue 9 guard)", () => {
  it("any value hashes, the same way twice, and a value rebuilt with its keys in reverse order hashes the same", () => {
    const reversed = (value: unknown, depth = 0): unknown => {
      if (depth > 50 || typeof value !== "object" || value === null) return value
      if (Array.isArray(value)) return value.map((v) => reversed(v, depth + 1))
      const proto = Object.getPrototypeOf(value)
      if (proto !== Object.prototype && proto !== null) return value
      const out: Record<string, unknown> = Object.create(proto)
      for (const k of Object.keys(value).reverse()) {
        Object.defineProperty(out, k, {
          value: reversed((value as Record<string, unknown>)[k], depth + 1),
          enumerable: true,
          writable: true,
          configurable: true
        })
      }
      return out
    }
    fc.assert(
      fc.property(Hostile.value({ maxDepth: 4 }), (value) => {
        const a = TC.CacheKey.make({ workflow: "w", taskId: "__proto__", input: value })
        expect(TC.CacheKey.make({ workflow: "w", taskId: "__proto__", input: value }).hash).toBe(a.hash)
        expect(TC.CacheKey.make({ workflow: "w", taskId: "__proto__", input: reversed(value) }).hash).toBe(a.hash)
      }),
      { numRuns: Hostile.runs(300) }
    )
  })
})
