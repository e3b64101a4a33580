/**
 * Expression: the service that parses, checks and evaluates condition expressions of data definitions
 * (`condition: "results.build.output.ok && input.deploy"`).
 *
 * Core holds only the interface: expressions are never evaluated with `eval`. The `@troupe/cel` package
 * provides a layer backed by a real CEL implementation. Without one, a definition whose condition is an
 * expression (not a task id) fails to decode with a definition error saying so.
 *
 * The variables an expression sees:
 * - `input`: the run input;
 * - `results`: by task id, `{ status, output }` of every task that finished before this one starts.
 *
 * @since 0.1.0
 */
import { Context, type Result } from "effect"

// -----------------------------------------------------------------------------
// Models
// -----------------------------------------------------------------------------

/**
 * Where an expression is wrong: a message and the 0-based offset in its source.
 *
 * @category models
 * @since 0.1.0
 */
export interface ExpressionIssue {
  readonly message: string
  readonly offset?: number | undefined
}

/**
 * What an expression is evaluated against.
 *
 * @category models
 * @since 0.1.0
 */
export interface Scope {
  readonly input: unknown
  readonly results: Readonly<Record<string, { readonly status: string; readonly output?: unknown }>>
}

/**
 * A checked expression, ready to evaluate.
 *
 * @category models
 * @since 0.1.0
 */
export interface Compiled {
  readonly source: string
  /** Task ids the expression refers to (`results.<id>`): they become order dependencies. */
  readonly references: ReadonlyArray<string>
  /** Evaluates to a boolean, or an issue (a runtime type error, a missing field). */
  readonly evaluate: (scope: Scope) => boolean | ExpressionIssue
}

/**
 * An expression language.
 *
 * @category models
 * @since 0.1.0
 */
export interface Language {
  readonly name: string
  /** Parses and checks `source`; `knownTasks` are the ids `results.<id>` may name. */
  readonly compile: (source: string, knownTasks: ReadonlyArray<string>) => Compiled | ExpressionIssue
  /**
   * Parses and checks an expression that evaluates to any value (a definition's `output_mapping`). A
   * language without it cannot run definitions that map outputs (`Workflow.fromPlan` says so).
   */
  readonly compileValue?: ((source: string, knownTasks: ReadonlyArray<string>) => CompiledValue | ExpressionIssue) | undefined
}

/**
 * A checked expression that evaluates to any value.
 *
 * @category models
 * @since 0.1.0
 */
export interface CompiledValue {
  readonly source: string
  /** Task ids the expression refers to (`results.<id>`). */
  readonly references: ReadonlyArray<string>
  /** The value, or an issue. */
  readonly evaluate: (scope: Scope) => Result.Result<unknown, ExpressionIssue>
}

// -----------------------------------------------------------------------------
// Services
// -----------------------------------------------------------------------------

/**
 * The expression language in use. The default has none: expressions are rejected with a message that
 * says which layer to provide.
 *
 * @category services
 * @since 0.1.0
 */
export const ExpressionLanguage = Context.Reference<Language | undefined>("@troupe/core/ExpressionLanguage", {
  defaultValue: () => undefined
})

// -----------------------------------------------------------------------------
// Guards
// -----------------------------------------------------------------------------

/**
 * @category guards
 * @since 0.1.0
 */
export const isIssue = (u: unknown): u is ExpressionIssue =>
  typeof u === "object" && u !== null && "message" in u && !("evaluate" in u)
