import { describe, expect, it } from "@effect/vitest"
import * as View from "../src/internal/view.ts"
import * as Render from "../src/Render.ts"
import { planOf, webApp, webAppState } from "./fixtures.ts"

describe("levels", () => {
  it("puts each task one level below its deepest dependency", () => {
    expect(View.make(webApp).levels.map((level) => level.map((node) => node.id))).toEqual([
      ["setup_project"],
      ["design_database", "design_api", "setup_ci"],
      ["implement_backend", "implement_frontend"],
      ["write_tests", "write_docs"],
      ["deploy"],
      [webApp.nodes[9]!.id]
    ])
  })

  it("draws a plan with a cycle as one level instead of failing", () => {
    const plan = planOf({ id: "c", name: "c", description: "" }, [
      { id: "a", description: "" },
      { id: "b", description: "", dependsOn: ["a", "c"] },
      { id: "c", description: "", dependsOn: ["b"] }
    ])
    const view = View.make(plan)
    expect(view.levels.map((level) => level.map((node) => node.id))).toEqual([["a", "b", "c"]])
    expect(view.nodes.map((node) => node.dependencies.map((dep) => dep.id))).toEqual([[], ["a", "c"], ["b"]])
  })
})

describe("view", () => {
  it("takes metrics over the run state, and status only when a state is given", () => {
    const bare = View.make(webApp)
    expect(bare.hasState).toBe(false)
    expect(bare.nodes.every((node) => node.status === undefined)).toBe(true)
    const view = View.make(webApp, {
      state: webAppState,
      metrics: { setup_project: { durationMs: 5, retries: 3 }, constructor: { agent: "x" } }
    })
    const first = view.nodes[0]!
    expect([first.durationMs, first.retries, first.status]).toEqual([5, 3, "completed"])
    expect(View.metricWords(first)).toEqual(["5ms", "3 retries"])
    expect(view.counts).toEqual({ completed: 4, failed: 1, running: 1, waiting: 0, pending: 1, skipped: 2, cancelled: 1 })
    // A task missing from the state is pending.
    expect(View.make(webApp, { state: { tasks: [] } }).counts.pending).toBe(webApp.nodes.length)
  })

  it("formats durations", () => {
    expect([0, 999, 1000, 1234, 59_999, 60_000, 125_000, 3_600_000, 3_725_000].map(Render.formatDuration)).toEqual([
      "0ms",
      "999ms",
      "1.0s",
      "1.2s",
      "59.9s",
      "1m 00s",
      "2m 05s",
      "1h 00m",
      "1h 02m"
    ])
  })
})
