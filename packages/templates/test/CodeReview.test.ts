/**
 * The code review template on a real git repository: TypeScript diagnostics and the git diff go to LLM
 * agents (a scripted language model), the report is written, fixes are applied as patches and verified.
 */
import { execFileSync } from "node:child_process"
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { NodeServices } from "@effect/platform-node"
import { assert, describe, expect, it } from "@effect/vitest"
import { AgentRegistry, LlmAgent } from "@troupe/agents"
import { Engine, Plan } from "@troupe/core"
import { Cause, Effect, Layer, Option, Stream } from "effect"
import { LanguageModel } from "effect/ai"
import { CodeReview, Template } from "../src/index.ts"

/** A language model that answers from a function of the whole prompt (as JSON text). */
const scriptedModel = (
  answer: (prompt: string) => unknown,
  prompts: Array<string>
): Layer.Layer<LanguageModel.LanguageModel> =>
  Layer.effect(
    LanguageModel.LanguageModel,
    LanguageModel.make({
      generateText: (options) =>
        Effect.sync(() => {
          const prompt = JSON.stringify(options.prompt)
          prompts.push(prompt)
          return [{ type: "text" as const, text: JSON.stringify(answer(prompt)) }]
        }),
      streamText: () => Stream.empty
    })
  )

const git = (cwd: string, ...args: Array<string>) =>
  execFileSync("git", ["-c", "user.email=t@example.com", "-c", "user.name=t", ...args], { cwd, stdio: "pipe" })

const makeRepo = (): string => {
  const repo = mkdtempSync(join(tmpdir(), "troupe-review-"))
  mkdirSync(join(repo, "src"))
  writeFileSync(join(repo, "src/math.ts"), "export const add = (a: number, b: number): number => a + b\n")
  writeFileSync(join(repo, "tsconfig.json"), JSON.stringify({ compilerOptions: { strict: true, target: "ES2022", lib: ["ES2022"], types: [], module: "NodeNext", noEmit: true } }))
  git(repo, "init", "-q")
  git(repo, "add", ".")
  git(repo, "commit", "-q", "-m", "init")
  writeFileSync(
    join(repo, "src/math.ts"),
    [
      "export const add = (a: number, b: number): number => a + b",
      "",
      "export const total: number = add(1, \"2\")",
      "",
      "export const run = (code: string) => eval(code)",
      ""
    ].join("\n")
  )
  return repo
}

const answer = (prompt: string) => {
  if (prompt.includes("focus \\\"types\\\"")) {
    return {
      summary: "One type error.",
      findings: [{
        file: "src/math.ts",
        line: 3,
        severity: "high",
        message: "A string is passed where a number is expected (TS2345).",
        fix: { search: "add(1, \"2\")", replace: "add(1, 2)" }
      }]
    }
  }
  if (prompt.includes("focus \\\"security\\\"")) {
    return {
      summary: "eval on input.",
      findings: [{ file: "src/math.ts", line: 5, severity: "critical", message: "eval of a caller-supplied string." }]
    }
  }
  if (prompt.includes("focus \\\"style\\\"")) {
    return {
      summary: "Two suggestions that cannot be applied.",
      findings: [
        { file: "src/math.ts", severity: "low", message: "rename b", fix: { search: "const nothing", replace: "x" } },
        { file: "src/math.ts", severity: "low", message: "spacing", fix: { search: "export const", replace: "export  const" } }
      ]
    }
  }
  return { summary: "Nothing to say.", findings: [] }
}

const layers = (prompts: Array<string>) => {
  const reviewer = LlmAgent.make({ name: "reviewer", capabilities: ["code_analysis"], model: scriptedModel(answer, prompts) })
  return Layer.mergeAll(NodeServices.layer, AgentRegistry.layer([reviewer]))
}

