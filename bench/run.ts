/**
 * `npm run bench`: Troupe's scheduler against four peers, in one run.
 *
 * 1. Per-task overhead of no-op tasks on wide, chain and layered DAGs of 1 000, 10 000 and 100 000 tasks
 *    (end to end: each runner builds its own representation of the DAG, then runs it; best of k runs).
 * 2. Memory per task at 100 000 tasks: heap used after GC with the run's result alive, minus before.
 * 3. Makespan on random DAGs whose tasks sleep 2 to 40 ms, at c = 2, 4, 8 and unlimited, divided by the
 *    lower bound max(critical path, work / c).
 *
 * Prints the tables and writes them to `bench/results.md`. Targets are reported as met or not met.
 * Needs `--expose-gc` (the npm script passes it). `npm run bench -- --quick` runs smaller sizes and does
 * not write the results file.
 */
import { writeFileSync } from "node:fs"
import { cpus, loadavg } from "node:os"
import { Effect } from "effect"
import { chain, criticalPath, type Dag, layered, random, wide } from "./dags.ts"
import { effectFibers } from "./peers/fibers.ts"
import { levelRunner } from "./peers/levels.ts"
import { pGraph } from "./peers/pgraph.ts"
import { promiseScheduler } from "./peers/promise.ts"
import { troupe, troupeEstimated } from "./peers/troupe.ts"
import type { Runner, Work } from "./runner.ts"

const gc: () => void = (globalThis as { gc?: () => void }).gc ?? (() => {
  throw new Error("run with --expose-gc (npm run bench)")
})
const quick = process.argv.includes("--quick")

const peers: ReadonlyArray<Runner> = [promiseScheduler, levelRunner, pGraph, effectFibers]
const runners: ReadonlyArray<Runner> = [troupe, ...peers]

// -----------------------------------------------------------------------------
// Work
// -----------------------------------------------------------------------------

const noop: Work = {
  promise: () => undefined,
  effect: () => Effect.void
}

/** Tasks that sleep their duration with one `setTimeout` (the same timer code for every runner). */
const sleeping = (dag: Dag) => {
  const started = new Float64Array(dag.size)
  const ended = new Float64Array(dag.size)
  const work: Work = {
    promise: (i) =>
      new Promise<void>((resolve) => {
        started[i] = performance.now()
        setTimeout(() => {
          ended[i] = performance.now()
          resolve()
        }, dag.durations[i])
      }),
    effect: (i) =>
      Effect.callback<void>((resume) => {
        started[i] = performance.now()
        const timer = setTimeout(() => {
          ended[i] = performance.now()
          resume(Effect.void)
        }, dag.durations[i])
        return Effect.sync(() => clearTimeout(timer))
      })
  }
  return { work, started, ended }
}

/** Checks a finished run: every task ran, none before its dependencies ended, never more than `c` at once. */
const violations = (dag: Dag, c: number, started: Float64Array, ended: Float64Array): Array<string> => {
  const found: Array<string> = []
  const points: Array<[number, number]> = []
  for (let i = 0; i < dag.size; i++) {
    if (ended[i] === 0) found.push(`t${i} did not run`)
    for (const d of dag.deps[i]!) if (started[i]! < ended[d]!) found.push(`t${i} started before t${d} ended`)
    points.push([started[i]!, 1], [ended[i]!, -1])
  }
  points.sort((a, b) => a[0] - b[0] || a[1] - b[1])
  let inFlight = 0
  for (const [, delta] of points) {
    inFlight += delta
    if (inFlight > c) {
      found.push(`${inFlight} tasks in flight with c = ${c}`)
      break
    }
  }
  return found
}

/** Mean time from a task's last dependency finishing (or the run starting) to the task starting. */
const meanDispatchLatency = (dag: Dag, t0: number, started: Float64Array, ended: Float64Array): number => {
  let sum = 0
  for (let i = 0; i < dag.size; i++) {
    let ready = t0
    for (const d of dag.deps[i]!) if (ended[d]! > ready) ready = ended[d]!
    sum += started[i]! - ready
  }
  return sum / dag.size
}

// -----------------------------------------------------------------------------
// Measuring
// -----------------------------------------------------------------------------

const timeRun = async (runner: Runner, dag: Dag, work: Work, concurrency: number): Promise<number> => {
  gc()
  const t0 = performance.now()
  await runner.run(dag, work, concurrency)
  return performance.now() - t0
}

