/**
 * `npm run bench`: Troupe's scheduler against four peers, in one run.
 *
 * 1. Per-task overhead of no-op tasks on wide, chain and layered DAGs of 1 000, 10 000 and 100 000 tasks
 *    (end to end: each runner builds its own representation of the DAG, then runs it), for the same unit of
 *    work in every runner: a Promise task (`() => Promise.resolve()`, every runner) and an Effect task
 *    (`Effect.void`, the runners that take Effects). Medians of k ≥ 3 runs, with their spread (min–max).
 * 2. Memory per task at 100 000 tasks: heap used after GC with the run's result alive, minus before.
 * 3. Makespan on random DAGs whose tasks sleep 2 to 40 ms, at c = 2, 4, 8 and unlimited, divided by the
 *    lower bound max(critical path, work / c).
 *
 * Prints the tables and writes them to `bench/results.md`. Targets are reported as met or not met.
 * Needs `--expose-gc` (the npm script passes it). `npm run bench -- --quick` runs smaller sizes and does
 * not write the results file.
 */
import { spawnSync } from "node:child_process"
import { writeFileSync } from "node:fs"
import { cpus, loadavg } from "node:os"
import { fileURLToPath } from "node:url"
import { getHeapStatistics } from "node:v8"
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

// -----------------------------------------------------------------------------
// 4. (in a child process) one 1 000 000-task wide workflow in a default Node heap
// -----------------------------------------------------------------------------

/**
 * `run.ts --million promise|effect`: builds and runs one wide workflow of 1 000 000 no-op tasks with
 * Troupe in this (fresh) process, whose heap has Node's default limit, and prints one JSON line: the time
 * (build + run), the heap used after GC with the result alive, and the heap limit.
 */
const millionArg = process.argv.indexOf("--million")
if (millionArg >= 0) {
  const kind = process.argv[millionArg + 1] === "effect" ? "effect" : "promise"
  const size = 1_000_000
  const dag = wide(size)
  const work: Work = kind === "effect"
    ? { kind, promise: () => undefined, effect: () => Effect.void }
    : { kind, promise: () => Promise.resolve(), effect: () => Effect.promise(() => Promise.resolve()) }
  gc()
  const before = process.memoryUsage().heapUsed
  const t0 = performance.now()
  const kept = await troupe.run(dag, work, Infinity)
  const ms = performance.now() - t0
  gc()
  gc()
  const after = process.memoryUsage().heapUsed
  console.log(JSON.stringify({
    kind,
    size,
    ms,
    heapBytes: after - before,
    heapLimit: getHeapStatistics().heap_size_limit,
    alive: kept !== undefined
  }))
  process.exit(0)
}

const peers: ReadonlyArray<Runner> = [promiseScheduler, levelRunner, pGraph, effectFibers]
const runners: ReadonlyArray<Runner> = [troupe, ...peers]

// -----------------------------------------------------------------------------
// Work
// -----------------------------------------------------------------------------

/** The no-op Effect task (`Effect.void`): Troupe and the Effect-fiber peer. */
const noop: Work = {
  kind: "effect",
  promise: () => undefined,
  effect: () => Effect.void
}

/** The no-op Promise task (`() => Promise.resolve()`): every runner, in its own way of taking a Promise. */
const noopPromise: Work = {
  kind: "promise",
  promise: () => Promise.resolve(),
  effect: () => Effect.promise(() => Promise.resolve())
}

