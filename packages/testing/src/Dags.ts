/**
 * Dags: random workflow DAGs for property tests.
 *
 * A `Dag` is plain data: nodes in declaration order, each with the indices of its dependencies (always
 * earlier nodes, so every generated graph is acyclic), a priority and a duration. `Dags.arbitrary` generates
 * them with fast-check; `Dags.toWorkflow` turns one into a runnable `Workflow` whose handlers you choose
 * (usually `Dags.sleeping`, which sleeps for the node's duration, on `TestClock` in tests). The reference
 * algorithms here (`criticalPath`, `totalWork`, `descendants`, `sequentialOrder`, ...) are written
 * independently of the engine and of `Plan` analysis, so tests can compare the engine against them.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import * as fc from "fast-check"
 * import { Engine } from "@troupe/core"
 * import { Dags } from "@troupe/testing"
 *
 * const [dag] = fc.sample(Dags.arbitrary({ maxNodes: 20 }), 1)
 * const wf = Dags.toWorkflow(dag!, { handler: Dags.sleeping() })
 * const run = Engine.run(wf) // on TestClock, durationMs === Dags.criticalPath(dag!)
 * ```
 *
 * @since 0.1.0
 */
import { Data, Duration, Effect } from "effect"
import * as fc from "fast-check"
import { type Task, Workflow } from "@troupe/core"

// -----------------------------------------------------------------------------
// Models
// -----------------------------------------------------------------------------

/**
 * One node of a generated DAG.
 *
 * @category models
 * @since 0.1.0
 */
export interface DagNode {
  /** `t0`, `t1`, ... in declaration order. */
  readonly id: string
  /** Declaration order, from 0. */
  readonly index: number
  /** Indices of the node's dependencies: distinct, ascending, all smaller than `index`. */
  readonly deps: ReadonlyArray<number>
  readonly priority: Task.Priority
  /** A whole number of milliseconds. */
  readonly durationMs: number
}

/**
 * A DAG of tasks in declaration order (a topological order by construction).
 *
 * @category models
 * @since 0.1.0
 */
export interface Dag {
  readonly nodes: ReadonlyArray<DagNode>
}

/**
 * Bounds for generated DAGs.
 *
 * @category models
 * @since 0.1.0
 */
export interface ArbitraryOptions {
  /** Default 1. */
  readonly minNodes?: number | undefined
  /** Default 200. */
  readonly maxNodes?: number | undefined
  /** Most dependencies drawn per node (duplicates collapse). Default 4. */
  readonly maxDeps?: number | undefined
  /** Default 1. */
  readonly minDurationMs?: number | undefined
  /** Default 50. */
  readonly maxDurationMs?: number | undefined
  /** Default 1. */
  readonly minPriority?: Task.Priority | undefined
  /** Default 10. */
  readonly maxPriority?: Task.Priority | undefined
}

/**
 * A DAG with a set of tasks that fail when they run.
 *
 * @category models
 * @since 0.1.0
 */
export interface DagWithFailures {
  readonly dag: Dag
  /** Ids of the tasks whose handlers fail. */
  readonly failing: ReadonlySet<string>
}

/**
 * The error a task made to fail by `sleeping({ failing })` fails with.
 *
 * @category errors
 * @since 0.1.0
 */
export class InjectedFailure extends Data.TaggedError("InjectedFailure")<{ readonly taskId: string }> {
  override get message(): string {
    return `injected failure in task "${this.taskId}"`
  }
}

// -----------------------------------------------------------------------------
// Constructors
// -----------------------------------------------------------------------------

/**
 * The id of the node at a declaration index.
 *
 * @category constructors
 * @since 0.1.0
 */
export const idOf = (index: number): string => `t${index}`

