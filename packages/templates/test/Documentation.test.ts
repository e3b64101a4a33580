/**
 * The documentation template on a small TypeScript library: the compiler API finds the exports and their
 * JSDoc; Markdown, reStructuredText and HTML files are written; the HTML is well-formed.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Engine, Plan } from "@troupe/core"
import { Cause, Effect, Option } from "effect"
import { Documentation, Template } from "../src/index.ts"

const makeLibrary = (): string => {
  const repo = mkdtempSync(join(tmpdir(), "troupe-docs-"))
  mkdirSync(join(repo, "src", "internal"), { recursive: true })
  writeFileSync(join(repo, "package.json"), JSON.stringify({ name: "tiny-geometry", description: "Shapes & areas <fast>." }))
  writeFileSync(join(repo, "README.md"), "# tiny-geometry\n\nCompute areas of shapes.\n")
  writeFileSync(
    join(repo, "src", "shapes.ts"),
    [
      "/** A circle. */",
      "export interface Circle { readonly radius: number }",
      "",
      "/**",
      " * The area of a circle.",
      " *",
      " * @param circle - the circle",
      " * @returns its area",
      " * @example",
      " * ```ts",
      " * area({ radius: 2 }) // 12.56...",
      " * ```",
      " */",
      "export function area(circle: Circle): number {",
      "  return Math.PI * circle.radius ** 2",
      "}",
      "",
      "/** Doubles a circle's radius when `a < b`. */",
      "export const grow = (circle: Circle): Circle => ({ radius: circle.radius * 2 })",
      "",
      "export class Registry { readonly shapes: Array<Circle> = [] }",
      ""
    ].join("\n")
  )
  writeFileSync(join(repo, "src", "internal", "math.ts"), "export const square = (x: number) => x * x\n")
  return repo
}

const voidElements = new Set(["meta", "br", "hr", "img", "link", "input"])

