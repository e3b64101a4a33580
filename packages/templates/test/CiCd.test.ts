/**
 * The CI/CD template on a real (temporary) repository: every step is a real process.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { NodeServices } from "@effect/platform-node"
import { assert, describe, expect, it } from "@effect/vitest"
import { Command } from "@troupe/node"
import { Engine, Plan } from "@troupe/core"
import { Cause, Deferred, Effect, Exit, Fiber, Layer, Option } from "effect"
import { TestClock } from "effect/testing"
import { CiCd, Template } from "../src/index.ts"

const makeRepo = (files: Record<string, string>): string => {
  const dir = mkdtempSync(join(tmpdir(), "troupe-cicd-"))
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(dir, path, ".."), { recursive: true })
    writeFileSync(join(dir, path), content)
  }
  return dir
}

const app = {
  "src/sum.js": "export const sum = (a, b) => a + b\n",
  "test/sum.test.js": [
    "import { test } from 'node:test'",
    "import assert from 'node:assert'",
    "import { sum } from '../src/sum.js'",
    "test('sum', () => { console.log('checking sum'); assert.strictEqual(sum(2, 3), 5) })",
    ""
  ].join("\n"),
  "scripts/lint.js": "console.log('lint: 1 file ok')\n",
  "scripts/build.js": [
    "import { mkdirSync, copyFileSync } from 'node:fs'",
    "mkdirSync('dist', { recursive: true })",
    "copyFileSync('src/sum.js', 'dist/sum.js')",
    "console.log('built dist/sum.js')",
    ""
  ].join("\n"),
  "package.json": JSON.stringify({ name: "app", type: "module", private: true })
}

const params = (repositoryPath: string) => ({
  repositoryPath,
  lintCommand: "node scripts/lint.js",
  formatCommand: "node -e \"console.log('formatted')\"",
  testCommand: "node --test --test-reporter=tap",
  buildCommand: "node scripts/build.js"
})

const firstError = (error: unknown) => {
  assert((error as { _tag: string })._tag === "WorkflowFailed")
  const failures = (error as { failures: ReadonlyArray<{ taskId: string; cause: Cause.Cause<unknown> }> }).failures
  return failures.map((f) => ({ taskId: f.taskId, error: Option.getOrUndefined(Cause.findErrorOption(f.cause)) }))
}

describe("CiCd.ciCd", () => {
  it.live("lints, tests, scans, builds and deploys to a local directory, with the seed's task ids", () =>
    Effect.gen(function*() {
      const repo = makeRepo(app)
      const releases = mkdtempSync(join(tmpdir(), "troupe-releases-"))
      const lines: Array<Command.OutputLine> = []
      const wf = CiCd.ciCd({ ...params(repo), deployTarget: "staging", maxParallel: 2, metadata: { team: "core" } })
      const plan = Plan.fromWorkflow(wf)
      expect(plan.nodes.map((n) => n.id)).toEqual([
        "lint-code",
        "check-formatting",
        "run-tests",
        "security-scan",
        "build-artifacts",
        "deploy"
      ])
      expect(plan.maxParallel).toBe(2)
      expect(plan.metadata).toMatchObject({ team: "core", template: "ci-cd" })
      expect(plan.continueOnFailure).toBe(false)
      const result = yield* Engine.run(wf).pipe(
        Effect.provide(Layer.mergeAll(NodeServices.layer, CiCd.DeployTarget.localDirectory(releases))),
        Effect.provideService(Command.OutputListener, (line) => lines.push(line))
      )
      expect(result.outputs["lint-code"].stdout).toBe("lint: 1 file ok")
      expect(result.outputs["run-tests"].stdout).toContain("# pass 1")
      expect(result.outputs["security-scan"]?.findings).toEqual([])
      expect(result.outputs["build-artifacts"].files.map((f) => f.path)).toEqual(["sum.js"])
      expect(result.outputs.deploy?.files).toBe(1)
      expect(readFileSync(join(releases, "staging", "sum.js"), "utf8")).toBe(app["src/sum.js"])
      expect(JSON.parse(readFileSync(join(releases, "staging", "troupe-release.json"), "utf8")).target).toBe("staging")
      expect(lines).toContainEqual({ taskId: "build-artifacts", stream: "stdout", line: "built dist/sum.js" })
      expect(lines.some((l) => l.taskId === "run-tests" && l.line.includes("checking sum"))).toBe(true)
      rmSync(repo, { recursive: true, force: true })
      rmSync(releases, { recursive: true, force: true })
    }))

  it.live("failing tests fail run-tests with the exit code and the output's tail; nothing is built", () =>
    Effect.gen(function*() {
      const repo = makeRepo({ ...app, "src/sum.js": "export const sum = (a, b) => a - b\n" })
      const error = yield* Engine.run(CiCd.ciCd({ ...params(repo), runSecurityScan: false })).pipe(
        Effect.provide(NodeServices.layer),
        Effect.flip
      )
      const [failure] = firstError(error)
      expect(failure!.taskId).toBe("run-tests")
      assert(Command.isCommandError(failure!.error) && failure!.error._tag === "CommandFailed")
      expect(failure!.error.exitCode).toBe(1)
      expect(failure!.error.tail.join("\n")).toContain("# fail 1")
      expect((error as { completed: ReadonlyArray<string> }).completed).not.toContain("build-artifacts")
      rmSync(repo, { recursive: true, force: true })
    }))

  it.live("continueOnFailure: a formatting failure still lets the security scan finish", () =>
    Effect.gen(function*() {
      const repo = makeRepo(app)
      const wf = CiCd.ciCd({ ...params(repo), formatCommand: "node -e \"process.exit(4)\"", continueOnFailure: true })
      const error = yield* Engine.run(wf).pipe(
        Effect.provide(NodeServices.layer),
        Effect.flip
      )
      expect(firstError(error).map((f) => f.taskId)).toEqual(["check-formatting"])
      expect((error as { completed: ReadonlyArray<string> }).completed).toEqual(
        expect.arrayContaining(["lint-code", "security-scan"])
      )
      rmSync(repo, { recursive: true, force: true })
    }))

  it.live("an extra scanner runs in security-scan; a deploy target of your own is a service", () =>
    Effect.gen(function*() {
      const repo = makeRepo(app)
      const requests: Array<string> = []
      const Refusing = Layer.succeed(CiCd.DeployTarget, {
        deploy: ({ target, artifacts }) =>
          Effect.sync(() => requests.push(`${target}:${artifacts.files.length}`)).pipe(
            Effect.andThen(Effect.fail(new CiCd.DeployError({ target, reason: "maintenance window" })))
          )
      })
      const wf = CiCd.ciCd({
        ...params(repo),
        securityScanCommand: "node -e \"console.log('0 vulnerabilities')\"",
        deployTarget: "prod"
      })
      const error = yield* Engine.run(wf).pipe(Effect.provide(Layer.mergeAll(NodeServices.layer, Refusing)), Effect.flip)
      expect(requests).toEqual(["prod:1"])
      expect(firstError(error)).toEqual([{
        taskId: "deploy",
        error: expect.objectContaining({ _tag: "DeployError", target: "prod", reason: "maintenance window" })
      }])
      const scan = (error as { outputs: Record<string, CiCd.SecurityReport> }).outputs["security-scan"]!
      expect(scan.scanner?.stdout).toBe("0 vulnerabilities")
      expect(scan.scannedFiles).toBeGreaterThanOrEqual(4)
      rmSync(repo, { recursive: true, force: true })
    }))

  it.live("the security scan fails on a committed secret, naming the file and line", () =>
    Effect.gen(function*() {
      const repo = makeRepo({ ...app, "src/config.js": "export const config = {\n  apiKey: \"sk-live-1234567890abcdef\"\n}\n" })
      const error = yield* Engine.run(CiCd.ciCd(params(repo))).pipe(Effect.provide(NodeServices.layer), Effect.flip)
      const failure = firstError(error).find((f) => f.taskId === "security-scan")!
      assert(failure.error instanceof CiCd.SecurityIssuesFound)
      expect(failure.error.summary).toEqual([expect.stringContaining("hardcoded-secret at src/config.js:2")])
      rmSync(repo, { recursive: true, force: true })
    }))

  it.live("bad input fails before any task runs: a missing repository, a program that is not installed", () =>
    Effect.gen(function*() {
      const missing = yield* Engine.run(CiCd.ciCd(params("/no/such/repo"))).pipe(
        Effect.provide(NodeServices.layer),
        Effect.flip
      )
      const [repoFailure] = firstError(missing)
      expect(repoFailure).toMatchObject({
        taskId: "lint-code",
        error: { _tag: "RepositoryNotFound", template: "ci-cd", parameter: "repositoryPath" }
      })
      expect((missing as { completed: ReadonlyArray<string> }).completed).toEqual([])

      const repo = makeRepo(app)
      const notInstalled = yield* Engine.run(CiCd.ciCd({ ...params(repo), testCommand: "troupe-test-runner --ci" })).pipe(
        Effect.provide(NodeServices.layer),
        Effect.flip
      )
      expect(firstError(notInstalled)).toEqual([{
        taskId: "run-tests",
        error: expect.objectContaining({ _tag: "CommandNotFound", command: "troupe-test-runner", taskId: "run-tests" })
      }])
      expect((notInstalled as { completed: ReadonlyArray<string> }).completed).toEqual([])
      rmSync(repo, { recursive: true, force: true })
    }))

  it.effect("a command past commandTimeout fails its task with CommandTimedOut and its process tree is killed", () =>
    Effect.gen(function*() {
      const repo = makeRepo({
        ...app,
        // The tests start a child process that never ends, and print its pid.
        "test/hang.js": [
          "import { spawn } from 'node:child_process'",
          "const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' })",
          "console.log(child.pid)",
          "setInterval(() => {}, 1000)",
          ""
        ].join("\n")
      })
      const started = yield* Deferred.make<number>()
      const fiber = yield* Engine.run(
        CiCd.ciCd({ ...params(repo), testCommand: "node test/hang.js", commandTimeout: "10 minutes", runSecurityScan: false })
      ).pipe(
        Effect.provide(NodeServices.layer),
        Effect.provideService(Command.OutputListener, (line) => {
          if (line.taskId === "run-tests") Deferred.doneUnsafe(started, Exit.succeed(Number(line.line)))
        }),
        Effect.flip,
        Effect.forkChild
      )
      const grandchild = yield* Deferred.await(started)
      yield* TestClock.adjust("10 minutes")
      const [failure] = firstError(yield* Fiber.join(fiber))
      expect(failure).toMatchObject({ taskId: "run-tests", error: { _tag: "CommandTimedOut", timeoutMs: 600_000 } })
      const alive = () => {
        try {
          process.kill(grandchild, 0)
          return true
        } catch {
          return false
        }
      }
      for (let i = 0; i < 100 && alive(); i++) yield* Effect.promise(() => new Promise((r) => setTimeout(r, 20)))
      expect(alive()).toBe(false)
      rmSync(repo, { recursive: true, force: true })
    }))

  it.effect("parameters from data are decoded with the Schema; failures name the template and the parameter", () =>
    Effect.gen(function*() {
      const error = yield* Template.instantiate(CiCd.template, {
        repositoryPath: ".",
        testCommand: "npm test",
        buildCommand: 42
      }).pipe(Effect.flip)
      expect(error).toMatchObject({ _tag: "TemplateParameterError", template: "ci-cd", parameter: "buildCommand" })
      expect(error.message).toContain(`Template "ci-cd": parameter "buildCommand"`)
      const timeout = yield* Template.instantiate(CiCd.template, {
        repositoryPath: ".",
        testCommand: "npm test",
        buildCommand: "npm run build",
        defaultTimeout: "soon"
      }).pipe(Effect.flip)
      expect(timeout.parameter).toBe("defaultTimeout")
      const wf = yield* Template.instantiate(CiCd.template, {
        repositoryPath: ".",
        testCommand: "npm test",
        buildCommand: "npm run build",
        runSecurityScan: false,
        defaultTimeout: "5 minutes"
      })
      const plan = Plan.fromWorkflow(wf)
      expect(plan.nodes.map((n) => n.id)).toEqual(["lint-code", "check-formatting", "run-tests", "build-artifacts"])
      expect(plan.defaultTimeoutMs).toBe(300_000)
    }))
})
