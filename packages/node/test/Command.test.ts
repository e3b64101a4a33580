/**
 * Command tasks against real processes: output lines, exit codes with the output's tail, timeouts that kill
 * the whole process tree (virtual time decides when the timeout fires), programs that are not installed.
 */
import { NodeServices } from "@effect/platform-node"
import { assert, describe, expect, it } from "@effect/vitest"
import { Engine, RunEvent, Workflow } from "@troupe/core"
import { Cause, Deferred, Effect, Exit, Fiber, Option, Schema } from "effect"
import { TestClock } from "effect/testing"
import * as Command from "../src/Command.ts"

const node = process.execPath

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

const waitDead = async (pid: number): Promise<boolean> => {
  for (let i = 0; i < 100; i++) {
    if (!isAlive(pid)) return true
    await new Promise((r) => setTimeout(r, 20))
  }
  return false
}

describe("Command.parse", () => {
  it("splits words and quotes, and turns shell syntax into a shell script", () => {
    expect(Command.parse(`git commit -m "first commit" --author='A B'`)).toEqual({
      command: "git",
      args: ["commit", "-m", "first commit", "--author=A B"]
    })
    expect(Command.parse("npm test && npm run build")).toEqual({ command: "npm test && npm run build", shell: true })
    expect(Command.parse("echo $HOME")).toMatchObject({ shell: true })
    expect(Command.parse("FOO=1 node x.js")).toMatchObject({ shell: true })
    expect(Command.parse("ls > out.txt")).toMatchObject({ shell: true })
    expect(Command.display({ command: "git", args: ["commit", "-m", "a b"] })).toBe(`git commit -m "a b"`)
  })
})

describe("Command.run", () => {
  it.live("streams stdout and stderr lines and returns the output", () =>
    Effect.gen(function*() {
      const lines: Array<string> = []
      const result = yield* Command.run(
        { command: node, args: ["-e", "console.log('one'); console.error('warn'); console.log('two')"] },
        { onLine: (stream, line) => lines.push(`${stream}:${line}`) }
      )
      expect(result.exitCode).toBe(0)
      expect(result.stdout).toBe("one\ntwo")
      expect(result.stderr).toBe("warn")
      expect(lines.filter((l) => l.startsWith("stdout:"))).toEqual(["stdout:one", "stdout:two"])
      expect(lines).toContain("stderr:warn")
    }).pipe(Effect.provide(NodeServices.layer)))

  it.live("a non-zero exit is CommandFailed with the exit code and the last lines of output", () =>
    Effect.gen(function*() {
      const error = yield* Command.run({
        command: node,
        args: ["-e", "for (let i = 1; i <= 50; i++) console.log('line ' + i); process.exit(3)"],
        tailLines: 5
      }, { taskId: "t" }).pipe(Effect.flip)
      assert(error._tag === "CommandFailed")
      expect(error.exitCode).toBe(3)
      expect(error.tail).toEqual(["line 46", "line 47", "line 48", "line 49", "line 50"])
      expect(error.message).toContain(`(task "t") exited with code 3`)
      expect(error.message).toContain("line 50")
    }).pipe(Effect.provide(NodeServices.layer)))

  it.live("a program that is not installed is CommandNotFound naming it (direct and through a shell)", () =>
    Effect.gen(function*() {
      const direct = yield* Command.run({ command: "troupe-no-such-program", args: ["x"] }).pipe(Effect.flip)
      assert(direct._tag === "CommandNotFound")
      expect(direct.command).toBe("troupe-no-such-program")
      const shell = yield* Command.run(Command.parse("troupe-no-such-program --x && echo ok")).pipe(Effect.flip)
      assert(shell._tag === "CommandNotFound")
      expect(shell.command).toBe("troupe-no-such-program")
      expect(yield* Command.ensureInstalled(Command.parse("troupe-no-such-program | cat")).pipe(Effect.flip))
        .toMatchObject({ _tag: "CommandNotFound", command: "troupe-no-such-program" })
      yield* Command.ensureInstalled({ command: "sh" })
    }).pipe(Effect.provide(NodeServices.layer)))

  it.live("a working directory that does not exist is a CommandSpawnError", () =>
    Effect.gen(function*() {
      const error = yield* Command.run({ command: "ls", cwd: "/no/such/dir" }).pipe(Effect.flip)
      assert(error._tag === "CommandSpawnError")
      expect(error.message).toContain("/no/such/dir")
    }).pipe(Effect.provide(NodeServices.layer)))

  it.effect("a timeout kills the process and what it started, then fails with CommandTimedOut", () =>
    Effect.gen(function*() {
      const ready = yield* Deferred.make<number>()
      // The shell starts a grandchild (sleep) and prints its pid, then waits for it.
      const fiber = yield* Command.run(
        { command: "sleep 60 & echo $!; wait", shell: true, timeout: "30 seconds", killGrace: "1 second" },
        { onLine: (_, line) => Deferred.doneUnsafe(ready, Exit.succeed(Number(line))) }
      ).pipe(Effect.provide(NodeServices.layer), Effect.forkChild)
      const grandchild = yield* Deferred.await(ready)
      expect(isAlive(grandchild)).toBe(true)
      yield* TestClock.adjust("31 seconds")
      const error = yield* Fiber.join(fiber).pipe(Effect.flip)
      assert(error._tag === "CommandTimedOut")
      expect(error.timeoutMs).toBe(30_000)
      expect(error.tail).toEqual([String(grandchild)])
      expect(yield* Effect.promise(() => waitDead(grandchild))).toBe(true)
    }))
})

