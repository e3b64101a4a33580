/**
 * Hostile: fast-check arbitraries of the values a hostile (or careless) user hands Troupe: object keys
 * that are inherited names (`__proto__`, `constructor`, `toString`), odd numbers (`NaN`, `±Infinity`,
 * `-0`, huge, tiny, fractional), odd strings (empty, lone surrogates, NUL, very long), deep nesting, and
 * whole data definitions and CEL expressions built from them. The standing guard of issue 9 feeds these
 * to `Plan.fromDefinition` and `@troupe/cel`, which must only ever answer with a plan or a typed error.
 *
 * **Example**
 *
 * ```ts
 * import * as fc from "fast-check"
 * import { Hostile } from "@troupe/testing"
 *
 * fc.assert(fc.property(Hostile.definition(), (definition) => {
 *   // decode `definition`; expect a Plan or a DefinitionError, never a defect
 * }), { numRuns: Hostile.runs(200) })
 * ```
 *
 * @since 0.1.0
 */
import * as fc from "fast-check"

// -----------------------------------------------------------------------------
// Settings
// -----------------------------------------------------------------------------

/**
 * How many runs a property makes: `ci` by default, 50 times that (at least 10 000) with `TROUPE_SOAK=1`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const runs = (ci: number): number => {
  const soak = typeof process !== "undefined" && process.env?.TROUPE_SOAK === "1"
  return soak ? Math.max(10_000, ci * 50) : ci
}

// -----------------------------------------------------------------------------
// Leaves
// -----------------------------------------------------------------------------

/**
 * Names that are inherited by every object, or otherwise special to JavaScript.
 *
 * @category constants
 * @since 0.1.0
 */
export const inheritedNames: ReadonlyArray<string> = [
  "__proto__",
  "constructor",
  "prototype",
  "toString",
  "valueOf",
  "hasOwnProperty",
  "isPrototypeOf",
  "propertyIsEnumerable",
  "toLocaleString",
  "__defineGetter__",
  "__lookupGetter__",
  "then",
  "toJSON"
]

/**
 * An object key: an inherited name, a key the definition format knows, or any string.
 *
 * @category constructors
 * @since 0.1.0
 */
export const key = (known: ReadonlyArray<string> = []): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...inheritedNames) },
    ...(known.length > 0 ? [{ weight: 3, arbitrary: fc.constantFrom(...known) }] : []),
    { weight: 1, arbitrary: oddString() },
    { weight: 2, arbitrary: fc.string({ maxLength: 8 }) }
  )

/**
 * A number a careless program produces: NaN, the infinities, -0, the extremes, fractions, negatives.
 *
 * @category constructors
 * @since 0.1.0
 */
export const oddNumber = (): fc.Arbitrary<number> =>
  fc.oneof(
    fc.constantFrom(
      Number.NaN,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      -0,
      0,
      1,
      -1,
      0.5,
      1.5,
      Number.MAX_VALUE,
      -Number.MAX_VALUE,
      Number.MIN_VALUE,
      Number.MAX_SAFE_INTEGER + 2,
      2 ** 53,
      1e21
    ),
    fc.double(),
    fc.integer({ min: -5, max: 20 })
  )

/**
 * A string that trips naive code: empty, whitespace, NUL, lone surrogates, format directives, template
 * syntax, path tricks, very long.
 *
 * @category constructors
 * @since 0.1.0
 */
export const oddString = (): fc.Arbitrary<string> =>
  fc.oneof(
    fc.constantFrom(
      "",
      " ",
      "\u0000",
      "\ud800",
      "\udfff",
      "%s%d%n",
      "${input}",
      "{{x}}",
      "../../etc/passwd",
      "a.b",
      "a/b",
      "\u202e",
      "🙂",
      "NaN",
      "true",
      "null",
      "x".repeat(10_000)
    ),
    fc.string({ unit: "binary", maxLength: 12 })
  )

/**
 * Any JSON-like value with hostile keys and odd leaves, at most `maxDepth` deep.
 *
 * @category constructors
 * @since 0.1.0
 */
export const value = (options: { readonly maxDepth?: number; readonly keys?: ReadonlyArray<string> } = {}): fc.Arbitrary<unknown> =>
  fc.anything({
    key: key(options.keys ?? []),
    maxDepth: options.maxDepth ?? 3,
    maxKeys: 5,
    values: [oddNumber(), oddString(), fc.boolean(), fc.constant(null), fc.constant(undefined)],
    withNullPrototype: true,
    withBigInt: true,
    withDate: true,
    withMap: true,
    withSet: true
  })

