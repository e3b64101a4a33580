/**
 * MCP both ways, with real processes over stdio: an agent uses the tools of the reference MCP file-system
 * server (`@modelcontextprotocol/server-filesystem`, not written here), and workflows served by
 * `McpServe` are called through the MCP client.
 */
import { NodeServices } from "@effect/platform-node"
import { McpServer as SdkServer } from "@modelcontextprotocol/sdk/server/mcp.js"
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import * as z from "zod"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"
import { FetchHttpClient } from "effect/http"
import * as fs from "node:fs"
import { createRequire } from "node:module"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import type * as Agent from "../src/Agent.ts"
import * as LlmAgent from "../src/LlmAgent.ts"
import * as Mcp from "../src/Mcp.ts"
import * as OpenAiCompatible from "../src/OpenAiCompatible.ts"
import * as Tools from "../src/Tools.ts"
import { chatServer, completion } from "./fixtures/chatServer.ts"

const require = createRequire(import.meta.url)
const fileServer = path.join(
  path.dirname(require.resolve("@modelcontextprotocol/server-filesystem/package.json")),
  "dist/index.js"
)
const serveFixture = fileURLToPath(new URL("./fixtures/mcpServe.ts", import.meta.url))

const request = (description: string): Agent.AgentRequest => ({
  taskId: "t",
  description,
  parameters: {},
  dependencies: {},
  skills: [],
  attempt: 1
})

describe("Mcp: an agent uses the tools of an MCP server", () => {
  it.live("over stdio, against the reference file-system server", () =>
    Effect.gen(function*() {
      const root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "troupe-mcp-")))
      fs.writeFileSync(path.join(root, "notes.txt"), "MCP works")
      const kit = yield* Mcp.toolset({ prefix: "fs_" })
      expect(Object.keys(kit.tools)).toEqual(expect.arrayContaining(["fs_read_text_file", "fs_list_directory", "fs_write_file"]))

      const model = yield* chatServer
      model.script(
        {
          json: completion(null, {
            toolCalls: [
              { id: "r", name: "fs_read_text_file", arguments: JSON.stringify({ path: path.join(root, "notes.txt") }) },
              { id: "x", name: "fs_read_text_file", arguments: JSON.stringify({ path: "/etc/passwd" }) }
            ]
          })
        },
        { json: completion("The notes say: MCP works") }
      )
      const librarian = LlmAgent.make({
        name: "librarian",
        capabilities: ["research"],
        tools: Mcp.toolset({ prefix: "fs_", include: ["read_text_file", "list_directory"] }),
        model: OpenAiCompatible.layer({ model: "m", baseUrl: model.baseUrl, apiKey: Redacted.make("k") }).pipe(
          Layer.provide(FetchHttpClient.layer)
        )
      })
      const response = yield* librarian.run(request("What do the notes say?"))
      expect(response.output).toBe("The notes say: MCP works")
      const first = model.requests[0]!.body
      expect(first.tools.map((t: any) => t.function.name).sort()).toEqual(["fs_list_directory", "fs_read_text_file"])
      expect(first.tools.find((t: any) => t.function.name === "fs_read_text_file").function.parameters.properties.path)
        .toBeDefined()
      const [read, denied] = model.requests[1]!.body.messages.slice(-2)
      expect(read).toEqual({ role: "tool", tool_call_id: "r", content: "MCP works" })
      // the server refuses a path outside its root: an error result for the model, not a crash
      expect(JSON.parse(denied.content).error.message).toContain("Access denied")
    }).pipe(
      Effect.provide(
        Mcp.stdio({ command: process.execPath, args: [fileServer, fs.realpathSync(os.tmpdir())] }).pipe(
          Layer.provide(NodeServices.layer)
        )
      ),
      Effect.scoped
    ), 30_000)
})

/**
 * An MCP server over Streamable HTTP on 127.0.0.1, built with the official TypeScript SDK (stateless: a
 * server and transport per request).
 */