/**
 * A DAG from explicit nodes: `[durationMs, deps, priority?]` per node, dependencies given by index.
 * Handy for example-based tests.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (
  nodes: ReadonlyArray<readonly [durationMs: number, deps: ReadonlyArray<number>, priority?: Task.Priority]>
): Dag => ({
  nodes: nodes.map(([durationMs, deps, priority], index) => {
    for (const d of deps) {
      if (!Number.isInteger(d) || d < 0 || d >= index) {
        throw new RangeError(`node ${index}: dependency ${d} must be an earlier node`)
      }
    }
    return {
      id: idOf(index),
      index,
      deps: [...new Set(deps)].sort((a, b) => a - b),
      priority: priority ?? 5,
      durationMs
    }
  })
})

interface RawDep {
  /** Draw from the few nodes just before (makes long chains likely) rather than from all earlier ones. */
  readonly near: boolean
  readonly pick: number
}

interface RawNode {
  readonly deps: ReadonlyArray<RawDep>
  readonly priority: number
  readonly durationMs: number
}

const NEAR_WINDOW = 3

const fromRaw = (raw: ReadonlyArray<RawNode>): Dag => ({
  nodes: raw.map((node, index) => {
    const deps = new Set<number>()
    if (index > 0) {
      for (const dep of node.deps) {
        deps.add(dep.near ? index - 1 - (dep.pick % Math.min(index, NEAR_WINDOW)) : dep.pick % index)
      }
    }
    return {
      id: idOf(index),
      index,
      deps: [...deps].sort((a, b) => a - b),
      priority: node.priority as Task.Priority,
      durationMs: node.durationMs
    }
  })
})

/**
 * Random DAGs: 1 to 200 nodes (by default), each depending on up to `maxDeps` earlier nodes, with
 * priorities 1 to 10 and whole durations of 1 to 50 ms. Dependencies are drawn either from anywhere
 * earlier or from the few nodes just before, so both wide and deep graphs come up. Shrinks towards fewer
 * nodes and fewer edges.
 *
 * @category constructors
 * @since 0.1.0
 */
export const arbitrary = (options: ArbitraryOptions = {}): fc.Arbitrary<Dag> => {
  const rawNode: fc.Arbitrary<RawNode> = fc.record({
    deps: fc.array(fc.record({ near: fc.boolean(), pick: fc.nat() }), { maxLength: options.maxDeps ?? 4 }),
    priority: fc.integer({ min: options.minPriority ?? 1, max: options.maxPriority ?? 10 }),
    durationMs: fc.integer({ min: options.minDurationMs ?? 1, max: options.maxDurationMs ?? 50 })
  })
  return fc
    .array(rawNode, { minLength: options.minNodes ?? 1, maxLength: options.maxNodes ?? 200, size: "max" })
    .map(fromRaw)
}

/**
 * A random set of failing tasks of a DAG: up to `maxSize` ids (default: a fifth of the nodes, at least 1),
 * possibly none unless `minSize` says otherwise.
 *
 * @category constructors
 * @since 0.1.0
 */
export const failures = (
  dag: Dag,
  options: { readonly minSize?: number | undefined; readonly maxSize?: number | undefined } = {}
): fc.Arbitrary<ReadonlySet<string>> => {
  const ids = dag.nodes.map((node) => node.id)
  const maxLength = Math.min(ids.length, options.maxSize ?? Math.max(1, Math.ceil(ids.length / 5)))
  const minLength = Math.min(maxLength, options.minSize ?? 0)
  return fc.subarray(ids, { minLength, maxLength }).map((xs) => new Set(xs))
}

/**
 * Random DAGs with random failing sets.
 *
 * @category constructors
 * @since 0.1.0
 */
export const withFailures = (
  options: ArbitraryOptions & { readonly minFailures?: number | undefined; readonly maxFailures?: number | undefined } =
    {}
): fc.Arbitrary<DagWithFailures> =>
  arbitrary(options).chain((dag) =>
    failures(dag, { minSize: options.minFailures, maxSize: options.maxFailures }).map((failing) => ({
      dag,
      failing
    }))
  )

