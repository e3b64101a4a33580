import { afterEach, describe, expect, it } from "vitest"
import { Context, Deferred, Effect, Layer, Schema } from "effect"
import { Events, Orchestrator, TaskCache, Trigger, Troupe, Workflow, WorkflowError } from "@troupe/core"

class Boom extends Schema.TaggedError<Boom>()("Boom", { reason: Schema.String }) {}
class Db extends Context.Service<Db, { readonly query: (sql: string) => Effect.Effect<number> }>()("test/TroupeDb") {}

const troupes: Array<{ dispose: () => Promise<void> }> = []
const track = <T extends { dispose: () => Promise<void> }>(t: T): T => {
  troupes.push(t)
  return t
}
afterEach(async () => {
  await Promise.all(troupes.splice(0).map((t) => t.dispose()))
})

/** A promise of the next event of a name. */
const next = <N extends Orchestrator.EventName>(troupe: Troupe.Troupe<never>, name: N) =>
  new Promise<Orchestrator.EventOf<N>>((resolve) => {
    const off = troupe.on(name, (event) => {
      off()
      resolve(event)
    })
  })

const ci = Workflow.make<"ci", { readonly repo: string }>("ci")
  .task("checkout", ({ input }) => Effect.succeed(`/srv/${input.repo}`))
  .task("build", { dependsOn: ["checkout"] }, async ({ checkout }) => `${checkout}/dist`)
  .task("size", { dependsOn: ["build"] }, ({ build }) => build.length)

