/**
 * The Plan: a workflow as frozen, plain, JSON-serialisable data (nodes with attributes, and edges).
 *
 * Both front ends produce a Plan: the typed builder (`Plan.fromWorkflow`) and data definitions
 * (`Plan.fromDefinition`, with the seeds' snake_case field names or camelCase). Everything else reads the
 * Plan: the engine, analysis, the renderers (`@troupe/visualize`) and the CLI (`@troupe/cli`).
 *
 * @since 0.1.0
 */
import type { Effect } from "effect"
import * as analysis from "./internal/analysis.ts"
import * as definition from "./internal/definition.ts"
import { planOf } from "./internal/workflowPlan.ts"
import type { DefinitionError } from "./WorkflowError.ts"

// -----------------------------------------------------------------------------
// Models
// -----------------------------------------------------------------------------

/**
 * How a run schedules its tasks. All strategies run on the same event-driven engine:
 * - `dag`: a task starts the moment its last dependency finishes (default);
 * - `sequential`: one task at a time, in dispatch order;
 * - `parallel`: like `dag` without the workflow's concurrency limit (an explicit `maxParallel` still holds);
 * - `conditional`: like `dag`; named for definitions whose tasks carry conditions;
 * - `auto`: the strategy `Plan.recommendStrategy` picks.
 *
 * @category models
 * @since 0.1.0
 */
export type Strategy = "dag" | "sequential" | "parallel" | "conditional" | "auto"

/**
 * A retry policy as plain data (the seeds' `RetryConfig`).
 *
 * @category models
 * @since 0.1.0
 */
export interface RetryPolicyData {
  readonly maxRetries: number
  /** Default `exponential`. */
  readonly backoff?: "exponential" | "fixed" | "linear" | undefined
  /** Jitter fraction when `jitter` is on (default 0.2, i.e. ±20 %). */
  readonly jitterFraction?: number | undefined
  readonly initialDelayMs: number
  readonly backoffMultiplier: number
  readonly maxDelayMs: number
  readonly jitter: boolean
}

/**
 * When a task runs, as data.
 * - `Predicate`: a function given in code (`when`), evaluated at run time;
 * - `TaskCompleted`: run only if the named task completed (the definitions' `condition: "<task id>"`);
 * - `Expression`: a safe expression over the input and earlier results (see `Expression`).
 *
 * @category models
 * @since 0.1.0
 */
export type ConditionData =
  | { readonly _tag: "Predicate" }
  | { readonly _tag: "TaskCompleted"; readonly taskId: string }
  | { readonly _tag: "Expression"; readonly source: string; readonly language: string }

/**
 * A loop of a data-defined task: its handler runs once per item (`ForEach`), or again and again while a
 * condition expression holds (`While`; with `until`, until it holds). `Workflow.fromPlan` applies it (so
 * the `troupe` command does too); a code-built workflow uses `Loop` tasks instead.
 * - `ForEach.items`: the list itself, or where to read it: `input.<path>` or `<task id>.<path>` (the task
 *   is then a data dependency); each run sees the item in its parameters under `itemName`, and `index`;
 * - `While.condition`: an expression of the language in use over `input` and `results`, where
 *   `results.<this task>.output` is the last iteration's output (`null` before the first); each run sees
 *   `iteration` (from 0) and `previous` (the last output) in its parameters.
 *
 * @category models
 * @since 0.1.0
 */
export type LoopData =
  | {
    readonly _tag: "ForEach"
    readonly items: ReadonlyArray<unknown> | string
    readonly itemName: string
    readonly concurrency: number
    readonly maxIterations?: number | undefined
    readonly failureMode: "fail-fast" | "continue"
  }
  | {
    readonly _tag: "While"
    readonly condition: string
    readonly language: string
    readonly maxIterations: number
    /** An until loop (`type: until`): runs until the condition holds (checked before each run). */
    readonly until?: true | undefined
  }

/**
 * One task of a Plan.
 *
 * @category models
 * @since 0.1.0
 */
