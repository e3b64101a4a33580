import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fc from "fast-check"
import {
  analyze,
  criticalPath,
  levels,
  maxParallelWidth,
  recommendStrategy,
  topologicalOrder
} from "../src/internal/analysis.ts"
import { decode } from "../src/internal/definition.ts"
import type { Plan } from "../src/Plan.ts"

const plan = (tasks: ReadonlyArray<Record<string, unknown>>): Plan => Effect.runSync(decode({ name: "wf", tasks }))

//        ┌─ b (3) ─┐
//  a (1) ┤         ├─ d (1)
//        └─ c (5) ─┘      e (2, alone)
const diamond = plan([
  { id: "a", estimated_duration_seconds: 0.001 },
  { id: "b", depends_on: ["a"], estimated_duration_seconds: 0.003 },
  { id: "c", depends_on: ["a"], estimated_duration_seconds: 0.005 },
  { id: "d", depends_on: ["b", "c"], estimated_duration_seconds: 0.001 },
  { id: "e", estimated_duration_seconds: 0.002 }
])

describe("analysis of a known plan", () => {
  it("topological order keeps declaration order among ready tasks", () => {
    expect(topologicalOrder(diamond)).toStrictEqual(["a", "b", "c", "d", "e"])
    expect(topologicalOrder(plan([{ id: "x", depends_on: ["y"] }, { id: "y" }]))).toStrictEqual(["y", "x"])
  })

  it("levels", () => {
    expect(levels(diamond)).toStrictEqual([["a", "e"], ["b", "c"], ["d"]])
  })

  it("critical path uses estimates, else durations given, else 1", () => {
    expect(criticalPath(diamond)).toStrictEqual({ path: ["a", "c", "d"], length: 7 })
    expect(criticalPath(diamond, { b: 10 })).toStrictEqual({ path: ["a", "b", "d"], length: 12 })
    expect(criticalPath(diamond, { e: 100 })).toStrictEqual({ path: ["e"], length: 100 })
    expect(criticalPath(plan([{ id: "a" }, { id: "b", depends_on: ["a"] }]))).toStrictEqual({
      path: ["a", "b"],
      length: 2
    })
  })

  it("width is the widest level", () => {
    expect(maxParallelWidth(diamond)).toBe(2)
  })

  it("analyze gathers everything", () => {
    expect(analyze(diamond)).toStrictEqual({
      taskCount: 5,
      edgeCount: 4,
      topologicalOrder: ["a", "b", "c", "d", "e"],
      levels: [["a", "e"], ["b", "c"], ["d"]],
      criticalPath: { path: ["a", "c", "d"], length: 7 },
      maxParallelWidth: 2,
      totalWork: 12,
      recommended: {
        strategy: "dag",
        reason: "5 tasks in 3 levels, up to 2 can run at once: dag runs each task as soon as its dependencies finish"
      }
    })
    expect(analyze(diamond, { a: 10 }).totalWork).toBe(21)
  })
})

describe("recommendStrategy", () => {
  it("sequential for one task", () => {
    expect(recommendStrategy(plan([{ id: "a" }]))).toStrictEqual({
      strategy: "sequential",
      reason: "1 task: sequential runs it"
    })
  })

  it("sequential for a pure chain", () => {
    const chain = plan([{ id: "a" }, { id: "b", depends_on: ["a"] }, { id: "c", depends_on: ["b"] }])
    expect(recommendStrategy(chain)).toStrictEqual({
      strategy: "sequential",
      reason: "3 tasks in a single chain of 3 levels, only 1 can run at a time: sequential runs them one after another"
    })
  })

  it("parallel when there are no edges", () => {
    expect(recommendStrategy(plan([{ id: "a" }, { id: "b" }, { id: "c" }, { id: "d" }]))).toStrictEqual({
      strategy: "parallel",
      reason: "4 tasks with no dependencies, all 4 can run at once: parallel starts them all together"
    })
  })

  it("conditional when a task has a condition", () => {
    const p = plan([{ id: "a" }, { id: "b" }, { id: "c", condition: "a" }])
    expect(recommendStrategy(p)).toStrictEqual({
      strategy: "conditional",
      reason: "3 tasks in 2 levels, up to 2 can run at once, 1 of them with a condition: " +
        "conditional runs each task when its dependencies finish and its condition holds"
    })
  })

  it("dag otherwise", () => {
    expect(recommendStrategy(diamond).strategy).toBe("dag")
  })
})

// -----------------------------------------------------------------------------
// Properties over random DAGs
// -----------------------------------------------------------------------------

interface Dag {
  /** deps[i]: the tasks task i depends on (task ids are `t${i}`). */
  readonly deps: ReadonlyArray<ReadonlyArray<number>>
  readonly durations: ReadonlyArray<number>
}

