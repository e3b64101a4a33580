import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fc from "fast-check"
import { decode, validate } from "../src/internal/definition.ts"
import * as Expression from "../src/Expression.ts"
import type { Plan } from "../src/Plan.ts"
import type { DefinitionError } from "../src/WorkflowError.ts"

const plan = (input: unknown): Plan => Effect.runSync(decode(input))
const error = (input: unknown): DefinitionError => Effect.runSync(Effect.flip(decode(input)))
const wf = (tasks: ReadonlyArray<Record<string, unknown>>, extra: Record<string, unknown> = {}) => ({
  name: "wf",
  tasks,
  ...extra
})

describe("decode: fields", () => {
  it("reads the seeds' snake_case fields", () => {
    const p = plan({
      id: "etl",
      name: "ETL",
      description: "extract, transform, load",
      execution_strategy: "dag",
      max_parallel_tasks: 4,
      continue_on_failure: true,
      default_timeout_seconds: 30,
      metadata: { owner: "data" },
      tasks: [
        { id: "extract", task_type: "agent", required_capabilities: ["sql"], estimated_duration_seconds: 2 },
        {
          id: "transform",
          description: "clean rows",
          depends_on: ["extract"],
          required_skills: ["pandas"],
          priority: 8,
          timeout_seconds: 1.5,
          retry_config: { max_retries: 5, backoff_multiplier: 3, initial_delay: 0.5, max_delay: 10 },
          parameters: { mode: "strict" },
          expected_output_type: "table",
          agent_type: "coder",
          metadata: { cost: 1 },
          tags: ["etl"]
        }
      ]
    })
    expect(p).toStrictEqual({
      id: "etl",
      name: "ETL",
      description: "extract, transform, load",
      strategy: "dag",
      maxParallel: 4,
      continueOnFailure: true,
      defaultTimeoutMs: 30_000,
      metadata: { owner: "data" },
      edges: [{ from: "extract", to: "transform", kind: "data" }],
      nodes: [
        {
          id: "extract",
          index: 0,
          description: "",
          taskType: "agent",
          dependsOn: [],
          after: [],
          priority: 5,
          parameters: {},
          metadata: {},
          tags: [],
          capabilities: ["sql"],
          skills: [],
          runIfSkipped: false,
          estimatedDurationMs: 2000
        },
        {
          id: "transform",
          index: 1,
          description: "clean rows",
          taskType: "function",
          dependsOn: ["extract"],
          after: [],
          priority: 8,
          timeoutMs: 1500,
          retry: { maxRetries: 5, backoffMultiplier: 3, initialDelayMs: 500, maxDelayMs: 10_000, jitter: false },
          parameters: { mode: "strict" },
          metadata: { cost: 1 },
          tags: ["etl"],
          capabilities: [],
          skills: ["pandas"],
          agentType: "coder",
          expectedOutputType: "table",
          runIfSkipped: false
        }
      ]
    })
  })

  it("reads camelCase fields the same way", () => {
    const snake = plan({
      id: "w",
      execution_strategy: "parallel",
      max_parallel_tasks: 2,
      continue_on_failure: true,
      default_timeout_seconds: 5,
      tasks: [
        { id: "a" },
        {
          id: "b",
          depends_on: ["a"],
          task_type: "agent",
          required_capabilities: ["x"],
          required_skills: ["y"],
          timeout_seconds: 3,
          retry_config: { max_retries: 1, backoff_multiplier: 1.5, initial_delay: 2, max_delay: 4 },
          expected_output_type: "t",
          agent_type: "a",
          estimated_duration_seconds: 7
        }
      ]
    })
    const camel = plan({
      id: "w",
      executionStrategy: "parallel",
      maxParallelTasks: 2,
      continueOnFailure: true,
      defaultTimeoutSeconds: 5,
      tasks: [
        { id: "a" },
        {
          id: "b",
          dependsOn: ["a"],
          taskType: "agent",
          requiredCapabilities: ["x"],
          requiredSkills: ["y"],
          timeoutSeconds: 3,
          retryConfig: { maxRetries: 1, backoffMultiplier: 1.5, initialDelay: 2, maxDelay: 4 },
          expectedOutputType: "t",
          agentType: "a",
          estimatedDurationSeconds: 7
        }
      ]
    })
    expect(camel).toStrictEqual(snake)
    expect(camel.nodes[1]!.retry).toStrictEqual({
      maxRetries: 1,
      backoffMultiplier: 1.5,
      initialDelayMs: 2000,
      maxDelayMs: 4000,
      jitter: false
    })
  })

  it("fills in defaults", () => {
    const p = plan(wf([{ id: "a", retry_config: {} }]))
    expect(p.continueOnFailure).toBe(false)
    expect(p.description).toBe("")
    expect(p.metadata).toStrictEqual({})
    expect("strategy" in p || "maxParallel" in p || "defaultTimeoutMs" in p).toBe(false)
    const node = p.nodes[0]!
    expect(node.taskType).toBe("function")
    expect(node.priority).toBe(5)
    expect(node.description).toBe("")
    expect(node.retry).toStrictEqual({
      maxRetries: 3,
      backoffMultiplier: 2,
      initialDelayMs: 1000,
      maxDelayMs: 60_000,
      jitter: false
    })
    expect("timeoutMs" in node || "condition" in node || "estimatedDurationMs" in node).toBe(false)
  })

  it("uses the name when the id is missing, and the id when the name is missing", () => {
    const byName = plan({ name: "only-name", tasks: [{ id: "a" }] })
    expect([byName.id, byName.name]).toStrictEqual(["only-name", "only-name"])
    const byId = plan({ id: "only-id", tasks: [{ id: "a" }] })
    expect([byId.id, byId.name]).toStrictEqual(["only-id", "only-id"])
    const both = plan({ id: "the-id", name: "The name", tasks: [{ id: "a" }] })
    expect([both.id, both.name]).toStrictEqual(["the-id", "The name"])
  })

  it("turns a condition into TaskCompleted and an order edge", () => {
    const p = plan(wf([
      { id: "check" },
      { id: "deploy", condition: "check" },
      { id: "notify", depends_on: ["check"], condition: "check" }
    ]))
    expect(p.nodes[1]!.condition).toStrictEqual({ _tag: "TaskCompleted", taskId: "check" })
    expect(p.nodes[1]!.after).toStrictEqual(["check"])
    expect(p.nodes[2]!.after).toStrictEqual([])
    expect(p.edges).toStrictEqual([
      { from: "check", to: "deploy", kind: "order" },
      { from: "check", to: "notify", kind: "data" }
    ])
  })

  it("drops repeated dependencies", () => {
    const p = plan(wf([{ id: "a" }, { id: "b", depends_on: ["a", "a"] }]))
    expect(p.nodes[1]!.dependsOn).toStrictEqual(["a"])
    expect(p.edges).toHaveLength(1)
  })

  it("deep-freezes the plan without freezing the caller's values", () => {
    const parameters = { nested: { list: [1, 2] } }
    const p = plan(wf([{ id: "a", parameters, retry_config: {}, tags: ["t"] }, { id: "b", depends_on: ["a"] }]))
    const node = p.nodes[0]!
    for (
      const value of [
        p,
        p.nodes,
        p.edges,
        p.edges[0],
        p.metadata,
        node,
        node.dependsOn,
        node.after,
        node.tags,
        node.capabilities,
        node.skills,
        node.parameters,
        node.parameters.nested,
        (node.parameters.nested as { list: Array<number> }).list,
        node.metadata,
        node.retry
      ]
    ) expect(Object.isFrozen(value)).toBe(true)
    expect(Object.isFrozen(parameters)).toBe(false)
    expect(Object.isFrozen(parameters.nested.list)).toBe(false)
    expect(node.parameters).toStrictEqual(parameters)
  })

  it("survives a JSON round trip", () => {
    const p = plan({
      id: "w",
      execution_strategy: "conditional",
      max_parallel_tasks: 3,
      default_timeout_seconds: 0.25,
      metadata: { a: [1, { b: null }] },
      tasks: [
        { id: "a", timeout_seconds: 0.1, retry_config: { initial_delay: 0.3 }, parameters: { x: "y" } },
        { id: "b", depends_on: ["a"], condition: "a", estimated_duration_seconds: 0.7 },
        { id: "c", condition: "b", tags: ["t"] }
      ]
    })
    expect(JSON.parse(JSON.stringify(p))).toStrictEqual(p)
  })
})

