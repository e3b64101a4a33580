/**
 * Durable overhead: the same no-op workflows on the in-memory engine and durably on SQLite (node:sqlite,
 * WAL, synchronous NORMAL and FULL), sequentially (maxParallel 1) and at concurrency 16; replay of a run whose
 * 1000 tasks had all completed when the process stopped; joining a finished run; database growth per task
 * (the first run of a workflow, which also stores its plan and creates its statistics rows, and each further
 * run of it); wall-clock and CPU time (the CPU figure is steadier on a loaded machine).
 *
 *   npm run bench:durable            (prints a Markdown section; add --append to add it to bench/results-durable.md, newest first)
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { cpus, loadavg, tmpdir } from "node:os"
import { join } from "node:path"
import { Deferred, Effect, Fiber, Layer, Schema } from "effect"
import { Activity, Workflow as EffectWorkflow } from "effect/workflow"
import { Engine, Workflow } from "@troupe/core"
import { Durable, SqliteClient } from "@troupe/durable"

const N = Number(process.env["DURABLE_BENCH_TASKS"] ?? 1000)

/** `n` independent no-op tasks (the engine's concurrency limit decides how many run at once). */
const wide = (name: string, n: number, last?: Effect.Effect<unknown>): Workflow.Any => {
  let wf: any = Workflow.make(name)
  for (let i = 0; i < n; i++) wf = wf.task(`t${i}`, () => Effect.void)
  if (last !== undefined) wf = wf.task("last", () => last)
  return wf as Workflow.Any
}

const time = async (f: () => Promise<unknown>) => {
  const t0 = performance.now()
  await f()
  return performance.now() - t0
}

const dir = mkdtempSync(join(tmpdir(), "troupe-bench-durable-"))
const sizeOf = (file: string) => {
  let total = 0
  for (const suffix of ["", "-wal"]) {
    try {
      total += statSync(file + suffix).size
    } catch {
      // absent
    }
  }
  return total
}

const cpuMs = (since: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(since)
  return (used.user + used.system) / 1000
}

const memory = async (maxParallel: number) => {
  const wf = wide(`mem-${maxParallel}`, N)
  await Effect.runPromise(Engine.run(wf, undefined as never, { maxParallel }) as Effect.Effect<unknown, unknown>)
  return time(() => Effect.runPromise(Engine.run(wf, undefined as never, { maxParallel }) as Effect.Effect<unknown, unknown>))
}

const durable = async (maxParallel: number, synchronous: "NORMAL" | "FULL") => {
  const filename = join(dir, `run-${maxParallel}-${synchronous}.db`)
  const wf = wide(`dur-${maxParallel}`, N)
  let statements = 0
  let growth = 0
  let again = 0
  let cpu = 0
  const ms = await Effect.runPromise(Effect.gen(function*() {
    // Warm up (tables, statement cache, JIT) on a small run, then measure.
    yield* Durable.run(wide(`warm-${maxParallel}`, 50), undefined as never, { runId: "warm", maxParallel })
    const client = yield* SqliteClient.SqliteClient
    client.db.exec("PRAGMA wal_checkpoint(TRUNCATE)")
    const before = sizeOf(filename)
    const s0 = client.stats.statements
    const c0 = process.cpuUsage()
    const t0 = performance.now()
    yield* Durable.run(wf, undefined as never, { runId: "measured", maxParallel })
    const elapsed = performance.now() - t0
    cpu = cpuMs(c0)
    statements = client.stats.statements - s0
    client.db.exec("PRAGMA wal_checkpoint(TRUNCATE)")
    growth = sizeOf(filename) - before
    // A further run of the same workflow: its plan and statistics rows exist already.
    yield* Durable.run(wf, undefined as never, { runId: "again", maxParallel })
    client.db.exec("PRAGMA wal_checkpoint(TRUNCATE)")
    again = sizeOf(filename) - before - growth
    return elapsed
  }).pipe(Effect.provide(Durable.layer({ filename, synchronous }))) as Effect.Effect<number, unknown>)
  return { ms, statements, growth, again, cpu }
}

let rawRuns = 0

