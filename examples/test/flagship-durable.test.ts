/**
 * `npm start` runs the flagship durably: stopped with Ctrl-C (SIGINT) midway, it resumes on the next start
 * and says which tasks it skipped. Real processes, a real database file under `<root>/.troupe/`.
 */
import { describe, expect, it } from "@effect/vitest"
import { spawn } from "node:child_process"
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const flagship = fileURLToPath(new URL("../src/flagship.ts", import.meta.url))
const localNode = fileURLToPath(new URL("../../node_modules/node/bin/node", import.meta.url))
const node = existsSync(localNode) ? localNode : process.execPath

const fakeRoot = () => {
  const root = mkdtempSync(join(tmpdir(), "troupe-flagship-durable-"))
  const files: Record<string, string> = {
    "packages/alpha/package.json": JSON.stringify({ name: "@fake/alpha", version: "1.0.0" }),
    "packages/alpha/src/index.ts": "export const a = 1\n",
    "packages/beta/package.json": JSON.stringify({ name: "@fake/beta", dependencies: { "@fake/alpha": "1.0.0" } }),
    "packages/beta/src/main.ts": "export const b = 2\n"
  }
  for (const [file, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, file)), { recursive: true })
    writeFileSync(join(root, file), content)
  }
  return root
}

/** Runs the flagship; `stopWhen` sends SIGINT once stdout matches it. */
const start = (root: string, delayMs: number, stopWhen?: RegExp) =>
  new Promise<{ stdout: string; signal: NodeJS.Signals | null }>((resolve) => {
    const child = spawn(node, ["--conditions=source", flagship, root], {
      env: { ...process.env, TROUPE_FLAGSHIP_DELAY_MS: String(delayMs) },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stdout = ""
    let sent = false
    child.stdout.on("data", (d) => {
      stdout += d
      if (stopWhen !== undefined && !sent && stopWhen.test(stdout)) {
        sent = true
        child.kill("SIGINT")
      }
    })
    child.stderr.on("data", (d) => (stdout += d))
    child.on("exit", (_code, signal) => resolve({ stdout, signal }))
  })

describe("flagship: durable", () => {
  it("Ctrl-C midway, then a new start resumes the run and lists the tasks it skipped", async () => {
    const root = fakeRoot()
    const first = await start(root, 1500, /✓ scan/)
    expect(first.stdout).toContain("stop it with Ctrl-C")
    expect(first.stdout).not.toContain("Report:")
    const second = await start(root, 0)
    expect(second.stdout).toMatch(/Resuming run repo-report-\w+, interrupted earlier/)
    expect(second.stdout).toMatch(/Skipped \d+ tasks? finished before the interruption: scan/)
    expect(second.stdout).toContain(`Report: ${root}/.troupe/report.md`)
    // Finished: the next start is a new run.
    const third = await start(root, 0)
    expect(third.stdout).toMatch(/Run repo-report-\w+ \(durable/)
    expect(third.stdout).not.toContain("Skipped")
  }, 120_000)
})
