import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Dot from "../src/Dot.ts"
import { VisualizeError } from "../src/VisualizeError.ts"
import { awkward, planOf, webApp, webAppMetrics, webAppState } from "./fixtures.ts"

const xml = (text: string) =>
  text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;")

/** Graphviz writes `-` in titles as `&#45;`. */
const svgTitle = (id: string) => `<title>${xml(id).replace(/-/g, "&#45;")}</title>`

describe("Dot", () => {
  it("renders the web-app plan with a run state and metrics", () => {
    expect(Dot.render(webApp, { state: webAppState, metrics: webAppMetrics })).toMatchInlineSnapshot(`
      "digraph "web-app" {
        graph [rankdir=TB, label="web-app", labelloc="t", fontname="Helvetica"];
        node [shape="box", style="rounded,filled", fontname="Helvetica", fillcolor="#ffffff", color="#495057", fontcolor="#212529"];
        edge [color="#495057"];
        "setup_project" [label="setup_project\\n✓ completed · 1.2s · @claude-code", tooltip="Create the repository, the package layout, linting, formatting and the base configuration", fillcolor="#d4edda", color="#28a745", fontcolor="#155724"];
        "design_database" [label="design_database\\n✓ completed · 3.4s · 1 retry", tooltip="Design the PostgreSQL schema: users, sessions, projects, tasks and audit tables with indexes", fillcolor="#d4edda", color="#28a745", fontcolor="#155724"];
        "design_api" [label="design_api\\n✓ completed · 2.8s · @architect-1", tooltip="Design the REST API: resources, routes, request and response schemas, errors and auth", fillcolor="#d4edda", color="#28a745", fontcolor="#155724"];
        "setup_ci" [label="setup_ci\\n✓ completed · 40ms · cached", tooltip="Configure the CI pipeline: install, lint, type-check, test and build on every push", fillcolor="#d4edda", color="#28a745", fontcolor="#155724"];
        "implement_backend" [label="implement_backend\\n✗ failed · 1m 35s · 2 retries · @backend-2", tooltip="Implement the backend services, repositories and route handlers against the API design", fillcolor="#f8d7da", color="#dc3545", fontcolor="#721c24"];
        "implement_frontend" [label="implement_frontend\\n▶ running", tooltip="Implement the React pages, components, client-side state and API client", fillcolor="#fff3cd", color="#e0a800", fontcolor="#856404"];
        "write_tests" [label="write_tests\\n⊘ skipped", tooltip="Write unit, integration and API contract tests for the backend and the frontend", fillcolor="#f8f9fa", color="#adb5bd", fontcolor="#6c757d", style="rounded,filled,dashed"];
        "write_docs" [label="write_docs\\n■ cancelled", tooltip="Write the user guide, the API reference and the operations runbook", fillcolor="#e2d9f3", color="#6f42c1", fontcolor="#3d2370"];
        "deploy" [label="deploy\\n⊘ skipped", tooltip="Deploy the application to the staging environment and run smoke checks", fillcolor="#f8f9fa", color="#adb5bd", fontcolor="#6c757d", style="rounded,filled,dashed"];
        "run_end_to_end_browser_tests_against_staging_environment_with_playwright" [label="run_end_to_end_browser_tests_against_staging_environment_with_playwright\\n○ pending", tooltip="Run the end-to-end browser test suite against staging and collect traces and screenshots", fillcolor="#e9ecef", color="#6c757d", fontcolor="#343a40"];
        "setup_project" -> "design_database";
        "setup_project" -> "design_api";
        "setup_project" -> "setup_ci";
        "design_database" -> "implement_backend";
        "design_api" -> "implement_backend";
        "design_api" -> "implement_frontend";
        "implement_backend" -> "write_tests";
        "implement_frontend" -> "write_tests";
        "implement_backend" -> "write_docs";
        "implement_frontend" -> "write_docs";
        "design_api" -> "write_docs" [style=dashed];
        "write_tests" -> "deploy";
        "setup_ci" -> "deploy" [style=dashed];
        "deploy" -> "run_end_to_end_browser_tests_against_staging_environment_with_playwright";
        "write_docs" -> "run_end_to_end_browser_tests_against_staging_environment_with_playwright" [style=dashed];
        "setup_ci" -> "run_end_to_end_browser_tests_against_staging_environment_with_playwright" [style=dashed];
      }"
    `)
  })

  it("renders a bare plan left-to-right", () => {
    const plan = planOf({ id: "p", name: "p", description: "" }, [
      { id: "a", description: "first" },
      { id: "b", description: "", dependsOn: ["a"] },
      { id: "c", description: "", after: ["a"] }
    ])
    expect(Dot.render(plan, { direction: "LR" })).toMatchInlineSnapshot(`
      "digraph "p" {
        graph [rankdir=LR, label="p", labelloc="t", fontname="Helvetica"];
        node [shape="box", style="rounded,filled", fontname="Helvetica", fillcolor="#ffffff", color="#495057", fontcolor="#212529"];
        edge [color="#495057"];
        "a" [label="a", tooltip="first"];
        "b" [label="b"];
        "c" [label="c"];
        "a" -> "b";
        "a" -> "c" [style=dashed];
      }"
    `)
  })

  it.effect("renders to SVG with a <title> per node", () =>
    Effect.gen(function*() {
      const svg = yield* Dot.renderSvg(webApp, { state: webAppState, metrics: webAppMetrics })
      expect(svg).toContain("<svg")
      for (const node of webApp.nodes) expect(svg).toContain(svgTitle(node.id))
      // Durations reach the drawing; order edges are dashed.
      expect(svg).toContain("1m 35s")
      expect(svg).toMatch(/<title>setup_ci&#45;&gt;deploy<\/title>\s*<path[^>]*stroke-dasharray/)
      // Completed tasks are filled green.
      expect(svg).toContain(`fill="#d4edda"`)
    }))

  it.effect("renders plans whose ids and labels need escaping", () =>
    Effect.gen(function*() {
      const svg = yield* Dot.renderSvg(awkward, { descriptions: true })
      for (const node of awkward.nodes) expect(svg).toContain(svgTitle(node.id))
      expect(svg).toContain("backslash \\ here")
    }))

  it.effect("fails with a typed error on broken DOT, and keeps working afterwards", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Dot.toSvg("digraph { a -> ; }"))
      expect(error).toBeInstanceOf(VisualizeError)
      expect(error._tag).toBe("VisualizeError")
      expect(error.operation).toBe("svg")
      expect(error.message).toMatch(/syntax error/i)
      const svg = yield* Dot.toSvg(`digraph { "x" -> "y" }`)
      expect(svg).toContain("<title>x</title>")
    }))

  it("escapes quotes, backslashes and newlines", () => {
    expect(Dot.quote("a \"b\" \\ c\nd")).toBe(`"a \\"b\\" \\\\ c\\nd"`)
    const text = Dot.render(awkward)
    expect(text).toContain(`  "build \\"app\\"" -> "a-b";`)
    expect(text).toContain(`digraph "awk \\"ward\\" {graph}" {`)
  })
})