/** Effect's engine alone (no Troupe): N activities in one effect/workflow on the same engine layer. */
const raw = async (concurrency: number) => {
  const W = EffectWorkflow.make(`raw-${concurrency}`, {
    payload: { id: Schema.String },
    success: Schema.Number,
    idempotencyKey: ({ id }) => id
  })
  const activity = (i: number) => Activity.make({ name: `a${i}`, success: Schema.String, execute: Effect.succeed("x") })
  const layer = W.toLayer(() =>
    Effect.as(Effect.forEach(Array.from({ length: N }, (_, i) => i), activity, { concurrency, discard: true }), N)
  ).pipe(
    Layer.provideMerge(Durable.engineLayer()),
    Layer.provide(SqliteClient.layer({ filename: join(dir, `raw-${concurrency}-${rawRuns++}.db`) }))
  )
  return Effect.runPromise(Effect.gen(function*() {
    const c0 = process.cpuUsage()
    const t0 = performance.now()
    yield* W.execute({ id: "x" })
    return { ms: performance.now() - t0, cpu: cpuMs(c0) }
  }).pipe(Effect.provide(layer)) as Effect.Effect<{ ms: number; cpu: number }, unknown>)
}

/** N tasks complete, then the process "stops" (layer closed) while the last task is blocked; resume. */
const replay = async () => {
  const filename = join(dir, "replay.db")
  const gate = Effect.runSync(Deferred.make<void>())
  const blocked = wide("replay", N, Effect.andThen(Deferred.succeed(gate, undefined), Effect.never))
  await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    const fiber = yield* Effect.forkChild(
      Durable.run(blocked, undefined as never, { runId: "r", maxParallel: 16 }) as Effect.Effect<unknown, unknown, Durable.DurableRuntime>
    )
    yield* Deferred.await(gate)
    yield* Effect.sleep(200)
    yield* Fiber.interrupt(fiber)
  }).pipe(Effect.provide(Durable.layer({ filename, shutdownTimeout: 100 })))) as Effect.Effect<unknown, unknown>)
  const finishing = wide("replay", N, Effect.void)
  let skipped = 0
  let layerMs = 0
  let resumeMs = 0
  let joinMs = 0
  await Effect.runPromise(Effect.gen(function*() {
    const t0 = performance.now()
    const runtime = yield* Durable.DurableRuntime
    layerMs = performance.now() - t0
    void runtime
    const t1 = performance.now()
    const result = yield* Durable.run(finishing, undefined as never, { runId: "r", maxParallel: 16 })
    resumeMs = performance.now() - t1
    skipped = result.skipped.length
    const t2 = performance.now()
    yield* Durable.run(finishing, undefined as never, { runId: "r", maxParallel: 16 })
    joinMs = performance.now() - t2
  }).pipe(Effect.provide(Layer.fresh(Durable.layer({ filename })))) as Effect.Effect<unknown, unknown>)
  return { resumeMs, skipped, joinMs, layerMs }
}

/**
 * Troupe over the engine alone, measured alternately in the same minutes (3 rounds, the median of each): a
 * further run of an already-run workflow (its plan and statistics rows exist), sequential and at
 * concurrency 16. On a shared machine this comparison is steadier than the table's absolute figures.
 */