/** A random DAG: each task depends only on tasks earlier in a random permutation. */
const dags = (maxTasks: number): fc.Arbitrary<Dag> =>
  fc.integer({ min: 1, max: maxTasks }).chain((n) =>
    fc.tuple(
      fc.shuffledSubarray([...Array(n).keys()], { minLength: n, maxLength: n }),
      fc.array(fc.array(fc.nat(n - 1), { maxLength: 4 }), { minLength: n, maxLength: n }),
      fc.array(fc.integer({ min: 0, max: 20 }), { minLength: n, maxLength: n })
    ).map(([perm, picks, durations]) => {
      const deps: Array<Array<number>> = Array.from({ length: n }, () => [])
      perm.forEach((task, k) => deps[task]!.push(...new Set(picks[k]!.filter((j) => j < k).map((j) => perm[j]!))))
      return { deps, durations }
    })
  )

const planOf = (dag: Dag): Plan =>
  plan(dag.deps.map((list, i) => ({ id: `t${i}`, depends_on: list.map((d) => `t${d}`) })))
const durationsOf = (dag: Dag) => Object.fromEntries(dag.durations.map((d, i) => [`t${i}`, d]))
const num = (id: string) => Number(id.slice(1))

/** Reference: the heaviest path by trying every path from every task (small graphs only). */
const bruteForceLongest = (dag: Dag): number => {
  const dependents = dag.deps.map((_, i) => dag.deps.flatMap((list, j) => (list.includes(i) ? [j] : [])))
  const walk = (v: number): number => dag.durations[v]! + Math.max(0, ...dependents[v]!.map(walk))
  return Math.max(...dag.deps.map((_, v) => walk(v)))
}

describe("analysis properties", () => {
  it("topological order lists every task once, after all its dependencies", () => {
    fc.assert(
      fc.property(dags(60), (dag) => {
        const order = topologicalOrder(planOf(dag))
        expect([...order].sort()).toStrictEqual(dag.deps.map((_, i) => `t${i}`).sort())
        const position = new Map(order.map((id, k) => [num(id), k]))
        dag.deps.forEach((list, i) => {
          for (const d of list) expect(position.get(d)!).toBeLessThan(position.get(i)!)
        })
      })
    )
  })

  it("levels: 0 without dependencies, otherwise one more than the highest dependency", () => {
    fc.assert(
      fc.property(dags(60), (dag) => {
        const p = planOf(dag)
        const ls = levels(p)
        const level = new Map(ls.flatMap((ids, k) => ids.map((id) => [num(id), k] as const)))
        expect(level.size).toBe(dag.deps.length)
        dag.deps.forEach((list, i) => {
          expect(level.get(i)).toBe(list.length === 0 ? 0 : 1 + Math.max(...list.map((d) => level.get(d)!)))
        })
        expect(ls.every((ids) => ids.length > 0)).toBe(true)
        const width = maxParallelWidth(p)
        expect(width).toBeGreaterThanOrEqual(1)
        expect(width).toBe(Math.max(...ls.map((ids) => ids.length)))
      })
    )
  })

  it("critical path: length equals the brute-force longest path, and the path is a real source-to-sink path", () => {
    fc.assert(
      fc.property(dags(9), (dag) => {
        const p = planOf(dag)
        const { length, path } = criticalPath(p, durationsOf(dag))
        expect(length).toBe(bruteForceLongest(dag))
        const ids = path.map(num)
        expect(dag.deps[ids[0]!]).toHaveLength(0)
        expect(dag.deps.some((list) => list.includes(ids.at(-1)!))).toBe(false)
        for (let k = 0; k + 1 < ids.length; k++) expect(dag.deps[ids[k + 1]!]).toContain(ids[k])
        expect(ids.reduce((sum, i) => sum + dag.durations[i]!, 0)).toBe(length)
      }),
      { numRuns: 300 }
    )
  })

  it("analyze: total work is the sum of durations and the strategy matches the shape", () => {
    fc.assert(
      fc.property(dags(30), (dag) => {
        const a = analyze(planOf(dag), durationsOf(dag))
        expect(a.totalWork).toBe(dag.durations.reduce((x, y) => x + y, 0))
        expect(a.criticalPath.length).toBeLessThanOrEqual(a.totalWork)
        const edges = dag.deps.reduce((sum, list) => sum + list.length, 0)
        expect(a.edgeCount).toBe(edges)
        const expected = dag.deps.length === 1 || a.maxParallelWidth === 1
          ? "sequential"
          : edges === 0
          ? "parallel"
          : "dag"
        expect(a.recommended.strategy).toBe(expected)
      })
    )
  })
})
