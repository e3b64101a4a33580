/**
 * CEL (the Common Expression Language, https://cel.dev) for Troupe, on `@bufbuild/cel`: the expression
 * language of condition and output-mapping expressions in data definitions. Expressions are parsed and
 * checked when a definition is decoded and evaluated by a real CEL interpreter, never with `eval`.
 *
 * An expression sees two variables:
 * - `input`: the run's input;
 * - `results`: by task id, `{ status, output }` of tasks that finished before (`status` is `"completed"`,
 *   `"failed"` or `"skipped"`; `output` is `null` unless the task completed). Task ids that are not CEL
 *   identifiers are written `results["build-web"]`.
 *
 * Checks made when an expression is compiled, each an issue with a 0-based offset: syntax errors, a task
 * id under `results` that is not a known task, `results` used without a literal task id, unknown names and
 * unknown functions. The task ids read under `results` are the expression's `references`: they become
 * order dependencies of the task.
 *
 * Values: integral numbers are CEL `int`s and other numbers `double`s (CEL does not mix them in arithmetic:
 * write `double(x) * 1.5`), `Date`s are `timestamp`s, absent and `undefined` fields are absent
 * (`has(results.a.output.f)`). The `strings` extension (`lowerAscii`, `split`, `join`, `indexOf`, ...) is
 * available on top of the standard functions.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Plan } from "@troupe/core"
 * import { Cel } from "@troupe/cel"
 *
 * const plan = Plan.fromDefinition({
 *   name: "release",
 *   tasks: [
 *     { id: "test" },
 *     { id: "deploy", condition: "results.test.output.failures == 0 && input.env == 'prod'" }
 *   ]
 * }).pipe(Effect.provide(Cel.layer))
 * ```
 *
 * @since 0.1.0
 */
import { celEnv, celError, type CelEnv, type CelError, type CelInput, type CelResult, isCelError, parse, plan } from "@bufbuild/cel"
import { strings } from "@bufbuild/cel/ext"
import { Expression } from "@troupe/core"
import { Layer, Result } from "effect"
import { check, type Parsed } from "./internal/check.ts"
import { fromCel, toCel, typeNameOf } from "./internal/values.ts"

// -----------------------------------------------------------------------------
// Models
// -----------------------------------------------------------------------------

/**
 * A checked expression that evaluates to any value (for output mappings), ready to evaluate.
 *
 * @category models
 * @since 0.1.0
 */
export interface ValueExpression {
  readonly source: string
  /** Task ids the expression reads under `results`. */
  readonly references: ReadonlyArray<string>
  /** The value as plain JavaScript (ints as numbers, lists as arrays, maps as objects), or an issue. */
  readonly evaluate: (scope: Expression.Scope) => Result.Result<unknown, Expression.ExpressionIssue>
}

// -----------------------------------------------------------------------------
// Internals
// -----------------------------------------------------------------------------

const env: CelEnv = celEnv({ funcs: strings })

interface Program {
  readonly references: ReadonlyArray<string>
  readonly run: (scope: Expression.Scope) => CelResult
  readonly offsetOf: (error: CelError) => number | undefined
}

const issue = (message: string, offset: number | undefined): Expression.ExpressionIssue =>
  offset === undefined ? { message } : { message, offset }

interface SyntaxErrorShape {
  readonly rawMessage?: unknown
  readonly message?: unknown
  readonly location?: { readonly start?: { readonly offset?: unknown } }
}

const syntaxIssue = (error: unknown): Expression.ExpressionIssue => {
  const e = (typeof error === "object" && error !== null ? error : {}) as SyntaxErrorShape
  const message = typeof e.rawMessage === "string" ? e.rawMessage : typeof e.message === "string" ? e.message : String(error)
  const offset = e.location?.start?.offset
  return issue(`syntax error: ${message}`, typeof offset === "number" ? offset : undefined)
}

const compileProgram = (source: string, knownTasks: ReadonlyArray<string>): Program | Expression.ExpressionIssue => {
  let parsed: Parsed
  try {
    parsed = parse(source)
  } catch (error) {
    return syntaxIssue(error)
  }
  const usage = check(source, parsed, knownTasks, env)
  if ("message" in usage) return usage
  let evaluate: (bindings: Record<string, CelInput>) => CelResult
  try {
    evaluate = plan(env, parsed)
  } catch (error) {
    return issue(error instanceof Error ? error.message : String(error), 0)
  }
  const { references, usesInput } = usage
  const positions = parsed.sourceInfo?.positions ?? {}
  return {
    references,
    // Only what the expression reads is converted to CEL values.
    run: (scope) => {
      const results: Record<string, CelInput> = {}
      for (const id of references) {
        const result = scope.results[id]
        if (result !== undefined) {
          results[id] = { status: result.status, output: toCel(result.status === "completed" ? result.output : null) }
        }
      }
      try {
        return evaluate({ input: usesInput ? toCel(scope.input) : null, results })
      } catch (error) {
        return celError(error)
      }
    },
    offsetOf: (error) => (error.exprId === undefined ? undefined : positions[String(error.exprId)])
  }
}

const errorIssue = (program: Program, error: CelError): Expression.ExpressionIssue =>
  issue(error.message, program.offsetOf(error))

// -----------------------------------------------------------------------------
// Constructors
// -----------------------------------------------------------------------------

/**
 * Parses and checks a condition expression. `knownTasks` are the ids `results.<id>` may name. The
 * compiled expression evaluates to a boolean; any other value is an issue.
 *
 * @example
 * ```ts
 * import { Cel } from "@troupe/cel"
 *
 * const compiled = Cel.compile("results.build.status == 'completed' && input.deploy", ["build"])
 * // compiled.references: ["build"]
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const compile = (
  source: string,
  knownTasks: ReadonlyArray<string>
): Expression.Compiled | Expression.ExpressionIssue => {
  const program = compileProgram(source, knownTasks)
  if ("message" in program) return program
  return {
    source,
    references: program.references,
    evaluate: (scope) => {
      const value = program.run(scope)
      if (isCelError(value)) return errorIssue(program, value)
      if (typeof value === "boolean") return value
      return issue(`expected the condition to be a boolean, got ${typeNameOf(value)}`, 0)
    }
  }
}

/**
 * Parses and checks an expression that evaluates to any value: an output mapping such as
 * `results.fetch.output.items.size()`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const compileValue = (
  source: string,
  knownTasks: ReadonlyArray<string>
): ValueExpression | Expression.ExpressionIssue => {
  const program = compileProgram(source, knownTasks)
  if ("message" in program) return program
  return {
    source,
    references: program.references,
    evaluate: (scope) => {
      const value = program.run(scope)
      if (isCelError(value)) return Result.fail(errorIssue(program, value))
      return Result.succeed(fromCel(value))
    }
  }
}

/**
 * CEL as a Troupe expression language.
 *
 * @category constructors
 * @since 0.1.0
 */
export const language: Expression.Language = { name: "cel", compile }

// -----------------------------------------------------------------------------
// Layers
// -----------------------------------------------------------------------------

/**
 * Provides CEL as the `ExpressionLanguage`: definitions decoded under it may use expressions, and the
 * engine evaluates them.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer: Layer.Layer<never> = Layer.succeed(Expression.ExpressionLanguage, language)
