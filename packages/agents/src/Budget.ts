/**
 * Token and money budgets for agent calls.
 *
 * A budget caps what agents may spend: tokens (input plus output) and/or US dollars (priced with a
 * user-supplied `RunMetrics.PriceTable`). Every model call of an agent task is counted against the
 * budgets in force; before each call, a budget that is already spent stops it with a typed
 * {@link BudgetExceeded} naming the budget and the spend. A spent budget therefore means no new agent
 * task starts (each fails at once), and the run fails or continues according to its failure mode; what
 * already completed is kept.
 *
 * - A **run budget** is the {@link Budget} service: provide {@link layer} around a run (each provide builds
 *   a fresh ledger, so one run's spend does not carry over to the next).
 * - A **task budget** is the `budget` option of `AgentTask.make`: it counts that task's calls across its
 *   attempts, per run.
 *
 * A limit of zero, a negative one or one that is not a finite number is an {@link InvalidBudget} error
 * (the layer fails with it; a task with such a budget fails its pre-run check).
 *
 * **Example**
 *
 * ```ts
 * import { Effect } from "effect"
 * import { Engine, Workflow } from "@troupe/core"
 * import { AgentRegistry, AgentTask, Budget } from "@troupe/agents"
 *
 * declare const registry: ReturnType<typeof AgentRegistry.layer>
 * const wf = Workflow.make("docs").task("write", AgentTask.make({ description: "write", requires: ["documentation"] }))
 * const program = Engine.run(wf).pipe(
 *   Effect.provide(Budget.layer({ name: "nightly", tokens: 50_000, usd: 0.5, prices: { "gpt-4o-mini": { inputPerMillion: 0.15, outputPerMillion: 0.6 } } })),
 *   Effect.provide(registry)
 * )
 * ```
 *
 * @since 0.1.0
 */
import * as RunMetrics from "@troupe/core/RunMetrics"
import { Context, Effect, Layer, Predicate, Schema } from "effect"

// =============================================================================
// Models
// =============================================================================

/**
 * The limits of a budget: at least one of them.
 *
 * @category models
 * @since 0.1.0
 */
export interface Limits {
  /** Input plus output tokens. */
  readonly tokens?: number | undefined
  /** US dollars, priced with `prices`. */
  readonly usd?: number | undefined
  /** Prices by model, needed for a `usd` limit (a call of a model without a price counts as free). */
  readonly prices?: RunMetrics.PriceTable | undefined
}

/**
 * What a budget has counted so far.
 *
 * @category models
 * @since 0.1.0
 */
export interface Spend {
  readonly tokens: number
  readonly usd: number
  readonly calls: number
}

/**
 * One model call's usage, as counted by a budget.
 *
 * @category models
 * @since 0.1.0
 */
export interface Call {
  readonly model?: string | undefined
  readonly inputTokens: number
  readonly outputTokens: number
  readonly cachedTokens?: number | undefined
}

/**
 * A budget's ledger.
 *
 * @category models
 * @since 0.1.0
 */
export interface Ledger {
  readonly name: string
  readonly limits: Limits
  readonly spent: () => Spend
  /** Counts a model call. */
  readonly record: (call: Call) => void
  /** Fails with `BudgetExceeded` when the budget is spent (the next call would exceed it). */
  readonly check: (taskId: string) => Effect.Effect<void, BudgetExceeded>
}

// =============================================================================
// Errors
// =============================================================================

const LimitsSchema = Schema.Struct({ tokens: Schema.optional(Schema.Number), usd: Schema.optional(Schema.Number) })

/**
 * A budget is spent: the agent call for `taskId` was not made. Not retryable.
 *
 * @category errors
 * @since 0.1.0
 */
export class BudgetExceeded extends Schema.TaggedError<BudgetExceeded>()("BudgetExceeded", {
  /** The budget's name. */
  budget: Schema.String,
  /** The task whose agent call was refused. */
  taskId: Schema.String,
  limit: LimitsSchema,
  spent: Schema.Struct({ tokens: Schema.Number, usd: Schema.Number, calls: Schema.Number })
}) {
  /** Always `false`: retrying cannot make a spent budget whole. */
  get retryable(): boolean {
    return false
  }
  /** Always `false`. */
  get isRetryable(): boolean {
    return false
  }
  override get message(): string {
    const limits = [
      this.limit.tokens !== undefined ? `${this.limit.tokens} tokens` : undefined,
      this.limit.usd !== undefined ? `$${this.limit.usd}` : undefined
    ].filter(Predicate.isNotUndefined).join(" / ")
    return `Budget "${this.budget}" (${limits}) is spent: ${this.spent.tokens} tokens, $${
      roundUsd(this.spent.usd)
    } in ${this.spent.calls} calls; task "${this.taskId}" may not call its agent`
  }
}

