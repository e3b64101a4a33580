/**
 * The `troupe` executable: runs the command with the process's arguments and exits with its code.
 *
 * @since 0.1.0
 */
import { main } from "./Cli.ts"

const code = await main(process.argv.slice(2))
process.exitCode = code