describe("decode: errors", () => {
  it("InvalidDefinition for a value out of range, with path, task and reason", () => {
    const e = error(wf([{ id: "a" }, { id: "b" }, { id: "c", priority: 11 }]))
    expect(e).toMatchObject({
      _tag: "InvalidDefinition",
      path: "tasks[2].priority",
      taskId: "c",
      reason: "expected an integer between 1 and 10, got 11"
    })
    expect(e.message).toBe(
      "Invalid workflow definition at tasks[2].priority (task \"c\"): expected an integer between 1 and 10, got 11"
    )
  })

  it("InvalidDefinition for wrong types, in the spelling the user wrote", () => {
    expect(error(wf([{ id: "a", priority: "high" }]))).toMatchObject({
      path: "tasks[0].priority",
      reason: "expected an integer between 1 and 10, got \"high\""
    })
    expect(error(wf([{ id: "a", priority: 2.5 }]))).toMatchObject({
      reason: "expected an integer between 1 and 10, got 2.5"
    })
    expect(error(wf([{ id: "a" }, { id: "b", dependsOn: ["a", 3] }]))).toMatchObject({
      _tag: "InvalidDefinition",
      path: "tasks[1].dependsOn[1]",
      taskId: "b",
      reason: "expected a non-empty string, got 3"
    })
    expect(error(wf([{ id: "a", retryConfig: { maxRetries: -1 } }]))).toMatchObject({
      path: "tasks[0].retryConfig.maxRetries",
      taskId: "a",
      reason: "expected an integer of at least 0, got -1"
    })
    expect(error(wf([{ id: "a", timeout_seconds: 0 }]))).toMatchObject({
      path: "tasks[0].timeout_seconds",
      reason: "expected a positive number, got 0"
    })
    expect(error(wf([{ id: "a", parameters: [1] }]))).toMatchObject({
      path: "tasks[0].parameters",
      reason: "expected an object, got a list"
    })
    expect(error(wf([{ id: "a" }], { executionStrategy: "fast" }))).toMatchObject({
      path: "executionStrategy",
      reason: "expected one of \"sequential\", \"parallel\", \"dag\", \"conditional\", \"auto\", got \"fast\""
    })
    expect(error(wf([{ id: "a" }], { max_parallel_tasks: 0 }))).toMatchObject({
      path: "max_parallel_tasks",
      reason: "expected a positive integer, got 0"
    })
    expect(error(wf([{ id: "a" }], { continue_on_failure: "yes" }))).toMatchObject({
      path: "continue_on_failure",
      reason: "expected true or false, got \"yes\""
    })
  })

  it("InvalidDefinition for missing or empty task ids, without a task id", () => {
    const missing = error(wf([{ id: "a" }, { depends_on: ["a"] }]))
    expect(missing).toMatchObject({ _tag: "InvalidDefinition", path: "tasks[1].id", reason: "is required" })
    expect("taskId" in missing && missing.taskId !== undefined).toBe(false)
    expect(missing.message).toBe("Invalid workflow definition at tasks[1].id: is required")
    expect(error(wf([{ id: "" }]))).toMatchObject({
      path: "tasks[0].id",
      reason: "expected a non-empty string, got \"\""
    })
    expect(error({ name: "wf", tasks: ["a"] })).toMatchObject({
      path: "tasks[0]",
      reason: "expected a task (an object), got \"a\""
    })
  })

  it("InvalidDefinition for a value that is not a workflow", () => {
    expect(error(null)).toMatchObject({
      path: "(root)",
      reason: "expected a workflow definition (an object), got null"
    })
    expect(error({ name: "w" })).toMatchObject({ path: "tasks", reason: "is required" })
    expect(error({ name: "w", tasks: {} })).toMatchObject({
      path: "tasks",
      reason: "expected a list of tasks, got an object"
    })
  })

  it("InvalidDefinition when the workflow has neither id nor name", () => {
    const e = error({ tasks: [{ id: "a" }] })
    expect(e).toMatchObject({ _tag: "InvalidDefinition", path: "id", reason: "a workflow needs an id or a name" })
  })

  it("InvalidDefinition when a field is given in both spellings", () => {
    const e = error(wf([{ id: "a", depends_on: [], dependsOn: [] }]))
    expect(e).toMatchObject({
      _tag: "InvalidDefinition",
      path: "tasks[0].dependsOn",
      reason: "given twice, as \"depends_on\" and as \"dependsOn\""
    })
  })

  it("EmptyWorkflow", () => {
    const e = error({ name: "nothing", tasks: [] })
    expect(e).toMatchObject({ _tag: "EmptyWorkflow", workflow: "nothing" })
    expect(e.message).toBe("Workflow \"nothing\" has no tasks")
  })

  it("DuplicateTaskId with both positions", () => {
    const e = error(wf([{ id: "a" }, { id: "b" }, { id: "a" }]))
    expect(e).toMatchObject({ _tag: "DuplicateTaskId", taskId: "a", first: 0, second: 2 })
    expect(e.message).toBe("Task id \"a\" is declared twice: at tasks[0] and tasks[2]")
  })

  it("SelfDependency, also through a condition", () => {
    const e = error(wf([{ id: "a" }, { id: "b", depends_on: ["a", "b"] }]))
    expect(e).toMatchObject({ _tag: "SelfDependency", taskId: "b" })
    expect(e.message).toBe("Task \"b\" depends on itself")
    expect(error(wf([{ id: "a", condition: "a" }]))).toMatchObject({ _tag: "SelfDependency", taskId: "a" })
  })

  it("UnknownDependency with the sorted known ids, also for a condition", () => {
    const e = error(wf([{ id: "zeta" }, { id: "alpha", depends_on: ["zeta", "build"] }]))
    expect(e).toMatchObject({
      _tag: "UnknownDependency",
      taskId: "alpha",
      dependency: "build",
      known: ["alpha", "zeta"]
    })
    expect(e.message).toBe("Task \"alpha\" depends on unknown task \"build\". Known tasks: [alpha, zeta]")
    expect(error(wf([{ id: "a", condition: "ghost" }]))).toMatchObject({
      _tag: "UnknownDependency",
      taskId: "a",
      dependency: "ghost",
      known: ["a"]
    })
  })

  it("CycleDetected with one real cycle", () => {
    const e = error(wf([
      { id: "start" },
      { id: "a", depends_on: ["start", "c"] },
      { id: "b", depends_on: ["a"] },
      { id: "c", depends_on: ["b"] },
      { id: "end", depends_on: ["c"] }
    ]))
    expect(e).toMatchObject({ _tag: "CycleDetected", path: ["a", "b", "c", "a"] })
    expect(e.message).toBe("Dependency cycle: a → b → c → a")
  })

  it("CycleDetected through a condition's order edge", () => {
    const e = error(wf([{ id: "a", condition: "b" }, { id: "b", depends_on: ["a"] }]))
    expect(e).toMatchObject({ _tag: "CycleDetected", path: ["a", "b", "a"] })
  })
})