describe("Troupe (Promise facade)", () => {
  it("run resolves with the typed outputs and the final state", async () => {
    const troupe = track(Troupe.make())
    const result = await troupe.run(ci, { repo: "app" })
    expect(result.outputs).toEqual({ checkout: "/srv/app", build: "/srv/app/dist", size: 13 })
    const size: number = result.outputs.size
    expect(size).toBe(13)
    expect(result.state.status).toBe("completed")
    expect((await troupe.history()).map((r) => r.runId)).toEqual([result.runId])
  })

  it("run rejects with WorkflowFailed carrying the failed task", async () => {
    const troupe = track(Troupe.make())
    const failing = Workflow.make("failing")
      .task("ok", () => Effect.succeed(1))
      .task("bad", { dependsOn: ["ok"] }, () => Effect.fail(new Boom({ reason: "disk full" })))
    const error = await troupe.run(failing).then(
      () => undefined,
      (e: unknown) => e
    )
    expect(error).toBeInstanceOf(WorkflowError.WorkflowFailed)
    const failed = error as WorkflowError.WorkflowFailed<Boom>
    expect(failed.failures.map((f) => f.taskId)).toEqual(["bad"])
    expect(failed.outputs).toEqual({ ok: 1 })
    expect((await troupe.state(failed.runId)).status).toBe("failed")
  })

  it("start returns a handle; cancelling it rejects the result with WorkflowCancelled", async () => {
    const troupe = track(Troupe.make())
    const stuck = Workflow.make("stuck").task("wait", () => Effect.never)
    const started = next(troupe, "task.started")
    const handle = await troupe.start(stuck)
    expect((await started).taskId).toBe("wait")
    expect((await handle.progress()).running).toBe(1)
    await handle.cancel()
    await expect(handle.result()).rejects.toBeInstanceOf(WorkflowError.WorkflowCancelled)
    expect((await troupe.state(handle.runId)).status).toBe("cancelled")
  })

  it("cancel by run id", async () => {
    const troupe = track(Troupe.make())
    const stuck = Workflow.make("stuck").task("wait", () => Effect.never)
    const started = next(troupe, "task.started")
    const running = troupe.run(stuck, undefined, { runId: "stuck-1" })
    await started
    await troupe.cancel("stuck-1")
    await expect(running).rejects.toBeInstanceOf(WorkflowError.WorkflowCancelled)
  })

  it("on delivers lifecycle events until unsubscribed; emit reaches custom handlers", async () => {
    const troupe = track(Troupe.make())
    const seen: Array<string> = []
    const off = troupe.on("task.completed", (e) => seen.push(e.taskId))
    troupe.on("workflow.completed", (e) => seen.push(`done ${e.workflow}`))
    troupe.on("custom.note", (e) => seen.push(`note ${String(e.payload)}`))
    await troupe.run(ci, { repo: "x" })
    await troupe.flushEvents() // handlers run in their own fibers
    expect(seen).toEqual(["checkout", "build", "size", "done ci"])
    off()
    seen.length = 0
    await troupe.run(ci, { repo: "y" })
    await troupe.emit("custom.note", "hello")
    await troupe.flushEvents()
    expect(seen).toEqual(["done ci", "note hello"])
  })

  it("a handler that throws is detached and the others go on; patterns, definitions and triggers work over Promises", async () => {
    const troupe = track(Troupe.make())
    const seen: Array<string> = []
    let throws = 0
    troupe.on("task.completed", () => {
      throws++
      throw new Error("handler bug")
    })
    troupe.on("task.*", (e) => {
      if (e._tag === "TaskCompleted") seen.push(e.taskId)
    })
    const Note = Events.define("note.added", Schema.Struct({ text: Schema.String }))
    const echo = Workflow.make<"echo", string>("echo").task("say", ({ input }) => input)
    const trigger = await troupe.addTrigger(Trigger.make({ on: Note, workflow: echo, input: (e) => e.payload.text }))
    await troupe.run(ci, { repo: "x" })
    await troupe.run(ci, { repo: "y" })
    await troupe.emit(Note, { text: "hello" })
    await troupe.flushEvents()
    await troupe.flushEvents()
    expect(throws).toBe(1)
    expect(seen.filter((id) => id === "checkout")).toHaveLength(2)
    expect(seen).toContain("say")
    expect((await troupe.runtime.runPromise(trigger.stats)).fired).toBe(1)
    await expect(troupe.emit(Note, { text: 1 } as never)).rejects.toBeInstanceOf(Events.InvalidEvent)
  })

  it("submit, status, getTask and awaitJob; one worker respects priorities", async () => {
    const troupe = track(Troupe.make(undefined, { orchestrator: { workers: 1 } }))
    const order: Array<string> = []
    const gate = Deferred.makeUnsafe<void>()
    const blocker = await troupe.submit(() => Deferred.await(gate), undefined)
    const low = await troupe.submit((s: string) => order.push(s), "low", { priority: 2 })
    const high = await troupe.submit((s: string) => order.push(s), "high", { priority: 9 })
    expect(await troupe.status(blocker)).toBe("running")
    expect(await troupe.status(low)).toBe("queued")
    Effect.runSync(Deferred.succeed(gate, undefined))
    const job = await troupe.awaitJob(low)
    expect(job.status).toBe("completed")
    expect(order).toEqual(["high", "low"])
    expect((await troupe.getTask(high)).result).toBe(1)
    await expect(troupe.status("nope")).rejects.toBeInstanceOf(Orchestrator.JobNotFound)
  })

  it("runs workflows that need the services of its layer, and uses the layer's cache", async () => {
    const queries: Array<string> = []
    const DbLive = Layer.succeed(Db, { query: (sql) => Effect.sync(() => queries.push(sql)) })
    const troupe = track(Troupe.make(Layer.mergeAll(DbLive, TaskCache.layerMemory())))
    const wf = Workflow.make("db").task("count", () => Db.use((db) => db.query("select count(*)")))
    const first = await troupe.run(wf)
    const second = await troupe.run(wf)
    expect(first.outputs.count).toBe(1)
    expect(second.outputs.count).toBe(1)
    expect(queries).toEqual(["select count(*)"])
    expect(await troupe.executeTask("sql", ({ input }) => Db.use((db) => db.query(input)), "select 2")).toBe(2)
    const stats = await troupe.runtime.runPromise(Effect.flatMap(Orchestrator.Orchestrator, (o) => o.cacheStats))
    expect(stats).toMatchObject({ strategy: "memory", hits: 1 })
  })

  it("dispose cancels running jobs", async () => {
    const troupe = Troupe.make()
    const cancelled: Array<string> = []
    const id = await troupe.submit(() => Effect.never, undefined, {
      callback: (job) => cancelled.push(`${job.id} ${job.status}`)
    })
    await troupe.dispose()
    expect(cancelled).toEqual([`${id} cancelled`])
  })
})
