/**
 * @internal A binary heap: `before(a, b)` is true when `a` must come out first. Shared by the engine's
 * ready queue, Kahn's topological sort and the orchestrator's job queue.
 */
export interface Heap<A> {
  readonly size: number
  readonly push: (value: A) => void
  /** The first value; the heap must not be empty. */
  readonly pop: () => A
  /** Removes and returns every value (in no particular order). */
  readonly drain: () => Array<A>
}

export const make = <A>(before: (a: A, b: A) => boolean): Heap<A> => {
  const heap: Array<A> = []
  return {
    get size() {
      return heap.length
    },
    push(value) {
      heap.push(value)
      let i = heap.length - 1
      while (i > 0) {
        const p = (i - 1) >> 1
        if (!before(value, heap[p]!)) break
        heap[i] = heap[p]!
        i = p
      }
      heap[i] = value
    },
    pop() {
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
    },
    drain() {
      return heap.splice(0, heap.length)
    }
  }
}
