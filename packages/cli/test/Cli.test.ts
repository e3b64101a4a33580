/**
 * The `troupe` bin as a user meets it: a child process, its exit codes, stdout and stderr.
 */
import { describe, expect, it } from "@effect/vitest"
import { mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { RunEvent } from "@troupe/core"
import { Schema } from "effect"
import { example, fixture, troupe } from "./helpers.ts"

const ESC = "\x1b["
const decodeEvent = Schema.decodeUnknownSync(RunEvent.RunEvent)

// Every test starts several processes; on a loaded machine each start can take seconds.
const timeout = 180_000

describe.concurrent("troupe run", { timeout }, () => {
  it("runs a definition with built-in task types: exit 0, outputs on stdout, one line per event on stderr", async () => {
    const r = await troupe(["run", example("ci.yaml")])
    expect(r.code, r.stderr).toBe(0)
    expect(JSON.parse(r.stdout)).toStrictEqual({
      install: "installed",
      lint: { exitCode: 0, stdout: "lint ok", stderr: "" },
      build: "built",
      test: "42 passed",
      deploy: "deployed"
    })
    const lines = r.stderr.trim().split("\n")
    expect(lines[0]).toMatch(/run CI started \(5 tasks, run \S+\)/)
    expect(lines).toContainEqual(expect.stringMatching(/↻ test: attempt 1 failed \(1 flaky test failed\), retrying in 200ms/))
    expect(lines).toContainEqual(expect.stringMatching(/▶ test \(attempt 2\)/))
    expect(lines).toContainEqual(expect.stringMatching(/lint \| lint ok/))
    expect(lines.at(-1)).toMatch(/run completed in/)
    // Not a terminal: no colours, no cursor movement.
    expect(r.stderr).not.toContain(ESC)
  })

  it("--json prints every RunEvent as one JSON line that decodes with the RunEvent schema", async () => {
    const r = await troupe(["run", example("etl.json"), "--json"])
    expect(r.code, r.stderr).toBe(0)
    const events = r.stdout.trim().split("\n").map((line) => decodeEvent(JSON.parse(line)))
    expect(events[0]!._tag).toBe("RunStarted")
    expect(events.at(-1)!._tag).toBe("RunCompleted")
    const completed = events.filter((e) => e._tag === "TaskCompleted").map((e) => e.taskId)
    expect(completed).toStrictEqual(["extract", "transform", "load"])
    expect(r.stderr).toBe("")
  })

  it("a failed run exits 1 and names the failed task and its error", async () => {
    const r = await troupe(["run", fixture("workflows.ts"), "--export", "failing"])
    expect(r.code, r.stderr).toBe(1)
    expect(r.stderr).toContain("✗ boom: the disk is full")
    expect(r.stderr).toMatch(/run failed in .*: boom/)
  })

  it("runs a named export with a JSON input decoded by its Schema; a bad input exits 2", async () => {
    const ok = await troupe(["run", fixture("workflows.ts"), "--export", "greet", "--input", "{\"name\":\"ada\"}"])
    expect(ok.code, ok.stderr).toBe(0)
    expect(JSON.parse(ok.stdout)).toStrictEqual({ greeting: "hello ada", shout: "HELLO ADA" })
    const bad = await troupe(["run", fixture("workflows.ts"), "--export", "greet", "--input", "{\"name\":1}"])
    expect(bad.code, bad.stderr).toBe(2)
    expect(bad.stderr).toContain("invalid --input for workflow \"greet\"")
    const notJson = await troupe(["run", fixture("workflows.ts"), "--export", "greet", "--input", "{name"])
    expect(notJson.code, notJson.stderr).toBe(2)
    expect(notJson.stderr).toContain("--input is neither JSON nor YAML")
  })

  it("reads the input from a file with @file", async () => {
    const dir = mkdtempSync(join(tmpdir(), "troupe-cli-"))
    const file = join(dir, "input.yaml")
    await import("node:fs").then((fs) => fs.writeFileSync(file, "name: grace\n"))
    const r = await troupe(["run", fixture("workflows.ts"), "--export", "greet", "--input", `@${file}`])
    expect(r.code, r.stderr).toBe(0)
    expect(JSON.parse(r.stdout).greeting).toBe("hello grace")
  })

  it("usage errors exit 2: an unknown flag, a bad --max-parallel", async () => {
    const unknown = await troupe(["run", example("ci.yaml"), "--bogus"])
    expect(unknown.code, unknown.stderr).toBe(2)
    expect(unknown.stderr).toContain("Unrecognized flag: --bogus")
    const zero = await troupe(["run", example("ci.yaml"), "--max-parallel", "0"])
    expect(zero.code, zero.stderr).toBe(2)
    expect(zero.stderr).toContain("--max-parallel must be a positive integer, got 0")
  })

  it("definition errors exit 3: every problem with file:line:column, a module without workflow, a type without handler", async () => {
    const invalid = await troupe(["run", fixture("invalid.yaml")])
    expect(invalid.code, invalid.stderr).toBe(3)
    const file = fixture("invalid.yaml")
    expect(invalid.stderr).toContain(`${file}:7:15: tasks[2].priority: expected an integer between 1 and 10, got 11`)
    expect(invalid.stderr).toContain(`${file}:9:26: tasks[3].dependencies[1]: unknown task 'buidl' (did you mean 'build'?)`)
    expect(invalid.stderr).toContain(`${file}:10:9: tasks[4].id: duplicate task id 'build' (first declared at tasks[1])`)
    const nothing = await troupe(["run", fixture("nothing.ts")])
    expect(nothing.code, nothing.stderr).toBe(3)
    expect(nothing.stderr).toContain("the module exports no workflow")
    const several = await troupe(["run", fixture("workflows.ts")])
    expect(several.code, several.stderr).toBe(3)
    expect(several.stderr).toContain("choose one with --export: failing, greet, hello")
    const noHandler = await troupe(["run", example("research-plan.yaml")])
    expect(noHandler.code, noHandler.stderr).toBe(3)
    expect(noHandler.stderr).toMatch(/research-plan\.yaml:\d+:\d+: steps\[0\]\.agent_id: no handler for task type "agent" \(pass a module of handlers with --handlers\)/)
  })

  it("runs an agent plan with a handlers module: for-each and while loops, a condition", async () => {
    const r = await troupe(["run", example("research-plan.yaml"), "--handlers", example("handlers.ts")])
    expect(r.code, r.stderr).toBe(0)
    const outputs = JSON.parse(r.stdout)
    expect(outputs.read).toStrictEqual(["summary of the paper", "summary of the blog post", "summary of the talk"])
    expect(outputs.refine).toStrictEqual({ score: 3 })
    expect(outputs.publish).toBe("published")
  })
})

describe.concurrent("troupe validate and graph", { timeout }, () => {
  it("validate lists every error and exits 3; a valid file exits 0 with a summary", async () => {
    const bad = await troupe(["validate", fixture("invalid.yaml")])
    expect(bad.code, bad.stderr).toBe(3)
    expect(bad.stderr.trim().split("\n")).toHaveLength(4)
    expect(bad.stderr).toContain("✗")
    const good = await troupe(["validate", example("ci.yaml")])
    expect(good.code, good.stderr).toBe(0)
    expect(good.stdout).toMatch(/✓ .*ci\.yaml: valid \(5 tasks in 4 levels, widest level 2, critical path install → build → test → deploy\)/)
    const json = await troupe(["validate", fixture("invalid.yaml"), "--json"])
    expect(json.code, json.stderr).toBe(3)
    const report = JSON.parse(json.stdout)
    expect(report.valid).toBe(false)
    expect(report.problems).toHaveLength(3)
    expect(report.problems[0]).toMatchObject({ line: 7, column: 15, path: "tasks[2].priority" })
  })

  it("validate --strict fails on unknown fields; a module validates too", async () => {
    const dir = mkdtempSync(join(tmpdir(), "troupe-cli-"))
    const file = join(dir, "typo.yaml")
    await import("node:fs").then((fs) => fs.writeFileSync(file, "id: t\ntasks:\n  - id: a\n    depnds_on: []\n"))
    const lax = await troupe(["validate", file])
    expect(lax.code, lax.stderr).toBe(0)
    expect(lax.stderr).toContain(`${file}:4:5: warning: tasks[0].depnds_on: unknown field 'depnds_on' (did you mean 'depends_on'?)`)
    const strict = await troupe(["validate", file, "--strict"])
    expect(strict.code, strict.stderr).toBe(3)
    const mod = await troupe(["validate", fixture("workflows.ts"), "--export", "greet"])
    expect(mod.code, mod.stderr).toBe(0)
    expect(mod.stdout).toContain("valid (2 tasks in 2 levels")
  })

  it("graph renders mermaid, dot, ascii and json, to stdout or --out", async () => {
    const mermaid = await troupe(["graph", example("ci.yaml"), "--format", "mermaid"])
    expect(mermaid.code, mermaid.stderr).toBe(0)
    expect(mermaid.stdout).toMatch(/^graph TD/)
    expect(mermaid.stdout).toContain("install")
    const dot = await troupe(["graph", example("ci.yaml"), "-f", "dot", "--direction", "LR"])
    expect(dot.stdout).toMatch(/^digraph/)
    expect(dot.stdout).toContain("rankdir=LR")
    const ascii = await troupe(["graph", example("ci.yaml"), "--width", "60"])
    expect(ascii.stdout).toContain("Workflow CI (5 tasks, 4 levels)")
    for (const line of ascii.stdout.trimEnd().split("\n")) expect([...line].length).toBeLessThanOrEqual(60)
    const dir = mkdtempSync(join(tmpdir(), "troupe-cli-"))
    const out = join(dir, "g.json")
    const json = await troupe(["graph", fixture("workflows.ts"), "--export", "greet", "--format", "json", "--out", out])
    expect(json.code, json.stderr).toBe(0)
    expect(JSON.parse(readFileSync(out, "utf8")).nodes.map((n: { id: string }) => n.id)).toStrictEqual(["greeting", "shout"])
  })

  it("--help on every command shows examples; --version prints the version", async () => {
    for (const args of [["--help"], ["run", "--help"], ["validate", "--help"], ["graph", "--help"]]) {
      const r = await troupe(args)
      expect(r.code, r.stderr).toBe(0)
      expect(r.stdout).toContain("EXAMPLES")
      expect(r.stdout).toContain("troupe")
    }
    const v = await troupe(["--version"])
    expect(v.code, v.stderr).toBe(0)
    expect(v.stdout.trim()).toBe("troupe v0.1.0")
  })

  it("colours only when asked: FORCE_COLOR colours a pipe, NO_COLOR wins", async () => {
    const forced = await troupe(["validate", example("ci.yaml")], { env: { FORCE_COLOR: "1" } })
    expect(forced.stdout).toContain(ESC)
    const none = await troupe(["validate", example("ci.yaml")], { env: { FORCE_COLOR: "1", NO_COLOR: "1" } })
    expect(none.stdout).not.toContain(ESC)
  })
})