export interface PlanNode {
  readonly id: string
  /** Declaration order, from 0. */
  readonly index: number
  readonly description: string
  /** `function`, `agent`, `workflow`, or a task type of a data definition. */
  readonly taskType: string
  /** Dependencies whose outputs the task reads. */
  readonly dependsOn: ReadonlyArray<string>
  /** Order-only dependencies: the task starts after them but does not read their output. */
  readonly after: ReadonlyArray<string>
  /** 1 to 10, higher runs first. Default 5. */
  readonly priority: number
  readonly timeoutMs?: number | undefined
  readonly retry?: RetryPolicyData | undefined
  readonly parameters: Readonly<Record<string, unknown>>
  readonly metadata: Readonly<Record<string, unknown>>
  readonly tags: ReadonlyArray<string>
  readonly capabilities: ReadonlyArray<string>
  readonly skills: ReadonlyArray<string>
  readonly agentType?: string | undefined
  readonly expectedOutputType?: string | undefined
  readonly condition?: ConditionData | undefined
  /** Run even when a dependency was skipped (by default the task is skipped too). */
  readonly runIfSkipped: boolean
  /** Expected duration, used by analysis and to order ready tasks. */
  readonly estimatedDurationMs?: number | undefined
  /** Units of named resource pools the task holds while it runs, e.g. `{ gpu: 1 }`. */
  readonly resources?: Readonly<Record<string, number>> | undefined
  /** Tasks with the same key share a per-key concurrency limit (e.g. a tenant or an API host). */
  readonly concurrencyKey?: string | undefined
  /** The key is computed from the task's context at run time (`concurrencyKey` is then absent). */
  readonly concurrencyKeyComputed?: boolean | undefined
  /** Limit for each attempt (the task's `timeoutMs` bounds all attempts together). */
  readonly attemptTimeoutMs?: number | undefined
  /** Name of the circuit breaker guarding the task. */
  readonly breaker?: string | undefined
  /** `false` when the task opted out of caching; else its cache version, if any. */
  readonly cache?: false | { readonly version?: string | number | undefined } | undefined
  /** The task declares a compensation (saga) and/or a fallback. */
  readonly compensable?: boolean | undefined
  readonly hasFallback?: boolean | undefined
  /** The child plan when the task is a sub-workflow. */
  readonly workflow?: Plan | undefined
  /** A loop declared in a data definition. */
  readonly loop?: LoopData | undefined
}

/**
 * An edge from a dependency to the task that depends on it.
 *
 * @category models
 * @since 0.1.0
 */
export interface PlanEdge {
  readonly from: string
  readonly to: string
  /** `data`: the task reads `from`'s output; `order`: it only runs after it. */
  readonly kind: "data" | "order"
}

/**
 * A whole workflow as data.
 *
 * @category models
 * @since 0.1.0
 */
export interface Plan {
  readonly id: string
  readonly name: string
  readonly description: string
  readonly nodes: ReadonlyArray<PlanNode>
  readonly edges: ReadonlyArray<PlanEdge>
  readonly strategy?: Strategy | undefined
  readonly maxParallel?: number | undefined
  readonly continueOnFailure: boolean
  readonly defaultTimeoutMs?: number | undefined
  /** Retry policy of tasks that declare none. */
  readonly defaultRetry?: RetryPolicyData | undefined
  /** Deadline for the whole run. */
  readonly deadlineMs?: number | undefined
  /** Capacities of named resource pools, e.g. `{ gpu: 2, db: 4 }`. */
  readonly resources?: Readonly<Record<string, number>> | undefined
  /** Most tasks with the same concurrency key running at once. */
  readonly perKeyLimit?: number | undefined
  readonly metadata: Readonly<Record<string, unknown>>
}

// -----------------------------------------------------------------------------
// Constructors
// -----------------------------------------------------------------------------

/**
 * The Plan of a workflow built in code. Acyclic by construction.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Plan, Workflow } from "@troupe/core"
 *
 * const wf = Workflow.make("hello").task("greet", () => Effect.succeed("hi"))
 * const plan = Plan.fromWorkflow(wf)
 * console.log(JSON.stringify(plan.nodes.map((n) => n.id))) // ["greet"]
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const fromWorkflow = (workflow: { readonly name: string }): Plan => planOf(workflow)

/**
 * Decodes a data definition (JSON or YAML parsed to a value) into a validated Plan. Accepts the seeds'
 * snake_case field names, camelCase, and the agent-plan names (`steps`, `step_id`, `agent_id`,
 * `dependencies`, `retry_policy` with `max_attempts`, loop configs). Fails with a tagged `DefinitionError`
 * naming the task and field (see {@link diagnose} for every error at once).
 *
 * @category constructors
 * @since 0.1.0
 */
