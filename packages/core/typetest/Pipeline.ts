/**
 * Type tests for pipelines: each step receives the previous step's output; errors and services accumulate;
 * the compiled workflow is an ordinary workflow.
 */
import { Context, Effect, Schema } from "effect"
import { expectTypeOf } from "vitest"
import { Engine, Pipeline, Plan, Workflow } from "@troupe/core"
import type { WorkflowError } from "@troupe/core"

class ParseError extends Schema.TaggedError<ParseError>()("ParseError", { line: Schema.Number }) {}
class Store extends Context.Service<Store, { readonly save: (rows: ReadonlyArray<string>) => Effect.Effect<number> }>()(
  "Store"
) {}

const extract = (url: string) => Effect.succeed([`${url}/a`, `${url}/b`])

const etl = Pipeline.make("etl", { input: Schema.String })
  .step((url) => {
    expectTypeOf(url).toEqualTypeOf<string>()
    return extract(url)
  })
  .step("parse", (rows) => {
    expectTypeOf(rows).toEqualTypeOf<Array<string>>()
    return rows.length > 0 ? Effect.succeed(rows.map((row) => row.length)) : Effect.fail(new ParseError({ line: 0 }))
  })
  .step("sum", { priority: 8 }, async (lengths) => {
    expectTypeOf(lengths).toEqualTypeOf<Array<number>>()
    return lengths.reduce((a, b) => a + b, 0)
  })
  .step("save", (total) => Store.use((store) => store.save([String(total)])))
  .step("report", (saved) => `saved ${saved}`)

// The last step's output, the accumulated errors and services.
expectTypeOf<Pipeline.Output<typeof etl>>().toEqualTypeOf<string>()
expectTypeOf<Pipeline.Input<typeof etl>>().toEqualTypeOf<string>()
expectTypeOf<Pipeline.Error<typeof etl>>().toEqualTypeOf<ParseError | WorkflowError.TaskException>()
expectTypeOf<Pipeline.Services<typeof etl>>().toEqualTypeOf<Store>()

const running = Pipeline.run(etl, "https://example.com")
expectTypeOf<Effect.Success<typeof running>>().toEqualTypeOf<string>()
expectTypeOf<Effect.Services<typeof running>>().toEqualTypeOf<Store>()
expectTypeOf<Effect.Error<typeof running>>().toEqualTypeOf<
  | WorkflowError.WorkflowFailed<ParseError | WorkflowError.TaskException>
  | WorkflowError.WorkflowTimeout
  | WorkflowError.DefinitionError
>()

// The workflow is an ordinary workflow: steps with explicit ids are typed in its outputs.
expectTypeOf<Workflow.Outputs<typeof etl.workflow>>().toEqualTypeOf<{
  readonly parse: Array<number>
  readonly sum: number
  readonly save: number
  readonly report: string
}>()
const viaEngine = Engine.run(etl.workflow, "https://example.com")
expectTypeOf<Effect.Services<typeof viaEngine>>().toEqualTypeOf<Store>()
expectTypeOf(Plan.fromWorkflow(etl.workflow)).toEqualTypeOf<Plan.Plan>()

// A pipeline without input: run takes no input.
const noInput = Pipeline.pipeline("gen").step(() => 1).step((n) => n + 1)
expectTypeOf(Pipeline.run(noInput)).toEqualTypeOf<
  Effect.Effect<number, WorkflowError.WorkflowFailed<never> | WorkflowError.WorkflowTimeout | WorkflowError.DefinitionError>
>()

// Input as a type argument.
const typed = Pipeline.make<"typed", { readonly n: number }>("typed").step(({ n }) => n * 2)
expectTypeOf<Pipeline.Output<typeof typed>>().toEqualTypeOf<number>()

// Rejections.
// @ts-expect-error a step receives the previous output (a number), not a string
Pipeline.make<"bad", number>("bad").step((s: string) => s)
// @ts-expect-error duplicate step id
etl.step("parse", () => 1)
// @ts-expect-error "input" is reserved
etl.step("input", () => 1)
// @ts-expect-error a pipeline needs at least one step
Pipeline.run(Pipeline.make("empty"))
// @ts-expect-error the input must be a string
Pipeline.run(etl, 42)
// @ts-expect-error Store is not provided
Effect.runPromise(Pipeline.run(etl, "x"))