/**
 * A value nested `depth` levels (objects and arrays alternating) around `leaf`, built without recursion.
 *
 * @category constructors
 * @since 0.1.0
 */
export const nested = (depth: number, leaf: unknown = 1): unknown => {
  let out: unknown = leaf
  for (let i = 0; i < depth; i++) out = i % 2 === 0 ? { a: out } : [out]
  return out
}

/**
 * A deep value: `nested(depth)` for a depth between `min` and `max`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const deep = (min = 500, max = 20_000): fc.Arbitrary<unknown> =>
  fc.integer({ min, max }).map((depth) => nested(depth))

// -----------------------------------------------------------------------------
// CEL
// -----------------------------------------------------------------------------

const celTokens = [
  "(", ")", "[", "]", "{", "}", ",", ".", "?", ":", "!", "-", "+", "*", "/", "%", "==", "!=", "<", ">=", "&&", "||",
  " in ", "input", "results", "a", "b", "__proto__", "constructor", "size()", "has(", "'s'", "\"d\"", "r'\\\\'",
  "'''t'''", "1", "1.5", "-0", "1e309", "9223372036854775808", "0x", "u", "b'\\xff'", "null", "true", "\\", "'",
  "\"", " ", "all(x, x)", ".exists(", "`"
]

/**
 * A CEL expression: a random token soup (mostly syntax errors), a well-formed condition over `ids`, or a
 * deeply nested one (brackets, ternaries, operator and selection chains, hundreds to thousands deep).
 *
 * @category constructors
 * @since 0.1.0
 */
export const celExpression = (ids: ReadonlyArray<string> = ["a", "b"]): fc.Arbitrary<string> => {
  const id = ids.length > 0 ? fc.constantFrom(...ids) : fc.constant("a")
  const atom = fc.oneof(
    id.map((i) => `results[${JSON.stringify(i)}].status == 'completed'`),
    id.map((i) => `results.${i}.output.x > 1`),
    fc.constant("input.flag"),
    fc.constant("true")
  )
  const soup = fc.array(fc.constantFrom(...celTokens), { maxLength: 30 }).map((ts) => ts.join(""))
  const wellFormed = fc.array(atom, { minLength: 1, maxLength: 5 }).chain((atoms) =>
    fc.constantFrom(" && ", " || ").map((op) => atoms.join(op))
  )
  const depth = fc.integer({ min: 100, max: 3_000 })
  const deepOnes = fc.oneof(
    depth.map((n) => "(".repeat(n) + "true" + ")".repeat(n)),
    depth.map((n) => "[".repeat(n) + "]".repeat(n) + ".size() == 1"),
    depth.map((n) => Array(n).fill("input.x ? true :").join(" ") + " false"),
    depth.map((n) => Array(n).fill("1").join(" + ") + " > 0"),
    depth.map((n) => "input" + ".a".repeat(n) + " == 1"),
    depth.map((n) => "!".repeat(n) + "true"),
    depth.map((n) => "(".repeat(n))
  )
  return fc.oneof({ weight: 3, arbitrary: soup }, { weight: 2, arbitrary: wellFormed }, { weight: 1, arbitrary: deepOnes })
}

// -----------------------------------------------------------------------------
// Definitions
// -----------------------------------------------------------------------------

const taskFields = [
  "id", "name", "description", "depends_on", "dependsOn", "dependencies", "priority", "timeout", "retry",
  "retry_policy", "condition", "parameters", "required_capabilities", "required_skills", "task_type",
  "resources", "loop", "step_id", "agent_id"
]
const topFields = [
  "name", "id", "description", "tasks", "steps", "strategy", "max_parallel", "maxParallel", "timeout",
  "default_retry", "resources", "per_key_limit", "metadata", "output_mapping"
]

const maybe = <A>(arbitrary: fc.Arbitrary<A>): fc.Arbitrary<A | undefined> =>
  fc.option(arbitrary, { nil: undefined, freq: 2 })

const rarely = <A>(arbitrary: fc.Arbitrary<A>): fc.Arbitrary<A | undefined> =>
  fc.oneof({ weight: 4, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary })

/** Sets an own property (so `__proto__` is a key, not the prototype). */
const own = (target: Record<string, unknown>, name: string, item: unknown): void => {
  Object.defineProperty(target, name, { value: item, enumerable: true, writable: true, configurable: true })
}

const withExtras = (
  base: Record<string, unknown>,
  extras: ReadonlyArray<readonly [string, unknown]>
): Record<string, unknown> => {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(base)) if (v !== undefined) own(out, k, v)
  for (const [k, v] of extras) own(out, k, v)
  return out
}

