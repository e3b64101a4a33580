/**
 * The flags several `troupe` commands share, declared once so their names, help and defaults agree.
 *
 * @internal
 */
import { Flag } from "effect/cli"

/** `--export`: which export of a module. */
export const exportName = Flag.String("export").pipe(
  Flag.withDescription("The module's export to use (default: the default export, or its only workflow)"),
  Flag.optional
)

/** `--handlers`: the handlers of a definition's task types. */
export const handlers = Flag.String("handlers").pipe(
  Flag.withDescription("A module exporting `handlers` (task type -> function or task) and optionally `layer`, for a definition's task types"),
  Flag.optional
)

/** `--max-parallel`. */
export const maxParallel = Flag.Int("max-parallel").pipe(
  Flag.withDescription("Run at most this many tasks at once"),
  Flag.optional
)

/** `--db`: the durable store's SQLite file. */
export const db = Flag.String("db").pipe(
  Flag.withDescription("The durable store's SQLite file (default: $TROUPE_DB, else .troupe/troupe.db)"),
  Flag.optional
)

/** `--json` of a command that runs a workflow: NDJSON RunEvents on stdout. */
export const events = Flag.Boolean("json").pipe(
  Flag.withDescription("Print every RunEvent as one JSON line on stdout (NDJSON) instead of the live view"),
  Flag.withDefault(false)
)

/** `--json` of a command that prints data. */
export const json = Flag.Boolean("json").pipe(Flag.withDescription("Print JSON on stdout"), Flag.withDefault(false))
