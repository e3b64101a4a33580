/**
 * The ETL template: extract rows from several sources in parallel, validate them with a Schema, transform
 * them step by step, load them into a destination and verify the load.
 *
 * Tasks (ids as in the system Troupe replaces):
 *
 * | task | does | after |
 * |---|---|---|
 * | `extract-{type}-{idx}` | reads source `idx` (`csv`, `json`, `http`, `sqlite`) | |
 * | `validate-extracted-data` | decodes every row with the source's field Schema (when `validateData`); invalid rows are dropped and counted (`onInvalid: "fail"` fails instead) | every extract |
 * | `transform-step-{n}` | applies transformation step `n` (filter, select, rename, derive, dedupe, sort, limit, aggregate) | the previous step |
 * | `load-to-destination` | writes the rows to a CSV or JSON file or a SQLite table (`node:sqlite`) | the last step |
 * | `verify-load` | reads the destination back and checks the row count | load-to-destination |
 *
 * Sources and destinations are data (so they can come from a definition file or the command line):
 * `{ type: "csv", path }`, `{ type: "json", path, field? }`, `{ type: "http", url, format? }`,
 * `{ type: "sqlite", path, query }`; `{ type: "csv" | "json", path }` or `{ type: "sqlite", path, table }`.
 * A file or database that cannot be read fails its extract task before the run starts
 * (`SourceUnreadable` naming the task).
 *
 * @example
 * ```ts
 * import { Engine } from "@troupe/core"
 * import { Etl } from "@troupe/templates"
 *
 * const wf = Etl.etl({
 *   sources: [{ type: "csv", path: "weather.csv", schema: { date: "string", temp_max: "number" } }],
 *   transformationSteps: [{ type: "filter", field: "temp_max", op: "gt", value: 30 }],
 *   destination: { type: "sqlite", path: "weather.db", table: "hot_days" },
 *   validateData: true
 * })
 * const program = Engine.run(wf) // outputs["verify-load"].rows: the count in the table
 * ```
 *
 * @since 0.1.0
 */
