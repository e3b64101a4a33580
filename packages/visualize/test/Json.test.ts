import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Json from "../src/Json.ts"
import { awkward, webApp, webAppMetrics, webAppState } from "./fixtures.ts"

describe("Json", () => {
  it("renders the web-app plan with a run state and metrics", () => {
    const doc = Json.render(webApp, { state: webAppState, metrics: webAppMetrics })
    expect(doc.workflow).toEqual({
      id: "web-app",
      name: "web-app",
      description: webApp.description,
      strategy: "dag",
      status: "running"
    })
    expect(doc.nodes.map((node) => [node.id, node.level, node.status])).toEqual([
      ["setup_project", 0, "completed"],
      ["design_database", 1, "completed"],
      ["design_api", 1, "completed"],
      ["setup_ci", 1, "completed"],
      ["implement_backend", 2, "failed"],
      ["implement_frontend", 2, "running"],
      ["write_tests", 3, "skipped"],
      ["write_docs", 3, "cancelled"],
      ["deploy", 4, "skipped"],
      [webApp.nodes[9]!.id, 5, "pending"]
    ])
    expect(doc.edges).toHaveLength(webApp.edges.length)
    expect(Json.toString(doc)).toMatchSnapshot()
    expect(JSON.stringify(doc.nodes[4], null, 2)).toMatchInlineSnapshot(`
      "{
        "id": "implement_backend",
        "description": "Implement the backend services, repositories and route handlers against the API design",
        "taskType": "agent",
        "level": 2,
        "priority": 7,
        "status": "failed",
        "durationMs": 95000,
        "retries": 2,
        "attempts": 3,
        "agent": "backend-2",
        "agentType": "backend",
        "error": "TypeError: Cannot read properties of undefined (reading 'schema') in src/routes/projects.ts:42",
        "dependsOn": [
          "design_database",
          "design_api"
        ],
        "after": [],
        "capabilities": [],
        "skills": [],
        "tags": []
      }"
    `)
  })

  it("leaves out keys without a value", () => {
    const doc = Json.render(webApp)
    expect(Object.keys(doc.nodes[0]!)).toEqual([
      "id",
      "description",
      "taskType",
      "level",
      "priority",
      "agentType",
      "dependsOn",
      "after",
      "capabilities",
      "skills",
      "tags"
    ])
    expect(JSON.stringify(doc)).not.toContain("null")
  })

  it.effect("round-trips: decode(JSON.parse(toString(doc))) equals doc", () =>
    Effect.gen(function*() {
      for (
        const doc of [
          Json.render(webApp, { state: webAppState, metrics: webAppMetrics }),
          Json.render(webApp),
          Json.render(awkward, { state: { tasks: [] } })
        ]
      ) {
        const decoded = yield* Json.decode(JSON.parse(Json.toString(doc)))
        expect(decoded).toStrictEqual(doc)
        expect(yield* Json.fromString(Json.toString(doc, 0))).toStrictEqual(doc)
      }
    }))

  it.effect("rejects documents that are not renderings, with a typed error", () =>
    Effect.gen(function*() {
      const doc = JSON.parse(Json.toString(Json.render(webApp, { state: webAppState })))
      doc.nodes[1].status = "exploded"
      const error = yield* Effect.flip(Json.decode(doc))
      expect(error._tag).toBe("VisualizeError")
      expect(error.operation).toBe("decode")
      expect(error.message).toContain("nodes")
      const parseError = yield* Effect.flip(Json.fromString("{ not json"))
      expect(parseError.message).toMatch(/^Invalid JSON/)
    }))
})