describe("validate", () => {
  it("accepts a decoded plan and returns it unchanged", () => {
    const p = plan(wf([{ id: "a" }, { id: "b", depends_on: ["a"] }]))
    expect(Effect.runSync(validate(p))).toBe(p)
  })

  it("checks plans built by hand, including a condition on an unknown task", () => {
    const p = plan(wf([{ id: "a" }]))
    const bad: Plan = { ...p, nodes: [{ ...p.nodes[0]!, condition: { _tag: "TaskCompleted", taskId: "x" } }] }
    expect(Effect.runSync(Effect.flip(validate(bad)))).toMatchObject({
      _tag: "UnknownDependency",
      taskId: "a",
      dependency: "x"
    })
  })
})

// -----------------------------------------------------------------------------
// Properties: cycles
// -----------------------------------------------------------------------------

/** Random dependency lists over `n` tasks (no self-dependencies); some graphs are acyclic, some not. */
const graphs = fc.integer({ min: 1, max: 60 }).chain((n) =>
  fc.oneof(
    // Acyclic by construction (each task depends only on tasks earlier in a random permutation), then a few
    // random extra edges that may or may not close a cycle.
    fc.tuple(
      fc.shuffledSubarray([...Array(n).keys()], { minLength: n, maxLength: n }),
      fc.array(fc.array(fc.nat(n - 1), { maxLength: 4 }), { minLength: n, maxLength: n }),
      fc.array(fc.tuple(fc.nat(n - 1), fc.nat(n - 1)), { maxLength: 3 })
    ).map(([perm, picks, extra]) => {
      const deps = perm.map((_, k) => picks[k]!.filter((j) => j < k).map((j) => perm[j]!))
      const byTask: Array<Array<number>> = Array.from({ length: n }, () => [])
      perm.forEach((task, k) => byTask[task]!.push(...deps[k]!))
      for (const [task, dep] of extra) if (task !== dep) byTask[task]!.push(dep)
      return byTask
    }),
    // Fully random (mostly cyclic when dense).
    fc.array(fc.array(fc.nat(n - 1), { maxLength: 3 }), { minLength: n, maxLength: n }).map((lists) =>
      lists.map((deps, i) => deps.filter((d) => d !== i))
    )
  )
)

