/**
 * The published form of @troupe/core: tsup builds ESM and .d.ts for every module, and the built code runs
 * a workflow (the `exports` map points `import` at `dist/*.js` and `types` at `dist/*.d.ts`).
 */
import { execFileSync } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { pathToFileURL } from "node:url"
import { afterAll, describe, expect, it } from "vitest"

const root = join(import.meta.dirname, "..")
const outDir = mkdtempSync(join(tmpdir(), "troupe-core-dist-"))
afterAll(() => rmSync(outDir, { recursive: true, force: true }))

describe("package build", () => {
  it("builds every module to ESM with declarations, and the build runs a workflow", async () => {
    const tsup = join(root, "..", "..", "node_modules", ".bin", "tsup")
    execFileSync(tsup, ["--out-dir", outDir, "--no-clean"], { cwd: root, stdio: "pipe" })
    const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
      exports: Record<string, { types: string; import: string } | null>
    }
    expect(manifest.exports["."]).toMatchObject({ types: "./dist/index.d.ts", import: "./dist/index.js" })
    for (const module of ["index", "Workflow", "Engine", "Plan", "Policy", "TaskCache"]) {
      expect(existsSync(join(outDir, `${module}.js`))).toBe(true)
      expect(existsSync(join(outDir, `${module}.d.ts`))).toBe(true)
    }
    expect(readFileSync(join(outDir, "Workflow.d.ts"), "utf8")).toContain("TaskMethod")
    const core = (await import(pathToFileURL(join(outDir, "index.js")).href)) as typeof import("@troupe/core")
    const { Effect } = await import("effect")
    const wf = core.workflow("built")
      .task("a", () => Effect.succeed(20))
      .task("b", { dependsOn: ["a"] }, ({ a }) => Effect.succeed(a + 1))
    const result = await Effect.runPromise(core.Engine.run(wf))
    expect(result.outputs).toEqual({ a: 20, b: 21 })
  }, 120_000)
})
