/**
 * DAG generators for the benchmark. Every DAG is plain data shared by all runners: task `i` has the id
 * `t<i>`, its dependencies are indices smaller than `i` (so index order is a topological order), and a
 * seeded PRNG makes every run build the same graphs.
 */

export interface Dag {
  readonly name: string
  readonly size: number
  /** `deps[i]`: the tasks task `i` waits for (all `< i`, no duplicates). */
  readonly deps: ReadonlyArray<ReadonlyArray<number>>
  /** Task duration in milliseconds (0 for no-op DAGs). */
  readonly durations: ReadonlyArray<number>
}

/** mulberry32: a small, fast, seeded 32-bit PRNG returning floats in [0, 1). */
export const prng = (seed: number): () => number => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const zeros = (n: number): ReadonlyArray<number> => new Array<number>(n).fill(0)

export const taskId = (i: number): string => `t${i}`

/** `n` independent tasks. */
export const wide = (n: number): Dag => ({
  name: "wide",
  size: n,
  deps: Array.from({ length: n }, () => []),
  durations: zeros(n)
})

/** `t0 → t1 → … → t(n-1)`. */
export const chain = (n: number): Dag => ({
  name: "chain",
  size: n,
  deps: Array.from({ length: n }, (_, i) => (i === 0 ? [] : [i - 1])),
  durations: zeros(n)
})

/**
 * Layers of `width` tasks; every task after the first layer depends on 1 to 3 distinct random tasks of
 * the layer before it.
 */
export const layered = (n: number, width = 100, seed = 1): Dag => {
  const rand = prng(seed)
  const deps: Array<Array<number>> = new Array(n)
  for (let i = 0; i < n; i++) {
    const layer = Math.floor(i / width)
    if (layer === 0) {
      deps[i] = []
      continue
    }
    const start = (layer - 1) * width
    const k = 1 + Math.floor(rand() * 3)
    const picked = new Set<number>()
    while (picked.size < k) picked.add(start + Math.floor(rand() * width))
    deps[i] = [...picked].sort((a, b) => a - b)
  }
  return { name: "layered", size: n, deps, durations: zeros(n) }
}

/**
 * A random DAG with real durations: each task depends on up to `maxDeps` random earlier tasks among the
 * `window` tasks before it (so the graph is neither a chain nor flat), and sleeps 2 to 40 ms.
 */
export const random = (n: number, seed: number, window = 24, maxDeps = 3): Dag => {
  const rand = prng(seed)
  const deps: Array<Array<number>> = new Array(n)
  const durations: Array<number> = new Array(n)
  for (let i = 0; i < n; i++) {
    durations[i] = 2 + Math.floor(rand() * 39)
    const picked = new Set<number>()
    const k = i === 0 ? 0 : Math.floor(rand() * (maxDeps + 1))
    const lo = Math.max(0, i - window)
    for (let j = 0; j < k; j++) picked.add(lo + Math.floor(rand() * (i - lo)))
    deps[i] = [...picked].sort((a, b) => a - b)
  }
  return { name: `random(seed ${seed})`, size: n, deps, durations }
}

/** Longest path through the DAG, weighting each task by `weight(i)`. */
export const criticalPath = (dag: Dag, weight: (i: number) => number): number => {
  const finish = new Float64Array(dag.size)
  let best = 0
  for (let i = 0; i < dag.size; i++) {
    let start = 0
    for (const d of dag.deps[i]!) if (finish[d]! > start) start = finish[d]!
    finish[i] = start + weight(i)
    if (finish[i]! > best) best = finish[i]!
  }
  return best
}

/** Dependency levels: 0 for sources, else 1 + the highest level among the dependencies. */
export const levels = (dag: Dag): Array<Array<number>> => {
  const level = new Int32Array(dag.size)
  const out: Array<Array<number>> = []
  for (let i = 0; i < dag.size; i++) {
    let l = 0
    for (const d of dag.deps[i]!) if (level[d]! + 1 > l) l = level[d]! + 1
    level[i] = l
    ;(out[l] ??= []).push(i)
  }
  return out
}
