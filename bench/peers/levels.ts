/**
 * Peer 2: a level-by-level runner, as the seeds do it: compute dependency levels, then run each level
 * with `Promise.all` (through a pool of `concurrency` workers when limited) before starting the next.
 */
import { levels } from "../dags.ts"
import type { Runner } from "../runner.ts"

export const levelRunner: Runner = {
  name: "Levels",
  takes: ["promise"],
  run: async (dag, work, concurrency) => {
    const byLevel = levels(dag)
    for (const level of byLevel) {
      if (concurrency >= level.length) {
        await Promise.all(level.map((i) => work.promise(i)))
      } else {
        let next = 0
        const worker = async () => {
          while (next < level.length) await work.promise(level[next++]!)
        }
        await Promise.all(Array.from({ length: concurrency }, worker))
      }
    }
    return byLevel
  }
}
