/**
 * Tools of MCP servers for LLM agents, on `effect/ai`'s `McpClient`.
 *
 * An agent can use every tool of a Model Context Protocol server: {@link toolset} lists the server's
 * tools (their JSON Schemas become the tool definitions the model sees) and calls them when the model
 * asks. Connect to the server with {@link stdio} (a subprocess speaking newline-delimited JSON-RPC; needs
 * a `ChildProcessSpawner`, for instance `NodeServices.layer` from `@effect/platform-node`) or {@link http}
 * (Streamable HTTP; needs an `HttpClient`). The connection is a layer: it lives as long as the scope
 * that provides it (one connection can serve many agents and runs).
 *
 * A tool the server reports as failed (`isError`) or a transport failure during a call goes back to the
 * model as an error result. Listing the tools fails the agent's run with {@link McpUnavailable}.
 *
 * To serve workflows as MCP tools to other agents, see `McpServe`.
 *
 * **Example**
 *
 * ```ts
 * import { Layer } from "effect"
 * import { NodeServices } from "@effect/platform-node"
 * import { LlmAgent, Mcp } from "@troupe/agents"
 *
 * const FileServer = Mcp.stdio({ command: "npx", args: ["mcp-server-filesystem", "./docs"] }).pipe(
 *   Layer.provide(NodeServices.layer)
 * )
 * const librarian = LlmAgent.make({ name: "librarian", capabilities: ["research"], tools: Mcp.toolset({ prefix: "fs_" }) })
 * // provide FileServer (and a LanguageModel) to the runs that use the librarian
 * ```
 *
 * @since 0.1.0
 */
import { Effect, type Layer, Schema } from "effect"
import { McpClient, type McpClientError, McpProtocol, type Tool, type Toolkit } from "effect/ai"
import type { HttpClient } from "effect/http"
import { ChildProcess, type ChildProcessSpawner } from "effect/process"

/**
 * The MCP server could not be reached, or its tool list could not be read.
 *
 * @category errors
 * @since 0.1.0
 */
export class McpUnavailable extends Schema.TaggedError<McpUnavailable>()("McpUnavailable", {
  description: Schema.String,
  cause: Schema.optional(Schema.Defect())
}) {
  /** `true`: the server may come back. */
  get retryable(): boolean {
    return true
  }
  override get message(): string {
    return `The MCP server is unavailable: ${this.description}`
  }
}

/**
 * The MCP protocol version the client speaks (the server negotiates).
 *
 * @category models
 * @since 0.1.0
 */
export const protocol = McpProtocol.v2025_11_25

const clientInfo = { name: "troupe", version: "0.1.0" }

/**
 * A connection to an MCP server started as a subprocess (`command` with `args`, in `cwd`, with `env`
 * added to the parent's environment). The subprocess is stopped when the layer's scope closes.
 *
 * @category layers
 * @since 0.1.0
 */
export const stdio = (options: {
  readonly command: string
  readonly args?: ReadonlyArray<string> | undefined
  readonly cwd?: string | undefined
  readonly env?: Readonly<Record<string, string>> | undefined
  readonly timeout?: import("effect").Duration.Input | undefined
}): Layer.Layer<McpClient.McpClient, McpClientError.McpClientError, ChildProcessSpawner.ChildProcessSpawner> =>
  McpClient.layerStdio({
    ...clientInfo,
    ...(options.timeout === undefined ? {} : { timeout: options.timeout }),
    command: ChildProcess.make(options.command, [...(options.args ?? [])], {
      ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
      ...(options.env === undefined ? {} : { env: { ...options.env }, extendEnv: true })
    }),
    protocol
  })

/**
 * A connection to an MCP server over Streamable HTTP at `url` (with extra `headers`, for instance an
 * authorization header).
 *
 * @category layers
 * @since 0.1.0
 */
export const http = (options: {
  readonly url: string | URL
  readonly headers?: Readonly<Record<string, string>> | undefined
  readonly timeout?: import("effect").Duration.Input | undefined
}): Layer.Layer<McpClient.McpClient, McpClientError.McpClientError, HttpClient.HttpClient> =>
  McpClient.layerHttp({
    ...clientInfo,
    ...(options.timeout === undefined ? {} : { timeout: options.timeout }),
    url: options.url,
    ...(options.headers === undefined ? {} : { headers: options.headers }),
    protocol
  })

/**
 * The tools of the connected MCP server, for an `LlmAgent`'s `tools` option. Names get `prefix`
 * (to keep the tools of several servers apart); `include` keeps only the named tools (without prefix).
 * The list is read at each request, so the agent sees the server's current tools.
 *
 * @category constructors
 * @since 0.1.0
 */
export const toolset = (options?: {
  readonly prefix?: string | undefined
  readonly include?: ReadonlyArray<string> | undefined
}): Effect.Effect<Toolkit.WithHandler<Record<string, Tool.Any>>, McpUnavailable, McpClient.McpClient> =>
  Effect.gen(function*() {
    const client = yield* McpClient.McpClient
    const kit = yield* McpClient.toolkit(client, options?.prefix ?? "").pipe(
      Effect.mapError((error) => new McpUnavailable({ description: error.message, cause: error }))
    )
    const include = options?.include
    if (include === undefined) return kit as unknown as Toolkit.WithHandler<Record<string, Tool.Any>>
    const prefix = options?.prefix ?? ""
    const tools: Record<string, Tool.Any> = {}
    for (const [name, tool] of Object.entries(kit.tools)) {
      if (include.includes(name.slice(prefix.length))) tools[name] = tool as Tool.Any
    }
    return { tools, handle: kit.handle } as unknown as Toolkit.WithHandler<Record<string, Tool.Any>>
  })
