import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import { Dags } from "@troupe/testing"

//  t0 (10) ─┬─ t1 (5) ── t2 (7) ─┐
//           └─ t3 (3) ───────────┴─ t4 (20)      t5 (1, alone)
const dag = Dags.make([[10, []], [5, [0]], [7, [1]], [3, [0]], [20, [3, 2], 9], [1, []]])

describe("Dags reference algorithms", () => {
  it("total work, earliest finish and critical path", () => {
    expect(Dags.totalWork(dag)).toBe(46)
    expect(Dags.earliestFinish(dag)).toStrictEqual([10, 15, 22, 13, 42, 1])
    expect(Dags.criticalPath(dag)).toBe(42)
  })

  it("descendants and ancestors are strict and transitive", () => {
    expect([...Dags.descendants(dag, ["t1"])].sort()).toStrictEqual(["t2", "t4"])
    expect([...Dags.descendants(dag, ["t0", "t5"])].sort()).toStrictEqual(["t1", "t2", "t3", "t4"])
    expect([...Dags.ancestors(dag, "t4")].sort()).toStrictEqual(["t0", "t1", "t2", "t3"])
  })

  it("remaining path in tasks and in time", () => {
    expect(Dags.remainingPath(dag, "count")).toStrictEqual([4, 3, 2, 2, 1, 1])
    expect(Dags.remainingPath(dag, "duration")).toStrictEqual([42, 32, 27, 23, 20, 1])
  })

  it("sequential order: priority, then remaining path, then declaration order", () => {
    // t0 and t5 ready: same priority, t0 has the longer path. Then t1 (3) before t3 (2); t2; t3; t4.
    expect(Dags.sequentialOrder(dag, "count")).toStrictEqual(["t0", "t1", "t2", "t3", "t4", "t5"])
    // In time, t1 (32) still before t3 (23).
    expect(Dags.sequentialOrder(dag, "duration")).toStrictEqual(["t0", "t1", "t2", "t3", "t4", "t5"])
    const ties = Dags.make([[1, []], [1, []], [1, [], 7]])
    expect(Dags.sequentialOrder(ties, "count")).toStrictEqual(["t2", "t0", "t1"])
  })

  it("make rejects dependencies on later nodes", () => {
    expect(() => Dags.make([[1, [1]], [1, []]])).toThrow(RangeError)
  })
})

describe("Dags.arbitrary", () => {
  it("generates DAGs within bounds, edges only to earlier nodes", () => {
    fc.assert(
      fc.property(Dags.arbitrary({ maxNodes: 200 }), (dag) => {
        expect(dag.nodes.length).toBeGreaterThanOrEqual(1)
        expect(dag.nodes.length).toBeLessThanOrEqual(200)
        for (const node of dag.nodes) {
          expect(node.id).toBe(`t${node.index}`)
          expect(new Set(node.deps).size).toBe(node.deps.length)
          expect([...node.deps].sort((a, b) => a - b)).toStrictEqual(node.deps)
          for (const d of node.deps) expect(d).toBeLessThan(node.index)
          expect(node.priority).toBeGreaterThanOrEqual(1)
          expect(node.priority).toBeLessThanOrEqual(10)
          expect(Number.isInteger(node.durationMs)).toBe(true)
          expect(node.durationMs).toBeGreaterThanOrEqual(1)
          expect(node.durationMs).toBeLessThanOrEqual(50)
        }
      }),
      { numRuns: 200 }
    )
  })

  it("covers small and large graphs, wide and deep ones", () => {
    const sample = fc.sample(Dags.arbitrary(), { numRuns: 300, seed: 42 })
    const sizes = sample.map((d) => d.nodes.length)
    expect(Math.min(...sizes)).toBeLessThanOrEqual(5)
    expect(Math.max(...sizes)).toBeGreaterThanOrEqual(150)
    const depthRatio = sample.filter((d) => d.nodes.length >= 50).map((d) => Dags.criticalPath(d) / Dags.totalWork(d))
    expect(Math.max(...depthRatio)).toBeGreaterThan(0.3)
  })

  it("failure sets are subsets of the DAG's tasks", () => {
    fc.assert(
      fc.property(Dags.withFailures({ minFailures: 1 }), ({ dag, failing }) => {
        expect(failing.size).toBeGreaterThanOrEqual(1)
        for (const id of failing) expect(Dags.node(dag, id).id).toBe(id)
      }),
      { numRuns: 100 }
    )
  })
})
