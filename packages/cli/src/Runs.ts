/**
 * Durable runs from the command line: `troupe run --durable` records a run in the durable store
 * (`@troupe/durable`: SQLite, `.troupe/troupe.db` by default, or `--db` / `TROUPE_DB`), and
 * `troupe runs list|show|resume|cancel|prune` read and drive what it recorded.
 *
 * @since 0.1.0
 */
import { mkdirSync } from "node:fs"
import { dirname, resolve } from "node:path"
import type { Plan as PlanModel } from "@troupe/core/Plan"
import * as RunStore from "@troupe/core/RunStore"
import type * as Workflow from "@troupe/core/Workflow"
import { Cause, Duration, Effect, Exit, Fiber, Layer, Option } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import * as ExitCode from "./ExitCode.ts"
import * as Flags from "./internal/flags.ts"
import { CliExit } from "./Load.ts"
import * as Progress from "./Progress.ts"

// -----------------------------------------------------------------------------
// The store
// -----------------------------------------------------------------------------

/**
 * The database file: `--db`, else `TROUPE_DB`, else `.troupe/troupe.db` in the working directory.
 *
 * @category store
 * @since 0.1.0
 */
export const databaseOf = (flag: Option.Option<string>, env: Readonly<Record<string, string | undefined>>): string | undefined =>
  Option.getOrUndefined(flag) ?? (env.TROUPE_DB === undefined || env.TROUPE_DB === "" ? undefined : env.TROUPE_DB)

/** The durable layer over the database (loaded only by commands that use it). */
export const durableLayer = (filename: string | undefined) =>
  Effect.map(
    Effect.promise(() => import("@troupe/durable")),
    ({ Durable }) => {
      if (filename !== undefined) mkdirSync(dirname(resolve(filename)), { recursive: true })
      return Durable.layer(filename === undefined ? {} : { filename, shutdownTimeout: "1 second" })
    }
  )

const storeError = (e: unknown): CliExit => {
  const tag = (e as { _tag?: string })._tag
  if (tag === "RunNotFound") return new CliExit({ code: ExitCode.NotFound, text: (e as Error).message })
  return new CliExit({ code: ExitCode.Internal, text: `the run store failed: ${(e as Error).message ?? String(e)}` })
}

/** Runs an effect that needs the store (and the durable runtime) over the database. */
const withStore = <A, E>(
  db: string | undefined,
  effect: Effect.Effect<A, E, unknown>
): Effect.Effect<A, CliExit> =>
  Effect.gen(function*() {
    const layer = yield* durableLayer(db)
    return yield* effect.pipe(
      Effect.provide(layer as Layer.Layer<unknown, unknown, never>),
      Effect.mapError((e) => (e instanceof CliExit ? e : storeError(e)))
    ) as Effect.Effect<A, CliExit>
  })

// -----------------------------------------------------------------------------
// Running durably
// -----------------------------------------------------------------------------

/**
 * How a durable run ended in this process.
 *
 * @category running
 * @since 0.1.0
 */
export type DurableOutcome =
  | { readonly _tag: "Completed"; readonly outputs: unknown; readonly skipped: ReadonlyArray<string> }
  | { readonly _tag: "Failed"; readonly message: string }
  | { readonly _tag: "Cancelled" }
  /** The process was interrupted (Ctrl-C): the run stays in the store, resumable. */
  | { readonly _tag: "Stopped" }

/**
 * Runs (or resumes) a workflow durably: with `resume`, the journal's completed tasks are not run again.
 *
 * @category running
 * @since 0.1.0
 */
