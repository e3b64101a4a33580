/**
 * Static checks of a parsed CEL expression: the names it uses, the task ids it reads under `results`,
 * and the functions it calls. Everything here works on the parsed AST (macros already expanded), so a
 * problem is found when a definition is decoded, not when the task is about to run.
 *
 * @internal
 */
import type { CelEnv, parse } from "@bufbuild/cel"
import type { Expression } from "@troupe/core"

/** @internal */
export type Parsed = ReturnType<typeof parse>
/** @internal */
export type Expr = Parsed["expr"]

/** What a checked expression reads. */
export interface Usage {
  /** Task ids under `results`, in order of first use. */
  readonly references: ReadonlyArray<string>
  /** Whether `input` is used. */
  readonly usesInput: boolean
}

/** The operators the evaluator handles itself (they are not functions of the environment). */
const builtinOperators: ReadonlySet<string> = new Set([
  "_&&_",
  "_||_",
  "_?_:_",
  "_[_]",
  "_[?_]",
  "_?._",
  "@not_strictly_false",
  "__not_strictly_false__"
])

/** Type names an expression may use as values, e.g. `type(x) == int`. */
const typeNames: ReadonlySet<string> = new Set([
  "bool",
  "bytes",
  "double",
  "dyn",
  "int",
  "list",
  "map",
  "null_type",
  "string",
  "type",
  "uint"
])

class Problem {
  readonly issue: Expression.ExpressionIssue
  constructor(issue: Expression.ExpressionIssue) {
    this.issue = issue
  }
}

/** The dotted name of `a.b.c` (identifiers and selects only), or undefined. */
const qualifiedName = (expr: Expr | undefined): string | undefined => {
  if (expr === undefined) return undefined
  const kind = expr.exprKind
  if (kind.case === "identExpr") return kind.value.name
  if (kind.case === "selectExpr" && !kind.value.testOnly) {
    const operand = qualifiedName(kind.value.operand)
    return operand === undefined ? undefined : `${operand}.${kind.value.field}`
  }
  return undefined
}

const quote = (s: string): string => JSON.stringify(s)

/**
 * Checks `parsed` against the known task ids and the environment's functions. Returns what it reads, or
 * the first issue with its 0-based offset in `source`.
 *
 * @internal
 */
export const check = (
  source: string,
  parsed: Parsed,
  knownTasks: ReadonlyArray<string>,
  env: CelEnv
): Usage | Expression.ExpressionIssue => {
  const positions = parsed.sourceInfo?.positions ?? {}
  const offsetOf = (expr: Expr): number | undefined => positions[String(expr.id)]
  /** Where an expression starts: the smallest position in its subtree (a select's own is its dot). */
  const startOf = (expr: Expr): number | undefined => {
    let start = offsetOf(expr)
    const visit = (e: Expr | undefined) => {
      if (e === undefined) return
      const at = offsetOf(e)
      if (at !== undefined && (start === undefined || at < start)) start = at
      const kind = e.exprKind
      if (kind.case === "selectExpr") visit(kind.value.operand)
      else if (kind.case === "callExpr") {
        visit(kind.value.target)
        kind.value.args.forEach(visit)
      } else if (kind.case === "listExpr") kind.value.elements.forEach(visit)
    }
    visit(expr)
    return start
  }
  const known = new Set(knownTasks)
  const references: Array<string> = []
  let usesInput = false

  const fail = (message: string, offset: number | undefined): never => {
    throw new Problem(offset === undefined ? { message } : { message, offset })
  }

  const reference = (taskId: string, offset: number | undefined, written: string) => {
    if (!known.has(taskId)) {
      const list = [...known].sort().map(quote).join(", ")
      fail(`unknown task ${quote(taskId)} in ${written}; known tasks: [${list}]`, offset)
    }
    if (!references.includes(taskId)) references.push(taskId)
  }

  const isResults = (expr: Expr | undefined, bound: ReadonlySet<string>): boolean =>
    expr !== undefined && expr.exprKind.case === "identExpr" && expr.exprKind.value.name === "results" &&
    !bound.has("results")

  const walk = (expr: Expr | undefined, bound: ReadonlySet<string>): void => {
    if (expr === undefined) return
    const kind = expr.exprKind
    switch (kind.case) {
      case "constExpr":
      case undefined:
        return
      case "identExpr": {
        const name = kind.value.name
        if (bound.has(name) || typeNames.has(name)) return
        if (name === "input") {
          usesInput = true
          return
        }
        if (name === "results") {
          return fail(`"results" must be followed by a task id: results.<id> or results["<id>"]`, offsetOf(expr))
        }
        return fail(`unknown name ${quote(name)}; expressions see "input" and "results"`, offsetOf(expr))
      }
      case "selectExpr": {
        const select = kind.value
        if (isResults(select.operand, bound)) {
          // The select's position is its dot: the id starts after it (and any spaces).
          const dot = offsetOf(expr)
          const at = dot === undefined ? undefined : source.indexOf(select.field, dot)
          return reference(select.field, at === -1 ? dot : at, `results.${select.field}`)
        }
        return walk(select.operand, bound)
      }
      case "callExpr": {
        const call = kind.value
        const qualified = qualifiedName(call.target)
        if (qualified !== undefined && env.funcs.find(`${qualified}.${call.function}`) !== undefined) {
          for (const arg of call.args) walk(arg, bound)
          return
        }
        if (!builtinOperators.has(call.function) && env.funcs.find(call.function) === undefined) {
          return fail(`unknown function ${quote(call.function)}`, offsetOf(expr))
        }
        const indexed = call.function === "_[_]" || call.function === "_[?_]" || call.function === "_?._"
        if (indexed && isResults(call.args[0], bound)) {
          const key = call.args[1]
          if (key?.exprKind.case === "constExpr" && key.exprKind.value.constantKind.case === "stringValue") {
            const taskId = key.exprKind.value.constantKind.value
            return reference(taskId, offsetOf(key), `results[${quote(taskId)}]`)
          }
          return fail(`"results" must be indexed by a task id written as a string literal`, startOf(key ?? expr))
        }
        walk(call.target, bound)
        for (const arg of call.args) walk(arg, bound)
        return
      }
      case "listExpr":
        for (const element of kind.value.elements) walk(element, bound)
        return
      case "structExpr":
        for (const entry of kind.value.entries) {
          if (entry.keyKind.case === "mapKey") walk(entry.keyKind.value, bound)
          walk(entry.value, bound)
        }
        return
      case "comprehensionExpr": {
        const c = kind.value
        walk(c.iterRange, bound)
        walk(c.accuInit, bound)
        const inner = new Set(bound)
        for (const name of [c.iterVar, c.iterVar2, c.accuVar]) if (name !== "") inner.add(name)
        walk(c.loopCondition, inner)
        walk(c.loopStep, inner)
        const afterLoop = new Set(bound)
        if (c.accuVar !== "") afterLoop.add(c.accuVar)
        walk(c.result, afterLoop)
        return
      }
    }
  }

  try {
    walk(parsed.expr, new Set())
  } catch (e) {
    if (e instanceof Problem) return e.issue
    throw e
  }
  return { references, usesInput }
}
