/**
 * Agent tasks in workflows run by the engine: the request an agent receives, output decoding, checks
 * before the run, routing and per-agent limits under concurrency, retries, fallback agents and per-agent
 * circuit breakers. Agents are scripted functions; time is virtual (TestClock).
 */
import { assert, describe, expect, it } from "@effect/vitest"
import { Breaker, Engine, Policy, type RunEvent, Workflow } from "@troupe/core"
import { Effect, Exit, Fiber, Layer, Schema } from "effect"
import { TestClock } from "effect/testing"
import { Agent } from "../src/index.ts"
import * as AgentRegistry from "../src/AgentRegistry.ts"
import * as AgentTask from "../src/AgentTask.ts"
import * as Skills from "../src/Skills.ts"
import { RunAssertions } from "@troupe/testing"
const { failedRun, taskError } = RunAssertions

/** Lets forked fibers run until they block. */
const settle = Effect.gen(function*() {
  for (let i = 0; i < 50; i++) yield* Effect.yieldNow
})



const SkillsLayer = Skills.layerMemory([
  { path: "skills/style/SKILL.md", text: "---\nname: house-style\ndescription: Write in our style\n---\nBe brief." },
  { path: "skills/review/SKILL.md", text: "---\nname: review\ndescription: Review code\n---\nUse the checklist." }
])

describe("Agent.task: the request and the output", () => {
  const Review = Schema.Struct({ approved: Schema.Boolean, score: Schema.Number })

  it.effect("routes by capability, hands the agent description, parameters, dependencies, skills and schema", () =>
    Effect.gen(function*() {
      const seen: Array<Agent.AgentRequest> = []
      const reviewer = Agent.fromFunction("reviewer", ["code_analysis"], (request) => {
        seen.push(request)
        return { approved: String(request.dependencies.diff).startsWith("+"), score: 7 }
      })
      const writer = Agent.fromFunction("writer", ["documentation"], () => "docs", { priority: 10 })
      const wf = Workflow.make("review", { input: Schema.Struct({ pr: Schema.Number }) })
        .task("diff", () => Effect.succeed("+ added"))
        .task("review", { dependsOn: ["diff"] }, Agent.task({
          description: "review the diff",
          requires: ["code_analysis"],
          skills: ["review"],
          output: Review,
          parameters: ({ input }: { readonly input: { readonly pr: number } }) => ({ pr: input.pr })
        }))
      const result = yield* Engine.run(wf, { pr: 42 }).pipe(
        Effect.provide(Layer.mergeAll(AgentRegistry.layer([writer, reviewer]), SkillsLayer))
      )
      expect(result.outputs.review).toEqual({ approved: true, score: 7 })
      expect(seen).toHaveLength(1)
      const request = seen[0]!
      expect(request.taskId).toBe("review")
      expect(request.description).toBe("review the diff")
      expect(request.parameters).toEqual({ pr: 42 })
      expect(request.dependencies).toEqual({ diff: "+ added" })
      expect(request.skills.map((s) => s.name)).toEqual(["review"])
      expect(request.skills[0]!.instructions).toBe("Use the checklist.")
      expect(request.outputSchema).toBe(Review)
      expect(request.attempt).toBe(1)
    }))

  it.effect("an explicit agent type wins; static parameters and attributes show in the plan node", () =>
    Effect.gen(function*() {
      const ran: Array<string> = []
      const agent = (name: string, priority: number) =>
        Agent.fromFunction(name, ["research"], (request) => {
          ran.push(name)
          return request.parameters
        }, { priority })
      const wf = Workflow.make("explicit").task("pick", Agent.task({
        description: "pick",
        requires: ["research"],
        agentType: "low",
        parameters: { depth: 2 },
        priority: 9
      }))
      const node = Workflow.compiled(wf).plan.nodes[0]!
      expect(node.taskType).toBe("agent")
      expect(node.agentType).toBe("low")
      expect(node.capabilities).toEqual(["research"])
      expect(node.parameters).toEqual({ depth: 2 })
      expect(node.priority).toBe(9)
      const result = yield* Engine.run(wf).pipe(Effect.provide(AgentRegistry.layer([agent("high", 10), agent("low", 1)])))
      expect(ran).toEqual(["low"])
      expect(result.outputs.pick).toEqual({ depth: 2 })
    }))

  it.effect("a task type routes through the routing table when no capabilities are required", () =>
    Effect.gen(function*() {
      const wf = Workflow.make("typed").task("r", Agent.task({ description: "review", taskType: "code_review" }))
      const result = yield* Engine.run(wf).pipe(Effect.provide(AgentRegistry.layer([
        Agent.fromFunction("doc", ["documentation"], () => "doc", { priority: 10 }),
        Agent.fromFunction("analyst", ["code_analysis"], () => "analyst")
      ])))
      expect(result.outputs.r).toBe("analyst")
    }))

  it.effect("the output is decoded with the schema: encoded values decode, wrong ones are retryable AgentErrors", () =>
    Effect.gen(function*() {
      class Report extends Schema.Class<Report>("Report")({ count: Schema.NumberFromString }) {}
      const good = Workflow.make("good").task("r", Agent.task({ description: "r", agentType: "a", output: Report }))
      const ok = yield* Engine.run(good).pipe(
        Effect.provide(AgentRegistry.layer([Agent.fromFunction("a", [], () => ({ count: "3" }))]))
      )
      assert.instanceOf(ok.outputs.r, Report)
      expect(ok.outputs.r.count).toBe(3)

      // An agent that already returns the decoded value (as an LLM agent does) is not decoded twice.
      const decoded = yield* Engine.run(good).pipe(
        Effect.provide(AgentRegistry.layer([Agent.fromFunction("a", [], () => new Report({ count: 5 }))]))
      )
      expect(decoded.outputs.r.count).toBe(5)

      const exit = yield* Engine.run(good).pipe(
        Effect.provide(AgentRegistry.layer([Agent.fromFunction("a", [], () => ({ total: "3" }))])),
        Effect.exit
      )
      const error = taskError(failedRun(exit), "r")
      assert(Agent.isAgentError(error))
      expect(error.agent).toBe("a")
      expect(error.retryable).toBe(true)
      expect(error.reason).toMatch(/^the output for task "r" does not match its schema: /)
    }))
})

