/**
 * @internal Child workflows a task starts at run time (`TaskInfo.runWorkflow`): a workflow built while
 * the run is going (a supervisor's subtasks), run as a sub-workflow of the calling task under the tree's
 * rules.
 *
 * - It is prepared as a static sub-workflow is (`prepare.prepareChild`): validation, numbers, resource
 *   requests against the tree's pools (pools only it declares join the tree), its tasks' own checks.
 * - It runs as a nested run (`subworkflow.nested`) sharing the tree's `Shared`, its events forwarded as
 *   `SubWorkflowEvent`s of the calling task, its tasks' paths prefixed `<task path>/<name>/`.
 * - Slots: while the child runs, the calling task is *parked*: it gives its slot in its run and in the
 *   tree up (`park`), so a parent with `maxParallel: 1` does not deadlock. When the child ends, the task
 *   takes a slot back (`reclaim`), at once when one is free and nobody waits, else in the tree's queue of
 *   `Shared.slotWaiters`, which every drain loop of the tree serves (`serveSlotWaiter`) before it starts
 *   new tasks. Its pool units and concurrency key stay held throughout.
 * - `RunCore.parking` holds the parked tasks of a run: a task is parked exactly while its entry is there.
 *   Settling a parked task (an abort, a timeout) removes the entry in `settlement.giveBack`, which then
 *   gives nothing back twice and ends the parking (`Parked.ended`): its waiters go on without a slot. A
 *   retry or fallback after a timeout takes the slot back first (`reclaimParked`).
 */
import { Effect } from "effect"
import type { ChildOptions, TaskInfo } from "../../Task.ts"
import type * as Workflow from "../../Workflow.ts"
import { InvalidDefinition } from "../../WorkflowError.ts"
import type { Shared } from "./gates.ts"
import { prepareChild } from "./prepare.ts"
import { guarded } from "./settlement.ts"
import { pathOf, type RunCore } from "./state.ts"
import { nested } from "./subworkflow.ts"

/** The mark of one parking of a task (identity: a later parking of the same task replaces it). */
export interface Parked {
  readonly i: number
  /** Called when the parking ends without taking a slot (the task settled, or parked again): its waiters go on. */
  readonly ended: () => void
}

/** A parked task whose child ended, waiting for a slot. */
export interface SlotWaiter {
  readonly run: RunCore
  readonly parked: Parked
  readonly resume: () => void
}

/** Gives task `i`'s slot up (once, however many children it starts) and lets others use it. */
const park = (run: RunCore, i: number): Parked => {
  const parking = run.parking ??= new Map()
  const parked: Parked = { i, ended: () => release(run.shared, parked) }
  const previous = parking.get(i)
  if (previous === undefined) {
    run.running--
    run.shared.used--
    run.freed = true
  }
  parking.set(i, parked)
  previous?.ended()
  // The run's ready tasks, then the tree's other runs (`afterDrain`), may take the slot.
  guarded(run, run.drain)
  return parked
}

/** Whether `parked` is still the task's current parking (not settled, not replaced). */
const current = (run: RunCore, parked: Parked): boolean => run.parking?.get(parked.i) === parked

/** Resumes every waiter of `parked` still queued (they find it ended and go on without taking a slot). */
const release = (shared: Shared, parked: Parked): void => {
  const waiters = shared.slotWaiters
  if (waiters === undefined) return
  const gone = waiters.filter((waiter) => waiter.parked === parked)
  if (gone.length === 0) return
  const left = waiters.filter((waiter) => waiter.parked !== parked)
  shared.slotWaiters = left.length === 0 ? undefined : left
  for (const waiter of gone) waiter.resume()
}

/** Takes the slot back for a parked task (its other waiters, if any, go on). */
const unpark = (run: RunCore, parked: Parked): void => {
  run.parking!.delete(parked.i)
  run.running++
  run.shared.used++
  release(run.shared, parked)
}

const hasRoom = (run: RunCore): boolean =>
  run.running < run.settings.maxParallel && run.shared.used < run.shared.limit

