/**
 * Packaging, as a user installs it: build the @troupe packages the CLI needs (JavaScript only: the types
 * are checked by `npm run typecheck`), `npm pack` them, install the tarballs into a fresh project and run
 * `troupe` there (the launcher runs dist/ when installed; third-party dependencies come from the npm cache).
 */
import { describe, expect, it } from "@effect/vitest"
import { execFileSync } from "node:child_process"
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { repo, troupe } from "./helpers.ts"

const packages = ["core", "agents", "cel", "node", "visualize", "durable", "templates", "cli"]
const npm = (args: ReadonlyArray<string>, cwd: string) =>
  execFileSync("npm", [...args], { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, npm_config_fund: "false", npm_config_audit: "false" } })

describe("npm pack + install into a fresh project", { timeout: 600_000 }, () => {
  it("`troupe run` works from the installed tarballs", async () => {
    const dir = mkdtempSync(join(tmpdir(), "troupe-pack-"))
    try {
    const tarballs = join(dir, "tarballs")
    mkdirSync(tarballs)
    for (const name of packages) {
      npm(["run", "build", "-w", `@troupe/${name}`, "--", "--no-dts"], repo)
      npm(["pack", "-w", `@troupe/${name}`, "--pack-destination", tarballs], repo)
    }
    const files = readdirSync(tarballs).filter((f) => f.endsWith(".tgz"))
    expect(files).toHaveLength(packages.length)
    const project = join(dir, "project")
    mkdirSync(project)
    const effectVersion = (await import("effect/package.json", { with: { type: "json" } })).default.version
    writeFileSync(
      join(project, "package.json"),
      JSON.stringify({
        name: "troupe-pack-test",
        private: true,
        type: "module",
        dependencies: {
          effect: effectVersion,
          ...Object.fromEntries(files.map((f) => [`@troupe/${f.replace(/^troupe-(.*)-\d+\.\d+\.\d+\.tgz$/, "$1")}`, `file:${join(tarballs, f)}`]))
        }
      }, null, 2)
    )
    npm(["install", "--prefer-offline", "--no-audit", "--no-fund", "--ignore-scripts"], project)
    writeFileSync(
      join(project, "ci.yaml"),
      "id: ci\ntasks:\n  - id: build\n    task_type: echo\n    parameters: { value: built }\n  - id: test\n    task_type: sleep\n    depends_on: [build]\n    parameters: { ms: 10, value: passed }\n"
    )
    writeFileSync(
      join(project, "workflow.ts"),
      "import { Workflow } from \"@troupe/core\"\nimport { Effect } from \"effect\"\n" +
        "export default Workflow.make(\"pkg\").task(\"a\", () => Effect.succeed(40)).task(\"b\", { dependsOn: [\"a\"] }, ({ a }) => Effect.succeed(a + 2))\n"
    )
    const launcher = join(project, "node_modules", ".bin", "troupe")
    const definition = await troupe(["run", "ci.yaml"], { cwd: project, program: launcher })
    expect(definition.code, definition.stderr).toBe(0)
    expect(JSON.parse(definition.stdout)).toStrictEqual({ build: "built", test: "passed" })
    const module = await troupe(["run", "workflow.ts"], { cwd: project, program: launcher })
    expect(module.code, module.stderr).toBe(0)
    expect(JSON.parse(module.stdout)).toStrictEqual({ a: 40, b: 42 })
    const version = await troupe(["--version"], { cwd: project, program: launcher })
    expect(version.stdout.trim()).toBe("troupe v0.1.0")
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
