/**
 * Ready-made tools for LLM agents (see `Tools`):
 *
 * - {@link files}: read, list and (optionally) write files confined to a root directory. A path is
 *   relative to the root; an absolute path, a `..` that climbs out, or a symbolic link whose target lies
 *   outside the root is refused with {@link PathOutsideRoot} (real paths are compared, so a link inside
 *   the root that points out is caught on read, list and write).
 * - {@link commands}: run programs from an allow-list, without a shell (arguments are passed as they
 *   are), with a timeout that kills the process, and bounded output. A program not on the list is a
 *   {@link CommandNotAllowed}; a timeout is a {@link CommandTimedOut}.
 * - {@link todos}: a todo list the agent reads and extends, kept in sync with the tasks of the workflow
 *   run it is given the events of (each task is an item whose status follows the task).
 *
 * Their errors go back to the model as tool results (it can correct the call); none is fatal.
 *
 * **Example**
 *
 * ```ts
 * import { LlmAgent, Tools, Toolsets } from "@troupe/agents"
 *
 * const coder = LlmAgent.make({
 *   name: "coder",
 *   capabilities: ["code_generation"],
 *   tools: Tools.merge(
 *     Toolsets.files({ root: "./workspace", write: true }),
 *     Toolsets.commands({ allow: ["node", "npm"], timeout: "30 seconds" })
 *   )
 * })
 * ```
 *
 * @since 0.1.0
 */
import type { Plan } from "@troupe/core/Plan"
import type { RunEvent } from "@troupe/core/RunEvent"
import { Duration, Effect, Schema } from "effect"
import { Tool, type Toolkit } from "effect/ai"
import { spawn } from "node:child_process"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import * as Tools from "./Tools.ts"

// =============================================================================
// Files
// =============================================================================

/**
 * A path that is absolute, climbs out of the root with `..`, or reaches outside it through a symbolic
 * link.
 *
 * @category errors
 * @since 0.1.0
 */
export class PathOutsideRoot extends Schema.TaggedError<PathOutsideRoot>()("PathOutsideRoot", {
  path: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `The path "${this.path}" is outside the workspace: ${this.reason}`
  }
}

/**
 * A file-system operation failed (no such file, not a directory, too large, ...).
 *
 * @category errors
 * @since 0.1.0
 */
export class FileError extends Schema.TaggedError<FileError>()("FileError", {
  path: Schema.String,
  operation: Schema.String,
  description: Schema.String
}) {
  override get message(): string {
    return `Could not ${this.operation} "${this.path}": ${this.description}`
  }
}

const isInside = (root: string, target: string): boolean => {
  const relative = path.relative(root, target)
  return relative === "" || (!relative.startsWith("..") && !path.isAbsolute(relative))
}

const errnoOf = (error: unknown): string =>
  typeof error === "object" && error !== null && "code" in error && typeof error.code === "string"
    ? error.code
    : error instanceof Error
    ? error.message
    : String(error)

/**
 * Resolves a path the model gave against the root, refusing absolute paths, `..` escapes and symbolic
 * links that lead out (the real path of the target, or of its nearest existing ancestor for a file to be
 * created, must lie inside the real root).
 *
 * @category files
 * @since 0.1.0
 */
export const confine = (root: string, requested: string): Effect.Effect<string, PathOutsideRoot | FileError> =>
  Effect.tryPromise({
    try: async () => {
      if (requested.includes("\u0000")) return { error: "the path contains a NUL character" } as const
      if (path.isAbsolute(requested) || /^[a-zA-Z]:[\\/]/.test(requested)) {
        return { error: "absolute paths are not allowed; give a path relative to the workspace" } as const
      }
      const realRoot = await fs.realpath(root)
      const target = path.resolve(realRoot, requested)
      if (!isInside(realRoot, target)) return { error: "it climbs out of the workspace with .." } as const
      // the nearest existing ancestor (the target itself when it exists), resolved through links
      let existing = target
      for (;;) {
        try {
          const real = await fs.realpath(existing)
          if (!isInside(realRoot, real)) {
            return { error: "a symbolic link leads out of the workspace" } as const
          }
          return { path: existing === target ? real : path.join(real, path.relative(existing, target)) } as const
        } catch (error) {
          if (errnoOf(error) !== "ENOENT") throw error
          // a dangling link is refused: its target cannot be checked
          const stat = await fs.lstat(existing).catch(() => undefined)
          if (stat?.isSymbolicLink() === true) return { error: "a symbolic link leads out of the workspace" } as const
          const parent = path.dirname(existing)
          if (parent === existing) return { error: "no part of the path exists" } as const
          existing = parent
        }
      }
    },
    catch: (error) => new FileError({ path: requested, operation: "resolve", description: errnoOf(error) })
  }).pipe(
    Effect.flatMap((result) =>
      "error" in result
        ? Effect.fail(new PathOutsideRoot({ path: requested, reason: result.error! }))
        : Effect.succeed(result.path!)
    )
  )

