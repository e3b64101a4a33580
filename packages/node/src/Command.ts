/**
 * Command tasks: run a real process as a workflow task.
 *
 * A command runs through Effect's child-process support (`effect/process`, implemented for Node by
 * `@effect/platform-node`), so a workflow using it requires the `ChildProcessSpawner` service
 * (`NodeServices.layer` provides it).
 *
 * - Output is read line by line while the process runs; every line is reported as a `TaskOutput` run event
 *   (through `TaskInfo.emit`) and to the {@link OutputListener} reference, and the last lines are kept as the
 *   command's tail.
 * - A non-zero exit is a typed {@link CommandFailed} carrying the exit code and the output's tail.
 * - A timeout is a typed {@link CommandTimedOut}; the process's whole process group (the command and
 *   everything it started) is terminated first (SIGTERM, then SIGKILL after `killGrace`).
 * - A program that is not installed is a typed {@link CommandNotFound} naming it: before the run starts for a
 *   task whose command is known up front (the task's pre-run check looks it up on `PATH`), else when it is
 *   spawned (a shell's exit code 127 counts too).
 *
 * @example
 * ```ts
 * import { NodeServices } from "@effect/platform-node"
 * import { Engine, Workflow } from "@troupe/core"
 * import { Command } from "@troupe/node"
 * import { Effect } from "effect"
 *
 * const wf = Workflow.make("build")
 *   .task("compile", Command.task(Command.parse("npx tsc --noEmit"), { timeout: "2 minutes" }))
 *   .task("report", { dependsOn: ["compile"] }, ({ compile }) => Effect.succeed(compile.exitCode))
 *
 * const program = Engine.run(wf).pipe(Effect.provide(NodeServices.layer))
 * ```
 *
 * @since 0.1.0
 */
import { accessSync, constants, statSync } from "node:fs"
import { delimiter, isAbsolute, join, resolve } from "node:path"
import * as Task from "@troupe/core/Task"
import { Clock, Context, Duration, Effect, PlatformError, Schema, Stream } from "effect"
import { ChildProcess, ChildProcessSpawner } from "effect/process"

// -----------------------------------------------------------------------------
// Errors
// -----------------------------------------------------------------------------

const where = (taskId: string | undefined) => (taskId === undefined ? "" : ` (task "${taskId}")`)

/**
 * The program is not installed: not found on `PATH` (or, for a path, not an executable file).
 *
 * @category errors
 * @since 0.1.0
 */
export class CommandNotFound extends Schema.TaggedError<CommandNotFound>()("CommandNotFound", {
  /** The program that was looked up. */
  command: Schema.String,
  taskId: Schema.optional(Schema.String),
  /** Where it was looked for. */
  searched: Schema.String
}) {
  override get message(): string {
    return `Command "${this.command}" is not installed${where(this.taskId)}: not found in ${this.searched}`
  }
}

/**
 * The process exited with a non-zero code (or was killed by a signal: `exitCode` is then -1 and `signal`
 * set).
 *
 * @category errors
 * @since 0.1.0
 */
export class CommandFailed extends Schema.TaggedError<CommandFailed>()("CommandFailed", {
  /** The command line, for messages. */
  command: Schema.String,
  taskId: Schema.optional(Schema.String),
  exitCode: Schema.Number,
  signal: Schema.optional(Schema.String),
  /** The last lines of its output (stdout and stderr, in the order they arrived). */
  tail: Schema.Array(Schema.String)
}) {
  override get message(): string {
    const how = this.signal === undefined ? `exited with code ${this.exitCode}` : `was killed by ${this.signal}`
    const tail = this.tail.length === 0 ? " (no output)" : `; last output:\n${this.tail.join("\n")}`
    return `Command "${this.command}"${where(this.taskId)} ${how}${tail}`
  }
}

/**
 * The process ran past its timeout; its process group was terminated.
 *
 * @category errors
 * @since 0.1.0
 */
