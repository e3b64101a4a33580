/**
 * Peer 1: a minimal hand-written Promise scheduler. In-degree counting, a FIFO ready queue, a
 * concurrency limit; a task is started the moment its last dependency finishes.
 */
import type { Runner } from "../runner.ts"

export const promiseScheduler: Runner = {
  name: "Promise",
  takes: ["promise"],
  run: (dag, work, concurrency) =>
    new Promise<unknown>((resolve, reject) => {
      const n = dag.size
      const waiting = new Int32Array(n)
      const succs: Array<Array<number>> = new Array(n)
      for (let i = 0; i < n; i++) succs[i] = []
      for (let i = 0; i < n; i++) {
        const deps = dag.deps[i]!
        waiting[i] = deps.length
        for (const d of deps) succs[d]!.push(i)
      }
      const ready: Array<number> = []
      let head = 0
      for (let i = 0; i < n; i++) if (waiting[i] === 0) ready.push(i)
      let running = 0
      let done = 0
      const finish = (i: number) => {
        running--
        done++
        for (const s of succs[i]!) if (--waiting[s] === 0) ready.push(s)
        pump()
      }
      const pump = () => {
        while (head < ready.length && running < concurrency) {
          const i = ready[head++]!
          running++
          Promise.resolve(work.promise(i)).then(() => finish(i), reject)
        }
        if (done === n) resolve(succs)
      }
      pump()
    })
}