const ReadFile = Tool.make("read_file", {
  description: "Read a UTF-8 text file of the workspace. Paths are relative to the workspace root.",
  parameters: Schema.Struct({ path: Schema.String }),
  success: Schema.String
})
const ListDirectory = Tool.make("list_directory", {
  description: "List a directory of the workspace (names; directories end with /). Use \".\" for the root.",
  parameters: Schema.Struct({ path: Schema.String }),
  success: Schema.Array(Schema.String)
})
const WriteFile = Tool.make("write_file", {
  description: "Create or replace a UTF-8 text file of the workspace (parent directories are created).",
  parameters: Schema.Struct({ path: Schema.String, content: Schema.String }),
  success: Schema.Struct({ path: Schema.String, bytes: Schema.Number })
})

/**
 * File tools confined to `root`: `read_file`, `list_directory`, and with `write: true` also
 * `write_file`. Files larger than `maxBytes` (default 1 MB) are refused.
 *
 * @category files
 * @since 0.1.0
 */
export const files = (options: {
  readonly root: string
  readonly write?: boolean | undefined
  readonly maxBytes?: number | undefined
}): Effect.Effect<Toolkit.WithHandler<Record<string, Tool.Any>>> => {
  const root = path.resolve(options.root)
  const maxBytes = options.maxBytes ?? 1_000_000
  const read = Tools.make(ReadFile, ({ path: requested }) =>
    Effect.flatMap(confine(root, requested), (resolved) =>
      Effect.tryPromise({
        try: async () => {
          const stat = await fs.stat(resolved)
          if (!stat.isFile()) throw Object.assign(new Error("not a regular file"), { code: "not a regular file" })
          if (stat.size > maxBytes) {
            throw Object.assign(new Error("too large"), { code: `larger than ${maxBytes} bytes` })
          }
          return await fs.readFile(resolved, "utf8")
        },
        catch: (error) => new FileError({ path: requested, operation: "read", description: errnoOf(error) })
      })))
  const list = Tools.make(ListDirectory, ({ path: requested }) =>
    Effect.flatMap(confine(root, requested), (resolved) =>
      Effect.tryPromise({
        try: async () =>
          (await fs.readdir(resolved, { withFileTypes: true }))
            .map((entry) => entry.isDirectory() ? `${entry.name}/` : entry.name)
            .sort(),
        catch: (error) => new FileError({ path: requested, operation: "list", description: errnoOf(error) })
      })))
  if (options.write !== true) return Tools.merge(read, list) as unknown as Effect.Effect<Toolkit.WithHandler<Record<string, Tool.Any>>>
  const write = Tools.make(WriteFile, ({ content, path: requested }) =>
    Effect.flatMap(confine(root, requested), (resolved) =>
      Effect.tryPromise({
        try: async () => {
          const bytes = Buffer.byteLength(content, "utf8")
          if (bytes > maxBytes) throw Object.assign(new Error("too large"), { code: `larger than ${maxBytes} bytes` })
          await fs.mkdir(path.dirname(resolved), { recursive: true })
          // a link created between the check and the write is not followed
          const handle = await fs.open(resolved, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_TRUNC | fs.constants.O_NOFOLLOW)
          try {
            await handle.writeFile(content, "utf8")
          } finally {
            await handle.close()
          }
          return { path: requested, bytes }
        },
        catch: (error) => new FileError({ path: requested, operation: "write", description: errnoOf(error) })
      })))
  return Tools.merge(read, list, write) as unknown as Effect.Effect<Toolkit.WithHandler<Record<string, Tool.Any>>>
}

// =============================================================================
// Commands
// =============================================================================

/**
 * The program is not on the allow-list.
 *
 * @category errors
 * @since 0.1.0
 */
export class CommandNotAllowed extends Schema.TaggedError<CommandNotAllowed>()("CommandNotAllowed", {
  command: Schema.String,
  allowed: Schema.Array(Schema.String)
}) {
  override get message(): string {
    return `The command "${this.command}" is not allowed; allowed: ${this.allowed.join(", ")}`
  }
}

