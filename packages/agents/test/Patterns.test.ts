/**
 * The multi-agent patterns as tasks of workflows run by the engine, with scripted function agents (no
 * network) and virtual time.
 */
import { assert, describe, expect, it } from "@effect/vitest"
import { Engine, Workflow, WorkflowError } from "@troupe/core"
import { Effect, Fiber, Schema } from "effect"
import { TestClock } from "effect/testing"
import * as Agent from "../src/Agent.ts"
import * as AgentRegistry from "../src/AgentRegistry.ts"
import * as Patterns from "../src/Patterns.ts"
import { RunAssertions } from "@troupe/testing"
const { failedRun, taskError } = RunAssertions



const settle = Effect.gen(function*() {
  for (let i = 0; i < 50; i++) yield* Effect.yieldNow
})

/** A scripted agent that records every request it gets. */
const scripted = (
  name: string,
  f: (request: Agent.AgentRequest) => unknown,
  log: Array<Agent.AgentRequest & { readonly agent: string }>,
  options?: { readonly maxConcurrent?: number; readonly delay?: string }
) =>
  Agent.fromFunction(name, ["general_purpose"], (request) =>
    Effect.gen(function*() {
      log.push({ ...request, agent: name })
      if (options?.delay !== undefined) yield* Effect.sleep(options.delay as "1 second")
      return f(request)
    }), { maxConcurrent: options?.maxConcurrent ?? 1 })

