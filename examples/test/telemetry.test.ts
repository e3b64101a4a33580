/**
 * The telemetry example exports one span per task, under the caller's span, through OpenTelemetry.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import { runRelease, telemetryLayer } from "../src/telemetry.ts"

describe("telemetry example", () => {
  it.live("prints a span tree with release-pipeline and a span per task", () =>
    Effect.gen(function*() {
      const lines: Array<string> = []
      const metrics = yield* runRelease("9.9.9").pipe(
        Effect.provide(telemetryLayer(Option.none(), (line) => lines.push(line)))
      )
      expect(metrics.status).toBe("completed")
      const text = lines.join("\n")
      expect(text).toContain("release-pipeline")
      for (const task of metrics.tasks) expect(text).toContain(`release.${task.id}`)
    }))
})
