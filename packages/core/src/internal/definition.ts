/**
 * Decoding and validation of data definitions (JSON or YAML parsed to a value).
 *
 * Decoding goes in three steps: field names are normalised to the seeds' snake_case (camelCase is
 * accepted too), the value is decoded with an effect Schema (errors become `InvalidDefinition` with the
 * path the user wrote), and the result is mapped to a frozen Plan whose graph is then validated.
 *
 * @internal
 */
import { Effect, Result, Schema, type SchemaAST, SchemaIssue } from "effect"
import * as Expression from "../Expression.ts"
import type { ConditionData, Plan, PlanEdge, PlanNode, RetryPolicyData } from "../Plan.ts"
import {
  CycleDetected,
  type DefinitionError,
  DuplicateTaskId,
  EmptyWorkflow,
  InvalidDefinition,
  SelfDependency,
  UnknownDependency
} from "../WorkflowError.ts"
import { index, topo } from "./graph.ts"

// -----------------------------------------------------------------------------
// Schema
// -----------------------------------------------------------------------------

// Every schema carries its expectation as its `message`, so a failure reads "expected <message>, got <x>".
const expecting = (message: string) => ({ message })

const NonEmptyString = Schema.String.annotate(expecting("a non-empty string")).check(
  Schema.isMinLength(1, expecting("a non-empty string"))
)
const Text = Schema.String.annotate(expecting("a string"))
const Bool = Schema.Boolean.annotate(expecting("true or false"))
const Strings = Schema.Array(Text).annotate(expecting("a list of strings"))
const Ids = Schema.Array(NonEmptyString).annotate(expecting("a list of task ids"))
const Fields = Schema.Record(Schema.String, Schema.Unknown).annotate(expecting("an object"))
const OutputMapping = Schema.Record(NonEmptyString, NonEmptyString).annotate(
  expecting("an object of names to expressions")
)

type NumberCheck = (annotations: { readonly message: string }) => SchemaAST.Check<number>

const numberWhere = (message: string, ...checks: ReadonlyArray<NumberCheck>) =>
  Schema.Number.annotate(expecting(message)).check(
    Schema.isFinite(expecting(message)),
    ...checks.map((check) => check(expecting(message)))
  )

const PositiveNumber = numberWhere("a positive number", (m) => Schema.isGreaterThan(0, m))
const NonNegativeNumber = numberWhere("a number of at least 0", (m) => Schema.isGreaterThanOrEqualTo(0, m))
const PositiveInt = numberWhere(
  "a positive integer",
  (m) => Schema.isInt(m),
  (m) => Schema.isGreaterThan(0, m)
)
const NonNegativeInt = numberWhere(
  "an integer of at least 0",
  (m) => Schema.isInt(m),
  (m) => Schema.isGreaterThanOrEqualTo(0, m)
)
const Priority = numberWhere(
  "an integer between 1 and 10",
  (m) => Schema.isInt(m),
  (m) => Schema.isBetween({ minimum: 1, maximum: 10 }, m)
)
const Multiplier = numberWhere("a number of at least 1", (m) => Schema.isGreaterThanOrEqualTo(1, m))
const StrategyName = Schema.Literals(["sequential", "parallel", "dag", "conditional", "auto"]).annotate(
  expecting(`one of "sequential", "parallel", "dag", "conditional", "auto"`)
)

const RetryConfig = Schema.Struct({
  max_retries: Schema.optionalKey(NonNegativeInt),
  backoff_multiplier: Schema.optionalKey(Multiplier),
  initial_delay: Schema.optionalKey(NonNegativeNumber),
  max_delay: Schema.optionalKey(NonNegativeNumber),
  jitter: Schema.optionalKey(Bool)
}).annotate(expecting("an object"))

const TaskDefinition = Schema.Struct({
  id: NonEmptyString,
  description: Schema.optionalKey(Text),
  task_type: Schema.optionalKey(NonEmptyString),
  depends_on: Schema.optionalKey(Ids),
  required_capabilities: Schema.optionalKey(Strings),
  required_skills: Schema.optionalKey(Strings),
  priority: Schema.optionalKey(Priority),
  timeout_seconds: Schema.optionalKey(PositiveNumber),
  retry_config: Schema.optionalKey(RetryConfig),
  parameters: Schema.optionalKey(Fields),
  expected_output_type: Schema.optionalKey(Text),
  agent_type: Schema.optionalKey(Text),
  condition: Schema.optionalKey(NonEmptyString),
  output_mapping: Schema.optionalKey(OutputMapping),
  metadata: Schema.optionalKey(Fields),
  tags: Schema.optionalKey(Strings),
  estimated_duration_seconds: Schema.optionalKey(NonNegativeNumber)
}).annotate(expecting("a task (an object)"))