describe("Agent.task: checked before the run", () => {
  it.effect("a missing capability fails before any task runs, listing the requirement and every agent", () =>
    Effect.gen(function*() {
      let invocations = 0
      const count = <A>(a: A) => {
        invocations++
        return a
      }
      const wf = Workflow.make("ci")
        .task("checkout", () => Effect.sync(() => count("repo")))
        .task("test", { dependsOn: ["checkout"] }, Agent.task({ description: "test", requires: ["testing"] }))
        .task("debug", { dependsOn: ["test"] }, Agent.task({ description: "fix", requires: ["testing", "debugging"] }))
      const exit = yield* Engine.run(wf).pipe(
        Effect.provide(AgentRegistry.layer([
          Agent.fromFunction("tester", ["testing"], () => count("tested")),
          Agent.fromFunction("fixer", ["debugging", "code_generation"], () => count("fixed"))
        ])),
        Effect.exit
      )
      expect(invocations).toBe(0)
      const failed = failedRun(exit)
      expect(failed.runId).toBe("(not started)")
      expect(failed.completed).toEqual([])
      expect(failed.failures.map((f) => f.taskId)).toEqual(["debug"])
      const error = taskError(failed, "debug")
      assert(error instanceof AgentRegistry.NoMatchingAgent)
      expect(error.message).toBe(
        "No agent has all the capabilities [testing, debugging] required by task \"debug\". " +
          "Registered agents: tester [testing], fixer [debugging, code_generation]"
      )
    }))

  it.effect("a missing skill fails before the run with the seeds' message", () =>
    Effect.gen(function*() {
      let invocations = 0
      const wf = Workflow.make("docs")
        .task("first", () => Effect.sync(() => invocations++))
        .task("write", Agent.task({ description: "write", requires: ["documentation"], skills: ["house-style", "tone"] }))
      const exit = yield* Engine.run(wf).pipe(
        Effect.provide(Layer.mergeAll(
          AgentRegistry.layer([Agent.fromFunction("writer", ["documentation"], () => invocations++)]),
          SkillsLayer
        )),
        Effect.exit
      )
      expect(invocations).toBe(0)
      const error = taskError(failedRun(exit), "write")
      assert(error instanceof Skills.SkillNotFound)
      expect(error.message).toBe("Required skill 'tone' not found. Available skills: [house-style, review]")
    }))

  it.effect("an unknown fallback agent fails before the run", () =>
    Effect.gen(function*() {
      const wf = Workflow.make("fb").task("t", Agent.task({ description: "t", requires: ["research"], fallbackAgent: "ghost" }))
      const exit = yield* Engine.run(wf).pipe(
        Effect.provide(AgentRegistry.layer([Agent.fromFunction("r", ["research"], () => 1)])),
        Effect.exit
      )
      const error = taskError(failedRun(exit), "t")
      assert(error instanceof AgentRegistry.UnknownAgent)
      expect(error.message).toBe("Agent type \"ghost\" required by task \"t\" is not registered. Registered agents: [r]")
    }))
})

