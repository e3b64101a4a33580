/**
 * Type tests for command tasks: the output, the errors and the service a command task adds to a workflow, and
 * a spec computed from the task's typed context.
 */
import * as Workflow from "@troupe/core/Workflow"
import type { Effect, Schema } from "effect"
import type { ChildProcessSpawner } from "effect/process"
import { expectTypeOf } from "vitest"
import * as Command from "../src/Command.ts"

const build = Command.task({ command: "npm", args: ["run", "build"], timeout: "5 minutes" })
expectTypeOf(build.run).returns.toEqualTypeOf<
  Effect.Effect<Command.Result, Command.CommandError, ChildProcessSpawner.ChildProcessSpawner>
>()

// A spec computed from the context: the input and the outputs of its dependencies are typed.
declare const input: Schema.Struct<{ readonly repo: typeof Schema.String }>
const wf = Workflow.make("ci", { input })
  .task("checkout", ({ input }) => `/src/${input.repo}`)
  .task(
    "test",
    { dependsOn: ["checkout"] },
    Command.task(({ checkout }: { readonly checkout: string }) => ({ command: "npm", args: ["test"], cwd: checkout }))
  )
  .task("report", { dependsOn: ["test"] }, ({ test }) => {
    expectTypeOf(test).toEqualTypeOf<Command.Result>()
    return test.exitCode
  })

expectTypeOf<Workflow.Error<typeof wf>>().toEqualTypeOf<Command.CommandError>()
expectTypeOf<Workflow.Services<typeof wf>>().toEqualTypeOf<ChildProcessSpawner.ChildProcessSpawner>()

// @ts-expect-error a spec needs a command
Command.task({ args: ["test"] })

// @ts-expect-error the context a spec function reads must be provided by the task's dependencies
Workflow.make("bad").task("test", Command.task(({ checkout }: { readonly checkout: string }) => ({ command: checkout })))
