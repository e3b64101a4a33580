/**
 * The ready-made toolsets, called as the loop calls them (`Tools.run`): files confined to a root (no
 * escape by `..`, absolute paths or symbolic links), commands with an allow-list and a timeout (real
 * child processes), and a todo list synced with a workflow run.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Engine from "@troupe/core/Engine"
import * as Plan from "@troupe/core/Plan"
import * as Workflow from "@troupe/core/Workflow"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as Tools from "../src/Tools.ts"
import * as Toolsets from "../src/Toolsets.ts"

let n = 0
const callOf = (name: string, params: unknown): Tools.Call => ({ id: `c${n++}`, name, params })

const errorOf = (outcome: Tools.Outcome) => (outcome.result as { readonly error: Record<string, unknown> }).error

const workspace = () => {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), "troupe-files-"))
  const root = path.join(base, "root")
  fs.mkdirSync(path.join(root, "sub"), { recursive: true })
  fs.writeFileSync(path.join(root, "a.txt"), "hello")
  fs.writeFileSync(path.join(base, "secret.txt"), "top secret")
  fs.mkdirSync(path.join(base, "outside"))
  fs.symlinkSync(path.join(base, "secret.txt"), path.join(root, "link-out"))
  fs.symlinkSync(path.join(base, "outside"), path.join(root, "dir-out"))
  fs.symlinkSync(path.join(root, "a.txt"), path.join(root, "link-in"))
  fs.symlinkSync(path.join(base, "missing"), path.join(root, "dangling"))
  return { base, root }
}

describe("Toolsets.files", () => {
  it.effect("reads, lists and writes inside the root", () =>
    Effect.gen(function*() {
      const { root } = workspace()
      const kit = yield* Tools.resolve(Toolsets.files({ root, write: true }))
      expect(Object.keys(kit.tools)).toEqual(["read_file", "list_directory", "write_file"])
      expect((yield* Tools.run(kit, callOf("read_file", { path: "a.txt" }))).result).toBe("hello")
      expect((yield* Tools.run(kit, callOf("read_file", { path: "sub/../a.txt" }))).result).toBe("hello")
      expect((yield* Tools.run(kit, callOf("read_file", { path: "link-in" }))).result).toBe("hello")
      const written = yield* Tools.run(kit, callOf("write_file", { path: "sub/deep/new.txt", content: "new" }))
      expect(written.result).toEqual({ path: "sub/deep/new.txt", bytes: 3 })
      expect(fs.readFileSync(path.join(root, "sub/deep/new.txt"), "utf8")).toBe("new")
      expect((yield* Tools.run(kit, callOf("list_directory", { path: "." }))).result).toEqual([
        "a.txt",
        "dangling",
        "dir-out",
        "link-in",
        "link-out",
        "sub/"
      ])
      // read-only by default
      const readOnly = yield* Tools.resolve(Toolsets.files({ root }))
      expect(Object.keys(readOnly.tools)).toEqual(["read_file", "list_directory"])
    }))

  it.effect("refuses .., absolute paths and symbolic links that lead out, on read, list and write", () =>
    Effect.gen(function*() {
      const { base, root } = workspace()
      const kit = yield* Tools.resolve(Toolsets.files({ root, write: true }))
      const refused = [
        callOf("read_file", { path: "../secret.txt" }),
        callOf("read_file", { path: "sub/../../secret.txt" }),
        callOf("read_file", { path: path.join(base, "secret.txt") }),
        callOf("read_file", { path: "/etc/passwd" }),
        callOf("read_file", { path: "link-out" }),
        callOf("read_file", { path: "dir-out/anything.txt" }),
        callOf("list_directory", { path: "dir-out" }),
        callOf("list_directory", { path: ".." }),
        callOf("write_file", { path: "dir-out/planted.txt", content: "x" }),
        callOf("write_file", { path: "link-out", content: "overwritten" }),
        callOf("write_file", { path: "dangling", content: "x" }),
        callOf("write_file", { path: "../planted.txt", content: "x" })
      ]
      for (const call of refused) {
        const outcome = yield* Tools.run(kit, call)
        expect(outcome.isFailure, JSON.stringify(call.params)).toBe(true)
        expect(errorOf(outcome)._tag, JSON.stringify(call.params)).toBe("PathOutsideRoot")
      }
      expect(fs.readFileSync(path.join(base, "secret.txt"), "utf8")).toBe("top secret")
      expect(fs.readdirSync(path.join(base, "outside"))).toEqual([])
      expect(fs.existsSync(path.join(base, "planted.txt"))).toBe(false)
      expect(fs.existsSync(path.join(base, "missing"))).toBe(false)
      // a missing file inside is a FileError, not an escape
      const missing = yield* Tools.run(kit, callOf("read_file", { path: "nope.txt" }))
      expect(errorOf(missing)).toMatchObject({ _tag: "FileError", operation: "read" })
    }))
})

describe("Toolsets.commands", () => {
  it.effect("runs allowed programs without a shell, refuses others, kills on timeout", () =>
    Effect.gen(function*() {
      const kit = yield* Tools.resolve(Toolsets.commands({ allow: ["echo", "sleep", "no-such-program-xyz"], timeout: "300 millis" }))
      const echo = yield* Tools.run(kit, callOf("run_command", { command: "echo", args: ["hi", "$HOME", ";", "ls"] }))
      expect(echo.result).toEqual({ exitCode: 0, stdout: "hi $HOME ; ls\n", stderr: "" })
      const refused = yield* Tools.run(kit, callOf("run_command", { command: "rm", args: ["-rf", "/"] }))
      expect(errorOf(refused)).toMatchObject({ _tag: "CommandNotAllowed", command: "rm", allowed: ["echo", "sleep", "no-such-program-xyz"] })
      const viaPath = yield* Tools.run(kit, callOf("run_command", { command: "/bin/echo" }))
      expect(errorOf(viaPath)._tag).toBe("CommandNotAllowed")
      const started = Date.now()
      const slow = yield* Tools.run(kit, callOf("run_command", { command: "sleep", args: ["5"] }))
      expect(Date.now() - started).toBeLessThan(3000)
      expect(errorOf(slow)).toMatchObject({ _tag: "CommandTimedOut", command: "sleep", timeoutMs: 300 })
      const missing = yield* Tools.run(kit, callOf("run_command", { command: "no-such-program-xyz" }))
      expect(errorOf(missing)).toMatchObject({ _tag: "CommandFailed", description: "ENOENT" })
      expect(() => Toolsets.commands({ allow: [], timeout: 0 })).toThrow(RangeError)
    }))
})

describe("Toolsets.todos", () => {
  it.effect("lists the workflow's tasks with their live status; the agent adds and updates its own items", () =>
    Effect.gen(function*() {
      const wf = Workflow.make("release")
        .task("build", { description: "Build the package" }, () => Effect.succeed(1))
        .task("test", { description: "Run the tests", dependsOn: ["build"] }, () => Effect.fail("red" as const))
        .task("ship", { dependsOn: ["test"] }, () => Effect.succeed(3))
      const list = Toolsets.todoList(Plan.fromWorkflow(wf))
      const kit = yield* Tools.resolve(Toolsets.todos(list))
      const before = yield* Tools.run(kit, callOf("todo_list", {}))
      expect(before.result).toEqual([
        { id: "build", title: "Build the package", status: "pending", source: "task" },
        { id: "test", title: "Run the tests", status: "pending", source: "task" },
        { id: "ship", title: "ship", status: "pending", source: "task" }
      ])
      yield* Effect.exit(Engine.run(wf, undefined, { onEvent: list.onEvent }))
      const added = yield* Tools.run(kit, callOf("todo_add", { title: "Write the changelog" }))
      expect(added.result).toEqual({ id: "todo-1", title: "Write the changelog", status: "pending", source: "agent" })
      const done = yield* Tools.run(kit, callOf("todo_update", { id: "todo-1", status: "done" }))
      expect((done.result as { status: string }).status).toBe("done")
      const denied = yield* Tools.run(kit, callOf("todo_update", { id: "build", status: "pending" }))
      expect(errorOf(denied)).toMatchObject({ _tag: "TodoNotEditable", id: "build" })
      const after = (yield* Tools.run(kit, callOf("todo_list", {}))).result as ReadonlyArray<{ id: string; status: string }>
      expect(after.map((item) => [item.id, item.status])).toEqual([
        ["build", "done"],
        ["test", "failed"],
        ["ship", "skipped"],
        ["todo-1", "done"]
      ])
    }))
})
