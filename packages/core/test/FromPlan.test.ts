/**
 * Workflow.fromPlan: a definition's output_mapping is applied (later tasks and the run's outputs see the
 * mapped values, as `.publish` does for code-built workflows), and user names never find inherited keys.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Result } from "effect"
import { Engine, Expression, Plan, Workflow, WorkflowError } from "@troupe/core"

/**
 * A toy expression language: `<task>.<path>` reads a task's output along a property path, `len:<expr>` is
 * the length of what it reads. Just enough to test the wiring; @troupe/cel is the real language.
 */
const toy: Expression.Language = {
  name: "toy",
  compile: (source) => ({ source, references: [], evaluate: () => true }),
  compileValue: (source, known) => {
    const length = source.startsWith("len:")
    const [task, ...path] = (length ? source.slice(4) : source).split(".")
    if (task === undefined || !known.includes(task)) return { message: `unknown task "${task}"`, offset: 0 }
    return {
      source,
      references: [task],
      evaluate: (scope) => {
        let value: unknown = scope.results[task]?.output
        for (const key of path) {
          if (typeof value !== "object" || value === null || !Object.hasOwn(value, key)) {
            return Result.fail({ message: `no field "${key}"` })
          }
          value = (value as Record<string, unknown>)[key]
        }
        return Result.succeed(length ? (value as ReadonlyArray<unknown>).length : value)
      }
    }
  }
}

const withToy = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.provideService(effect, Expression.ExpressionLanguage, toy)

const etl = {
  name: "etl",
  tasks: [
    { id: "extract", task_type: "fetch" },
    { id: "load", depends_on: ["extract"], task_type: "load", output_mapping: { rows: "len:load.rows", first: "load.rows.0" } },
    { id: "report", depends_on: ["load"], task_type: "report" }
  ]
}

const handlers = {
  fetch: () => Effect.succeed(["a", "b", "c"]),
  load: (_node: Plan.PlanNode, ctx: Readonly<Record<string, unknown>>) => Effect.succeed({ rows: ctx["extract"] }),
  report: (_node: Plan.PlanNode, ctx: Readonly<Record<string, unknown>>) =>
    Effect.succeed(`${String(ctx["rows"])} rows, first ${String(ctx["first"])}`)
}

describe("Workflow.fromPlan: output_mapping", () => {
  it.effect("mapped values are published: later tasks read them and the run's outputs hold them", () =>
    Effect.gen(function*() {
      const plan = yield* Plan.fromDefinition(etl)
      const wf = yield* Workflow.fromPlan(plan, { handlers })
      const result = yield* Engine.run(wf)
      expect(result.outputs).toEqual({
        extract: ["a", "b", "c"],
        load: { rows: ["a", "b", "c"] },
        rows: 3,
        first: "a",
        report: "3 rows, first a"
      })
      // In the workflow's Plan they are output_mapping nodes, exactly like `.publish`.
      const nodes = Plan.fromWorkflow(wf).nodes.map((n) => [n.id, n.taskType, n.dependsOn])
      expect(nodes).toEqual([
        ["extract", "fetch", []],
        ["load", "load", ["extract"]],
        ["rows", "output_mapping", ["load"]],
        ["first", "output_mapping", ["load"]],
        ["report", "report", ["load", "rows", "first"]]
      ])
    }).pipe(withToy))

  it.effect("a mapping that fails to evaluate fails its value (and what reads it), naming the path", () =>
    Effect.gen(function*() {
      const plan = yield* Plan.fromDefinition({
        name: "bad",
        tasks: [{ id: "a", task_type: "fetch", output_mapping: { x: "a.missing" } }]
      })
      const wf = yield* Workflow.fromPlan(plan, { handlers })
      const error = yield* Engine.run(wf).pipe(Effect.flip)
      expect(error._tag).toBe("WorkflowFailed")
      const failure = error._tag === "WorkflowFailed" ? error.failures[0] : undefined
      expect(failure?.taskId).toBe("x")
    }).pipe(withToy))

  it.effect("a mapped name that is a task id, or a language that cannot evaluate values, is an InvalidDefinition", () =>
    Effect.gen(function*() {
      const clash = yield* Plan.fromDefinition({
        name: "clash",
        tasks: [{ id: "a", task_type: "fetch", output_mapping: { b: "a.x" } }, { id: "b", task_type: "fetch" }]
      }).pipe(withToy)
      const error = yield* Workflow.fromPlan(clash, { handlers }).pipe(withToy, Effect.flip)
      expect(error).toMatchObject({ _tag: "InvalidDefinition", path: "tasks[0].output_mapping.b", taskId: "a" })
      const noValues: Expression.Language = { name: "bools", compile: toy.compile }
      const plan = yield* Plan.fromDefinition(etl).pipe(withToy)
      const missing = yield* Workflow.fromPlan(plan, { handlers }).pipe(
        Effect.provideService(Expression.ExpressionLanguage, noValues),
        Effect.flip
      )
      expect(missing.reason).toContain("Cel.layer")
    }))
})

describe("Workflow.fromPlan: inherited keys are not handlers", () => {
  for (const taskType of ["constructor", "toString", "__proto__", "hasOwnProperty", "valueOf"]) {
    it.effect(`task_type "${taskType}" finds no handler`, () =>
      Effect.gen(function*() {
        const plan = yield* Plan.fromDefinition({ name: "hostile", tasks: [{ id: "a", task_type: taskType }] })
        const error = yield* Workflow.fromPlan(plan, { handlers: { echo: () => 1 } }).pipe(Effect.flip)
        expect(error).toBeInstanceOf(WorkflowError.InvalidDefinition)
        expect(error).toMatchObject({ path: "tasks[0].task_type", taskId: "a" })
        expect(error.reason).toContain(`no handler for task type "${taskType}"; handlers: [echo]`)
      }))
  }
})
