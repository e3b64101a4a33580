import { describe, expect, it } from "@effect/vitest"
import * as Mermaid from "../src/Mermaid.ts"
import { awkward, planOf, webApp, webAppMetrics, webAppState } from "./fixtures.ts"

/**
 * A checker for the subset of the Mermaid flowchart grammar the renderer emits (no Mermaid parser runs in
 * Node without a browser; `@mermaid-js/parser` has no flowchart grammar). Returns the problems found.
 */
const validate = (text: string): Array<string> => {
  const problems: Array<string> = []
  const lines = text.split("\n")
  if (!/^graph (TD|LR)$/.test(lines[0] ?? "")) problems.push(`bad header: ${lines[0]}`)
  const id = "[A-Za-z][A-Za-z0-9_]*"
  const nodes = new Set<string>()
  const classes = new Set<string>()
  const checkId = (name: string, where: number) => {
    if (Mermaid.reservedIds.has(name.toLowerCase())) problems.push(`line ${where}: reserved id ${name}`)
    if (!nodes.has(name)) problems.push(`line ${where}: undeclared node ${name}`)
  }
  lines.slice(1).forEach((line, i) => {
    const n = i + 2
    let m: RegExpMatchArray | null
    if ((m = line.match(new RegExp(`^  (${id})\\["(.*)"\\]$`))) !== null) {
      const [, name, label] = m as unknown as [string, string, string]
      if (Mermaid.reservedIds.has(name.toLowerCase())) problems.push(`line ${n}: reserved id ${name}`)
      if (nodes.has(name)) problems.push(`line ${n}: node ${name} declared twice`)
      nodes.add(name)
      const text = label.replace(/<br\/>/g, " ")
      // Inside the quotes: no quote, bracket, angle bracket or pipe; every `#` starts an entity code.
      if (/["[\]{}()<>|`]/.test(text)) problems.push(`line ${n}: unescaped character in label ${label}`)
      if (/#(?![A-Za-z]+;|\d+;)/.test(text)) problems.push(`line ${n}: stray # in label ${label}`)
    } else if ((m = line.match(new RegExp(`^  (${id}) (-->|-\\.->) (${id})$`))) !== null) {
      checkId(m[1]!, n)
      checkId(m[3]!, n)
    } else if ((m = line.match(/^  classDef ([A-Za-z]+) ([a-z-]+:[^,\s]+(?: [^,\s]+)?(?:,[a-z-]+:[^,\s]+(?: [^,\s]+)?)*)$/)) !== null) {
      classes.add(m[1]!)
    } else if ((m = line.match(new RegExp(`^  class (${id}(?:,${id})*) ([A-Za-z]+)$`))) !== null) {
      for (const name of m[1]!.split(",")) checkId(name, n)
      if (!classes.has(m[2]!)) problems.push(`line ${n}: undefined class ${m[2]}`)
    } else {
      problems.push(`line ${n}: not a statement: ${line}`)
    }
  })
  return problems
}

describe("Mermaid", () => {
  it("renders the web-app plan with a run state and metrics", () => {
    expect(Mermaid.render(webApp, { state: webAppState, metrics: webAppMetrics })).toMatchInlineSnapshot(`
      "graph TD
        setup_project["setup_project<br/>✓ completed · 1.2s · @claude-code"]
        design_database["design_database<br/>✓ completed · 3.4s · 1 retry"]
        design_api["design_api<br/>✓ completed · 2.8s · @architect-1"]
        setup_ci["setup_ci<br/>✓ completed · 40ms · cached"]
        implement_backend["implement_backend<br/>✗ failed · 1m 35s · 2 retries · @backend-2"]
        implement_frontend["implement_frontend<br/>▶ running"]
        write_tests["write_tests<br/>⊘ skipped"]
        write_docs["write_docs<br/>■ cancelled"]
        deploy["deploy<br/>⊘ skipped"]
        run_end_to_end_browser_tests_against_staging_environment_with_playwright["run_end_to_end_browser_tests_against_staging_environment_with_playwright<br/>○ pending"]
        setup_project --> design_database
        setup_project --> design_api
        setup_project --> setup_ci
        design_database --> implement_backend
        design_api --> implement_backend
        design_api --> implement_frontend
        implement_backend --> write_tests
        implement_frontend --> write_tests
        implement_backend --> write_docs
        implement_frontend --> write_docs
        design_api -.-> write_docs
        write_tests --> deploy
        setup_ci -.-> deploy
        deploy --> run_end_to_end_browser_tests_against_staging_environment_with_playwright
        write_docs -.-> run_end_to_end_browser_tests_against_staging_environment_with_playwright
        setup_ci -.-> run_end_to_end_browser_tests_against_staging_environment_with_playwright
        classDef completed fill:#d4edda,stroke:#28a745,color:#155724
        classDef failed fill:#f8d7da,stroke:#dc3545,color:#721c24
        classDef running fill:#fff3cd,stroke:#e0a800,color:#856404
        classDef pending fill:#e9ecef,stroke:#6c757d,color:#343a40
        classDef skipped fill:#f8f9fa,stroke:#adb5bd,color:#6c757d,stroke-dasharray:5 3
        classDef cancelled fill:#e2d9f3,stroke:#6f42c1,color:#3d2370
        class setup_project,design_database,design_api,setup_ci completed
        class implement_backend failed
        class implement_frontend running
        class run_end_to_end_browser_tests_against_staging_environment_with_playwright pending
        class write_tests,deploy skipped
        class write_docs cancelled"
    `)
  })

  it("renders a bare plan left-to-right, with descriptions, without status classes", () => {
    const plan = planOf({ id: "p", name: "p", description: "" }, [
      { id: "a", description: "first (step)" },
      { id: "b", description: "second", dependsOn: ["a"] },
      { id: "c", description: "", after: ["a"] }
    ])
    expect(Mermaid.render(plan, { direction: "LR", descriptions: true })).toMatchInlineSnapshot(`
      "graph LR
        a["a<br/>first #40;step#41;"]
        b["b<br/>second"]
        c["c"]
        a --> b
        a -.-> c"
    `)
  })

  it("emits output that follows the flowchart grammar", () => {
    expect(validate(Mermaid.render(webApp, { state: webAppState, metrics: webAppMetrics }))).toEqual([])
    expect(validate(Mermaid.render(webApp, { direction: "LR" }))).toEqual([])
    expect(validate(Mermaid.render(awkward, { descriptions: true, state: webAppState }))).toEqual([])
  })

  it("the validator rejects broken output", () => {
    expect(validate("graph TD\n  a[\"x\"]\n  a --> b")).toEqual(["line 3: undeclared node b"])
    expect(validate("graph TD\n  a[\"say \"hi\"\"]")).toHaveLength(1)
    expect(validate("graph XY")).toHaveLength(1)
  })

  it("draws order-only edges dashed and data edges solid", () => {
    const text = Mermaid.render(webApp)
    expect(text).toContain("  setup_ci -.-> deploy")
    expect(text).toContain("  write_tests --> deploy")
    expect(text).not.toContain("setup_ci --> deploy")
  })

  it("gives every task a safe, unique node id", () => {
    const ids = Mermaid.nodeIds(awkward.nodes.map((node) => node.id))
    expect(Object.fromEntries(ids)).toEqual({
      "end": "end_",
      "build \"app\"": "build__app_",
      "lint[strict]": "lint_strict_",
      "a-b": "a_b_2",
      "a_b": "a_b",
      "1st step": "t_1st_step",
      "graph": "graph_"
    })
    expect(new Set(ids.values()).size).toBe(awkward.nodes.length)
  })

  it("escapes quotes and brackets in labels", () => {
    expect(Mermaid.escapeLabel("say \"hi\" [x] (y) {z} <b> | # &")).toBe(
      "say #quot;hi#quot; #91;x#93; #40;y#41; #123;z#125; #lt;b#gt; #124; #35; #38;"
    )
    expect(Mermaid.escapeLabel("two\nlines")).toBe("two lines")
  })

  it("puts metrics in the labels and one class line per status", () => {
    const text = Mermaid.render(webApp, { state: webAppState, metrics: webAppMetrics })
    expect(text).toContain(`design_database["design_database<br/>✓ completed · 3.4s · 1 retry"]`)
    expect(text).toContain(`setup_ci["setup_ci<br/>✓ completed · 40ms · cached"]`)
    expect(text).toContain("class setup_project,design_database,design_api,setup_ci completed")
    for (const status of ["completed", "failed", "running", "pending", "skipped", "cancelled"]) {
      expect(text).toMatch(new RegExp(`^  classDef ${status} fill:#`, "m"))
    }
  })
})