// -----------------------------------------------------------------------------
// Workflows
// -----------------------------------------------------------------------------

/**
 * A workflow built from a DAG: one task per node, data dependencies as in the DAG, the node's priority.
 *
 * @category models
 * @since 0.1.0
 */
export type DagWorkflow<E, R> = Workflow.Workflow<string, void, Readonly<Record<string, unknown>>, E, R>

/**
 * The untyped view of the builder used to add tasks whose ids are only known at run time.
 * (The typed builder checks ids at compile time; generated ids cannot be.)
 */
interface LooseBuilder {
  readonly task: (
    id: string,
    options: Task.Attributes & { readonly dependsOn: ReadonlyArray<string> },
    handler: () => Effect.Effect<unknown, unknown, unknown>
  ) => LooseBuilder
}

/**
 * Builds a workflow from a DAG. Each task runs `handler(node)` (evaluated anew for every attempt). With
 * `estimate: true`, each task also carries its duration as `estimatedDuration`, so the engine's
 * "longest remaining path" is measured in milliseconds rather than in tasks.
 *
 * @category constructors
 * @since 0.1.0
 */
export const toWorkflow = <E = never, R = never>(
  dag: Dag,
  options: {
    readonly handler: (node: DagNode) => Effect.Effect<unknown, E, R>
    readonly name?: string | undefined
    readonly estimate?: boolean | undefined
    readonly maxParallel?: number | undefined
    /** Extra attributes per node (retry, timeout, ...). */
    readonly attributes?: ((node: DagNode) => Task.Attributes) | undefined
  }
): DagWorkflow<E, R> => {
  const name = options.name ?? "dag"
  let builder = Workflow.make(
    name,
    options.maxParallel === undefined ? undefined : { maxParallel: options.maxParallel }
  ) as unknown as LooseBuilder
  for (const node of dag.nodes) {
    builder = builder.task(
      node.id,
      {
        ...options.attributes?.(node),
        dependsOn: node.deps.map(idOf),
        priority: node.priority,
        ...(options.estimate === true ? { estimatedDuration: Duration.millis(node.durationMs) } : {})
      },
      () => options.handler(node)
    )
  }
  return builder as unknown as DagWorkflow<E, R>
}

/**
 * A handler for `toWorkflow`: sleeps for the node's duration, then succeeds with the node's id, or fails
 * with `InjectedFailure` when the node is in `failing`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const sleeping = (options: { readonly failing?: ReadonlySet<string> | undefined } = {}) =>
(node: DagNode): Effect.Effect<string, InjectedFailure> =>
  Effect.sleep(Duration.millis(node.durationMs)).pipe(
    Effect.andThen(
      options.failing?.has(node.id) === true
        ? Effect.fail(new InjectedFailure({ taskId: node.id }))
        : Effect.succeed(node.id)
    )
  )

// -----------------------------------------------------------------------------
// Reference algorithms
// -----------------------------------------------------------------------------

/**
 * The node with an id.
 *
 * @category reference
 * @since 0.1.0
 */
export const node = (dag: Dag, id: string): DagNode => {
  const index = Number(id.slice(1))
  const found = dag.nodes[index]
  if (found === undefined || found.id !== id) throw new RangeError(`no node "${id}"`)
  return found
}

/**
 * Successor indices per node.
 *
 * @category reference
 * @since 0.1.0
 */
export const successors = (dag: Dag): ReadonlyArray<ReadonlyArray<number>> => {
  const succs: Array<Array<number>> = dag.nodes.map(() => [])
  for (const node of dag.nodes) for (const d of node.deps) succs[d]!.push(node.index)
  return succs
}

/**
 * The sum of all durations: the makespan of a sequential run.
 *
 * @category reference
 * @since 0.1.0
 */
export const totalWork = (dag: Dag): number => dag.nodes.reduce((sum, node) => sum + node.durationMs, 0)