/** Reference: Kahn's algorithm, repeatedly removing tasks with no remaining dependencies. */
const hasCycle = (deps: ReadonlyArray<ReadonlyArray<number>>): boolean => {
  const remaining = deps.map((list) => new Set(list))
  const removed = new Set<number>()
  let progress = true
  while (progress) {
    progress = false
    for (let i = 0; i < remaining.length; i++) {
      if (!removed.has(i) && [...remaining[i]!].every((d) => removed.has(d))) {
        removed.add(i)
        progress = true
      }
    }
  }
  return removed.size < deps.length
}

const definitionOf = (deps: ReadonlyArray<ReadonlyArray<number>>, useCondition: boolean) =>
  wf(deps.map((list, i) => {
    // Optionally express the last dependency as a condition, so order edges take part too.
    const last = list.at(-1)
    return useCondition && last !== undefined && i % 2 === 0
      ? { id: `t${i}`, depends_on: list.slice(0, -1).map((d) => `t${d}`), condition: `t${last}` }
      : { id: `t${i}`, depends_on: list.map((d) => `t${d}`) }
  }))

describe("decode: cycle properties", () => {
  it("fails with CycleDetected exactly when the reference finds a cycle, with a real cycle", () => {
    fc.assert(
      fc.property(graphs, fc.boolean(), (deps, useCondition) => {
        const result = Effect.runSync(Effect.result(decode(definitionOf(deps, useCondition))))
        const cyclic = hasCycle(deps)
        expect(result._tag === "Failure" && result.failure._tag === "CycleDetected").toBe(cyclic)
        if (result._tag === "Success") return
        expect(result.failure._tag).toBe("CycleDetected")
        const path = (result.failure as Extract<DefinitionError, { _tag: "CycleDetected" }>).path
        expect(path.length).toBeGreaterThanOrEqual(3)
        expect(path[0]).toBe(path.at(-1))
        expect(new Set(path.slice(0, -1)).size).toBe(path.length - 1)
        // Each step goes from a dependency to the task that depends on it.
        const index = (id: string) => Number(id.slice(1))
        for (let k = 0; k + 1 < path.length; k++) {
          expect(deps[index(path[k + 1]!)]).toContain(index(path[k]!))
        }
      }),
      { numRuns: 300 }
    )
  })

  it("decodes every acyclic graph into a plan with one edge per distinct dependency", () => {
    fc.assert(
      fc.property(graphs, (deps) => {
        fc.pre(!hasCycle(deps))
        const p = plan(definitionOf(deps, false))
        const distinct = deps.reduce((sum, list) => sum + new Set(list).size, 0)
        expect(p.edges).toHaveLength(distinct)
        expect(p.nodes.map((n) => n.id)).toStrictEqual(deps.map((_, i) => `t${i}`))
      }),
      { numRuns: 100 }
    )
  })
})