import { accessSync, constants, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs"
import { dirname, resolve } from "node:path"
import { DatabaseSync } from "node:sqlite"
import type { PlanNode } from "@troupe/core/Plan"
import * as Workflow from "@troupe/core/Workflow"
import { Effect, Result, Schema, SchemaTransformation } from "effect"
import * as Csv from "./internal/csv.ts"
import * as Template from "./Template.ts"

const NAME = "etl"

// -----------------------------------------------------------------------------
// Parameters
// -----------------------------------------------------------------------------

/**
 * A field's type for validation; a trailing `?` allows it to be missing, empty or null.
 *
 * @category schemas
 * @since 0.1.0
 */
export const FieldType = Schema.Literals([
  "string", "number", "integer", "boolean", "date",
  "string?", "number?", "integer?", "boolean?", "date?"
])

/**
 * Field name to type: what a valid row of a source looks like (other fields are kept as they are).
 *
 * @category schemas
 * @since 0.1.0
 */
export const RowSchema = Schema.Record(Schema.String, FieldType)

const schemaField = { schema: Schema.optional(RowSchema) }

/**
 * Where rows come from.
 *
 * @category schemas
 * @since 0.1.0
 */
export const Source = Schema.Union([
  Schema.Struct({ type: Schema.Literal("csv"), path: Schema.NonEmptyString, delimiter: Schema.optional(Schema.String), ...schemaField }),
  Schema.Struct({
    type: Schema.Literal("json"),
    path: Schema.NonEmptyString,
    /** The field of the top-level object that holds the rows (default: the document is the array). */
    field: Schema.optional(Schema.String),
    ...schemaField
  }),
  Schema.Struct({
    type: Schema.Literal("http"),
    url: Schema.NonEmptyString,
    /** Default: from the response's content type (CSV for `text/csv`, else JSON). */
    format: Schema.optional(Schema.Literals(["json", "csv"])),
    ...schemaField
  }),
  Schema.Struct({ type: Schema.Literal("sqlite"), path: Schema.NonEmptyString, query: Schema.NonEmptyString, ...schemaField })
])

/**
 * @category models
 * @since 0.1.0
 */
export type Source = typeof Source.Type

const Comparison = Schema.Literals(["eq", "ne", "gt", "gte", "lt", "lte", "in", "contains", "exists"])

/**
 * One transformation of the rows.
 *
 * @category schemas
 * @since 0.1.0
 */
export const TransformationStep = Schema.Union([
  /** Keep rows whose field compares true with `value`. */
  Schema.Struct({ type: Schema.Literal("filter"), field: Schema.String, op: Comparison, value: Schema.optional(Schema.Unknown) }),
  /** Keep only these fields. */
  Schema.Struct({ type: Schema.Literal("select"), fields: Schema.Array(Schema.String) }),
  /** Rename fields: old name to new name. */
  Schema.Struct({ type: Schema.Literal("rename"), fields: Schema.Record(Schema.String, Schema.String) }),
  /** A new field from two operands (a field name, or a number with `rightValue`). */
  Schema.Struct({
    type: Schema.Literal("derive"),
    field: Schema.String,
    op: Schema.Literals(["add", "subtract", "multiply", "divide", "concat"]),
    left: Schema.String,
    right: Schema.optional(Schema.String),
    rightValue: Schema.optional(Schema.Union([Schema.Number, Schema.String]))
  }),
  /** Drop rows whose values of these fields were seen before. */
  Schema.Struct({ type: Schema.Literal("dedupe"), fields: Schema.Array(Schema.String) }),
  Schema.Struct({ type: Schema.Literal("sort"), field: Schema.String, order: Schema.optional(Schema.Literals(["asc", "desc"])) }),
  Schema.Struct({ type: Schema.Literal("limit"), count: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)) }),
  /** One row per group, with `count`, `sum`, `avg`, `min` or `max` columns. */
  Schema.Struct({
    type: Schema.Literal("aggregate"),
    groupBy: Schema.Array(Schema.String),
    aggregates: Schema.Record(
      Schema.String,
      Schema.Struct({ op: Schema.Literals(["count", "sum", "avg", "min", "max"]), field: Schema.optional(Schema.String) })
    )
  })
])

/**
 * @category models
 * @since 0.1.0
 */
export type TransformationStep = typeof TransformationStep.Type

/**
 * Where rows go.
 *
 * @category schemas
 * @since 0.1.0
 */
export const Destination = Schema.Union([
  Schema.Struct({ type: Schema.Literal("csv"), path: Schema.NonEmptyString }),
  Schema.Struct({ type: Schema.Literal("json"), path: Schema.NonEmptyString }),
  Schema.Struct({
    type: Schema.Literal("sqlite"),
    path: Schema.NonEmptyString,
    table: Schema.String.check(Schema.makeFilter((s: string) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(s) || "is not a plain SQL table name")),
    /** `replace` (default) drops the table first. */
    mode: Schema.optional(Schema.Literals(["replace", "append"]))
  })
])

/**
 * @category models
 * @since 0.1.0
 */
export type Destination = typeof Destination.Type

/**
 * The ETL template's parameters.
 *
 * @category schemas
 * @since 0.1.0
 */
export const Parameters = Schema.Struct({
  sources: Schema.Array(Source).check(Schema.isMinLength(1)),
  transformationSteps: Schema.Array(TransformationStep),
  destination: Destination,
  validateData: Schema.Boolean,
  /** What to do with rows that do not validate: `drop` (default, counted) or `fail`. */
  onInvalid: Schema.optional(Schema.Literals(["drop", "fail"])),
  ...Template.Common
})

/**
 * @category models
 * @since 0.1.0
 */
export type Parameters = typeof Parameters.Type

// -----------------------------------------------------------------------------
// Outputs and errors
// -----------------------------------------------------------------------------

