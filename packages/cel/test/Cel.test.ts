import { describe, expect, it } from "@effect/vitest"
import { Expression, Plan, type WorkflowError } from "@troupe/core"
import { Effect, Result } from "effect"
import { Cel } from "@troupe/cel"

const compiled = (source: string, known: ReadonlyArray<string> = ["build", "test", "deploy-web"]) => {
  const c = Cel.compile(source, known)
  if (Expression.isIssue(c)) throw new Error(`unexpected issue: ${c.message}`)
  return c
}

const issueOf = (source: string, known: ReadonlyArray<string> = ["build", "test"]) => {
  const c = Cel.compile(source, known)
  if (!Expression.isIssue(c)) throw new Error(`expected an issue for ${source}`)
  return c
}

const scope = (
  results: Expression.Scope["results"],
  input: unknown = undefined
): Expression.Scope => ({ input, results })

describe("Cel.compile: evaluation", () => {
  it("reads input and results.<id>.status / .output", () => {
    const c = compiled("results.build.status == 'completed' && results.build.output.warnings < 3 && input.deploy")
    expect(c.references).toStrictEqual(["build"])
    const ok = scope({ build: { status: "completed", output: { warnings: 2 } } }, { deploy: true })
    expect(c.evaluate(ok)).toBe(true)
    expect(c.evaluate(scope({ build: { status: "completed", output: { warnings: 5 } } }, { deploy: true }))).toBe(false)
    expect(c.evaluate(scope({ build: { status: "failed" } }, { deploy: true }))).toBe(false)
  })

  it("integral numbers are ints: arithmetic and modulo work on JSON data", () => {
    const c = compiled("results.test.output.passed + 1 == 10 && results.test.output.passed % 3 == 0")
    expect(c.evaluate(scope({ test: { status: "completed", output: { passed: 9 } } }))).toBe(true)
    // Doubles and ints compare with each other.
    const ratio = compiled("results.test.output.ratio > 0 && results.test.output.ratio < 1")
    expect(ratio.evaluate(scope({ test: { status: "completed", output: { ratio: 0.5 } } }))).toBe(true)
  })

  it("supports macros, has(), lists, maps, strings, the strings extension and timestamps", () => {
    const s = scope(
      {
        build: {
          status: "completed",
          output: {
            artifacts: ["app.js", "app.css"],
            meta: new Map([["branch", "main"]]),
            at: new Date("2026-01-02T03:04:05Z"),
            skipped: undefined
          }
        }
      },
      { Name: "Release" }
    )
    expect(compiled("results.build.output.artifacts.exists(a, a.endsWith('.css'))").evaluate(s)).toBe(true)
    expect(compiled("results.build.output.artifacts.all(a, a.startsWith('app'))").evaluate(s)).toBe(true)
    expect(compiled("size(results.build.output.artifacts) == 2").evaluate(s)).toBe(true)
    expect(compiled("results.build.output.meta.branch == 'main'").evaluate(s)).toBe(true)
    expect(compiled("!has(results.build.output.skipped) && has(results.build.output.at)").evaluate(s)).toBe(true)
    expect(compiled("input.Name.lowerAscii() == 'release'").evaluate(s)).toBe(true)
    expect(compiled("results.build.output.at < timestamp('2026-06-01T00:00:00Z')").evaluate(s)).toBe(true)
    expect(compiled("'release' in ['release', 'hotfix'] ? true : false").evaluate(s)).toBe(true)
  })

  it("writes task ids that are not identifiers as results[\"id\"]", () => {
    const c = compiled(`results["deploy-web"].status == "skipped"`)
    expect(c.references).toStrictEqual(["deploy-web"])
    expect(c.evaluate(scope({ "deploy-web": { status: "skipped" } }))).toBe(true)
  })

  it("lists each referenced task once, in order of first use", () => {
    expect(compiled("results.test.status == results.build.status || results.test.output == null").references)
      .toStrictEqual(["test", "build"])
    expect(compiled("input.a == 1").references).toStrictEqual([])
  })

  it("a runtime error or a non-boolean result is an issue with its offset", () => {
    const missing = compiled("input.flag && results.build.output.missing")
    expect(missing.evaluate(scope({ build: { status: "completed", output: {} } }, { flag: true }))).toStrictEqual({
      message: "field not found: missing",
      offset: 34
    })
    const mixed = compiled("results.build.output.n * 1.5 > 2.0")
    const issue = mixed.evaluate(scope({ build: { status: "completed", output: { n: 2 } } }))
    expect(issue).toMatchObject({ message: expect.stringContaining("no matching overload") })
    expect(compiled("1 + 1").evaluate(scope({}))).toStrictEqual({
      message: "expected the condition to be a boolean, got int",
      offset: 0
    })
    // CEL's own absorption of errors by && / ||: false && error is false.
    expect(missing.evaluate(scope({ build: { status: "completed", output: {} } }, { flag: false }))).toBe(false)
  })
})