describe("supervisor", () => {
  const Report = Schema.Struct({ summary: Schema.String, parts: Schema.Number })

  it.effect("splits the task among named agents, runs their work as a workflow, and combines the results", () =>
    Effect.gen(function*() {
      const log: Array<Agent.AgentRequest & { readonly agent: string }> = []
      const lead = scripted("lead", (request) => {
        if (request.parameters.phase === "plan") {
          return {
            subtasks: [
              { agent: "coder", description: "write the parser" },
              { id: "tests", agent: "tester", description: "test the parser", dependsOn: ["subtask_1"] },
              { agent: "writer", description: "document the parser", id: null, dependsOn: null }
            ]
          }
        }
        const subtasks = request.dependencies.subtasks as ReadonlyArray<Patterns.SubtaskResult>
        return { summary: subtasks.map((s) => `${s.id}=${String(s.output)}`).join("; "), parts: subtasks.length }
      }, log)
      const worker = (name: string) =>
        scripted(name, (request) => `${name} did "${request.description}" for ${String(request.dependencies.spec)}`, log, {
          delay: "1 second"
        })
      const wf = Workflow.make("build")
        .task("spec", () => Effect.succeed("spec-v1"))
        .task("build", { dependsOn: ["spec"] }, Patterns.supervisor({
          description: "build a parser",
          supervisor: "lead",
          output: Report
        }))
      const fiber = yield* Engine.run(wf).pipe(
        Effect.provide(AgentRegistry.layer([lead, worker("coder"), worker("tester"), worker("writer")])),
        Effect.forkChild
      )
      yield* settle
      // coder and writer start together; tester waits for the coder's output.
      expect(log.map((r) => r.agent)).toEqual(["lead", "coder", "writer"])
      yield* TestClock.adjust("1 second")
      yield* settle
      expect(log.map((r) => r.agent)).toEqual(["lead", "coder", "writer", "tester"])
      yield* TestClock.adjust("1 second")
      const result = yield* Fiber.join(fiber)

      const build = result.outputs.build
      expect(build.result).toEqual({
        summary: "subtask_1=coder did \"write the parser\" for spec-v1; " +
          "tests=tester did \"test the parser\" for spec-v1; " +
          "subtask_3=writer did \"document the parser\" for spec-v1",
        parts: 3
      })
      expect(build.subtasks.map((s) => [s.id, s.agent, s.dependsOn])).toEqual([
        ["subtask_1", "coder", []],
        ["tests", "tester", ["subtask_1"]],
        ["subtask_3", "writer", []]
      ])

      const plan = log[0]!
      expect(plan.parameters.phase).toBe("plan")
      expect(plan.outputSchema).toBe(Patterns.SubtaskPlan)
      expect(plan.dependencies).toEqual({ spec: "spec-v1" })
      expect((plan.parameters.agents as ReadonlyArray<{ readonly name: string }>).map((a) => a.name))
        .toEqual(["coder", "tester", "writer"])
      const tester = log.find((r) => r.agent === "tester")!
      expect(tester.dependencies).toEqual({ spec: "spec-v1", subtask_1: "coder did \"write the parser\" for spec-v1" })
      expect(tester.taskId).toBe("tests")
      const combine = log[log.length - 1]!
      expect(combine.agent).toBe("lead")
      expect(combine.parameters.phase).toBe("combine")
      expect(combine.outputSchema).toBe(Report)
    }))

  const planOnly = (subtasks: ReadonlyArray<Record<string, unknown>>) => {
    const log: Array<Agent.AgentRequest & { readonly agent: string }> = []
    return {
      log,
      agents: [
        scripted("lead", (r) => r.parameters.phase === "plan" ? { subtasks } : "combined", log),
        scripted("coder", () => "code", log),
        scripted("writer", () => "docs", log)
      ]
    }
  }

  it.effect("a subtask for an agent that is not available fails the task with a PatternError", () =>
    Effect.gen(function*() {
      const { agents, log } = planOnly([{ agent: "coder", description: "a" }, { agent: "writer", description: "b" }])
      const wf = Workflow.make("s").task("s", Patterns.supervisor({ description: "x", supervisor: "lead", agents: ["coder"] }))
      const exit = yield* Engine.run(wf).pipe(Effect.provide(AgentRegistry.layer(agents)), Effect.exit)
      const error = taskError(failedRun(exit), "s")
      assert(error instanceof Patterns.PatternError)
      expect(error.message).toBe(
        "The supervisor pattern of task \"s\" failed: subtask \"subtask_2\" is for agent \"writer\", " +
          "which is not one of the available agents [coder]"
      )
      expect(log.map((r) => r.agent)).toEqual(["lead"])
    }))

  it.effect("subtasks that depend on each other in a cycle fail the task", () =>
    Effect.gen(function*() {
      const { agents } = planOnly([
        { id: "a", agent: "coder", description: "a", dependsOn: ["b"] },
        { id: "b", agent: "writer", description: "b", dependsOn: ["a"] }
      ])
      const wf = Workflow.make("s").task("s", Patterns.supervisor({ description: "x", supervisor: "lead" }))
      const exit = yield* Engine.run(wf).pipe(Effect.provide(AgentRegistry.layer(agents)), Effect.exit)
      const error = taskError(failedRun(exit), "s")
      assert(error instanceof Patterns.PatternError)
      expect(error.reason).toBe("subtasks \"a\", \"b\" depend on each other in a cycle")
    }))

  it.effect("a failing subtask fails the supervisor with the subtasks' WorkflowFailed", () =>
    Effect.gen(function*() {
      const log: Array<Agent.AgentRequest & { readonly agent: string }> = []
      const broken = Agent.make({
        name: "broken",
        capabilities: [],
        run: () => Effect.fail(new Agent.AgentError({ agent: "broken", reason: "no", retryable: false }))
      })
      const lead = scripted("lead", () => ({ subtasks: [{ agent: "broken", description: "fail" }] }), log)
      const wf = Workflow.make("s").task("s", Patterns.supervisor({ description: "x", supervisor: "lead" }))
      const exit = yield* Engine.run(wf).pipe(Effect.provide(AgentRegistry.layer([lead, broken])), Effect.exit)
      const error = taskError(failedRun(exit), "s")
      assert(error instanceof WorkflowError.WorkflowFailed)
      expect(error.workflow).toBe("s/s")
      const inner = taskError(error, "subtask_1")
      assert(Agent.isAgentError(inner))
      expect(inner.reason).toBe("no")
    }))

  it.effect("an unknown agent name fails the run before anything runs", () =>
    Effect.gen(function*() {
      const { agents, log } = planOnly([])
      let ran = 0
      const wf = Workflow.make("s")
        .task("first", () => Effect.sync(() => ran++))
        .task("s", Patterns.supervisor({ description: "x", supervisor: "lead", agents: ["coder", "ghost"] }))
      const exit = yield* Engine.run(wf).pipe(Effect.provide(AgentRegistry.layer(agents)), Effect.exit)
      expect(ran).toBe(0)
      expect(log).toEqual([])
      const error = taskError(failedRun(exit), "s")
      assert(error instanceof AgentRegistry.UnknownAgent)
      expect(error.agentType).toBe("ghost")
    }))
})