// -----------------------------------------------------------------------------
// Condition expressions and output mappings (with a stand-in language; @troupe/cel tests the real one)
// -----------------------------------------------------------------------------

/**
 * A toy language: `ref(a, b)` reads tasks a and b; `bad@N` is a syntax error at offset N; anything else
 * reads nothing.
 */
const toy: Expression.Language = {
  name: "toy",
  compile: (source, knownTasks) => {
    const bad = /^bad@(\d+)$/.exec(source)
    if (bad !== null) return { message: "syntax error", offset: Number(bad[1]) }
    const refs = /^ref\((.*)\)$/.exec(source)?.[1]?.split(",").map((s) => s.trim()) ?? []
    const unknown = refs.find((id) => !knownTasks.includes(id))
    if (unknown !== undefined) return { message: `unknown task "${unknown}"`, offset: source.indexOf(unknown) }
    return { source, references: refs, evaluate: () => true }
  }
}

const withToy = (input: unknown) => decode(input).pipe(Effect.provideService(Expression.ExpressionLanguage, toy))
const planWith = (input: unknown): Plan => Effect.runSync(withToy(input))
const errorWith = (input: unknown): DefinitionError => Effect.runSync(Effect.flip(withToy(input)))

describe("decode: condition expressions", () => {
  it("keeps a task id as TaskCompleted, also for an unknown id (UnknownDependency)", () => {
    const p = planWith(wf([{ id: "a" }, { id: "b", condition: "a" }]))
    expect(p.nodes[1]!.condition).toStrictEqual({ _tag: "TaskCompleted", taskId: "a" })
    expect(errorWith(wf([{ id: "a", condition: "ghost-task" }]))).toMatchObject({
      _tag: "UnknownDependency",
      dependency: "ghost-task"
    })
  })

  it("checks an expression with the language in use; the tasks it reads become order dependencies", () => {
    const p = planWith(wf([
      { id: "a" },
      { id: "b" },
      { id: "c", depends_on: ["a"], condition: "ref(a, b)" }
    ]))
    const c = p.nodes[2]!
    expect(c.condition).toStrictEqual({ _tag: "Expression", source: "ref(a, b)", language: "toy" })
    expect(c.dependsOn).toStrictEqual(["a"])
    expect(c.after).toStrictEqual(["b"])
    expect(p.edges).toStrictEqual([
      { from: "a", to: "c", kind: "data" },
      { from: "b", to: "c", kind: "order" }
    ])
  })

  it("fails with InvalidDefinition at tasks[i].condition, with the issue and its offset", () => {
    expect(errorWith(wf([{ id: "a" }, { id: "b", condition: "bad@3" }]))).toMatchObject({
      _tag: "InvalidDefinition",
      path: "tasks[1].condition",
      taskId: "b",
      reason: `invalid condition "bad@3": syntax error at offset 3`
    })
    expect(errorWith(wf([{ id: "a" }, { id: "b", condition: "ref(a, nope)" }]))).toMatchObject({
      _tag: "InvalidDefinition",
      path: "tasks[1].condition",
      reason: `invalid condition "ref(a, nope)": unknown task "nope" at offset 7`
    })
  })

  it("without a language, an expression is a definition error that says which layer to provide", () => {
    const e = error(wf([{ id: "a" }, { id: "b", condition: "ref(a) == 1" }]))
    expect(e).toMatchObject({ _tag: "InvalidDefinition", path: "tasks[1].condition", taskId: "b" })
    expect(e._tag === "InvalidDefinition" && e.reason).toContain("@troupe/cel's layer (Cel.layer)")
  })

  it("a cycle through an expression's references is CycleDetected; a self-reference SelfDependency", () => {
    expect(errorWith(wf([{ id: "a", condition: "ref(b)" }, { id: "b", depends_on: ["a"] }]))).toMatchObject({
      _tag: "CycleDetected",
      path: ["a", "b", "a"]
    })
    expect(errorWith(wf([{ id: "a", condition: "ref(a)" }]))).toMatchObject({ _tag: "SelfDependency", taskId: "a" })
  })
})