const WorkflowDefinition = Schema.Struct({
  id: Schema.optionalKey(NonEmptyString),
  name: Schema.optionalKey(NonEmptyString),
  description: Schema.optionalKey(Text),
  tasks: Schema.Array(TaskDefinition).annotate(expecting("a list of tasks")),
  execution_strategy: Schema.optionalKey(StrategyName),
  max_parallel_tasks: Schema.optionalKey(PositiveInt),
  continue_on_failure: Schema.optionalKey(Bool),
  default_timeout_seconds: Schema.optionalKey(PositiveNumber),
  metadata: Schema.optionalKey(Fields)
}).annotate(expecting("a workflow definition (an object)"))

type WorkflowDefinition = typeof WorkflowDefinition.Type
type TaskDefinition = typeof TaskDefinition.Type

// -----------------------------------------------------------------------------
// Field names: camelCase -> snake_case
// -----------------------------------------------------------------------------

const snake = (key: string): string => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)

const isRecord = (u: unknown): u is Readonly<Record<string, unknown>> =>
  typeof u === "object" && u !== null && !Array.isArray(u)

/** Renames the keys of one object to snake_case; fails when both spellings of a field are given. */
const snakeKeys = (
  value: unknown,
  path: string
): Result.Result<unknown, InvalidDefinition> => {
  if (!isRecord(value)) return Result.succeed(value)
  for (const key of Object.keys(value)) {
    const name = snake(key)
    if (name !== key && Object.hasOwn(value, name)) {
      return Result.fail(
        new InvalidDefinition({ path: join(path, key), reason: `given twice, as "${name}" and as "${key}"` })
      )
    }
  }
  return Result.succeed(Object.fromEntries(Object.entries(value).map(([key, field]) => [snake(key), field])))
}

/** The workflow, its tasks and their retry configs with snake_case keys (user data is left alone). */
const normalise = (input: unknown): Result.Result<unknown, InvalidDefinition> =>
  Result.gen(function*() {
    const workflow = yield* snakeKeys(input, "")
    if (!isRecord(workflow) || !Array.isArray(workflow.tasks)) return workflow
    const tasks: Array<unknown> = []
    for (let i = 0; i < workflow.tasks.length; i++) {
      const task = yield* snakeKeys(workflow.tasks[i], `tasks[${i}]`)
      if (isRecord(task) && "retry_config" in task) {
        const retry = yield* snakeKeys(task.retry_config, `tasks[${i}].retry_config`)
        tasks.push({ ...task, retry_config: retry })
      } else {
        tasks.push(task)
      }
    }
    return { ...workflow, tasks }
  })

// -----------------------------------------------------------------------------
// Schema errors -> InvalidDefinition
// -----------------------------------------------------------------------------

const join = (path: string, segment: string | number): string =>
  typeof segment === "number" ? `${path}[${segment}]` : path === "" ? segment : `${path}.${segment}`

const MISSING = "\u0000missing"

const formatter = SchemaIssue.makeFormatterStandardSchemaV1({
  leafHook: (issue) => issue._tag === "MissingKey" ? MISSING : SchemaIssue.defaultLeafHook(issue)
})

const show = (value: unknown): string => {
  if (Array.isArray(value)) return "a list"
  if (typeof value === "object" && value !== null) return "an object"
  if (typeof value === "string") return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)
  return String(value)
}

/** Turns the first schema issue into an `InvalidDefinition`, with the field names the user wrote. */
const invalid = (issue: SchemaIssue.Issue, input: unknown): InvalidDefinition => {
  const first = formatter(issue).issues[0]
  const segments = (first?.path ?? []).map((s) => (typeof s === "object" ? s.key : s))
  let path = ""
  let taskId: string | undefined
  let value: unknown = input
  for (const segment of segments) {
    let key = segment
    if (typeof segment === "string" && isRecord(value) && !Object.hasOwn(value, segment)) {
      key = Object.keys(value).find((k) => snake(k) === segment) ?? segment
    }
    path = join(path, typeof key === "number" ? key : String(key))
    value = isRecord(value) || Array.isArray(value) ? (value as Record<PropertyKey, unknown>)[key] : undefined
    if (segments[0] === "tasks" && typeof key === "number" && taskId === undefined && isRecord(value)) {
      if (typeof value.id === "string" && value.id !== "") taskId = value.id
    }
  }
  const message = first?.message ?? "a valid value"
  const reason = message === MISSING ? "is required" : `expected ${message}, got ${show(value)}`
  return new InvalidDefinition({
    path: path === "" ? "(root)" : path,
    reason,
    ...(taskId === undefined ? {} : { taskId })
  })
}

