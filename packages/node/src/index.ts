/**
 * @troupe/node: the Node platform for Troupe (file-system task cache, skill discovery on disk).
 *
 * @since 0.1.0
 */

/**
 * @since 0.1.0
 */
export * as Command from "./Command.ts"

/**
 * @since 0.1.0
 */
export * as FileTaskCache from "./FileTaskCache.ts"

/**
 * @since 0.1.0
 */
export * as SkillsFs from "./SkillsFs.ts"