export class CommandTimedOut extends Schema.TaggedError<CommandTimedOut>()("CommandTimedOut", {
  command: Schema.String,
  taskId: Schema.optional(Schema.String),
  timeoutMs: Schema.Number,
  tail: Schema.Array(Schema.String)
}) {
  override get message(): string {
    const tail = this.tail.length === 0 ? "" : `; last output:\n${this.tail.join("\n")}`
    return `Command "${this.command}"${where(this.taskId)} timed out after ${this.timeoutMs} ms and was killed${tail}`
  }
}

/**
 * The process could not be started for another reason (a working directory that does not exist, a file that
 * is not executable, ...), or its output could not be read.
 *
 * @category errors
 * @since 0.1.0
 */
export class CommandSpawnError extends Schema.TaggedError<CommandSpawnError>()("CommandSpawnError", {
  command: Schema.String,
  taskId: Schema.optional(Schema.String),
  reason: Schema.String
}) {
  override get message(): string {
    return `Command "${this.command}"${where(this.taskId)} could not run: ${this.reason}`
  }
}

/**
 * Every way a command can fail.
 *
 * @category errors
 * @since 0.1.0
 */
export type CommandError = CommandNotFound | CommandFailed | CommandTimedOut | CommandSpawnError

/**
 * @category guards
 * @since 0.1.0
 */
export const isCommandError = (u: unknown): u is CommandError =>
  u instanceof CommandNotFound || u instanceof CommandFailed || u instanceof CommandTimedOut ||
  u instanceof CommandSpawnError

// -----------------------------------------------------------------------------
// Models
// -----------------------------------------------------------------------------

/**
 * What to run. `command` is a program and `args` its arguments (no shell involved); with `shell: true`,
 * `command` is a whole shell script run by `/bin/sh` and `args` must be empty.
 *
 * @category models
 * @since 0.1.0
 */
export interface Spec {
  readonly command: string
  readonly args?: ReadonlyArray<string> | undefined
  readonly shell?: boolean | undefined
  readonly cwd?: string | undefined
  /** Added to the current environment. */
  readonly env?: Readonly<Record<string, string>> | undefined
  /** Kill the process group and fail with `CommandTimedOut` after this long. */
  readonly timeout?: Duration.Input | undefined
  /** After SIGTERM, wait this long before SIGKILL. Default 2 seconds. */
  readonly killGrace?: Duration.Input | undefined
  /** How many output lines errors keep. Default 30. */
  readonly tailLines?: number | undefined
  /** At most this many characters of stdout (and of stderr) are kept in the result. Default 1 000 000. */
  readonly maxBuffer?: number | undefined
}

/**
 * A finished command (exit code 0).
 *
 * @category models
 * @since 0.1.0
 */
export interface Result {
  /** The command line, for messages. */
  readonly command: string
  readonly exitCode: number
  readonly stdout: string
  readonly stderr: string
  /** The last lines of output (both streams, in arrival order). */
  readonly tail: ReadonlyArray<string>
  readonly durationMs: number
}

/**
 * One line of a command's output.
 *
 * @category models
 * @since 0.1.0
 */
export interface OutputLine {
  /** The task running the command, when it runs as a task. */
  readonly taskId: string | undefined
  readonly stream: "stdout" | "stderr"
  readonly line: string
}

/**
 * Receives every output line of every command run in its scope (besides the run's `TaskOutput` events).
 * Provide one with `Effect.provideService(Command.OutputListener, (line) => ...)`, for example to print a
 * command's output live.
 *
 * @category references
 * @since 0.1.0
 */
export const OutputListener = Context.Reference<((line: OutputLine) => void) | undefined>(
  "@troupe/node/Command/OutputListener",
  { defaultValue: () => undefined }
)

// -----------------------------------------------------------------------------
// Constructors
// -----------------------------------------------------------------------------