// -----------------------------------------------------------------------------
// Definition -> Plan
// -----------------------------------------------------------------------------

const seconds = (s: number): number => Math.round(s * 1000)

const retryPolicy = (retry: NonNullable<TaskDefinition["retry_config"]>): RetryPolicyData => ({
  maxRetries: retry.max_retries ?? 3,
  initialDelayMs: seconds(retry.initial_delay ?? 1),
  backoffMultiplier: retry.backoff_multiplier ?? 2,
  maxDelayMs: seconds(retry.max_delay ?? 60),
  jitter: retry.jitter ?? false
})

/** Plain objects and arrays are copied (user values are never frozen), everything else is kept. */
const freezeCopy = <A>(value: A, seen = new WeakMap<object, unknown>()): A => {
  if (typeof value !== "object" || value === null) return value
  if (seen.has(value)) return seen.get(value) as A
  if (Array.isArray(value)) {
    const out: Array<unknown> = []
    seen.set(value, out)
    for (const item of value) out.push(freezeCopy(item, seen))
    return Object.freeze(out) as A
  }
  const proto: unknown = Object.getPrototypeOf(value)
  if (proto !== Object.prototype && proto !== null) return value
  const out: Record<string, unknown> = {}
  seen.set(value, out)
  for (const [key, item] of Object.entries(value)) {
    // defineProperty, not assignment: a "__proto__" key in user data stays a plain field.
    const field = { value: freezeCopy(item, seen), enumerable: true, writable: true, configurable: true }
    Object.defineProperty(out, key, field)
  }
  return Object.freeze(out) as A
}

const unique = (ids: ReadonlyArray<string>): Array<string> => [...new Set(ids)]

/** What the expression checks add to a task: its condition, order dependencies and output mapping. */
interface Checked {
  readonly condition: ConditionData | undefined
  readonly after: ReadonlyArray<string>
  readonly outputMapping: Readonly<Record<string, string>> | undefined
}

const toNode = (task: TaskDefinition, i: number, checked: Checked): PlanNode => {
  const dependsOn = unique(task.depends_on ?? [])
  const after = unique(checked.after.filter((id) => !dependsOn.includes(id)))
  const metadata = checked.outputMapping === undefined
    ? task.metadata ?? {}
    : { ...task.metadata, outputMapping: checked.outputMapping }
  return {
    id: task.id,
    index: i,
    description: task.description ?? "",
    taskType: task.task_type ?? "function",
    dependsOn,
    after,
    priority: task.priority ?? 5,
    ...(task.timeout_seconds === undefined ? {} : { timeoutMs: seconds(task.timeout_seconds) }),
    ...(task.retry_config === undefined ? {} : { retry: retryPolicy(task.retry_config) }),
    parameters: task.parameters ?? {},
    metadata,
    tags: task.tags ?? [],
    capabilities: task.required_capabilities ?? [],
    skills: task.required_skills ?? [],
    ...(task.agent_type === undefined ? {} : { agentType: task.agent_type }),
    ...(task.expected_output_type === undefined ? {} : { expectedOutputType: task.expected_output_type }),
    ...(checked.condition === undefined ? {} : { condition: checked.condition }),
    runIfSkipped: false,
    ...(task.estimated_duration_seconds === undefined ?
      {} :
      { estimatedDurationMs: seconds(task.estimated_duration_seconds) })
  }
}

const edgesOf = (nodes: ReadonlyArray<PlanNode>): Array<PlanEdge> =>
  nodes.flatMap((node) => [
    ...node.dependsOn.map((from): PlanEdge => ({ from, to: node.id, kind: "data" })),
    ...node.after.map((from): PlanEdge => ({ from, to: node.id, kind: "order" }))
  ])