/**
 * A data definition as `Plan.fromDefinition` receives it (JSON or YAML parsed to a value), mostly
 * plausible and partly hostile: task ids that are inherited names, dependencies on them, odd numbers in
 * every numeric field, CEL conditions (see {@link celExpression}), parameters with hostile keys or
 * thousands of levels deep, extra fields with inherited names, and now and then something that is no
 * definition at all.
 *
 * @category constructors
 * @since 0.1.0
 */
export const definition = (): fc.Arbitrary<unknown> => {
  // Each field is mostly valid, so that decoding gets past the first check and explores the rest.
  const sometimes = <A, B>(valid: fc.Arbitrary<A>, hostile: fc.Arbitrary<B>): fc.Arbitrary<A | B> =>
    fc.oneof({ weight: 6, arbitrary: valid }, { weight: 1, arbitrary: hostile })
  const taskId = fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom("a", "b", "c", "build", "test") },
    { weight: 3, arbitrary: fc.constantFrom(...inheritedNames) },
    { weight: 1, arbitrary: oddString() }
  )
  const odd = fc.oneof(oddNumber(), fc.constantFrom("1", "5 seconds", null, true, [] as unknown, {} as unknown))
  const count = sometimes(fc.integer({ min: 0, max: 5 }), odd)
  const positive = sometimes(fc.integer({ min: 1, max: 10 }), odd)
  const seconds = sometimes(fc.double({ min: 0.001, max: 100, noNaN: true }), odd)
  const retry = sometimes(
    fc.record(
      { max_retries: count, backoff_multiplier: sometimes(fc.double({ min: 1, max: 4, noNaN: true }), odd), initial_delay: seconds, max_delay: seconds },
      { requiredKeys: [] }
    ),
    fc.oneof(fc.record({ max_attempts: odd, jitter: fc.oneof(fc.boolean(), oddNumber()) }, { requiredKeys: [] }), value({ maxDepth: 2 }))
  )
  const parameters = fc.oneof(
    { weight: 8, arbitrary: fc.dictionary(key(["x", "y"]), fc.oneof(oddNumber(), oddString(), fc.boolean()), { maxKeys: 4 }) },
    { weight: 3, arbitrary: value({ maxDepth: 4 }) },
    { weight: 1, arbitrary: deep(100, 6_000) }
  )
  const task = fc
    .record({
      id: taskId,
      description: maybe(oddString()),
      depends_on: maybe(sometimes(fc.uniqueArray(taskId, { maxLength: 2 }), value({ maxDepth: 1 }))),
      priority: maybe(positive),
      timeout: maybe(seconds),
      retry: maybe(retry),
      condition: rarely(sometimes(celExpression(["a", "b", "__proto__", "constructor"]), value({ maxDepth: 1 }))),
      parameters: maybe(parameters),
      required_capabilities: maybe(fc.uniqueArray(key(), { maxLength: 3 })),
      resources: rarely(fc.dictionary(fc.constantFrom("gpu", "toString", "__proto__"), positive, { maxKeys: 2 }))
    })
    .chain((base) =>
      fc.array(fc.tuple(key(taskFields), value({ maxDepth: 2 })), { maxLength: 1 }).chain((extras) =>
        fc.oneof({ weight: 4, arbitrary: fc.constant(base) }, { weight: 1, arbitrary: fc.constant(withExtras(base, extras)) })
      )
    )
    .map((t) => withExtras(t as Record<string, unknown>, []))
  const top = fc
    .record({
      name: sometimes(fc.constantFrom("wf", "release", "__proto__", "constructor"), oddString()),
      tasks: sometimes(fc.array(task, { minLength: 1, maxLength: 6 }), value({ maxDepth: 2 })),
      strategy: maybe(sometimes(fc.constantFrom("dag", "parallel", "auto", "sequential"), fc.oneof(fc.constant("toString"), oddString()))),
      max_parallel: maybe(positive),
      timeout: maybe(seconds),
      default_retry: maybe(retry),
      resources: maybe(fc.dictionary(fc.constantFrom("gpu", "toString", "__proto__"), positive, { maxKeys: 3 }))
    })
    .chain((base) =>
      fc.array(fc.tuple(key(topFields), value({ maxDepth: 2 })), { maxLength: 1 }).chain((extras) =>
        fc.oneof({ weight: 4, arbitrary: fc.constant(withExtras(base, [])) }, { weight: 1, arbitrary: fc.constant(withExtras(base, extras)) })
      )
    )
  return fc.oneof(
    { weight: 20, arbitrary: top },
    { weight: 1, arbitrary: value({ maxDepth: 3 }) },
    { weight: 1, arbitrary: deep(1_000, 20_000) }
  )
}
