import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fc from "fast-check"
import { decode, diagnose } from "../src/internal/definition.ts"
import type { Plan } from "../src/Plan.ts"
import * as PlanModule from "../src/Plan.ts"
import * as Expression from "../src/Expression.ts"
import type { DefinitionError } from "../src/WorkflowError.ts"

/** A stand-in expression language: `results.<id>` references must name known tasks. */
const language: Expression.Language = {
  name: "cel",
  compile: (source, known) => {
    const references = [...source.matchAll(/results\.([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]!)
    const unknown = references.find((id) => !known.includes(id))
    if (unknown !== undefined) return { message: `unknown task ${unknown}`, offset: source.indexOf(unknown) }
    return { source, references: [...new Set(references)], evaluate: () => true }
  }
}
const withCel = <A, E>(effect: Effect.Effect<A, E>) =>
  effect.pipe(Effect.provideService(Expression.ExpressionLanguage, language))
const plan = (input: unknown): Plan => Effect.runSync(withCel(decode(input)))
const error = (input: unknown): DefinitionError => Effect.runSync(withCel(Effect.flip(decode(input))))
const problems = (input: unknown) =>
  Effect.runSync(withCel(diagnose(input))).problems.map((p) => `${p.path}: ${p.message}`)

describe("agent-plan field names", () => {
  it("reads steps, step_id, agent_id, dependencies, inputs and retry_policy", () => {
    const p = plan({
      plan_id: "research",
      goal: "write a brief",
      steps: [
        { step_id: "search", agent_id: "researcher", inputs: { q: "effect" } },
        {
          step_id: "write",
          agent_id: "writer",
          dependencies: ["search"],
          retry_policy: { max_attempts: 4, initial_delay_ms: 250, max_delay_ms: 2000, backoff: "linear" },
          timeout_ms: 1500
        }
      ]
    })
    expect(p.id).toBe("research")
    expect(p.name).toBe("research")
    expect(p.description).toBe("write a brief")
    expect(p.nodes.map((n) => [n.id, n.taskType, n.agentType])).toStrictEqual([
      ["search", "agent", "researcher"],
      ["write", "agent", "writer"]
    ])
    expect(p.nodes[0]!.parameters).toStrictEqual({ q: "effect" })
    expect(p.nodes[1]!.dependsOn).toStrictEqual(["search"])
    expect(p.nodes[1]!.timeoutMs).toBe(1500)
    expect(p.nodes[1]!.retry).toStrictEqual({
      maxRetries: 3,
      backoff: "linear",
      initialDelayMs: 250,
      backoffMultiplier: 2,
      maxDelayMs: 2000,
      jitter: false
    })
  })

  it("an explicit task type wins over agent_id's default", () => {
    const p = plan({ id: "w", steps: [{ step_id: "a", agent_id: "x", type: "review" }] })
    expect(p.nodes[0]!.taskType).toBe("review")
  })

  it("reports a field given in two spellings, in the names the user wrote", () => {
    expect(error({ id: "w", steps: [{ step_id: "a", id: "b" }] })).toMatchObject({
      path: "steps[0].step_id",
      reason: "given twice, as \"id\" and as \"step_id\""
    })
    expect(error({ id: "w", tasks: [{ id: "a", timeout_seconds: 1, timeout_ms: 5 }] })).toMatchObject({
      path: "tasks[0].timeout_ms",
      reason: "given twice, as \"timeout_seconds\" and as \"timeout_ms\""
    })
    expect(error({ id: "w", tasks: [{ id: "a", retry_policy: { max_retries: 1, max_attempts: 2 } }] }))
      .toMatchObject({ path: "tasks[0].retry_policy.max_attempts" })
  })

  it("errors inside steps use the written paths", () => {
    expect(error({ id: "w", steps: [{ step_id: "a", retryPolicy: { maxAttempts: 0 } }] })).toMatchObject({
      path: "steps[0].retryPolicy.maxAttempts",
      taskId: "a",
      reason: "expected a positive integer, got 0"
    })
  })
})

describe("loops, pipelines and conditions in data", () => {
  it("a for-each over a dependency's output makes it a data dependency", () => {
    const p = plan({
      id: "w",
      tasks: [
        { id: "list" },
        { id: "each", loop: { type: "forEach", items: "list.pages", itemVar: "page", concurrency: 3 } }
      ]
    })
    expect(p.nodes[1]!.dependsOn).toStrictEqual(["list"])
    expect(p.nodes[1]!.loop).toStrictEqual({
      _tag: "ForEach",
      items: "list.pages",
      itemName: "page",
      concurrency: 3,
      failureMode: "fail-fast"
    })
  })

  it("a for-each over a literal list or the input adds no dependency", () => {
    const p = plan({ id: "w", tasks: [{ id: "a", loop: { type: "for_each", items: [1, 2] } }, { id: "b", loop: { type: "for-each", items: "input.files" } }] })
    expect(p.nodes.map((n) => n.dependsOn)).toStrictEqual([[], []])
  })

  it("a for-each over an unknown task is an error with a suggestion", () => {
    expect(problems({ id: "w", tasks: [{ id: "list" }, { id: "each", loop: { type: "for_each", items: "lsit.pages" } }] }))
      .toStrictEqual([
        "tasks[1].loop.items: \"lsit.pages\" reads unknown task 'lsit' (did you mean 'list'?); items are a list, \"input.<path>\" or \"<task id>.<path>\""
      ])
  })

  it("a while loop's condition is checked; the tasks it reads become order dependencies", () => {
    const p = plan({
      id: "w",
      tasks: [
        { id: "seed" },
        { id: "grow", loop: { type: "while", condition: "results.seed.output > 0 && results.grow.output == null", max_iterations: 3 } }
      ]
    })
    expect(p.nodes[1]!.after).toStrictEqual(["seed"])
    expect(p.nodes[1]!.loop).toMatchObject({ _tag: "While", language: "cel", maxIterations: 3 })
    expect(problems({ id: "w", tasks: [{ id: "a", loop: { type: "while", condition: "results.nope.output", max_iterations: 2 } }] })[0])
      .toMatch(/^tasks\[0\]\.loop\.condition: invalid loop condition/)
    expect(problems({ id: "w", tasks: [{ id: "a", loop: { type: "while", condition: "true" } }] }))
      .toStrictEqual(["tasks[0].loop.max_iterations: is required"])
  })

  it("pipeline: true chains every task to the one before it", () => {
    const p = plan({ id: "w", pipeline: true, tasks: [{ id: "a" }, { id: "b" }, { id: "c", depends_on: ["a"] }] })
    expect(p.nodes.map((n) => n.dependsOn)).toStrictEqual([[], ["a"], ["b", "a"]])
    expect(p.metadata).toStrictEqual({ pipeline: true })
  })

  it("per-task run_if_skipped, resources and concurrency keys; workflow resources, deadline and per-key limit", () => {
    const p = plan({
      id: "w",
      resources: { gpu: 2 },
      per_key_limit: 1,
      deadline_seconds: 60,
      tasks: [{ id: "a", run_if_skipped: true, resources: { gpu: 1 }, concurrency_key: "tenant-1" }]
    })
    expect(p).toMatchObject({ resources: { gpu: 2 }, perKeyLimit: 1, deadlineMs: 60_000 })
    expect(p.nodes[0]).toMatchObject({ runIfSkipped: true, resources: { gpu: 1 }, concurrencyKey: "tenant-1" })
  })
})

describe("diagnose: every problem at once", () => {
  it("lists schema errors, unknown and self dependencies with suggestions, duplicates and a cycle", () => {
    expect(problems({
      id: "w",
      tasks: [
        { id: "build" },
        { id: "test", dependencies: ["build", "buidl"], priority: 11 },
        { id: "build" },
        { id: "a", depends_on: ["b"] },
        { id: "b", depends_on: ["a", "b"] }
      ]
    })).toStrictEqual([
      "tasks[1].priority: expected an integer between 1 and 10, got 11",
      "tasks[2].id: duplicate task id 'build' (first declared at tasks[0])",
      "tasks[1].dependencies[1]: unknown task 'buidl' (did you mean 'build'?)",
      "tasks[4].depends_on[1]: task 'b' depends on itself",
      "tasks[3]: dependency cycle: a → b → a"
    ])
  })

  it("the issue's example: tasks[3].dependencies[1]", () => {
    const tasks = [{ id: "setup" }, { id: "build" }, { id: "lint" }, { id: "deploy", dependencies: ["lint", "buidl"] }]
    expect(problems({ id: "w", tasks })).toStrictEqual([
      "tasks[3].dependencies[1]: unknown task 'buidl' (did you mean 'build'?)"
    ])
  })

  it("warns about unknown fields with a suggestion, without failing", () => {
    const d = Effect.runSync(withCel(diagnose({ id: "w", tasks: [{ id: "a", priorty: 2, retry_config: { max_retry: 1 } }], strategi: "dag" })))
    expect(d.plan).toBeDefined()
    expect(d.warnings).toStrictEqual([
      { path: "strategi", message: "unknown field 'strategi' (did you mean 'strategy'?)" },
      { path: "tasks[0].priorty", message: "unknown field 'priorty' (did you mean 'priority'?)" },
      { path: "tasks[0].retry_config.max_retry", message: "unknown field 'max_retry' (did you mean 'max_retries'?)" }
    ])
  })

  it("fromDefinition fails with the first problem diagnose finds", () => {
    const input = { id: "w", tasks: [{ id: "a", depends_on: ["x"] }, { id: "a" }] }
    const first = Effect.runSync(withCel(diagnose(input))).problems[0]!.error
    expect(error(input)).toStrictEqual(first)
  })
})

describe("deep and hostile input (issue 9.6)", () => {
  const nest = (depth: number, leaf: unknown = 1) => {
    let value: unknown = leaf
    for (let i = 0; i < depth; i++) value = { a: value }
    return value
  }

  it("parameters nested 5 000 deep are InvalidDefinition with the path, not a RangeError", () => {
    const e = error({ id: "w", tasks: [{ id: "t", parameters: nest(5000) }] })
    expect(e._tag).toBe("InvalidDefinition")
    expect(e).toMatchObject({ reason: `nested more than ${PlanModule.maxDepth} levels deep` })
    expect((e as { path: string }).path.startsWith("tasks[0].parameters.a.a.a")).toBe(true)
  })

  it("deep lists, deep metadata and a cyclic value are definition errors too", () => {
    let list: unknown = []
    for (let i = 0; i < 5000; i++) list = [list]
    expect(error({ id: "w", tasks: [{ id: "t", metadata: { x: list } }] })._tag).toBe("InvalidDefinition")
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    expect(error({ id: "w", tasks: [{ id: "t", parameters: cyclic }] })._tag).toBe("InvalidDefinition")
  })

  it("nesting up to the limit is accepted", () => {
    expect(plan({ id: "w", tasks: [{ id: "t", parameters: nest(PlanModule.maxDepth - 4) }] }).nodes).toHaveLength(1)
  })

  it("fuzzed definitions (hostile keys, deep nesting, odd numbers) give a plan or a typed error, never a throw", () => {
    const hostileKey = fc.constantFrom("__proto__", "constructor", "toString", "hasOwnProperty", "id", "steps", "tasks")
    const odd = fc.constantFrom(NaN, Infinity, -Infinity, -0, 1e308, -1, 0, 2.5, "1", null, true, [], {})
    const value = fc.letrec((tie) => ({
      any: fc.oneof({ depthSize: "small" }, odd, fc.string(), tie("obj"), fc.array(tie("any"), { maxLength: 3 })),
      obj: fc.dictionary(fc.oneof(hostileKey, fc.string()), tie("any"), { maxKeys: 4 })
    })).any
    const task = fc.record({
      id: fc.oneof(fc.string(), hostileKey, odd),
      depends_on: fc.oneof(fc.array(fc.oneof(hostileKey, fc.string()), { maxLength: 3 }), odd),
      priority: odd,
      parameters: fc.oneof(value, fc.integer({ min: 90, max: 400 }).map((d) => nest(d))),
      loop: fc.oneof(value, fc.constant({ type: "while", condition: "true", max_iterations: NaN }))
    }, { requiredKeys: [] })
    const definition = fc.record({
      id: fc.oneof(fc.string(), odd),
      tasks: fc.oneof(fc.array(task, { maxLength: 5 }), odd),
      max_parallel_tasks: odd,
      steps: fc.oneof(fc.array(task, { maxLength: 2 }), odd)
    }, { requiredKeys: [] })
    fc.assert(
      fc.property(definition, (input) => {
        const exit = Effect.runSyncExit(withCel(decode(input)))
        if (exit._tag === "Failure") {
          const failure = exit.cause.reasons[0]
          expect(failure?._tag).toBe("Fail")
        }
        Effect.runSync(withCel(diagnose(input)))
      }),
      { numRuns: Number(process.env.TROUPE_SOAK === "1" ? 5000 : 300) }
    )
  })
})

describe("definitionJsonSchema", () => {
  it("is generated from the Schema, with every spelling of each field and no unknown fields", () => {
    const schema = PlanModule.definitionJsonSchema() as {
      properties: Record<string, unknown>
      additionalProperties: boolean
      $defs: { task: { properties: Record<string, unknown> } }
    }
    expect(schema.additionalProperties).toBe(false)
    for (const key of ["tasks", "steps", "execution_strategy", "executionStrategy", "plan_id", "$schema"]) {
      expect(Object.keys(schema.properties)).toContain(key)
    }
    for (const key of ["step_id", "agent_id", "dependencies", "depends_on", "dependsOn", "retry_policy", "loop"]) {
      expect(Object.keys(schema.$defs.task.properties)).toContain(key)
    }
  })
})