describe("Cel.compile: checks", () => {
  it("a syntax error is an issue with its 0-based offset", () => {
    expect(issueOf("results.build.status == ")).toMatchObject({ message: expect.stringMatching(/^syntax error: /), offset: 21 })
    expect(issueOf("input.a &&& true").offset).toBe(8)
    expect(issueOf("").offset).toBe(0)
  })

  it("an unknown task id under results is an issue at the id", () => {
    expect(issueOf("results.build.status == 'completed' && results.tset.status == 'completed'")).toStrictEqual({
      message: `unknown task "tset" in results.tset; known tasks: ["build", "test"]`,
      offset: 47
    })
    expect(issueOf(`input.x || results["nope"].status == "failed"`)).toStrictEqual({
      message: `unknown task "nope" in results["nope"]; known tasks: ["build", "test"]`,
      offset: 19
    })
  })

  it("results must be followed by a literal task id", () => {
    expect(issueOf("results[input.task].status == 'completed'")).toStrictEqual({
      message: `"results" must be indexed by a task id written as a string literal`,
      offset: 8
    })
    expect(issueOf("size(results) > 0")).toMatchObject({ message: expect.stringContaining(`"results" must be followed`), offset: 5 })
    expect(issueOf("'build' in results")).toMatchObject({ offset: 11 })
  })

  it("unknown names and unknown functions are issues; comprehension variables and type names are fine", () => {
    expect(issueOf("inptu.x == 1")).toStrictEqual({
      message: `unknown name "inptu"; expressions see "input" and "results"`,
      offset: 0
    })
    expect(issueOf("input.xs.exists(x, y > 1)")).toMatchObject({ message: `unknown name "y"; expressions see "input" and "results"` })
    expect(issueOf("input.a || launch(1)")).toStrictEqual({ message: `unknown function "launch"`, offset: 11 })
    expect(Expression.isIssue(Cel.compile("input.xs.exists(x, x > 1) && type(input.a) == int", []))).toBe(false)
    expect(Expression.isIssue(Cel.compile("[1].exists(results, results > 0)", []))).toBe(false)
  })
})

describe("Cel.compileValue (output mappings)", () => {
  it("evaluates to plain JavaScript values", () => {
    const c = Cel.compileValue("{'count': size(results.build.output.rows), 'first': results.build.output.rows[0], 'ok': true}", ["build"])
    if (Expression.isIssue(c)) throw new Error(c.message)
    expect(c.references).toStrictEqual(["build"])
    const value = c.evaluate(scope({ build: { status: "completed", output: { rows: [{ id: 7, tags: ["a"] }] } } }))
    expect(value).toStrictEqual(Result.succeed({ count: 1, first: { id: 7, tags: ["a"] }, ok: true }))
    const at = Cel.compileValue("timestamp('2026-01-01T00:00:00Z')", [])
    if (Expression.isIssue(at)) throw new Error(at.message)
    expect(at.evaluate(scope({}))).toStrictEqual(Result.succeed(new Date("2026-01-01T00:00:00Z")))
  })

  it("a runtime error is a failed Result with its offset", () => {
    const c = Cel.compileValue("results.build.output.path", ["build"])
    if (Expression.isIssue(c)) throw new Error(c.message)
    expect(c.evaluate(scope({ build: { status: "completed", output: {} } }))).toStrictEqual(
      Result.fail({ message: "field not found: path", offset: 20 })
    )
  })
})

