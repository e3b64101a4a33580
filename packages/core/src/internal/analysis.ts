/** @internal Plan analysis. Implemented in the foundation issue. */
import type { Plan, Strategy } from "../Plan.ts"

export interface Analysis {
  readonly taskCount: number
  readonly edgeCount: number
  readonly topologicalOrder: ReadonlyArray<string>
  readonly levels: ReadonlyArray<ReadonlyArray<string>>
  readonly criticalPath: { readonly path: ReadonlyArray<string>; readonly length: number }
  readonly maxParallelWidth: number
  readonly totalWork: number
  readonly recommended: { readonly strategy: Exclude<Strategy, "auto">; readonly reason: string }
}

export declare const topologicalOrder: (plan: Plan) => ReadonlyArray<string>
export declare const levels: (plan: Plan) => ReadonlyArray<ReadonlyArray<string>>
export declare const criticalPath: (
  plan: Plan,
  durations?: Readonly<Record<string, number>>
) => { readonly path: ReadonlyArray<string>; readonly length: number }
export declare const maxParallelWidth: (plan: Plan) => number
export declare const recommendStrategy: (
  plan: Plan
) => { readonly strategy: Exclude<Strategy, "auto">; readonly reason: string }
export declare const analyze: (plan: Plan, durations?: Readonly<Record<string, number>>) => Analysis
