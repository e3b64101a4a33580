/**
 * What every runner in the benchmark implements: run a DAG (see `dags.ts`) to completion with at most
 * `concurrency` tasks in flight (`Infinity`: unlimited), calling `work` for each task.
 */
import type { Effect } from "effect"
import type { Dag } from "./dags.ts"

/** The body of task `i`, in the two shapes the runners take. */
export interface Work {
  /**
   * The task's own form: `promise` (a function returning a Promise, what most users' handlers are) or
   * `effect`. Runners that can take the task in its own form do (Troupe's handler returns the Promise; the
   * Effect-fiber peer wraps it in `Effect.promise`); Promise-only runners cannot take an Effect task.
   */
  readonly kind: "promise" | "effect"
  /** For Promise-based runners: returns `undefined` (no-op) or a Promise. */
  readonly promise: (i: number) => Promise<void> | undefined
  /** For Effect-based runners. */
  readonly effect: (i: number) => Effect.Effect<void>
}

export interface Runner {
  readonly name: string
  /** The task forms the runner can execute. */
  readonly takes: ReadonlyArray<Work["kind"]>
  /**
   * Builds the runner's own representation of `dag`, runs it, and resolves with whatever the run
   * produced (kept alive while memory is measured).
   */
  readonly run: (dag: Dag, work: Work, concurrency: number) => Promise<unknown>
}