/**
 * A row: field name to value.
 *
 * @category models
 * @since 0.1.0
 */
export type Row = Readonly<Record<string, unknown>>

/**
 * @category models
 * @since 0.1.0
 */
export interface Extracted {
  readonly source: string
  readonly rows: ReadonlyArray<Row>
}

/**
 * @category models
 * @since 0.1.0
 */
export interface Validated {
  readonly rows: ReadonlyArray<Row>
  readonly extracted: number
  readonly valid: number
  readonly invalid: number
  /** The first invalid rows' problems (at most 20). */
  readonly problems: ReadonlyArray<{ readonly source: string; readonly row: number; readonly message: string }>
}

/**
 * @category models
 * @since 0.1.0
 */
export interface Transformed {
  readonly step: string
  readonly rows: ReadonlyArray<Row>
}

/**
 * @category models
 * @since 0.1.0
 */
export interface Loaded {
  readonly destination: string
  readonly rows: number
}

/**
 * @category models
 * @since 0.1.0
 */
export interface Verified {
  readonly destination: string
  readonly rows: number
}

/**
 * Rows failed validation with `onInvalid: "fail"`.
 *
 * @category errors
 * @since 0.1.0
 */
export class InvalidRows extends Schema.TaggedError<InvalidRows>()("InvalidRows", {
  invalid: Schema.Number,
  problems: Schema.Array(Schema.String)
}) {
  override get message(): string {
    return `validate-extracted-data: ${this.invalid} invalid row(s):\n${this.problems.join("\n")}`
  }
}

/**
 * Writing the destination failed.
 *
 * @category errors
 * @since 0.1.0
 */
export class LoadFailed extends Schema.TaggedError<LoadFailed>()("LoadFailed", {
  destination: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `load-to-destination: writing ${this.destination} failed: ${this.reason}`
  }
}

/**
 * The destination does not hold the rows that were loaded.
 *
 * @category errors
 * @since 0.1.0
 */
export class LoadVerificationFailed extends Schema.TaggedError<LoadVerificationFailed>()("LoadVerificationFailed", {
  destination: Schema.String,
  expected: Schema.Number,
  found: Schema.Number
}) {
  override get message(): string {
    return `verify-load: ${this.destination} holds ${this.found} row(s), ${this.expected} were loaded`
  }
}

/**
 * Every error of the ETL workflow.
 *
 * @category errors
 * @since 0.1.0
 */
export type Error =
  | Template.TemplateParameterError
  | Template.SourceUnreadable
  | InvalidRows
  | LoadFailed
  | LoadVerificationFailed

/**
 * The outputs of the ETL workflow's fixed tasks (the extract and transform tasks depend on the parameters;
 * read them from the run state by id).
 *
 * @category models
 * @since 0.1.0
 */
export interface Outputs {
  readonly "validate-extracted-data": Validated
  readonly "load-to-destination": Loaded
  readonly "verify-load": Verified
}

/**
 * The workflow `etl` returns.
 *
 * @category models
 * @since 0.1.0
 */
export type EtlWorkflow = Workflow.Workflow<"etl", void, Outputs, Error>

// -----------------------------------------------------------------------------
// Extract
// -----------------------------------------------------------------------------

const describeSource = (source: Source): string =>
  source.type === "http" ? source.url : source.type === "sqlite" ? `${source.path} (${source.query})` : source.path

const message = (u: unknown): string => (u instanceof Error ? u.message : String(u))

const readable = (path: string): string | undefined => {
  try {
    if (!statSync(path).isFile()) return "not a file"
    accessSync(path, constants.R_OK)
    return undefined
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : message(e)
  }
}

const rowsOf = (data: unknown, field: string | undefined): Array<Row> => {
  const value = field === undefined ? data : (data as Record<string, unknown> | null)?.[field]
  if (!Array.isArray(value)) throw new Error(field === undefined ? "the JSON document is not an array" : `"${field}" is not an array`)
  return value.filter((r): r is Row => typeof r === "object" && r !== null && !Array.isArray(r))
}

