/**
 * A template published as its own package (examples/template-package): build it and @troupe/core with tsup,
 * `npm pack` both, install the tarballs into a fresh project, type-check a user file with wrong parameters
 * (must fail) and one with right parameters (must pass), and run the right one.
 */
import { execFile } from "node:child_process"
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync, copyFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { promisify } from "node:util"
import { afterAll, describe, expect, it } from "vitest"

const run = promisify(execFile)
const root = join(import.meta.dirname, "..", "..")
const tsup = join(root, "node_modules", ".bin", "tsup")
const work = mkdtempSync(join(tmpdir(), "troupe-template-package-"))
afterAll(() => rmSync(work, { recursive: true, force: true }))

const sh = async (file: string, args: ReadonlyArray<string>, cwd: string) => {
  try {
    return await run(file, [...args], { cwd, maxBuffer: 16 * 1024 * 1024 })
  } catch (e) {
    const error = e as { stdout?: string; stderr?: string; code?: number }
    throw new Error(`${file} ${args.join(" ")} failed (${error.code}):\n${error.stdout}\n${error.stderr}`)
  }
}

const good = `
import { Engine } from "@troupe/core"
import { releaseNotes, releaseNotesTemplate } from "@acme/troupe-template-release"
import { Effect, Schema } from "effect"

const wf = releaseNotes({
  version: "2.0.0",
  changes: [
    { kind: "feat", text: "Templates as packages" },
    { kind: "fix", text: "Quoted CSV fields" },
    { kind: "feat", text: "Command tasks" }
  ]
}).task("shout", { dependsOn: ["render-notes"] }, ({ "render-notes": notes }) => Effect.succeed(notes.split("\\n")[0]!.toUpperCase()))

const decoded = Schema.decodeUnknownSync(releaseNotesTemplate.parameters)({ version: "2.0.1", changes: [] })
const result = await Effect.runPromise(Engine.run(wf))
const count: number = result.outputs["count-changes"]
console.log(JSON.stringify({ count, shout: result.outputs.shout, notes: result.outputs["render-notes"], decoded: decoded.version }))
`

const bad = `
import { releaseNotes } from "@acme/troupe-template-release"
import { Effect } from "effect"

releaseNotes({ version: "1.0.0", changes: [{ kind: "feature", text: "x" }] })
releaseNotes({ changes: [] })
releaseNotes({ version: "1.0.0", changes: [] }).task("x", { dependsOn: ["render-note"] }, () => Effect.void)
`

describe("a template published as its own package", () => {
  it("packs, installs into a fresh project, type-checks user code and runs it", async () => {
    // Build @troupe/core and the template package (in parallel): core into a copy of its package.
    const corePkg = join(work, "core")
    mkdirSync(corePkg)
    copyFileSync(join(root, "packages", "core", "package.json"), join(corePkg, "package.json"))
    await Promise.all([
      sh(tsup, ["--out-dir", join(corePkg, "dist")], join(root, "packages", "core")),
      sh(tsup, [], join(root, "examples", "template-package"))
    ])
    const tarballs = join(work, "tarballs")
    mkdirSync(tarballs)
    await sh("npm", ["pack", "--ignore-scripts", "--pack-destination", tarballs], corePkg)
    await sh("npm", ["pack", "--ignore-scripts", "--pack-destination", tarballs], join(root, "examples", "template-package"))
    const packed = readdirSync(tarballs).sort()
    expect(packed).toEqual(["acme-troupe-template-release-1.0.0.tgz", "troupe-core-0.1.0.tgz"])

    // A fresh project: the tarballs, and effect + typescript from this repository's node_modules (no network).
    const app = join(work, "app")
    mkdirSync(app)
    writeFileSync(join(app, "package.json"), JSON.stringify({
      name: "app",
      private: true,
      type: "module",
      dependencies: {
        "@troupe/core": `file:${join(tarballs, "troupe-core-0.1.0.tgz")}`,
        "@acme/troupe-template-release": `file:${join(tarballs, "acme-troupe-template-release-1.0.0.tgz")}`,
        effect: `file:${join(root, "node_modules", "effect")}`,
        typescript: `file:${join(root, "node_modules", "typescript")}`
      }
    }))
    await sh("npm", ["install", "--offline", "--no-audit", "--no-fund", "--ignore-scripts"], app)
    writeFileSync(join(app, "tsconfig.json"), JSON.stringify({
      compilerOptions: {
        target: "ES2022",
        module: "NodeNext",
        moduleResolution: "NodeNext",
        strict: true,
        noEmit: true,
        skipLibCheck: true,
        types: []
      },
      include: ["good.ts", "bad.ts"]
    }))
    writeFileSync(join(app, "good.ts"), good)
    writeFileSync(join(app, "bad.ts"), bad)

    const tsc = join(app, "node_modules", "typescript", "bin", "tsc")
    const checked = await run(process.execPath, [tsc, "-p", "."], { cwd: app }).then(
      () => "",
      (e: { stdout: string }) => e.stdout
    )
    const errors = checked.split("\n").filter((l) => /error TS\d+/.test(l))
    expect(errors.filter((l) => l.startsWith("good.ts"))).toEqual([])
    const badLines = errors.filter((l) => l.startsWith("bad.ts")).map((l) => Number(/^bad\.ts\((\d+),/.exec(l)![1]))
    // Line 5: an unknown change kind; line 6: no version; line 7: a typo in a template task id.
    expect([...new Set(badLines)].sort()).toEqual([5, 6, 7])
    expect(checked).toContain(`"feature"`)

    const { stdout } = await run(process.execPath, ["good.ts"], { cwd: app })
    const out = JSON.parse(stdout.trim().split("\n").pop()!) as { count: number; shout: string; notes: string; decoded: string }
    expect(out.count).toBe(3)
    expect(out.shout).toBe("# 2.0.0")
    expect(out.notes).toContain("## Features\n\n- Templates as packages\n- Command tasks")
    expect(out.notes).toContain("## Fixes\n\n- Quoted CSV fields")
    expect(out.decoded).toBe("2.0.1")
  }, 180_000)
})
