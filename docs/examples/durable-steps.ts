/**
 * docs/durable.md, "Child workflows started at run time": a supervisor-like task plans (a journaled
 * `Durable.step`), then runs the plan as a child workflow. The process "crashes" while the child is half
 * done; the resume neither plans again nor re-runs the child's finished task.
 *
 * `npx node --conditions=source docs/examples/durable-steps.ts` prints what happens; the tests call `demo`.
 */
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Deferred, Effect, Fiber, Schema } from "effect"
import { Task, Workflow } from "@troupe/core"
import { Durable } from "@troupe/durable"

/** A side-effect log: which bodies really ran (a model call, each child task). */
export const ran: Array<string> = []

/** Stands for a model call whose answer may differ each time: journaled, it is asked once per run. */
const askForPlan = (goal: string) =>
  Effect.sync(() => {
    ran.push("plan")
    return [`research ${goal}`, `draft ${goal}`, `review ${goal}`]
  })

const boss = (hang: Deferred.Deferred<void> | undefined) =>
  Task.make({}, ({ input }: { readonly input: { readonly goal: string } }, info: Task.TaskInfo) =>
    Effect.gen(function*() {
      const steps = yield* Durable.step("plan", askForPlan(input.goal), { output: Schema.Array(Schema.String) })
      let team: Workflow.Dynamic<"team", void, never, never> = Workflow.dynamic("team")
      steps.forEach((step, i) => {
        const id = `step-${i + 1}`
        team = team.task(id, i === 0 ? {} : { dependsOn: [`step-${i}`] }, () =>
          // The second step hangs in the first "process", to stop it while the child is half done.
          i === 1 && hang !== undefined
            ? Effect.andThen(Deferred.succeed(hang, undefined), Effect.never)
            : Effect.sync(() => {
              ran.push(id)
              return `${step}: done`
            }))
      })
      const outputs = yield* info.runWorkflow(team, undefined, { name: "team" })
      return Object.values(outputs).join("; ")
    }))

export const project = (hang: Deferred.Deferred<void> | undefined) =>
  Workflow.make("project", { input: Schema.Struct({ goal: Schema.String }) }).task("boss", boss(hang))

export const demo = (filename = join(mkdtempSync(join(tmpdir(), "troupe-docs-steps-")), "project.db")) =>
  Effect.gen(function*() {
    const input = { goal: "launch" }
    // 1. The first "process" stops while the child's second step is in flight.
    const hang = yield* Deferred.make<void>()
    yield* Effect.scoped(Effect.gen(function*() {
      const fiber = yield* Effect.forkChild(Durable.run(project(hang), input, { runId: "launch" }))
      yield* Deferred.await(hang)
      yield* Fiber.interrupt(fiber)
    }).pipe(Effect.provide(Durable.layer({ filename, shutdownTimeout: 100 }))))

    // 2. A new "process" resumes the run: the plan comes back from the journal, and so does step-1.
    const result = yield* Durable.run(project(undefined), input, { runId: "launch" }).pipe(
      Effect.provide(Durable.layer({ filename }))
    )
    return { report: result.outputs.boss, skipped: result.skipped, ran: [...ran] }
  })

if (import.meta.main) {
  Effect.runPromise(demo()).then((r) => console.log(JSON.stringify(r, null, 2)))
}
