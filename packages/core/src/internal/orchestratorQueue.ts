/**
 * @internal The orchestrator's job queue: a binary heap ordered by priority (10 first), then by
 * submission order (FIFO within a priority). Removal of an arbitrary entry (a cancelled job) is lazy:
 * the entry is marked and skipped when it reaches the top.
 */

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
  const heap: Array<A> = []
  let live = 0
  const popRaw = (): A | undefined => {
    if (heap.length === 0) return undefined
    const top = heap[0]!
    const last = heap.pop()!
    if (heap.length > 0) {
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        if (l >= heap.length) break
        const r = l + 1
        const c = r < heap.length && before(heap[r]!, heap[l]!) ? r : l
        if (!before(heap[c]!, last)) break
        heap[i] = heap[c]!
        i = c
      }
      heap[i] = last
    }
    return top
  }
  return {
    get size() {
      return live
    },
    push(entry) {
      live++
      heap.push(entry)
      let i = heap.length - 1
      while (i > 0) {
        const p = (i - 1) >> 1
        if (!before(entry, heap[p]!)) break
        heap[i] = heap[p]!
        i = p
      }
      heap[i] = entry
    },
    pop() {
      for (;;) {
        const entry = popRaw()
        if (entry === undefined) return undefined
        if (entry.removed) continue
        live--
        return entry
      }
    },
    remove(entry) {
      if (entry.removed) return
      entry.removed = true
      live--
    }
  }
}
