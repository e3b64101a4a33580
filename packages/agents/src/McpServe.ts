/**
 * Serving Troupe workflows as MCP tools, on `effect/ai`'s `McpServer`, so that other agents (Claude
 * Desktop, an IDE, another Troupe agent through `Mcp`) can run them.
 *
 * Each served workflow is one MCP tool: its `parameters` Schema (a Schema of the workflow's input, with
 * an object at the root) is the tool's input schema; a call runs the workflow with the decoded
 * arguments and answers with the run's outputs (or `select` of the result) as JSON. A run that fails
 * answers with an error result (`isError`) naming the failed tasks; the server keeps serving.
 *
 * **API** (what the `troupe mcp` command calls):
 *
 * - {@link serve}`(workflow, { name, description?, parameters, select? })`: describes one served
 *   workflow ({@link Served}).
 * - {@link layer}`({ name, version, workflows, instructions? })`: registers the workflows with an
 *   `McpServer` of any transport (a `Layer` that needs `McpServer` and the workflows' services).
 * - {@link layerStdio}`(options)`: the MCP server over standard input and output (needs `Stdio`, for
 *   instance from `NodeServices.layer` of `@effect/platform-node`, and the workflows' services).
 * - {@link runStdio}`(options)`: an Effect that serves until stdin closes or it is interrupted; the whole
 *   program of a `troupe mcp` process:
 *
 * ```ts
 * import { Effect } from "effect"
 * import { NodeRuntime, NodeServices } from "@effect/platform-node"
 * import { Schema } from "effect"
 * import { McpServe } from "@troupe/agents"
 * import { release } from "./workflows.ts"
 *
 * McpServe.runStdio({
 *   name: "troupe",
 *   version: "0.1.0",
 *   workflows: [McpServe.serve(release, { name: "release", parameters: Schema.Struct({ version: Schema.String }) })]
 * }).pipe(Effect.provide(NodeServices.layer), NodeRuntime.runMain)
 * ```
 *
 * Nothing but the protocol may be written to stdout while serving: log to stderr.
 *
 * @since 0.1.0
 */
import * as Engine from "@troupe/core/Engine"
import type * as Workflow from "@troupe/core/Workflow"
import { Effect, Layer, Schema } from "effect"
import { McpProtocol, McpServer, Tool, Toolkit } from "effect/ai"
import type { Stdio } from "effect/Stdio"

// =============================================================================
// Models
// =============================================================================

/**
 * A workflow to serve as an MCP tool (see {@link serve}).
 *
 * @category models
 * @since 0.1.0
 */
export interface Served<R = never> {
  readonly name: string
  readonly description: string
  readonly parameters: Schema.Top
  /** Runs the workflow with the decoded arguments; the answer is JSON. */
  readonly run: (input: unknown) => Effect.Effect<unknown, { readonly message: string }, R>
}

const ToolFailure = Schema.Struct({ error: Schema.String, failedTasks: Schema.optional(Schema.Array(Schema.String)) })

// =============================================================================
// Constructors
// =============================================================================

/**
 * Describes a workflow served as the MCP tool `name`. `parameters` is a Schema of the workflow's input
 * (an object at the root: MCP tool inputs are objects); `select` picks the answer from the run's result
 * (default: its outputs).
 *
 * @category constructors
 * @since 0.1.0
 */
export const serve = <W extends Workflow.Any>(
  workflow: W,
  options: {
    readonly name: string
    readonly description?: string | undefined
    readonly parameters: Schema.Codec<Workflow.Input<W>, unknown>
    readonly select?: ((result: Engine.RunResult<Workflow.Outputs<W>>) => unknown) | undefined
  }
): Served<Workflow.Services<W>> => {
  if (!/^[a-zA-Z0-9_-]{1,64}$/.test(options.name)) {
    throw new RangeError(`McpServe.serve: the tool name "${options.name}" must match [a-zA-Z0-9_-]{1,64}`)
  }
  const name = (workflow as unknown as { readonly name?: unknown }).name
  return {
    name: options.name,
    description: options.description ?? `Runs the Troupe workflow "${typeof name === "string" ? name : options.name}"`,
    parameters: options.parameters,
    run: (input) =>
      (Engine.run as (w: Workflow.Any, input: unknown) => Effect.Effect<
        Engine.RunResult<unknown>,
        { readonly message: string },
        Workflow.Services<W>
      >)(workflow, input).pipe(
        Effect.map((result) => options.select === undefined ? result.outputs : options.select(result as never))
      )
  }
}

/**
 * Registers the workflows with the `McpServer` in context: one tool each. Tool names must be unique
 * (a `RangeError` otherwise).
 *
 * @category layers
 * @since 0.1.0
 */
export const register = <R>(
  workflows: ReadonlyArray<Served<R>>
): Layer.Layer<never, never, McpServer.McpServer | R> => {
  const names = new Set<string>()
  for (const served of workflows) {
    if (names.has(served.name)) throw new RangeError(`McpServe: two workflows are served as "${served.name}"`)
    names.add(served.name)
  }
  const tools = workflows.map((served) =>
    Tool.make(served.name, {
      description: served.description,
      parameters: served.parameters,
      success: Schema.Unknown,
      failure: ToolFailure,
      failureMode: "return"
    })
  )
  const toolkit = Toolkit.make(...tools) as unknown as Toolkit.Toolkit<Record<string, Tool.Any>>
  const handlers: Record<string, (params: unknown) => Effect.Effect<unknown, typeof ToolFailure.Type, R>> = {}
  for (const served of workflows) {
    handlers[served.name] = (params) =>
      served.run(params).pipe(
        Effect.mapError((error) => {
          const failures = (error as { readonly failures?: ReadonlyArray<{ readonly taskId: string }> }).failures
          return {
            error: error.message,
            ...(Array.isArray(failures) ? { failedTasks: failures.map((f) => f.taskId) } : {})
          }
        })
      )
  }
  return McpServer.toolkit(toolkit).pipe(
    Layer.provide(toolkit.toLayer(handlers as never))
  ) as unknown as Layer.Layer<never, never, McpServer.McpServer | R>
}

/**
 * Options of {@link layerStdio} and {@link runStdio}.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options<R> {
  /** The server's name, shown to clients. */
  readonly name: string
  readonly version: string
  /** Told to the client's model: when to use these tools. */
  readonly instructions?: string | undefined
  readonly workflows: ReadonlyArray<Served<R>>
}

/**
 * The workflows served over standard input and output (MCP protocol 2025-11-25, the one current
 * clients speak).
 *
 * @category layers
 * @since 0.1.0
 */
export const layerStdio = <R>(options: Options<R>): Layer.Layer<McpServer.McpServer, never, Stdio | R> =>
  McpServer.layerStdio({
    name: options.name,
    version: options.version,
    ...(options.instructions === undefined ? {} : { instructions: options.instructions }),
    protocols: [McpProtocol.v2025_11_25],
    registrations: register(options.workflows)
  }).pipe(Layer.orDie) as unknown as Layer.Layer<McpServer.McpServer, never, Stdio | R>

/**
 * Serves the workflows over standard input and output until the client closes stdin or the fiber is
 * interrupted.
 *
 * @category running
 * @since 0.1.0
 */
export const runStdio = <R>(options: Options<R>): Effect.Effect<never, never, Stdio | R> =>
  Layer.launch(layerStdio(options))
