/**
 * The documentation template: reads a TypeScript code base with the compiler API (exported symbols, their
 * signatures and JSDoc) and writes API docs, a user guide, a tutorial and examples as Markdown,
 * reStructuredText or HTML files.
 *
 * Tasks (ids as in the system Troupe replaces):
 *
 * | task | does | after |
 * |---|---|---|
 * | `analyze-codebase` | exported symbols and JSDoc of `sourceFiles` (default: `src/**\/*.ts`), package name and description | |
 * | `generate-api-docs` (docTypes has `api`) | one section per module: each export's signature, summary and tags | analyze-codebase |
 * | `write-user-guide` (docTypes has `user-guide`) | installation, the modules and what they export, from the README and module docs | analyze-codebase |
 * | `create-tutorial` (docTypes has `tutorial`) | step-by-step use of the exported functions, in dependency order of files | analyze-codebase |
 * | `generate-examples` (when `includeExamples`) | the `@example` blocks of the JSDoc, and a usage snippet for each function without one | analyze-codebase |
 * | `build-documentation` | renders every section to `outputFormat` and writes the files and an index into `outputPath` | all of the above |
 *
 * HTML output is a complete, escaped HTML5 document per page.
 *
 * @since 0.1.0
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { join, resolve } from "node:path"
import type { PlanNode } from "@troupe/core/Plan"
import * as Workflow from "@troupe/core/Workflow"
import { Effect, Schema } from "effect"
import { walk } from "./internal/files.ts"
import * as Ts from "./internal/typescript.ts"
import * as Template from "./Template.ts"

const NAME = "documentation"

// -----------------------------------------------------------------------------
// Parameters
// -----------------------------------------------------------------------------

/**
 * The kinds of documents.
 *
 * @category schemas
 * @since 0.1.0
 */
export const DocType = Schema.Literals(["api", "user-guide", "tutorial"])

/**
 * The documentation template's parameters.
 *
 * @category schemas
 * @since 0.1.0
 */
export const Parameters = Schema.Struct({
  repositoryPath: Schema.NonEmptyString,
  docTypes: Schema.Array(DocType).check(Schema.isMinLength(1)),
  outputFormat: Schema.Literals(["md", "rst", "html"]),
  includeExamples: Schema.Boolean,
  /** Files to document, relative to the repository. Default: every `.ts` file under `src/` (not `.d.ts`, not tests). */
  sourceFiles: Schema.optional(Schema.Array(Schema.NonEmptyString)),
  /** Default `docs-generated` in the repository. */
  outputPath: Schema.optional(Schema.NonEmptyString),
  ...Template.Common
})

/**
 * @category models
 * @since 0.1.0
 */
export type Parameters = typeof Parameters.Type

// -----------------------------------------------------------------------------
// Document model
// -----------------------------------------------------------------------------

/**
 * A block of a document, rendered to each output format.
 *
 * @category models
 * @since 0.1.0
 */
export type Block =
  | { readonly kind: "heading"; readonly level: 1 | 2 | 3; readonly text: string }
  | { readonly kind: "paragraph"; readonly text: string }
  | { readonly kind: "code"; readonly lang: string; readonly code: string }
  | { readonly kind: "list"; readonly items: ReadonlyArray<string> }

/**
 * One document (one file of the output).
 *
 * @category models
 * @since 0.1.0
 */
export interface Section {
  /** The file name without extension, e.g. `api`. */
  readonly id: string
  readonly title: string
  readonly blocks: ReadonlyArray<Block>
}

/**
 * What `analyze-codebase` finds.
 *
 * @category models
 * @since 0.1.0
 */
export interface Analysis {
  readonly project: string
  readonly description: string
  readonly readme: string | undefined
  readonly modules: ReadonlyArray<{
    readonly file: string
    readonly symbols: ReadonlyArray<Ts.ExportedSymbol>
  }>
}

/**
 * What `build-documentation` wrote.
 *
 * @category models
 * @since 0.1.0
 */
export interface Built {
  readonly format: "md" | "rst" | "html"
  readonly directory: string
  readonly files: ReadonlyArray<string>
}

/**
 * Writing the documentation failed.
 *
 * @category errors
 * @since 0.1.0
 */
export class DocumentationWriteError extends Schema.TaggedError<DocumentationWriteError>()("DocumentationWriteError", {
  path: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `build-documentation: writing ${this.path} failed: ${this.reason}`
  }
}

/**
 * No source file to document.
 *
 * @category errors
 * @since 0.1.0
 */