/**
 * The command ran longer than the timeout and was killed.
 *
 * @category errors
 * @since 0.1.0
 */
export class CommandTimedOut extends Schema.TaggedError<CommandTimedOut>()("CommandTimedOut", {
  command: Schema.String,
  timeoutMs: Schema.Number,
  /** The last output before it was killed. */
  output: Schema.String
}) {
  override get message(): string {
    return `The command "${this.command}" did not finish within ${this.timeoutMs} ms and was killed`
  }
}

/**
 * The command could not be started (for example the program does not exist).
 *
 * @category errors
 * @since 0.1.0
 */
export class CommandFailed extends Schema.TaggedError<CommandFailed>()("CommandFailed", {
  command: Schema.String,
  description: Schema.String
}) {
  override get message(): string {
    return `The command "${this.command}" could not run: ${this.description}`
  }
}

const CommandResult = Schema.Struct({
  exitCode: Schema.NullOr(Schema.Number),
  stdout: Schema.String,
  stderr: Schema.String
})

const RunCommand = Tool.make("run_command", {
  description: "Run a program (no shell: arguments are passed as they are). Only allowed programs run.",
  parameters: Schema.Struct({
    command: Schema.String.annotate({ description: "The program, e.g. \"ls\"" }),
    args: Schema.optional(Schema.Array(Schema.String))
  }),
  success: CommandResult
})

const tailOf = (text: string, max: number): string => text.length <= max ? text : `...${text.slice(-max)}`

/**
 * A `run_command` tool: runs programs named in `allow` (exact names, looked up on the `PATH`), in `cwd`,
 * each killed after `timeout` (default 30 seconds; the whole process group). The result holds the exit
 * code and the last `maxOutput` characters (default 10 000) of stdout and stderr. The child's
 * environment is `env` (default: the parent's).
 *
 * @category commands
 * @since 0.1.0
 */
export const commands = (options: {
  readonly allow: ReadonlyArray<string>
  readonly timeout?: Duration.Input | undefined
  readonly cwd?: string | undefined
  readonly maxOutput?: number | undefined
  readonly env?: Readonly<Record<string, string>> | undefined
}) => {
  const timeoutMs = Duration.toMillis(Duration.fromInputUnsafe(options.timeout ?? "30 seconds"))
  if (!(timeoutMs > 0)) throw new RangeError(`Toolsets.commands: timeout must be positive, got ${timeoutMs} ms`)
  const maxOutput = options.maxOutput ?? 10_000
  const allowed = [...options.allow]
  return Tools.make(RunCommand, ({ args, command }): Effect.Effect<
    typeof CommandResult.Type,
    CommandNotAllowed | CommandTimedOut | CommandFailed
  > => {
    if (!allowed.includes(command)) return Effect.fail(new CommandNotAllowed({ command, allowed }))
    return Effect.callback<typeof CommandResult.Type, CommandTimedOut | CommandFailed>((resume) => {
      let stdout = ""
      let stderr = ""
      let settled = false
      const child = spawn(command, [...(args ?? [])], {
        cwd: options.cwd,
        env: options.env === undefined ? process.env : { ...options.env },
        shell: false,
        detached: process.platform !== "win32",
        stdio: ["ignore", "pipe", "pipe"]
      })
      const kill = () => {
        try {
          if (child.pid !== undefined && process.platform !== "win32") process.kill(-child.pid, "SIGKILL")
          else child.kill("SIGKILL")
        } catch {
          // already gone
        }
      }
      const timer = setTimeout(() => {
        if (settled) return
        settled = true
        kill()
        resume(Effect.fail(new CommandTimedOut({ command, timeoutMs, output: tailOf(stdout + stderr, 2000) })))
      }, timeoutMs)
      child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
        stdout = tailOf(stdout + chunk, maxOutput)
      })
      child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
        stderr = tailOf(stderr + chunk, maxOutput)
      })
      child.on("error", (error) => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        resume(Effect.fail(new CommandFailed({ command, description: errnoOf(error) })))
      })
      child.on("close", (code) => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        resume(Effect.succeed({ exitCode: code, stdout, stderr }))
      })
      return Effect.sync(() => {
        clearTimeout(timer)
        if (!settled) {
          settled = true
          kill()
        }
      })
    })
  })
}

// =============================================================================
// Todos
// =============================================================================

/**
 * One item of a todo list: a task of the workflow (`source: "task"`, its status follows the task) or
 * one the agent added (`source: "agent"`).
 *
 * @category todos
 * @since 0.1.0
 */