const toPlan = (def: WorkflowDefinition, id: string, name: string, checked: ReadonlyArray<Checked>): Plan => {
  const nodes = def.tasks.map((task, i) => toNode(task, i, checked[i]!))
  return freezeCopy<Plan>({
    id,
    name,
    description: def.description ?? "",
    nodes,
    edges: edgesOf(nodes),
    ...(def.execution_strategy === undefined ? {} : { strategy: def.execution_strategy }),
    ...(def.max_parallel_tasks === undefined ? {} : { maxParallel: def.max_parallel_tasks }),
    continueOnFailure: def.continue_on_failure ?? false,
    ...(def.default_timeout_seconds === undefined ? {} : { defaultTimeoutMs: seconds(def.default_timeout_seconds) }),
    metadata: def.metadata ?? {}
  })
}

// -----------------------------------------------------------------------------
// Expressions: conditions and output mappings
// -----------------------------------------------------------------------------

/**
 * A condition that looks like a task id (and is not a CEL literal or variable) names a task, even an
 * unknown one: that is reported as an unknown dependency, which says more than "unknown name".
 */
const looksLikeTaskId = (source: string): boolean =>
  /^[A-Za-z_][A-Za-z0-9_-]*$/.test(source) && !["true", "false", "null", "input", "results"].includes(source)

/** The key the user wrote for a snake_case task field (`output_mapping` or `outputMapping`). */
const writtenKey = (input: unknown, i: number, field: string): string => {
  const tasks = isRecord(input) ? input.tasks : undefined
  const task = Array.isArray(tasks) ? tasks[i] : undefined
  if (isRecord(task) && !Object.hasOwn(task, field)) {
    return Object.keys(task).find((key) => snake(key) === field) ?? field
  }
  return field
}

const withOffset = (issue: Expression.ExpressionIssue): string =>
  issue.offset === undefined ? issue.message : `${issue.message} at offset ${issue.offset}`

/** Compiles one expression; its references, or the definition error at `path`. */
const compileExpression = (
  language: Expression.Language | undefined,
  source: string,
  known: ReadonlyArray<string>,
  path: string,
  taskId: string,
  what: string
): Result.Result<{ readonly references: ReadonlyArray<string>; readonly language: string }, InvalidDefinition> => {
  if (language === undefined) {
    return Result.fail(
      new InvalidDefinition({
        path,
        taskId,
        reason: `${what} ${JSON.stringify(source)} is an expression, and no expression language is provided: ` +
          `provide @troupe/cel's layer (Cel.layer) when decoding`
      })
    )
  }
  const compiled = language.compile(source, known)
  if (Expression.isIssue(compiled)) {
    return Result.fail(
      new InvalidDefinition({
        path,
        taskId,
        reason: `invalid ${what} ${JSON.stringify(source)}: ${withOffset(compiled)}`
      })
    )
  }
  return Result.succeed({ references: compiled.references, language: language.name })
}

/**
 * Checks the condition and the output mapping of every task. A condition that is a task id stays a
 * `TaskCompleted` condition; any other condition, and every output mapping, is an expression of the
 * language in use: the tasks it reads become order dependencies (an output mapping may read its own task).
 */
const checkExpressions = (
  def: WorkflowDefinition,
  input: unknown,
  language: Expression.Language | undefined
): Result.Result<ReadonlyArray<Checked>, InvalidDefinition> =>
  Result.gen(function*() {
    const known = def.tasks.map((task) => task.id)
    const checked: Array<Checked> = []
    for (let i = 0; i < def.tasks.length; i++) {
      const task = def.tasks[i]!
      const after: Array<string> = []
      let condition: ConditionData | undefined
      const source = task.condition
      if (source !== undefined) {
        if (known.includes(source) || looksLikeTaskId(source)) {
          condition = { _tag: "TaskCompleted", taskId: source }
          after.push(source)
        } else {
          const compiled = yield* compileExpression(
            language,
            source,
            known,
            `tasks[${i}].condition`,
            task.id,
            "condition"
          )
          condition = { _tag: "Expression", source, language: compiled.language }
          after.push(...compiled.references)
        }
      }
      const mapping = task.output_mapping
      if (mapping !== undefined) {
        const key = writtenKey(input, i, "output_mapping")
        for (const [name, expression] of Object.entries(mapping)) {
          const compiled = yield* compileExpression(
            language,
            expression,
            known,
            `tasks[${i}].${key}.${name}`,
            task.id,
            "output mapping"
          )
          after.push(...compiled.references.filter((id) => id !== task.id))
        }
      }
      checked.push({ condition, after, outputMapping: mapping })
    }
    return checked
  })

// -----------------------------------------------------------------------------
// Graph validation
// -----------------------------------------------------------------------------

/**
 * One cycle by depth-first search along edges dependency -> dependent, or `undefined`. The path starts at
 * the cycle's earliest-declared task and repeats it at the end.
 */
