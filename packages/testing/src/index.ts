/**
 * @troupe/testing: helpers for testing Troupe workflows: random DAGs (fast-check), run recordings and
 * the invariants every correct run satisfies.
 *
 * @since 0.1.0
 */

/**
 * @since 0.1.0
 */
export * as Dags from "./Dags.ts"

/**
 * @since 0.1.0
 */
export * as Hostile from "./Hostile.ts"

/**
 * @since 0.1.0
 */
export * as RunAssertions from "./RunAssertions.ts"