export class NoSourceFiles extends Schema.TaggedError<NoSourceFiles>()("NoSourceFiles", {
  template: Schema.String,
  repositoryPath: Schema.String,
  missing: Schema.Array(Schema.String)
}) {
  override get message(): string {
    return this.missing.length > 0
      ? `Template "${this.template}": parameter "sourceFiles" names files that do not exist: ${this.missing.join(", ")}`
      : `Template "${this.template}": no TypeScript files under ${this.repositoryPath}/src`
  }
}

/**
 * Every error of the documentation workflow.
 *
 * @category errors
 * @since 0.1.0
 */
export type Error =
  | Template.TemplateParameterError
  | Template.RepositoryNotFound
  | NoSourceFiles
  | DocumentationWriteError

/**
 * The outputs of the documentation workflow's tasks.
 *
 * @category models
 * @since 0.1.0
 */
export interface Outputs {
  readonly "analyze-codebase": Analysis
  readonly "generate-api-docs": Section
  readonly "write-user-guide": Section
  readonly "create-tutorial": Section
  readonly "generate-examples": Section
  readonly "build-documentation": Built
}

/**
 * The workflow `documentation` returns.
 *
 * @category models
 * @since 0.1.0
 */
export type DocumentationWorkflow = Workflow.Workflow<
  "documentation",
  void,
  Outputs,
  Error,
  never,
  never,
  "generate-api-docs" | "write-user-guide" | "create-tutorial" | "generate-examples"
>

// -----------------------------------------------------------------------------
// Rendering
// -----------------------------------------------------------------------------

const escapeHtml = (s: string) =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;")

const rstUnderline = ["=", "-", "~"] as const

/**
 * Renders a section in a format: Markdown, reStructuredText or a complete HTML5 document.
 *
 * @category rendering
 * @since 0.1.0
 */
export const render = (section: Section, format: "md" | "rst" | "html", nav: ReadonlyArray<Section> = []): string => {
  switch (format) {
    case "md":
      return section.blocks.map((b) => {
        switch (b.kind) {
          case "heading":
            return `${"#".repeat(b.level)} ${b.text}`
          case "paragraph":
            return b.text
          case "code":
            return "```" + b.lang + "\n" + b.code + "\n```"
          case "list":
            return b.items.map((i) => `- ${i}`).join("\n")
        }
      }).join("\n\n") + "\n"
    case "rst":
      return section.blocks.map((b) => {
        switch (b.kind) {
          case "heading":
            return `${b.text}\n${rstUnderline[b.level - 1]!.repeat(Math.max(b.text.length, 1))}`
          case "paragraph":
            return b.text.replace(/`([^`]+)`/g, "``$1``")
          case "code":
            return `.. code-block:: ${b.lang || "text"}\n\n${b.code.split("\n").map((l) => (l === "" ? "" : `   ${l}`)).join("\n")}`
          case "list":
            return b.items.map((i) => `- ${i.replace(/`([^`]+)`/g, "``$1``")}`).join("\n")
        }
      }).join("\n\n") + "\n"
    case "html": {
      const inline = (s: string) => escapeHtml(s).replace(/`([^`]+)`/g, "<code>$1</code>")
      const body = section.blocks.map((b) => {
        switch (b.kind) {
          case "heading":
            return `<h${b.level}>${inline(b.text)}</h${b.level}>`
          case "paragraph":
            return `<p>${inline(b.text)}</p>`
          case "code":
            return `<pre><code class="language-${escapeHtml(b.lang)}">${escapeHtml(b.code)}</code></pre>`
          case "list":
            return `<ul>\n${b.items.map((i) => `<li>${inline(i)}</li>`).join("\n")}\n</ul>`
        }
      }).join("\n")
      const links = nav.length === 0
        ? ""
        : `<nav>\n<ul>\n${nav.map((s) => `<li><a href="${escapeHtml(s.id)}.html">${escapeHtml(s.title)}</a></li>`).join("\n")}\n</ul>\n</nav>\n`
      return [
        "<!DOCTYPE html>",
        "<html lang=\"en\">",
        "<head>",
        "<meta charset=\"utf-8\">",
        `<title>${escapeHtml(section.title)}</title>`,
        "</head>",
        "<body>",
        `${links}<main>`,
        body,
        "</main>",
        "</body>",
        "</html>",
        ""
      ].join("\n")
    }
  }
}

// -----------------------------------------------------------------------------
// Sections
// -----------------------------------------------------------------------------

const summaryOf = (text: string) => text.split(/\n\s*\n/)[0]!.replace(/\s+/g, " ").trim()

const codeOfExample = (text: string): { readonly lang: string; readonly code: string } => {
  const fenced = /```(\w*)\n([\s\S]*?)```/.exec(text)
  return fenced === null ? { lang: "ts", code: text.trim() } : { lang: fenced[1] || "ts", code: fenced[2]!.trimEnd() }
}

const apiDocs = (analysis: Analysis, includeExamples: boolean): Section => {
  const blocks: Array<Block> = [
    { kind: "heading", level: 1, text: `${analysis.project} API` },
    { kind: "paragraph", text: analysis.description || `The exported API of ${analysis.project}.` }
  ]
  for (const module of analysis.modules) {
    blocks.push({ kind: "heading", level: 2, text: module.file })
    for (const symbol of module.symbols) {
      blocks.push({ kind: "heading", level: 3, text: `${symbol.name} (${symbol.kind})` })
      blocks.push({ kind: "code", lang: "ts", code: symbol.signature })
      if (symbol.documentation !== "") blocks.push({ kind: "paragraph", text: symbol.documentation })
      const tags = symbol.tags.filter((t) => t.name !== "example")
      if (tags.length > 0) blocks.push({ kind: "list", items: tags.map((t) => `@${t.name} ${t.text}`.trim()) })
      if (includeExamples) {
        for (const example of symbol.tags.filter((t) => t.name === "example")) {
          blocks.push({ kind: "code", ...codeOfExample(example.text) })
        }
      }
    }
  }
  return { id: "api", title: `${analysis.project} API`, blocks }
}

const userGuide = (analysis: Analysis): Section => {
  const blocks: Array<Block> = [
    { kind: "heading", level: 1, text: `${analysis.project} user guide` },
    { kind: "paragraph", text: analysis.description || (analysis.readme === undefined ? "" : summaryOf(analysis.readme.replace(/^#.*\n/, ""))) },
    { kind: "heading", level: 2, text: "Installation" },
    { kind: "code", lang: "sh", code: `npm install ${analysis.project}` },
    { kind: "heading", level: 2, text: "What is in the package" }
  ]
  for (const module of analysis.modules) {
    blocks.push({ kind: "heading", level: 3, text: module.file })
    blocks.push({
      kind: "list",
      items: module.symbols.map((s) => `\`${s.name}\` (${s.kind})${s.documentation === "" ? "" : `: ${summaryOf(s.documentation)}`}`)
    })
  }
  return { id: "user-guide", title: `${analysis.project} user guide`, blocks }
}