/** Checks that every tag is closed in order and that text has no raw `<` or `&` that is not an entity. */
const wellFormed = (html: string): Array<string> => {
  const problems: Array<string> = []
  if (!html.startsWith("<!DOCTYPE html>")) problems.push("no doctype")
  const stack: Array<string> = []
  const tag = /<\/?([a-zA-Z][a-zA-Z0-9]*)((?:\s+[a-z-]+="[^"<>]*")*)\s*>|<!DOCTYPE html>|<|&(?!(amp|lt|gt|quot|#39);)/g
  for (const m of html.matchAll(tag)) {
    const text = m[0]
    if (text === "<!DOCTYPE html>") continue
    if (m[1] === undefined) {
      problems.push(`stray ${JSON.stringify(text)} at ${m.index}`)
      continue
    }
    const name = m[1].toLowerCase()
    if (text.startsWith("</")) {
      const open = stack.pop()
      if (open !== name) problems.push(`</${name}> closes <${open}>`)
    } else if (!voidElements.has(name)) stack.push(name)
  }
  if (stack.length > 0) problems.push(`unclosed: ${stack.join(", ")}`)
  return problems
}

describe("Documentation.documentation", () => {
  it.effect("writes API docs, a user guide, a tutorial and examples as HTML; the HTML is well-formed", () =>
    Effect.gen(function*() {
      const repo = makeLibrary()
      const wf = Documentation.documentation({
        repositoryPath: repo,
        docTypes: ["api", "user-guide", "tutorial"],
        outputFormat: "html",
        includeExamples: true
      })
      expect(Plan.fromWorkflow(wf).nodes.map((n) => n.id)).toEqual([
        "analyze-codebase",
        "generate-api-docs",
        "write-user-guide",
        "create-tutorial",
        "generate-examples",
        "build-documentation"
      ])
      const result = yield* Engine.run(wf)
      const analysis = result.outputs["analyze-codebase"]
      expect(analysis.project).toBe("tiny-geometry")
      expect(analysis.modules.map((m) => m.file)).toEqual(["src/shapes.ts"])
      const symbols = analysis.modules[0]!.symbols
      expect(symbols.map((s) => [s.name, s.kind])).toEqual([
        ["Circle", "interface"],
        ["area", "function"],
        ["grow", "variable"],
        ["Registry", "class"]
      ])
      const area = symbols.find((s) => s.name === "area")!
      expect(area.documentation).toBe("The area of a circle.")
      expect(area.signature).toBe("function area: (circle: Circle) => number")
      expect(area.tags.map((t) => t.name)).toEqual(["param", "returns", "example"])

      const built = result.outputs["build-documentation"]
      expect(built.files.map((f) => f.slice(built.directory.length + 1))).toEqual([
        "index.html",
        "api.html",
        "user-guide.html",
        "tutorial.html",
        "examples.html"
      ])
      for (const file of built.files) {
        const html = readFileSync(file, "utf8")
        expect({ file, problems: wellFormed(html) }).toEqual({ file, problems: [] })
      }
      const api = readFileSync(join(built.directory, "api.html"), "utf8")
      expect(api).toContain("<h3>area (function)</h3>")
      expect(api).toContain("area({ radius: 2 }) // 12.56...")
      expect(api).toContain("Doubles a circle&#39;s radius when <code>a &lt; b</code>.")
      expect(readFileSync(join(built.directory, "index.html"), "utf8")).toContain("Shapes &amp; areas &lt;fast&gt;.")
      const examples = readFileSync(join(built.directory, "examples.html"), "utf8")
      expect(examples).toContain("import { grow } from &quot;tiny-geometry&quot;")
      rmSync(repo, { recursive: true, force: true })
    }))

  it.effect("Markdown and reStructuredText output", () =>
    Effect.gen(function*() {
      const repo = makeLibrary()
      const md = yield* Engine.run(Documentation.documentation({
        repositoryPath: repo,
        docTypes: ["api"],
        outputFormat: "md",
        includeExamples: false,
        outputPath: "out-md"
      }))
      expect(md.outputs["build-documentation"].files.map((f) => f.split("/").pop())).toEqual(["index.md", "api.md"])
      const apiMd = readFileSync(join(repo, "out-md", "api.md"), "utf8")
      expect(apiMd).toContain("### area (function)\n\n```ts\nfunction area: (circle: Circle) => number\n```")
      expect(apiMd).not.toContain("12.56")

      yield* Engine.run(Documentation.documentation({
        repositoryPath: repo,
        docTypes: ["user-guide"],
        outputFormat: "rst",
        includeExamples: false,
        outputPath: "out-rst"
      }))
      const guide = readFileSync(join(repo, "out-rst", "user-guide.rst"), "utf8")
      expect(guide).toContain("tiny-geometry user guide\n========================")
      expect(guide).toContain(".. code-block:: sh\n\n   npm install tiny-geometry")
      expect(guide).toContain("- ``area`` (function): The area of a circle.")
      rmSync(repo, { recursive: true, force: true })
    }))

  it.effect("bad input: a repository that does not exist, source files that do not exist, a bad format", () =>
    Effect.gen(function*() {
      const error = yield* Engine.run(Documentation.documentation({
        repositoryPath: "/no/such/library",
        docTypes: ["api"],
        outputFormat: "md",
        includeExamples: false
      })).pipe(Effect.flip)
      expect(Option.getOrUndefined(Cause.findErrorOption((error as { failures: ReadonlyArray<{ cause: Cause.Cause<unknown> }> }).failures[0]!.cause)))
        .toMatchObject({ _tag: "RepositoryNotFound", template: "documentation", parameter: "repositoryPath" })
      const repo = makeLibrary()
      const missing = yield* Engine.run(Documentation.documentation({
        repositoryPath: repo,
        docTypes: ["api"],
        outputFormat: "md",
        includeExamples: false,
        sourceFiles: ["src/gone.ts"]
      })).pipe(Effect.flip)
      expect(Option.getOrUndefined(Cause.findErrorOption((missing as { failures: ReadonlyArray<{ cause: Cause.Cause<unknown> }> }).failures[0]!.cause)))
        .toMatchObject({ _tag: "NoSourceFiles", missing: ["src/gone.ts"] })
      const format = yield* Template.instantiate(Documentation.template, {
        repositoryPath: repo,
        docTypes: ["api"],
        outputFormat: "pdf",
        includeExamples: false
      }).pipe(Effect.flip)
      expect(format).toMatchObject({ template: "documentation", parameter: "outputFormat" })
      rmSync(repo, { recursive: true, force: true })
    }))
})
