/**
 * What a `troupe` command is pointed at, loaded: a workflow exported by a module, or a data definition
 * decoded to a Plan (with every problem, located in the file, when it is invalid).
 *
 * @since 0.1.0
 */
import * as Expression from "@troupe/core/Expression"
import * as Plan from "@troupe/core/Plan"
import type { Plan as PlanModel } from "@troupe/core/Plan"
import * as Task from "@troupe/core/Task"
import * as Workflow from "@troupe/core/Workflow"
import { Effect, Layer, Schema } from "effect"
import * as Definition from "./Definition.ts"
import * as ExitCode from "./ExitCode.ts"
import * as Source from "./Source.ts"

// -----------------------------------------------------------------------------
// Errors
// -----------------------------------------------------------------------------

/**
 * Ends a command with an exit code and a message for stderr.
 *
 * @category errors
 * @since 0.1.0
 */
export class CliExit extends Schema.TaggedError<CliExit>()("CliExit", {
  code: Schema.Number,
  text: Schema.String
}) {
  override get message(): string {
    return this.text
  }
}

const fail = (code: number, text: string) => Effect.fail(new CliExit({ code, text }))

// -----------------------------------------------------------------------------
// Problems
// -----------------------------------------------------------------------------

/**
 * A problem of a file, located: `file:line:column: path: message`.
 *
 * @category models
 * @since 0.1.0
 */
export interface Located {
  readonly file: string
  readonly line?: number | undefined
  readonly column?: number | undefined
  readonly path?: string | undefined
  readonly message: string
  readonly severity: "error" | "warning"
}

/**
 * @category formatting
 * @since 0.1.0
 */
export const formatLocated = (p: Located): string => {
  const where = p.line === undefined ? p.file : `${p.file}:${p.line}:${p.column ?? 1}`
  const path = p.path === undefined || p.path === "" ? "" : `${p.path}: `
  return `${where}: ${p.severity === "warning" ? "warning: " : ""}${path}${p.message}`
}

// -----------------------------------------------------------------------------
// Targets
// -----------------------------------------------------------------------------

/**
 * A loaded target.
 *
 * @category models
 * @since 0.1.0
 */
export type Target =
  | {
    readonly _tag: "Module"
    readonly file: string
    readonly workflow: Workflow.Any
    readonly plan: PlanModel
    /** The module's `layer` export: services its workflow needs. */
    readonly layer: Layer.Layer<unknown, unknown, never> | undefined
  }
  | {
    readonly _tag: "Definition"
    readonly file: string
    readonly source: Source.DefinitionFile
    readonly plan: PlanModel
    readonly warnings: ReadonlyArray<Located>
  }

const isLayer = (u: unknown): u is Layer.Layer<unknown, unknown, never> => Layer.isLayer(u)

const sourceProblem = (e: Source.SourceError): Located => ({
  file: e.file,
  line: e.line,
  column: e.column,
  message: e.reason,
  severity: "error"
})

/** Every problem of a definition file, located; the Plan when there is none. */
export const diagnoseFile = (file: string): Effect.Effect<
  { readonly source: Source.DefinitionFile | undefined; readonly plan: PlanModel | undefined; readonly problems: ReadonlyArray<Located>; readonly warnings: ReadonlyArray<Located> }
> =>
  Effect.gen(function*() {
    const read = yield* Effect.result(Source.readDefinition(file))
    if (read._tag === "Failure") return { source: undefined, plan: undefined, problems: [sourceProblem(read.failure)], warnings: [] }
    const source = read.success
    // The expression language (CEL) is loaded only for definitions that use expressions.
    let diagnosis = yield* Plan.diagnose(source.value)
    if (diagnosis.problems.some((p) => p.message.includes("no expression language is provided"))) {
      const { Cel } = yield* Effect.promise(() => import("@troupe/cel"))
      diagnosis = yield* Plan.diagnose(source.value).pipe(
        Effect.provideService(Expression.ExpressionLanguage, Cel.language)
      )
    }
    const locate = (path: string, message: string, severity: "error" | "warning"): Located => ({
      file,
      ...source.locate(path, { key: severity === "warning" }),
      path,
      message,
      severity
    })
    return {
      source,
      plan: diagnosis.plan,
      problems: byPosition(diagnosis.problems.map((p) => locate(p.path, p.message, "error"))),
      warnings: byPosition(diagnosis.warnings.map((w) => locate(w.path, w.message, "warning")))
    }
  })

/** In file order (a stable sort: problems without a position keep their place at the end). */
const byPosition = (problems: ReadonlyArray<Located>): Array<Located> =>
  [...problems].sort((a, b) =>
    (a.line ?? Infinity) - (b.line ?? Infinity) || (a.column ?? 0) - (b.column ?? 0)
  )

const problemsText = (problems: ReadonlyArray<Located>): string => {
  const n = problems.length
  return `${problems.map(formatLocated).join("\n")}\n${n} error${n === 1 ? "" : "s"}: the definition is invalid`
}

/** The workflows a module exports, by export name. */
const workflowsOf = (mod: Record<string, unknown>): Array<[string, Workflow.Any]> =>
  Object.entries(mod).filter((entry): entry is [string, Workflow.Any] => Workflow.isWorkflow(entry[1]))

/**
 * Loads a workflow module or a definition file.
 *
 * @category loading
 * @since 0.1.0
 */
