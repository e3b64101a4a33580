/**
 * @troupe/visualize: render a Troupe Plan, optionally with a run's state and metrics, as Mermaid,
 * Graphviz DOT (and SVG), ASCII for terminals, and JSON.
 *
 * @since 0.1.0
 */

/**
 * Terminal rendering: levels, status symbols, dependencies after `←`, fitted to a width.
 *
 * @since 0.1.0
 */
export * as Ascii from "./Ascii.ts"

/**
 * Graphviz DOT, and SVG through `@viz-js/viz`.
 *
 * @since 0.1.0
 */
export * as Dot from "./Dot.ts"

/**
 * A plain JSON-ready document with a Schema, so it round-trips.
 *
 * @since 0.1.0
 */
export * as Json from "./Json.ts"

/**
 * Mermaid flowcharts.
 *
 * @since 0.1.0
 */
export * as Mermaid from "./Mermaid.ts"

/**
 * Shared options, status colours and symbols, formatting.
 *
 * @since 0.1.0
 */
export * as Render from "./Render.ts"

/**
 * The typed error of the renderers.
 *
 * @since 0.1.0
 */
export * as VisualizeError from "./VisualizeError.ts"
