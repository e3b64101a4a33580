/**
 * The common parameters are carried by the workflow a template returns, so a plain `Engine.run` of it (or
 * of a workflow extended from it), without run options, honours them: `continueOnFailure`, `maxParallel`,
 * `defaultTimeout`.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Engine, Plan } from "@troupe/core"
import { Cause, Effect, Fiber, Option } from "effect"
import { TestClock } from "effect/testing"
import { Documentation, Templates } from "../src/index.ts"

const makeLibrary = (): string => {
  const repo = mkdtempSync(join(tmpdir(), "troupe-common-"))
  mkdirSync(join(repo, "src"), { recursive: true })
  writeFileSync(join(repo, "src", "index.ts"), "/** Adds. */\nexport const add = (a: number, b: number) => a + b\n")
  return repo
}

const docs = (repo: string, common: Record<string, unknown>) =>
  Documentation.documentation({
    repositoryPath: repo,
    docTypes: ["api"],
    outputFormat: "md",
    includeExamples: false,
    outputPath: join(repo, "out"),
    ...common
  })

describe("common parameters are carried by the template's workflow", () => {
  it.effect("every template's Plan has maxParallel, defaultTimeout and continueOnFailure", () =>
    Effect.gen(function*() {
      const common = { maxParallel: 3, defaultTimeout: "2 minutes", continueOnFailure: true, metadata: { team: "t" } }
      const raw = {
        "ci-cd": { repositoryPath: ".", testCommand: "npm test", buildCommand: "npm run build" },
        etl: {
          sources: [{ type: "csv", path: "a.csv" }],
          transformationSteps: [],
          destination: { type: "json", path: "out.json" },
          validateData: false
        },
        "code-review": {
          repositoryPath: ".",
          targetFiles: ["a.ts"],
          reviewFocus: ["security"],
          generateReport: false,
          autoFix: false
        },
        documentation: { repositoryPath: ".", docTypes: ["api"], outputFormat: "md", includeExamples: false }
      }
      for (const [name, params] of Object.entries(raw)) {
        const plan = Plan.fromWorkflow(yield* Templates.instantiate(name, { ...params, ...common }))
        expect([name, plan.maxParallel, plan.defaultTimeoutMs, plan.continueOnFailure]).toEqual([name, 3, 120_000, true])
        expect(plan.metadata).toEqual({ team: "t", template: name })
        const plain = Plan.fromWorkflow(yield* Templates.instantiate(name, params))
        expect([name, plain.maxParallel, plain.defaultTimeoutMs, plain.continueOnFailure]).toEqual([name, undefined, undefined, false])
      }
    }))

  it.effect("continueOnFailure: a failed task added to the template does not stop the others (plain Engine.run)", () =>
    Effect.gen(function*() {
      const repo = makeLibrary()
      // maxParallel 1 and the highest priority: `boom` runs (and fails) before anything else starts.
      const extend = (common: Record<string, unknown>) =>
        docs(repo, { maxParallel: 1, ...common }).task("boom", { priority: 10 }, () => Effect.fail("boom" as const))

      const kept = yield* Effect.flip(Engine.run(extend({ continueOnFailure: true })))
      expect(kept._tag).toBe("WorkflowFailed")
      if (kept._tag === "WorkflowFailed") {
        expect(kept.failures.map((f) => f.taskId)).toEqual(["boom"])
        expect([...kept.completed].sort()).toEqual(["analyze-codebase", "build-documentation", "generate-api-docs"])
      }

      const stopped = yield* Effect.flip(Engine.run(extend({})))
      expect(stopped._tag === "WorkflowFailed" ? stopped.completed : undefined).toEqual([])
      rmSync(repo, { recursive: true, force: true })
    }))

  it.effect("defaultTimeout: a task added without a timeout gets the template's", () =>
    Effect.gen(function*() {
      const repo = makeLibrary()
      const wf = docs(repo, { defaultTimeout: "1 minute" }).task("slow", { dependsOn: ["build-documentation"] }, () =>
        Effect.sleep("10 minutes").pipe(Effect.as("done")))
      const fiber = yield* Effect.forkChild(Effect.flip(Engine.run(wf)))
      yield* TestClock.adjust("2 minutes")
      const error = yield* Fiber.join(fiber)
      expect(error._tag).toBe("WorkflowFailed")
      const failure = error._tag === "WorkflowFailed" ? error.failures[0] : undefined
      expect(failure?.taskId).toBe("slow")
      expect(Option.getOrUndefined(Cause.findErrorOption(failure!.cause))).toMatchObject({ _tag: "TaskTimeout" })
      rmSync(repo, { recursive: true, force: true })
    }))
})