const importLine = (analysis: Analysis, names: ReadonlyArray<string>) =>
  `import { ${names.join(", ")} } from "${analysis.project}"`

const tutorial = (analysis: Analysis): Section => {
  const functions = analysis.modules.flatMap((m) => m.symbols.filter((s) => s.kind === "function" || (s.kind === "variable" && s.signature.includes("=>"))))
  const blocks: Array<Block> = [
    { kind: "heading", level: 1, text: `Getting started with ${analysis.project}` },
    { kind: "paragraph", text: `This tutorial walks through the ${functions.length} functions ${analysis.project} exports, one step each.` },
    { kind: "heading", level: 2, text: "Step 1: install" },
    { kind: "code", lang: "sh", code: `npm install ${analysis.project}` }
  ]
  functions.forEach((fn, i) => {
    blocks.push({ kind: "heading", level: 2, text: `Step ${i + 2}: ${fn.name}` })
    blocks.push({ kind: "paragraph", text: fn.documentation === "" ? `\`${fn.name}\` is defined in \`${fn.file}\`.` : summaryOf(fn.documentation) })
    blocks.push({ kind: "code", lang: "ts", code: `${importLine(analysis, [fn.name])}\n\n// ${fn.signature}` })
  })
  return { id: "tutorial", title: `Getting started with ${analysis.project}`, blocks }
}

const examples = (analysis: Analysis): Section => {
  const blocks: Array<Block> = [{ kind: "heading", level: 1, text: `${analysis.project} examples` }]
  for (const module of analysis.modules) {
    for (const symbol of module.symbols) {
      const given = symbol.tags.filter((t) => t.name === "example")
      if (given.length === 0 && symbol.kind !== "function" && !(symbol.kind === "variable" && symbol.signature.includes("=>"))) continue
      blocks.push({ kind: "heading", level: 2, text: symbol.name })
      if (given.length > 0) {
        for (const example of given) blocks.push({ kind: "code", ...codeOfExample(example.text) })
      } else {
        blocks.push({ kind: "code", lang: "ts", code: `${importLine(analysis, [symbol.name])}\n\n// ${symbol.signature}\n${symbol.name}(/* ... */)` })
      }
    }
  }
  return { id: "examples", title: `${analysis.project} examples`, blocks }
}

// -----------------------------------------------------------------------------
// Constructor
// -----------------------------------------------------------------------------

const defaultSources = (repo: string): Array<string> =>
  existsSync(join(repo, "src"))
    ? walk(join(repo, "src")).filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts") && !/\.test\.ts$|(^|\/)internal\//.test(f)).map((f) => `src/${f}`)
    : []

