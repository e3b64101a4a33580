/**
 * Graphviz DOT of a Plan, and SVG rendered in-process with `@viz-js/viz` (Graphviz compiled to
 * WebAssembly; nothing to install).
 *
 * Nodes are coloured by status, labels carry durations and other metrics, order-only edges are dashed.
 *
 * @since 0.1.0
 */
import type { Plan } from "@troupe/core/Plan"
import { instance, type Viz } from "@viz-js/viz"
import { Effect } from "effect"
import * as View from "./internal/view.ts"
import { type GraphOptions, plainStyle, type StatusStyle, statusStyle } from "./Render.ts"
import { VisualizeError } from "./VisualizeError.ts"

// -----------------------------------------------------------------------------
// Rendering
// -----------------------------------------------------------------------------

/**
 * Renders a Plan as DOT text (`digraph`, `rankdir` from `direction`).
 *
 * @example
 * ```ts
 * import { Dot } from "@troupe/visualize"
 * import type { Plan } from "@troupe/core/Plan"
 *
 * declare const plan: Plan
 * const dot = Dot.render(plan, { direction: "LR" })
 * ```
 *
 * @category rendering
 * @since 0.1.0
 */
export const render = (plan: Plan, options: GraphOptions = {}): string => {
  const view = View.make(plan, options)
  const lines = [
    `digraph ${quote(plan.name || plan.id)} {`,
    `  graph [rankdir=${options.direction === "LR" ? "LR" : "TB"}, label=${
      quote(plan.name || plan.id)
    }, labelloc="t", fontname="Helvetica"];`,
    `  node [shape="box", style="rounded,filled", fontname="Helvetica", ${colours(plainStyle)}];`,
    `  edge [color="#495057"];`
  ]
  for (const node of view.nodes) {
    const label = View.labelLines(node, options.descriptions === true).map(escape).join("\\n")
    const attributes = [`label="${label}"`]
    if (node.node.description !== "") attributes.push(`tooltip=${quote(node.node.description)}`)
    if (node.status !== undefined) {
      const style = statusStyle[node.status]
      attributes.push(colours(style))
      if (style.dashed) attributes.push(`style="rounded,filled,dashed"`)
    }
    lines.push(`  ${quote(node.id)} [${attributes.join(", ")}];`)
  }
  for (const edge of view.edges) {
    lines.push(`  ${quote(edge.from)} -> ${quote(edge.to)}${edge.kind === "order" ? " [style=dashed]" : ""};`)
  }
  lines.push("}")
  return lines.join("\n")
}

/**
 * Renders DOT text to SVG with Graphviz (WebAssembly, in-process). The Graphviz instance is loaded once
 * and reused. Fails with a `VisualizeError` when Graphviz cannot load or rejects the DOT text.
 *
 * @category rendering
 * @since 0.1.0
 */
export const toSvg = (dot: string): Effect.Effect<string, VisualizeError> =>
  Effect.flatMap(loadViz, (viz) =>
    Effect.suspend(() => {
      let result: ReturnType<Viz["render"]>
      try {
        result = viz.render(dot, { format: "svg" })
      } catch (error) {
        return Effect.fail(new VisualizeError({ operation: "svg", message: `Graphviz threw: ${String(error)}` }))
      }
      if (result.status === "success") return Effect.succeed(result.output)
      const messages = result.errors.filter((error) => error.level !== "warning").map((error) => error.message.trim())
      return Effect.fail(
        new VisualizeError({
          operation: "svg",
          message: `Graphviz rejected the DOT text: ${messages.join("; ") || "unknown error"}`
        })
      )
    }))

/**
 * `render` then `toSvg`.
 *
 * @category rendering
 * @since 0.1.0
 */
export const renderSvg = (plan: Plan, options: GraphOptions = {}): Effect.Effect<string, VisualizeError> =>
  toSvg(render(plan, options))

// -----------------------------------------------------------------------------
// Escaping
// -----------------------------------------------------------------------------

/**
 * Escapes text for the inside of a DOT double-quoted string: backslashes and quotes are escaped, line
 * breaks become `\n`.
 *
 * @category escaping
 * @since 0.1.0
 */
export const escape = (text: string): string =>
  text.replace(/\\/g, "\\\\").replace(/"/g, "\\\"").replace(/\r\n|\r|\n/g, "\\n")

/**
 * A DOT double-quoted string.
 *
 * @category escaping
 * @since 0.1.0
 */
export const quote = (text: string): string => `"${escape(text)}"`

// -----------------------------------------------------------------------------
// Internal
// -----------------------------------------------------------------------------

const colours = (style: StatusStyle): string =>
  `fillcolor="${style.fill}", color="${style.stroke}", fontcolor="${style.text}"`

let vizInstance: Promise<Viz> | undefined

const loadViz: Effect.Effect<Viz, VisualizeError> = Effect.tryPromise({
  try: () => {
    if (vizInstance === undefined) {
      vizInstance = instance().catch((error: unknown) => {
        // Forget a failed load so the next call tries again.
        vizInstance = undefined
        throw error
      })
    }
    return vizInstance
  },
  catch: (error) => new VisualizeError({ operation: "svg", message: `Graphviz failed to load: ${String(error)}` })
})
