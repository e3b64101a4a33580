/**
 * The exit codes of `troupe`.
 *
 * | code | meaning |
 * |---|---|
 * | 0 | success (the run completed; the definition is valid; the graph was written) |
 * | 1 | the run failed (a task failed, or the run's deadline passed) |
 * | 2 | invalid input or usage: unknown flag or command, bad flag value, `--input` that is not JSON/YAML or does not match the workflow's input Schema |
 * | 3 | definition error: the file cannot be read or parsed, the definition is invalid (every error is listed), the module exports no workflow, a task type has no handler |
 * | 4 | not found: the run, schedule or template named does not exist |
 * | 70 | internal error (a bug: please report it) |
 * | 130 | cancelled with Ctrl-C (SIGINT) or SIGTERM |
 *
 * @since 0.1.0
 */

/** @category codes @since 0.1.0 */
export const Success = 0
/** @category codes @since 0.1.0 */
export const RunFailed = 1
/** @category codes @since 0.1.0 */
export const InvalidInput = 2
/** @category codes @since 0.1.0 */
export const DefinitionError = 3
/** @category codes @since 0.1.0 */
export const NotFound = 4
/** @category codes @since 0.1.0 */
export const Internal = 70
/** @category codes @since 0.1.0 */
export const Cancelled = 130
