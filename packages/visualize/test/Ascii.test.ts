import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import * as Ascii from "../src/Ascii.ts"
import { awkward, E2E, planOf, webApp, webAppMetrics, webAppState } from "./fixtures.ts"

/** The lines of each task: its own line and the continuation lines below it, up to the next task. */
const blocks = (text: string): Map<string, string> => {
  const out = new Map<string, string>()
  let current: string | undefined
  for (const line of text.split("\n")) {
    const m = line.match(/^ {2}[✓✗▶○⊘■] (\S+)/)
    if (m !== null) {
      current = m[1]!
      out.set(current, line)
    } else if (current !== undefined && /^ {4,}/.test(line)) {
      out.set(current, `${out.get(current)}\n${line}`)
    } else {
      current = undefined
    }
  }
  return out
}

describe("Ascii", () => {
  it("renders the web-app plan with a run state and metrics", () => {
    expect("\n" + Ascii.render(webApp, { state: webAppState, metrics: webAppMetrics })).toMatchInlineSnapshot(`
      "
      Workflow web-app (10 tasks, 6 levels)
      Build, test and deploy a full-stack web application with a React frontend, a No…
      Run running: ✓ 4  ✗ 1  ▶ 1  ○ 1  ⊘ 2  ■ 1
      ════════════════════════════════════════════════════════════════════════════════
      ── Level 0 · 1 task ────────────────────────────────────────────────────────────
        ✓ setup_project                         1.2s @claude-code
      ── Level 1 · 3 tasks ───────────────────────────────────────────────────────────
        ✓ design_database                       3.4s 1 retry
            ← setup_project
        ✓ design_api                            2.8s @architect-1
            ← setup_project
        ✓ setup_ci                              40ms cached
            ← setup_project
      ── Level 2 · 2 tasks ───────────────────────────────────────────────────────────
        ✗ implement_backend                     1m 35s 2 retries @backend-2
            ← design_database, design_api
            error: TypeError: Cannot read properties of undefined (reading 'schema') …
        ▶ implement_frontend
            ← design_api
      ── Level 3 · 2 tasks ───────────────────────────────────────────────────────────
        ⊘ write_tests
            ← implement_backend, implement_frontend
        ■ write_docs
            ← implement_backend, implement_frontend, ~design_api
      ── Level 4 · 1 task ────────────────────────────────────────────────────────────
        ⊘ deploy
            ← write_tests, ~setup_ci
      ── Level 5 · 1 task ────────────────────────────────────────────────────────────
        ○ run_end_to_end_browser_tests_agains…
            ← deploy, ~write_docs, ~setup_ci
      ────────────────────────────────────────────────────────────────────────────────
      Legend: ✓ completed  ✗ failed  ▶ running  ○ pending  ⊘ skipped  ■ cancelled
              ← depends on  ~ order only"
    `)
  })

  it("renders a bare plan with pending symbols and no metrics column", () => {
    expect("\n" + Ascii.render(webApp, { legend: false })).toMatchInlineSnapshot(`
      "
      Workflow web-app (10 tasks, 6 levels)
      Build, test and deploy a full-stack web application with a React frontend, a No…
      ════════════════════════════════════════════════════════════════════════════════
      ── Level 0 · 1 task ────────────────────────────────────────────────────────────
        ○ setup_project
      ── Level 1 · 3 tasks ───────────────────────────────────────────────────────────
        ○ design_database                       ← setup_project
        ○ design_api                            ← setup_project
        ○ setup_ci                              ← setup_project
      ── Level 2 · 2 tasks ───────────────────────────────────────────────────────────
        ○ implement_backend                     ← design_database, design_api
        ○ implement_frontend                    ← design_api
      ── Level 3 · 2 tasks ───────────────────────────────────────────────────────────
        ○ write_tests                           ← implement_backend,
                                                  implement_frontend
        ○ write_docs                            ← implement_backend,
                                                  implement_frontend, ~design_api
      ── Level 4 · 1 task ────────────────────────────────────────────────────────────
        ○ deploy                                ← write_tests, ~setup_ci
      ── Level 5 · 1 task ────────────────────────────────────────────────────────────
        ○ run_end_to_end_browser_tests_agains…  ← deploy, ~write_docs, ~setup_ci"
    `)
  })

  it("keeps every line of the web-app example within 80 columns", () => {
    for (const options of [{}, { state: webAppState, metrics: webAppMetrics }]) {
      const lines = Ascii.render(webApp, options).split("\n")
      const tooLong = lines.filter((line) => Ascii.length(line) > 80)
      expect(tooLong).toEqual([])
    }
  })

  it("shows every dependency after ←, and truncates the long id with …", () => {
    const text = Ascii.render(webApp, { state: webAppState, metrics: webAppMetrics })
    const byTask = blocks(text)
    const shown = (id: string) => Ascii.truncate(id, 36)
    for (const node of webApp.nodes) {
      const block = byTask.get(shown(node.id))
      expect(block, node.id).toBeDefined()
      const deps = [...node.dependsOn, ...node.after.map((id) => `~${id}`)]
      if (deps.length === 0) {
        expect(block).not.toContain("←")
        continue
      }
      const after = block!.slice(block!.indexOf("←") + 1)
      for (const dep of deps) expect(after, `${node.id} ← ${dep}`).toContain(dep.startsWith("~") ? `~${shown(dep.slice(1))}` : shown(dep))
    }
    expect(text).toContain("run_end_to_end_browser_tests_agains…")
    expect(text).not.toContain(E2E)
  })

  it("shows status symbols, durations and retries", () => {
    const byTask = blocks(Ascii.render(webApp, { state: webAppState, metrics: webAppMetrics }))
    expect(byTask.get("setup_project")).toMatch(/^ {2}✓ setup_project +1\.2s @claude-code/)
    expect(byTask.get("implement_backend")).toMatch(/^ {2}✗ implement_backend +1m 35s 2 retries @backend-2/)
    expect(byTask.get("implement_backend")).toContain("error: TypeError")
    expect(byTask.get("implement_frontend")).toMatch(/^ {2}▶ /)
    expect(byTask.get("write_tests")).toMatch(/^ {2}⊘ /)
    expect(byTask.get("write_docs")).toMatch(/^ {2}■ /)
    expect(byTask.get("run_end_to_end_browser_tests_agains…")).toMatch(/^ {2}○ /)
  })

  it("lists tasks level by level", () => {
    const text = Ascii.render(webApp)
    const levels = text.split("\n").filter((line) => line.startsWith("── Level"))
    expect(levels.map((line) => line.replace(/ ─+$/, ""))).toEqual([
      "── Level 0 · 1 task",
      "── Level 1 · 3 tasks",
      "── Level 2 · 2 tasks",
      "── Level 3 · 2 tasks",
      "── Level 4 · 1 task",
      "── Level 5 · 1 task"
    ])
    expect(text.indexOf("write_docs")).toBeGreaterThan(text.indexOf("── Level 3"))
    expect(text.indexOf("write_docs")).toBeLessThan(text.indexOf("── Level 4"))
  })

  it("fits narrow widths, wrapping long dependency lists", () => {
    const many = planOf({ id: "m", name: "fan-in", description: "" }, [
      ...Array.from({ length: 12 }, (_, i) => ({ id: `source_number_${i}`, description: "" })),
      {
        id: "sink",
        description: "",
        dependsOn: Array.from({ length: 12 }, (_, i) => `source_number_${i}`)
      }
    ])
    for (const width of [40, 60, 80, 120]) {
      const text = Ascii.render(many, { width })
      expect(text.split("\n").every((line) => Ascii.length(line) <= width)).toBe(true)
      const block = blocks(text).get("sink")!
      const after = block.slice(block.indexOf("←") + 1)
      for (let i = 0; i < 12; i++) expect(after).toContain(`source_number_${i}`)
    }
    expect(Ascii.render(awkward, { width: 40 }).split("\n").every((line) => Ascii.length(line) <= 40)).toBe(true)
  })

  it("every line fits the width for any plan (property)", () => {
    const idArb = fc.string({ unit: "grapheme-ascii", minLength: 1, maxLength: 70 })
    fc.assert(
      fc.property(
        fc.uniqueArray(idArb, { minLength: 1, maxLength: 12 }),
        fc.integer({ min: 40, max: 140 }),
        fc.array(fc.nat(), { maxLength: 30 }),
        (ids, width, picks) => {
          // Each task depends on some earlier tasks, chosen by `picks`.
          const plan = planOf(
            { id: "p", name: ids[0]!, description: ids.join(" ") },
            ids.map((id, i) => ({
              id,
              description: id,
              dependsOn: i === 0 ? [] : [...new Set(picks.slice(i, i + 4).map((p) => ids[p % i]!))]
            }))
          )
          const lines = Ascii.render(plan, { width }).split("\n")
          return lines.every((line) => Ascii.length(line) <= width)
        }
      )
    )
  })

  it("truncates with an ellipsis", () => {
    expect(Ascii.truncate("abcdef", 4)).toBe("abc…")
    expect(Ascii.truncate("abcd", 4)).toBe("abcd")
    expect(Ascii.length("✓ ← …")).toBe(5)
  })
})
