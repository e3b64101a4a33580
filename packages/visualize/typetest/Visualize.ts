import type { RunState } from "@troupe/core/RunState"
import type { Effect, Schema } from "effect"
import { expectTypeOf } from "vitest"
import { Ascii, Dot, Json, Mermaid, Render, VisualizeError } from "@troupe/visualize"
import type { Plan } from "@troupe/core/Plan"

declare const plan: Plan
declare const state: RunState

// A RunState is an overlay; so is a bare list of task states.
expectTypeOf(Mermaid.render(plan, { state, direction: "LR" })).toEqualTypeOf<string>()
expectTypeOf(Ascii.render(plan, { state: { tasks: state.tasks }, width: 100 })).toEqualTypeOf<string>()
// @ts-expect-error: directions are TD or LR
Mermaid.render(plan, { direction: "BT" })
// @ts-expect-error: metrics are numbers, strings and booleans
Dot.render(plan, { metrics: { a: { durationMs: "1s" } } })
// @ts-expect-error: width is an ASCII option, not a graph option
Dot.render(plan, { width: 80 })

// SVG rendering fails only with the typed error.
expectTypeOf(Dot.renderSvg(plan)).toEqualTypeOf<Effect.Effect<string, VisualizeError.VisualizeError>>()

// The Schema describes exactly the rendered document.
expectTypeOf<Schema.Schema.Type<typeof Json.Document>>().toEqualTypeOf<Json.Document>()
expectTypeOf(Json.decode).returns.toEqualTypeOf<Effect.Effect<Json.Document, VisualizeError.VisualizeError>>()
expectTypeOf(Render.statusSymbol.completed).toEqualTypeOf<string>()
// @ts-expect-error: unknown status
Render.statusSymbol.exploded