export const runDurable = (options: {
  readonly db: string | undefined
  readonly workflow: Workflow.Any
  readonly input: unknown
  readonly runId: string
  readonly resume: boolean
  readonly maxParallel: number | undefined
  readonly onEvent: (event: import("@troupe/core/RunEvent").RunEvent) => void
  readonly onSignal: (handler: () => void) => () => void
  readonly services: Layer.Layer<unknown, unknown, never>
}): Effect.Effect<DurableOutcome, CliExit> =>
  Effect.gen(function*() {
    const { Durable } = yield* Effect.promise(() => import("@troupe/durable"))
    const layer = yield* durableLayer(options.db)
    const runOptions = {
      runId: options.runId,
      onEvent: options.onEvent,
      ...(options.maxParallel === undefined ? {} : { maxParallel: options.maxParallel })
    }
    const program = Effect.gen(function*() {
      const durable = options.resume
        ? Durable.resume(options.workflow, options.runId, runOptions)
        : (Durable.run as unknown as (w: Workflow.Any, i: unknown, o: typeof runOptions) => ReturnType<typeof Durable.resume>)(
          options.workflow,
          options.input,
          runOptions
        )
      const fiber = yield* Effect.forkChild(
        durable as unknown as Effect.Effect<{ outputs: unknown; skipped: ReadonlyArray<string> }, unknown>
      )
      let stopped = false
      const remove = options.onSignal(() => {
        stopped = true
        Effect.runFork(Fiber.interrupt(fiber))
      })
      const exit = yield* Fiber.await(fiber)
      remove()
      if (Exit.isSuccess(exit)) return { _tag: "Completed", outputs: exit.value.outputs, skipped: exit.value.skipped } as const
      if (stopped || (Cause.hasInterrupts(exit.cause) && !Cause.hasFails(exit.cause))) return { _tag: "Stopped" } as const
      const error = Cause.findErrorOption(exit.cause)
      if (Option.isSome(error) && (error.value as { _tag?: string })._tag === "WorkflowCancelled") return { _tag: "Cancelled" } as const
      const message = Option.isSome(error) ? String((error.value as Error).message ?? error.value) : Cause.pretty(exit.cause)
      return { _tag: "Failed", message } as const
    })
    return yield* program.pipe(
      Effect.provide(Layer.merge(layer as Layer.Layer<unknown, unknown, never>, options.services)),
      Effect.mapError((e) => (e instanceof CliExit ? e : new CliExit({ code: ExitCode.Internal, text: String((e as Error).message ?? e) })))
    ) as Effect.Effect<DurableOutcome, CliExit>
  })

// -----------------------------------------------------------------------------
// Commands
// -----------------------------------------------------------------------------

const runIdArgument = Argument.String("run-id").pipe(Argument.withDescription("The run's id"))

const statuses = ["pending", "running", "completed", "failed", "cancelled"] as const

const when = (ms: number | undefined): string => (ms === undefined ? "-" : new Date(ms).toISOString().replace("T", " ").slice(0, 19))

/** What the `troupe runs` commands need from the process: where to write, the environment, how to resume. */
interface Deps {
  readonly stdout: (text: string) => void
  readonly stderr: (text: string) => void
  readonly env: Readonly<Record<string, string | undefined>>
  readonly color: () => boolean
  readonly resume: (args: {
    readonly db: string | undefined
    readonly runId: string
    readonly file: string
    readonly exportName: string | undefined
    readonly handlers: string | undefined
    readonly json: boolean
  }) => Effect.Effect<void, CliExit>
}

/** Runs an effect over the store of `--db` (else `TROUPE_DB`, else the default file). */
const stored = <A, E>(deps: Deps, db: Option.Option<string>, effect: Effect.Effect<A, E, unknown>) =>
  withStore(databaseOf(db, deps.env), effect)