const shellChars = /[|&;<>()$`\\*?[\]{}~#!]|\n/

/**
 * Splits a command line into a program and its arguments (single and double quotes group words). A line
 * that uses shell syntax (pipes, redirections, `&&`, variables, globs, ...) becomes a shell script
 * (`shell: true`).
 *
 * @example
 * ```ts
 * import { Command } from "@troupe/node"
 *
 * Command.parse(`git commit -m "first commit"`) // { command: "git", args: ["commit", "-m", "first commit"] }
 * Command.parse("npm test && npm run build")    // { command: "npm test && npm run build", shell: true }
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const parse = (line: string, options?: Omit<Spec, "command" | "args" | "shell">): Spec => {
  const trimmed = line.trim()
  const words: Array<string> = []
  let current = ""
  let inWord = false
  let quote: "'" | "\"" | undefined
  let needsShell = false
  for (const ch of trimmed) {
    if (quote !== undefined) {
      if (ch === quote) quote = undefined
      else {
        if (quote === "\"" && (ch === "$" || ch === "`" || ch === "\\")) needsShell = true
        current += ch
      }
      continue
    }
    if (ch === "'" || ch === "\"") {
      quote = ch
      inWord = true
      continue
    }
    if (ch === " " || ch === "\t") {
      if (inWord) words.push(current)
      current = ""
      inWord = false
      continue
    }
    // Shell syntax, or a leading `NAME=value` assignment.
    if (shellChars.test(ch) || (ch === "=" && words.length === 0)) needsShell = true
    current += ch
    inWord = true
  }
  if (inWord) words.push(current)
  if (quote !== undefined || needsShell || words.length === 0) {
    return { ...options, command: trimmed, shell: true }
  }
  return { ...options, command: words[0]!, args: words.slice(1) }
}

/**
 * The command line of a spec, for messages.
 *
 * @category accessors
 * @since 0.1.0
 */
export const display = (spec: Spec): string =>
  spec.shell === true || spec.args === undefined || spec.args.length === 0
    ? spec.command
    : [spec.command, ...spec.args.map((a) => (/[\s"']/.test(a) ? JSON.stringify(a) : a))].join(" ")

const shellWords = new Set([
  "cd", "echo", "exit", "export", "set", "test", "true", "false", "if", "for", "while", "case", "until",
  "[", "exec", "eval", "source", ".", ":", "printf", "read", "unset", "trap", "wait", "sleep", "type", "command"
])

/** The program a spec starts (for a shell script, its first word), or undefined when it cannot be told. */
const programOf = (spec: Spec): string | undefined => {
  if (spec.shell !== true) return spec.command
  const first = spec.command.trim().split(/[\s;&|()<>]+/)[0]
  if (first === undefined || first === "" || first.includes("=") || first.includes("$") || shellWords.has(first)) {
    return undefined
  }
  return first.replace(/^["']|["']$/g, "")
}

const isExecutable = (file: string): boolean => {
  try {
    if (!statSync(file).isFile()) return false
    accessSync(file, constants.X_OK)
    return true
  } catch {
    return false
  }
}

/**
 * Looks a program up the way a shell would: a name containing `/` is a path (relative to `cwd`), anything
 * else is searched on `PATH`. Returns the executable's path, or undefined.
 *
 * @category accessors
 * @since 0.1.0
 */
export const which = (
  program: string,
  options?: { readonly cwd?: string | undefined; readonly path?: string | undefined }
): string | undefined => {
  if (program.includes("/")) {
    const file = isAbsolute(program) ? program : resolve(options?.cwd ?? process.cwd(), program)
    return isExecutable(file) ? file : undefined
  }
  const path = options?.path ?? process.env.PATH ?? ""
  for (const dir of path.split(delimiter)) {
    if (dir === "") continue
    const file = join(dir, program)
    if (isExecutable(file)) return file
  }
  return undefined
}

const pathOf = (spec: Spec) => spec.env?.PATH ?? process.env.PATH ?? ""

/**
 * Checks that the program a spec runs is installed (for a shell script: its first word, when that is a
 * program), without running it.
 *
 * @category combinators
 * @since 0.1.0
 */
export const ensureInstalled = (spec: Spec, taskId?: string): Effect.Effect<void, CommandNotFound> =>
  Effect.suspend(() => {
    const program = programOf(spec)
    if (program === undefined) return Effect.void
    if (which(program, { cwd: spec.cwd, path: pathOf(spec) }) !== undefined) return Effect.void
    return Effect.fail(
      new CommandNotFound({
        command: program,
        ...(taskId === undefined ? {} : { taskId }),
        searched: program.includes("/") ? resolve(spec.cwd ?? ".", program) : `PATH=${pathOf(spec)}`
      })
    )
  })

// -----------------------------------------------------------------------------
// Running
// -----------------------------------------------------------------------------

/**
 * Options of {@link run}.
 *
 * @category models
 * @since 0.1.0
 */
export interface RunOptions {
  /** Named in errors and output lines. */
  readonly taskId?: string | undefined
  /** Called with every output line as it arrives. */
  readonly onLine?: ((stream: "stdout" | "stderr", line: string) => void) | undefined
}

const describe = (u: unknown): string =>
  PlatformError.isPlatformError(u) ? u.reason.message : u instanceof Error ? u.message : String(u)

/**
 * Runs a command to completion: streams its output (to `onLine` and the {@link OutputListener}), keeps a
 * tail, and succeeds with its output when it exits with code 0.
 *
 * @category running
 * @since 0.1.0
 */
export const run = (
  spec: Spec,
  options?: RunOptions
): Effect.Effect<Result, CommandError, ChildProcessSpawner.ChildProcessSpawner> =>
  Effect.gen(function*() {
    const taskId = options?.taskId
    const shown = display(spec)
    const tailSize = spec.tailLines ?? 30
    const maxBuffer = spec.maxBuffer ?? 1_000_000
    const tail: Array<string> = []
    const kept = { stdout: "", stderr: "" }
    const listener = yield* OutputListener
    const onLine = options?.onLine
    const withTask = taskId === undefined ? {} : { taskId }
    const started = yield* Clock.currentTimeMillis

    const spawnError = (u: unknown): CommandError => {
      if (PlatformError.isPlatformError(u) && u.reason._tag === "NotFound" && u.reason.method === "spawn") {
        return new CommandNotFound({ command: spec.command, ...withTask, searched: `PATH=${pathOf(spec)}` })
      }
      return new CommandSpawnError({ command: shown, ...withTask, reason: describe(u) })
    }

    const line = (stream: "stdout" | "stderr", text: string) => {
      tail.push(text)
      if (tail.length > tailSize) tail.shift()
      if (kept[stream].length < maxBuffer) kept[stream] += (kept[stream] === "" ? "" : "\n") + text
      onLine?.(stream, text)
      listener?.({ taskId, stream, line: text })
    }

    if (spec.cwd !== undefined) {
      const ok = (() => {
        try {
          return statSync(spec.cwd).isDirectory()
        } catch {
          return false
        }
      })()
      if (!ok) {
        return yield* new CommandSpawnError({
          command: shown,
          ...withTask,
          reason: `working directory ${spec.cwd} does not exist`
        })
      }
    }

    const command = ChildProcess.make(spec.command, spec.shell === true ? [] : [...(spec.args ?? [])], {
      cwd: spec.cwd,
      env: spec.env === undefined ? undefined : { ...spec.env },
      extendEnv: true,
      shell: spec.shell === true ? "/bin/sh" : undefined,
      stdin: "ignore",
      killSignal: "SIGTERM",
      forceKillAfter: spec.killGrace ?? "2 seconds"
    })

    const body = Effect.scoped(
      Effect.gen(function*() {
        const spawner = yield* ChildProcessSpawner.ChildProcessSpawner
        const handle = yield* spawner.spawn(command).pipe(Effect.mapError(spawnError))
        const read = (stream: "stdout" | "stderr") =>
          handle[stream].pipe(
            Stream.decodeText(),
            Stream.splitLines,
            Stream.runForEach((text) => Effect.sync(() => line(stream, text)))
          )
        yield* Effect.all([read("stdout"), read("stderr")], { concurrency: 2, discard: true }).pipe(
          Effect.mapError((u): CommandError =>
            new CommandSpawnError({ command: shown, ...withTask, reason: `reading output: ${describe(u)}` })
          )
        )
        return yield* handle.exitCode.pipe(
          Effect.map((code) => ({ code: code as number, signal: undefined as string | undefined })),
          Effect.catch((u) => {
            const signal = /signal: '(\w+)'/.exec(describe(u))?.[1]
            return Effect.succeed({ code: -1, signal: signal ?? "an unknown signal" })
          })
        )
      })
    )

    const timeout = spec.timeout === undefined ? undefined : Duration.fromInputUnsafe(spec.timeout)
    const exit = timeout === undefined ? yield* body : yield* body.pipe(
      Effect.timeoutOrElse({
        duration: timeout,
        orElse: () =>
          Effect.fail(
            new CommandTimedOut({ command: shown, ...withTask, timeoutMs: Duration.toMillis(timeout), tail: [...tail] })
          )
      })
    )

    if (exit.code === 127 && spec.shell === true) {
      const program = programOf(spec)
      if (program !== undefined && tail.some((l) => l.includes("not found"))) {
        return yield* new CommandNotFound({ command: program, ...withTask, searched: `PATH=${pathOf(spec)}` })
      }
    }
    if (exit.code !== 0) {
      return yield* new CommandFailed({
        command: shown,
        ...withTask,
        exitCode: exit.code,
        ...(exit.signal === undefined ? {} : { signal: exit.signal }),
        tail: [...tail]
      })
    }
    const finished = yield* Clock.currentTimeMillis
    return {
      command: shown,
      exitCode: 0,
      stdout: kept.stdout,
      stderr: kept.stderr,
      tail: [...tail],
      durationMs: finished - started
    }
  })

// -----------------------------------------------------------------------------
// Tasks
// -----------------------------------------------------------------------------

/**
 * A task that runs a command. The spec is fixed, or computed from the task's context (the workflow input
 * and the outputs of its dependencies). With a fixed spec, the task checks before the run starts that the
 * program is installed (a `CommandNotFound` naming the task, nothing run). Each output line is a
 * `TaskOutput` run event; the task's output is the command's {@link Result}.
 *
 * @category constructors
 * @since 0.1.0
 */
export const task = <Needs = unknown>(
  spec: Spec | ((ctx: Needs) => Spec),
  attributes?: Task.Attributes
): Task.Task<Result, CommandError, ChildProcessSpawner.ChildProcessSpawner, Needs> => {
  const fixed = typeof spec === "function" ? undefined : spec
  return {
    [Task.TypeId]: Task.TypeId,
    taskType: "command",
    attributes: {
      ...(fixed === undefined ? {} : {
        description: `run ${display(fixed)}`,
        parameters: { command: display(fixed), ...(fixed.cwd === undefined ? {} : { cwd: fixed.cwd }) }
      }),
      ...attributes
    },
    run: (ctx: Needs, info: Task.TaskInfo) =>
      Effect.suspend(() => {
        const resolved = typeof spec === "function" ? spec(ctx) : spec
        const emit = info.emit
        return run(resolved, {
          taskId: info.node.id,
          onLine: emit === undefined ? undefined : (stream, line) => emit({ _tag: "TaskOutput", stream, line })
        })
      }),
    check: fixed === undefined ? undefined : (node) => ensureInstalled(fixed, node.id)
  }
}