export const fromDefinition: (input: unknown) => Effect.Effect<Plan, DefinitionError> = definition.decode

/**
 * One problem of a data definition: the path into the definition as written (for example
 * `tasks[3].dependencies[1]`), a one-line message (`unknown task 'buidl' (did you mean 'build'?)`) and the
 * tagged error.
 *
 * @category models
 * @since 0.1.0
 */
export type Problem = definition.Problem

/**
 * The outcome of {@link diagnose}: the Plan when the definition has no problem, else every problem.
 *
 * @category models
 * @since 0.1.0
 */
export type Diagnosis = definition.Diagnosis

/**
 * Checks a data definition and reports every problem at once (schema errors, fields given twice,
 * expressions, unknown and self dependencies with a suggestion, duplicate ids, a cycle), each with its path
 * as the user wrote it. `fromDefinition` fails with the first of them. Never throws: deep or hostile input
 * (nesting deeper than {@link maxDepth}, cycles in the value) is a problem too.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Plan } from "@troupe/core"
 *
 * const { problems } = Effect.runSync(Plan.diagnose({
 *   id: "ci",
 *   tasks: [{ id: "build" }, { id: "test", dependencies: ["buidl"] }]
 * }))
 * console.log(problems.map((p) => `${p.path}: ${p.message}`))
 * // ["tasks[1].dependencies[0]: unknown task 'buidl' (did you mean 'build'?)"]
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const diagnose: (input: unknown) => Effect.Effect<Diagnosis> = definition.diagnose

/**
 * The JSON Schema (draft 2020-12) of definition files, generated from the definition Schema, with every
 * accepted spelling of each field; unknown fields are rejected so editors flag typos. `@troupe/cli`
 * publishes it as `schema/troupe-definition.schema.json`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const definitionJsonSchema: () => Record<string, unknown> = definition.jsonSchema

/**
 * How deep a definition may nest (parameters and metadata included).
 *
 * @category constructors
 * @since 0.1.0
 */
export const maxDepth: number = definition.MAX_DEPTH

/**
 * Checks the graph of a Plan: duplicate ids, unknown dependencies, self-dependencies, cycles, emptiness.
 *
 * @category constructors
 * @since 0.1.0
 */
export const validate: (plan: Plan) => Effect.Effect<Plan, DefinitionError> = definition.validate

// -----------------------------------------------------------------------------
// Analysis
// -----------------------------------------------------------------------------

/**
 * @category analysis
 * @since 0.1.0
 */
export type Analysis = analysis.Analysis

/**
 * Task ids in an order where every task comes after its dependencies (ties by declaration order).
 *
 * @category analysis
 * @since 0.1.0
 */
export const topologicalOrder: (plan: Plan) => ReadonlyArray<string> = analysis.topologicalOrder

/**
 * Dependency levels: level 0 has no dependencies; level n depends on something in level n - 1.
 *
 * @category analysis
 * @since 0.1.0
 */
export const levels: (plan: Plan) => ReadonlyArray<ReadonlyArray<string>> = analysis.levels

/**
 * The longest path through the plan, weighted by duration (given, else each node's estimate, else 1).
 *
 * @category analysis
 * @since 0.1.0
 */
export const criticalPath: (
  plan: Plan,
  durations?: Readonly<Record<string, number>>
) => { readonly path: ReadonlyArray<string>; readonly length: number } = analysis.criticalPath

/**
 * The largest number of tasks that can run at the same time (the widest antichain is bounded by this;
 * computed as the widest dependency level).
 *
 * @category analysis
 * @since 0.1.0
 */
export const maxParallelWidth: (plan: Plan) => number = analysis.maxParallelWidth

/**
 * The strategy a run with `strategy: "auto"` uses, and why.
 *
 * @category analysis
 * @since 0.1.0
 */
export const recommendStrategy: (
  plan: Plan
) => { readonly strategy: Exclude<Strategy, "auto">; readonly reason: string } = analysis.recommendStrategy

/**
 * All of the above at once.
 *
 * @category analysis
 * @since 0.1.0
 */
export const analyze: (plan: Plan, durations?: Readonly<Record<string, number>>) => Analysis = analysis.analyze
