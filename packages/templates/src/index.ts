/**
 * @troupe/templates: workflow templates (CI/CD, ETL, code review, documentation), each a typed function of
 * Schema-checked parameters that returns a workflow you can extend.
 *
 * @since 0.1.0
 */

/**
 * @since 0.1.0
 */
export * as CiCd from "./CiCd.ts"

/**
 * @since 0.1.0
 */
export * as CodeReview from "./CodeReview.ts"

/**
 * @since 0.1.0
 */
export * as Documentation from "./Documentation.ts"

/**
 * @since 0.1.0
 */
export * as Etl from "./Etl.ts"

/**
 * @since 0.1.0
 */
export * as Template from "./Template.ts"

/**
 * @since 0.1.0
 */
export * as Templates from "./Templates.ts"
