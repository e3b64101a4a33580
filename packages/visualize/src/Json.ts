/**
 * A Plan, and optionally a run of it, as a plain JSON-ready object: the workflow, each task with its
 * level, status and metrics, and the edges. `Document` is a Schema of that object, so the JSON form
 * round-trips: `decode(JSON.parse(toString(doc)))` gives back `doc`.
 *
 * Keys without a value are left out (no `undefined`, no `null`).
 *
 * @since 0.1.0
 */
import type { Plan } from "@troupe/core/Plan"
import type { RunStatus, TaskStatus } from "@troupe/core/RunState"
import { Effect, Schema } from "effect"
import * as View from "./internal/view.ts"
import type { Overlay } from "./Render.ts"
import { VisualizeError } from "./VisualizeError.ts"

// -----------------------------------------------------------------------------
// Models
// -----------------------------------------------------------------------------

/**
 * The workflow a document describes, and the run's outcome when rendered with a run state.
 *
 * @category models
 * @since 0.1.0
 */
export interface WorkflowInfo {
  readonly id: string
  readonly name: string
  readonly description: string
  readonly strategy?: "dag" | "sequential" | "parallel" | "conditional" | "auto"
  readonly status?: RunStatus
  readonly durationMs?: number
}

/**
 * One task.
 *
 * @category models
 * @since 0.1.0
 */
export interface Node {
  readonly id: string
  readonly description: string
  readonly taskType: string
  /** Dependency level, from 0. */
  readonly level: number
  readonly priority: number
  readonly status?: TaskStatus
  readonly durationMs?: number
  readonly retries?: number
  readonly attempts?: number
  /** The agent that ran the task (from metrics). */
  readonly agent?: string
  /** The agent type the task asks for. */
  readonly agentType?: string
  readonly cached?: boolean
  readonly error?: string
  readonly dependsOn: ReadonlyArray<string>
  readonly after: ReadonlyArray<string>
  readonly capabilities: ReadonlyArray<string>
  readonly skills: ReadonlyArray<string>
  readonly tags: ReadonlyArray<string>
}

/**
 * One edge, from a dependency to its dependent.
 *
 * @category models
 * @since 0.1.0
 */
export interface Edge {
  readonly from: string
  readonly to: string
  readonly kind: "data" | "order"
}

/**
 * The JSON rendering of a Plan.
 *
 * @category models
 * @since 0.1.0
 */
export interface Document {
  readonly workflow: WorkflowInfo
  readonly nodes: ReadonlyArray<Node>
  readonly edges: ReadonlyArray<Edge>
}

// -----------------------------------------------------------------------------
// Schemas
// -----------------------------------------------------------------------------

const TaskStatusSchema = Schema.Literals(["pending", "running", "waiting", "completed", "failed", "skipped", "cancelled"])
const Strings = Schema.Array(Schema.String)

/**
 * @category schemas
 * @since 0.1.0
 */
export const WorkflowInfo: Schema.Codec<WorkflowInfo> = Schema.Struct({
  id: Schema.String,
  name: Schema.String,
  description: Schema.String,
  strategy: Schema.optionalKey(Schema.Literals(["dag", "sequential", "parallel", "conditional", "auto"])),
  status: Schema.optionalKey(Schema.Literals(["pending", "running", "completed", "failed", "cancelled"])),
  durationMs: Schema.optionalKey(Schema.Finite)
})

/**
 * @category schemas
 * @since 0.1.0
 */
export const Node: Schema.Codec<Node> = Schema.Struct({
  id: Schema.String,
  description: Schema.String,
  taskType: Schema.String,
  level: Schema.Int,
  priority: Schema.Finite,
  status: Schema.optionalKey(TaskStatusSchema),
  durationMs: Schema.optionalKey(Schema.Finite),
  retries: Schema.optionalKey(Schema.Int),
  attempts: Schema.optionalKey(Schema.Int),
  agent: Schema.optionalKey(Schema.String),
  agentType: Schema.optionalKey(Schema.String),
  cached: Schema.optionalKey(Schema.Boolean),
  error: Schema.optionalKey(Schema.String),
  dependsOn: Strings,
  after: Strings,
  capabilities: Strings,
  skills: Strings,
  tags: Strings
})