export const load = (file: string, options: { readonly exportName?: string | undefined } = {}): Effect.Effect<Target, CliExit> =>
  Effect.gen(function*() {
    const kind = Source.kindOf(file)
    if (kind === undefined) {
      return yield* fail(
        ExitCode.DefinitionError,
        `${file}: unknown kind of file; expected a definition (.yaml, .yml, .json) or a module (.ts, .js, .mjs)`
      )
    }
    if (kind === "definition") {
      const { plan, problems, source, warnings } = yield* diagnoseFile(file)
      if (plan === undefined || source === undefined) return yield* fail(ExitCode.DefinitionError, problemsText(problems))
      return { _tag: "Definition", file, source, plan, warnings } as const
    }
    const mod = yield* Source.importModule(file).pipe(
      Effect.mapError((e) => new CliExit({ code: ExitCode.DefinitionError, text: e.message }))
    )
    const workflows = workflowsOf(mod)
    let chosen: Workflow.Any | undefined
    if (options.exportName !== undefined) {
      const value = Object.hasOwn(mod, options.exportName) ? mod[options.exportName] : undefined
      if (!Workflow.isWorkflow(value)) {
        const names = workflows.map(([name]) => name)
        return yield* fail(
          ExitCode.DefinitionError,
          `${file}: no workflow exported as "${options.exportName}"; workflows exported: [${names.join(", ")}]`
        )
      }
      chosen = value
    } else if (Workflow.isWorkflow(mod.default)) chosen = mod.default
    else if (workflows.length === 1) chosen = workflows[0]![1]
    else if (workflows.length === 0) {
      return yield* fail(
        ExitCode.DefinitionError,
        `${file}: the module exports no workflow (export one as default, or name it with --export)`
      )
    } else {
      return yield* fail(
        ExitCode.DefinitionError,
        `${file}: the module exports several workflows; choose one with --export: ${workflows.map(([n]) => n).join(", ")}`
      )
    }
    const plan = Plan.fromWorkflow(chosen)
    return { _tag: "Module", file, workflow: chosen, plan, layer: isLayer(mod.layer) ? mod.layer : undefined } as const
  })

/**
 * The handlers (and services) a `--handlers` module exports: `handlers` (or the default export), a record
 * of task types to handlers, and optionally `layer`.
 *
 * @category loading
 * @since 0.1.0
 */
export const loadHandlers = (file: string | undefined): Effect.Effect<
  { readonly handlers: Definition.Handlers; readonly layer: Layer.Layer<unknown, unknown, never> | undefined },
  CliExit
> =>
  Effect.gen(function*() {
    if (file === undefined) return { handlers: {}, layer: undefined }
    const mod = yield* Source.importModule(file).pipe(
      Effect.mapError((e) => new CliExit({ code: ExitCode.DefinitionError, text: e.message }))
    )
    const value = mod.handlers ?? mod.default
    if (typeof value !== "object" || value === null) {
      return yield* fail(
        ExitCode.DefinitionError,
        `${file}: export the handlers as \`handlers\` (or as the default export): an object of task types to functions or tasks`
      )
    }
    const handlers: Record<string, Definition.Handler> = {}
    for (const [type, handler] of Object.entries(value)) {
      if (typeof handler !== "function" && !Task.isTask(handler)) {
        return yield* fail(ExitCode.DefinitionError, `${file}: the handler of task type "${type}" is neither a function nor a task`)
      }
      Object.defineProperty(handlers, type, { value: handler, enumerable: true, configurable: true, writable: true })
    }
    return { handlers, layer: isLayer(mod.layer) ? mod.layer : undefined }
  })

/**
 * A runnable workflow for a target: the module's workflow, or the definition's Plan with the built-in and
 * given handlers (a task type without one is a definition error, located in the file).
 *
 * @category loading
 * @since 0.1.0
 */
export const runnable = (target: Target, handlersFile: string | undefined): Effect.Effect<
  { readonly workflow: Workflow.Any; readonly layers: ReadonlyArray<Layer.Layer<unknown, unknown, never>> },
  CliExit
> =>
  Effect.gen(function*() {
    if (target._tag === "Module") return { workflow: target.workflow, layers: target.layer === undefined ? [] : [target.layer] }
    const { handlers, layer } = yield* loadHandlers(handlersFile)
    const all = Definition.handlersFor(handlers)
    const made = yield* Effect.result(Workflow.fromPlan(target.plan, { handlers: all as Readonly<Record<string, Workflow.PlanHandler<unknown, unknown>>> }))
    if (made._tag === "Failure") {
      const e = made.failure
      const type = target.plan.nodes.find((n) => n.id === e.taskId)?.taskType ?? ""
      // The path as written: `steps[i].agent_id` rather than the canonical `tasks[i].task_type`.
      const i = Number(/\[(\d+)\]/.exec(e.path)?.[1] ?? -1)
      const root = target.source.value as Record<string, unknown>
      const tasksKey = ["tasks", "steps"].find((k) => Array.isArray(root?.[k])) ?? "tasks"
      const task = (root?.[tasksKey] as ReadonlyArray<unknown> | undefined)?.[i]
      const field = typeof task === "object" && task !== null
        ? ["task_type", "taskType", "type", "agent_id", "agentId"].find((k) => Object.hasOwn(task, k))
        : undefined
      const path = i < 0 ? e.path : field === undefined ? `${tasksKey}[${i}]` : `${tasksKey}[${i}].${field}`
      const where = target.source.locate(path)
      const hint = handlersFile === undefined ? " (pass a module of handlers with --handlers)" : ""
      return yield* fail(
        ExitCode.DefinitionError,
        formatLocated({
          file: target.file,
          ...where,
          path,
          message: `no handler for task type "${type}"${hint}; known task types: ${Object.keys(all).sort().join(", ")}`,
          severity: "error"
        })
      )
    }
    return { workflow: made.success as Workflow.Any, layers: layer === undefined ? [] : [layer] }
  })