const extract = (source: Source, taskId: string): Effect.Effect<Extracted, Template.SourceUnreadable> => {
  const name = describeSource(source)
  const fail = (reason: string) => new Template.SourceUnreadable({ template: NAME, taskId, source: name, reason })
  switch (source.type) {
    case "csv":
      return Effect.try({
        try: () => ({ source: name, rows: Csv.parse(readFileSync(source.path, "utf8"), source.delimiter ?? ",") }),
        catch: (e) => fail(message(e))
      })
    case "json":
      return Effect.try({
        try: () => ({ source: name, rows: rowsOf(JSON.parse(readFileSync(source.path, "utf8")), source.field) }),
        catch: (e) => fail(message(e))
      })
    case "sqlite":
      return Effect.try({
        try: () => {
          const db = new DatabaseSync(source.path, { readOnly: true })
          try {
            return { source: name, rows: db.prepare(source.query).all() as Array<Row> }
          } finally {
            db.close()
          }
        },
        catch: (e) => fail(message(e))
      })
    case "http":
      return Effect.tryPromise({
        try: async (signal) => {
          const response = await fetch(source.url, { signal })
          if (!response.ok) throw new Error(`HTTP ${response.status} ${response.statusText}`)
          const text = await response.text()
          const format = source.format ??
            ((response.headers.get("content-type") ?? "").includes("csv") ? "csv" : "json")
          return { source: name, rows: format === "csv" ? Csv.parse(text) : rowsOf(JSON.parse(text), undefined) }
        },
        catch: (e) => fail(message(e))
      })
  }
}

const preCheck = (source: Source, taskId: string): Effect.Effect<void, Template.SourceUnreadable> =>
  Effect.suspend(() => {
    if (source.type === "http") return Effect.void
    const problem = readable(source.path)
    return problem === undefined
      ? Effect.void
      : Effect.fail(new Template.SourceUnreadable({ template: NAME, taskId, source: describeSource(source), reason: problem }))
  })

// -----------------------------------------------------------------------------
// Validate
// -----------------------------------------------------------------------------

const isMissing = (u: unknown) => u === undefined || u === null || u === ""

const fieldSchema = (type: string): Schema.Codec<unknown, unknown> => {
  const base = type.replace("?", "")
  const schema = base === "number"
    ? Schema.Union([Schema.Finite, Schema.FiniteFromString])
    : base === "integer"
    ? Schema.Union([Schema.Int, Schema.FiniteFromString.check(Schema.isInt())])
    : base === "boolean"
    ? Schema.Union([Schema.Boolean, Schema.Literals(["true", "false"]).pipe(
      Schema.decodeTo(
        Schema.Boolean,
        SchemaTransformation.transform({
          decode: (s: "true" | "false") => s === "true",
          encode: (b: boolean): "true" | "false" => (b ? "true" : "false")
        })
      )
    )])
    : base === "date"
    ? Schema.String.check(Schema.makeFilter((s: string) => !Number.isNaN(Date.parse(s)) || "is not a date"))
    : Schema.String
  return (type.endsWith("?") ? Schema.NullOr(schema) : schema) as Schema.Codec<unknown, unknown>
}

const rowValidator = (spec: Readonly<Record<string, string>>) => {
  const fields: Record<string, Schema.Codec<unknown, unknown>> = {}
  for (const [name, type] of Object.entries(spec)) fields[name] = fieldSchema(type)
  const decode = Schema.decodeUnknownResult(Schema.Struct(fields) as unknown as Schema.Codec<Row, unknown>)
  return (row: Row): Result.Result<Row, string> => {
    const input: Record<string, unknown> = { ...row }
    for (const [name, type] of Object.entries(spec)) {
      if (type.endsWith("?") && isMissing(input[name])) input[name] = null
    }
    const result = decode(input)
    return Result.isSuccess(result)
      ? Result.succeed({ ...row, ...result.success })
      : Result.fail(result.failure.message.replace(/\n\s*/g, " "))
  }
}