describe("Agent.task: routing and per-agent limits under concurrency", () => {
  it.effect("parallel agent tasks spread over the covering agents without exceeding any agent's limit", () =>
    Effect.gen(function*() {
      const running: Record<string, number> = {}
      const peak: Record<string, number> = {}
      const ranBy: Record<string, string> = {}
      let globalRunning = 0
      let globalPeak = 0
      const researcher = (name: string, maxConcurrent: number, priority = 5) =>
        Agent.fromFunction(name, ["research", "general_purpose"], (request) =>
          Effect.gen(function*() {
            running[name] = (running[name] ?? 0) + 1
            peak[name] = Math.max(peak[name] ?? 0, running[name]!)
            globalPeak = Math.max(globalPeak, ++globalRunning)
            ranBy[request.taskId] = name
            yield* Effect.sleep("1 second")
            running[name]!--
            globalRunning--
            return `${name}:${request.taskId}`
          }), { maxConcurrent, priority })
      const writer = Agent.fromFunction("writer", ["documentation"], (request) =>
        Effect.sync(() => {
          ranBy[request.taskId] = "writer"
          return "doc"
        }), { priority: 10, maxConcurrent: 5 })
      const research = (i: number) => Agent.task({ description: `topic ${i}`, requires: ["research"] })
      const wf = Workflow.make("fanout")
        .task("q1", research(1))
        .task("q2", research(2))
        .task("q3", research(3))
        .task("q4", research(4))
        .task("q5", research(5))
        .task("q6", research(6))
        .task("summary", { dependsOn: ["q1", "q2", "q3", "q4", "q5", "q6"] }, Agent.task({
          description: "summarise",
          requires: ["documentation"]
        }))
      const fiber = yield* Engine.run(wf).pipe(
        Effect.provide(AgentRegistry.layer([researcher("alpha", 2), researcher("beta", 1), writer])),
        Effect.forkChild
      )
      yield* settle
      // Three slots in all: alpha runs two tasks, beta one; the other three wait.
      expect(globalRunning).toBe(3)
      expect(running).toEqual({ alpha: 2, beta: 1 })
      yield* TestClock.adjust("1 second")
      yield* settle
      expect(globalRunning).toBe(3)
      yield* TestClock.adjust("1 second")
      const result = yield* Fiber.join(fiber)
      expect(peak).toEqual({ alpha: 2, beta: 1 })
      expect(globalPeak).toBe(3)
      const researchers = ["q1", "q2", "q3", "q4", "q5", "q6"].map((id) => ranBy[id])
      expect(researchers.filter((n) => n === "alpha")).toHaveLength(4)
      expect(researchers.filter((n) => n === "beta")).toHaveLength(2)
      expect(ranBy.summary).toBe("writer")
      expect(result.outputs.summary).toBe("doc")
      expect(result.outputs.q1).toMatch(/^(alpha|beta):q1$/)
    }))

  it.effect("twenty tasks with uneven run lengths: limits hold, only covering agents run, all finish", () =>
    Effect.gen(function*() {
      let seed = 7
      const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648
      const running: Record<string, number> = {}
      const peak: Record<string, number> = {}
      const runs: Record<string, number> = {}
      const agent = (name: string, capabilities: ReadonlyArray<"research" | "documentation">, maxConcurrent: number, priority: number) =>
        Agent.fromFunction(name, capabilities, () =>
          Effect.gen(function*() {
            running[name] = (running[name] ?? 0) + 1
            runs[name] = (runs[name] ?? 0) + 1
            peak[name] = Math.max(peak[name] ?? 0, running[name]!)
            const steps = Math.floor(random() * 20)
            for (let i = 0; i < steps; i++) yield* Effect.yieldNow
            running[name]!--
            return name
          }), { maxConcurrent, priority })
      const ids = Array.from({ length: 20 }, (_, i) => `t${i}`)
      // Task ids are only known at run time here: build the workflow through a loosely typed view.
      type Loose = { readonly task: (id: string, task: unknown) => Loose }
      const wf = ids.reduce(
        (w, id) => w.task(id, Agent.task({ description: id, requires: ["research"] })),
        Workflow.make("many") as unknown as Loose
      ) as unknown as Workflow.Workflow<"many", void, Record<string, string>, unknown, AgentRegistry.AgentRegistry>
      const result = yield* Engine.run(wf).pipe(Effect.provide(AgentRegistry.layer([
        agent("a", ["research"], 3, 5),
        agent("b", ["research", "documentation"], 2, 5),
        agent("c", ["research"], 1, 7),
        agent("docs", ["documentation"], 10, 10)
      ])))
      expect(Object.keys(result.outputs).sort()).toEqual([...ids].sort())
      expect(peak.a).toBeLessThanOrEqual(3)
      expect(peak.b).toBeLessThanOrEqual(2)
      expect(peak.c).toBe(1)
      expect(runs.docs).toBeUndefined()
      expect((runs.a ?? 0) + (runs.b ?? 0) + (runs.c ?? 0)).toBe(20)
      // All twenty are dispatched at once: the first six fill every slot.
      expect(peak.a).toBe(3)
      expect(peak.b).toBe(2)
    }))

  it.effect("a higher-priority agent is preferred while it has a free slot", () =>
    Effect.gen(function*() {
      const ranBy: Array<string> = []
      const agent = (name: string, priority: number, maxConcurrent: number) =>
        Agent.fromFunction(name, ["testing"], () =>
          Effect.sync(() => ranBy.push(name)).pipe(Effect.andThen(Effect.sleep("1 second")), Effect.as(name)), {
          priority,
          maxConcurrent
        })
      const t = Agent.task({ description: "t", requires: ["testing"] })
      const wf = Workflow.make("prio").task("a", t).task("b", t).task("c", t)
      const fiber = yield* Engine.run(wf).pipe(
        Effect.provide(AgentRegistry.layer([agent("junior", 1, 3), agent("senior", 9, 2)])),
        Effect.forkChild
      )
      yield* settle
      expect([...ranBy].sort()).toEqual(["junior", "senior", "senior"])
      yield* TestClock.adjust("1 second")
      const result = yield* Fiber.join(fiber)
      expect(Object.values(result.outputs).sort()).toEqual(["junior", "senior", "senior"])
    }))
})

