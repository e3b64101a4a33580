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
 * unknown functions, and nesting deeper than {@link maxNesting} levels (brackets, ternaries, chains of
 * operators or field selections): such an expression is an issue at the offset where it gets too deep,
 * never a `RangeError`. The task ids read under `results` are the expression's `references`: they become
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
import { check, type Expr, type Parsed } from "./internal/check.ts"
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

/**
 * The deepest nesting an expression may have: brackets, ternaries, and operator or selection chains
 * (`a + b + c` nests as `(a + b) + c`). Deeper expressions are refused when compiled, with the offset
 * where they get too deep, so that neither the parser nor the evaluator can run out of stack. The same
 * limit as cel-go's default parser recursion limit.
 *
 * @category models
 * @since 0.1.0
 */
export const maxNesting = 250

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

const tooDeep = (offset: number | undefined): Expression.ExpressionIssue =>
  issue(`expression nested more than ${maxNesting} levels deep`, offset)

const isStackOverflow = (error: unknown): boolean => error instanceof RangeError

/**
 * Before parsing: the offset where brackets and ternaries nest deeper than `maxNesting`, if they do.
 * String literals are skipped (quotes, escapes, triple quotes); `[?` and `.?` are optional access, not
 * ternaries. A ternary stays open until the bracket around it closes (`a ? b : c ? d : e` nests).
 */
const lexicalDepthProblem = (source: string): number | undefined => {
  const ternaries: Array<number> = [0]
  let depth = 0
  for (let i = 0; i < source.length; i++) {
    const c = source[i]!
    if (c === "\"" || c === "'") {
      const triple = source.startsWith(c.repeat(3), i)
      const quote = triple ? c.repeat(3) : c
      const raw = i > 0 && (source[i - 1] === "r" || source[i - 1] === "R")
      i += quote.length
      while (i < source.length && !source.startsWith(quote, i)) {
        if (source[i] === "\\" && !raw) i++
        i++
      }
      i += quote.length - 1
      continue
    }
    if (c === "(" || c === "[" || c === "{") {
      depth++
      ternaries.push(0)
    } else if (c === ")" || c === "]" || c === "}") {
      if (ternaries.length > 1) depth -= 1 + ternaries.pop()!
    } else if (c === "?") {
      const before = i > 0 ? source[i - 1] : ""
      if (before === "[" || before === ".") continue
      depth++
      ternaries[ternaries.length - 1]!++
    } else continue
    if (depth > maxNesting) return i
  }
  return undefined
}

/** After parsing: the node where the tree gets deeper than `maxNesting`, found without recursion. */
const treeDepthProblem = (root: Expr | undefined): Expr | undefined => {
  const stack: Array<readonly [Expr | undefined, number]> = [[root, 1]]
  while (stack.length > 0) {
    const [expr, depth] = stack.pop()!
    if (expr === undefined) continue
    if (depth > maxNesting) return expr
    const kind = expr.exprKind
    const next = depth + 1
    switch (kind.case) {
      case "selectExpr":
        stack.push([kind.value.operand, next])
        break
      case "callExpr":
        stack.push([kind.value.target, next])
        for (const arg of kind.value.args) stack.push([arg, next])
        break
      case "listExpr":
        for (const element of kind.value.elements) stack.push([element, next])
        break
      case "structExpr":
        for (const entry of kind.value.entries) {
          if (entry.keyKind.case === "mapKey") stack.push([entry.keyKind.value, next])
          stack.push([entry.value, next])
        }
        break
      case "comprehensionExpr": {
        const c = kind.value
        for (const part of [c.iterRange, c.accuInit, c.loopCondition, c.loopStep, c.result]) stack.push([part, next])
        break
      }
      default:
        break
    }
  }
  return undefined
}

const compileProgram = (source: string, knownTasks: ReadonlyArray<string>): Program | Expression.ExpressionIssue => {
  const lexical = lexicalDepthProblem(source)
  if (lexical !== undefined) return tooDeep(lexical)
  let parsed: Parsed
  try {
    parsed = parse(source)
  } catch (error) {
    // The lexical check bounds brackets and ternaries; anything else that overflows is still an issue.
    return isStackOverflow(error) ? tooDeep(undefined) : syntaxIssue(error)
  }
  const positions = parsed.sourceInfo?.positions ?? {}
  const deepest = treeDepthProblem(parsed.expr)
  if (deepest !== undefined) return tooDeep(positions[String(deepest.id)])
  let usage: ReturnType<typeof check>
  try {
    usage = check(source, parsed, knownTasks, env)
  } catch (error) {
    if (isStackOverflow(error)) return tooDeep(undefined)
    throw error
  }
  if ("message" in usage) return usage
  let evaluate: (bindings: Record<string, CelInput>) => CelResult
  try {
    evaluate = plan(env, parsed)
  } catch (error) {
    return issue(error instanceof Error ? error.message : String(error), 0)
  }
  const { references, usesInput } = usage
  return {
    references,
    // Only what the expression reads is converted to CEL values.
    run: (scope) => {
      // A Map, read with an own-property check: a task id such as `constructor` or `__proto__` is found
      // only when that task has a result (never an inherited member of the scope object).
      try {
        // Converting a value (an output thousands of levels deep included) fails this evaluation only.
        const results = new Map<string, CelInput>()
        for (const id of references) {
          const result = Object.hasOwn(scope.results, id) ? scope.results[id] : undefined
          if (result !== undefined) {
            results.set(id, new Map<string, CelInput>([
              ["status", result.status],
              ["output", toCel(result.status === "completed" ? result.output : null)]
            ]))
          }
        }
        return evaluate({ input: usesInput ? toCel(scope.input) : null, results })
      } catch (error) {
        return celError(
          isStackOverflow(error) ? new Error("a value is nested too deeply to evaluate the expression over it") : error
        )
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
      try {
        return Result.succeed(fromCel(value))
      } catch (error) {
        return Result.fail(issue(`the value cannot be converted: ${error instanceof Error ? error.message : typeof error}`, 0))
      }
    }
  }
}

/**
 * CEL as a Troupe expression language.
 *
 * @category constructors
 * @since 0.1.0
 */
export const language: Expression.Language = { name: "cel", compile, compileValue }

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