// -----------------------------------------------------------------------------
// Transform
// -----------------------------------------------------------------------------

const compare = (a: unknown, b: unknown): number =>
  typeof a === "number" && typeof b === "number" ? a - b : String(a ?? "").localeCompare(String(b ?? ""))

const matches = (value: unknown, op: typeof Comparison.Type, target: unknown): boolean => {
  switch (op) {
    case "eq":
      return value === target
    case "ne":
      return value !== target
    case "gt":
      return !isMissing(value) && compare(value, target) > 0
    case "gte":
      return !isMissing(value) && compare(value, target) >= 0
    case "lt":
      return !isMissing(value) && compare(value, target) < 0
    case "lte":
      return !isMissing(value) && compare(value, target) <= 0
    case "in":
      return Array.isArray(target) && target.includes(value)
    case "contains":
      return typeof value === "string" && value.includes(String(target))
    case "exists":
      return !isMissing(value)
  }
}

const arithmetic = (op: string, a: unknown, b: unknown): unknown => {
  if (op === "concat") return `${a ?? ""}${b ?? ""}`
  const x = Number(a)
  const y = Number(b)
  if (isMissing(a) || isMissing(b) || Number.isNaN(x) || Number.isNaN(y)) return null
  return op === "add" ? x + y : op === "subtract" ? x - y : op === "multiply" ? x * y : y === 0 ? null : x / y
}

/**
 * Applies one transformation step to rows (pure; exported for tests and custom tasks).
 *
 * @category transformations
 * @since 0.1.0
 */
export const applyStep = (step: TransformationStep, rows: ReadonlyArray<Row>): Array<Row> => {
  switch (step.type) {
    case "filter":
      return rows.filter((r) => matches(r[step.field], step.op, step.value))
    case "select":
      return rows.map((r) => Object.fromEntries(step.fields.map((f) => [f, r[f]])))
    case "rename":
      return rows.map((r) =>
        Object.fromEntries(Object.entries(r).map(([k, v]) => [step.fields[k] ?? k, v]))
      )
    case "derive":
      return rows.map((r) => ({
        ...r,
        [step.field]: arithmetic(step.op, r[step.left], step.right === undefined ? step.rightValue : r[step.right])
      }))
    case "dedupe": {
      const seen = new Set<string>()
      return rows.filter((r) => {
        const key = JSON.stringify(step.fields.map((f) => r[f]))
        if (seen.has(key)) return false
        seen.add(key)
        return true
      })
    }
    case "sort": {
      const sign = step.order === "desc" ? -1 : 1
      return [...rows].sort((a, b) => sign * compare(a[step.field], b[step.field]))
    }
    case "limit":
      return rows.slice(0, step.count)
    case "aggregate": {
      const groups = new Map<string, Array<Row>>()
      for (const r of rows) {
        const key = JSON.stringify(step.groupBy.map((f) => r[f]))
        const group = groups.get(key)
        if (group === undefined) groups.set(key, [r])
        else group.push(r)
      }
      return [...groups.values()].map((group) => {
        const out: Record<string, unknown> = {}
        for (const f of step.groupBy) out[f] = group[0]![f]
        for (const [name, { field, op }] of Object.entries(step.aggregates)) {
          const values = field === undefined ? [] : group.map((r) => Number(r[field])).filter((n) => !Number.isNaN(n))
          out[name] = op === "count"
            ? group.length
            : values.length === 0
            ? null
            : op === "sum"
            ? values.reduce((a, b) => a + b, 0)
            : op === "avg"
            ? values.reduce((a, b) => a + b, 0) / values.length
            : op === "min"
            ? Math.min(...values)
            : Math.max(...values)
        }
        return out
      })
    }
  }
}

// -----------------------------------------------------------------------------
// Load and verify
// -----------------------------------------------------------------------------

