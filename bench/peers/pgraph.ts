/**
 * Peer 3: the npm package p-graph (a node map, a list of dependency pairs, `run({ concurrency })`).
 */
import { PGraph, type DependencyList, type PGraphNodeMap } from "p-graph"
import { taskId } from "../dags.ts"
import type { Runner } from "../runner.ts"

export const pGraph: Runner = {
  name: "p-graph",
  takes: ["promise"],
  run: async (dag, work, concurrency) => {
    const nodes: PGraphNodeMap = new Map()
    const edges: DependencyList = []
    for (let i = 0; i < dag.size; i++) {
      const id = taskId(i)
      nodes.set(id, { run: () => work.promise(i) })
      for (const d of dag.deps[i]!) edges.push([taskId(d), id])
    }
    const graph = new PGraph(nodes, edges)
    await graph.run(Number.isFinite(concurrency) ? { concurrency } : {})
    return graph
  }
}
