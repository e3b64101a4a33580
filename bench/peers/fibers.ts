/**
 * Peer 4: a plain fiber-per-task Effect program. Every task is a fiber that awaits its dependencies'
 * Deferreds, takes a permit of a semaphore (when the concurrency is limited), runs, and completes its
 * own Deferred.
 */
import { Deferred, Effect, Semaphore } from "effect"
import type { Runner } from "../runner.ts"

export const effectFibers: Runner = {
  name: "Effect fibers",
  takes: ["promise", "effect"],
  run: (dag, work, concurrency) =>
    Effect.runPromise(Effect.gen(function*() {
      const n = dag.size
      const done: Array<Deferred.Deferred<void>> = new Array(n)
      for (let i = 0; i < n; i++) done[i] = Deferred.makeUnsafe<void>()
      const limit = Number.isFinite(concurrency)
        ? Semaphore.makeUnsafe(concurrency).withPermits(1)
        : <A, E, R>(self: Effect.Effect<A, E, R>) => self
      // A Promise task runs as `Effect.promise` (what an Effect user would write for it).
      const body = work.kind === "promise"
        ? (i: number) => Effect.promise(() => work.promise(i) ?? Promise.resolve())
        : work.effect
      const task = (i: number) =>
        Effect.forEach(dag.deps[i]!, (d) => Deferred.await(done[d]!), { discard: true }).pipe(
          Effect.andThen(limit(body(i))),
          Effect.andThen(Deferred.succeed(done[i]!, undefined))
        )
      yield* Effect.forEach(Array.from({ length: n }, (_, i) => i), task, {
        concurrency: "unbounded",
        discard: true
      })
      return done
    }))
}
