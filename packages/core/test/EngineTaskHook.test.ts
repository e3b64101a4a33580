/**
 * The TaskHook contract as the engine keeps it: each leaf task's stack (attempts, retries, timeouts,
 * fallback) runs inside one `around` call, after the condition and cache lookup, with a stable path;
 * sub-workflow tasks are not wrapped but their tasks are (prefixed paths, the top-level run's id and name);
 * composite task values are not wrapped.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Ref } from "effect"
import { Engine, Policy, Task, TaskCache, TaskHook, Workflow } from "@troupe/core"

interface Call {
  readonly runId: string
  readonly workflow: string
  readonly path: string
  readonly taskId: string
}

/** A hook that records each call and counts the attempts its effect made (through the events). */
const recordingHook = (calls: Array<Call>, log: Array<string>): TaskHook.TaskHookShape => ({
  around: (execution, effect) =>
    Effect.suspend(() => {
      calls.push({ ...execution })
      log.push(`enter ${execution.path}`)
      return effect.pipe(Effect.ensuring(Effect.sync(() => log.push(`exit ${execution.path}`))))
    })
})

describe("TaskHook", () => {
  it.effect("wraps each leaf task once, with its retries inside the one call", () =>
    Effect.gen(function*() {
      const calls: Array<Call> = []
      const log: Array<string> = []
      let tries = 0
      const wf = Workflow.make("hooked")
        .task("a", () => Effect.succeed(1))
        .task("flaky", {
          dependsOn: ["a"],
          retry: Policy.fixed({ maxRetries: 3, initialDelay: "0 millis" })
        }, ({ a }) =>
          Effect.suspend(() => {
            tries++
            log.push(`try ${tries}`)
            return tries < 3 ? Effect.fail("not yet") : Effect.succeed(a + 1)
          }))
        .task("p", { dependsOn: ["flaky"] }, async ({ flaky }) => flaky * 2)
      const result = yield* Engine.run(wf, undefined, { runId: "r1" }).pipe(
        Effect.provideService(TaskHook.TaskHook, recordingHook(calls, log))
      )
      expect(result.outputs).toEqual({ a: 1, flaky: 2, p: 4 })
      expect(calls).toEqual([
        { runId: "r1", workflow: "hooked", path: "a", taskId: "a" },
        { runId: "r1", workflow: "hooked", path: "flaky", taskId: "flaky" },
        { runId: "r1", workflow: "hooked", path: "p", taskId: "p" }
      ])
      expect(log).toEqual([
        "enter a",
        "exit a",
        "enter flaky",
        "try 1",
        "try 2",
        "try 3",
        "exit flaky",
        "enter p",
        "exit p"
      ])
    }))

  it.effect("a hook can replace the execution (a replayed step): the handler does not run", () =>
    Effect.gen(function*() {
      let ran = 0
      const wf = Workflow.make("replay")
        .task("a", () => Effect.sync(() => ++ran))
        .task("b", { dependsOn: ["a"] }, ({ a }) => Effect.sync(() => a + ++ran))
      const stored: Record<string, unknown> = { a: 10 }
      const hook: TaskHook.TaskHookShape = {
        around: (execution, effect) =>
          execution.path in stored ? Effect.succeed(stored[execution.path] as never) : effect
      }
      const result = yield* Engine.run(wf).pipe(Effect.provideService(TaskHook.TaskHook, hook))
      expect(result.outputs).toEqual({ a: 10, b: 11 })
      expect(ran).toBe(1)
    }))

  it.effect("sub-workflow tasks are not wrapped; their tasks are, with prefixed paths and the top-level run", () =>
    Effect.gen(function*() {
      const calls: Array<Call> = []
      const grandchild = Workflow.make("grandchild").task("leaf", () => Effect.succeed("g"))
      const child = Workflow.make("child")
        .task("x", () => Effect.succeed(1))
        .task("inner", grandchild)
      const wf = Workflow.make("parent")
        .task("first", () => Effect.succeed(0))
        .task("sub", child, { dependsOn: ["first"] })
      yield* Engine.run(wf, undefined, { runId: "top" }).pipe(
        Effect.provideService(TaskHook.TaskHook, recordingHook(calls, []))
      )
      expect(calls).toEqual([
        { runId: "top", workflow: "parent", path: "first", taskId: "first" },
        { runId: "top", workflow: "parent", path: "sub/x", taskId: "x" },
        { runId: "top", workflow: "parent", path: "sub/inner/leaf", taskId: "leaf" }
      ])
    }))

  it.effect("TaskInfo.path is the task's path; composite task values are not wrapped", () =>
    Effect.gen(function*() {
      const calls: Array<Call> = []
      const paths: Array<string> = []
      const composite: Task.Task<string> = {
        ...Task.make({}, () => Effect.succeed("")),
        composite: true,
        run: (_ctx, info) => Effect.sync(() => (paths.push(info.path), "composite"))
      }
      const leaf: Task.Task<string> = {
        ...Task.make({}, () => Effect.succeed("")),
        run: (_ctx, info) => Effect.sync(() => (paths.push(info.path), "leaf"))
      }
      const child = Workflow.make("child").task("c", composite).task("l", leaf)
      const wf = Workflow.make("parent").task("sub", child)
      const result = yield* Engine.run(wf).pipe(Effect.provideService(TaskHook.TaskHook, recordingHook(calls, [])))
      expect(result.outputs.sub).toEqual({ c: "composite", l: "leaf" })
      expect(paths.sort()).toEqual(["sub/c", "sub/l"])
      expect(calls.map((c) => c.path)).toEqual(["sub/l"])
    }))

  it.effect("the hook sees the stack after the cache lookup: a cache hit never calls it, a miss does once", () =>
    Effect.gen(function*() {
      const calls: Array<Call> = []
      const wf = Workflow.make("cached").task("a", () => Effect.succeed(42))
      const both = Effect.gen(function*() {
        const first = yield* Engine.run(wf)
        const second = yield* Engine.run(wf)
        return [first, second] as const
      })
      const [first, second] = yield* both.pipe(
        Effect.provideService(TaskHook.TaskHook, recordingHook(calls, [])),
        Effect.provide(TaskCache.layerMemory())
      )
      expect(first.outputs.a).toBe(42)
      expect(second.outputs.a).toBe(42)
      expect(second.state.tasks[0]!.cached).toBe(true)
      expect(calls.map((c) => c.path)).toEqual(["a"])
    }))
})