let alive: unknown
/** Heap growth per task with the run's result still referenced. */
const memoryPerTask = async (runner: Runner, dag: Dag): Promise<number> => {
  alive = undefined
  gc()
  gc()
  const before = process.memoryUsage().heapUsed
  alive = await runner.run(dag, noop, Infinity)
  gc()
  gc()
  const after = process.memoryUsage().heapUsed
  const bytes = (after - before) / dag.size
  alive = undefined
  return bytes
}

// -----------------------------------------------------------------------------
// Formatting
// -----------------------------------------------------------------------------

const fmt = (x: number, digits = 2): string =>
  !Number.isFinite(x) ? "–" : x >= 100 ? Math.round(x).toLocaleString("en-US") : x.toFixed(digits)
const kilo = (x: number): string => x >= 1e6 ? `${(x / 1e6).toFixed(2)}M` : `${Math.round(x / 1e3)}k`

const table = (head: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>): string => {
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)))
  const line = (cells: ReadonlyArray<string>) =>
    `| ${cells.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join(" | ")} |`
  const rule = `|${widths.map((w, c) => (c === 0 ? `:${"-".repeat(w + 1)}` : `${"-".repeat(w + 1)}:`)).join("|")}|`
  return [line(head), rule, ...rows.map(line)].join("\n")
}

const out: Array<string> = []
const section = (title: string, ...lines: ReadonlyArray<string>) => {
  const text = [`## ${title}`, "", ...lines, ""].join("\n")
  out.push(text)
  console.log(text)
}
const progress = (message: string) => process.stderr.write(`${message}\n`)

// -----------------------------------------------------------------------------
// 1. No-op throughput
// -----------------------------------------------------------------------------

const benchStart = performance.now()
const startLoad = loadavg().map((x) => x.toFixed(1)).join(" ")
const sizes = quick ? [1_000, 10_000] : [1_000, 10_000, 100_000]
const repetitions = (n: number) => (n <= 1_000 ? 7 : n <= 10_000 ? 3 : 2)
const shapes: ReadonlyArray<(n: number) => Dag> = [wide, chain, (n) => layered(n)]

progress("warming up")
for (const shape of shapes) for (const runner of runners) await runner.run(shape(1_000), noop, Infinity)

interface NoopRow {
  readonly dag: string
  readonly size: number
  readonly ms: ReadonlyMap<string, number>
}
const noopRows: Array<NoopRow> = []
for (const size of sizes) {
  for (const shape of shapes) {
    const dag = shape(size)
    const best = new Map<string, number>()
    for (let rep = 0; rep < repetitions(size); rep++) {
      for (const runner of runners) {
        const ms = await timeRun(runner, dag, noop, Infinity)
        best.set(runner.name, Math.min(best.get(runner.name) ?? Infinity, ms))
      }
    }
    noopRows.push({ dag: dag.name, size, ms: best })
    progress(`no-op ${dag.name} ${size}: ${runners.map((r) => `${r.name} ${fmt(best.get(r.name)!)} ms`).join(", ")}`)
  }
}
progress(`no-op: ${fmt((performance.now() - benchStart) / 1000, 0)} s`)

const perTask = (row: NoopRow, name: string) => (row.ms.get(name)! * 1000) / row.size
const throughput = (row: NoopRow, name: string) => row.size / (row.ms.get(name)! / 1000)

section(
  `No-op tasks: per-task overhead (µs per task, end to end: build + run; best of ${sizes.map(repetitions).join("/")} runs)`,
  table(
    ["DAG", "tasks", ...runners.map((r) => r.name)],
    noopRows.map((row) => [row.dag, kilo(row.size), ...runners.map((r) => fmt(perTask(row, r.name)))])
  )
)
section(
  "No-op tasks: throughput (tasks/s) and Troupe's ratio to each peer (> 1: Troupe faster)",
  table(
    ["DAG", "tasks", "Troupe tasks/s", ...peers.map((p) => `vs ${p.name}`)],
    noopRows.map((row) => [
      row.dag,
      kilo(row.size),
      kilo(throughput(row, troupe.name)),
      ...peers.map((p) => `${fmt(throughput(row, troupe.name) / throughput(row, p.name))}×`)
    ])
  )
)

// -----------------------------------------------------------------------------
// 2. Memory
// -----------------------------------------------------------------------------