/** `troupe runs list`: recorded runs, newest first, as a table or JSON. */
const listCommand = (deps: Deps) =>
  Command.make(
    "list",
    {
      db: Flags.db,
      workflow: Flag.String("workflow").pipe(Flag.withDescription("Only runs of this workflow"), Flag.optional),
      status: Flag.Literals("status", statuses).pipe(Flag.withDescription("Only runs with this status"), Flag.optional),
      limit: Flag.Int("limit").pipe(Flag.withDescription("At most this many runs (newest first)"), Flag.withDefault(20)),
      json: Flags.json
    },
    (flags) =>
      stored(
        deps,
        flags.db,
        Effect.gen(function*() {
          const store = yield* RunStore.RunStore
          const runs = yield* store.list({
            ...(Option.isSome(flags.workflow) ? { workflow: flags.workflow.value } : {}),
            ...(Option.isSome(flags.status) ? { status: flags.status.value } : {}),
            limit: flags.limit
          })
          if (flags.json) return deps.stdout(`${JSON.stringify(runs, null, 2)}\n`)
          if (runs.length === 0) return deps.stdout("no runs\n")
          const rows = runs.map((r) => [
            r.runId,
            r.workflow,
            r.status + (r.cancelRequested && (r.status === "running" || r.status === "pending") ? " (cancelling)" : ""),
            `${r.tasks.completed}/${r.tasks.total}`,
            when(r.createdAt),
            r.durationMs === undefined ? "-" : `${Math.round(r.durationMs)}ms`
          ])
          const head = ["RUN", "WORKFLOW", "STATUS", "TASKS", "CREATED", "DURATION"]
          const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)))
          const line = (cells: ReadonlyArray<string>) => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd()
          deps.stdout(`${[line(head), ...rows.map(line)].join("\n")}\n`)
        })
      )
  ).pipe(
    Command.withDescription("List recorded runs, newest first"),
    Command.withExamples([
      { command: "troupe runs list", description: "The 20 newest runs" },
      { command: "troupe runs list --status failed --workflow ci --json", description: "Failed runs of one workflow, as JSON" }
    ])
  )

/** `troupe runs show`: one run's record, tasks by level, errors and outputs. */
const showCommand = (deps: Deps) =>
  Command.make(
    "show",
    { runId: runIdArgument, db: Flags.db, json: Flags.json },
    (flags) =>
      stored(
        deps,
        flags.db,
        Effect.gen(function*() {
          const store = yield* RunStore.RunStore
          const record = yield* store.get(flags.runId)
          const plan: PlanModel = yield* store.plan(flags.runId)
          const state = yield* RunStore.state(flags.runId)
          // A store that cannot read the outputs back still shows the run.
          const outputs = yield* store.outputs(flags.runId).pipe(
            Effect.catch((e) =>
              Effect.sync(() => {
                deps.stderr(`cannot read the outputs: ${(e as Error).message}\n`)
                return {}
              })
            )
          )
          const errors = yield* store.errors(flags.runId)
          if (flags.json) return deps.stdout(`${JSON.stringify({ record, state: { ...state, tasks: state.tasks.map(({ cause: _, ...t }) => t) }, outputs, errors }, null, 2)}\n`)
          const { Ascii } = yield* Effect.promise(() => import("@troupe/visualize"))
          const s = Progress.style(deps.color())
          deps.stdout(
            `${s.bold(`Run ${record.runId}`)}  ${record.workflow}  ${record.status}${record.durable ? "  (durable)" : ""}\n` +
              `created ${when(record.createdAt)}  finished ${when(record.finishedAt)}${record.error === undefined ? "" : `\nerror: ${record.error}`}\n\n` +
              `${Ascii.render(plan, { state, width: 100, legend: false })}\n`
          )
          for (const e of errors) deps.stdout(`${s.red("✗")} ${e.path} (attempt ${e.attempts}): ${e.message}\n`)
          if (Object.keys(outputs).length > 0) deps.stdout(`\noutputs:\n${JSON.stringify(outputs, null, 2)}\n`)
        })
      )
  ).pipe(
    Command.withDescription("Show a run: status, tasks by level, errors and outputs"),
    Command.withExamples([{ command: "troupe runs show run-abc123", description: "One run in detail" }])
  )

