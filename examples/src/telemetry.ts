/**
 * Telemetry: the spans and metrics of a run, exported with OpenTelemetry (`@effect/opentelemetry`).
 *
 * - Spans: the engine runs every task in a span named `<workflow>.<task>` (attributes `troupe.workflow`,
 *   `troupe.task`, `troupe.run`), a child of the caller's span; here the caller opens `release-pipeline`.
 * - Metrics: `RunMetrics.track()` turns the run's events into Effect metrics (`troupe.tasks.completed`,
 *   `troupe.tasks.failed`, `troupe.tasks.retried`, `troupe.runs`, the `troupe.task.duration_ms` and
 *   `troupe.run.duration_ms` histograms) with `workflow` and `task` attributes.
 * - Where they go: by default to the console (a span tree printed when the tracer provider shuts down,
 *   then the metric series); when `OTEL_EXPORTER_OTLP_ENDPOINT` is set (a local collector, e.g.
 *   `http://127.0.0.1:4318`), over OTLP/HTTP to `<endpoint>/v1/traces` and `<endpoint>/v1/metrics`.
 * - Finally the plain-text performance report of the run (`Report.render`).
 *
 * Run it: `npx node --conditions=source examples/src/telemetry.ts`
 * With a collector:
 * `OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 npx node --conditions=source examples/src/telemetry.ts`
 *
 * @since 0.1.0
 */
import * as NodeSdk from "@effect/opentelemetry/NodeSdk"
import { OTLPMetricExporter } from "@opentelemetry/exporter-metrics-otlp-http"
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http"
import { PeriodicExportingMetricReader } from "@opentelemetry/sdk-metrics"
import {
  BatchSpanProcessor,
  type ReadableSpan,
  SimpleSpanProcessor,
  type SpanExporter
} from "@opentelemetry/sdk-trace-base"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Engine, Plan, Policy, Report, RunMetrics, Workflow } from "@troupe/core"
import { Config, Console, Effect, Metric, Option, Schema } from "effect"

// -----------------------------------------------------------------------------
// The workflow
// -----------------------------------------------------------------------------

class RegistryBusy extends Schema.TaggedError<RegistryBusy>()("RegistryBusy", {}) {
  override get message() {
    return "package registry busy, try again"
  }
}

const work = <A>(ms: number, value: A) => Effect.sleep(ms).pipe(Effect.as(value))

let installAttempts = 0

/**
 * A release pipeline. `install` fails its first attempt (and is retried); `build` waits for `lint`
 * without reading its output (an order-only dependency the optimiser points out).
 *
 * @category workflows
 * @since 0.1.0
 */
export const release = Workflow.make("release", { input: Schema.Struct({ version: Schema.String }) })
  .task("checkout", ({ input }) => work(80, `v${input.version}`))
  .task("install", {
    dependsOn: ["checkout"],
    retry: Policy.fixed({ maxRetries: 2, initialDelay: "50 millis" })
  }, () =>
    work(60, 412).pipe(Effect.andThen((packages) =>
      ++installAttempts === 1 ? Effect.fail(new RegistryBusy()) : Effect.succeed(packages)
    )))
  .task("lint", { dependsOn: ["install"] }, () => work(260, "clean"))
  .task("test", { dependsOn: ["install"], agentType: "test-runner" }, ({ install }) =>
    work(200, { passed: Math.floor(install / 4), failed: 0 }))
  .task("build", { dependsOn: ["checkout", "test"] }, ({ checkout, test }) =>
    work(120, `release-${checkout}.tgz (${test.passed} tests)`))
  .dependsOn("lint")
  .task("publish", { dependsOn: ["build"] }, ({ build }) => work(40, `published ${build}`))

// -----------------------------------------------------------------------------
// Exporters
// -----------------------------------------------------------------------------

const ms = (span: ReadableSpan) => span.duration[0] * 1_000 + span.duration[1] / 1_000_000

/**
 * A span exporter that keeps the spans it is given and prints them as a tree (one per trace) when the
 * tracer provider shuts down. `write` receives each line.
 *
 * @category exporters
 * @since 0.1.0
 */
