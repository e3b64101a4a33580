/**
 * The ETL template end to end on real public datasets shipped by the `vega-datasets` npm package: files,
 * an HTTP endpoint on 127.0.0.1 and SQLite (node:sqlite), with row counts checked against an independent
 * computation.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { createServer, type Server } from "node:http"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { DatabaseSync } from "node:sqlite"
import { assert, describe, expect, it } from "@effect/vitest"
import { Engine, Plan } from "@troupe/core"
import { Cause, Effect, Option, Schema } from "effect"
import { afterAll, beforeAll } from "vitest"
import { Etl, Template } from "../src/index.ts"
import * as Csv from "../src/internal/csv.ts"

const data = join(import.meta.dirname, "..", "..", "..", "node_modules", "vega-datasets", "data")
const penguinsFile = join(data, "penguins.json")
const weatherFile = join(data, "seattle-weather.csv")
const stocksFile = join(data, "stocks.csv")

type Penguin = Record<string, string | number | null>
const penguins = JSON.parse(readFileSync(penguinsFile, "utf8")) as Array<Penguin>
const weather = Csv.parse(readFileSync(weatherFile, "utf8"))

let server: Server
let base = ""
const tmp = mkdtempSync(join(tmpdir(), "troupe-etl-"))

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === "/penguins") {
      res.writeHead(200, { "content-type": "application/json" })
      res.end(readFileSync(penguinsFile))
    } else if (req.url === "/weather.csv") {
      res.writeHead(200, { "content-type": "text/csv" })
      res.end(readFileSync(weatherFile))
    } else {
      res.writeHead(404).end("not here")
    }
  })
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()))
  const address = server.address()
  base = `http://127.0.0.1:${typeof address === "object" && address !== null ? address.port : 0}`
})
afterAll(() => {
  server.close()
  rmSync(tmp, { recursive: true, force: true })
})

const penguinSchema = {
  Species: "string",
  Island: "string",
  "Body Mass (g)": "number",
  "Flipper Length (mm)": "number",
  Sex: "string?"
} as const

const failures = (error: unknown) =>
  (error as { failures: ReadonlyArray<{ taskId: string; cause: Cause.Cause<unknown> }> }).failures.map((f) => ({
    taskId: f.taskId,
    error: Option.getOrUndefined(Cause.findErrorOption(f.cause))
  }))

describe("Etl.etl", () => {
  it.live("penguins from a JSON file and an HTTP endpoint, validated, transformed, loaded into SQLite", () =>
    Effect.gen(function*() {
      const db = join(tmp, "penguins.db")
      const wf = Etl.etl({
        sources: [
          { type: "json", path: penguinsFile, schema: penguinSchema },
          { type: "http", url: `${base}/penguins`, schema: penguinSchema }
        ],
        transformationSteps: [
          { type: "filter", field: "Species", op: "eq", value: "Adelie" },
          { type: "derive", field: "mass_kg", op: "divide", left: "Body Mass (g)", rightValue: 1000 },
          { type: "rename", fields: { Island: "island", Sex: "sex" } },
          { type: "select", fields: ["island", "sex", "mass_kg"] }
        ],
        destination: { type: "sqlite", path: db, table: "adelie" },
        validateData: true,
        maxParallel: 4
      })
      expect(Plan.fromWorkflow(wf).nodes.map((n) => [n.id, n.dependsOn])).toEqual([
        ["extract-json-0", []],
        ["extract-http-1", []],
        ["validate-extracted-data", ["extract-json-0", "extract-http-1"]],
        ["transform-step-0", ["validate-extracted-data"]],
        ["transform-step-1", ["transform-step-0"]],
        ["transform-step-2", ["transform-step-1"]],
        ["transform-step-3", ["transform-step-2"]],
        ["load-to-destination", ["transform-step-3"]],
        ["verify-load", ["load-to-destination"]]
      ])
      const result = yield* Engine.run(wf)

      // Independent count: penguins with a body mass, twice (two sources); Adelie among them.
      const withMass = penguins.filter((p) => typeof p["Body Mass (g)"] === "number")
      const adelie = withMass.filter((p) => p.Species === "Adelie")
      expect(penguins.length).toBe(344)
      const validated = result.outputs["validate-extracted-data"]
      expect(validated.extracted).toBe(2 * 344)
      expect(validated.invalid).toBe(2 * (344 - withMass.length))
      expect(validated.valid).toBe(2 * withMass.length)
      expect(validated.problems[0]!.message).toContain("Body Mass (g)")
      expect(result.outputs["load-to-destination"].rows).toBe(2 * adelie.length)
      expect(result.outputs["verify-load"].rows).toBe(2 * adelie.length)

      const sqlite = new DatabaseSync(db, { readOnly: true })
      const summary = sqlite.prepare("SELECT COUNT(*) AS n, SUM(mass_kg) AS kg, COUNT(DISTINCT island) AS islands FROM adelie").get() as {
        n: number
        kg: number
        islands: number
      }
      sqlite.close()
      expect(summary.n).toBe(2 * adelie.length)
      expect(summary.kg).toBeCloseTo(2 * adelie.reduce((s, p) => s + (p["Body Mass (g)"] as number) / 1000, 0), 6)
      expect(summary.islands).toBe(new Set(adelie.map((p) => p.Island)).size)
    }))

  it.live("weather from a CSV file and CSV over HTTP, aggregated per weather type, loaded into a CSV file", () =>
    Effect.gen(function*() {
      const out = join(tmp, "weather-summary.csv")
      const schema = { date: "date", precipitation: "number", temp_max: "number", temp_min: "number", weather: "string" } as const
      const result = yield* Engine.run(Etl.etl({
        sources: [
          { type: "csv", path: weatherFile, schema },
          { type: "http", url: `${base}/weather.csv`, schema }
        ],
        transformationSteps: [
          { type: "dedupe", fields: ["date"] },
          { type: "aggregate", groupBy: ["weather"], aggregates: { days: { op: "count" }, hottest: { op: "max", field: "temp_max" } } },
          { type: "sort", field: "days", order: "desc" }
        ],
        destination: { type: "csv", path: out },
        validateData: true
      }))
      expect(weather.length).toBe(1461)
      expect(result.outputs["validate-extracted-data"]).toMatchObject({ extracted: 2922, valid: 2922, invalid: 0 })
      const expected = new Map<string, { days: number; hottest: number }>()
      for (const w of weather) {
        const e = expected.get(w.weather!) ?? { days: 0, hottest: -Infinity }
        expected.set(w.weather!, { days: e.days + 1, hottest: Math.max(e.hottest, Number(w.temp_max)) })
      }
      const written = Csv.parse(readFileSync(out, "utf8"))
      expect(result.outputs["verify-load"].rows).toBe(expected.size)
      expect(written.map((r) => r.weather)).toEqual(
        [...expected.entries()].sort((a, b) => b[1].days - a[1].days).map(([k]) => k)
      )
      for (const r of written) {
        expect(Number(r.days)).toBe(expected.get(r.weather!)!.days)
        expect(Number(r.hottest)).toBe(expected.get(r.weather!)!.hottest)
      }
    }))

  it.live("a SQLite source (stock prices loaded from the dataset), to a JSON file", () =>
    Effect.gen(function*() {
      const source = join(tmp, "stocks.db")
      const stocks = Csv.parse(readFileSync(stocksFile, "utf8"))
      const db = new DatabaseSync(source)
      db.exec("CREATE TABLE stocks (symbol TEXT, date TEXT, price REAL)")
      const insert = db.prepare("INSERT INTO stocks VALUES (?, ?, ?)")
      db.exec("BEGIN")
      for (const s of stocks) insert.run(s.symbol!, s.date!, Number(s.price))
      db.exec("COMMIT")
      db.close()
      const out = join(tmp, "aapl.json")
      const result = yield* Engine.run(Etl.etl({
        sources: [{ type: "sqlite", path: source, query: "SELECT * FROM stocks WHERE symbol = 'AAPL'", schema: { price: "number" } }],
        transformationSteps: [{ type: "filter", field: "price", op: "gt", value: 100 }],
        destination: { type: "json", path: out },
        validateData: true
      }))
      const expected = stocks.filter((s) => s.symbol === "AAPL" && Number(s.price) > 100).length
      expect(expected).toBeGreaterThan(0)
      expect(result.outputs["verify-load"].rows).toBe(expected)
      expect((JSON.parse(readFileSync(out, "utf8")) as Array<unknown>).length).toBe(expected)
    }))

  it.live("a source that cannot be read: a missing file fails before the run, naming the task; an HTTP 404 fails its task", () =>
    Effect.gen(function*() {
      const before = yield* Engine.run(Etl.etl({
        sources: [{ type: "json", path: penguinsFile }, { type: "csv", path: join(tmp, "missing.csv") }],
        transformationSteps: [],
        destination: { type: "json", path: join(tmp, "never.json") },
        validateData: false
      })).pipe(Effect.flip)
      expect(failures(before)).toEqual([{
        taskId: "extract-csv-1",
        error: expect.objectContaining({ _tag: "SourceUnreadable", template: "etl", taskId: "extract-csv-1", reason: "no such file" })
      }])
      expect((before as { completed: ReadonlyArray<string> }).completed).toEqual([])

      const during = yield* Engine.run(Etl.etl({
        sources: [{ type: "http", url: `${base}/nothing` }],
        transformationSteps: [],
        destination: { type: "json", path: join(tmp, "never.json") },
        validateData: false
      })).pipe(Effect.flip)
      const [failure] = failures(during)
      assert(failure!.error instanceof Template.SourceUnreadable)
      expect(failure!.taskId).toBe("extract-http-0")
      expect(failure!.error.reason).toBe("HTTP 404 Not Found")
    }))

  it.live("onInvalid: fail stops at validation with the invalid rows", () =>
    Effect.gen(function*() {
      const error = yield* Engine.run(Etl.etl({
        sources: [{ type: "json", path: penguinsFile, schema: penguinSchema }],
        transformationSteps: [],
        destination: { type: "json", path: join(tmp, "never.json") },
        validateData: true,
        onInvalid: "fail"
      })).pipe(Effect.flip)
      const [failure] = failures(error)
      assert(failure!.error instanceof Etl.InvalidRows)
      expect(failure!.error.invalid).toBe(penguins.filter((p) => p["Body Mass (g)"] === null).length)
    }))

  it.live("field types: integer, boolean and date decode from CSV text; optional fields may be empty", () =>
    Effect.gen(function*() {
      const file = join(tmp, "types.csv")
      writeFileSync(file, "n,ok,when,name\n1,true,2020-01-01,x\n2,false,2020-01-02,\n2.5,true,2020-01-03,y\nx,maybe,never,z\n")
      const result = yield* Engine.run(Etl.etl({
        sources: [{ type: "csv", path: file, schema: { n: "integer", ok: "boolean", when: "date", name: "string?" } }],
        transformationSteps: [],
        destination: { type: "json", path: join(tmp, "types.json") },
        validateData: true
      }))
      const validated = result.outputs["validate-extracted-data"]
      expect(validated.rows).toEqual([
        { n: 1, ok: true, when: "2020-01-01", name: "x" },
        { n: 2, ok: false, when: "2020-01-02", name: null }
      ])
      expect(validated.invalid).toBe(2)
      expect(validated.problems.map((p) => p.row)).toEqual([2, 3])
    }))

  it.effect("parameters from data: errors name the parameter's path", () =>
    Effect.gen(function*() {
      const error = yield* Template.instantiate(Etl.template, {
        sources: [{ type: "csv", path: "a.csv" }, { type: "ftp", path: "b" }],
        transformationSteps: [],
        destination: { type: "json", path: "out.json" },
        validateData: true
      }).pipe(Effect.flip)
      expect(error).toMatchObject({ template: "etl", parameter: "sources[1]" })
      const noSources = yield* Template.instantiate(Etl.template, {
        sources: [],
        transformationSteps: [],
        destination: { type: "json", path: "out.json" },
        validateData: true
      }).pipe(Effect.flip)
      expect(noSources.parameter).toBe("sources")
    }))
})

describe("Etl.applyStep", () => {
  const rows = [
    { city: "Oslo", temp: 3, tag: "north-cold" },
    { city: "Rome", temp: 21, tag: "south-warm" },
    { city: "Oslo", temp: 5, tag: "north-cold" },
    { city: "Lima", temp: 19, tag: null }
  ]
  it("filters with in, contains and exists; limits; concatenates", () => {
    expect(Etl.applyStep({ type: "filter", field: "city", op: "in", value: ["Oslo", "Lima"] }, rows)).toHaveLength(3)
    expect(Etl.applyStep({ type: "filter", field: "tag", op: "contains", value: "warm" }, rows)).toEqual([rows[1]])
    expect(Etl.applyStep({ type: "filter", field: "tag", op: "exists" }, rows)).toHaveLength(3)
    expect(Etl.applyStep({ type: "filter", field: "temp", op: "lte", value: 5 }, rows)).toHaveLength(2)
    expect(Etl.applyStep({ type: "limit", count: 2 }, rows)).toEqual(rows.slice(0, 2))
    expect(Etl.applyStep({ type: "derive", field: "label", op: "concat", left: "city", right: "tag" }, rows)[0])
      .toMatchObject({ label: "Oslonorth-cold" })
    expect(Etl.applyStep({ type: "derive", field: "r", op: "divide", left: "temp", rightValue: 0 }, rows)[0]!.r).toBeNull()
  })
  it("aggregates count, sum, avg, min and max per group, in first-seen order", () => {
    expect(Etl.applyStep({
      type: "aggregate",
      groupBy: ["city"],
      aggregates: {
        n: { op: "count" },
        total: { op: "sum", field: "temp" },
        mean: { op: "avg", field: "temp" },
        low: { op: "min", field: "temp" },
        high: { op: "max", field: "temp" }
      }
    }, rows)).toEqual([
      { city: "Oslo", n: 2, total: 8, mean: 4, low: 3, high: 5 },
      { city: "Rome", n: 1, total: 21, mean: 21, low: 21, high: 21 },
      { city: "Lima", n: 1, total: 19, mean: 19, low: 19, high: 19 }
    ])
  })
  it("sorts numbers numerically and strings by locale; dedupes by fields", () => {
    expect(Etl.applyStep({ type: "sort", field: "temp" }, rows).map((r) => r.temp)).toEqual([3, 5, 19, 21])
    expect(Etl.applyStep({ type: "sort", field: "city", order: "desc" }, rows).map((r) => r.city)).toEqual(["Rome", "Oslo", "Oslo", "Lima"])
    expect(Etl.applyStep({ type: "dedupe", fields: ["city"] }, rows).map((r) => r.city)).toEqual(["Oslo", "Rome", "Lima"])
  })
})

describe("CSV", () => {
  it.prop(
    "stringify then parse gives the records back (any text: commas, quotes, line breaks)",
    [Schema.Array(Schema.Struct({ a: Schema.String, b: Schema.String, c: Schema.String })).check(Schema.isMinLength(1))],
    ([records]) => {
      // A record of only empty fields is a blank line, which CSV cannot tell from no record.
      const rows = records.filter((r) => r.a !== "" || r.b !== "" || r.c !== "")
      const back = Csv.parse(Csv.stringify(rows.length === 0 ? [{ a: "x", b: "", c: "" }] : rows))
      expect(back).toEqual(rows.length === 0 ? [{ a: "x", b: "", c: "" }] : rows)
    }
  )


  it("parses quotes, doubled quotes and line breaks inside quotes; writes what it reads", () => {
    const text = "a,b\n\"x, y\",\"say \"\"hi\"\"\"\r\n\"multi\nline\",2\n"
    const rows = Csv.parse(text)
    expect(rows).toEqual([{ a: "x, y", b: "say \"hi\"" }, { a: "multi\nline", b: "2" }])
    expect(Csv.parse(Csv.stringify(rows))).toEqual(rows)
  })
})