describe("consensus", () => {
  const voter = (name: string, decision: string, log: Array<Agent.AgentRequest & { readonly agent: string }>) =>
    scripted(name, () => ({ decision, reasoning: `${name} thinks ${decision}` }), log, { delay: "1 second" })

  it.effect("voters vote in parallel; a decision reaching the threshold wins", () =>
    Effect.gen(function*() {
      const log: Array<Agent.AgentRequest & { readonly agent: string }> = []
      const wf = Workflow.make("vote")
        .task("notes", () => Effect.succeed("v2 notes"))
        .task("go", { dependsOn: ["notes"] }, Patterns.consensus({
          description: "ship v2?",
          voters: ["qa", "ops", "pm"],
          choices: ["ship", "wait"],
          threshold: 2 / 3
        }))
      const fiber = yield* Engine.run(wf).pipe(
        Effect.provide(AgentRegistry.layer([voter("qa", "ship", log), voter("ops", "ship", log), voter("pm", "wait", log)])),
        Effect.forkChild
      )
      yield* settle
      expect(log.map((r) => r.agent)).toEqual(["qa", "ops", "pm"])
      yield* TestClock.adjust("1 second")
      const result = yield* Fiber.join(fiber)
      const go = result.outputs.go
      expect(go.decision).toBe("ship")
      expect(go.reached).toBe(true)
      expect(go.agreement).toBeCloseTo(2 / 3)
      expect(go.tally).toEqual({ ship: 2, wait: 1 })
      expect(go.votes).toEqual([
        { agent: "qa", decision: "ship", reasoning: "qa thinks ship" },
        { agent: "ops", decision: "ship", reasoning: "ops thinks ship" },
        { agent: "pm", decision: "wait", reasoning: "pm thinks wait" }
      ])
      expect(go.reasoning).toBe("qa (ship): qa thinks ship\nops (ship): ops thinks ship")
      expect(log[0]!.parameters).toEqual({ voter: 1, voters: 3, choices: ["ship", "wait"] })
      expect(log[0]!.dependencies).toEqual({ notes: "v2 notes" })
    }))

  it.effect("below the threshold there is no decision", () =>
    Effect.gen(function*() {
      const log: Array<Agent.AgentRequest & { readonly agent: string }> = []
      const wf = Workflow.make("vote").task("go", Patterns.consensus({
        description: "ship?",
        voters: ["qa", "ops", "pm"],
        threshold: 0.75
      }))
      const fiber = yield* Engine.run(wf).pipe(
        Effect.provide(AgentRegistry.layer([voter("qa", "ship", log), voter("ops", " ship ", log), voter("pm", "wait", log)])),
        Effect.forkChild
      )
      yield* TestClock.adjust("1 second")
      const { outputs } = yield* Fiber.join(fiber)
      expect(outputs.go.decision).toBeNull()
      expect(outputs.go.reached).toBe(false)
      expect(outputs.go.tally).toEqual({ ship: 2, wait: 1 })
      expect(outputs.go.reasoning.split("\n")).toHaveLength(3)
    }))

  it.effect("a vote outside the choices is a retryable AgentError of the voter", () =>
    Effect.gen(function*() {
      const log: Array<Agent.AgentRequest & { readonly agent: string }> = []
      const wf = Workflow.make("vote").task("go", Patterns.consensus({
        description: "ship?",
        voters: ["qa"],
        choices: ["ship", "wait"]
      }))
      const fiber = yield* Engine.run(wf).pipe(
        Effect.provide(AgentRegistry.layer([voter("qa", "maybe", log)])),
        Effect.exit,
        Effect.forkChild
      )
      yield* TestClock.adjust("1 second")
      const error = taskError(failedRun(yield* Fiber.join(fiber)), "go")
      assert(Agent.isAgentError(error))
      expect(error.agent).toBe("qa")
      expect(error.retryable).toBe(true)
    }))

  it("tally: ties and thresholds", () => {
    const v = (agent: string, decision: string) => ({ agent, decision, reasoning: agent })
    expect(Patterns.tally([v("a", "x"), v("b", "y")], 0.5)).toMatchObject({ decision: null, reached: false, agreement: 0.5 })
    expect(Patterns.tally([v("a", "x"), v("b", "y"), v("c", "x"), v("d", "z")], 0.5)).toMatchObject({
      decision: "x",
      reached: true
    })
    expect(Patterns.tally([v("a", "x")], 1)).toMatchObject({ decision: "x", reached: true, agreement: 1 })
  })

  it("rejects an empty electorate and a threshold outside (0, 1]", () => {
    expect(() => Patterns.consensus({ description: "x", voters: [] })).toThrow(RangeError)
    expect(() => Patterns.consensus({ description: "x", voters: ["a"], threshold: 0 })).toThrow(RangeError)
    expect(() => Patterns.consensus({ description: "x", voters: ["a"], threshold: 1.5 })).toThrow(RangeError)
  })
})

