/**
 * Conditions: `when`, skipped dependants, and `runIfSkipped`.
 *
 * A release pipeline that only publishes when the version changed:
 *
 * - `publish` has `when: ({ check }) => check.changed`; when that is false the task is skipped (with a
 *   reason) instead of run;
 * - `announce` depends on `publish`, so by default it is skipped too;
 * - `summary` depends on `publish` but sets `runIfSkipped: true`: it runs anyway, and the type of its
 *   `publish` argument is `string | undefined`.
 *
 * Tasks that may be skipped are optional in the result's outputs: `outputs.publish` is `string | undefined`.
 *
 * Run it: `npx node --conditions=source examples/src/conditions.ts`
 *
 * @since 0.1.0
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Engine, Workflow } from "@troupe/core"
import { Console, Effect, Schema } from "effect"

/**
 * The workflow: its input is the version in the manifest and the last published version.
 *
 * @category workflows
 * @since 0.1.0
 */
export const release = Workflow.make("release", {
  input: Schema.Struct({ version: Schema.String, published: Schema.String })
})
  .task("check", { description: "compare versions" }, ({ input }) =>
    Effect.succeed({ version: input.version, changed: input.version !== input.published }))
  .task(
    "publish",
    { dependsOn: ["check"], when: ({ check }) => check.changed, description: "publish the package" },
    ({ check }) => Effect.succeed(`published v${check.version}`)
  )
  .task("announce", { dependsOn: ["publish"], description: "post to the changelog" }, ({ publish }) =>
    Effect.succeed(`announced: ${publish}`))
  .task("summary", { dependsOn: ["check", "publish"], runIfSkipped: true }, ({ check, publish }) =>
    // `publish` is `string | undefined` here: it may have been skipped.
    Effect.succeed(publish === undefined ? `v${check.version} is already published` : publish))

/**
 * What one run produced: the status of every task (and the reason of skipped ones) and the summary.
 *
 * @category models
 * @since 0.1.0
 */
export interface Outcome {
  readonly statuses: Readonly<Record<string, string>>
  readonly reasons: Readonly<Record<string, string>>
  readonly summary: string
}

const runOnce = (version: string, published: string) =>
  Effect.gen(function*() {
    const result = yield* Engine.run(release, { version, published })
    const statuses: Record<string, string> = {}
    const reasons: Record<string, string> = {}
    yield* Console.log(`version ${version}, published ${published}:`)
    for (const task of result.state.tasks) {
      statuses[task.id] = task.status
      if (task.reason !== undefined) reasons[task.id] = task.reason
      yield* Console.log(`  ${task.id.padEnd(9)} ${task.status}${task.reason === undefined ? "" : ` (${task.reason})`}`)
    }
    yield* Console.log(`  summary:  ${result.outputs.summary}`)
    return { statuses, reasons, summary: result.outputs.summary } satisfies Outcome
  })

/**
 * Runs the workflow twice: once with a new version (everything runs), once with the published one
 * (`publish` and `announce` are skipped, `summary` still runs).
 *
 * @category running
 * @since 0.1.0
 */
export const main = Effect.gen(function*() {
  const changed = yield* runOnce("1.1.0", "1.0.0")
  const unchanged = yield* runOnce("1.0.0", "1.0.0")
  return { changed, unchanged }
})

if (import.meta.main) NodeRuntime.runMain(main)