const memorySize = quick ? 10_000 : 100_000
const memoryDags = [wide(memorySize), layered(memorySize)]
const memory = new Map<string, Map<string, number>>()
for (const dag of memoryDags) {
  for (const runner of runners) {
    const bytes = await memoryPerTask(runner, dag)
    const perRunner = memory.get(runner.name) ?? new Map<string, number>()
    perRunner.set(dag.name, bytes)
    memory.set(runner.name, perRunner)
  }
  progress(`memory ${dag.name}: done`)
}
section(
  `Memory per task at ${kilo(memorySize)} tasks (bytes of heap after GC, run result alive)`,
  table(
    ["runner", ...memoryDags.map((d) => d.name)],
    runners.map((r) => [r.name, ...memoryDags.map((d) => fmt(memory.get(r.name)!.get(d.name)!, 0))])
  )
)

// -----------------------------------------------------------------------------
// 3. Makespan
// -----------------------------------------------------------------------------

const limits: ReadonlyArray<number> = [2, 4, 8, Infinity]
const seeds = quick ? [7] : [7, 11]
const makespanTasks = 100
// The makespan section also runs Troupe with duration estimates (a feature the peers lack).
const makespanRunners: ReadonlyArray<Runner> = [...runners, troupeEstimated]
const makespanReps = quick ? 1 : 2
interface SpanCell {
  readonly nominal: number
  readonly measured: number
  readonly latency: number
}
const sectionStart = performance.now()
// Warm up the asynchronous path of every runner once (short sleeps).
{
  const random20 = random(20, 3)
  const small: Dag = { ...random20, durations: random20.durations.map(() => 1) }
  for (const runner of makespanRunners) await runner.run(small, sleeping(small).work, 4)
}
const invalid: Array<string> = []
// spans[c][runner]: best of `makespanReps` runs per seed, then the worst seed.
const spans = new Map<number, Map<string, SpanCell>>()
const bounds = new Map<number, Array<string>>()
for (const seed of seeds) {
  const dag = random(makespanTasks, seed)
  const work = dag.durations.reduce((a, b) => a + b, 0)
  const cp = criticalPath(dag, (i) => dag.durations[i]!)
  for (const c of limits) {
    const nominalBound = Math.max(cp, work / c)
    const best = new Map<string, SpanCell>()
    for (let rep = 0; rep < makespanReps; rep++) {
      for (const runner of makespanRunners) {
        const { work: body, started, ended } = sleeping(dag)
        gc()
        const t0 = performance.now()
        await runner.run(dag, body, c)
        const ms = performance.now() - t0
        const wrong = violations(dag, c, started, ended)
        if (wrong.length > 0) invalid.push(`${runner.name} (seed ${seed}, c = ${c}): ${wrong.slice(0, 3).join("; ")}`)
        let measuredWork = 0
        for (let i = 0; i < dag.size; i++) measuredWork += ended[i]! - started[i]!
        const measuredBound = Math.max(criticalPath(dag, (i) => ended[i]! - started[i]!), measuredWork / c)
        const prev = best.get(runner.name)
        const cell = {
          nominal: ms / nominalBound,
          measured: ms / measuredBound,
          latency: meanDispatchLatency(dag, t0, started, ended)
        }
        if (prev === undefined || cell.nominal < prev.nominal) best.set(runner.name, cell)
      }
    }
    const cells = spans.get(c) ?? new Map<string, SpanCell>()
    for (const [name, cell] of best) {
      const prev = cells.get(name)
      cells.set(name, prev === undefined || cell.nominal > prev.nominal ? cell : prev)
    }
    spans.set(c, cells)
    const b = bounds.get(c) ?? []
    b.push(fmt(nominalBound, 0))
    bounds.set(c, b)
    progress(`makespan seed ${seed} c=${c}: ${makespanRunners.map((r) => `${r.name} ${fmt(best.get(r.name)!.nominal, 3)}`).join(", ")}`)
  }
}
progress(`makespan: ${fmt((performance.now() - sectionStart) / 1000, 0)} s`)