describe("Agent.task: resilience", () => {
  const flaky = (
    name: string,
    failures: number,
    error: (attempt: number) => Agent.AgentError,
    log: Array<string>
  ) => {
    let calls = 0
    return Agent.make({
      name,
      capabilities: ["api_integration"],
      run: (request) =>
        Effect.suspend(() => {
          calls++
          log.push(`${name}#${request.attempt}`)
          return calls <= failures ? Effect.fail(error(request.attempt)) : Effect.succeed({ output: `${name} ok` })
        })
    })
  }

  it.effect("retries retryable agent failures, waiting the Retry-After a rate limit asked for", () =>
    Effect.gen(function*() {
      const log: Array<string> = []
      const events: Array<RunEvent.RunEvent> = []
      const agent = flaky("api", 2, (attempt) =>
        new Agent.AgentError({ agent: "api", reason: `rate limited ${attempt}`, retryable: true, retryAfterMs: 5000 }), log)
      const wf = Workflow.make("retry").task("call", Agent.task({
        description: "call",
        requires: ["api_integration"],
        retry: Policy.exponential({ maxRetries: 3, initialDelay: "100 millis", maxDelay: "1 minute" })
      }))
      const fiber = yield* Engine.run(wf, undefined, { onEvent: (e) => events.push(e) }).pipe(
        Effect.provide(AgentRegistry.layer([agent])),
        Effect.forkChild
      )
      yield* settle
      expect(log).toEqual(["api#1"])
      yield* TestClock.adjust("4999 millis")
      yield* settle
      expect(log).toEqual(["api#1"])
      yield* TestClock.adjust("1 millis")
      yield* settle
      expect(log).toEqual(["api#1", "api#2"])
      yield* TestClock.adjust("5 seconds")
      const result = yield* Fiber.join(fiber)
      expect(result.outputs.call).toBe("api ok")
      expect(log).toEqual(["api#1", "api#2", "api#3"])
      expect(events.filter((e) => e._tag === "TaskRetrying").map((e) => e._tag === "TaskRetrying" && e.delayMs))
        .toEqual([5000, 5000])
    }))

  it.effect("does not retry an agent failure that is not retryable", () =>
    Effect.gen(function*() {
      const log: Array<string> = []
      const agent = flaky("api", 5, () => new Agent.AgentError({ agent: "api", reason: "bad request", retryable: false }), log)
      const wf = Workflow.make("noretry").task("call", Agent.task({
        description: "call",
        requires: ["api_integration"],
        retry: Policy.fixed({ maxRetries: 3, initialDelay: "1 second" })
      }))
      const exit = yield* Engine.run(wf).pipe(Effect.provide(AgentRegistry.layer([agent])), Effect.exit)
      expect(log).toEqual(["api#1"])
      const error = taskError(failedRun(exit), "call")
      assert(Agent.isAgentError(error))
      expect(error.reason).toBe("bad request")
    }))

  it.effect("the fallback agent runs once the retries are exhausted", () =>
    Effect.gen(function*() {
      const log: Array<string> = []
      const primary = flaky("primary", 100, () => new Agent.AgentError({ agent: "primary", reason: "down", retryable: true }), log)
      const backup = flaky("backup", 0, () => new Agent.AgentError({ agent: "backup", reason: "x", retryable: true }), log)
      const wf = Workflow.make("fb").task("call", Agent.task({
        description: "call",
        agentType: "primary",
        retry: Policy.fixed({ maxRetries: 2, initialDelay: "1 second" }),
        fallbackAgent: "backup"
      }))
      const fiber = yield* Engine.run(wf).pipe(Effect.provide(AgentRegistry.layer([primary, backup])), Effect.forkChild)
      yield* TestClock.adjust("2 seconds")
      const result = yield* Fiber.join(fiber)
      expect(result.outputs.call).toBe("backup ok")
      expect(log).toEqual(["primary#1", "primary#2", "primary#3", "backup#3"])
    }))

  it.effect("the fallback agent runs at once after a non-retryable failure, or without a retry policy", () =>
    Effect.gen(function*() {
      const log: Array<string> = []
      const primary = flaky("primary", 100, () => new Agent.AgentError({ agent: "primary", reason: "no", retryable: false }), log)
      const backup = flaky("backup", 0, () => new Agent.AgentError({ agent: "backup", reason: "x", retryable: true }), log)
      const layer = AgentRegistry.layer([primary, backup])
      const withRetry = Workflow.make("a").task("call", Agent.task({
        description: "call",
        agentType: "primary",
        retry: Policy.fixed({ maxRetries: 5, initialDelay: "1 second" }),
        fallbackAgent: "backup"
      }))
      expect((yield* Engine.run(withRetry).pipe(Effect.provide(layer))).outputs.call).toBe("backup ok")
      const withoutRetry = Workflow.make("b").task("call", Agent.task({
        description: "call",
        agentType: "primary",
        fallbackAgent: "backup"
      }))
      expect((yield* Engine.run(withoutRetry).pipe(Effect.provide(layer))).outputs.call).toBe("backup ok")
      expect(log).toEqual(["primary#1", "backup#1", "primary#1", "backup#1"])
    }))

  it.effect("the fallback decision follows the policy's rules", () =>
    Effect.gen(function*() {
      class RateLimited extends Schema.TaggedError<RateLimited>()("RateLimited", {}) {}
      const log: Array<string> = []
      let calls = 0
      const primary = Agent.make({
        name: "primary",
        capabilities: [],
        run: (request) =>
          Effect.suspend(() => {
            log.push(`primary#${request.attempt}`)
            calls++
            return Effect.fail(calls >= 3 ? new RateLimited() : new Agent.AgentError({ agent: "primary", reason: "5xx", retryable: true }))
          })
      })
      const backup = Agent.fromFunction("backup", [], (request) => {
        log.push(`backup#${request.attempt}`)
        return "backup ok"
      })
      // RateLimited (wrapped in an AgentError by the registry) has its own rule: one retry; other errors: five.
      const wf = Workflow.make("rules").task("call", Agent.task({
        description: "call",
        agentType: "primary",
        retry: Policy.fixed({
          maxRetries: 5,
          initialDelay: "1 second",
          rules: [{
            on: [Policy.matching((e) => Agent.isAgentError(e) && e.cause instanceof RateLimited)],
            maxRetries: 1,
            initialDelay: "1 second"
          }]
        }),
        fallbackAgent: "backup"
      }))
      const fiber = yield* Engine.run(wf).pipe(Effect.provide(AgentRegistry.layer([primary, backup])), Effect.forkChild)
      yield* TestClock.adjust("10 seconds")
      const result = yield* Fiber.join(fiber)
      expect(result.outputs.call).toBe("backup ok")
      // 5xx (policy retry 1), 5xx (policy retry 2), rate limited (rule retry 1), rate limited again: its rule
      // allows one retry, so the fallback runs on attempt 4 (counting attempts alone would stop at 3).
      expect(log).toEqual(["primary#1", "primary#2", "primary#3", "primary#4", "backup#4"])
    }))

  it.effect("each agent has its own circuit breaker: an open one is passed over, then probed after the reset", () =>
    Effect.gen(function*() {
      const log: Array<string> = []
      let healthy = false
      const main = Agent.make({
        name: "main",
        capabilities: ["research"],
        priority: 9,
        run: () =>
          Effect.suspend(() => {
            log.push("main")
            return healthy
              ? Effect.succeed({ output: "main ok" })
              : Effect.fail(new Agent.AgentError({ agent: "main", reason: "down", retryable: true }))
          })
      })
      const spare = Agent.fromFunction("spare", ["research"], () => {
        log.push("spare")
        return "spare ok"
      }, { priority: 1 })
      const breakers = AgentTask.breakers({ maxFailures: 2, resetTimeout: "30 seconds" })
      const t = Agent.task({ description: "r", requires: ["research"], breaker: breakers })
      const wf = Workflow.make("one").task("r", t)
      const registry = yield* Layer.build(AgentRegistry.layer([main, spare]))
      const changes: Array<string> = []
      const run = Engine.run(wf, undefined, {
        onEvent: (e) => {
          if (e._tag === "BreakerStateChanged") changes.push(`${e.breaker}: ${e.from} → ${e.to} @${e.at}`)
        }
      }).pipe(Effect.provideContext(registry), Effect.exit)

      // Two failures open main's breaker (a BreakerStateChanged event of the run).
      expect(Exit.isFailure(yield* run)).toBe(true)
      expect(Exit.isFailure(yield* run)).toBe(true)
      expect(changes).toEqual(["main: closed → open @0"])
      // Now routing passes over main: spare runs.
      const third = yield* run
      assert(Exit.isSuccess(third))
      expect(third.value.outputs.r).toBe("spare ok")
      expect(log).toEqual(["main", "main", "spare"])

      // After the reset timeout main is probed again and, healthy, closes its breaker.
      healthy = true
      yield* TestClock.adjust("30 seconds")
      const fourth = yield* run
      assert(Exit.isSuccess(fourth))
      expect(fourth.value.outputs.r).toBe("main ok")
      expect(changes).toEqual([
        "main: closed → open @0",
        "main: open → half-open @30000",
        "main: half-open → closed @30000"
      ])
      expect(breakers.get(yield* AgentRegistry.AgentRegistry.pipe(Effect.provideContext(registry)), "main").state(30_000))
        .toBe("closed")
    }))

  it.effect("when every candidate's breaker is open the task fails with CircuitOpen", () =>
    Effect.gen(function*() {
      const down = Agent.make({
        name: "down",
        capabilities: ["research"],
        run: () => Effect.fail(new Agent.AgentError({ agent: "down", reason: "down", retryable: true }))
      })
      const wf = Workflow.make("open").task("r", Agent.task({
        description: "r",
        requires: ["research"],
        breaker: { maxFailures: 1, resetTimeout: "10 seconds" }
      }))
      const registry = yield* Layer.build(AgentRegistry.layer([down]))
      yield* TestClock.adjust("1 second")
      const first = yield* Engine.run(wf).pipe(Effect.provideContext(registry), Effect.exit)
      expect(Agent.isAgentError(taskError(failedRun(first), "r"))).toBe(true)
      const second = yield* Engine.run(wf).pipe(Effect.provideContext(registry), Effect.exit)
      const error = taskError(failedRun(second), "r")
      assert(error instanceof Breaker.CircuitOpen)
      expect(error.retryAfterMs).toBe(10_000)
      expect(error.message).toBe(
        "Circuit breaker \"down\" is open: task \"r\" not run (retry in 10000 ms)"
      )
    }))
})
