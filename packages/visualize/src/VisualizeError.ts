/**
 * The typed error of the renderers that can fail: turning DOT into SVG, and decoding a JSON rendering.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

// -----------------------------------------------------------------------------
// Errors
// -----------------------------------------------------------------------------

/**
 * Rendering failed.
 * - `operation: "svg"`: Graphviz could not load or rejected the DOT text (`message` has its errors);
 * - `operation: "decode"`: a value is not a valid JSON rendering (`message` says where).
 *
 * @category errors
 * @since 0.1.0
 */
export class VisualizeError extends Schema.TaggedError<VisualizeError>()("VisualizeError", {
  operation: Schema.Literals(["svg", "decode"]),
  message: Schema.String
}) {}

// -----------------------------------------------------------------------------
// Guards
// -----------------------------------------------------------------------------

/**
 * @category guards
 * @since 0.1.0
 */
export const isVisualizeError = (u: unknown): u is VisualizeError => u instanceof VisualizeError
