/**
 * Type tests for the templates' parameters, outputs, errors and services.
 */
import type { AgentRegistry } from "@troupe/agents"
import { Engine, Plan } from "@troupe/core"
import type { Command } from "@troupe/node"
import { Effect } from "effect"
import type { ChildProcessSpawner } from "effect/process"
import { expectTypeOf } from "vitest"
import { CiCd, CodeReview, Documentation, Etl, Template, Templates } from "@troupe/templates"

// --- CI/CD --------------------------------------------------------------------------------------------

const ci = CiCd.ciCd({ repositoryPath: ".", testCommand: "npm test", buildCommand: "npm run build" })
// Without a deploy target the workflow needs processes only; with one it needs a DeployTarget too.
expectTypeOf<Parameters<typeof Engine.run<typeof ci>>[0]>().toEqualTypeOf<typeof ci>()
expectTypeOf(Engine.run(ci)).toExtend<Effect.Effect<unknown, unknown, ChildProcessSpawner.ChildProcessSpawner>>()
const deploying = CiCd.ciCd({ repositoryPath: ".", testCommand: "t", buildCommand: "b", deployTarget: "staging" })
expectTypeOf<Effect.Services<ReturnType<typeof Engine.run<typeof deploying>>>>().toEqualTypeOf<
  ChildProcessSpawner.ChildProcessSpawner | CiCd.DeployTarget
>()

// Outputs: command results, optional scan and deploy.
type CiOut = Effect.Success<ReturnType<typeof Engine.run<typeof ci>>>["outputs"]
expectTypeOf<CiOut["run-tests"]>().toEqualTypeOf<Command.Result>()
expectTypeOf<CiOut["security-scan"]>().toEqualTypeOf<CiCd.SecurityReport | undefined>()
expectTypeOf<CiOut["deploy"]>().toEqualTypeOf<CiCd.Deployment | undefined>()

// Extending: a task reads the template's outputs by their seed ids.
const extended = ci.task("notify", { dependsOn: ["build-artifacts"] }, ({ "build-artifacts": built }) => {
  expectTypeOf(built.files).toEqualTypeOf<ReadonlyArray<{ readonly path: string; readonly size: number; readonly sha256: string }>>()
  return Effect.succeed(built.files.length)
})
expectTypeOf<Effect.Success<ReturnType<typeof Engine.run<typeof extended>>>["outputs"]["notify"]>().toEqualTypeOf<number>()

// @ts-expect-error a typo in a template task id is a compile error
ci.task("notify", { dependsOn: ["run-test"] }, () => Effect.void)
// @ts-expect-error the template's task ids are taken
ci.task("run-tests", () => Effect.void)

// Wrong parameters do not compile.
// @ts-expect-error testCommand is required
CiCd.ciCd({ repositoryPath: ".", buildCommand: "b" })
// @ts-expect-error runSecurityScan is a boolean
CiCd.ciCd({ repositoryPath: ".", testCommand: "t", buildCommand: "b", runSecurityScan: "yes" })
// @ts-expect-error maxParallel is a number
CiCd.ciCd({ repositoryPath: ".", testCommand: "t", buildCommand: "b", maxParallel: "4" })

// --- ETL ----------------------------------------------------------------------------------------------

const etl = Etl.etl({
  sources: [{ type: "csv", path: "a.csv", schema: { n: "number", name: "string?" } }, { type: "http", url: "http://127.0.0.1/x" }],
  transformationSteps: [{ type: "filter", field: "n", op: "gt", value: 1 }, { type: "limit", count: 10 }],
  destination: { type: "sqlite", path: "out.db", table: "t" },
  validateData: true,
  defaultTimeout: "1 minute",
  continueOnFailure: true,
  metadata: { owner: "data" }
})
expectTypeOf<Effect.Services<ReturnType<typeof Engine.run<typeof etl>>>>().toEqualTypeOf<never>()
expectTypeOf<Effect.Success<ReturnType<typeof Engine.run<typeof etl>>>["outputs"]["verify-load"]>().toEqualTypeOf<Etl.Verified>()
// @ts-expect-error an unknown source type
Etl.etl({ sources: [{ type: "ftp", path: "x" }], transformationSteps: [], destination: { type: "json", path: "o" }, validateData: true })
// @ts-expect-error an unknown field type in a row schema
Etl.etl({ sources: [{ type: "csv", path: "x", schema: { a: "float" } }], transformationSteps: [], destination: { type: "json", path: "o" }, validateData: true })
// @ts-expect-error an unknown comparison
Etl.etl({ sources: [{ type: "csv", path: "x" }], transformationSteps: [{ type: "filter", field: "a", op: "like" }], destination: { type: "json", path: "o" }, validateData: true })

// --- Code review ---------------------------------------------------------------------------------------

const review = CodeReview.codeReview({
  repositoryPath: ".",
  targetFiles: ["src/a.ts"],
  reviewFocus: ["security", "types"],
  generateReport: true,
  autoFix: false
})
expectTypeOf<Effect.Services<ReturnType<typeof Engine.run<typeof review>>>>().toEqualTypeOf<
  AgentRegistry.AgentRegistry | ChildProcessSpawner.ChildProcessSpawner
>()
expectTypeOf<Effect.Success<ReturnType<typeof Engine.run<typeof review>>>["outputs"]["security-analysis"]>().toEqualTypeOf<
  CodeReview.Review | undefined
>()
// @ts-expect-error an unknown focus
CodeReview.codeReview({ repositoryPath: ".", targetFiles: [], reviewFocus: ["vibes"], generateReport: true, autoFix: false })

// --- Documentation -------------------------------------------------------------------------------------

const docs = Documentation.documentation({ repositoryPath: ".", docTypes: ["api"], outputFormat: "html", includeExamples: true })
expectTypeOf<Effect.Success<ReturnType<typeof Engine.run<typeof docs>>>["outputs"]["build-documentation"]>().toEqualTypeOf<
  Documentation.Built
>()
// @ts-expect-error pdf is not an output format
Documentation.documentation({ repositoryPath: ".", docTypes: ["api"], outputFormat: "pdf", includeExamples: true })

// --- Registry ------------------------------------------------------------------------------------------

expectTypeOf<Templates.Name>().toEqualTypeOf<"ci-cd" | "etl" | "code-review" | "documentation">()
expectTypeOf(Templates.instantiate("etl", {})).toExtend<
  Effect.Effect<unknown, Template.TemplateNotFound | Template.TemplateParameterError>
>()
expectTypeOf(Plan.fromWorkflow(etl).continueOnFailure).toEqualTypeOf<boolean>()
