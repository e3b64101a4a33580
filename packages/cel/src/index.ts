/**
 * @troupe/cel: CEL expressions for Troupe data definitions (conditions and output mappings).
 *
 * @since 0.1.0
 */

/**
 * CEL as a Troupe expression language: `Cel.language`, `Cel.layer`, `Cel.compile`, `Cel.compileValue`.
 *
 * @since 0.1.0
 */
export * as Cel from "./Cel.ts"
