/**
 * The live view in a real terminal: tmux runs `troupe` in a pane; `capture-pane` reads what a user sees.
 */
import { afterAll, describe, expect, it } from "@effect/vitest"
import { execFileSync, spawnSync } from "node:child_process"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { bin, fixture, repo } from "./helpers.ts"

const hasTmux = spawnSync("tmux", ["-V"]).status === 0
const socket = `troupe-test-${process.pid}`
const tmux = (...args: ReadonlyArray<string>): string =>
  execFileSync("tmux", ["-L", socket, ...args], { encoding: "utf8" })

afterAll(() => {
  if (hasTmux) spawnSync("tmux", ["-L", socket, "kill-server"])
})

const quote = (s: string) => `'${s.replace(/'/g, "'\\''")}'`

/** Starts a session running `troupe ...args`, then `echo EXIT=<code>`. */
const session = (name: string, args: ReadonlyArray<string>) => {
  const command = [process.execPath, bin, ...args].map(quote).join(" ")
  tmux("new-session", "-d", "-s", name, "-x", "120", "-y", "40", "-c", repo)
  tmux("send-keys", "-t", name, `clear; ${command}; echo EXIT=$?`, "Enter")
  return {
    screen: () => tmux("capture-pane", "-p", "-J", "-t", name),
    keys: (...keys: ReadonlyArray<string>) => tmux("send-keys", "-t", name, ...keys)
  }
}

const waitFor = async (read: () => string, test: (screen: string) => boolean, ms = 120_000): Promise<string> => {
  const until = Date.now() + ms
  for (;;) {
    const screen = read()
    if (test(screen)) return screen
    if (Date.now() > until) throw new Error(`timed out; the screen:\n${screen}`)
    await new Promise((resolve) => setTimeout(resolve, 150))
  }
}

describe.skipIf(!hasTmux)("live view in a terminal", { timeout: 180_000 }, () => {
  it("redraws in place: levels, status symbols, elapsed times, the running set, an ETA; then the final state", async () => {
    const s = session("view", ["run", fixture("slow.ts"), "--input", "{\"n\":3}"])
    const live = await waitFor(s.screen, (screen) => /Running: a, b/.test(screen))
    expect(live).toMatch(/▶ slow\s+run-\S+\s+0\/4 done · 2 running · elapsed \S+ · ETA ~\S+/)
    expect(live).toMatch(/Level 0\n\s+▶ a\s+\S+\n\s+▶ b\s+\S+\nLevel 1\n\s+○ c\nLevel 2\n\s+○ d/)
    const midway = await waitFor(s.screen, (screen) => /▶ c/.test(screen))
    expect(midway).toMatch(/✓ a\s+1\.0s/)
    expect(midway).toContain("Running: c")
    const done = await waitFor(s.screen, (screen) => /EXIT=\d/.test(screen))
    expect(done).toContain("EXIT=0")
    expect(done).toMatch(/✓ slow\s+run-\S+\s+4\/4 done · elapsed/)
    expect(done).toMatch(/"d": 12/)
    // Redrawn in place: the header appears once, not once per event.
    expect(done.match(/slow\s+run-/g)).toHaveLength(1)
  })

  it("Ctrl-C cancels the run cleanly, says so, and exits 130", async () => {
    const s = session("cancel", ["run", fixture("slow.ts"), "--input", "{\"n\":1}"])
    await waitFor(s.screen, (screen) => /Running: a, b/.test(screen))
    s.keys("C-c")
    const done = await waitFor(s.screen, (screen) => /EXIT=\d/.test(screen))
    expect(done).toContain("Cancelling the run: tasks are being interrupted")
    expect(done).toMatch(/■ slow\s+run-\S+\s+4\/4 done · 4 cancelled/)
    expect(done).toMatch(/Cancelled run run-\S+ \(SIGINT\): 0 tasks completed, 4 cancelled\./)
    expect(done).toContain("EXIT=130")
  })
})

describe.skipIf(!hasTmux)("durable runs in a terminal", { timeout: 180_000 }, () => {
  it("Ctrl-C stops a durable run, which `troupe runs resume` finishes without re-running finished tasks", async () => {
    const db = join(mkdtempSync(join(tmpdir(), "troupe-tty-")), "runs.db")
    const s = session("durable", ["run", fixture("slow.ts"), "--input", "{\"n\":3}", "--durable", "--db", db, "--run-id", "tty-1"])
    await waitFor(s.screen, (screen) => /▶ c/.test(screen))
    s.keys("C-c")
    const stopped = await waitFor(s.screen, (screen) => /EXIT=\d/.test(screen))
    expect(stopped).toContain("Stopping this process: the durable run stays in the store, resumable")
    expect(stopped).toContain(`Stopped. Run tty-1 is resumable: troupe runs resume tty-1 ${fixture("slow.ts")} --db ${db}`)
    expect(stopped).toContain("EXIT=130")
    const r = session("resume", ["runs", "resume", "tty-1", fixture("slow.ts"), "--db", db])
    const done = await waitFor(r.screen, (screen) => /EXIT=\d/.test(screen))
    expect(done).toContain("resumed: 2 tasks came from the journal")
    expect(done).toMatch(/"d": 12/)
    expect(done).toContain("EXIT=0")
  })
})
