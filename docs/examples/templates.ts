/**
 * Templates (docs/templates.md): run the CI/CD template on a small repository and extend it with a task of
 * your own, run the ETL template on a public dataset, use a command task, document and review a small
 * library, and build a template's workflow from raw parameters the way the command line does.
 *
 * Run: npx node --conditions=source docs/examples/templates.ts
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { NodeServices } from "@effect/platform-node"
import { Engine, Plan, Workflow } from "@troupe/core"
import { Command } from "@troupe/node"
import { AgentRegistry, LlmAgent } from "@troupe/agents"
import { CiCd, CodeReview, Documentation, Etl, Template, Templates } from "@troupe/templates"
import { Effect, Layer, Stream } from "effect"
import { LanguageModel } from "effect/ai"

// A small repository to build: a module, a test, a build script.
const makeRepository = (): string => {
  const repo = mkdtempSync(join(tmpdir(), "troupe-docs-templates-"))
  mkdirSync(join(repo, "src"))
  mkdirSync(join(repo, "test"))
  writeFileSync(join(repo, "package.json"), JSON.stringify({ name: "greeter", type: "module", private: true }))
  writeFileSync(join(repo, "src", "greet.js"), "export const greet = (name) => `hello ${name}`\n")
  writeFileSync(
    join(repo, "test", "greet.test.js"),
    "import { test } from 'node:test'\nimport assert from 'node:assert'\nimport { greet } from '../src/greet.js'\n" +
      "test('greets', () => assert.strictEqual(greet('ada'), 'hello ada'))\n"
  )
  writeFileSync(
    join(repo, "build.js"),
    "import { cpSync } from 'node:fs'\ncpSync('src', 'dist', { recursive: true })\nconsole.log('copied src to dist')\n"
  )
  return repo
}

// 1. CI/CD, extended with a task that reads two of the template's outputs (typed, by their ids).
export const ciCdExample = Effect.gen(function*() {
  const repo = makeRepository()
  const releases = mkdtempSync(join(tmpdir(), "troupe-docs-releases-"))
  const lines: Array<string> = []
  const wf = CiCd.ciCd({
    repositoryPath: repo,
    lintCommand: "node --check src/greet.js",
    formatCommand: "node -e \"process.exit(0)\"",
    testCommand: "node --test",
    buildCommand: "node build.js",
    deployTarget: "production",
    defaultTimeout: "2 minutes"
  }).task(
    "summary",
    { dependsOn: ["run-tests", "build-artifacts"] },
    ({ "run-tests": tests, "build-artifacts": built }) =>
      Effect.succeed(`tests took ${tests.durationMs >= 0 ? "some" : "no"} time; built ${built.files.map((f) => f.path).join(", ")}`)
  )
  const result = yield* Engine.run(wf).pipe(
    // Processes, and where `deploy` puts the artifacts.
    Effect.provide(Layer.mergeAll(NodeServices.layer, CiCd.DeployTarget.localDirectory(releases))),
    // Every line the commands print.
    Effect.provideService(Command.OutputListener, (line) => lines.push(`[${line.taskId}] ${line.line}`))
  )
  rmSync(repo, { recursive: true, force: true })
  rmSync(releases, { recursive: true, force: true })
  return { summary: result.outputs.summary, deployed: result.outputs.deploy?.files, buildLog: lines.filter((l) => l.startsWith("[build")) }
})

// 2. ETL on a public dataset shipped by the vega-datasets npm package: rainy days per month in Seattle.
export const etlExample = Effect.gen(function*() {
  const out = join(mkdtempSync(join(tmpdir(), "troupe-docs-etl-")), "rain.json")
  const weather = join(import.meta.dirname, "..", "..", "node_modules", "vega-datasets", "data", "seattle-weather.csv")
  const result = yield* Engine.run(Etl.etl({
    sources: [{ type: "csv", path: weather, schema: { date: "date", precipitation: "number", weather: "string" } }],
    transformationSteps: [
      { type: "filter", field: "weather", op: "eq", value: "rain" },
      { type: "aggregate", groupBy: ["weather"], aggregates: { days: { op: "count" }, wettest: { op: "max", field: "precipitation" } } }
    ],
    destination: { type: "json", path: out },
    validateData: true
  }))
  return { extracted: result.outputs["validate-extracted-data"].extracted, loaded: result.outputs["verify-load"].rows }
})

// 3. A command task in a workflow of your own: its output lines are run events.
export const commandExample = Effect.gen(function*() {
  const lines: Array<string> = []
  const wf = Workflow.make("versions")
    .task("node-version", Command.task(Command.parse("node --version"), { timeout: "30 seconds" }))
    .task("major", { dependsOn: ["node-version"] }, ({ "node-version": v }) => Effect.succeed(Number(v.stdout.slice(1).split(".")[0])))
  const result = yield* Engine.run(wf, undefined, {
    onEvent: (event) => {
      if (event._tag === "TaskOutput") lines.push(`[${event.taskId}] ${event.line}`)
    }
  }).pipe(Effect.provide(NodeServices.layer))
  return { major: result.outputs.major, lines }
})

// 4. Documentation of a small library, as HTML; 5. a code review by an agent on a scripted model (the layer
// a test swaps in for a real provider such as OpenAiCompatible).
const makeLibrary = (): string => {
  const repo = mkdtempSync(join(tmpdir(), "troupe-docs-lib-"))
  mkdirSync(join(repo, "src"))
  writeFileSync(join(repo, "package.json"), JSON.stringify({ name: "tiny-math", description: "Small math helpers." }))
  writeFileSync(
    join(repo, "src", "index.ts"),
    "/**\n * Adds two numbers.\n * @example\n * add(1, 2) // 3\n */\nexport const add = (a: number, b: number): number => a + b\n" +
      "\nexport const half: number = add(1, \"1\")\n"
  )
  return repo
}