export const consoleTreeExporter = (write: (line: string) => void): SpanExporter => {
  const spans: Array<ReadableSpan> = []
  const print = () => {
    const ids = new Set(spans.map((s) => s.spanContext().spanId))
    const children = new Map<string | undefined, Array<ReadableSpan>>()
    for (const span of spans) {
      const parent = span.parentSpanContext?.spanId
      const key = parent !== undefined && ids.has(parent) ? parent : undefined
      const list = children.get(key) ?? []
      list.push(span)
      children.set(key, list)
    }
    const byStart = (a: ReadableSpan, b: ReadableSpan) =>
      a.startTime[0] - b.startTime[0] || a.startTime[1] - b.startTime[1]
    for (const list of children.values()) list.sort(byStart)
    const walk = (span: ReadableSpan, prefix: string, last: boolean, root: boolean) => {
      const branch = root ? "" : last ? "└─ " : "├─ "
      const label = `${prefix}${branch}${span.name}`
      const status = span.status.code === 2 ? `  ERROR ${span.status.message ?? ""}`.trimEnd() : ""
      write(`${label.padEnd(44)} ${ms(span).toFixed(1).padStart(8)} ms${status}`)
      const kids = children.get(span.spanContext().spanId) ?? []
      kids.forEach((kid, i) => walk(kid, root ? "" : prefix + (last ? "   " : "│  "), i === kids.length - 1, false))
    }
    for (const root of children.get(undefined) ?? []) {
      write(`trace ${root.spanContext().traceId}`)
      walk(root, "", true, true)
    }
    spans.length = 0
  }
  return {
    export(batch, done) {
      spans.push(...batch)
      done({ code: 0 }) // ExportResultCode.SUCCESS
    },
    shutdown: () => Promise.resolve(print())
  }
}

/**
 * OpenTelemetry for the program: to an OTLP/HTTP collector at `endpoint` (traces and the Effect
 * metrics), else spans to the console through {@link consoleTreeExporter}.
 *
 * @category layers
 * @since 0.1.0
 */
export const telemetryLayer = (endpoint: Option.Option<string>, write: (line: string) => void = console.log) =>
  NodeSdk.layer(() => {
    const resource = { serviceName: "troupe-example", serviceVersion: "0.1.0" }
    if (Option.isNone(endpoint)) {
      return { resource, spanProcessor: new SimpleSpanProcessor(consoleTreeExporter(write)) }
    }
    const base = endpoint.value.replace(/\/+$/, "")
    return {
      resource,
      spanProcessor: new BatchSpanProcessor(new OTLPTraceExporter({ url: `${base}/v1/traces` })),
      // Exported every 10 s and once more when the layer shuts down.
      metricReader: new PeriodicExportingMetricReader({
        exporter: new OTLPMetricExporter({ url: `${base}/v1/metrics` }),
        exportIntervalMillis: 10_000
      })
    }
  })

// -----------------------------------------------------------------------------
// Running
// -----------------------------------------------------------------------------

/**
 * Runs the release inside the span `release-pipeline`, collecting its metrics (for the report) and
 * recording them as Effect metrics (for exporters). Returns the run's metrics.
 *
 * @category running
 * @since 0.1.0
 */
export const runRelease = (version: string) =>
  Effect.gen(function*() {
    const metrics = RunMetrics.collector(Plan.fromWorkflow(release))
    const record = yield* RunMetrics.track()
    yield* Engine.run(release, { version }, {
      onEvent: (event) => {
        metrics.onEvent(event)
        record(event)
      }
    }).pipe(Effect.withSpan("release-pipeline", { attributes: { "release.version": version } }))
    return metrics.snapshot()
  })

/** One line per metric series: `name{attributes} value`. */
const metricLines = Effect.map(Metric.snapshot, (snapshots) =>
  snapshots
    .filter((s) => s.id.startsWith("troupe."))
    .map((s) => {
      const attributes = Object.entries(s.attributes ?? {}).map(([k, v]) => `${k}=${v}`).join(",")
      const state = s.state as { readonly count?: number; readonly sum?: number }
      const value = s.type === "Histogram" ? `count=${state.count} sum=${state.sum}ms` : String(state.count)
      return `${s.id}{${attributes}} ${value}`
    })
    .sort())

/**
 * The example: run, export, print the metrics (console mode) and the performance report.
 *
 * @category running
 * @since 0.1.0
 */
export const main = Effect.gen(function*() {
  const endpoint = yield* Config.option(Config.String("OTEL_EXPORTER_OTLP_ENDPOINT"))
  yield* Console.log(
    Option.isSome(endpoint) ? `exporting spans and metrics to ${endpoint.value}` : "spans (printed on shutdown):"
  )
  // The layer is released when the run ends: the tracer provider flushes (and prints) its spans then.
  const metrics = yield* runRelease("1.4.0").pipe(Effect.provide(telemetryLayer(endpoint)))
  if (Option.isNone(endpoint)) {
    yield* Console.log("\nmetrics:")
    for (const line of yield* metricLines) yield* Console.log(`  ${line}`)
  }
  yield* Console.log(`\n${Report.render(metrics)}`)
  return metrics
})

if (import.meta.main) NodeRuntime.runMain(main)
