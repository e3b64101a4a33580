/**
 * docs/resilience.md, "Failure handling": sub-workflows in the saga. Run:
 * `npx node --conditions=source docs/examples/saga-subworkflows.ts`
 */
import { Effect } from "effect"
import { Engine, type RunEvent, Task, Workflow } from "@troupe/core"

/** A trip: a static sub-workflow (`flight`), a child started at run time (`insurance`), then a failure. */
const makeTrip = (undone: Array<string>) => {
  const book = (what: string) => Effect.succeed(`${what} booked`)
  const release = (what: string) => () => Effect.sync(() => undone.push(what))

  const reserve = Workflow.make("reserve")
    .task("seat", () => book("seat")).compensate(release("seat"))
    .task("meal", { dependsOn: ["seat"] }, () => book("meal")).compensate(release("meal"))

  const policy = Workflow.make("policy").task("quote", () => book("quote")).compensate(release("quote"))
  const insure = Task.make(
    { description: "buy an insurance policy (a child workflow built at run time)" },
    (_: unknown, info: Task.TaskInfo) => info.runWorkflow(policy, undefined, { name: "policy" })
  )

  return Workflow.make("trip")
    // The task's own compensation runs after its child's tasks were undone.
    .task("flight", reserve).compensate(release("flight (the task's own)"))
    .task("insurance", { dependsOn: ["flight"] }, insure)
    .task("hotel", { dependsOn: ["insurance"] }, () => Effect.fail("no rooms"))
}

/** The path of a compensated task, from a (possibly nested) `SubWorkflowEvent`. */
const compensatedPath = (event: RunEvent.RunEvent, prefix = ""): string | undefined =>
  event._tag === "SubWorkflowEvent"
    ? compensatedPath(event.event, `${prefix}${event.taskId}/`)
    : event._tag === "TaskCompensated"
    ? prefix + event.taskId
    : undefined

/** What was undone, in order; the events' paths; and the results the run's `WorkflowFailed` lists. */
export const program = Effect.gen(function*() {
  const undone: Array<string> = []
  const events: Array<string> = []
  const failed = yield* Engine.run(makeTrip(undone), undefined, {
    onEvent: (event) => {
      const path = compensatedPath(event)
      if (path !== undefined) events.push(path)
    }
  }).pipe(Effect.flip)
  const results = failed._tag === "WorkflowFailed" ? failed.compensations.map((c) => `${c.taskId}: ${c.status}`) : []
  return { undone, events, results }
})

if (import.meta.main) Effect.runPromise(program).then(console.log)
