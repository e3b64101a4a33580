/**
 * @internal One safe way to describe a value or a Cause in one line, used by every engine message
 * (`TaskFailed.message`, `TaskRetrying.message`, logs). It never throws and never trusts a value: objects
 * without a prototype, a `toString` or getter that throws, Proxies, very deep or very long values all give
 * a line (the value's own text when it can be read safely, else its kind).
 */
import { Cause } from "effect"

const MAX = 200

const clip = (line: string): string => {
  const first = line.split("\n", 1)[0] ?? line
  return first.length > MAX ? `${first.slice(0, MAX - 1)}…` : first
}

/** Reads `object[key]` without letting a getter or a Proxy trap throw. */
const read = (object: object, key: PropertyKey): unknown => {
  try {
    return (object as Record<PropertyKey, unknown>)[key]
  } catch {
    return undefined
  }
}

const kind = (object: object): string => {
  try {
    const tag = Object.prototype.toString.call(object)
    return tag === "[object Object]" && Object.getPrototypeOf(object) === null ? "[object null prototype]" : tag
  } catch {
    return "[object]"
  }
}

/**
 * One line describing `value`: an error's message (else its name), a tagged value's `_tag` (with its
 * message when it has one), a string as is, a number or other primitive as text, any other object by its
 * own `toString` when that is callable and returns a string, else by its kind (`[object Object]`).
 */
export const describe = (value: unknown): string => {
  try {
    switch (typeof value) {
      case "string":
        return clip(value)
      case "number":
      case "boolean":
      case "bigint":
      case "undefined":
        return String(value)
      case "symbol":
        return clip(value.toString())
      case "function": {
        const name = read(value, "name")
        return typeof name === "string" && name !== "" ? `[function ${clip(name)}]` : "[function]"
      }
    }
    if (value === null) return "null"
    const object = value as object
    const message = read(object, "message")
    const isError = object instanceof Error
    if (isError && typeof message === "string" && message !== "") return clip(message)
    const tag = read(object, "_tag")
    if (typeof tag === "string") return clip(tag)
    if (isError) {
      const name = read(object, "name")
      return typeof name === "string" && name !== "" ? clip(name) : "Error"
    }
    const toString = read(object, "toString")
    if (typeof toString === "function" && toString !== Object.prototype.toString) {
      try {
        const text: unknown = toString.call(object)
        if (typeof text === "string") return clip(text)
      } catch {
        // falls through to the value's kind
      }
    }
    return kind(object)
  } catch {
    return "[undescribable value]"
  }
}

/** One line describing the error in a Cause (its first typed failure, else its first defect). */
export const describeCause = (cause: Cause.Cause<unknown>): string => {
  try {
    const reasons = cause.reasons
    for (const reason of reasons) if (Cause.isFailReason(reason)) return describe(reason.error)
    for (const reason of reasons) {
      if (Cause.isDieReason(reason)) {
        const defect = reason.defect
        return defect instanceof Error ? describeError(defect) : clip(`Error: ${describeDefect(defect)}`)
      }
    }
    return reasons.length === 0 ? "empty cause" : "interrupted"
  } catch {
    return "[undescribable failure]"
  }
}

/** A defect that is not an Error, as `Cause.pretty` shows it: a string as is, else JSON when it has some. */
const describeDefect = (defect: unknown): string => {
  if (typeof defect === "string") return defect
  if (typeof defect === "object" && defect !== null) {
    try {
      const json = JSON.stringify(defect)
      if (typeof json === "string") return json
    } catch {
      // cyclic, too deep, a throwing toJSON or getter: described by kind below
    }
  }
  return describe(defect)
}

/** A defect that is an Error: `Name: message`, as `Cause.pretty` prints its first line. */
const describeError = (error: Error): string => {
  const name = read(error, "name")
  const message = read(error, "message")
  const n = typeof name === "string" && name !== "" ? name : "Error"
  return typeof message === "string" && message !== "" ? clip(`${n}: ${message}`) : clip(n)
}