const describeDestination = (d: Destination): string => (d.type === "sqlite" ? `${d.path} (table ${d.table})` : d.path)

const sqlType = (values: ReadonlyArray<unknown>): string => {
  const present = values.filter((v) => !isMissing(v))
  if (present.length > 0 && present.every((v) => typeof v === "number" && Number.isInteger(v))) return "INTEGER"
  if (present.length > 0 && present.every((v) => typeof v === "number")) return "REAL"
  return "TEXT"
}

const quoteId = (name: string) => `"${name.replace(/"/g, "\"\"")}"`

const toSql = (v: unknown): null | number | string =>
  v === undefined || v === null ? null : typeof v === "number" ? v : typeof v === "boolean" ? (v ? 1 : 0) : typeof v === "object" ? JSON.stringify(v) : String(v)

const load = (destination: Destination, rows: ReadonlyArray<Row>): Effect.Effect<Loaded, LoadFailed> =>
  Effect.try({
    try: () => {
      mkdirSync(dirname(resolve(destination.path)), { recursive: true })
      switch (destination.type) {
        case "csv":
          writeFileSync(destination.path, Csv.stringify(rows))
          break
        case "json":
          writeFileSync(destination.path, JSON.stringify(rows, null, 2))
          break
        case "sqlite": {
          const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))]
          const db = new DatabaseSync(destination.path)
          try {
            db.exec("BEGIN")
            if ((destination.mode ?? "replace") === "replace") db.exec(`DROP TABLE IF EXISTS ${quoteId(destination.table)}`)
            const defs = columns.map((c) => `${quoteId(c)} ${sqlType(rows.map((r) => r[c]))}`)
            db.exec(`CREATE TABLE IF NOT EXISTS ${quoteId(destination.table)} (${defs.length === 0 ? "\"_empty\" TEXT" : defs.join(", ")})`)
            if (columns.length > 0) {
              const insert = db.prepare(
                `INSERT INTO ${quoteId(destination.table)} (${columns.map(quoteId).join(", ")}) VALUES (${columns.map(() => "?").join(", ")})`
              )
              for (const r of rows) insert.run(...columns.map((c) => toSql(r[c])))
            }
            db.exec("COMMIT")
          } catch (e) {
            if (db.isTransaction) db.exec("ROLLBACK")
            throw e
          } finally {
            db.close()
          }
        }
      }
      return { destination: describeDestination(destination), rows: rows.length }
    },
    catch: (e) => new LoadFailed({ destination: describeDestination(destination), reason: message(e) })
  })

const countRows = (destination: Destination): number => {
  switch (destination.type) {
    case "csv":
      return Csv.parse(readFileSync(destination.path, "utf8")).length
    case "json":
      return rowsOf(JSON.parse(readFileSync(destination.path, "utf8")), undefined).length
    case "sqlite": {
      const db = new DatabaseSync(destination.path, { readOnly: true })
      try {
        const row = db.prepare(`SELECT COUNT(*) AS n FROM ${quoteId(destination.table)}`).get() as { n: number }
        return Number(row.n)
      } finally {
        db.close()
      }
    }
  }
}

// -----------------------------------------------------------------------------
// Constructor
// -----------------------------------------------------------------------------

/** The rows a validation or transform task output (every task before loading outputs `{ rows }`). */
const rowsFrom = (ctx: Workflow.DynamicContext<void>, id: string): ReadonlyArray<Row> =>
  (ctx[id] as { readonly rows: ReadonlyArray<Row> }).rows

/**
 * The ETL workflow. Extend it with `.task(...)` (for example a task that depends on `verify-load`).
 *
 * @category constructors
 * @since 0.1.0
 */
