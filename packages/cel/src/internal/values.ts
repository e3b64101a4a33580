/**
 * Conversions between JavaScript values (run inputs, task outputs) and CEL values.
 *
 * Into CEL: integral numbers become CEL `int`s and other numbers `double`s (so `count + 1` and `n % 2`
 * work on JSON data), `Date`s become `timestamp`s, sets become lists, objects (class instances too) become
 * maps of their own enumerable fields (so `__proto__` and `constructor` are plain keys, present only when
 * the object has them), and `undefined` fields are absent (`has(x.f)` is false).
 * Out of CEL: `int`/`uint` become numbers (bigints when beyond 2^53), lists arrays, maps plain objects,
 * timestamps `Date`s.
 *
 * @internal
 */
import {
  type CelInput,
  type CelValue,
  isCelError,
  isCelList,
  isCelMap,
  isCelType,
  isCelUint
} from "@bufbuild/cel"
import { isReflectMessage } from "@bufbuild/protobuf/reflect"
import { type Timestamp, timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt"

const isPlainRecord = (u: object): boolean => {
  const proto: unknown = Object.getPrototypeOf(u)
  return proto === Object.prototype || proto === null
}

/** A JavaScript value as a CEL input. Functions and symbols become `null` (or absent, as fields). */
export const toCel = (value: unknown, seen: WeakMap<object, CelInput> = new WeakMap()): CelInput => {
  switch (typeof value) {
    case "undefined":
    case "function":
    case "symbol":
      return null
    case "number":
      return Number.isSafeInteger(value) ? BigInt(value) : value
    case "bigint":
    case "boolean":
    case "string":
      return value
  }
  if (value === null) return null
  const object = value as object
  const known = seen.get(object)
  if (known !== undefined) return known
  if (object instanceof Uint8Array) return object
  if (object instanceof Date) return timestampFromDate(object)
  if (Array.isArray(object) || object instanceof Set) {
    const out: Array<CelInput> = []
    seen.set(object, out)
    for (const item of object as Iterable<unknown>) out.push(toCel(item, seen))
    return out
  }
  if (object instanceof Map) {
    const out = new Map<string | bigint | boolean, CelInput>()
    seen.set(object, out)
    for (const [key, item] of object as Map<unknown, unknown>) {
      if (item === undefined) continue
      const k = toCel(key)
      if (typeof k === "string" || typeof k === "bigint" || typeof k === "boolean") out.set(k, toCel(item, seen))
    }
    return out
  }
  if (!isPlainRecord(object) && (isCelType(object) || isReflectMessage(object))) return object as CelInput
  // A CEL map, not an object: a field named `__proto__` or `constructor` is a key like any other (an
  // assignment to `out["__proto__"]` would set a prototype, and inherited names must not look present).
  const out = new Map<string, CelInput>()
  seen.set(object, out)
  for (const [key, item] of Object.entries(object)) {
    if (item === undefined || typeof item === "function" || typeof item === "symbol") continue
    out.set(key, toCel(item, seen))
  }
  return out
}

const fromInt = (n: bigint): number | bigint => {
  const asNumber = Number(n)
  return Number.isSafeInteger(asNumber) ? asNumber : n
}

/** A CEL result as a plain JavaScript value. */
export const fromCel = (value: CelValue): unknown => {
  if (typeof value === "bigint") return fromInt(value)
  if (value === null || typeof value !== "object") return value
  if (isCelUint(value)) return fromInt(value.value)
  if (isCelList(value)) return Array.from(value, fromCel)
  if (isCelMap(value)) {
    const out: Record<string, unknown> = {}
    for (const [key, item] of value) {
      const field = { value: fromCel(item), enumerable: true, writable: true, configurable: true }
      Object.defineProperty(out, String(isCelUint(key) ? key.value : key), field)
    }
    return out
  }
  if (isCelType(value)) return value.name
  if (!isCelError(value) && isReflectMessage(value)) {
    if (value.desc.typeName === "google.protobuf.Timestamp") return timestampDate(value.message as Timestamp)
    return value.message
  }
  return value
}

/** The CEL type name of a value, for messages. */
export const typeNameOf = (value: CelValue): string => {
  if (value === null) return "null"
  switch (typeof value) {
    case "bigint":
      return "int"
    case "number":
      return "double"
    case "string":
      return "string"
    case "boolean":
      return "bool"
  }
  if (isCelUint(value)) return "uint"
  if (isCelList(value)) return "list"
  if (isCelMap(value)) return "map"
  if (value instanceof Uint8Array) return "bytes"
  if (isCelType(value)) return "type"
  return isReflectMessage(value) ? value.desc.typeName : "object"
}
