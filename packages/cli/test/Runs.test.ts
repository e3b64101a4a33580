/**
 * `troupe runs ...` over the durable store, as child processes.
 */
import { describe, expect, it } from "@effect/vitest"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { example, fixture, troupe } from "./helpers.ts"

describe("troupe runs", { timeout: 240_000 }, () => {
  it("run --durable records runs that list, show, cancel and prune see", async () => {
    const db = join(mkdtempSync(join(tmpdir(), "troupe-runs-")), "runs.db")
    const ok = await troupe(["run", example("etl.json"), "--durable", "--db", db, "--run-id", "etl-1"])
    expect(ok.code, ok.stderr).toBe(0)
    expect(JSON.parse(ok.stdout).load).toBe("3 rows loaded")
    const failed = await troupe(["run", fixture("workflows.ts"), "--export", "failing", "--durable", "--run-id", "fail-1"], {
      env: { TROUPE_DB: db }
    })
    expect(failed.code, failed.stderr).toBe(1)

    const list = await troupe(["runs", "list", "--db", db])
    expect(list.code, list.stderr).toBe(0)
    const lines = list.stdout.trim().split("\n")
    expect(lines[0]).toMatch(/^RUN\s+WORKFLOW\s+STATUS\s+TASKS\s+CREATED\s+DURATION$/)
    expect(lines).toHaveLength(3)
    expect(lines[1]).toMatch(/^fail-1\s+failing\s+failed\s+1\/2\s/)
    expect(lines[2]).toMatch(/^etl-1\s+ETL pipeline\s+completed\s+3\/3\s/)
    const json = await troupe(["runs", "list", "--db", db, "--status", "failed", "--json"])
    expect(JSON.parse(json.stdout).map((r: { runId: string }) => r.runId)).toStrictEqual(["fail-1"])

    const show = await troupe(["runs", "show", "fail-1", "--db", db])
    expect(show.code, show.stderr).toBe(0)
    expect(show.stdout).toMatch(/Run fail-1\s+failing\s+failed\s+\(durable\)/)
    expect(show.stdout).toContain("✗ boom")
    const missing = await troupe(["runs", "show", "nope", "--db", db])
    expect(missing.code).toBe(4)
    expect(missing.stderr).toContain("nope")

    const cancel = await troupe(["runs", "cancel", "etl-1", "--db", db])
    expect(cancel.stdout).toContain("run etl-1 is completed")
    const badPrune = await troupe(["runs", "prune", "--db", db, "--older-than", "soon"])
    expect(badPrune.code).toBe(2)
    const prune = await troupe(["runs", "prune", "--db", db, "--older-than", "0 millis"])
    expect(prune.code, prune.stderr).toBe(0)
    expect(prune.stdout).toBe("removed 2 runs\n")
    const empty = await troupe(["runs", "list", "--db", db])
    expect(empty.stdout).toBe("no runs\n")
  })
})

describe("troupe templates", { timeout: 240_000 }, () => {
  it("lists the templates; runs one with parameters checked against its Schema (exit 2 when they do not fit, 4 for an unknown name)", async () => {
    const list = await troupe(["templates", "list"])
    expect(list.code, list.stderr).toBe(0)
    expect(list.stdout).toMatch(/^ci-cd\s+\S/m)
    expect(list.stdout).toMatch(/^etl\s+\S/m)
    const unknown = await troupe(["templates", "run", "nope"])
    expect(unknown.code).toBe(4)
    expect(unknown.stderr).toContain("No template named \"nope\"; templates: ci-cd, etl, code-review, documentation")
    const bad = await troupe(["templates", "run", "ci-cd", "--params", "{\"repositoryPath\": 3}"])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain("Template \"ci-cd\": parameter \"repositoryPath\"")
    const graph = await troupe([
      "templates",
      "run",
      "ci-cd",
      "--params",
      "{\"repositoryPath\": \".\", \"testCommand\": \"true\", \"buildCommand\": \"true\"}",
      "--graph"
    ])
    expect(graph.code, graph.stderr).toBe(0)
    expect(graph.stdout).toContain("Workflow ci-cd (5 tasks, 3 levels)")
  })
})