const sdkHttpServer = Effect.acquireRelease(
  Effect.callback<{ readonly url: string; readonly close: () => void }>((resume) => {
    const http = createServer((req, res) => {
      const chunks: Array<Buffer> = []
      req.on("data", (chunk: Buffer) => chunks.push(chunk))
      req.on("end", () => {
        const body = chunks.length > 0 ? JSON.parse(Buffer.concat(chunks).toString("utf8")) : undefined
        const server = new SdkServer({ name: "sdk-calculator", version: "1.0.0" })
        server.registerTool(
          "add",
          { description: "Adds two numbers", inputSchema: { a: z.number(), b: z.number() } },
          async ({ a, b }) => ({ content: [{ type: "text", text: String(a + b) }] })
        )
        server.registerTool(
          "fail",
          { description: "Always fails", inputSchema: {} },
          async () => ({ isError: true, content: [{ type: "text", text: "it failed on purpose" }] })
        )
        // stateless: no session id generator
        const transport = new StreamableHTTPServerTransport({})
        res.on("close", () => {
          void transport.close()
          void server.close()
        })
        server.connect(transport).then(() => transport.handleRequest(req, res, body))
      })
    })
    http.listen(0, "127.0.0.1", () => {
      const { port } = http.address() as AddressInfo
      resume(Effect.succeed({
        url: `http://127.0.0.1:${port}/mcp`,
        close: () => {
          http.closeAllConnections()
          http.close()
        }
      }))
    })
  }),
  (server) => Effect.sync(server.close)
)

describe("Mcp over Streamable HTTP", () => {
  it.live("an agent uses the tools of an MCP server built with the official SDK", () =>
    Effect.gen(function*() {
      const server = yield* sdkHttpServer
      const result = yield* Effect.gen(function*() {
        const kit = yield* Mcp.toolset({ prefix: "calc_" })
        expect(Object.keys(kit.tools).sort()).toEqual(["calc_add", "calc_fail"])
        const model = yield* chatServer
        model.script(
          {
            json: completion(null, {
              toolCalls: [
                { id: "a", name: "calc_add", arguments: "{\"a\":2,\"b\":40}" },
                { id: "f", name: "calc_fail", arguments: "{}" }
              ]
            })
          },
          { json: completion("42") }
        )
        const agent = LlmAgent.make({
          name: "calc",
          capabilities: ["research"],
          tools: Mcp.toolset({ prefix: "calc_" }),
          model: OpenAiCompatible.layer({ model: "m", baseUrl: model.baseUrl }).pipe(Layer.provide(FetchHttpClient.layer))
        })
        const response = yield* agent.run(request("2 + 40?"))
        const [added, failed] = model.requests[1]!.body.messages.slice(-2)
        return { response, added, failed }
      }).pipe(Effect.provide(Mcp.http({ url: server.url }).pipe(Layer.provide(FetchHttpClient.layer))))
      expect(result.response.output).toBe("42")
      expect(result.added).toEqual({ role: "tool", tool_call_id: "a", content: "42" })
      expect(JSON.parse(result.failed.content).error.message).toContain("it failed on purpose")
    }).pipe(Effect.scoped), 30_000)
})

describe("McpServe: workflows served as MCP tools over stdio", () => {
  it.live("the MCP client lists them with their input schemas and runs them", () =>
    Effect.gen(function*() {
      const kit = yield* Mcp.toolset()
      expect(Object.keys(kit.tools).sort()).toEqual(["arithmetic", "divide"])
      const arithmetic = kit.tools["arithmetic"]!
      expect(Tools.run).toBeDefined()
      expect((arithmetic as any).description).toBe("Sum, then product")
      const sum = yield* Tools.run(kit, { id: "1", name: "arithmetic", params: { a: 2, b: 3 } })
      expect(sum.isFailure).toBe(false)
      expect(JSON.parse(sum.result as string)).toEqual({ sum: 5, product: 15 })
      const quotient = yield* Tools.run(kit, { id: "2", name: "divide", params: { n: 9, d: 3 } })
      expect(JSON.parse(quotient.result as string)).toBe(3)
      // a failing run is an error result; the server keeps serving
      const byZero = yield* Tools.run(kit, { id: "3", name: "divide", params: { n: 1, d: 0 } })
      expect(byZero.isFailure).toBe(true)
      expect(byZero.message).toContain("quotient")
      // arguments that fail the workflow's input schema are refused by the server
      const bad = yield* Tools.run(kit, { id: "4", name: "arithmetic", params: { a: "two" } })
      expect(bad.isFailure).toBe(true)
      const again = yield* Tools.run(kit, { id: "5", name: "arithmetic", params: { a: 1, b: 1 } })
      expect(JSON.parse(again.result as string)).toEqual({ sum: 2, product: 2 })
    }).pipe(
      Effect.provide(
        Mcp.stdio({ command: process.execPath, args: ["--conditions=source", serveFixture] }).pipe(
          Layer.provide(NodeServices.layer)
        )
      ),
      Effect.scoped
    ), 30_000)
})
