/**
 * Capabilities: what an agent can do, as string literal types.
 *
 * The ten capabilities of the seeds are built in. A program adds its own with
 * `Capability.define(["translation"] as const)`, which returns a capability set whose type is the union of
 * the built-in literals and the new ones; pass that set where an agent or a task is declared and the
 * compiler keeps checking every capability name.
 *
 * @example
 * ```ts
 * import { Capability } from "@troupe/agents"
 *
 * const Caps = Capability.define(["translation", "summarisation"] as const)
 * type Caps = Capability.Of<typeof Caps> // Capability.Builtin | "translation" | "summarisation"
 *
 * Caps.is("translation") // true
 * Caps.is("juggling") // false
 * ```
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

// -----------------------------------------------------------------------------
// Models
// -----------------------------------------------------------------------------

/**
 * The ten built-in capabilities, in the seeds' order.
 *
 * @category constants
 * @since 0.1.0
 */
export const builtins = [
  "general_purpose",
  "code_analysis",
  "code_generation",
  "testing",
  "debugging",
  "documentation",
  "data_processing",
  "file_operations",
  "api_integration",
  "research"
] as const

/**
 * One of the ten built-in capabilities.
 *
 * @category models
 * @since 0.1.0
 */
export type Builtin = typeof builtins[number]

/**
 * A capability: a built-in one, or one of the `Custom` literals a program adds.
 *
 * @example
 * ```ts
 * import type { Capability } from "@troupe/agents"
 *
 * type Mine = Capability.Capability<"translation"> // Builtin | "translation"
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export type Capability<Custom extends string = never> = Builtin | Custom

const SetTypeId = "~@troupe/agents/Capability/Set" as const

/**
 * A set of known capabilities: the built-in ones plus a program's own. Its type parameter is the union of
 * the literals, so it can constrain agents and tasks; at run time it checks and decodes names.
 *
 * @category models
 * @since 0.1.0
 */
export interface CapabilitySet<C extends string> {
  readonly [SetTypeId]: typeof SetTypeId
  /** Every capability of the set: the built-in ones first, then the custom ones in declaration order. */
  readonly all: ReadonlyArray<C>
  /** The custom capabilities only. */
  readonly custom: ReadonlyArray<Exclude<C, Builtin>>
  /** Whether a value is a capability of this set. */
  readonly is: (u: unknown) => u is C
  /** A Schema of the set's literals, to decode capability names from data (JSON, YAML). */
  readonly schema: Schema.Codec<C>
  /** A typed list of capabilities of this set (an identity function that checks its arguments). */
  readonly list: <const L extends ReadonlyArray<C>>(...capabilities: L) => L
}

/**
 * The union of the capability literals of a set.
 *
 * @category models
 * @since 0.1.0
 */
export type Of<S> = S extends CapabilitySet<infer C> ? C : never

// -----------------------------------------------------------------------------
// Constructors
// -----------------------------------------------------------------------------

const makeSet = <C extends string>(all: ReadonlyArray<C>): CapabilitySet<C> => {
  const known: ReadonlySet<string> = new Set(all)
  const builtinSet: ReadonlySet<string> = new Set(builtins)
  return Object.freeze({
    [SetTypeId]: SetTypeId,
    all: Object.freeze([...all]),
    custom: Object.freeze(all.filter((c): c is Exclude<C, Builtin> => !builtinSet.has(c))),
    is: (u: unknown): u is C => typeof u === "string" && known.has(u),
    schema: Schema.Literals(all),
    list: <const L extends ReadonlyArray<C>>(...capabilities: L): L => capabilities
  })
}

/**
 * The set of the ten built-in capabilities.
 *
 * @category constructors
 * @since 0.1.0
 */
export const Builtins: CapabilitySet<Builtin> = makeSet<Builtin>(builtins)

/**
 * Defines a capability set: the built-in capabilities plus `custom`. Duplicates (also of built-in names)
 * are dropped.
 *
 * @example
 * ```ts
 * import { Agent, Capability } from "@troupe/agents"
 *
 * const Caps = Capability.define(["translation"] as const)
 *
 * const translator = Agent.fromFunction("translator", ["translation"], (req) => req.description, {
 *   capabilitySet: Caps
 * })
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const define = <const Custom extends ReadonlyArray<string>>(
  custom: Custom
): CapabilitySet<Builtin | Custom[number]> => {
  const all: Array<Builtin | Custom[number]> = [...builtins]
  for (const c of custom) {
    if (!all.includes(c)) all.push(c)
  }
  return makeSet(all)
}

// -----------------------------------------------------------------------------
// Guards
// -----------------------------------------------------------------------------

/**
 * Whether a value is one of the ten built-in capabilities.
 *
 * @category guards
 * @since 0.1.0
 */
export const isBuiltin: (u: unknown) => u is Builtin = Builtins.is

/**
 * Whether a value is a capability set made by `define` (or `Builtins`).
 *
 * @category guards
 * @since 0.1.0
 */
export const isCapabilitySet = (u: unknown): u is CapabilitySet<string> =>
  typeof u === "object" && u !== null && SetTypeId in u

// -----------------------------------------------------------------------------
// Combinators
// -----------------------------------------------------------------------------

/**
 * Whether `have` contains every capability of `required`.
 *
 * @category combinators
 * @since 0.1.0
 */
export const covers = (have: ReadonlyArray<string>, required: ReadonlyArray<string>): boolean =>
  required.every((c) => have.includes(c))

/**
 * The capabilities of `required` that `have` lacks, in the order of `required`.
 *
 * @category combinators
 * @since 0.1.0
 */
export const missing = (have: ReadonlyArray<string>, required: ReadonlyArray<string>): ReadonlyArray<string> =>
  required.filter((c) => !have.includes(c))
