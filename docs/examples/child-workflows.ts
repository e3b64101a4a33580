/**
 * docs/workflows.md, "Child workflows started at run time". Run:
 * `npx node --conditions=source docs/examples/child-workflows.ts`
 */
import { Effect } from "effect"
import { Engine, Task, Workflow } from "@troupe/core"

// The files to check are known only when `list` has run: `checkAll` builds a workflow of one task per file
// and runs it as its child. The child's tasks run under the parent's maxParallel (2): `checkAll` gives its
// slot up while they run, and takes one back before it continues.
const inFlight = { now: 0, max: 0 }
const check = (file: string) =>
  Effect.gen(function*() {
    inFlight.now++
    inFlight.max = Math.max(inFlight.max, inFlight.now)
    yield* Effect.sleep("10 millis")
    inFlight.now--
    return `${file}: ok`
  })

const checkAll = Task.make(
  { description: "check every listed file" },
  ({ list }: { readonly list: ReadonlyArray<string> }, info: Task.TaskInfo) => {
    let checks: Workflow.Dynamic<"checks", void, never, never> = Workflow.dynamic("checks")
    for (const file of list) checks = checks.task(file, () => check(file))
    // Typed: the child's outputs, WorkflowFailed of its errors (or a DefinitionError), its services.
    return info.runWorkflow(checks, undefined, { name: "checks" }).pipe(
      Effect.map((outputs) => Object.values(outputs).join(", "))
    )
  }
)

export const review = Workflow.make("review", { maxParallel: 2 })
  .task("list", () => Effect.succeed(["a.ts", "b.ts", "c.ts", "d.ts"]))
  .task("checkAll", { dependsOn: ["list"] }, checkAll)

/** The report, the most checks at once, and the paths a TaskHook would journal the checks under. */
export const program = Effect.gen(function*() {
  const paths: Array<string> = []
  const result = yield* Engine.run(review, undefined, {
    onEvent: (event) => {
      if (event._tag === "SubWorkflowEvent" && event.event._tag === "TaskStarted") {
        paths.push(`${event.taskId}/checks/${event.event.taskId}`)
      }
    }
  })
  return { report: result.outputs.checkAll, maxInFlight: inFlight.max, paths }
})

if (import.meta.main) Effect.runPromise(program).then(console.log)