const findCycle = (plan: Plan): Array<string> | undefined => {
  const g = index(plan)
  const WHITE = 0, GRAY = 1, BLACK = 2
  const color = new Uint8Array(g.size)
  for (let root = 0; root < g.size; root++) {
    if (color[root] !== WHITE) continue
    // Iterative DFS: `stack` is the current path, `next` the next successor to visit per path entry.
    const stack = [root]
    const next = [0]
    color[root] = GRAY
    while (stack.length > 0) {
      const top = stack.length - 1
      const v = stack[top]!
      const s = g.succs[v]![next[top]!++]
      if (s === undefined) {
        color[v] = BLACK
        stack.pop()
        next.pop()
      } else if (color[s] === GRAY) {
        const cycle = stack.slice(stack.indexOf(s))
        const start = cycle.indexOf(cycle.reduce((a, b) => Math.min(a, b)))
        const rotated = [...cycle.slice(start), ...cycle.slice(0, start)]
        return [...rotated, rotated[0]!].map((i) => g.ids[i]!)
      } else if (color[s] === WHITE) {
        color[s] = GRAY
        stack.push(s)
        next.push(0)
      }
    }
  }
  return undefined
}

/** @internal */
export const validate = (plan: Plan): Effect.Effect<Plan, DefinitionError> =>
  Effect.suspend((): Effect.Effect<Plan, DefinitionError> => {
    if (plan.nodes.length === 0) return Effect.fail(new EmptyWorkflow({ workflow: plan.name }))
    // The graph index (shared with the engine and analysis) maps ids to positions; fewer ids than nodes
    // means a duplicate, found on the slow path.
    const g = index(plan)
    const position = g.indexOf
    if (position.size !== plan.nodes.length) {
      const seen = new Map<string, number>()
      for (let i = 0; i < plan.nodes.length; i++) {
        const id = plan.nodes[i]!.id
        const first = seen.get(id)
        if (first !== undefined) return Effect.fail(new DuplicateTaskId({ taskId: id, first, second: i }))
        seen.set(id, i)
      }
    }
    const check = (node: PlanNode, dependency: string): DefinitionError | undefined => {
      if (dependency === node.id) return new SelfDependency({ taskId: node.id })
      if (!position.has(dependency)) {
        return new UnknownDependency({ taskId: node.id, dependency, known: [...position.keys()].sort() })
      }
      return undefined
    }
    for (const node of plan.nodes) {
      for (const dependency of node.dependsOn) {
        const error = check(node, dependency)
        if (error !== undefined) return Effect.fail(error)
      }
      for (const dependency of node.after) {
        const error = check(node, dependency)
        if (error !== undefined) return Effect.fail(error)
      }
      if (node.condition?._tag === "TaskCompleted") {
        const error = check(node, node.condition.taskId)
        if (error !== undefined) return Effect.fail(error)
      }
    }
    // Kahn's algorithm is cheap; the cycle search (for the error's path) only runs when it fails.
    if (topo(g) !== undefined) return Effect.succeed(plan)
    const cycle = findCycle(plan)
    return cycle === undefined ? Effect.succeed(plan) : Effect.fail(new CycleDetected({ path: cycle }))
  })

// -----------------------------------------------------------------------------
// Decoding
// -----------------------------------------------------------------------------

/**
 * Decodes a definition. Condition and output-mapping expressions are checked with the
 * `ExpressionLanguage` in use (a reference: without one, expressions are definition errors).
 *
 * @internal
 */
export const decode = (input: unknown): Effect.Effect<Plan, DefinitionError> =>
  Effect.gen(function*() {
    const normalised = normalise(input)
    if (Result.isFailure(normalised)) return yield* Effect.fail(normalised.failure)
    const decoded = Schema.decodeUnknownResult(WorkflowDefinition)(normalised.success)
    if (Result.isFailure(decoded)) return yield* Effect.fail(invalid(decoded.failure.issue, input))
    const def = decoded.success
    const id = def.id ?? def.name
    const name = def.name ?? def.id
    if (id === undefined || name === undefined) {
      return yield* Effect.fail(new InvalidDefinition({ path: "id", reason: "a workflow needs an id or a name" }))
    }
    const language = yield* Expression.ExpressionLanguage
    const checked = checkExpressions(def, input, language)
    if (Result.isFailure(checked)) return yield* Effect.fail(checked.failure)
    return yield* validate(toPlan(def, id, name, checked.success))
  })
