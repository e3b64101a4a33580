/**
 * Issue 5's caching proof: the same workflow run twice with a disk cache, in two separate processes,
 * runs every handler the first time and none the second; changing one task's parameters re-runs exactly
 * that task and its dependants.
 */
import { execFileSync } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"

const fixture = join(import.meta.dirname, "fixtures", "cachedRun.ts")
const directory = mkdtempSync(join(tmpdir(), "troupe-cache-"))
afterAll(() => rmSync(directory, { recursive: true, force: true }))

const runProcess = (level: number) => {
  const out = execFileSync(process.execPath, ["--conditions=source", fixture, directory, String(level)], {
    encoding: "utf8"
  })
  return JSON.parse(out.trim().split("\n").at(-1)!) as {
    ran: Array<string>
    cached: Array<string>
    outputs: Record<string, unknown>
  }
}

describe("disk cache across processes", () => {
  it("first process runs every handler; a second process runs none but the uncached one", () => {
    const first = runProcess(1)
    expect([...first.ran].sort()).toEqual(["fetch", "other", "sort", "sum", "uncached"])
    expect(first.cached).toEqual([])

    const second = runProcess(1)
    expect(second.ran).toEqual(["uncached"])
    expect([...second.cached].sort()).toEqual(["fetch", "other", "sort", "sum"])
    expect(second.outputs).toEqual(first.outputs)
  }, 60_000)

  it("changing one task's parameters re-runs exactly that task and its dependants", () => {
    const third = runProcess(2)
    expect([...third.ran].sort()).toEqual(["sort", "sum", "uncached"])
    expect([...third.cached].sort()).toEqual(["fetch", "other"])
  }, 60_000)
})
