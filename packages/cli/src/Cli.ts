/**
 * The `troupe` command, on `effect/cli`: `run`, `validate`, `graph` (and the commands over stored runs,
 * schedules and templates where those packages provide them).
 *
 * `main(argv)` runs the command and resolves to its exit code (see `ExitCode`).
 *
 * @since 0.1.0
 */
import { writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import * as NodeServices from "@effect/platform-node/NodeServices"
import type * as Engine from "@troupe/core/Engine"
import * as Plan from "@troupe/core/Plan"
import type { Plan as PlanModel } from "@troupe/core/Plan"
import * as RunEvent from "@troupe/core/RunEvent"
import type { RunState } from "@troupe/core/RunState"
import * as Workflow from "@troupe/core/Workflow"
import { Command as Command_ } from "@troupe/node"
import { Cause, Effect, Exit, Fiber, Layer, Option, Schema } from "effect"
import { Argument, CliError, Command, Flag } from "effect/cli"
import { parse as parseYaml } from "yaml"
import * as ExitCode from "./ExitCode.ts"
import * as Flags from "./internal/flags.ts"
import { CliExit, diagnoseFile, formatLocated, load, runnable } from "./Load.ts"
import * as Progress from "./Progress.ts"
import * as Runs from "./Runs.ts"
import * as ScheduleCommands from "./ScheduleCommands.ts"
import * as Source from "./Source.ts"

const version: string = (createRequire(import.meta.url)("../package.json") as { version: string }).version

// -----------------------------------------------------------------------------
// Terminal
// -----------------------------------------------------------------------------

/**
 * Where a command writes, and what it knows about the terminal. Tests replace it.
 *
 * @category models
 * @since 0.1.0
 */
export interface Io {
  readonly stdout: (text: string) => void
  readonly stderr: (text: string) => void
  readonly stderrIsTTY: boolean
  readonly stdoutIsTTY: boolean
  readonly columns: () => number
  readonly rows: () => number
  readonly env: Readonly<Record<string, string | undefined>>
  /** Registers a handler of SIGINT/SIGTERM; returns a function that removes it. */
  readonly onSignal: (handler: (signal: "SIGINT" | "SIGTERM") => void) => () => void
}

/**
 * The process's terminal.
 *
 * @category constructors
 * @since 0.1.0
 */
export const processIo = (): Io => ({
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
  stderrIsTTY: process.stderr.isTTY === true,
  stdoutIsTTY: process.stdout.isTTY === true,
  columns: () => process.stderr.columns ?? 80,
  rows: () => process.stderr.rows ?? 24,
  env: process.env,
  onSignal: (handler) => {
    const int = () => handler("SIGINT")
    const term = () => handler("SIGTERM")
    process.on("SIGINT", int)
    process.on("SIGTERM", term)
    return () => {
      process.off("SIGINT", int)
      process.off("SIGTERM", term)
    }
  }
})

let io: Io = processIo()

const color = (tty: boolean) => Progress.useColor(tty, io.env)
const errStyle = () => Progress.style(color(io.stderrIsTTY))
const outStyle = () => Progress.style(color(io.stdoutIsTTY))

// -----------------------------------------------------------------------------
// Shared flags
// -----------------------------------------------------------------------------

const fileArgument = Argument.String("file").pipe(
  Argument.withDescription("A workflow module (.ts, .js: default or --export'ed workflow) or a definition (.yaml, .yml, .json)")
)

const exportOf = (o: Option.Option<string>) => Option.getOrUndefined(o)

// -----------------------------------------------------------------------------
// run
// -----------------------------------------------------------------------------

const parseInput = (raw: string | undefined): Effect.Effect<unknown, CliExit> =>
  Effect.gen(function*() {
    if (raw === undefined) return undefined
    if (raw.startsWith("@")) {
      const file = raw.slice(1)
      const parsed = yield* Source.readDefinition(file).pipe(
        Effect.mapError((e) => new CliExit({ code: ExitCode.InvalidInput, text: `--input ${e.message}` }))
      )
      return parsed.value
    }
    try {
      return JSON.parse(raw) as unknown
    } catch {
      // A bare word is a string input; anything else must be JSON (or YAML, which JSON is part of).
      try {
        return parseYaml(raw) as unknown
      } catch (cause) {
        return yield* new CliExit({
          code: ExitCode.InvalidInput,
          text: `--input is neither JSON nor YAML: ${cause instanceof Error ? cause.message.split("\n")[0] : String(cause)}`
        })
      }
    }
  })

/** JSON.stringify that never throws (bigints as strings, cycles and functions dropped). */
export const safeJson = (value: unknown, indent?: number): string => {
  const seen = new WeakSet<object>()
  try {
    return JSON.stringify(value, (_key, v: unknown) => {
      if (typeof v === "bigint") return v.toString()
      if (typeof v === "function" || typeof v === "symbol") return undefined
      if (typeof v === "object" && v !== null) {
        if (seen.has(v)) return "[Circular]"
        seen.add(v)
      }
      return v
    }, indent) ?? "null"
  } catch (cause) {
    return JSON.stringify({ unserialisable: String(cause) })
  }
}

const encodeEvent = Schema.encodeUnknownSync(RunEvent.RunEvent)

/** One NDJSON line of an event (its Schema encoding). */
export const eventLine = (event: RunEvent.RunEvent): string => {
  let encoded: unknown
  try {
    encoded = encodeEvent(event)
  } catch {
    encoded = { ...event, ...("cause" in event ? { cause: undefined } : {}) }
  }
  return `${safeJson(encoded)}\n`
}

type Start = (
  workflow: Workflow.Any,
  input: unknown,
  options: Engine.RunOptions
) => Effect.Effect<Engine.RunHandle<unknown, unknown>, unknown, unknown>

/** The engine, loaded when a command runs something (`validate` and `graph` do without it). */
const engineStart: Effect.Effect<Start> = Effect.promise(() => import("@troupe/core/Engine")).pipe(
  Effect.map((Engine) => Engine.start as unknown as Start)
)

/** Whether running a plan needs the expression language (expressions in conditions, mappings, loops). */
const needsExpressions = (plan: PlanModel): boolean =>
  plan.nodes.some((node) =>
    node.condition?._tag === "Expression" || node.loop?._tag === "While" || node.metadata.outputMapping !== undefined ||
    (node.workflow !== undefined && needsExpressions(node.workflow))
  )

const summary = (state: RunState, s: Progress.Style): string => {
  const failed = state.tasks.filter((t) => t.status === "failed")
  return failed.map((t) => `${s.red("✗")} ${t.id}: ${(t.error ?? "failed").split("\n")[0]}`).join("\n")
}

const runCommand = Command.make(
  "run",
  {
    file: fileArgument,
    exportName: Flags.exportName,
    handlers: Flags.handlers,
    input: Flag.String("input").pipe(
      Flag.withDescription("The workflow's input: JSON (or YAML) text, or @file to read it from a file"),
      Flag.withAlias("i"),
      Flag.optional
    ),
    maxParallel: Flags.maxParallel,
    durable: Flag.Boolean("durable").pipe(
      Flag.withDescription("Run durably: journaled in the SQLite store, resumable after Ctrl-C or a crash (troupe runs ...)"),
      Flag.withDefault(false)
    ),
    db: Flags.db,
    runId: Flag.String("run-id").pipe(
      Flag.withDescription("The run's id (default: a new one); with --durable, an unfinished run with this id resumes"),
      Flag.optional
    ),
    json: Flags.events
  },
  (flags) =>
    Effect.gen(function*() {
      const maxParallel = Option.getOrUndefined(flags.maxParallel)
      if (maxParallel !== undefined && maxParallel < 1) {
        return yield* new CliExit({ code: ExitCode.InvalidInput, text: `--max-parallel must be a positive integer, got ${maxParallel}` })
      }
      const target = yield* load(flags.file, { exportName: exportOf(flags.exportName) })
      const s = errStyle()
      if (target._tag === "Definition" && !flags.json) {
        for (const w of target.warnings) io.stderr(`${s.yellow(formatLocated(w))}\n`)
      }
      const { workflow, layers } = yield* runnable(target, Option.getOrUndefined(flags.handlers))
      const raw = yield* parseInput(Option.getOrUndefined(flags.input))
      const input = target._tag === "Module"
        ? yield* Effect.mapError(
          Workflow.decodeInput(workflow, raw),
          (e) => new CliExit({ code: ExitCode.InvalidInput, text: `invalid --input for workflow "${target.plan.name}":\n${e}` })
        )
        : raw
      const runId = Option.getOrUndefined(flags.runId)
      return yield* execute(workflow, target.plan, input, layers, {
        maxParallel,
        json: flags.json,
        runId,
        durable: flags.durable
          ? { db: Runs.databaseOf(flags.db, io.env), resume: false, file: flags.file, exportName: exportOf(flags.exportName), handlers: Option.getOrUndefined(flags.handlers) }
          : undefined
      })
    })
).pipe(
  Command.withDescription("Run a workflow module or a definition file, with live progress"),
  Command.withExamples([
    { command: "troupe run workflow.ts", description: "Run the module's default-exported workflow" },
    { command: "troupe run pipelines.ts --export nightly --input '{\"day\":\"2026-01-01\"}'", description: "Run a named export with a JSON input" },
    { command: "troupe run ci.yaml --handlers ./handlers.ts --max-parallel 4", description: "Run a definition whose task types map to handlers in a module" },
    { command: "troupe run ci.yaml --input @input.json --json | jq .", description: "Stream the run's events as NDJSON" },
    { command: "troupe run workflow.ts --durable", description: "Run durably; after Ctrl-C or a crash: troupe runs resume <run-id> workflow.ts" }
  ])
)

interface ExecuteOptions {
  readonly maxParallel: number | undefined
  readonly json: boolean
  readonly runId?: string | undefined
  readonly durable?: DurableOptions | undefined
}

interface DurableOptions {
  readonly db: string | undefined
  readonly resume: boolean
  readonly file: string
  readonly exportName: string | undefined
  readonly handlers: string | undefined
}

/** The services a run gets: the CEL layer when the plan has expressions, then the command's layers. */
const servicesFor = (plan: PlanModel, layers: ReadonlyArray<Layer.Layer<unknown, unknown, never>>) =>
  Effect.gen(function*() {
    const expressions = needsExpressions(plan)
      ? [(yield* Effect.promise(() => import("@troupe/cel"))).Cel.layer as unknown as Layer.Layer<unknown, unknown, never>]
      : []
    return [...expressions, ...layers].reduce<Layer.Layer<unknown, unknown, never>>(
      (acc, layer) => Layer.merge(acc, layer),
      Layer.empty as unknown as Layer.Layer<unknown, unknown, never>
    )
  })

/** A durable run (`--durable`, `runs resume`): Ctrl-C stops this process and leaves the run resumable. */
const executeDurable = (
  workflow: Workflow.Any,
  input: unknown,
  options: ExecuteOptions,
  durable: DurableOptions,
  view: Progress.View | undefined,
  onEvent: (event: RunEvent.RunEvent) => void,
  services: Layer.Layer<unknown, unknown, never>
): Effect.Effect<void, CliExit> =>
  Effect.gen(function*() {
    const s = errStyle()
    const runId = options.runId ?? newRunId()
    const resumeHint = `troupe runs resume ${runId} ${durable.file}${durable.exportName === undefined ? "" : ` --export ${durable.exportName}`}${
      durable.handlers === undefined ? "" : ` --handlers ${durable.handlers}`
    }${durable.db === undefined ? "" : ` --db ${durable.db}`}`
    const outcome = yield* Runs.runDurable({
      db: durable.db,
      workflow,
      input,
      runId,
      resume: durable.resume,
      maxParallel: options.maxParallel,
      onEvent,
      services,
      onSignal: (stop) =>
        io.onSignal(() => {
          view?.cancelling("Stopping this process: the durable run stays in the store, resumable…")
          stop()
        })
    }).pipe(Effect.tapError(() => Effect.sync(() => view?.end())))
    view?.end()
    switch (outcome._tag) {
      case "Completed":
        if (!options.json) {
          if (outcome.skipped.length > 0) io.stderr(`${s.dim(`resumed: ${outcome.skipped.length} tasks came from the journal`)}
`)
          io.stdout(`${safeJson(outcome.outputs, 2)}
`)
        }
        return
      case "Stopped":
        io.stderr(`${s.magenta(`Stopped. Run ${runId} is resumable:`)} ${resumeHint}
`)
        return yield* new CliExit({ code: ExitCode.Cancelled, text: "" })
      case "Cancelled":
        io.stderr(`${s.magenta(`Run ${runId} was cancelled.`)}
`)
        return yield* new CliExit({ code: ExitCode.Cancelled, text: "" })
      case "Failed":
        if (!options.json) io.stderr(`${s.red(`run ${runId} failed:`)} ${outcome.message}
`)
        return yield* new CliExit({ code: ExitCode.RunFailed, text: "" })
    }
  })

/**
 * Starts the run and waits for it: the first Ctrl-C cancels it (compensations run), a second one exits at
 * once. Command tasks' lines go to the view.
 */
const runWithSignals = (
  start: Start,
  workflow: Workflow.Any,
  input: unknown,
  options: ExecuteOptions,
  view: Progress.View | undefined,
  onEvent: (event: RunEvent.RunEvent) => void,
  services: Layer.Layer<unknown, unknown, never>
) => {
  const s = errStyle()
  return Effect.gen(function*() {
    const handle = yield* start(workflow, input, {
      ...(options.maxParallel === undefined ? {} : { maxParallel: options.maxParallel }),
      ...(options.runId === undefined ? {} : { runId: options.runId }),
      onEvent
    })
    let interrupts = 0
    let signalled: "SIGINT" | "SIGTERM" | undefined
    const remove = io.onSignal((signal) => {
      interrupts++
      signalled = signal
      if (interrupts === 1) {
        view?.cancelling()
        Effect.runFork(handle.cancel)
      } else {
        view?.end()
        io.stderr(`\n${s.magenta(`Exiting at once: run ${handle.runId} was interrupted.`)}\n`)
        process.exit(ExitCode.Cancelled)
      }
    })
    const exit = yield* Effect.exit(handle.await)
    remove()
    view?.end()
    const state = yield* handle.state
    return { exit, state, runId: handle.runId, signalled }
  }).pipe(
    Effect.provideService(
      Command_.OutputListener,
      view === undefined ? undefined : (line) => view.output(line.taskId ?? "?", line.stream, line.line)
    ),
    Effect.provide(services)
  )
}

/** What the user sees when the run ended, and the exit code: outputs, a cancellation summary or the failures. */
const reportEnd = (
  ended: Effect.Success<ReturnType<typeof runWithSignals>>,
  options: ExecuteOptions
): Effect.Effect<void, CliExit> =>
  Effect.gen(function*() {
    const s = errStyle()
    const { exit, state, runId, signalled } = ended
    if (Exit.isSuccess(exit)) {
      if (!options.json) {
        io.stdout(`${safeJson(exit.value.outputs, 2)}\n`)
      }
      return
    }
    const error = Cause.findErrorOption(exit.cause)
    const tag = Option.isSome(error) ? (error.value as { _tag?: string })._tag : undefined
    if (tag === "WorkflowCancelled" || signalled !== undefined) {
      const completed = state.tasks.filter((t) => t.status === "completed").length
      const cancelled = state.tasks.filter((t) => t.status === "cancelled").length
      const compensated = state.tasks.filter((t) => t.compensation !== undefined).length
      if (!options.json) {
        io.stderr(
          `${s.magenta(`Cancelled run ${runId}`)} (${signalled ?? "cancel"}): ${completed} task${completed === 1 ? "" : "s"} completed, ` +
            `${cancelled} cancelled${compensated > 0 ? `, ${compensated} compensated` : ""}.\n`
        )
      }
      return yield* new CliExit({ code: ExitCode.Cancelled, text: "" })
    }
    if (!options.json) {
      const text = summary(state, s)
      io.stderr(`${text === "" ? s.red(`run ${runId} failed: ${Cause.pretty(exit.cause)}`) : text}\n`)
    }
    return yield* new CliExit({ code: ExitCode.RunFailed, text: "" })
  })

/** Runs a workflow with the live view (or NDJSON), Ctrl-C handling and the exit code. */
const execute = (
  workflow: Workflow.Any,
  plan: PlanModel,
  input: unknown,
  layers: ReadonlyArray<Layer.Layer<unknown, unknown, never>>,
  options: ExecuteOptions
): Effect.Effect<void, CliExit> =>
  Effect.gen(function*() {
    const view = options.json ? undefined : Progress.make({
      plan,
      tty: io.stderrIsTTY,
      color: color(io.stderrIsTTY),
      write: io.stderr,
      columns: io.columns,
      rows: io.rows
    })
    const onEvent = (event: RunEvent.RunEvent) => {
      view?.onEvent(event)
      if (options.json) io.stdout(eventLine(event))
    }
    const services = yield* servicesFor(plan, layers)
    if (options.durable !== undefined) {
      return yield* executeDurable(workflow, input, options, options.durable, view, onEvent, services)
    }
    const start = yield* engineStart
    const outcome = yield* Effect.exit(runWithSignals(start, workflow, input, options, view, onEvent, services))
    if (Exit.isFailure(outcome)) {
      view?.end()
      const error = Cause.findErrorOption(outcome.cause)
      if (Option.isSome(error) && isDefinitionError(error.value)) {
        return yield* new CliExit({ code: ExitCode.DefinitionError, text: String((error.value as { message: string }).message) })
      }
      return yield* new CliExit({ code: ExitCode.Internal, text: `the run could not start:\n${Cause.pretty(outcome.cause)}` })
    }
    return yield* reportEnd(outcome.value, options)
  })

const newRunId = (): string =>
  `run-${Date.now().toString(36)}-${Math.floor(Math.random() * 36 ** 6).toString(36).padStart(6, "0")}`

const isDefinitionError = (u: unknown): boolean =>
  typeof u === "object" && u !== null &&
  ["InvalidDefinition", "DuplicateTaskId", "UnknownDependency", "SelfDependency", "CycleDetected", "EmptyWorkflow"]
    .includes(String((u as { _tag?: unknown })._tag))

// -----------------------------------------------------------------------------
// validate
// -----------------------------------------------------------------------------

const describePlan = (plan: PlanModel): string => {
  const levels = Plan.levels(plan)
  const path = Plan.criticalPath(plan).path
  return `${plan.nodes.length} task${plan.nodes.length === 1 ? "" : "s"} in ${levels.length} level${levels.length === 1 ? "" : "s"}, ` +
    `widest level ${Plan.maxParallelWidth(plan)}, critical path ${path.join(" → ")}`
}

const validateCommand = Command.make(
  "validate",
  {
    file: fileArgument,
    exportName: Flags.exportName,
    strict: Flag.Boolean("strict").pipe(Flag.withDescription("Treat warnings (unknown fields) as errors"), Flag.withDefault(false)),
    json: Flag.Boolean("json").pipe(Flag.withDescription("Print the result as JSON on stdout"), Flag.withDefault(false))
  },
  (flags) =>
    Effect.gen(function*() {
      const s = outStyle()
      if (Source.kindOf(flags.file) === "module") {
        const target = yield* load(flags.file, { exportName: exportOf(flags.exportName) })
        const checked = yield* Effect.result(Plan.validate(target.plan))
        if (checked._tag === "Failure") {
          const problem = { file: flags.file, message: checked.failure.message, severity: "error" as const }
          if (flags.json) io.stdout(`${safeJson({ valid: false, problems: [problem], warnings: [] }, 2)}\n`)
          return yield* new CliExit({ code: ExitCode.DefinitionError, text: flags.json ? "" : formatLocated(problem) })
        }
        if (flags.json) io.stdout(`${safeJson({ valid: true, problems: [], warnings: [], tasks: target.plan.nodes.length }, 2)}\n`)
        else io.stdout(`${s.green("✓")} ${flags.file}: valid (${describePlan(target.plan)})\n`)
        return
      }
      const { plan, problems, warnings } = yield* diagnoseFile(flags.file)
      const errors = flags.strict ? [...problems, ...warnings.map((w) => ({ ...w, severity: "error" as const }))] : problems
      const valid = errors.length === 0 && plan !== undefined
      if (flags.json) {
        io.stdout(`${safeJson({ valid, problems: errors, warnings: flags.strict ? [] : warnings, ...(plan === undefined ? {} : { tasks: plan.nodes.length }) }, 2)}\n`)
      } else {
        for (const p of errors) io.stderr(`${formatLocated(p)}\n`)
        if (!flags.strict) for (const w of warnings) io.stderr(`${errStyle().yellow(formatLocated(w))}\n`)
        if (valid) io.stdout(`${s.green("✓")} ${flags.file}: valid (${describePlan(plan)})\n`)
        else io.stderr(`${errStyle().red("✗")} ${flags.file}: ${errors.length} error${errors.length === 1 ? "" : "s"}\n`)
      }
      if (!valid) return yield* new CliExit({ code: ExitCode.DefinitionError, text: "" })
    })
).pipe(
  Command.withDescription("Check a definition (every error at once, with line and column) or a workflow module"),
  Command.withExamples([
    { command: "troupe validate ci.yaml", description: "List every error of a definition, as file:line:column: path: message" },
    { command: "troupe validate ci.yaml --strict", description: "Also fail on unknown fields (usually typos)" },
    { command: "troupe validate workflow.ts --export nightly", description: "Check a module's workflow" }
  ])
)

// -----------------------------------------------------------------------------
// graph
// -----------------------------------------------------------------------------

const graphCommand = Command.make(
  "graph",
  {
    file: fileArgument,
    exportName: Flags.exportName,
    format: Flag.Literals("format", ["mermaid", "dot", "svg", "ascii", "json"]).pipe(
      Flag.withAlias("f"),
      Flag.withDescription("Output format"),
      Flag.withDefault("ascii")
    ),
    out: Flag.String("out").pipe(Flag.withAlias("o"), Flag.withDescription("Write to this file instead of stdout"), Flag.optional),
    direction: Flag.Literals("direction", ["TD", "LR"]).pipe(
      Flag.withDescription("Layout direction of mermaid, dot and svg graphs"),
      Flag.withDefault("TD")
    ),
    width: Flag.Int("width").pipe(Flag.withDescription("Width of the ascii rendering (default: the terminal's, or 80)"), Flag.optional)
  },
  (flags) =>
    Effect.gen(function*() {
      const target = yield* load(flags.file, { exportName: exportOf(flags.exportName) })
      const plan = target.plan
      const options = { direction: flags.direction, descriptions: false }
      const { Ascii, Dot, Json, Mermaid } = yield* Effect.promise(() => import("@troupe/visualize"))
      let text: string
      switch (flags.format) {
        case "mermaid":
          text = Mermaid.render(plan, options)
          break
        case "dot":
          text = Dot.render(plan, options)
          break
        case "svg":
          text = yield* Dot.renderSvg(plan, options).pipe(
            Effect.mapError((e) => new CliExit({ code: ExitCode.Internal, text: e.message }))
          )
          break
        case "json":
          text = Json.toString(Json.render(plan))
          break
        default:
          text = Ascii.render(plan, {
            width: Option.getOrElse(flags.width, () => (io.stdoutIsTTY ? io.columns() : 80))
          })
      }
      const out = Option.getOrUndefined(flags.out)
      if (out === undefined) io.stdout(text.endsWith("\n") ? text : `${text}\n`)
      else {
        yield* Effect.try({
          try: () => writeFileSync(out, text.endsWith("\n") ? text : `${text}\n`),
          catch: (cause) => new CliExit({ code: ExitCode.InvalidInput, text: `--out ${out}: ${cause instanceof Error ? cause.message : String(cause)}` })
        })
        io.stderr(`wrote ${flags.format} of ${plan.name} to ${out}\n`)
      }
    })
).pipe(
  Command.withDescription("Render a workflow's graph as Mermaid, Graphviz DOT, SVG, ASCII or JSON"),
  Command.withExamples([
    { command: "troupe graph ci.yaml", description: "Draw the levels and dependencies in the terminal" },
    { command: "troupe graph ci.yaml --format mermaid --out ci.mmd", description: "Write a Mermaid flowchart" },
    { command: "troupe graph workflow.ts --format svg --direction LR -o graph.svg", description: "Write an SVG (Graphviz layout)" }
  ])
)

// -----------------------------------------------------------------------------
// Root
// -----------------------------------------------------------------------------

// -----------------------------------------------------------------------------
// templates
// -----------------------------------------------------------------------------

const templatesCommand = () => {
  const list = Command.make(
    "list",
    { json: Flags.json },
    (flags) =>
      Effect.gen(function*() {
        const { Templates } = yield* Effect.promise(() => import("@troupe/templates"))
        const all = Templates.list()
        if (flags.json) return io.stdout(`${safeJson(all, 2)}\n`)
        const width = Math.max(...all.map((t) => t.name.length))
        io.stdout(`${all.map((t) => `${t.name.padEnd(width)}  ${t.description}`).join("\n")}\n`)
      })
  ).pipe(
    Command.withDescription("List the built-in workflow templates"),
    Command.withExamples([{ command: "troupe templates list", description: "Names and descriptions" }])
  )
  const run = Command.make(
    "run",
    {
      name: Argument.String("name").pipe(Argument.withDescription("The template's name (see troupe templates list)")),
      params: Flag.String("params").pipe(
        Flag.withAlias("p"),
        Flag.withDescription("The template's parameters: JSON (or YAML) text, or @file; checked against its Schema"),
        Flag.optional
      ),
      input: Flag.String("input").pipe(Flag.withAlias("i"), Flag.withDescription("The workflow's input (JSON, YAML or @file)"), Flag.optional),
      maxParallel: Flags.maxParallel,
      json: Flags.events,
      graph: Flag.Boolean("graph").pipe(Flag.withDescription("Print the template's graph (ascii) instead of running it"), Flag.withDefault(false))
    },
    (flags) =>
      Effect.gen(function*() {
        const { Templates } = yield* Effect.promise(() => import("@troupe/templates"))
        const params = yield* parseInput(Option.getOrUndefined(flags.params))
        const workflow = (yield* Templates.instantiate(flags.name, params ?? {}).pipe(
          Effect.mapError((e) =>
            new CliExit({
              code: e._tag === "TemplateNotFound" ? ExitCode.NotFound : ExitCode.InvalidInput,
              text: e.message
            })
          )
        )) as unknown as Workflow.Any
        const plan = Plan.fromWorkflow(workflow)
        if (flags.graph) {
          const { Ascii } = yield* Effect.promise(() => import("@troupe/visualize"))
          return io.stdout(`${Ascii.render(plan, { width: io.stdoutIsTTY ? io.columns() : 80 })}\n`)
        }
        const raw = yield* parseInput(Option.getOrUndefined(flags.input))
        const input = yield* Effect.mapError(
          Workflow.decodeInput(workflow, raw),
          (e) => new CliExit({ code: ExitCode.InvalidInput, text: `invalid --input for template "${flags.name}":\n${e}` })
        )
        yield* execute(workflow, plan, input, [], { maxParallel: Option.getOrUndefined(flags.maxParallel), json: flags.json })
      })
  ).pipe(
    Command.withDescription("Run a template with parameters checked against its Schema"),
    Command.withExamples([
      { command: "troupe templates run ci-cd --params '{\"directory\":\".\"}' --graph", description: "Draw the CI/CD template for this directory" },
      { command: "troupe templates run etl --params @etl-params.yaml", description: "Run the ETL template with parameters from a file" }
    ])
  )
  return Command.make("templates").pipe(
    Command.withDescription("Built-in workflow templates (CI/CD, ETL, code review, documentation)"),
    Command.withSubcommands([list, run]),
    Command.withExamples([{ command: "troupe templates list", description: "What templates there are" }])
  )
}

// -----------------------------------------------------------------------------
// mcp
// -----------------------------------------------------------------------------

const toolName = (name: string): string => name.replace(/[^a-zA-Z0-9_-]/g, "_").slice(0, 64) || "workflow"

const mcpCommand = Command.make(
  "mcp",
  {
    file: fileArgument,
    exportName: Flags.exportName,
    handlers: Flags.handlers
  },
  (flags) =>
    Effect.gen(function*() {
      const { McpServe } = yield* Effect.promise(() => import("@troupe/agents"))
      // Any JSON object: a workflow's own input Schema decodes it when the tool is called.
      const parameters = Schema.Record(Schema.String, Schema.Unknown) as unknown as Schema.Codec<unknown, unknown>
      let served: Array<ReturnType<typeof McpServe.serve>> = []
      let layers: ReadonlyArray<Layer.Layer<unknown, unknown, never>> = []
      if (Source.kindOf(flags.file) === "module" && exportOf(flags.exportName) === undefined) {
        const mod = yield* Source.importModule(flags.file).pipe(
          Effect.mapError((e) => new CliExit({ code: ExitCode.DefinitionError, text: e.message }))
        )
        if (Array.isArray(mod.tools)) served = mod.tools as typeof served
        else {
          served = Object.entries(mod)
            .filter(([key, value]) => key !== "default" && Workflow.isWorkflow(value))
            .map(([key, value]) => McpServe.serve(value as Workflow.Any, { name: toolName(key), parameters }))
          if (Workflow.isWorkflow(mod.default) && !Object.values(mod).some((v, i) => Object.keys(mod)[i] !== "default" && v === mod.default)) {
            served.push(McpServe.serve(mod.default, { name: toolName(mod.default.name), parameters }))
          }
        }
        if (Layer.isLayer(mod.layer)) layers = [mod.layer as Layer.Layer<unknown, unknown, never>]
      }
      if (served.length === 0) {
        const target = yield* load(flags.file, { exportName: exportOf(flags.exportName) })
        const made = yield* runnable(target, Option.getOrUndefined(flags.handlers))
        layers = made.layers
        served = [McpServe.serve(made.workflow, { name: toolName(target.plan.name), parameters })]
      }
      io.stderr(`troupe mcp: serving ${served.map((t) => t.name).join(", ")} over stdio\n`)
      const services = layers.reduce<Layer.Layer<unknown, unknown, never>>(
        (acc, layer) => Layer.merge(acc, layer),
        Layer.empty as unknown as Layer.Layer<unknown, unknown, never>
      )
      // The stdio server interrupts the fiber that started it when stdin closes, the normal end of an
      // MCP session: run it in its own fiber so that end is exit 0 (SIGINT still ends the process with 130).
      const server = yield* Effect.forkChild(
        (McpServe.runStdio({ name: "troupe", version, workflows: served }) as Effect.Effect<never, never, unknown>).pipe(
          Effect.provide(services)
        ) as Effect.Effect<never>
      )
      const exit = yield* Fiber.await(server)
      if (Exit.isFailure(exit) && !Cause.hasInterruptsOnly(exit.cause)) return yield* Effect.failCause(exit.cause)
    })
).pipe(
  Command.withDescription("Serve workflows as MCP tools over stdio (each exported workflow, a module's `tools`, or a definition)"),
  Command.withExamples([
    { command: "troupe mcp workflows.ts", description: "Every exported workflow becomes a tool" },
    { command: "troupe mcp ci.yaml --handlers ./handlers.ts", description: "A definition as one tool" }
  ])
)

const runsCommand = () =>
  Runs.commands({
    stdout: (t) => io.stdout(t),
    stderr: (t) => io.stderr(t),
    env: io.env,
    color: () => color(io.stdoutIsTTY),
    resume: (args) =>
      Effect.gen(function*() {
        const target = yield* load(args.file, { exportName: args.exportName })
        const { workflow, layers } = yield* runnable(target, args.handlers)
        yield* execute(workflow, target.plan, undefined, layers, {
          maxParallel: undefined,
          json: args.json,
          runId: args.runId,
          durable: { db: args.db, resume: true, file: args.file, exportName: args.exportName, handlers: args.handlers }
        })
      })
  })

/**
 * Extra subcommands, added by the modules over stored runs, schedules and templates.
 *
 * @internal
 */
export const extraCommands: Array<Command.Command<string, unknown, unknown, CliExit, never>> = []

/**
 * The `troupe` command.
 *
 * @category commands
 * @since 0.1.0
 */
export const command = () =>
  Command.make("troupe").pipe(
    Command.withDescription(
      "Run, check and draw Troupe workflows: TypeScript modules or YAML/JSON definitions. " +
        "Exit codes: 0 ok, 1 run failed, 2 invalid input or usage, 3 definition error, 4 not found, 130 cancelled."
    ),
    Command.withSubcommands([runCommand, validateCommand, graphCommand, runsCommand(), ScheduleCommands.commands({ stdout: (t) => io.stdout(t), env: io.env }), templatesCommand(), mcpCommand, ...extraCommands] as never),
    Command.withExamples([
      { command: "troupe run workflow.ts", description: "Run a workflow module with live progress" },
      { command: "troupe validate ci.yaml", description: "Check a definition file" },
      { command: "troupe graph ci.yaml --format mermaid", description: "Print a Mermaid graph" }
    ])
  )

/**
 * Runs `troupe` with the given arguments (without `node` and the script) and resolves to the exit code.
 *
 * @category running
 * @since 0.1.0
 */
export const main = async (argv: ReadonlyArray<string>, ioOverride?: Io): Promise<number> => {
  if (ioOverride !== undefined) io = ioOverride
  const program = Command.runWith(command(), { version })(argv).pipe(
    Effect.provide(NodeServices.layer)
  ) as Effect.Effect<void, unknown>
  const exit = await Effect.runPromiseExit(program)
  if (Exit.isSuccess(exit)) return ExitCode.Success
  const error = Cause.findErrorOption(exit.cause)
  if (Option.isSome(error)) {
    const e = error.value
    if (e instanceof CliExit) {
      if (e.text !== "") io.stderr(`${e.text}\n`)
      return e.code
    }
    if (CliError.isCliError(e)) return ExitCode.InvalidInput
  }
  if (Cause.hasInterruptsOnly(exit.cause)) return ExitCode.Cancelled
  io.stderr(`troupe: internal error (please report it):\n${Cause.pretty(exit.cause)}\n`)
  return ExitCode.Internal
}
