/**
 * @troupe/cli: the `troupe` command (run, validate, graph), its live progress view, and the loading of
 * workflow modules and YAML/JSON definition files.
 *
 * @since 0.1.0
 */

/**
 * The command itself: `main(argv)` and its subcommands.
 *
 * @since 0.1.0
 */
export * as Cli from "./Cli.ts"

/**
 * Handlers of data definitions: built-in task types and declared loops.
 *
 * @since 0.1.0
 */
export * as Definition from "./Definition.ts"

/**
 * The exit codes.
 *
 * @since 0.1.0
 */
export * as ExitCode from "./ExitCode.ts"

/**
 * Loading workflow modules and definition files, with located problems.
 *
 * @since 0.1.0
 */
export * as Load from "./Load.ts"

/**
 * The live progress view.
 *
 * @since 0.1.0
 */
export * as Progress from "./Progress.ts"

/**
 * Durable runs: `run --durable` and `troupe runs ...`.
 *
 * @since 0.1.0
 */
export * as Runs from "./Runs.ts"

/**
 * `troupe schedules ...` over the stored schedule state.
 *
 * @since 0.1.0
 */
export * as ScheduleCommands from "./ScheduleCommands.ts"

/**
 * Reading and parsing files with source positions.
 *
 * @since 0.1.0
 */
export * as Source from "./Source.ts"
