/**
 * `troupe schedules list|pause|resume|delete`: the stored state of schedules (`@troupe/durable`'s
 * `SchedulesSql` store in the same SQLite file as durable runs).
 *
 * Schedules are declared in code by the process that runs them (`Schedules.add`); the store keeps their
 * timing state (next and last fire, paused). These commands read and edit that state: a process declaring a
 * schedule reads it when it starts, so a pause, resume or delete made here applies to a running scheduler
 * process the next time it starts (the command says so).
 *
 * @since 0.1.0
 */
import { mkdirSync } from "node:fs"
import { dirname, resolve } from "node:path"
import type * as Schedules from "@troupe/core/Schedules"
import { Effect, type Layer } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import * as ExitCode from "./ExitCode.ts"
import { CliExit } from "./Load.ts"
import { databaseOf } from "./Runs.ts"

const withStore = <A>(
  db: string | undefined,
  use: (store: Schedules.StoreShape) => Effect.Effect<A, unknown>
): Effect.Effect<A, CliExit> =>
  Effect.gen(function*() {
    const { SchedulesSql, SqliteClient } = yield* Effect.promise(() => import("@troupe/durable"))
    const { Schedules: S } = yield* Effect.promise(() => import("@troupe/core"))
    const filename = db ?? ".troupe/troupe.db"
    mkdirSync(dirname(resolve(filename)), { recursive: true })
    const layer = SchedulesSql.layerStore.pipe(
      (l) => l as unknown as Layer.Layer<Schedules.Store, unknown, unknown>
    )
    return yield* Effect.flatMap(S.Store, use).pipe(
      Effect.provide(layer),
      Effect.provide(SqliteClient.layer({ filename })),
      Effect.mapError((e) =>
        e instanceof CliExit ? e : new CliExit({ code: ExitCode.Internal, text: `the schedule store failed: ${(e as Error).message ?? String(e)}` })
      )
    ) as Effect.Effect<A, CliExit>
  })

const when = (ms: number | null): string => (ms === null ? "-" : new Date(ms).toISOString().replace("T", " ").slice(0, 19))

const dbFlag = Flag.String("db").pipe(
  Flag.withDescription("The SQLite file (default: $TROUPE_DB, else .troupe/troupe.db)"),
  Flag.optional
)
const idArgument = Argument.String("schedule-id").pipe(Argument.withDescription("The schedule's id"))

const NOTE = "a process that declares this schedule applies it when it next starts"

/**
 * The `troupe schedules` commands.
 *
 * @category commands
 * @since 0.1.0
 */
export const commands = (deps: {
  readonly stdout: (text: string) => void
  readonly env: Readonly<Record<string, string | undefined>>
}) => {
  const list = Command.make(
    "list",
    { db: dbFlag, json: Flag.Boolean("json").pipe(Flag.withDescription("Print JSON on stdout"), Flag.withDefault(false)) },
    (flags) =>
      withStore(databaseOf(flags.db, deps.env), (store) =>
        Effect.map(store.list, (all) => {
          if (flags.json) return deps.stdout(`${JSON.stringify(all, null, 2)}\n`)
          if (all.length === 0) return deps.stdout("no schedules\n")
          const rows = all.map((s) => [s.id, s.paused ? "paused" : "active", when(s.nextFireAt), when(s.lastFireAt)])
          const head = ["SCHEDULE", "STATE", "NEXT FIRE (UTC)", "LAST FIRE (UTC)"]
          const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
          const line = (cells: ReadonlyArray<string>) => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd()
          deps.stdout(`${[line(head), ...rows.map(line)].join("\n")}\n`)
        }))
  ).pipe(
    Command.withDescription("List stored schedules: paused or active, next and last fire"),
    Command.withExamples([{ command: "troupe schedules list", description: "Every schedule in .troupe/troupe.db" }])
  )

  const setPaused = (name: "pause" | "resume", paused: boolean) =>
    Command.make(name, { id: idArgument, db: dbFlag }, (flags) =>
      withStore(databaseOf(flags.db, deps.env), (store) =>
        Effect.gen(function*() {
          const stored = yield* store.get(flags.id)
          if (stored === undefined) return yield* new CliExit({ code: ExitCode.NotFound, text: `no schedule "${flags.id}"` })
          yield* store.put({ ...stored, paused, updatedAt: Date.now() })
          deps.stdout(`schedule ${flags.id} ${paused ? "paused" : "resumed"} (${NOTE})\n`)
        }))).pipe(
        Command.withDescription(paused ? "Pause a stored schedule" : "Resume a paused schedule"),
        Command.withExamples([{ command: `troupe schedules ${name} nightly-report`, description: paused ? "Stop firing" : "Fire again" }])
      )

  const remove = Command.make("delete", { id: idArgument, db: dbFlag }, (flags) =>
    withStore(databaseOf(flags.db, deps.env), (store) =>
      Effect.gen(function*() {
        const stored = yield* store.get(flags.id)
        if (stored === undefined) return yield* new CliExit({ code: ExitCode.NotFound, text: `no schedule "${flags.id}"` })
        yield* store.remove(flags.id)
        deps.stdout(`schedule ${flags.id} deleted (${NOTE})\n`)
      }))).pipe(
      Command.withDescription("Delete a stored schedule's state"),
      Command.withExamples([{ command: "troupe schedules delete nightly-report", description: "Forget it" }])
    )

  return Command.make("schedules").pipe(
    Command.withDescription("Stored schedules (declared in code with Schedules, stored by @troupe/durable)"),
    Command.withSubcommands([list, setPaused("pause", true), setPaused("resume", false), remove]),
    Command.withExamples([{ command: "troupe schedules list --json", description: "As JSON" }])
  )
}

