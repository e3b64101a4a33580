/**
 * docs/workflows.md, control flow: pipelines and loops.
 * Run: `npx node --conditions=source docs/examples/control-flow.ts`
 */
import { Effect, Schema } from "effect"
import { Engine, Loop, Pipeline, workflow } from "@troupe/core"

// A pipeline: each step's output is the next step's input (compiled to an ordinary workflow and Plan).
export const etl = Pipeline.make("etl", { input: Schema.String })
  .step("extract", (csv: string) => csv.split("\n"))
  .step("transform", (rows: ReadonlyArray<string>) => Effect.succeed(rows.map((row) => row.toUpperCase())))
  .step("load", (rows: ReadonlyArray<string>) => Effect.succeed(rows.length))

// Loops are task values: for-each with a concurrency limit, and while/until with a required maximum.
export const crawl = workflow("crawl")
  .task("pages", () => Effect.succeed(["/a", "/b", "/c", "/d"]))
  .task("fetch", { dependsOn: ["pages"] }, Loop.forEach({
    items: ({ pages }: { readonly pages: ReadonlyArray<string> }) => pages,
    concurrency: 2,
    body: (page: string) => Effect.succeed(page.length)
  }))
  .task("poll", Loop.until({
    initial: () => 0,
    until: (attempts: number) => attempts >= 3,
    body: (attempts: number) => Effect.succeed(attempts + 1),
    maxIterations: 10
  }))

export const program = Effect.gen(function*() {
  const loaded = yield* Pipeline.run(etl, "a,1\nb,2")
  const { outputs } = yield* Engine.run(crawl)
  return { loaded, fetched: outputs.fetch, polls: outputs.poll }
})

if (import.meta.main) console.log(await Effect.runPromise(program))
