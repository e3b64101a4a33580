/**
 * Canonical JSON and a platform-free SHA-256, used to build stable cache keys.
 *
 * Nothing here imports `node:*`: the hash runs the same way in Node, browsers and workers.
 *
 * @internal
 */

// -----------------------------------------------------------------------------
// Canonical JSON
// -----------------------------------------------------------------------------

const compareStrings = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)

const numberToJson = (n: number): string => {
  if (Number.isFinite(n)) return JSON.stringify(n) // -0 becomes "0"
  // JSON has no NaN or Infinity; keep them apart from null (and from each other).
  return JSON.stringify(Number.isNaN(n) ? "NaN" : n > 0 ? "Infinity" : "-Infinity")
}

/**
 * A value cannot be hashed: a getter, a `toJSON` or a Proxy trap threw while it was read, or `toJSON`
 * kept returning new objects. `path` says where (`$` is the value itself, `$.a[3]` a nested part).
 */
export class HashError {
  readonly path: string
  readonly reason: string
  constructor(path: string, reason: string) {
    this.path = path
    this.reason = reason
  }
}

/** How many times in a row `toJSON` may hand back another object with a `toJSON` of its own. */
const MAX_TO_JSON_CHAIN = 64

const errorText = (error: unknown): string => {
  try {
    if (error instanceof Error) return error.name === "Error" ? error.message : `${error.name}: ${error.message}`
  } catch {
    // a hostile error: fall through
  }
  return `a thrown ${error === null ? "null" : typeof error}`
}

/**
 * Serialises a value to a canonical JSON string: the same data always gives the same text, whatever the
 * order in which object keys were inserted.
 *
 * - object keys are sorted (UTF-16 code unit order); `undefined`, function and symbol values are dropped,
 *   as `JSON.stringify` does; only own enumerable string keys count, so a key named `__proto__` or
 *   `constructor` is data like any other, and an object without a prototype is a plain object;
 * - arrays keep their order; `undefined`, functions and symbols inside arrays become `null`;
 * - values with a `toJSON` method (Dates, effect data types) are replaced by its result, so a Date becomes
 *   its ISO string;
 * - bigint becomes its decimal string, NaN and the infinities become the strings "NaN", "Infinity",
 *   "-Infinity";
 * - a Map becomes an array of `[key, value]` pairs sorted by the canonical form of the key, a Set an array
 *   of its elements sorted by their canonical form; typed arrays and DataViews become arrays of bytes;
 * - a reference back to an enclosing object becomes the string "[Circular]" instead of overflowing.
 *
 * The walk is iterative: any depth is encoded (a 100 000-deep value included) without growing the call
 * stack, and no `toString` of the value is ever called. A getter, `toJSON` or Proxy trap that throws
 * makes it throw a {@link HashError} naming the path.
 *
 * Returns `undefined` when the value itself is dropped (undefined, a function, a symbol), like JSON.
 */
export const canonicalJson = (value: unknown): string | undefined => {
  const root: Frame = { kind: "root", object: undefined, items: [value], keys: undefined, index: 0, parts: [] }
  const stack: Array<Frame> = [root]
  const ancestors = new Set<object>()
  try {
    while (stack.length > 0) {
      const frame = stack[stack.length - 1]!
      if (frame.index < frame.items.length) {
        const item = frame.items[frame.index++]
        const primitive = encodePrimitive(item)
        if (primitive !== NOT_PRIMITIVE) {
          frame.parts.push(primitive)
          continue
        }
        const child = open(item as object, ancestors)
        if (typeof child === "string" || child === undefined) frame.parts.push(child)
        else {
          if (child.object !== undefined) ancestors.add(child.object)
          stack.push(child)
        }
        continue
      }
      stack.pop()
      if (frame.object !== undefined) ancestors.delete(frame.object)
      if (frame.kind === "root") return frame.parts[0]
      stack[stack.length - 1]!.parts.push(close(frame))
    }
  } catch (error) {
    throw new HashError(pathOf(stack), errorText(error))
  }
  return undefined
}

type Kind = "root" | "array" | "object" | "map" | "set"

interface Frame {
  readonly kind: Kind
  readonly object: object | undefined
  /** What to encode, in order (for a map: key, value, key, value, ...). */
  readonly items: ReadonlyArray<unknown>
  /** For objects: the key of each item. */
  readonly keys: ReadonlyArray<string> | undefined
  index: number
  readonly parts: Array<string | undefined>
}

const NOT_PRIMITIVE = Symbol("NOT_PRIMITIVE")

