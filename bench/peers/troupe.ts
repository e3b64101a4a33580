/**
 * Troupe itself: the DAG as a workflow built with `Workflow.make(...).task(id, { dependsOn }, handler)`,
 * run with `Engine.run(workflow, undefined, { maxParallel })`.
 */
import { Engine, Workflow } from "@troupe/core"
import { Effect } from "effect"
import { type Dag, taskId } from "../dags.ts"
import type { Runner, Work } from "../runner.ts"

/** The workflow type the benchmark runs: no input, outputs keyed by dynamic ids, no errors or services. */
export type BenchWorkflow = Workflow.Workflow<"bench", void, Record<string, void>>

/**
 * The builder seen with loosely typed ids. The real builder checks every id at compile time, which a
 * loop over generated ids cannot satisfy; this cast is the only one in the benchmark.
 */
interface LooseBuilder {
  readonly task: (
    id: string,
    options: { readonly dependsOn: ReadonlyArray<string>; readonly estimatedDuration?: number },
    handler: () => Effect.Effect<void> | Promise<void> | undefined
  ) => LooseBuilder
}

export const buildWorkflow = (dag: Dag, work: Work, estimates = false): BenchWorkflow => {
  let wf = Workflow.make("bench") as unknown as LooseBuilder
  for (let i = 0; i < dag.size; i++) {
    const dependsOn = dag.deps[i]!.map(taskId)
    // The task in its own form: a handler returning the Promise, or the Effect.
    const handler = work.kind === "promise" ? () => work.promise(i) : () => work.effect(i)
    wf = wf.task(taskId(i), estimates ? { dependsOn, estimatedDuration: dag.durations[i]! } : { dependsOn }, handler)
  }
  return wf as unknown as BenchWorkflow
}

export const troupe: Runner = {
  name: "Troupe",
  takes: ["promise", "effect"],
  run: async (dag, work, concurrency) => {
    const wf = buildWorkflow(dag, work)
    const maxParallel = Number.isFinite(concurrency) ? concurrency : "unbounded"
    const result = await Effect.runPromise(Engine.run(wf, undefined, { maxParallel }))
    return { wf, result }
  }
}

/**
 * Troupe given each task's expected duration (`estimatedDuration`), so ready tasks are ordered by the
 * longest remaining path in milliseconds rather than in tasks. Only the makespan section runs it: the peers
 * have no way to use that information.
 */
export const troupeEstimated: Runner = {
  name: "Troupe (estimates)",
  takes: ["promise", "effect"],
  run: async (dag, work, concurrency) => {
    const wf = buildWorkflow(dag, work, true)
    const maxParallel = Number.isFinite(concurrency) ? concurrency : "unbounded"
    const result = await Effect.runPromise(Engine.run(wf, undefined, { maxParallel }))
    return { wf, result }
  }
}
