/** JSON helpers: what may cross the journal without a schema, and a canonical form to compare inputs. */

/**
 * Where `value` stops being JSON data (`undefined` when it is JSON). `undefined` at the top is allowed (a
 * task that returns nothing) and so are `undefined` object properties (JSON drops them, as does a read back).
 */
export const nonJsonAt = (value: unknown, path = "$", seen: Set<object> = new Set()): string | undefined => {
  switch (typeof value) {
    case "string":
    case "boolean":
      return undefined
    case "number":
      return Number.isFinite(value) ? undefined : `${path} (${value})`
    case "undefined":
      return path === "$" ? undefined : `${path} (undefined)`
    case "bigint":
      return `${path} (a bigint)`
    case "function":
      return `${path} (a function)`
    case "symbol":
      return `${path} (a symbol)`
    case "object": {
      if (value === null) return undefined
      if (seen.has(value)) return `${path} (a circular reference)`
      seen.add(value)
      try {
        if (Array.isArray(value)) {
          for (let i = 0; i < value.length; i++) {
            const bad = value[i] === undefined ? `${path}[${i}] (undefined)` : nonJsonAt(value[i], `${path}[${i}]`, seen)
            if (bad !== undefined) return bad
          }
          return undefined
        }
        const proto = Object.getPrototypeOf(value)
        if (proto !== Object.prototype && proto !== null) {
          const name = (value as { constructor?: { name?: string } }).constructor?.name ?? "object"
          return `${path} (a ${name}, not a plain object)`
        }
        for (const key of Object.keys(value)) {
          const v = (value as Record<string, unknown>)[key]
          if (v === undefined) continue
          const bad = nonJsonAt(v, `${path}.${key}`, seen)
          if (bad !== undefined) return bad
        }
        return undefined
      } finally {
        seen.delete(value)
      }
    }
  }
}

/** JSON text of any value, replacing what JSON cannot hold (for history and diagnostics, never for replay). */
export const safeStringify = (value: unknown): string => {
  const seen = new WeakSet<object>()
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === "bigint") return `${v}n`
    if (typeof v === "function" || typeof v === "symbol") return undefined
    if (typeof v === "number" && !Number.isFinite(v)) return String(v)
    if (v instanceof Error) return { name: v.name, message: v.message, ...(v as object) }
    if (typeof v === "object" && v !== null) {
      if (seen.has(v)) return "[Circular]"
      seen.add(v)
      if (v instanceof Map) return Object.fromEntries(v)
      if (v instanceof Set) return [...v]
    }
    return v
  }) ?? "null"
}

/** Canonical JSON: object keys sorted, so equal data gives equal text. */
export const canonical = (value: unknown): string =>
  JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === "object" && v !== null && !Array.isArray(v)) {
      const out: Record<string, unknown> = {}
      for (const k of Object.keys(v).sort()) out[k] = (v as Record<string, unknown>)[k]
      return out
    }
    return v
  }) ?? "null"