describe("decode: output_mapping", () => {
  it("is checked like a condition and kept in metadata.outputMapping; other tasks it reads are order dependencies", () => {
    const p = planWith(wf([
      { id: "a" },
      { id: "b", metadata: { owner: "x" }, output_mapping: { total: "ref(b, a)", first: "ref(b)" } }
    ]))
    expect(p.nodes[1]!.metadata).toStrictEqual({ owner: "x", outputMapping: { total: "ref(b, a)", first: "ref(b)" } })
    expect(p.nodes[1]!.after).toStrictEqual(["a"])
    expect(Object.isFrozen(p.nodes[1]!.metadata.outputMapping)).toBe(true)
  })

  it("accepts outputMapping and reports errors under the written key", () => {
    expect(planWith(wf([{ id: "a", outputMapping: { n: "ref(a)" } }])).nodes[0]!.metadata).toStrictEqual({
      outputMapping: { n: "ref(a)" }
    })
    expect(errorWith(wf([{ id: "a", outputMapping: { n: "bad@0" } }]))).toMatchObject({
      _tag: "InvalidDefinition",
      path: "tasks[0].outputMapping.n",
      reason: `invalid output mapping "bad@0": syntax error at offset 0`
    })
    expect(error(wf([{ id: "a", output_mapping: { n: "ref(a)" } }]))).toMatchObject({
      _tag: "InvalidDefinition",
      path: "tasks[0].output_mapping.n"
    })
  })

  it("must map names to expressions", () => {
    expect(errorWith(wf([{ id: "a", output_mapping: { n: 1 } }]))).toMatchObject({
      _tag: "InvalidDefinition",
      path: "tasks[0].output_mapping.n",
      reason: "expected a non-empty string, got 1"
    })
    expect(errorWith(wf([{ id: "a", output_mapping: ["x"] }]))).toMatchObject({
      _tag: "InvalidDefinition",
      path: "tasks[0].output_mapping"
    })
  })
})
