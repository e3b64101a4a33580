import { Effect, Result } from "effect"
import { expectTypeOf } from "vitest"
import { Loop, Task, Workflow } from "@troupe/core"

const t: Task.Task<ReadonlyArray<string>, never, never, { readonly list: ReadonlyArray<string>; readonly input: void }> = Loop.forEach({
    items: ({ list }) => list,
    concurrency: 2,
    body: (page, index) => Effect.succeed(`${index}:${page}`)
  })
declare const g: <A, Needs>(t: Task.Task<A, never, never, Needs>) => [A, Needs]
const w = Workflow.make("crawl")
  .task("list", () => Effect.succeed(["a", "b", "c"]))
const wf = w.task("each", { dependsOn: ["list"] }, Loop.forEach({
    items: (ctx) => ctx.list,
    concurrency: 2,
    body: (page, index) => Effect.succeed(`${index}:${page}`)
  }))