const cName = (c: number) => (Number.isFinite(c) ? String(c) : "∞")
section(
  `Makespan on random DAGs (${makespanTasks} tasks sleeping 2–40 ms, seeds ${seeds.join(", ")}; best of ${makespanReps} run${makespanReps === 1 ? "" : "s"}, worst seed)`,
  "makespan / max(critical path, work / c), with the tasks' nominal durations:",
  "",
  table(
    ["c", "bound ms", ...makespanRunners.map((r) => r.name)],
    limits.map((c) => [
      cName(c),
      bounds.get(c)!.join(", "),
      ...makespanRunners.map((r) => fmt(spans.get(c)!.get(r.name)!.nominal, 3))
    ])
  ),
  "",
  "the same with the durations the tasks actually slept (timer lateness removed from the bound):",
  "",
  table(
    ["c", ...makespanRunners.map((r) => r.name)],
    limits.map((c) => [cName(c), ...makespanRunners.map((r) => fmt(spans.get(c)!.get(r.name)!.measured, 3))])
  ),
  "",
  invalid.length === 0
    ? "Every run was checked: all tasks ran, none before its dependencies, never more than c at once."
    : `INVALID runs (the numbers above are not comparable): ${invalid.join(" | ")}`,
  "",
  "mean dispatch latency at c = ∞ (ms from the last dependency finishing to the task starting):",
  "",
  table(
    ["c", ...makespanRunners.map((r) => r.name)],
    [["∞", ...makespanRunners.map((r) => fmt(spans.get(Infinity)!.get(r.name)!.latency, 3))]]
  ),
  "",
  "Troupe's makespan relative to each peer's (nominal ratio over nominal ratio; < 1: Troupe faster):",
  "",
  table(
    ["c", ...peers.map((p) => `vs ${p.name}`)],
    limits.map((c) => {
      const cell = spans.get(c)!
      return [cName(c), ...peers.map((p) => fmt(cell.get(troupe.name)!.nominal / cell.get(p.name)!.nominal, 3))]
    })
  )
)

// -----------------------------------------------------------------------------
// Targets
// -----------------------------------------------------------------------------

const metOrNot = (ok: boolean) => (ok ? "met" : "NOT met")
const troupeSpans = limits.map((c) => spans.get(c)!.get(troupe.name)!)
const worstNominal = Math.max(...troupeSpans.map((s) => s.nominal))
const worstMeasured = Math.max(...troupeSpans.map((s) => s.measured))
const worstEstimated = Math.max(...limits.map((c) => spans.get(c)!.get(troupeEstimated.name)!.nominal))
const bigRows = noopRows.filter((row) => row.size >= 10_000)
const vsPGraph = bigRows.map((row) => throughput(row, troupe.name) / throughput(row, pGraph.name))
const worstVsPGraph = Math.min(...vsPGraph)
const worstMemory = Math.max(...memoryDags.map((d) => memory.get(troupe.name)!.get(d.name)!))
section(
  "Targets",
  `- makespan / max(critical path, work / c) ≤ 1.02 everywhere: ${metOrNot(worstNominal <= 1.02)} ` +
    `(worst ${fmt(worstNominal, 3)} with nominal durations; ${fmt(worstMeasured, 3)} with measured durations: ` +
    `${metOrNot(worstMeasured <= 1.02)}; with duration estimates ${fmt(worstEstimated, 3)}: ` +
    `${metOrNot(worstEstimated <= 1.02)})`,
  `- no-op throughput at 10k and 100k tasks ≥ p-graph's: ${metOrNot(worstVsPGraph >= 1)} ` +
    `(worst ${fmt(worstVsPGraph)}× p-graph; ${bigRows.map((r, k) => `${r.dag} ${kilo(r.size)} ${fmt(vsPGraph[k]!)}×`).join(", ")}); ` +
    `stretch goal 2×: ${metOrNot(worstVsPGraph >= 2)}`,
  `- memory < 2 KB per task at ${kilo(memorySize)} tasks: ${metOrNot(worstMemory < 2048)} ` +
    `(worst ${fmt(worstMemory, 0)} B/task)`
)

const seconds = (performance.now() - benchStart) / 1000
const header = [
  "# Benchmark results",
  "",
  `Generated by \`npm run bench\`${quick ? " --quick" : ""} on ${new Date().toISOString()}, Node ${process.version}, ` +
    `${cpus().length} × ${cpus()[0]?.model ?? "unknown CPU"}, ${process.platform}/${process.arch}; took ${fmt(seconds, 0)} s; ` +
    `load average at the start ${startLoad}, at the end ${loadavg().map((x) => x.toFixed(1)).join(" ")} ` +
    "(timings are wall-clock: other processes on the machine add noise).",
  "",
  "Runners: **Troupe** (`Engine.run`), **Promise** (minimal hand-written scheduler: in-degree counting, ready queue,",
  "concurrency limit), **Levels** (Promise.all per dependency level, as the seeds do it), **p-graph** (npm), **Effect",
  "fibers** (one fiber per task awaiting its dependencies' Deferreds). Ratios are Troupe over the peer.",
  ""
].join("\n")
if (!quick) writeFileSync(new URL("./results.md", import.meta.url), `${header}\n${out.join("\n")}`)
progress(`done in ${fmt(seconds, 0)} s${quick ? "" : "; wrote bench/results.md"}`)
