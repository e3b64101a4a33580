/**
 * @internal The Orchestrator's writes to its JobStore, in the order the operations happened: one writer
 * fiber takes them from an unbounded queue. A failed write is logged; the Orchestrator goes on in memory.
 * Without a store every write is a no-op.
 */
import { Deferred, Effect, Option, Queue, Scope } from "effect"
import * as JobStore from "../JobStore.ts"

export interface StoreWriter {
  /** Is a store provided? */
  readonly enabled: boolean
  /** What the store held when the Orchestrator was built (empty without a store, or if loading failed). */
  readonly snapshot: JobStore.Snapshot
  /** Queues a write (fire and forget, in order). */
  readonly write: (f: (store: JobStore.JobStoreApi) => Effect.Effect<void, JobStore.JobStoreError>) => void
  /** Queues a write and waits until it was done (or failed and was logged). */
  readonly writeAndWait: (
    f: (store: JobStore.JobStoreApi) => Effect.Effect<void, JobStore.JobStoreError>
  ) => Effect.Effect<void>
}

interface Op {
  readonly run: Effect.Effect<void, JobStore.JobStoreError>
  readonly done: Deferred.Deferred<void> | undefined
}

const emptySnapshot: JobStore.Snapshot = { jobs: [], runs: [] }

export const makeStoreWriter: Effect.Effect<StoreWriter, never, Scope.Scope> = Effect.gen(function*() {
  const found = yield* Effect.serviceOption(JobStore.JobStore)
  if (Option.isNone(found)) {
    return {
      enabled: false,
      snapshot: emptySnapshot,
      write: () => {},
      writeAndWait: () => Effect.void
    }
  }
  const store = found.value
  const snapshot = yield* store.load.pipe(
    Effect.catch((error) =>
      Effect.logError(`Orchestrator: could not load the JobStore; starting empty: ${error.message}`).pipe(
        Effect.as(emptySnapshot)
      )
    )
  )
  const scope = yield* Effect.scope
  const queue = yield* Queue.unbounded<Op>()
  let pending = 0
  const idle: Array<() => void> = []
  const writer = Queue.take(queue).pipe(
    Effect.flatMap((op) =>
      op.run.pipe(
        Effect.catchCause((cause) => Effect.logWarning("Orchestrator: a JobStore write failed", cause)),
        Effect.andThen(Effect.sync(() => {
          if (op.done !== undefined) Deferred.doneUnsafe(op.done, Effect.void)
          if (--pending === 0) for (const wake of idle.splice(0)) wake()
        }))
      )
    ),
    Effect.forever
  )
  yield* Effect.forkIn(writer, scope)
  // Registered after the writer was forked, so it runs first when the scope closes: pending writes land.
  yield* Scope.addFinalizer(
    scope,
    Effect.callback<void>((resume) => {
      if (pending === 0) return resume(Effect.void)
      idle.push(() => resume(Effect.void))
    })
  )
  const enqueue = (op: Op) => {
    pending++
    Queue.offerUnsafe(queue, op)
  }
  return {
    enabled: true,
    snapshot,
    write: (f) => enqueue({ run: Effect.suspend(() => f(store)), done: undefined }),
    writeAndWait: (f) =>
      Effect.suspend(() => {
        const done = Deferred.makeUnsafe<void>()
        enqueue({ run: Effect.suspend(() => f(store)), done })
        return Deferred.await(done)
      })
  }
})