describe("CodeReview.codeReview", () => {
  it.live("reviews with real signals, writes the report, applies the fixes as patches and verifies them", () =>
    Effect.gen(function*() {
      const repo = makeRepo()
      const prompts: Array<string> = []
      const wf = CodeReview.codeReview({
        repositoryPath: repo,
        targetFiles: ["src/math.ts"],
        reviewFocus: ["types", "security", "style"],
        generateReport: true,
        autoFix: true
      })
      expect(Plan.fromWorkflow(wf).nodes.map((n) => n.id)).toEqual([
        "collect-static-signals",
        "type-check",
        "security-analysis",
        "style-check",
        "generate-review-report",
        "auto-fix",
        "verify-fixes"
      ])
      const result = yield* Engine.run(wf).pipe(Effect.provide(layers(prompts)))

      const signals = result.outputs["collect-static-signals"]
      expect(signals.diagnostics.map((d) => [d.file, d.line, d.code])).toEqual([["src/math.ts", 3, 2345]])
      expect(signals.diff).toContain("+export const total: number = add(1, \"2\")")
      // The agents saw the real signals.
      expect(prompts).toHaveLength(3)
      expect(prompts.every((p) => p.includes("TS2345") || p.includes("2345"))).toBe(true)
      expect(prompts.some((p) => p.includes("eval(code)"))).toBe(true)

      const report = result.outputs["generate-review-report"]!
      expect(readFileSync(report.path, "utf8")).toBe(report.markdown)
      expect(report.markdown).toContain("# Code review")
      expect(report.markdown).toContain("| critical | 1 |")
      expect(report.markdown).toContain("## security (`security-analysis`)")
      expect(report.markdown).toContain("TS2345")
      expect(report.findings).toBe(4)

      const fixes = result.outputs["auto-fix"]!
      expect(fixes.applied).toHaveLength(1)
      expect(fixes.skipped.map((f) => f.reason)).toEqual([
        "the text to replace is not in the file",
        "the text to replace is not unique"
      ])
      expect(fixes.patches).toHaveLength(1)
      expect(readFileSync(join(repo, "src/math.ts"), "utf8")).toContain("add(1, 2)")
      const patch = readFileSync(fixes.patches[0]!.path, "utf8")
      expect(patch).toContain("-export const total: number = add(1, \"2\")")
      expect(patch).toContain("+export const total: number = add(1, 2)")

      const verified = result.outputs["verify-fixes"]!
      expect(verified).toMatchObject({ before: 1, after: 0, patchesChecked: 1 })
      expect(verified.resolved[0]).toContain("TS2345")
      // The patch reverts the fix (git agrees it describes the change).
      git(repo, "apply", "--reverse", fixes.patches[0]!.path)
      expect(readFileSync(join(repo, "src/math.ts"), "utf8")).toContain("add(1, \"2\")")
      rmSync(repo, { recursive: true, force: true })
    }))

  it.live("only the focus tasks asked for; no report or fixes unless asked; outside git there is no diff", () =>
    Effect.gen(function*() {
      const repo = makeRepo()
      rmSync(join(repo, ".git"), { recursive: true, force: true })
      const wf = CodeReview.codeReview({
        repositoryPath: repo,
        targetFiles: ["src/math.ts"],
        reviewFocus: ["performance"],
        generateReport: false,
        autoFix: false
      })
      expect(Plan.fromWorkflow(wf).nodes.map((n) => n.id)).toEqual(["collect-static-signals", "performance-analysis"])
      const result = yield* Engine.run(wf).pipe(Effect.provide(layers([])))
      expect(result.outputs["performance-analysis"]).toEqual({ summary: "Nothing to say.", findings: [] })
      expect(result.outputs["collect-static-signals"].diff).toBeUndefined()
      expect(result.outputs["collect-static-signals"].diagnostics).toHaveLength(1)
      expect(existsSync(join(repo, ".troupe"))).toBe(false)
      rmSync(repo, { recursive: true, force: true })
    }))

  it.live("a target file that does not exist fails before the run; bad parameters name the parameter", () =>
    Effect.gen(function*() {
      const repo = makeRepo()
      const error = yield* Engine.run(CodeReview.codeReview({
        repositoryPath: repo,
        targetFiles: ["src/nope.ts"],
        reviewFocus: ["types"],
        generateReport: true,
        autoFix: false
      })).pipe(Effect.provide(layers([])), Effect.flip)
      assert(error._tag === "WorkflowFailed")
      expect(error.completed).toEqual([])
      expect(Option.getOrUndefined(Cause.findErrorOption(error.failures[0]!.cause))).toMatchObject({
        _tag: "TargetFileNotFound",
        file: "src/nope.ts"
      })
      const bad = yield* Template.instantiate(CodeReview.template, {
        repositoryPath: repo,
        targetFiles: ["src/math.ts"],
        reviewFocus: ["types", "vibes"],
        generateReport: true,
        autoFix: false
      }).pipe(Effect.flip)
      expect(bad).toMatchObject({ template: "code-review", parameter: "reviewFocus[1]" })
      rmSync(repo, { recursive: true, force: true })
    }))

  it("unifiedDiff writes a patch git accepts", () => {
    const dir = mkdtempSync(join(tmpdir(), "troupe-diff-"))
    git(dir, "init", "-q")
    const before = Array.from({ length: 12 }, (_, i) => `line ${i + 1}`).join("\n") + "\n"
    const after = before.replace("line 6\n", "line six\nline 6b\n")
    writeFileSync(join(dir, "f.txt"), before)
    writeFileSync(join(dir, "f.patch"), CodeReview.unifiedDiff("f.txt", before, after))
    git(dir, "apply", "f.patch")
    expect(readFileSync(join(dir, "f.txt"), "utf8")).toBe(after)
    rmSync(dir, { recursive: true, force: true })
  })
})