const encodePrimitive = (value: unknown): string | undefined | typeof NOT_PRIMITIVE => {
  switch (typeof value) {
    case "undefined":
    case "function":
    case "symbol":
      return undefined
    case "string":
      return JSON.stringify(value)
    case "number":
      return numberToJson(value)
    case "boolean":
      return value ? "true" : "false"
    case "bigint":
      return JSON.stringify(value.toString())
  }
  return value === null ? "null" : NOT_PRIMITIVE
}

/** The frame that encodes an object, or its text when it needs none (a circular reference, a toJSON result). */
const open = (start: object, ancestors: ReadonlySet<object>): Frame | string | undefined => {
  let obj = start
  for (let chain = 0;; chain++) {
    if (ancestors.has(obj)) return JSON.stringify("[Circular]")
    if (Array.isArray(obj)) return frame("array", obj, obj)
    if (obj instanceof Map) {
      const items: Array<unknown> = []
      for (const [k, v] of obj) items.push(k, v)
      return frame("map", obj, items)
    }
    if (obj instanceof Set) return frame("set", obj, Array.from(obj))
    if (ArrayBuffer.isView(obj)) {
      return JSON.stringify(Array.from(new Uint8Array(obj.buffer, obj.byteOffset, obj.byteLength)))
    }
    if (obj instanceof ArrayBuffer) return JSON.stringify(Array.from(new Uint8Array(obj)))
    const toJSON = (obj as { readonly toJSON?: unknown }).toJSON
    if (typeof toJSON !== "function") break
    // A Date (or any value with toJSON) stands for what it serialises to. An invalid Date gives null.
    const replaced: unknown = toJSON.call(obj)
    if (replaced === obj) break
    const primitive = encodePrimitive(replaced)
    if (primitive !== NOT_PRIMITIVE) return primitive
    if (chain >= MAX_TO_JSON_CHAIN) throw new Error(`toJSON returned a new object ${MAX_TO_JSON_CHAIN} times in a row`)
    obj = replaced as object
  }
  const record = obj as Record<string, unknown>
  const keys = Object.keys(record).sort(compareStrings)
  const items: Array<unknown> = new Array(keys.length)
  for (let i = 0; i < keys.length; i++) items[i] = record[keys[i]!]
  return { kind: "object", object: obj, items, keys, index: 0, parts: [] }
}

const frame = (kind: Kind, object: object, items: ReadonlyArray<unknown>): Frame => ({
  kind,
  object,
  items,
  keys: undefined,
  index: 0,
  parts: []
})

const close = (frame: Frame): string => {
  const parts = frame.parts
  switch (frame.kind) {
    case "object": {
      const keys = frame.keys!
      const out: Array<string> = []
      for (let i = 0; i < parts.length; i++) {
        const encoded = parts[i]
        if (encoded !== undefined) out.push(`${JSON.stringify(keys[i])}:${encoded}`)
      }
      return `{${out.join(",")}}`
    }
    case "map": {
      const entries: Array<readonly [string, string]> = []
      for (let i = 0; i < parts.length; i += 2) entries.push([parts[i] ?? "null", parts[i + 1] ?? "null"])
      entries.sort((a, b) => compareStrings(a[0], b[0]) || compareStrings(a[1], b[1]))
      return `[${entries.map(([k, v]) => `[${k},${v}]`).join(",")}]`
    }
    case "set":
      return `[${parts.map((p) => p ?? "null").sort(compareStrings).join(",")}]`
    default:
      return `[${parts.map((p) => p ?? "null").join(",")}]`
  }
}