describe("Cel.layer with definitions", () => {
  const definition = (condition: string, extra: Record<string, unknown> = {}) => ({
    name: "release",
    tasks: [
      { id: "build" },
      { id: "test", depends_on: ["build"] },
      { id: "deploy", condition, ...extra }
    ]
  })
  const decode = (input: unknown) => Plan.fromDefinition(input).pipe(Effect.provide(Cel.layer))

  it.effect("decodes an expression condition; the tasks it reads become order dependencies", () =>
    Effect.gen(function*() {
      const plan = yield* decode(definition("results.test.output.failures == 0 && input.env == 'prod'"))
      const deploy = plan.nodes[2]!
      expect(deploy.condition).toStrictEqual({
        _tag: "Expression",
        source: "results.test.output.failures == 0 && input.env == 'prod'",
        language: "cel"
      })
      expect(deploy.after).toStrictEqual(["test"])
      expect(plan.edges).toContainEqual({ from: "test", to: "deploy", kind: "order" })
    }))

  it.effect("a syntax error is InvalidDefinition at tasks[i].condition with the offset", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(decode(definition("results.test.status == ")))
      expect(error).toMatchObject({ _tag: "InvalidDefinition", path: "tasks[2].condition", taskId: "deploy" })
      expect((error as WorkflowError.InvalidDefinition).reason).toMatch(/syntax error: .* at offset 20$/)
    }))

  it.effect("an unknown task is InvalidDefinition naming it, with the offset", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(decode(definition("results.tests.status == 'completed'")))
      expect(error).toMatchObject({
        _tag: "InvalidDefinition",
        path: "tasks[2].condition",
        reason: `invalid condition "results.tests.status == 'completed'": unknown task "tests" in results.tests; ` +
          `known tasks: ["build", "deploy", "test"] at offset 8`
      })
    }))

  it.effect("a cycle through an expression is CycleDetected", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(decode({
        name: "loop",
        tasks: [{ id: "a", condition: "results.b.status == 'completed'" }, { id: "b", depends_on: ["a"] }]
      }))
      expect(error).toMatchObject({ _tag: "CycleDetected", path: ["a", "b", "a"] })
    }))

  it.effect("checks output mappings and keeps them in metadata.outputMapping", () =>
    Effect.gen(function*() {
      const plan = yield* decode({
        name: "etl",
        tasks: [
          { id: "extract" },
          { id: "load", depends_on: ["extract"], output_mapping: { rows: "size(results.load.output.rows)" } }
        ]
      })
      expect(plan.nodes[1]!.metadata.outputMapping).toStrictEqual({ rows: "size(results.load.output.rows)" })
      expect(plan.nodes[1]!.after).toStrictEqual([])
      const error = yield* Effect.flip(decode({
        name: "etl",
        tasks: [{ id: "load", outputMapping: { rows: "results.lod.output" } }]
      }))
      expect(error).toMatchObject({
        _tag: "InvalidDefinition",
        path: "tasks[0].outputMapping.rows",
        reason: `invalid output mapping "results.lod.output": unknown task "lod" in results.lod; known tasks: ["load"] at offset 8`
      })
    }))

  it.effect("without the layer, an expression condition is a definition error naming the layer", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Plan.fromDefinition(definition("results.test.status == 'completed'")))
      expect(error).toMatchObject({ _tag: "InvalidDefinition", path: "tasks[2].condition" })
      expect((error as WorkflowError.InvalidDefinition).reason).toContain("provide @troupe/cel's layer (Cel.layer)")
    }))

  it("the engine's view: the language evaluates a condition over the scope the engine builds", () => {
    // The engine calls `language.compile(source, ids).evaluate({ input, results })` in its preflight.
    const c = Cel.language.compile("results.build.status == 'completed' && !has(results.test.output.error)", [
      "build",
      "test"
    ])
    if (Expression.isIssue(c)) throw new Error(c.message)
    expect(c.evaluate({ input: undefined, results: { build: { status: "completed", output: 1 }, test: { status: "completed", output: {} } } }))
      .toBe(true)
    expect(Cel.language.name).toBe("cel")
  })
})