describe("debate", () => {
  it.effect("pro and con argue for N rounds, pro first, seeing the transcript; the judge decides", () =>
    Effect.gen(function*() {
      const log: Array<Agent.AgentRequest & { readonly agent: string }> = []
      const debater = (name: string) =>
        scripted(name, (r) => {
          const heard = (r.dependencies.transcript as ReadonlyArray<Patterns.Turn>).length
          return `${name} r${String(r.parameters.round)} (${String(r.parameters.side)}, heard ${heard})`
        }, log)
      const judge = scripted("cto", (r) => {
        const transcript = r.dependencies.transcript as ReadonlyArray<Patterns.Turn>
        return { winner: "con", verdict: `con answered all ${transcript.length} arguments` }
      }, log)
      const wf = Workflow.make("motion").task("debate", Patterns.debate({
        description: "rewrite it in Rust",
        pro: "optimist",
        con: "skeptic",
        judge: "cto",
        rounds: 2
      }))
      const { outputs } = yield* Engine.run(wf).pipe(
        Effect.provide(AgentRegistry.layer([debater("optimist"), debater("skeptic"), judge]))
      )
      expect(outputs.debate.transcript).toEqual([
        { round: 1, side: "pro", agent: "optimist", argument: "optimist r1 (pro, heard 0)" },
        { round: 1, side: "con", agent: "skeptic", argument: "skeptic r1 (con, heard 1)" },
        { round: 2, side: "pro", agent: "optimist", argument: "optimist r2 (pro, heard 2)" },
        { round: 2, side: "con", agent: "skeptic", argument: "skeptic r2 (con, heard 3)" }
      ])
      expect(outputs.debate.winner).toBe("con")
      expect(outputs.debate.winnerAgent).toBe("skeptic")
      expect(outputs.debate.verdict).toBe("con answered all 4 arguments")
      const judged = log[log.length - 1]!
      expect(judged.agent).toBe("cto")
      expect(judged.outputSchema).toBe(Patterns.Verdict)
      expect(log[0]!.description).toBe("Argue for the motion: rewrite it in Rust")
      expect(log[1]!.description).toBe("Argue against the motion: rewrite it in Rust")
    }))

  it.effect("a verdict without a valid winner fails", () =>
    Effect.gen(function*() {
      const wf = Workflow.make("motion").task("debate", Patterns.debate({
        description: "m",
        pro: "a",
        con: "a",
        judge: "j",
        rounds: 1
      }))
      const exit = yield* Engine.run(wf).pipe(
        Effect.provide(AgentRegistry.layer([
          Agent.fromFunction("a", [], () => "arg"),
          Agent.fromFunction("j", [], () => ({ winner: "both", verdict: "tie" }))
        ])),
        Effect.exit
      )
      assert(Agent.isAgentError(taskError(failedRun(exit), "debate")))
    }))
})

describe("chain of thought", () => {
  it.effect("the reasoner goes through the steps in order; the last step's output is the typed answer", () =>
    Effect.gen(function*() {
      const log: Array<Agent.AgentRequest & { readonly agent: string }> = []
      const reasoner = scripted("thinker", (r) => {
        const chain = r.dependencies.chain as ReadonlyArray<Patterns.Thought>
        if (r.parameters.stepIndex === r.parameters.steps) {
          return { days: chain.length * 10 }
        }
        return `thought ${String(r.parameters.stepIndex)} after ${chain.map((t) => t.index).join(",") || "nothing"}`
      }, log)
      const wf = Workflow.make("estimate", { input: Schema.Struct({ tables: Schema.Number }) })
        .task("estimate", Patterns.chainOfThought({
          description: "estimate the migration",
          reasoner: "thinker",
          steps: ["list the tables", "estimate each", "add them up"],
          parameters: ({ input }: { readonly input: { readonly tables: number } }) => ({ tables: input.tables }),
          output: Schema.Struct({ days: Schema.Number })
        }))
      const { outputs } = yield* Engine.run(wf, { tables: 12 }).pipe(Effect.provide(AgentRegistry.layer([reasoner])))
      expect(outputs.estimate.answer).toEqual({ days: 20 })
      expect(outputs.estimate.chain).toEqual([
        { index: 1, step: "list the tables", thought: "thought 1 after nothing" },
        { index: 2, step: "estimate each", thought: "thought 2 after 1" },
        { index: 3, step: "add them up", thought: "{\"days\":20}" }
      ])
      expect(log.map((r) => r.parameters.tables)).toEqual([12, 12, 12])
      expect(log.map((r) => r.outputSchema === undefined)).toEqual([true, true, false])
      expect(log[1]!.description).toBe("estimate the migration\n\nStep 2 of 3: estimate each")
    }))

  it.effect("without an output schema the answer is the last thought", () =>
    Effect.gen(function*() {
      const wf = Workflow.make("c").task("c", Patterns.chainOfThought({
        description: "d",
        reasoner: "r",
        steps: ["one", "two"]
      }))
      const { outputs } = yield* Engine.run(wf).pipe(
        Effect.provide(AgentRegistry.layer([Agent.fromFunction("r", [], (req) => `did ${String(req.parameters.step)}`)]))
      )
      expect(outputs.c.answer).toBe("did two")
      expect(outputs.c.chain.map((t) => t.thought)).toEqual(["did one", "did two"])
    }))
})