export interface TodoItem {
  readonly id: string
  readonly title: string
  readonly status: TodoStatus
  readonly source: "task" | "agent"
}

/**
 * @category todos
 * @since 0.1.0
 */
export type TodoStatus = "pending" | "in_progress" | "done" | "failed" | "skipped"

const TodoStatusSchema = Schema.Literals(["pending", "in_progress", "done", "failed", "skipped"])
const TodoItemSchema = Schema.Struct({
  id: Schema.String,
  title: Schema.String,
  status: TodoStatusSchema,
  source: Schema.Literals(["task", "agent"])
})

/**
 * The item does not exist, or it is a workflow task's item (its status follows the task).
 *
 * @category errors
 * @since 0.1.0
 */
export class TodoNotEditable extends Schema.TaggedError<TodoNotEditable>()("TodoNotEditable", {
  id: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `Todo "${this.id}" cannot be changed: ${this.reason}`
  }
}

/**
 * A todo list: read it with `items`, keep it in sync with a run by passing `onEvent` to the run's
 * `onEvent` option (or feeding it the run's events).
 *
 * @category todos
 * @since 0.1.0
 */
export interface TodoList {
  readonly items: () => ReadonlyArray<TodoItem>
  readonly onEvent: (event: RunEvent) => void
  readonly add: (title: string) => TodoItem
  readonly update: (id: string, status: TodoStatus) => TodoItem | TodoNotEditable
}

/**
 * A todo list, with one pending item per task of `plan` when given (titled with the task's description).
 *
 * @category todos
 * @since 0.1.0
 */
export const todoList = (plan?: Plan): TodoList => {
  const items = new Map<string, TodoItem>()
  for (const node of plan?.nodes ?? []) {
    items.set(node.id, {
      id: node.id,
      title: node.description.length > 0 ? node.description : node.id,
      status: "pending",
      source: "task"
    })
  }
  let next = 1
  const set = (id: string, status: TodoStatus) => {
    const item = items.get(id)
    if (item !== undefined && item.source === "task") items.set(id, { ...item, status })
    else if (item === undefined) items.set(id, { id, title: id, status, source: "task" })
  }
  return {
    items: () => [...items.values()],
    onEvent: (event) => {
      switch (event._tag) {
        case "TaskStarted":
          return set(event.taskId, "in_progress")
        case "TaskCompleted":
          return set(event.taskId, "done")
        case "TaskFailed":
          return set(event.taskId, "failed")
        case "TaskSkipped":
        case "TaskCancelled":
          return set(event.taskId, "skipped")
        default:
          return
      }
    },
    add: (title) => {
      let id = `todo-${next++}`
      while (items.has(id)) id = `todo-${next++}`
      const item: TodoItem = { id, title, status: "pending", source: "agent" }
      items.set(id, item)
      return item
    },
    update: (id, status) => {
      const item = items.get(id)
      if (item === undefined) return new TodoNotEditable({ id, reason: "there is no such item" })
      if (item.source === "task") {
        return new TodoNotEditable({ id, reason: "it is a workflow task; its status follows the task" })
      }
      const updated = { ...item, status }
      items.set(id, updated)
      return updated
    }
  }
}

const TodoRead = Tool.make("todo_list", {
  description: "The todo list: the workflow's tasks with their live status, and the items you added.",
  success: Schema.Array(TodoItemSchema)
})
const TodoAdd = Tool.make("todo_add", {
  description: "Add an item to the todo list.",
  parameters: Schema.Struct({ title: Schema.String }),
  success: TodoItemSchema
})
const TodoUpdate = Tool.make("todo_update", {
  description: "Change the status of an item you added.",
  parameters: Schema.Struct({ id: Schema.String, status: TodoStatusSchema }),
  success: TodoItemSchema
})

/**
 * Tools over a todo list: `todo_list`, `todo_add` and `todo_update`.
 *
 * @category todos
 * @since 0.1.0
 */
export const todos = (list: TodoList) =>
  Tools.merge(
    Tools.make(TodoRead, () => Effect.sync(() => list.items())),
    Tools.make(TodoAdd, ({ title }) => Effect.sync(() => list.add(title))),
    Tools.make(TodoUpdate, ({ id, status }) =>
      Effect.suspend(() => {
        const result = list.update(id, status)
        return result instanceof TodoNotEditable ? Effect.fail(result) : Effect.succeed(result)
      }))
  )