describe("troupe mcp", { timeout: 240_000 }, () => {
  it("serves every exported workflow as an MCP tool over stdio", async () => {
    const { spawn } = await import("node:child_process")
    const { bin, repo } = await import("./helpers.ts")
    const child = spawn(process.execPath, [bin, "mcp", fixture("workflows.ts")], { cwd: repo, stdio: ["pipe", "pipe", "pipe"] })
    const lines: Array<string> = []
    let buffer = ""
    const waiters: Array<() => void> = []
    child.stdout.on("data", (d: Buffer) => {
      buffer += d.toString()
      let i: number
      while ((i = buffer.indexOf("\n")) >= 0) {
        lines.push(buffer.slice(0, i))
        buffer = buffer.slice(i + 1)
        waiters.shift()?.()
      }
    })
    const request = async (message: Record<string, unknown>) => {
      const before = lines.length
      child.stdin.write(`${JSON.stringify({ jsonrpc: "2.0", ...message })}\n`)
      while (lines.length === before) await new Promise<void>((resolve) => waiters.push(resolve))
      return JSON.parse(lines[before]!) as { result: Record<string, unknown> }
    }
    try {
      const init = await request({
        id: 1,
        method: "initialize",
        params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "test", version: "1" } }
      })
      expect(init.result.serverInfo).toMatchObject({ name: "troupe" })
      child.stdin.write(`${JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" })}\n`)
      const tools = await request({ id: 2, method: "tools/list" })
      expect((tools.result.tools as Array<{ name: string }>).map((t) => t.name)).toStrictEqual(["failing", "greet", "hello"])
      const call = await request({ id: 3, method: "tools/call", params: { name: "greet", arguments: { name: "ada" } } })
      expect(call.result).toMatchObject({ isError: false, structuredContent: { greeting: "hello ada", shout: "HELLO ADA" } })
      const failed = await request({ id: 4, method: "tools/call", params: { name: "failing", arguments: {} } })
      expect(failed.result.isError).toBe(true)
      // Closing stdin is the normal end of an MCP stdio session: exit 0, not 130 (cancelled).
      const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)))
      child.stdin.end()
      expect(await exited).toBe(0)
    } finally {
      child.kill()
    }
  })
})

describe("troupe schedules", { timeout: 240_000 }, () => {
  it("lists, pauses, resumes and deletes stored schedules", async () => {
    const { Effect } = await import("effect")
    const { Schedules } = await import("@troupe/core")
    const { SchedulesSql, SqliteClient } = await import("@troupe/durable")
    const db = join(mkdtempSync(join(tmpdir(), "troupe-schedules-")), "s.db")
    const next = Date.UTC(2030, 0, 1, 2, 0, 0)
    await Effect.runPromise(
      Effect.flatMap(Schedules.Store, (store) =>
        store.put({ id: "nightly", fingerprint: "f", paused: false, nextFireAt: next, lastFireAt: null, anchor: null, updatedAt: 0 })).pipe(
          Effect.provide(SchedulesSql.layerStore),
          Effect.provide(SqliteClient.layer({ filename: db }))
        )
    )
    const list = await troupe(["schedules", "list", "--db", db])
    expect(list.code, list.stderr).toBe(0)
    expect(list.stdout).toMatch(/nightly\s+active\s+2030-01-01 02:00:00\s+-/)
    const pause = await troupe(["schedules", "pause", "nightly", "--db", db])
    expect(pause.stdout).toContain("schedule nightly paused")
    const paused = await troupe(["schedules", "list", "--db", db, "--json"])
    expect(JSON.parse(paused.stdout)[0]).toMatchObject({ id: "nightly", paused: true })
    const resume = await troupe(["schedules", "resume", "nightly", "--db", db])
    expect(resume.code).toBe(0)
    const missing = await troupe(["schedules", "delete", "nope", "--db", db])
    expect(missing.code).toBe(4)
    const del = await troupe(["schedules", "delete", "nightly", "--db", db])
    expect(del.code).toBe(0)
    expect((await troupe(["schedules", "list", "--db", db])).stdout).toBe("no schedules\n")
  })
})