/** `troupe runs resume`: hands the stored run and the workflow's file to `deps.resume`. */
const resumeCommand = (deps: Deps) =>
  Command.make(
    "resume",
    {
      runId: runIdArgument,
      file: Argument.String("file").pipe(Argument.withDescription("The workflow module or definition the run was started from")),
      exportName: Flags.exportName,
      handlers: Flags.handlers,
      db: Flags.db,
      json: Flags.events
    },
    (flags) =>
      deps.resume({
        db: databaseOf(flags.db, deps.env),
        runId: flags.runId,
        file: flags.file,
        exportName: Option.getOrUndefined(flags.exportName),
        handlers: Option.getOrUndefined(flags.handlers),
        json: flags.json
      })
  ).pipe(
    Command.withDescription("Resume an unfinished durable run: tasks already journaled are not run again"),
    Command.withExamples([
      { command: "troupe runs resume run-abc123 workflow.ts", description: "Continue a run stopped with Ctrl-C or a crash" }
    ])
  )

/** `troupe runs cancel`: asks the process running it to stop. */
const cancelCommand = (deps: Deps) =>
  Command.make(
    "cancel",
    { runId: runIdArgument, db: Flags.db },
    (flags) =>
      stored(
        deps,
        flags.db,
        Effect.gen(function*() {
          const store = yield* RunStore.RunStore
          const record = yield* store.cancel(flags.runId)
          deps.stdout(
            RunStore.isFinishedStatus(record.status)
              ? `run ${record.runId} is ${record.status}\n`
              : `cancel requested for run ${record.runId} (${record.status}); the process running it stops it\n`
          )
        })
      )
  ).pipe(
    Command.withDescription("Cancel a pending or running run"),
    Command.withExamples([{ command: "troupe runs cancel run-abc123", description: "Stop a run wherever it runs on this database" }])
  )

/** `troupe runs prune`: removes old finished runs. */
const pruneCommand = (deps: Deps) =>
  Command.make(
    "prune",
    {
      db: Flags.db,
      olderThan: Flag.String("older-than").pipe(
        Flag.withDescription("Remove finished runs that finished longer ago than this (e.g. \"7 days\", \"12 hours\")"),
        Flag.withDefault("30 days")
      ),
      workflow: Flag.String("workflow").pipe(Flag.withDescription("Only runs of this workflow"), Flag.optional)
    },
    (flags) =>
      Effect.gen(function*() {
        const olderThan = Duration.fromInput(flags.olderThan as Duration.Input)
        if (Option.isNone(olderThan)) {
          return yield* new CliExit({ code: ExitCode.InvalidInput, text: `--older-than: not a duration: "${flags.olderThan}" (try "7 days")` })
        }
        yield* stored(
          deps,
          flags.db,
          Effect.gen(function*() {
            const store = yield* RunStore.RunStore
            const n = yield* store.prune({
              olderThan: olderThan.value,
              ...(Option.isSome(flags.workflow) ? { workflow: flags.workflow.value } : {})
            })
            deps.stdout(`removed ${n} run${n === 1 ? "" : "s"}\n`)
          })
        )
      })
  ).pipe(
    Command.withDescription("Remove old finished runs from the store"),
    Command.withExamples([{ command: "troupe runs prune --older-than \"7 days\"", description: "Keep a week of history" }])
  )

/**
 * The `troupe runs` commands. `io` writes; `resume` re-runs a stored run given the workflow's file.
 *
 * @category commands
 * @since 0.1.0
 */
export const commands = (deps: Deps) =>
  Command.make("runs").pipe(
    Command.withDescription("Durable runs recorded by `troupe run --durable`: list, show, resume, cancel, prune"),
    Command.withSubcommands([listCommand(deps), showCommand(deps), resumeCommand(deps), cancelCommand(deps), pruneCommand(deps)]),
    Command.withExamples([
      { command: "troupe runs list", description: "Recent runs" },
      { command: "troupe runs resume run-abc123 workflow.ts", description: "Resume a stopped run" }
    ])
  )