/** Waits until the parked task may take a slot back (its run's limit and the tree's), then takes it. */
const reclaim = (run: RunCore, parked: Parked): Effect.Effect<void> =>
  Effect.callback<void>((resume) => {
    const shared = run.shared
    if (!current(run, parked)) return resume(Effect.void)
    if (shared.slotWaiters === undefined && hasRoom(run)) {
      unpark(run, parked)
      return resume(Effect.void)
    }
    const waiter: SlotWaiter = { run, parked, resume: () => resume(Effect.void) }
    ;(shared.slotWaiters ??= []).push(waiter)
    return Effect.sync(() => {
      const waiters = shared.slotWaiters
      const at = waiters === undefined ? -1 : waiters.indexOf(waiter)
      if (at >= 0) waiters!.splice(at, 1)
      if (waiters !== undefined && waiters.length === 0) shared.slotWaiters = undefined
    })
  })

/**
 * Called by every drain loop of the tree while the tree has a free slot: gives it to the first waiter whose
 * run has room too (dropping stale waiters). True when one was resumed.
 */
export const serveSlotWaiter = (shared: Shared): boolean => {
  const waiters = shared.slotWaiters!
  let served: SlotWaiter | undefined
  for (let w = 0; w < waiters.length; w++) {
    const waiter = waiters[w]!
    if (!current(waiter.run, waiter.parked)) {
      waiters.splice(w--, 1)
      waiter.resume()
      continue
    }
    if (waiter.run.running >= waiter.run.settings.maxParallel) continue
    waiters.splice(w, 1)
    served = waiter
    break
  }
  if (waiters.length === 0) shared.slotWaiters = undefined
  if (served === undefined) return false
  unpark(served.run, served.parked)
  served.resume()
  return true
}

/**
 * For a retry or a fallback of a task a timeout interrupted while parked: takes the slot back first, in turn.
 */
export const reclaimParked = (run: RunCore, i: number): Effect.Effect<void> =>
  Effect.suspend(() => {
    const parked = run.parking?.get(i)
    return parked === undefined ? Effect.void : reclaim(run, parked)
  })

/**
 * Runs `child` with task `i` parked. The task takes its slot back before it continues, whatever the child's
 * exit, even when the call was interrupted.
 */
const withoutSlot = <A, E>(run: RunCore, i: number, child: Effect.Effect<A, E, unknown>): Effect.Effect<A, E, unknown> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.suspend(() => {
      const parked = park(run, i)
      return restore(child).pipe(
        Effect.exit,
        Effect.flatMap((exit) =>
          restore(reclaim(run, parked)).pipe(
            // Interrupted while parked: by an abort or the run's end (settled already, nothing to wait for), by a
            // timeout of the task (it is settled, retried or given its fallback: whichever comes first takes
            // the slot back) or by the handler itself (its own timeout around the call: it waits here, in turn).
            Effect.onInterrupt(() => Effect.suspend(() => current(run, parked) ? reclaim(run, parked) : Effect.void)),
            Effect.flatMap(() => exit)
          )
        )
      )
    })
  )

const invalidName = (path: string, name: string, reason: string) =>
  Effect.fail(
    new InvalidDefinition({ path: "runWorkflow.name", taskId: path, reason: `child workflow name "${name}" ${reason}` })
  )

/** `TaskInfo.runWorkflow` for one attempt of task `i` (built only when a handler reads its TaskInfo). */
export const runWorkflowFor = (run: RunCore, i: number): TaskInfo["runWorkflow"] => {
  // Nothing is allocated here but this closure: the names' set only when a child is started.
  let unnamed = 0
  let names: Set<string> | undefined
  const start = (workflow: Workflow.Any, input?: unknown, options?: ChildOptions) =>
    Effect.suspend(() => {
      const taskId = run.g.ids[i]!
      const path = pathOf(run, i)
      const name = options?.name ?? `child-${++unnamed}`
      if (name.length === 0 || name.includes("/")) return invalidName(path, name, "must be non-empty, without \"/\"")
      names ??= new Set()
      if (names.has(name)) return invalidName(path, name, "is used twice by this task")
      names.add(name)
      const shared = run.shared
      const prefix = `${path}/${name}/`
      return prepareChild(workflow, shared.capacity, shared.perKeyLimit, prefix, run.scope.workflow).pipe(
        Effect.flatMap(({ compiled, added }) => {
          for (const [pool, units] of added) {
            if (shared.capacity.has(pool)) continue
            shared.capacity.set(pool, units)
            shared.pools.set(pool, units)
          }
          return withoutSlot(
            run,
            i,
            nested(run, i, taskId, compiled, input, `${run.runId}/${taskId}/${name}`, prefix, run.execute)
          )
        })
      )
    })
  return start as TaskInfo["runWorkflow"]
}
