/**
 * Sub-workflows: a workflow is a value, so it can be a task of another workflow.
 *
 * `invoice` computes the totals of one order. `month` uses it twice as a task (once per customer),
 * mapping its own data to the child's input with `input: (ctx) => ...`; the child's typed outputs
 * record becomes the task's output, so `({ alice }) => alice.total.gross` type-checks.
 *
 * Run it: `npx node --conditions=source examples/src/sub-workflow.ts`
 *
 * @since 0.1.0
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Engine, Workflow } from "@troupe/core"
import { Console, Effect, Schema } from "effect"

const Line = Schema.Struct({ item: Schema.String, quantity: Schema.Number, unitPrice: Schema.Number })

/**
 * The child: totals of one order.
 *
 * @category workflows
 * @since 0.1.0
 */
export const invoice = Workflow.make("invoice", {
  input: Schema.Struct({ customer: Schema.String, lines: Schema.Array(Line), taxRate: Schema.Number })
})
  .task("net", ({ input }) => Effect.succeed(input.lines.reduce((sum, l) => sum + l.quantity * l.unitPrice, 0)))
  .task("total", { dependsOn: ["net"] }, ({ input, net }) =>
    Effect.succeed({
      customer: input.customer,
      net,
      tax: Math.round(net * input.taxRate * 100) / 100,
      gross: Math.round(net * (1 + input.taxRate) * 100) / 100
    }))

/**
 * The parent: loads the month's orders, runs `invoice` for two customers in parallel, adds them up.
 *
 * @category workflows
 * @since 0.1.0
 */
export const month = Workflow.make("month", { input: Schema.Struct({ taxRate: Schema.Number }) })
  .task("orders", () =>
    Effect.succeed({
      alice: [{ item: "book", quantity: 2, unitPrice: 12.5 }, { item: "pen", quantity: 10, unitPrice: 1.2 }],
      bob: [{ item: "lamp", quantity: 1, unitPrice: 40 }]
    }))
  .task("alice", invoice, {
    dependsOn: ["orders"],
    input: ({ input, orders }) => ({ customer: "alice", lines: orders.alice, taxRate: input.taxRate })
  })
  .task("bob", invoice, {
    dependsOn: ["orders"],
    input: ({ input, orders }) => ({ customer: "bob", lines: orders.bob, taxRate: input.taxRate })
  })
  .task("revenue", { dependsOn: ["alice", "bob"] }, ({ alice, bob }) =>
    Effect.succeed(Math.round((alice.total.gross + bob.total.gross) * 100) / 100))

/**
 * Runs the parent and prints each invoice and the revenue; returns the outputs.
 *
 * @category running
 * @since 0.1.0
 */
export const main = (taxRate = 0.2) =>
  Effect.gen(function*() {
    const { outputs } = yield* Engine.run(month, { taxRate })
    for (const { total } of [outputs.alice, outputs.bob]) {
      yield* Console.log(`${total.customer.padEnd(6)} net ${total.net.toFixed(2)}  tax ${total.tax.toFixed(2)}  gross ${total.gross.toFixed(2)}`)
    }
    yield* Console.log(`revenue ${outputs.revenue.toFixed(2)}`)
    return outputs
  })

if (import.meta.main) NodeRuntime.runMain(main())
