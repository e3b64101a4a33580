/**
 * @internal The orchestrator's job queue: a binary heap ordered by priority (10 first), then by
 * submission order (FIFO within a priority). Removal of an arbitrary entry (a cancelled job) is lazy:
 * the entry is marked and skipped when it reaches the top.
 */
import * as Heap from "./heap.ts"

export interface QueueEntry {
  readonly priority: number
  readonly seq: number
  removed: boolean
}

export interface JobQueue<A extends QueueEntry> {
  readonly size: number
  readonly push: (entry: A) => void
  /** The next live entry, or undefined when none is queued. */
  readonly pop: () => A | undefined
  /** Marks an entry as removed; it is skipped when it reaches the top. */
  readonly remove: (entry: A) => void
}

const before = (a: QueueEntry, b: QueueEntry): boolean =>
  a.priority !== b.priority ? a.priority > b.priority : a.seq < b.seq

export const makeJobQueue = <A extends QueueEntry>(): JobQueue<A> => {
  const heap = Heap.make<A>(before)
  let live = 0
  return {
    get size() {
      return live
    },
    push(entry) {
      live++
      heap.push(entry)
    },
    pop() {
      while (heap.size > 0) {
        const entry = heap.pop()
        if (entry.removed) continue
        live--
        return entry
      }
      return undefined
    },
    remove(entry) {
      if (entry.removed) return
      entry.removed = true
      live--
    }
  }
}
