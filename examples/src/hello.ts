/**
 * Hello, Troupe: three tasks and typed data flowing between them.
 *
 * - `greet` reads the workflow input (typed by its Schema) and returns a string;
 * - `shout` depends on `greet` and receives its output, typed as `string`;
 * - `measure` depends on both and receives both outputs.
 *
 * The run's result carries the typed outputs record: `result.outputs.measure.words` is a `number`.
 *
 * Run it: `npx node --conditions=source examples/src/hello.ts [name]`
 *
 * @since 0.1.0
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Engine, Workflow } from "@troupe/core"
import { Console, Effect, Schema } from "effect"

/**
 * The workflow: its input is `{ name: string }`.
 *
 * @category workflows
 * @since 0.1.0
 */
export const hello = Workflow.make("hello", { input: Schema.Struct({ name: Schema.String }) })
  .task("greet", { description: "say hello" }, ({ input }) => Effect.succeed(`Hello, ${input.name}`))
  .task("shout", { dependsOn: ["greet"], description: "make it loud" }, ({ greet }) =>
    Effect.succeed(`${greet.toUpperCase()}!`))
  .task("measure", { dependsOn: ["greet", "shout"], description: "count what was said" }, ({ greet, shout }) =>
    Effect.succeed({
      words: greet.split(/\s+/).length,
      characters: greet.length + shout.length
    }))

/**
 * Runs the workflow for `name` and prints its outputs; returns them.
 *
 * @category running
 * @since 0.1.0
 */
export const main = (name = "Troupe") =>
  Effect.gen(function*() {
    const result = yield* Engine.run(hello, { name })
    const { greet, shout, measure } = result.outputs
    yield* Console.log(greet)
    yield* Console.log(shout)
    yield* Console.log(`${measure.words} words, ${measure.characters} characters in ${result.durationMs} ms`)
    return result.outputs
  })

if (import.meta.main) NodeRuntime.runMain(main(process.argv[2]))