/** Where the walk is: `$`, then `.key` / `[index]` per open level (kept short for very deep values). */
const pathOf = (stack: ReadonlyArray<Frame>): string => {
  const segments: Array<string> = []
  for (let s = 1; s < stack.length; s++) {
    const f = stack[s]!
    const at = f.index - 1
    if (at < 0) continue
    if (f.kind === "object") {
      const key = f.keys![at]!
      segments.push(/^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`)
    } else segments.push(f.kind === "map" ? `[${at % 2 === 0 ? "key" : "value"} ${at >> 1}]` : `[${at}]`)
  }
  if (segments.length > 12) return `$${segments.slice(0, 4).join("")}...(${segments.length - 8} levels)...${segments.slice(-4).join("")}`
  return `$${segments.join("")}`
}

// -----------------------------------------------------------------------------
// UTF-8
// -----------------------------------------------------------------------------

/**
 * Encodes a string as UTF-8 bytes. Lone surrogates become U+FFFD, as `TextEncoder` does.
 */
export const utf8 = (text: string): Uint8Array => {
  const bytes: Array<number> = []
  for (let i = 0; i < text.length; i++) {
    let code = text.charCodeAt(i)
    if (code >= 0xd800 && code <= 0xdbff) {
      const next = i + 1 < text.length ? text.charCodeAt(i + 1) : 0
      if (next >= 0xdc00 && next <= 0xdfff) {
        code = 0x10000 + ((code - 0xd800) << 10) + (next - 0xdc00)
        i++
      } else {
        code = 0xfffd
      }
    } else if (code >= 0xdc00 && code <= 0xdfff) {
      code = 0xfffd
    }
    if (code < 0x80) {
      bytes.push(code)
    } else if (code < 0x800) {
      bytes.push(0xc0 | (code >> 6), 0x80 | (code & 0x3f))
    } else if (code < 0x10000) {
      bytes.push(0xe0 | (code >> 12), 0x80 | ((code >> 6) & 0x3f), 0x80 | (code & 0x3f))
    } else {
      bytes.push(
        0xf0 | (code >> 18),
        0x80 | ((code >> 12) & 0x3f),
        0x80 | ((code >> 6) & 0x3f),
        0x80 | (code & 0x3f)
      )
    }
  }
  return Uint8Array.from(bytes)
}

// -----------------------------------------------------------------------------
// SHA-256 (FIPS 180-4)
// -----------------------------------------------------------------------------

const K = Uint32Array.from([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2
])

const rotr = (x: number, n: number): number => (x >>> n) | (x << (32 - n))

/**
 * SHA-256 of some bytes, as 64 lowercase hex characters.
 */
export const sha256Bytes = (message: Uint8Array): string => {
  const h = Uint32Array.from([
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19
  ])
  // Padding: 0x80, zeros, then the message length in bits as a 64-bit big-endian integer.
  const paddedLength = Math.ceil((message.length + 9) / 64) * 64
  const padded = new Uint8Array(paddedLength)
  padded.set(message)
  padded[message.length] = 0x80
  const view = new DataView(padded.buffer)
  const bitLength = message.length * 8
  view.setUint32(paddedLength - 8, Math.floor(bitLength / 0x100000000))
  view.setUint32(paddedLength - 4, bitLength >>> 0)

  const w = new Uint32Array(64)
  for (let offset = 0; offset < paddedLength; offset += 64) {
    for (let t = 0; t < 16; t++) w[t] = view.getUint32(offset + t * 4)
    for (let t = 16; t < 64; t++) {
      const w15 = w[t - 15]!
      const w2 = w[t - 2]!
      const s0 = rotr(w15, 7) ^ rotr(w15, 18) ^ (w15 >>> 3)
      const s1 = rotr(w2, 17) ^ rotr(w2, 19) ^ (w2 >>> 10)
      w[t] = (w[t - 16]! + s0 + w[t - 7]! + s1) >>> 0
    }
    let a = h[0]!
    let b = h[1]!
    let c = h[2]!
    let d = h[3]!
    let e = h[4]!
    let f = h[5]!
    let g = h[6]!
    let hh = h[7]!
    for (let t = 0; t < 64; t++) {
      const s1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)
      const ch = (e & f) ^ (~e & g)
      const t1 = (hh + s1 + ch + K[t]! + w[t]!) >>> 0
      const s0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)
      const maj = (a & b) ^ (a & c) ^ (b & c)
      const t2 = (s0 + maj) >>> 0
      hh = g
      g = f
      f = e
      e = (d + t1) >>> 0
      d = c
      c = b
      b = a
      a = (t1 + t2) >>> 0
    }
    h[0] = h[0]! + a
    h[1] = h[1]! + b
    h[2] = h[2]! + c
    h[3] = h[3]! + d
    h[4] = h[4]! + e
    h[5] = h[5]! + f
    h[6] = h[6]! + g
    h[7] = h[7]! + hh
  }
  let hex = ""
  for (const word of h) hex += word.toString(16).padStart(8, "0")
  return hex
}

/**
 * SHA-256 of the UTF-8 encoding of a string, as 64 lowercase hex characters.
 */
export const sha256 = (text: string): string => sha256Bytes(utf8(text))

/**
 * The hash of a value: SHA-256 of its canonical JSON (a dropped value hashes like the text "undefined").
 */
export const hashValue = (value: unknown): string => sha256(canonicalJson(value) ?? "undefined")