const interleaved = async (maxParallel: number) => {
  const rounds = 3
  const troupe: Array<number> = []
  const engine: Array<number> = []
  for (let k = 0; k < rounds; k++) {
    const filename = join(dir, `interleaved-${maxParallel}-${k}.db`)
    const wf = wide(`steady-${maxParallel}`, N)
    troupe.push(
      await Effect.runPromise(Effect.gen(function*() {
        yield* Durable.run(wf, undefined as never, { runId: "first", maxParallel })
        const t0 = performance.now()
        yield* Durable.run(wf, undefined as never, { runId: "further", maxParallel })
        return performance.now() - t0
      }).pipe(Effect.provide(Durable.layer({ filename }))) as Effect.Effect<number, unknown>)
    )
    engine.push((await raw(maxParallel === 1 ? 1 : 16)).ms)
  }
  const median = (xs: Array<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
  return { troupe: median(troupe), engine: median(engine) }
}

const fmt = (n: number, d = 3) => n.toFixed(d)

const main = async () => {
  const rows: Array<string> = []
  const memSeq = await memory(1)
  const memPar = await memory(16)
  const seq = await durable(1, "NORMAL")
  const par = await durable(16, "NORMAL")
  const seqFull = await durable(1, "FULL")
  const parFull = await durable(16, "FULL")
  const r = await replay()
  const rawSeq = await raw(1)
  const rawPar = await raw(16)
  const steadySeq = await interleaved(1)
  const steadyPar = await interleaved(16)
  rows.push(
    `## Durable (${new Date().toISOString().slice(0, 10)}, ${N} no-op tasks, node ${process.version}, ${process.platform})`,
    "",
    "`npm run bench:durable`: the same wide workflow of no-op tasks on the in-memory engine and durably",
    "(`Durable.run` on a SQLite file through node:sqlite, WAL). Overhead = durable - in-memory, per task.",
    "",
    `Load average while measuring: ${loadavg().map((l) => l.toFixed(1)).join(", ")} (${cpus().length} cores).`,
    "Effect's engine alone (one effect/workflow with N no-op activities, same layer, no Troupe): " +
      `${fmt(rawSeq.ms / N)} ms/activity sequentially (CPU ${fmt(rawSeq.cpu / N)}), ${fmt(rawPar.ms / N)} ms/activity ` +
      `at concurrency 16 (CPU ${fmt(rawPar.cpu / N)}).`,
    "",
    "| mode | in-memory ms/task | durable ms/task | overhead ms/task | CPU ms/task | SQL statements/task | DB growth B/task, first run | DB growth B/task, further runs |",
    "|:--|--:|--:|--:|--:|--:|--:|--:|",
    ...([
      ["sequential, synchronous NORMAL", memSeq, seq],
      ["concurrency 16, synchronous NORMAL", memPar, par],
      ["sequential, synchronous FULL", memSeq, seqFull],
      ["concurrency 16, synchronous FULL", memPar, parFull]
    ] as const).map(([mode, mem, d]) =>
      `| ${mode} | ${fmt(mem / N)} | ${fmt(d.ms / N)} | ${fmt((d.ms - mem) / N)} | ${fmt(d.cpu / N)} | ` +
      `${fmt(d.statements / N, 1)} | ${fmt(d.growth / N, 0)} | ${fmt(d.again / N, 0)} |`
    ),
    "",
    `Interleaved with Effect's engine alone (3 rounds, medians; a further run of an already-run workflow): ` +
      `sequential ${fmt(steadySeq.troupe / N)} ms/task vs ${fmt(steadySeq.engine / N)} for the engine alone ` +
      `(Troupe adds ${fmt((steadySeq.troupe - steadySeq.engine) / N)}); concurrency 16 ${fmt(steadyPar.troupe / N)} vs ` +
      `${fmt(steadyPar.engine / N)} (adds ${fmt((steadyPar.troupe - steadyPar.engine) / N)}).`,
    "",
    `Resume of a run whose ${N} tasks had completed when its process stopped (one task left): ${fmt(r.resumeMs, 0)} ms ` +
      `(${r.skipped} tasks skipped, replayed from the journal). Joining the finished run afterwards (the stored ` +
      `result): ${fmt(r.joinMs, 0)} ms.`,
    "",
    "Targets: overhead ≤ 1 ms/task at concurrency 16 " +
      `(${(par.ms - memPar) / N <= 1 ? "met" : "NOT met"}; further runs, interleaved: ` +
      `${steadyPar.troupe / N <= 1 ? "met" : "NOT met"}), ≤ 2 ms/task sequential ` +
      `(${(seq.ms - memSeq) / N <= 2 ? "met" : "NOT met"}; further runs, interleaved: ` +
      `${steadySeq.troupe / N <= 2 ? "met" : "NOT met"}), resume of a 1000-task finished run ≤ 0.5 s ` +
      `(${r.resumeMs <= 500 ? "met" : "NOT met"}), DB growth ≤ 1 KB/task ` +
      `(further runs: ${Math.max(seq.again, par.again) / N <= 1024 ? "met" : "NOT met"}; ` +
      `first run of a workflow, with its plan and statistics rows: ${Math.max(seq.growth, par.growth) / N <= 1024 ? "met" : "NOT met"}).`,
    ""
  )
  const text = rows.join("\n")
  console.log(text)
  if (process.argv.includes("--append")) record(text)
  rmSync(dir, { recursive: true, force: true })
}

/** Adds a section to bench/results-durable.md, newest first (after the title and its note). */
function record(section: string): void {
  const url = new URL("./results-durable.md", import.meta.url)
  const title = "# Durable benchmark results\n\nNewest first.\n\n"
  const previous = existsSync(url) ? readFileSync(url, "utf8") : title
  const rest = previous.startsWith(title) ? previous.slice(title.length) : previous
  writeFileSync(url, `${title}${section.trim()}\n\n${rest}`)
}

await main()