/** Tasks that sleep their duration with one `setTimeout` (the same timer code for every runner). */
const sleeping = (dag: Dag) => {
  const started = new Float64Array(dag.size)
  const ended = new Float64Array(dag.size)
  const work: Work = {
    kind: "promise",
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
const repetitions = (n: number) => (quick ? 3 : n <= 1_000 ? 7 : n <= 10_000 ? 5 : 3)
const shapes: ReadonlyArray<(n: number) => Dag> = [wide, chain, (n) => layered(n)]
const works: ReadonlyArray<{ readonly name: string; readonly work: Work }> = [
  { name: "Promise task", work: noopPromise },
  { name: "Effect task", work: noop }
]

progress("warming up")
for (const shape of shapes) {
  for (const { work } of works) {
    for (const runner of runners) if (runner.takes.includes(work.kind)) await runner.run(shape(1_000), work, Infinity)
  }
}

const median = (xs: ReadonlyArray<number>): number => {
  const sorted = [...xs].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

interface NoopRow {
  readonly work: string
  readonly dag: string
  readonly size: number
  /** Every run's time (ms), per runner that takes the work. */
  readonly ms: ReadonlyMap<string, ReadonlyArray<number>>
}
const noopRows: Array<NoopRow> = []
for (const { name: workName, work } of works) {
  const taking = runners.filter((r) => r.takes.includes(work.kind))
  for (const size of sizes) {
    for (const shape of shapes) {
      const dag = shape(size)
      const times = new Map<string, Array<number>>()
      for (let rep = 0; rep < repetitions(size); rep++) {
        // Alternate the runners' order so none always runs right after another's garbage.
        const order = rep % 2 === 0 ? taking : [...taking].reverse()
        for (const runner of order) {
          const ms = await timeRun(runner, dag, work, Infinity)
          times.set(runner.name, [...(times.get(runner.name) ?? []), ms])
        }
      }
      noopRows.push({ work: workName, dag: dag.name, size, ms: times })
      progress(
        `no-op ${workName} ${dag.name} ${size}: ${
          taking.map((r) => `${r.name} ${fmt(median(times.get(r.name)!))} ms`).join(", ")
        }`
      )
    }
  }
}
progress(`no-op: ${fmt((performance.now() - benchStart) / 1000, 0)} s`)

const has = (row: NoopRow, name: string) => row.ms.has(name)
const medianMs = (row: NoopRow, name: string) => median(row.ms.get(name)!)
const perTask = (row: NoopRow, name: string) => (medianMs(row, name) * 1000) / row.size
const throughput = (row: NoopRow, name: string) => row.size / (medianMs(row, name) / 1000)
/** `median (min–max)` of the per-task overhead in µs. */
const perTaskCell = (row: NoopRow, name: string): string => {
  if (!has(row, name)) return "–"
  const xs = row.ms.get(name)!.map((ms) => (ms * 1000) / row.size)
  return `${fmt(median(xs))} (${fmt(Math.min(...xs))}–${fmt(Math.max(...xs))})`
}
/** Troupe's throughput over the peer's, median of each, with the range of per-run ratios. */
const ratioCell = (row: NoopRow, peer: string): string => {
  if (!has(row, peer)) return "–"
  const t = row.ms.get(troupe.name)!
  const p = row.ms.get(peer)!
  const ratios = t.map((ms, k) => p[k]! / ms)
  return `${fmt(medianMs(row, peer) / medianMs(row, troupe.name))}× (${fmt(Math.min(...ratios))}–${fmt(Math.max(...ratios))})`
}

for (const { name: workName } of works) {
  const rows = noopRows.filter((r) => r.work === workName)
  section(
    `No-op ${workName}s: per-task overhead (µs per task, end to end: build + run; median (min–max) of ${
      sizes.map(repetitions).join("/")
    } runs)`,
    table(
      ["DAG", "tasks", ...runners.map((r) => r.name)],
      rows.map((row) => [row.dag, kilo(row.size), ...runners.map((r) => perTaskCell(row, r.name))])
    )
  )
  section(
    `No-op ${workName}s: Troupe's throughput (tasks/s, median) and its ratio to each peer (> 1: Troupe faster; median, then the range over paired runs)`,
    table(
      ["DAG", "tasks", "Troupe tasks/s", ...peers.map((p) => `vs ${p.name}`)],
      rows.map((row) => [
        row.dag,
        kilo(row.size),
        kilo(throughput(row, troupe.name)),
        ...peers.map((p) => ratioCell(row, p.name))
      ])
    )
  )
}

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

// One 1 000 000-task wide workflow per task form, each in a fresh Node process with the default heap limit.
interface MillionRun {
  readonly kind: string
  readonly ms: number
  readonly heapBytes: number
  readonly heapLimit: number
}
const millionRuns: Array<MillionRun | string> = []
for (const kind of quick ? [] : ["promise", "effect"]) {
  const child = spawnSync(
    process.execPath,
    [...process.execArgv, fileURLToPath(import.meta.url), "--million", kind],
    { encoding: "utf8", maxBuffer: 1 << 20 }
  )
  const line = child.stdout.trim().split("\n").pop() ?? ""
  try {
    millionRuns.push(JSON.parse(line) as MillionRun)
  } catch {
    millionRuns.push(`${kind} task: failed (exit ${child.status}, ${child.signal ?? "no signal"}): ${child.stderr.trim().split("\n").slice(-2).join(" ")}`)
  }
  progress(`1M wide ${kind}: done`)
}
if (millionRuns.length > 0) {
  section(
    "A 1 000 000-task wide workflow in a default Node heap (Troupe, one fresh process per task form, no heap flags)",
    table(
      ["task", "build + run s", "µs per task", "heap after GC, result alive", "B per task", "heap limit"],
      millionRuns.map((r) =>
        typeof r === "string"
          ? [r, "–", "–", "–", "–", "–"]
          : [
            `${r.kind} task`,
            fmt(r.ms / 1000),
            fmt((r.ms * 1000) / 1_000_000),
            `${fmt(r.heapBytes / 2 ** 20, 0)} MiB`,
            fmt(r.heapBytes / 1_000_000, 0),
            `${fmt(r.heapLimit / 2 ** 20, 0)} MiB`
          ]
      )
    )
  )
}

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
const ratioTo = (row: NoopRow, peer: string) => medianMs(row, peer) / medianMs(row, troupe.name)
const target = (label: string, peer: string, factor: number, work: string) => {
  const rows = bigRows.filter((r) => r.work === work && has(r, peer))
  if (rows.length === 0) return `- ${label}: not measured`
  const ratios = rows.map((r) => ratioTo(r, peer))
  return `- ${label} (${work}s, medians): ${metOrNot(Math.min(...ratios) >= factor)} (worst ${fmt(Math.min(...ratios))}×; ` +
    `${rows.map((r, k) => `${r.dag} ${kilo(r.size)} ${fmt(ratios[k]!)}×`).join(", ")})`
}
const worstMemory = Math.max(...memoryDags.map((d) => memory.get(troupe.name)!.get(d.name)!))
section(
  "Targets (issue 8)",
  `- makespan / max(critical path, work / c) ≤ 1.02 with duration estimates: ${metOrNot(worstEstimated <= 1.02)} ` +
    `(worst ${fmt(worstEstimated, 3)}); ≤ 1.03 without: ${metOrNot(worstNominal <= 1.03)} (worst ${fmt(worstNominal, 3)} ` +
    `with nominal durations, ${fmt(worstMeasured, 3)} with measured durations)`,
  target("no-op throughput at 10k and 100k ≥ raw Effect fibers", effectFibers.name, 1, "Promise task"),
  target("no-op throughput at 10k and 100k ≥ raw Effect fibers", effectFibers.name, 1, "Effect task"),
  target("no-op throughput at 10k and 100k ≥ 2× p-graph", pGraph.name, 2, "Promise task"),
  `- ≤ 1 KB per task at ${kilo(memorySize)} tasks: ${metOrNot(worstMemory <= 1024)} (worst ${fmt(worstMemory, 0)} B/task)`,
  `- a 1 000 000-task wide workflow runs in a default Node heap: ${
    millionRuns.length === 0
      ? "not measured"
      : `${metOrNot(millionRuns.every((r) => typeof r !== "string"))} (${
        millionRuns.map((r) =>
          typeof r === "string" ? r : `${r.kind} task ${fmt(r.ms / 1000)} s, ${fmt(r.heapBytes / 1_000_000, 0)} B/task`
        ).join("; ")
      })`
  }`
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
// Durable runs have their own benchmark and results file (`npm run bench:durable`).
const resultsUrl = new URL("./results.md", import.meta.url)
const durable = [
  "## Durable runs",
  "",
  "`npm run bench:durable` measures durable runs; its figures, newest first, are in",
  "[`results-durable.md`](results-durable.md).",
  ""
].join("\n")
if (!quick) writeFileSync(resultsUrl, `${header}\n${out.join("\n")}\n${durable}`)
progress(`done in ${fmt(seconds, 0)} s${quick ? "" : "; wrote bench/results.md"}`)