/**
 * Earliest finish time of every node with unlimited workers: its duration plus the latest earliest
 * finish among its dependencies.
 *
 * @category reference
 * @since 0.1.0
 */
export const earliestFinish = (dag: Dag): ReadonlyArray<number> => {
  const finish: Array<number> = []
  for (const node of dag.nodes) {
    let ready = 0
    for (const d of node.deps) ready = Math.max(ready, finish[d]!)
    finish.push(ready + node.durationMs)
  }
  return finish
}

/**
 * The length (in milliseconds) of the longest path: the makespan of a run with unlimited concurrency.
 *
 * @category reference
 * @since 0.1.0
 */
export const criticalPath = (dag: Dag): number => Math.max(0, ...earliestFinish(dag))

/**
 * For each node, the longest path from it to a sink, counting the node itself: in tasks
 * (`weight: "count"`) or in milliseconds (`weight: "duration"`).
 *
 * @category reference
 * @since 0.1.0
 */
export const remainingPath = (dag: Dag, weight: "count" | "duration"): ReadonlyArray<number> => {
  const succs = successors(dag)
  const remaining: Array<number> = new Array(dag.nodes.length).fill(0)
  for (let i = dag.nodes.length - 1; i >= 0; i--) {
    let best = 0
    for (const s of succs[i]!) best = Math.max(best, remaining[s]!)
    remaining[i] = best + (weight === "count" ? 1 : dag.nodes[i]!.durationMs)
  }
  return remaining
}

/**
 * Strict descendants (transitive dependants) of a set of tasks.
 *
 * @category reference
 * @since 0.1.0
 */
export const descendants = (dag: Dag, ids: Iterable<string>): ReadonlySet<string> => {
  const succs = successors(dag)
  const seen = new Set<number>()
  const stack: Array<number> = []
  for (const id of ids) stack.push(node(dag, id).index)
  while (stack.length > 0) {
    const v = stack.pop()!
    for (const s of succs[v]!) {
      if (!seen.has(s)) {
        seen.add(s)
        stack.push(s)
      }
    }
  }
  return new Set([...seen].map(idOf))
}

/**
 * Strict ancestors (transitive dependencies) of a task.
 *
 * @category reference
 * @since 0.1.0
 */
export const ancestors = (dag: Dag, id: string): ReadonlySet<string> => {
  const seen = new Set<number>()
  const stack = [node(dag, id).index]
  while (stack.length > 0) {
    const v = stack.pop()!
    for (const d of dag.nodes[v]!.deps) {
      if (!seen.has(d)) {
        seen.add(d)
        stack.push(d)
      }
    }
  }
  return new Set([...seen].map(idOf))
}

/**
 * The order in which one worker runs the DAG when, at each step, it picks among the ready tasks the one
 * with the highest priority, then the longest remaining path (in tasks or milliseconds), then the earliest
 * declaration. The reference for the engine's dispatch order with `maxParallel: 1`.
 *
 * @category reference
 * @since 0.1.0
 */
export const sequentialOrder = (dag: Dag, weight: "count" | "duration"): ReadonlyArray<string> => {
  const remaining = remainingPath(dag, weight)
  const succs = successors(dag)
  const waiting = dag.nodes.map((node) => node.deps.length)
  const ready = new Set<number>()
  for (const node of dag.nodes) if (node.deps.length === 0) ready.add(node.index)
  const order: Array<string> = []
  while (ready.size > 0) {
    let best: number | undefined
    for (const i of ready) {
      if (best === undefined) {
        best = i
        continue
      }
      const a = dag.nodes[i]!
      const b = dag.nodes[best]!
      const better = a.priority !== b.priority
        ? a.priority > b.priority
        : remaining[i] !== remaining[best]
        ? remaining[i]! > remaining[best]!
        : i < best
      if (better) best = i
    }
    ready.delete(best!)
    order.push(idOf(best!))
    for (const s of succs[best!]!) if (--waiting[s]! === 0) ready.add(s)
  }
  return order
}