export const documentationExample = Effect.gen(function*() {
  const repo = makeLibrary()
  const result = yield* Engine.run(Documentation.documentation({
    repositoryPath: repo,
    docTypes: ["api", "user-guide"],
    outputFormat: "html",
    includeExamples: true
  }))
  const built = result.outputs["build-documentation"]
  const api = readFileSync(join(built.directory, "api.html"), "utf8")
  rmSync(repo, { recursive: true, force: true })
  return { files: built.files.map((f) => f.slice(built.directory.length + 1)), documentsAdd: api.includes("Adds two numbers.") }
})

const scriptedModel = Layer.effect(
  LanguageModel.LanguageModel,
  LanguageModel.make({
    generateText: () =>
      Effect.succeed([{
        type: "text" as const,
        text: JSON.stringify({
          summary: "A string is added to a number.",
          findings: [{
            file: "src/index.ts",
            line: 7,
            severity: "high",
            message: "add(1, \"1\") passes a string",
            fix: { search: "add(1, \"1\")", replace: "add(1, 1)" }
          }]
        })
      }]),
    streamText: () => Stream.empty
  })
)

export const codeReviewExample = Effect.gen(function*() {
  const repo = makeLibrary()
  const reviewer = LlmAgent.make({ name: "reviewer", capabilities: ["code_analysis"], model: scriptedModel })
  const result = yield* Engine.run(CodeReview.codeReview({
    repositoryPath: repo,
    targetFiles: ["src/index.ts"],
    reviewFocus: ["types"],
    generateReport: true,
    autoFix: true
  })).pipe(Effect.provide(Layer.mergeAll(NodeServices.layer, AgentRegistry.layer([reviewer]))))
  rmSync(repo, { recursive: true, force: true })
  return {
    diagnostics: result.outputs["collect-static-signals"].diagnostics.map((d) => `TS${d.code}`),
    afterFix: result.outputs["verify-fixes"]?.after,
    reportStartsWith: result.outputs["generate-review-report"]?.markdown.split("\n")[0]
  }
})

// 6. What a command line does: list the templates, build one from raw (JSON) parameters checked by its Schema.
export const registryExample = Effect.gen(function*() {
  const names = Templates.list().map((t) => t.name)
  const wf = yield* Templates.instantiate("documentation", {
    repositoryPath: ".",
    docTypes: ["api", "tutorial"],
    outputFormat: "html",
    includeExamples: true
  })
  const error = yield* Templates.instantiate("etl", { sources: "data.csv" }).pipe(Effect.flip)
  return { names, tasks: Plan.fromWorkflow(wf).nodes.map((n) => n.id), error: error.message }
})

if (import.meta.main) {
  Effect.runPromise(Effect.all([ciCdExample, etlExample, commandExample, documentationExample, codeReviewExample, registryExample])).then((r) => console.log(r))
}