/**
 * A budget with a limit that is zero, negative or not a finite number, or with no limit at all.
 *
 * @category errors
 * @since 0.1.0
 */
export class InvalidBudget extends Schema.TaggedError<InvalidBudget>()("InvalidBudget", {
  budget: Schema.String,
  /** `tokens`, `usd`, or `limits` when none is given. */
  field: Schema.String,
  value: Schema.Unknown
}) {
  override get message(): string {
    return this.field === "limits"
      ? `Budget "${this.budget}" declares no limit: give tokens and/or usd`
      : `Budget "${this.budget}": ${this.field} must be a positive finite number, got ${String(this.value)}`
  }
}

/**
 * Whether a value is a {@link BudgetExceeded}.
 *
 * @category guards
 * @since 0.1.0
 */
export const isBudgetExceeded = (u: unknown): u is BudgetExceeded => Predicate.isTagged(u, "BudgetExceeded")

const roundUsd = (usd: number): number => Math.round(usd * 1e6) / 1e6

// =============================================================================
// Constructors
// =============================================================================

/**
 * Checks the limits: the budget's {@link InvalidBudget} error, or `undefined` when they are valid.
 *
 * @category constructors
 * @since 0.1.0
 */
export const validate = (name: string, limits: Limits): InvalidBudget | undefined => {
  if (limits.tokens === undefined && limits.usd === undefined) {
    return new InvalidBudget({ budget: name, field: "limits", value: undefined })
  }
  for (const field of ["tokens", "usd"] as const) {
    const value = limits[field]
    if (value !== undefined && !(typeof value === "number" && Number.isFinite(value) && value > 0)) {
      return new InvalidBudget({ budget: name, field, value })
    }
  }
  return undefined
}

/**
 * A ledger for the limits, unchecked (see {@link make}).
 *
 * @category constructors
 * @since 0.1.0
 */
export const ledger = (name: string, limits: Limits): Ledger => {
  let tokens = 0
  let usd = 0
  let calls = 0
  const spent = (): Spend => ({ tokens, usd: roundUsd(usd), calls })
  return {
    name,
    limits,
    spent,
    record: (call) => {
      calls++
      tokens += Math.max(0, call.inputTokens) + Math.max(0, call.outputTokens)
      if (limits.prices !== undefined) usd += RunMetrics.costOf(call, limits.prices) ?? 0
    },
    check: (taskId) =>
      Effect.suspend(() =>
        (limits.tokens !== undefined && tokens >= limits.tokens) || (limits.usd !== undefined && usd >= limits.usd)
          ? Effect.fail(
            new BudgetExceeded({
              budget: name,
              taskId,
              limit: {
                ...(limits.tokens !== undefined ? { tokens: limits.tokens } : {}),
                ...(limits.usd !== undefined ? { usd: limits.usd } : {})
              },
              spent: spent()
            })
          )
          : Effect.void
      )
  }
}

/**
 * A ledger for the limits; fails with {@link InvalidBudget} for a limit that is not positive and finite.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (options: Limits & { readonly name?: string | undefined }): Effect.Effect<Ledger, InvalidBudget> => {
  const name = options.name ?? "run"
  const invalid = validate(name, options)
  return invalid === undefined ? Effect.sync(() => ledger(name, options)) : Effect.fail(invalid)
}

// =============================================================================
// Services
// =============================================================================

/**
 * The run budget: every agent task's model calls count against it.
 *
 * @category services
 * @since 0.1.0
 */
export class Budget extends Context.Service<Budget, Ledger>()("@troupe/agents/Budget") {}

/**
 * A run budget with a fresh ledger (see {@link make}).
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (options: Limits & { readonly name?: string | undefined }): Layer.Layer<Budget, InvalidBudget> =>
  Layer.effect(Budget, make(options))
