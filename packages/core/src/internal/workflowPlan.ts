/**
 * @internal The runtime representation behind a Workflow value: a persistent (shared-tail) list of task
 * entries, so adding a task is O(1) and branching a half-built workflow copies nothing. The Plan and the
 * implementation table are materialised once per workflow value, on first use.
 */
import type { Effect, Schema } from "effect"
import type * as Breaker from "../Breaker.ts"
import * as Policy from "../Policy.ts"
import type { CachePolicy, Condition, RateLimit, TaskInfo } from "../Task.ts"
import type { Plan, PlanEdge, PlanNode } from "../Plan.ts"

export interface TaskImpl {
  readonly node: PlanNode
  readonly run: (ctx: never, info: TaskInfo) => Effect.Effect<unknown, unknown, unknown>
  /**
   * The raw handler of a task declared inline: the engine may call it directly and, when it returns an
   * already-finished Effect (`Effect.succeed`, `Effect.fail`, `Effect.void`) or a plain value, complete
   * the task without a fiber.
   */
  readonly handler?: ((ctx: never) => unknown) | undefined
  readonly when?: Condition<never, unknown> | undefined
  /** A published value (output mapping): `.dependsOn` and friends skip it to reach the task. */
  readonly derived?: boolean | undefined
  readonly check?: ((node: PlanNode) => Effect.Effect<void, unknown, unknown>) | undefined
  /** A task value marked composite (loops, pipelines): it calls the TaskHook itself, per execution. */
  readonly composite?: true | undefined
  readonly retry?: Policy.Retry | undefined
  /** At most `limit` starts per `interval` (per key), shared by every task using the same value. */
  readonly rateLimit?: RateLimit<never> | undefined
  /** Computes the task's concurrency key from its context. */
  readonly keyOf?: ((ctx: never) => string) | undefined
  readonly cache?: false | CachePolicy<never> | undefined
  /** The declared output schema (`Attributes.output`), read by durable runtimes. */
  readonly output?: Schema.Top | undefined
  readonly breaker?: Breaker.Breaker | undefined
  /** Undoes the task's effect, given its output (saga). */
  readonly compensate?: ((output: never, ctx: never) => Effect.Effect<unknown, unknown, unknown>) | undefined
  /** Produces the output when retries are exhausted. */
  readonly fallback?: ((error: unknown, ctx: never) => Effect.Effect<unknown, unknown, unknown>) | undefined
  /** For sub-workflow tasks: the child and the mapping from the parent's context to its input. */
  readonly child?: {
    readonly workflow: WorkflowInternals
    readonly input: ((ctx: never) => unknown) | undefined
  } | undefined
}

export interface Entry {
  readonly parent: Entry | undefined
  readonly impl: TaskImpl
  readonly size: number
}

export interface WorkflowInternals {
  readonly name: string
  readonly description: string
  readonly inputSchema: Schema.Top | undefined
  readonly metadata: Readonly<Record<string, unknown>>
  readonly maxParallel: number | undefined
  readonly defaultTimeoutMs: number | undefined
  readonly deadlineMs: number | undefined
  readonly resources: Readonly<Record<string, number>> | undefined
  readonly perKeyLimit: number | undefined
  readonly retry: Policy.Retry | undefined
  /** Carried from a data definition (`Workflow.fromPlan`). */
  readonly strategy?: Plan["strategy"]
  readonly continueOnFailure?: boolean | undefined
  readonly id?: string | undefined
  readonly head: Entry | undefined
}

export const InternalsId: unique symbol = Symbol.for("@troupe/core/Workflow/internals") as never

export interface Compiled {
  readonly plan: Plan
  readonly impls: ReadonlyArray<TaskImpl>
  /** The workflow-level default retry policy. */
  readonly retry: Policy.Retry | undefined
}

const compiled = new WeakMap<WorkflowInternals, Compiled>()

export const internals = (workflow: unknown): WorkflowInternals => {
  const i = (workflow as { readonly [InternalsId]?: WorkflowInternals })[InternalsId]
  if (i === undefined) throw new TypeError("Expected a Troupe workflow value")
  return i
}

const freezeNode = (node: PlanNode): PlanNode => Object.freeze(node)

const edgesOf = (nodes: ReadonlyArray<PlanNode>): ReadonlyArray<PlanEdge> => {
  const edges: Array<PlanEdge> = []
  for (const node of nodes) {
    for (const from of node.dependsOn) edges.push(Object.freeze({ from, to: node.id, kind: "data" as const }))
    for (const from of node.after) edges.push(Object.freeze({ from, to: node.id, kind: "order" as const }))
  }
  return Object.freeze(edges)
}

/** Materialises the Plan and the implementation table of a workflow (cached per value). */
export const compile = (w: WorkflowInternals): Compiled => {
  const cached = compiled.get(w)
  if (cached !== undefined) return cached
  const impls: Array<TaskImpl> = new Array(w.head?.size ?? 0)
  for (let e = w.head; e !== undefined; e = e.parent) impls[e.size - 1] = e.impl
  const nodes: Array<PlanNode> = new Array(impls.length)
  for (let i = 0; i < impls.length; i++) {
    const node = impls[i]!.node
    nodes[i] = node.index === i ? node : freezeNode({ ...node, index: i })
  }
  Object.freeze(nodes)
  // The edge list is derived from the nodes; it is built on first read (the engine and validation read the
  // nodes), as an enumerable property, so the Plan still serialises and compares as plain data.
  let edges: ReadonlyArray<PlanEdge> | undefined
  const plan = { id: w.id ?? w.name, name: w.name, description: w.description, nodes } as unknown as Plan
  Object.defineProperty(plan, "edges", { enumerable: true, get: () => edges ??= edgesOf(nodes) })
  Object.assign(plan, {
    maxParallel: w.maxParallel,
    strategy: w.strategy,
    continueOnFailure: w.continueOnFailure ?? false,
    defaultTimeoutMs: w.defaultTimeoutMs,
    deadlineMs: w.deadlineMs,
    resources: w.resources,
    perKeyLimit: w.perKeyLimit,
    defaultRetry: w.retry === undefined ? undefined : Object.freeze(Policy.toData(w.retry)),
    metadata: w.metadata
  })
  Object.freeze(plan)
  const result: Compiled = { plan, impls, retry: w.retry }
  compiled.set(w, result)
  return result
}

export const planOf = (workflow: unknown): Plan => compile(internals(workflow)).plan
