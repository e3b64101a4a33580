import { describe, expect, it } from "@effect/vitest"
import { Effect, Schema, Stream } from "effect"
import { Engine, RunEvent, workflow } from "@troupe/core"

const grandchild = workflow("grandchild").task("leaf", () => Effect.succeed("leaf"))
const child = workflow("child", { input: Schema.Number })
  .task("double", ({ input }) => Effect.succeed(input * 2))
  .task("deeper", grandchild)
const parent = workflow("parent")
  .task("seed", () => Effect.succeed(21))
  .task("sub", child, { dependsOn: ["seed"], input: ({ seed }) => seed })

describe("sub-workflow events", () => {
  it.effect("a child's events reach the parent's stream wrapped in SubWorkflowEvent, nested for grandchildren", () =>
    Effect.gen(function*() {
      const handle = yield* Engine.start(parent)
      const events = yield* Stream.runCollect(handle.events)
      const result = yield* handle.await
      expect(result.outputs.sub).toEqual({ double: 42, deeper: { leaf: "leaf" } })

      const nested = events.filter((e): e is RunEvent.SubWorkflowEvent => e._tag === "SubWorkflowEvent")
      expect(nested.every((e) => e.taskId === "sub" && e.runId === result.runId)).toBe(true)
      expect(nested.map((e) => e.event._tag)).toContain("RunCompleted")
      const inner = nested.map((e) => e.event).filter((e) => e._tag === "TaskCompleted")
      expect(inner.map((e) => e._tag === "TaskCompleted" && e.taskId)).toEqual(["double", "deeper"])
      const grand = nested.flatMap((e) => e.event._tag === "SubWorkflowEvent" ? [e.event] : [])
      expect(grand.every((e) => e.taskId === "deeper")).toBe(true)
      expect(grand.map((e) => e.event._tag)).toEqual(["RunStarted", "TaskStarted", "TaskCompleted", "RunCompleted"])

      // The parent's state and progress count the sub-workflow as one task.
      expect(result.state.progress).toMatchObject({ total: 2, completed: 2 })
      // The stream ends with the parent's own terminal event, not a child's.
      expect(events.at(-1)?._tag).toBe("RunCompleted")

      // Nested events encode to JSON and decode back.
      const twoLevels = nested.find((e) => e.event._tag === "SubWorkflowEvent")!
      const json = Schema.toCodecJson(RunEvent.RunEvent)
      const encoded = yield* Schema.encodeEffect(json)(twoLevels)
      const decoded = yield* Schema.decodeUnknownEffect(json)(JSON.parse(JSON.stringify(encoded)))
      expect(decoded).toEqual(twoLevels)
    }))
})

describe("handle replay", () => {
  it.effect("replay bounds the events a late subscriber gets; the default keeps them all", () =>
    Effect.gen(function*() {
      const wf = workflow("r").task("a", () => Effect.succeed(1)).task("b", () => Effect.succeed(2))
      const all = yield* Engine.start(wf)
      yield* all.await
      expect((yield* Stream.runCollect(all.events)).map((e) => e._tag)).toEqual([
        "RunStarted", "TaskStarted", "TaskCompleted", "TaskStarted", "TaskCompleted", "RunCompleted"
      ])
      const last2 = yield* Engine.start(wf, undefined, { replay: 2 })
      yield* last2.await
      expect((yield* Stream.runCollect(last2.events)).map((e) => e._tag)).toEqual(["TaskCompleted", "RunCompleted"])
    }))
})
