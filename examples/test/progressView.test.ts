/**
 * The examples' progress view shows the running agent's latest streamed text and each tool call.
 */
import { describe, expect, it } from "vitest"
import type { RunEvent, RunState } from "@troupe/core"
import { progressView } from "../src/internal/terminal.ts"

const progress = (running: number): RunState.Progress => ({
  total: 2,
  completed: 0,
  failed: 0,
  skipped: 0,
  cancelled: 0,
  running,
  pending: 2 - running,
  percent: 0
} as RunState.Progress)

describe("progressView", () => {
  it("shows the latest text of the agent that spoke last, and tool calls above the live line", () => {
    const out: Array<string> = []
    const view = progressView({ tty: true, columns: 200, write: (text) => out.push(text) })
    const base = { runId: "r", at: 0 }
    const events: ReadonlyArray<RunEvent.RunEvent> = [
      { ...base, _tag: "TaskStarted", taskId: "research", attempt: 1 },
      { ...base, _tag: "AgentText", taskId: "research", agent: "scout", delta: "Quantum", text: "Quantum" },
      { ...base, _tag: "AgentText", taskId: "research", agent: "scout", delta: " computers\nfactor", text: "Quantum computers\nfactor" },
      {
        ...base,
        _tag: "ToolCalled",
        taskId: "research",
        agent: "scout",
        tool: "search",
        callId: "c1",
        arguments: { q: "shor" },
        durationMs: 12,
        outcome: "success"
      }
    ]
    for (const event of events) view.onProgress(progress(1), event)
    const lines = out.join("")
    expect(lines).toContain(`research: "…Quantum computers factor"`)
    expect(lines).toContain("⚙ research: scout called search (success, 12 ms)")
    view.onProgress(progress(0), { ...base, _tag: "TaskCompleted", taskId: "research", attempts: 1, durationMs: 5, output: "x" })
    expect(out.at(-1)).not.toContain("Quantum")
  })
})
