import { describe, expect, it } from "@effect/vitest"
import { Engine, Plan } from "@troupe/core"
import { Effect } from "effect"
import { TestConsole } from "effect/testing"
import { hello, main } from "../src/hello.ts"

describe("hello", () => {
  it.effect("passes typed outputs from task to task", () =>
    Effect.gen(function*() {
      const outputs = yield* main("Ada Lovelace")
      expect(outputs).toEqual({
        greet: "Hello, Ada Lovelace",
        shout: "HELLO, ADA LOVELACE!",
        measure: { words: 3, characters: "Hello, Ada Lovelace".length + "HELLO, ADA LOVELACE!".length }
      })
      const lines = yield* TestConsole.logLines
      expect(lines.slice(0, 2)).toEqual(["Hello, Ada Lovelace", "HELLO, ADA LOVELACE!"])
      expect(String(lines[2])).toMatch(/^3 words, 39 characters in \d+ ms$/)
    }))

  it.effect("declares the data edges it reads", () =>
    Effect.gen(function*() {
      const plan = Plan.fromWorkflow(hello)
      expect(plan.edges).toEqual([
        { from: "greet", to: "shout", kind: "data" },
        { from: "greet", to: "measure", kind: "data" },
        { from: "shout", to: "measure", kind: "data" }
      ])
      const result = yield* Engine.run(hello, { name: "x" })
      expect(result.state.tasks.map((t) => t.status)).toEqual(["completed", "completed", "completed"])
    }))
})