/**
 * The documentation workflow. Extend it with `.task(...)`, e.g. to publish the built files.
 *
 * @category constructors
 * @since 0.1.0
 */
export const documentation = (params: Parameters): DocumentationWorkflow => {
  const repo = resolve(params.repositoryPath)
  const outputDir = resolve(repo, params.outputPath ?? "docs-generated")
  const types = new Set(params.docTypes)
  const preRun = Template.decodeParameters(NAME, Parameters, params).pipe(
    Effect.andThen(Template.checkDirectory(NAME, "repositoryPath", repo)),
    Effect.andThen(Effect.suspend(() => {
      const files = params.sourceFiles ?? defaultSources(repo)
      const missing = files.filter((f) => !existsSync(join(repo, f)))
      return files.length === 0 || missing.length > 0
        ? Effect.fail(new NoSourceFiles({ template: NAME, repositoryPath: repo, missing }))
        : Effect.void
    }))
  )
  // The section tasks depend on `docTypes`: a dynamic workflow (errors checked against the declared ones),
  // given its typed outputs once, on return.
  let wf: Workflow.Dynamic<typeof NAME, void, Error> = Workflow.dynamic(
    NAME,
    Template.workflowOptions(NAME, `Documentation of ${params.repositoryPath}`, params)
  )
  wf = wf.task("analyze-codebase", {
    ...Template.task("analyze", { description: "exported symbols and JSDoc, through the TypeScript compiler API" }, () =>
      Effect.sync((): Analysis => {
        const files = [...(params.sourceFiles ?? defaultSources(repo))]
        const symbols = Ts.exportedSymbols(repo, files)
        const pkgFile = join(repo, "package.json")
        const pkg = existsSync(pkgFile) ? JSON.parse(readFileSync(pkgFile, "utf8")) as { name?: string; description?: string } : {}
        const readmeFile = join(repo, "README.md")
        return {
          project: pkg.name ?? repo.split("/").pop()!,
          description: pkg.description ?? "",
          readme: existsSync(readmeFile) ? readFileSync(readmeFile, "utf8") : undefined,
          modules: files.map((file) => ({ file, symbols: symbols.filter((s) => s.file === file) }))
        }
      })),
    check: (_: PlanNode) => preRun
  })
  const sectionTasks: Array<string> = []
  const addSection = (id: string, description: string, make: (analysis: Analysis) => Section) => {
    wf = wf.task(id, { dependsOn: ["analyze-codebase"], description }, (ctx) =>
      Effect.sync(() => make(ctx["analyze-codebase"] as Analysis)))
    sectionTasks.push(id)
  }
  if (types.has("api")) addSection("generate-api-docs", "API reference", (a) => apiDocs(a, params.includeExamples))
  if (types.has("user-guide")) addSection("write-user-guide", "user guide", userGuide)
  if (types.has("tutorial")) addSection("create-tutorial", "tutorial", tutorial)
  if (params.includeExamples) addSection("generate-examples", "examples", examples)
  const format = params.outputFormat
  wf = wf.task(
    "build-documentation",
    { dependsOn: ["analyze-codebase", ...sectionTasks], description: `render to ${format} and write ${outputDir}` },
    (ctx) =>
      Effect.suspend((): Effect.Effect<Built, DocumentationWriteError> => {
        const analysis = ctx["analyze-codebase"] as Analysis
        const sections = sectionTasks.map((id) => ctx[id] as Section)
        const index: Section = {
          id: "index",
          title: analysis.project,
          blocks: [
            { kind: "heading", level: 1, text: `${analysis.project} documentation` },
            ...(analysis.description === "" ? [] : [{ kind: "paragraph" as const, text: analysis.description }]),
            { kind: "list", items: sections.map((s) => `${s.title}: ${s.id}.${format}`) }
          ]
        }
        const written: Array<string> = []
        for (const section of [index, ...sections]) {
          const path = join(outputDir, `${section.id}.${format}`)
          try {
            mkdirSync(outputDir, { recursive: true })
            writeFileSync(path, render(section, format, format === "html" ? [index, ...sections] : []))
          } catch (e) {
            return Effect.fail(new DocumentationWriteError({ path, reason: e instanceof Error ? e.message : String(e) }))
          }
          written.push(path)
        }
        return Effect.succeed({ format, directory: outputDir, files: written })
      })
  )
  return wf as never
}

/**
 * The documentation template for registries and the command line.
 *
 * @category templates
 * @since 0.1.0
 */
export const template = Template.make({
  name: NAME,
  description: "Write API docs, a user guide, a tutorial and examples from a TypeScript code base (md, rst or html)",
  parameters: Parameters,
  make: documentation
})