describe("Command.task", () => {
  it.live("runs in a workflow: output lines are TaskOutput run events and reach the listener; the result is the task's output", () =>
    Effect.gen(function*() {
      const seen: Array<Command.OutputLine> = []
      const events: Array<RunEvent.RunEvent> = []
      const wf = Workflow.make("cmd")
        .task("greet", Command.task({ command: node, args: ["-e", "console.log('hello'); console.log('world')"] }))
        .task("count", { dependsOn: ["greet"] }, ({ greet }) => Effect.succeed(greet.stdout.split("\n").length))
      const result = yield* Engine.run(wf, undefined, { onEvent: (e) => events.push(e) }).pipe(
        Effect.provideService(Command.OutputListener, (line) => seen.push(line))
      )
      expect(result.outputs.count).toBe(2)
      expect(seen).toEqual([
        { taskId: "greet", stream: "stdout", line: "hello" },
        { taskId: "greet", stream: "stdout", line: "world" }
      ])
      const planNode = Workflow.compiled(wf).plan.nodes[0]!
      expect(planNode.taskType).toBe("command")
      expect(planNode.parameters).toMatchObject({ command: expect.stringContaining("console.log") })
      // Every line is a TaskOutput event of the run, between the task's start and its completion.
      const tags = events.filter((e) => "taskId" in e && e.taskId === "greet").map((e) =>
        e._tag === "TaskOutput" ? `${e.stream}:${e.line}` : e._tag
      )
      expect(tags).toEqual(["TaskStarted", "stdout:hello", "stdout:world", "TaskCompleted"])
      const decoded = Schema.decodeUnknownSync(RunEvent.RunEvent)(
        Schema.encodeSync(RunEvent.RunEvent)(events.find((e) => e._tag === "TaskOutput")!)
      )
      expect(decoded).toMatchObject({ _tag: "TaskOutput", taskId: "greet", stream: "stdout", line: "hello" })
    }).pipe(Effect.provide(NodeServices.layer)))

  it.live("a missing program fails the run before any task runs, naming the task and the program", () =>
    Effect.gen(function*() {
      let ran = false
      const wf = Workflow.make("cmd")
        .task("first", () => Effect.sync(() => { ran = true }))
        .task("deploy", Command.task(Command.parse("troupe-missing-deployer --prod")))
      const error = yield* Engine.run(wf).pipe(Effect.flip)
      assert(error._tag === "WorkflowFailed")
      expect(error.failures.map((f) => f.taskId)).toEqual(["deploy"])
      expect(ran).toBe(false)
      const cause = Option.getOrThrow(Cause.findErrorOption(error.failures[0]!.cause))
      expect(cause).toMatchObject({ _tag: "CommandNotFound", command: "troupe-missing-deployer", taskId: "deploy" })
    }).pipe(Effect.provide(NodeServices.layer)))

  it.live("a failing command fails its task with CommandFailed", () =>
    Effect.gen(function*() {
      const wf = Workflow.make("cmd").task("boom", Command.task({ command: "sh", args: ["-c", "echo bad >&2; exit 2"] }))
      const error = yield* Engine.run(wf).pipe(Effect.flip)
      assert(error._tag === "WorkflowFailed")
      const failure = error.failures[0]!
      expect(failure.taskId).toBe("boom")
      const cause = Option.getOrThrow(Cause.findErrorOption(failure.cause))
      expect(cause).toMatchObject({ _tag: "CommandFailed", exitCode: 2, tail: ["bad"], taskId: "boom" })
    }).pipe(Effect.provide(NodeServices.layer)))
})
