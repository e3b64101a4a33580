/**
 * The published form of @troupe/templates: the tsup build keeps `node:` prefixes (`node:sqlite` has no
 * unprefixed name) and leaves its dependencies (@troupe/*, effect, @effect/platform-node, typescript) external.
 */
import { execFileSync } from "node:child_process"
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"

const root = join(import.meta.dirname, "..")
const outDir = mkdtempSync(join(tmpdir(), "troupe-templates-dist-"))
afterAll(() => rmSync(outDir, { recursive: true, force: true }))

describe("package build", () => {
  it("builds every module to ESM with node: imports kept and dependencies external", () => {
    execFileSync(join(root, "..", "..", "node_modules", ".bin", "tsup"), ["--out-dir", outDir, "--no-dts"], {
      cwd: root,
      stdio: "pipe"
    })
    const files = readdirSync(outDir).filter((f) => f.endsWith(".js"))
    for (const module of ["index", "CiCd", "Etl", "CodeReview", "Documentation", "Template", "Templates"]) {
      expect(files).toContain(`${module}.js`)
    }
    const imports = new Set(
      files.flatMap((f) => [...readFileSync(join(outDir, f), "utf8").matchAll(/from "([^"./$][^"]*)"/g)].map((m) => m[1]!))
    )
    expect([...imports].filter((i) => !i.startsWith("node:") && !i.startsWith("@troupe/") && i !== "effect" && i !== "effect/process" && i !== "typescript" && i !== "@effect/platform-node")).toEqual([])
    expect(imports.has("node:sqlite")).toBe(true)
  }, 120_000)
})