/**
 * @category schemas
 * @since 0.1.0
 */
export const Edge: Schema.Codec<Edge> = Schema.Struct({
  from: Schema.String,
  to: Schema.String,
  kind: Schema.Literals(["data", "order"])
})

/**
 * @category schemas
 * @since 0.1.0
 */
export const Document: Schema.Codec<Document> = Schema.Struct({
  workflow: WorkflowInfo,
  nodes: Schema.Array(Node),
  edges: Schema.Array(Edge)
})

// -----------------------------------------------------------------------------
// Rendering
// -----------------------------------------------------------------------------

/**
 * Renders a Plan, with an optional run state and metrics, as a `Document`.
 *
 * @example
 * ```ts
 * import { Json } from "@troupe/visualize"
 * import type { Plan } from "@troupe/core/Plan"
 *
 * declare const plan: Plan
 * const text = Json.toString(Json.render(plan))
 * ```
 *
 * @category rendering
 * @since 0.1.0
 */
export const render = (plan: Plan, options: Overlay = {}): Document => {
  const view = View.make(plan, options)
  return {
    workflow: {
      id: plan.id,
      name: plan.name,
      description: plan.description,
      ...defined("strategy", plan.strategy),
      ...defined("status", view.runStatus),
      ...defined("durationMs", view.runDurationMs)
    },
    nodes: view.nodes.map((node): Node => ({
      id: node.id,
      description: node.node.description,
      taskType: node.node.taskType,
      level: node.level,
      priority: node.node.priority,
      ...defined("status", node.status),
      ...defined("durationMs", node.durationMs),
      ...defined("retries", node.retries),
      ...defined("attempts", node.attempts),
      ...defined("agent", node.agent),
      ...defined("agentType", node.node.agentType),
      ...defined("cached", node.cached),
      ...defined("error", node.error),
      dependsOn: [...node.node.dependsOn],
      after: [...node.node.after],
      capabilities: [...node.node.capabilities],
      skills: [...node.node.skills],
      tags: [...node.node.tags]
    })),
    edges: view.edges.map((edge) => ({ from: edge.from, to: edge.to, kind: edge.kind }))
  }
}

/**
 * A document as JSON text, indented by `indent` spaces (default 2).
 *
 * @category rendering
 * @since 0.1.0
 */
export const toString = (document: Document, indent: number = 2): string => JSON.stringify(document, null, indent)

// -----------------------------------------------------------------------------
// Decoding
// -----------------------------------------------------------------------------

/**
 * Checks that a value (for example `JSON.parse` of `toString`'s output) is a `Document`.
 *
 * @category decoding
 * @since 0.1.0
 */
export const decode = (input: unknown): Effect.Effect<Document, VisualizeError> =>
  Schema.decodeUnknownEffect(Document)(input).pipe(
    Effect.mapError((error) => new VisualizeError({ operation: "decode", message: error.message }))
  )

/**
 * Parses JSON text and decodes it as a `Document`.
 *
 * @category decoding
 * @since 0.1.0
 */
export const fromString = (text: string): Effect.Effect<Document, VisualizeError> =>
  Effect.try({
    try: (): unknown => JSON.parse(text),
    catch: (error) => new VisualizeError({ operation: "decode", message: `Invalid JSON: ${String(error)}` })
  }).pipe(Effect.flatMap(decode))

// -----------------------------------------------------------------------------
// Internal
// -----------------------------------------------------------------------------

const defined = <K extends string, A>(key: K, value: A | undefined): { readonly [P in K]?: A } =>
  (value === undefined ? {} : { [key]: value }) as { readonly [P in K]?: A }