export const etl = (params: Parameters): EtlWorkflow => {
  const extractIds = params.sources.map((s, i) => `extract-${s.type}-${i}`)
  // One extract task per source, one transform task per step: a dynamic workflow (errors checked against
  // the declared ones), given its typed outputs once, on return.
  let wf: Workflow.Dynamic<typeof NAME, void, Error> = Workflow.dynamic(
    NAME,
    Template.workflowOptions(NAME, "Extract, validate, transform, load, verify", params)
  )
  params.sources.forEach((source, i) => {
    const id = extractIds[i]!
    const check = i === 0
      ? Effect.andThen(Template.decodeParameters(NAME, Parameters, params), preCheck(source, id))
      : preCheck(source, id)
    wf = wf.task(id, {
      ...Template.task("extract", { description: `extract ${describeSource(source)}` }, () => extract(source, id)),
      check: (_: PlanNode) => check
    })
  })
  const onInvalid = params.onInvalid ?? "drop"
  wf = wf.task("validate-extracted-data", {
    dependsOn: extractIds,
    description: params.validateData ? "validate every row with its source's schema" : "collect the extracted rows"
  }, (ctx) =>
    Effect.suspend((): Effect.Effect<Validated, InvalidRows> => {
      const rows: Array<Row> = []
      const problems: Array<{ source: string; row: number; message: string }> = []
      let extracted = 0
      let invalid = 0
      params.sources.forEach((source, i) => {
        const out = ctx[extractIds[i]!] as Extracted
        extracted += out.rows.length
        const validate = params.validateData && source.schema !== undefined ? rowValidator(source.schema) : undefined
        out.rows.forEach((row, k) => {
          if (validate === undefined) return void rows.push(row)
          const result = validate(row)
          if (Result.isSuccess(result)) rows.push(result.success)
          else {
            invalid++
            if (problems.length < 20) problems.push({ source: out.source, row: k, message: result.failure })
          }
        })
      })
      if (invalid > 0 && onInvalid === "fail") {
        return Effect.fail(
          new InvalidRows({ invalid, problems: problems.map((p) => `${p.source} row ${p.row}: ${p.message}`) })
        )
      }
      return Effect.succeed({ rows, extracted, valid: rows.length, invalid, problems })
    }))
  let previous = "validate-extracted-data"
  params.transformationSteps.forEach((step, n) => {
    const id = `transform-step-${n}`
    const from = previous
    wf = wf.task(
      id,
      { dependsOn: [from], description: `${step.type}`, parameters: { ...step } },
      (ctx) => Effect.sync((): Transformed => ({ step: step.type, rows: applyStep(step, rowsFrom(ctx, from)) }))
    )
    previous = id
  })
  const last = previous
  wf = wf
    .task(
      "load-to-destination",
      { dependsOn: [last], description: `load into ${describeDestination(params.destination)}` },
      (ctx) => load(params.destination, rowsFrom(ctx, last))
    )
    .task(
      "verify-load",
      { dependsOn: ["load-to-destination"], description: "read the destination back and count its rows" },
      (ctx) =>
        Effect.suspend((): Effect.Effect<Verified, LoadVerificationFailed | LoadFailed> => {
          const destination = describeDestination(params.destination)
          const expected = (ctx["load-to-destination"] as Loaded).rows
          let found: number
          try {
            found = existsSync(params.destination.path) ? countRows(params.destination) : 0
          } catch (e) {
            return Effect.fail(new LoadFailed({ destination, reason: `reading it back: ${message(e)}` }))
          }
          // Appending adds to what was there: at least the loaded rows must be there.
          const ok = params.destination.type === "sqlite" && params.destination.mode === "append"
            ? found >= expected
            : found === expected
          return ok
            ? Effect.succeed({ destination, rows: found })
            : Effect.fail(new LoadVerificationFailed({ destination, expected, found }))
        })
    )
  return wf as never
}

/**
 * The ETL template for registries and the command line.
 *
 * @category templates
 * @since 0.1.0
 */
export const template = Template.make({
  name: NAME,
  description: "Extract from CSV/JSON/HTTP/SQLite in parallel, validate with a Schema, transform, load and verify",
  parameters: Parameters,
  make: etl
})
