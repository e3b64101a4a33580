/**
 * docs/examples/templates.ts (docs/templates.md) runs and produces what the page says.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as templates from "../../docs/examples/templates.ts"

describe("docs/examples/templates.ts", () => {
  it.live("CI/CD extended with a task, on real processes", () =>
    Effect.gen(function*() {
      const result = yield* templates.ciCdExample
      expect(result.summary).toBe("tests took some time; built greet.js")
      expect(result.deployed).toBe(1)
      expect(result.buildLog).toEqual(["[build-artifacts] copied src to dist"])
    }))

  it.live("ETL on the Seattle weather dataset", () =>
    Effect.gen(function*() {
      expect(yield* templates.etlExample).toEqual({ extracted: 1461, loaded: 1 })
    }))

  it.live("a command task in a workflow of your own", () =>
    Effect.gen(function*() {
      const { lines, major } = yield* templates.commandExample
      expect(lines).toEqual([expect.stringMatching(/^\[node-version\] v\d+\.\d+\.\d+$/)])
      expect(major).toBe(Number(/v(\d+)/.exec(lines[0]!)![1]))
    }))

  it.live("documentation and code review of a small library", () =>
    Effect.gen(function*() {
      expect(yield* templates.documentationExample).toEqual({
        files: ["index.html", "api.html", "user-guide.html", "examples.html"],
        documentsAdd: true
      })
      expect(yield* templates.codeReviewExample).toEqual({
        diagnostics: ["TS2345"],
        afterFix: 0,
        reportStartsWith: "# Code review"
      })
    }))

  it.live("the registry, as the command line uses it", () =>
    Effect.gen(function*() {
      const result = yield* templates.registryExample
      expect(result.names).toEqual(["ci-cd", "etl", "code-review", "documentation"])
      expect(result.tasks).toEqual([
        "analyze-codebase",
        "generate-api-docs",
        "create-tutorial",
        "generate-examples",
        "build-documentation"
      ])
      expect(result.error).toMatch(/^Template "etl": parameter "sources"/)
    }))
})