describe("Cel: very deep expressions are issues, never RangeError (issue 9)", () => {
  const n = 5_000
  const shapes: Record<string, string> = {
    parentheses: "(".repeat(n) + "true" + ")".repeat(n),
    lists: "[".repeat(n) + "]".repeat(n) + ".size() == 1",
    maps: "{'a': ".repeat(n) + "1" + "}".repeat(n) + ".size() == 1",
    ternaries: Array(n).fill("input.a ? true :").join(" ") + " false",
    "an operator chain": Array(n).fill("1").join(" + ") + " > 0",
    "a selection chain": "input" + ".a".repeat(n) + " == 1",
    "calls in calls": "string(".repeat(n) + "1" + ")".repeat(n) + " == '1'"
  }

  for (const [shape, source] of Object.entries(shapes)) {
    it(`${shape}, ${n} deep: an issue with an offset`, () => {
      const c = Cel.compile(source, [])
      if (!Expression.isIssue(c)) throw new Error("expected an issue")
      expect(c.message).toBe(`expression nested more than ${Cel.maxNesting} levels deep`)
      expect(c.offset).toBeTypeOf("number")
      expect(c.offset!).toBeGreaterThanOrEqual(0)
      expect(c.offset!).toBeLessThan(source.length)
    })
  }

  it("the limit itself compiles and evaluates; brackets in strings and optional access do not count", () => {
    const d = Cel.maxNesting - 2
    const ok = [
      "(".repeat(d) + "true" + ")".repeat(d),
      Array(d).fill("1").join(" + ") + " > 0",
      "input" + ".a".repeat(d - 1) + " == 1",
      Array(d).fill("false ? false :").join(" ") + " true",
      `'${"(".repeat(1000)}' != "${"[".repeat(1000)}" && r'\\' == '\\\\' && '''${"{".repeat(1000)}''' != ''`
    ]
    let nested: unknown = 1
    for (let i = 0; i < d - 1; i++) nested = { a: nested }
    for (const source of ok) {
      expect(compiled(source, []).evaluate(scope({}, nested)), source.slice(0, 40)).toBe(true)
    }
  })

  it.effect("through Plan.fromDefinition: InvalidDefinition at tasks[i].condition with the offset", () =>
    Effect.gen(function*() {
      const source = "(".repeat(n) + "true" + ")".repeat(n)
      const error = yield* Effect.flip(
        Plan.fromDefinition({ name: "deep", tasks: [{ id: "a" }, { id: "b", condition: source }] }).pipe(
          Effect.provide(Cel.layer)
        )
      )
      expect(error).toMatchObject({ _tag: "InvalidDefinition", path: "tasks[1].condition", taskId: "b" })
      expect((error as WorkflowError.InvalidDefinition).reason).toMatch(/nested more than 250 levels deep at offset 250$/)
    }))

  it("a deep input value is an evaluation issue, not a throw", () => {
    let deep: unknown = 1
    for (let i = 0; i < 100_000; i++) deep = { a: deep }
    const c = Cel.compileValue("input", [])
    if (Expression.isIssue(c)) throw new Error(c.message)
    const r = c.evaluate(scope({}, deep))
    expect(Result.isSuccess(r) || Result.isFailure(r)).toBe(true)
    // A deep output of a task read under results fails the evaluation, not the caller.
    const cond = Cel.compile("results.build.output.a == 1", ["build"])
    if (Expression.isIssue(cond)) throw new Error(cond.message)
    const verdict = cond.evaluate(scope({ build: { status: "completed", output: deep } }))
    expect(typeof verdict === "boolean" || Expression.isIssue(verdict)).toBe(true)
    if (Expression.isIssue(verdict)) expect(verdict.message).toContain("nested too deeply")
  })
})

describe("Cel: inherited names are names (issue 9)", () => {
  const ownRecord = (entries: Record<string, unknown>, extra: ReadonlyArray<readonly [string, unknown]>) => {
    const out: Record<string, unknown> = { ...entries }
    for (const [k, v] of extra) Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true })
    return out
  }

  it("a task named constructor or __proto__ is found only when it has a result, like any task", () => {
    const known = ["a", "constructor", "__proto__"]
    const absent = (id: string) => Cel.compile(`results[${JSON.stringify(id)}].status == 'completed'`, known)
    for (const id of known) {
      const c = absent(id)
      if (Expression.isIssue(c)) throw new Error(c.message)
      expect(c.evaluate(scope({})), id).toEqual({ message: `field not found: ${id}`, offset: 0 })
    }
    const results = ownRecord({}, [["__proto__", { status: "completed", output: 1 }], ["constructor", { status: "failed" }]])
    const present = compiled(
      "results['__proto__'].status == 'completed' && results['__proto__'].output == 1 && results['constructor'].status == 'failed'",
      known
    )
    expect(present.evaluate(scope(results as Expression.Scope["results"]))).toBe(true)
    expect(compiled("has(results.constructor)", known).evaluate(scope({}))).toBe(false)
  })

  it("input fields named __proto__ are kept, inherited ones are absent", () => {
    const input = ownRecord({ a: 1 }, [["__proto__", { x: 2 }]])
    expect(compiled("input.__proto__.x == 2 && input.a == 1", []).evaluate(scope({}, input))).toBe(true)
    expect(compiled("has(input.constructor) || has(input.toString)", []).evaluate(scope({}, {}))).toBe(false)
    const value = Cel.compileValue("input", [])
    if (Expression.isIssue(value)) throw new Error(value.message)
    const out = Result.getOrThrow(value.evaluate(scope({}, input))) as Record<string, unknown>
    expect(Object.getOwnPropertyDescriptor(out, "__proto__")?.value).toEqual({ x: 2 })
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype)
  })
})
