/**
 * @internal Triggers on the Orchestrator's bus: each trigger is a subscriber whose handler filters the
 * event, maps it to the workflow's input and starts a run through the run registry, with the services of
 * the fiber that attached it. Its failures are counted and logged; it stays attached.
 */
import { type Context, Effect } from "effect"
import * as Events from "../Events.ts"
import type * as Trigger from "../Trigger.ts"
import type { RunRegistry } from "./orchestratorRuns.ts"

export interface Triggers {
  readonly add: (trigger: Trigger.Trigger) => Effect.Effect<Trigger.Handle, never, unknown>
}

export const makeTriggers = (bus: Events.Bus, runs: RunRegistry): Triggers => ({
  add: (trigger) =>
    Effect.gen(function*() {
      const context = yield* Effect.context<never>()
      let fired = 0
      let skipped = 0
      let failed = 0
      const runIds: Array<string> = []
      let removed = false
      const fail = (what: string, error: unknown) => {
        failed++
        return Effect.logWarning(`Trigger "${trigger.id}": ${what}: ${Events.describe(error)}`)
      }
      const handler = (event: unknown): Effect.Effect<void> =>
        Effect.suspend(() => {
          if (removed) return Effect.void
          if (trigger.maxRuns !== undefined && fired >= trigger.maxRuns) {
            skipped++
            return Effect.void
          }
          let input: unknown
          try {
            if (trigger.filter !== undefined && !trigger.filter(event as never)) {
              skipped++
              return Effect.void
            }
            input = trigger.input === undefined ? undefined : trigger.input(event as never)
          } catch (error) {
            return fail("its filter or input mapping threw", error)
          }
          fired++
          return runs.launch(trigger.workflow, input, { ...trigger.options }).pipe(
            Effect.provideContext(context as Context.Context<unknown>),
            Effect.tap((handle) =>
              Effect.sync(() => {
                runIds.push(handle.runId)
                if (runIds.length > 100) runIds.shift()
              })
            ),
            Effect.asVoid,
            Effect.catchCause((cause) => {
              fired--
              return fail("the run could not start", cause)
            })
          )
        })
      const subscription = yield* bus.subscribe(
        Events.selectorName(trigger.on),
        handler as (event: never) => unknown,
        trigger.bufferSize === undefined ? undefined : { bufferSize: trigger.bufferSize }
      )
      return {
        id: trigger.id,
        remove: Effect.suspend(() => {
          removed = true
          return subscription.unsubscribe
        }),
        stats: Effect.map(subscription.stats, (s): Trigger.Stats => ({
          id: trigger.id,
          fired,
          skipped,
          failed,
          dropped: s.dropped,
          runIds: [...runIds],
          status: removed ? "removed" : "active"
        }))
      }
    })
})