describe("collaborative", () => {
  const team = (doneAtTurn: number | undefined) => {
    const log: Array<Agent.AgentRequest & { readonly agent: string }> = []
    const member = (name: string) =>
      scripted(name, (r) => ({
        draft: `${String(r.dependencies.draft)}[${name}${String(r.parameters.round)}]`,
        done: r.parameters.turn === doneAtTurn
      }), log)
    return { log, layer: AgentRegistry.layer([member("writer"), member("editor")]) }
  }

  it.effect("agents take turns on the shared draft until one says it is done", () =>
    Effect.gen(function*() {
      const { layer, log } = team(3)
      const wf = Workflow.make("doc").task("readme", Patterns.collaborative({
        description: "write the README",
        agents: ["writer", "editor"],
        maxRounds: 5,
        initialDraft: "#"
      }))
      const { outputs } = yield* Engine.run(wf).pipe(Effect.provide(layer))
      expect(outputs.readme).toEqual({
        draft: "#[writer1][editor1][writer2]",
        rounds: 2,
        done: true,
        contributions: [
          { round: 1, agent: "writer", draft: "#[writer1]", done: false },
          { round: 1, agent: "editor", draft: "#[writer1][editor1]", done: false },
          { round: 2, agent: "writer", draft: "#[writer1][editor1][writer2]", done: true }
        ]
      })
      expect((log[2]!.dependencies.contributions as ReadonlyArray<unknown>)).toHaveLength(2)
      expect(log[2]!.outputSchema).toBe(Patterns.Contribution)
    }))

  it.effect("stops at the round limit when nobody says done", () =>
    Effect.gen(function*() {
      const { layer, log } = team(undefined)
      const wf = Workflow.make("doc").task("readme", Patterns.collaborative({
        description: "d",
        agents: ["writer", "editor"],
        maxRounds: 2
      }))
      const { outputs } = yield* Engine.run(wf).pipe(Effect.provide(layer))
      expect(outputs.readme.done).toBe(false)
      expect(outputs.readme.rounds).toBe(2)
      expect(outputs.readme.draft).toBe("[writer1][editor1][writer2][editor2]")
      expect(log).toHaveLength(4)
    }))
})

describe("supervisor events (issue 8)", () => {
  it.effect("the subtasks' events reach the parent run's event stream as SubWorkflowEvents", () =>
    Effect.gen(function*() {
      const log: Array<Agent.AgentRequest & { readonly agent: string }> = []
      const lead = scripted("lead", (request) =>
        request.parameters.phase === "plan"
          ? { subtasks: [{ id: "parse", agent: "coder", description: "write the parser" }, { id: "docs", agent: "writer", description: "document it", dependsOn: ["parse"] }] }
          : "combined", log)
      const wf = Workflow.make("build").task("build", Patterns.supervisor({ description: "build it", supervisor: "lead" }))
      const events: Array<import("@troupe/core").RunEvent.RunEvent> = []
      const result = yield* Engine.run(wf, undefined, { onEvent: (event) => events.push(event) }).pipe(
        Effect.provide(AgentRegistry.layer([lead, scripted("coder", () => "parser", log), scripted("writer", () => "docs", log)]))
      )
      expect(result.outputs.build.result).toBe("combined")
      const nested = events.filter((e) => e._tag === "SubWorkflowEvent")
      expect(nested.length).toBeGreaterThan(0)
      for (const e of nested) expect(e.taskId).toBe("build")
      const inner = nested.map((e) => (e as { readonly event: import("@troupe/core").RunEvent.RunEvent }).event)
      expect(inner[0]!._tag).toBe("RunStarted")
      expect(inner.at(-1)!._tag).toBe("RunCompleted")
      const completed = inner.filter((e) => e._tag === "TaskCompleted").map((e) => (e as { taskId: string }).taskId)
      expect(completed).toEqual(["parse", "docs"])
      // the parent's own task events are untouched
      expect(events.filter((e) => e._tag === "TaskCompleted").map((e) => (e as { taskId: string }).taskId)).toEqual(["build"])
    }))
})
