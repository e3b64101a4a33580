/**
 * The registry the command line uses: list, get by name, instantiate from raw parameters.
 */
import { describe, expect, it } from "@effect/vitest"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Engine, Plan } from "@troupe/core"
import { Effect, Schema } from "effect"
import { CiCd, Template, Templates } from "../src/index.ts"

describe("Templates", () => {
  it.live("layer runs a template built from raw parameters (processes and a local deploy target)", () =>
    Effect.gen(function*() {
      const repo = mkdtempSync(join(tmpdir(), "troupe-registry-"))
      const releases = join(repo, "releases")
      writeFileSync(join(repo, "build.js"), "import { mkdirSync, writeFileSync } from 'node:fs'\nmkdirSync('dist')\nwriteFileSync('dist/app.txt', 'app')\n")
      writeFileSync(join(repo, "package.json"), JSON.stringify({ type: "module" }))
      const template = yield* Templates.get("ci-cd")
      expect(template).toBe(CiCd.template)
      const wf = yield* Template.instantiate(CiCd.template, {
        repositoryPath: repo,
        lintCommand: "node -e 0",
        formatCommand: "node -e 0",
        testCommand: "node -e 0",
        buildCommand: "node build.js",
        deployTarget: "qa"
      })
      const result = yield* Engine.run(wf).pipe(Effect.provide(Templates.layer({ deployRoot: releases })))
      expect(Object.keys(result.outputs)).toContain("deploy")
      expect(readFileSync(join(releases, "qa", "app.txt"), "utf8")).toBe("app")
      rmSync(repo, { recursive: true, force: true })
    }))


  it("lists the four templates with descriptions and parameter Schemas", () => {
    expect(Templates.list().map((t) => t.name)).toEqual(["ci-cd", "etl", "code-review", "documentation"])
    for (const t of Templates.all) {
      expect(t.description.length).toBeGreaterThan(20)
      const doc = Schema.toJsonSchemaDocument(t.parameters)
      expect(JSON.stringify(doc)).toContain("maxParallel")
    }
  })

  it.effect("instantiates a template by name from raw parameters; unknown names and bad parameters are typed errors", () =>
    Effect.gen(function*() {
      const wf = yield* Templates.instantiate("documentation", {
        repositoryPath: ".",
        docTypes: ["tutorial"],
        outputFormat: "md",
        includeExamples: false,
        continueOnFailure: true
      })
      const plan = Plan.fromWorkflow(wf)
      expect(plan.nodes.map((n) => n.id)).toEqual(["analyze-codebase", "create-tutorial", "build-documentation"])
      expect(plan.continueOnFailure).toBe(true)

      const unknown = yield* Templates.instantiate("deploy-everything", {}).pipe(Effect.flip)
      expect(unknown).toMatchObject({ _tag: "TemplateNotFound", name: "deploy-everything" })
      expect(unknown.message).toContain("ci-cd, etl, code-review, documentation")

      const bad = yield* Templates.instantiate("code-review", { repositoryPath: ".", targetFiles: [] }).pipe(Effect.flip)
      expect(bad).toMatchObject({ _tag: "TemplateParameterError", template: "code-review" })
      expect(bad.message).toMatch(/^Template "code-review": parameter "\w+/)
    }))
})
