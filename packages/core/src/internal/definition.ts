/**
 * Decoding and validation of data definitions (JSON or YAML parsed to a value).
 *
 * Decoding goes in steps: the input's depth is checked (deep values are a definition error, never a stack
 * overflow); field names are normalised to the seeds' snake_case (camelCase and the agent-plan names,
 * `steps`/`step_id`/`agent_id`/`retry_policy`/`dependencies`, are accepted too); the value is decoded with an
 * effect Schema (errors become `InvalidDefinition` with the path the user wrote); expressions are checked;
 * the result is mapped to a frozen Plan whose graph is then validated.
 *
 * `diagnose` runs the same steps but collects every error, each with the path into the file.
 *
 * @internal
 */
import { Effect, Result, Schema, type SchemaAST, SchemaIssue } from "effect"
import * as Expression from "../Expression.ts"
import type { ConditionData, LoopData, Plan, PlanEdge, PlanNode, RetryPolicyData } from "../Plan.ts"
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
const Capacities = Schema.Record(NonEmptyString, PositiveInt).annotate(expecting("an object of names to positive integers"))

const RetryConfig = Schema.Struct({
  max_retries: Schema.optionalKey(NonNegativeInt),
  /** Agent-plan spelling: attempts in all, the first included (`max_retries + 1`). */
  max_attempts: Schema.optionalKey(PositiveInt),
  backoff: Schema.optionalKey(
    Schema.Literals(["exponential", "fixed", "linear"]).annotate(expecting(`one of "exponential", "fixed", "linear"`))
  ),
  backoff_multiplier: Schema.optionalKey(Multiplier),
  initial_delay: Schema.optionalKey(NonNegativeNumber),
  initial_delay_ms: Schema.optionalKey(NonNegativeNumber),
  max_delay: Schema.optionalKey(NonNegativeNumber),
  max_delay_ms: Schema.optionalKey(NonNegativeNumber),
  jitter: Schema.optionalKey(Bool)
}).annotate(expecting("an object"))

const ForEachLoop = Schema.Struct({
  type: Schema.Literal("for_each").annotate(expecting(`"for_each", "while" or "until"`)),
  /** A list, or where to read one: `input.<path>` or `<task id>.<path>`. */
  items: Schema.Union([Schema.Array(Schema.Unknown), NonEmptyString]).annotate(
    expecting("a list, or a path such as \"input.files\" or \"<task id>.items\"")
  ),
  item_name: Schema.optionalKey(NonEmptyString),
  concurrency: Schema.optionalKey(PositiveInt),
  max_iterations: Schema.optionalKey(PositiveInt),
  failure_mode: Schema.optionalKey(
    Schema.Literals(["fail-fast", "continue"]).annotate(expecting(`"fail-fast" or "continue"`))
  )
}).annotate(expecting("a for-each loop (an object)"))

const WhileLoop = Schema.Struct({
  type: Schema.Literal("while").annotate(expecting(`"for_each", "while" or "until"`)),
  condition: NonEmptyString,
  max_iterations: PositiveInt
}).annotate(expecting("a while loop (an object)"))

const UntilLoop = Schema.Struct({
  type: Schema.Literal("until").annotate(expecting(`"for_each", "while" or "until"`)),
  condition: NonEmptyString,
  max_iterations: PositiveInt
}).annotate(expecting("an until loop (an object)"))

const LoopConfig = Schema.Union([ForEachLoop, WhileLoop, UntilLoop]).annotate(
  expecting(
    `a loop: { type: "for_each", items }, { type: "while", condition, max_iterations } or { type: "until", condition, max_iterations }`
  )
)

const TaskDefinition = Schema.Struct({
  id: NonEmptyString,
  description: Schema.optionalKey(Text),
  task_type: Schema.optionalKey(NonEmptyString),
  depends_on: Schema.optionalKey(Ids),
  required_capabilities: Schema.optionalKey(Strings),
  required_skills: Schema.optionalKey(Strings),
  priority: Schema.optionalKey(Priority),
  timeout_seconds: Schema.optionalKey(PositiveNumber),
  timeout_ms: Schema.optionalKey(PositiveNumber),
  retry_config: Schema.optionalKey(RetryConfig),
  parameters: Schema.optionalKey(Fields),
  expected_output_type: Schema.optionalKey(Text),
  agent_type: Schema.optionalKey(Text),
  /** Agent-plan spelling of `agent_type`; the task type defaults to `agent`. */
  agent_id: Schema.optionalKey(NonEmptyString),
  condition: Schema.optionalKey(NonEmptyString),
  run_if_skipped: Schema.optionalKey(Bool),
  output_mapping: Schema.optionalKey(OutputMapping),
  metadata: Schema.optionalKey(Fields),
  tags: Schema.optionalKey(Strings),
  estimated_duration_seconds: Schema.optionalKey(NonNegativeNumber),
  resources: Schema.optionalKey(Capacities),
  concurrency_key: Schema.optionalKey(NonEmptyString),
  loop: Schema.optionalKey(LoopConfig)
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
  deadline_seconds: Schema.optionalKey(PositiveNumber),
  /** Each task reads the output of the one before it (it depends on it). */
  pipeline: Schema.optionalKey(Bool),
  resources: Schema.optionalKey(Capacities),
  per_key_limit: Schema.optionalKey(PositiveInt),
  metadata: Schema.optionalKey(Fields)
}).annotate(expecting("a workflow definition (an object)"))

type WorkflowDefinition = typeof WorkflowDefinition.Type
type TaskDefinition = typeof TaskDefinition.Type

// -----------------------------------------------------------------------------
// Field names: camelCase and agent-plan names -> snake_case
// -----------------------------------------------------------------------------

const snake = (key: string): string => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)

/** Alternative names of fields, per level of the definition (after camelCase -> snake_case). */
const workflowAliases: ReadonlyMap<string, string> = new Map([
  ["steps", "tasks"],
  ["plan_id", "id"],
  ["workflow_id", "id"],
  ["goal", "description"],
  ["strategy", "execution_strategy"],
  ["max_parallel", "max_parallel_tasks"]
])
const taskAliases: ReadonlyMap<string, string> = new Map([
  ["step_id", "id"],
  ["task_id", "id"],
  ["dependencies", "depends_on"],
  ["retry_policy", "retry_config"],
  ["inputs", "parameters"],
  ["params", "parameters"],
  ["type", "task_type"],
  ["capabilities", "required_capabilities"],
  ["skills", "required_skills"]
])
const retryAliases: ReadonlyMap<string, string> = new Map([["max_attempts_total", "max_attempts"]])
const loopAliases: ReadonlyMap<string, string> = new Map([["item_var", "item_name"], ["as", "item_name"]])

/** Alternative spellings of the loop type. */
const loopTypes: ReadonlyMap<string, string> = new Map([
  ["for_each", "for_each"],
  ["forEach", "for_each"],
  ["foreach", "for_each"],
  ["for-each", "for_each"],
  ["while", "while"],
  ["until", "until"],
  ["do_until", "until"]
])

/** The level of a definition a path is at, for the alias tables. */
type Level = "workflow" | "task" | "retry" | "loop"
const aliasesOf: Readonly<Record<Level, ReadonlyMap<string, string>>> = {
  workflow: workflowAliases,
  task: taskAliases,
  retry: retryAliases,
  loop: loopAliases
}

const canonical = (key: string, level: Level): string => {
  const name = snake(key)
  return aliasesOf[level].get(name) ?? name
}

const isRecord = (u: unknown): u is Readonly<Record<string, unknown>> =>
  typeof u === "object" && u !== null && !Array.isArray(u)

/**
 * Renames the keys of one object to their canonical names; fails when a field is given twice (in two
 * spellings). Keys are defined, not assigned: a `__proto__` key stays a plain field.
 */
const renameKeys = (
  value: unknown,
  path: string,
  level: Level
): Result.Result<unknown, InvalidDefinition> => {
  if (!isRecord(value)) return Result.succeed(value)
  const out: Record<string, unknown> = {}
  const writtenAs = new Map<string, string>()
  for (const key of Object.keys(value)) {
    const name = canonical(key, level)
    const previous = writtenAs.get(name)
    if (previous !== undefined) {
      const [first, second] = previous === name ? [previous, key] : key === name ? [key, previous] : [previous, key]
      return Result.fail(
        new InvalidDefinition({
          path: join(path, second),
          reason: `given twice, as "${first}" and as "${second}"`
        })
      )
    }
    writtenAs.set(name, key)
    Object.defineProperty(out, name, { value: value[key], enumerable: true, writable: true, configurable: true })
  }
  return Result.succeed(out)
}

/** The workflow, its tasks, their retry and loop configs with canonical keys (user data is left alone). */
const normalise = (input: unknown): Result.Result<unknown, InvalidDefinition> =>
  Result.gen(function*() {
    const workflow = yield* renameKeys(input, "", "workflow")
    if (!isRecord(workflow) || !Array.isArray(workflow.tasks)) return workflow
    const tasksKey = writtenKeyAt(input, "tasks", "workflow")
    const tasks: Array<unknown> = []
    for (let i = 0; i < workflow.tasks.length; i++) {
      const at = `${tasksKey}[${i}]`
      const task = yield* renameKeys(workflow.tasks[i], at, "task")
      if (!isRecord(task)) {
        tasks.push(task)
        continue
      }
      const fixed: Record<string, unknown> = { ...task }
      const raw = (workflow.tasks as ReadonlyArray<unknown>)[i]
      if ("retry_config" in task) {
        fixed.retry_config = yield* renameKeys(task.retry_config, join(at, writtenKeyAt(raw, "retry_config", "task")), "retry")
      }
      if ("loop" in task) {
        const loop = yield* renameKeys(task.loop, join(at, writtenKeyAt(raw, "loop", "task")), "loop")
        fixed.loop = isRecord(loop) && typeof loop.type === "string" && loopTypes.has(loop.type)
          ? { ...loop, type: loopTypes.get(loop.type) }
          : loop
      }
      tasks.push(fixed)
    }
    return { ...workflow, tasks }
  })

/** The key the user wrote in `value` for the canonical field `field`. */
const writtenKeyAt = (value: unknown, field: string, level: Level): string => {
  if (isRecord(value) && !Object.hasOwn(value, field)) {
    return Object.keys(value).find((key) => canonical(key, level) === field) ?? field
  }
  return field
}

/** The level of the object reached by `segments` from the root (for alias lookups along a path). */
const levelAfter = (level: Level, segment: string | number): Level | undefined => {
  if (typeof segment === "number") return level === "workflow" ? "task" : undefined
  if (level === "workflow" && segment === "tasks") return "workflow"
  if (level === "task" && segment === "retry_config") return "retry"
  if (level === "task" && segment === "loop") return "loop"
  return undefined
}

// -----------------------------------------------------------------------------
// Deep input
// -----------------------------------------------------------------------------

/** The deepest nesting a definition may have (parameters and metadata included). */
export const MAX_DEPTH = 100

/**
 * The path of the first value nested deeper than `MAX_DEPTH` (an object or list cycle counts as deep), or
 * `undefined`. Iterative: it never overflows the stack, whatever the input.
 */
const tooDeep = (input: unknown): string | undefined => {
  interface Frame {
    readonly value: unknown
    readonly depth: number
    readonly parent: Frame | undefined
    readonly segment: string | number | undefined
  }
  const stack: Array<Frame> = [{ value: input, depth: 0, parent: undefined, segment: undefined }]
  while (stack.length > 0) {
    const frame = stack.pop()!
    const value = frame.value
    if (typeof value !== "object" || value === null) continue
    if (frame.depth > MAX_DEPTH) {
      const segments: Array<string | number> = []
      for (let f: Frame | undefined = frame; f !== undefined && f.segment !== undefined; f = f.parent) {
        segments.push(f.segment)
      }
      return segments.reverse().reduce<string>((path, s) => join(path, s), "")
    }
    if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) {
        stack.push({ value: value[i], depth: frame.depth + 1, parent: frame, segment: i })
      }
    } else {
      const keys = Object.keys(value)
      for (let i = keys.length - 1; i >= 0; i--) {
        const key = keys[i]!
        stack.push({ value: (value as Record<string, unknown>)[key], depth: frame.depth + 1, parent: frame, segment: key })
      }
    }
  }
  return undefined
}

const shortPath = (path: string): string => {
  const max = 120
  return path.length <= max ? path : `${path.slice(0, max)}…`
}

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

/** Turns each schema issue into an `InvalidDefinition`, with the field names the user wrote. */
const invalid = (issue: SchemaIssue.Issue, input: unknown): Array<InvalidDefinition> => {
  const out: Array<InvalidDefinition> = []
  const seen = new Set<string>()
  for (const first of formatter(issue).issues) {
    const segments = (first.path ?? []).map((s) => (typeof s === "object" ? s.key : s))
    let path = ""
    let taskId: string | undefined
    let value: unknown = input
    let level: Level | undefined = "workflow"
    for (const segment of segments) {
      let key = segment
      if (typeof segment === "string" && level !== undefined) key = writtenKeyAt(value, segment, level)
      path = join(path, typeof key === "number" ? key : String(key))
      value = isRecord(value) || Array.isArray(value) ? (value as Record<PropertyKey, unknown>)[key] : undefined
      level = level === undefined ? undefined : levelAfter(level, segment as string | number)
      if (segments[0] === "tasks" && typeof key === "number" && taskId === undefined && isRecord(value)) {
        const id = value[writtenKeyAt(value, "id", "task")]
        if (typeof id === "string" && id !== "") taskId = id
      }
    }
    const message = first.message ?? "a valid value"
    const reason = message === MISSING ? "is required" : `expected ${message}, got ${show(value)}`
    const where = path === "" ? "(root)" : path
    if (seen.has(where)) continue
    seen.add(where)
    out.push(new InvalidDefinition({ path: where, reason, ...(taskId === undefined ? {} : { taskId }) }))
  }
  return out
}

// -----------------------------------------------------------------------------
// Definition -> Plan
// -----------------------------------------------------------------------------

const seconds = (s: number): number => Math.round(s * 1000)

const retryPolicy = (retry: NonNullable<TaskDefinition["retry_config"]>): RetryPolicyData => ({
  maxRetries: retry.max_retries ?? (retry.max_attempts === undefined ? 3 : retry.max_attempts - 1),
  ...(retry.backoff === undefined ? {} : { backoff: retry.backoff }),
  initialDelayMs: retry.initial_delay_ms ?? seconds(retry.initial_delay ?? 1),
  backoffMultiplier: retry.backoff_multiplier ?? 2,
  maxDelayMs: retry.max_delay_ms ?? seconds(retry.max_delay ?? 60),
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

/** What the checks add to a task: its condition, extra dependencies, output mapping and loop. */
interface Checked {
  readonly condition: ConditionData | undefined
  /** Data dependencies added by the definition (the previous task of a pipeline, a loop's items). */
  readonly reads: ReadonlyArray<string>
  readonly after: ReadonlyArray<string>
  readonly outputMapping: Readonly<Record<string, string>> | undefined
  readonly loop: LoopData | undefined
}

const toNode = (task: TaskDefinition, i: number, checked: Checked): PlanNode => {
  const dependsOn = unique([...checked.reads, ...(task.depends_on ?? [])])
  const after = unique(checked.after.filter((id) => !dependsOn.includes(id)))
  const metadata = checked.outputMapping === undefined
    ? task.metadata ?? {}
    : { ...task.metadata, outputMapping: checked.outputMapping }
  const timeoutMs = task.timeout_ms ?? (task.timeout_seconds === undefined ? undefined : seconds(task.timeout_seconds))
  const agentType = task.agent_type ?? task.agent_id
  return {
    id: task.id,
    index: i,
    description: task.description ?? "",
    taskType: task.task_type ?? (task.agent_id === undefined ? "function" : "agent"),
    dependsOn,
    after,
    priority: task.priority ?? 5,
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
    ...(task.retry_config === undefined ? {} : { retry: retryPolicy(task.retry_config) }),
    parameters: task.parameters ?? {},
    metadata,
    tags: task.tags ?? [],
    capabilities: task.required_capabilities ?? [],
    skills: task.required_skills ?? [],
    ...(agentType === undefined ? {} : { agentType }),
    ...(task.expected_output_type === undefined ? {} : { expectedOutputType: task.expected_output_type }),
    ...(checked.condition === undefined ? {} : { condition: checked.condition }),
    runIfSkipped: task.run_if_skipped ?? false,
    ...(task.estimated_duration_seconds === undefined ?
      {} :
      { estimatedDurationMs: seconds(task.estimated_duration_seconds) }),
    ...(task.resources === undefined ? {} : { resources: task.resources }),
    ...(task.concurrency_key === undefined ? {} : { concurrencyKey: task.concurrency_key }),
    ...(checked.loop === undefined ? {} : { loop: checked.loop })
  }
}

const edgesOf = (nodes: ReadonlyArray<PlanNode>): Array<PlanEdge> =>
  nodes.flatMap((node) => [
    ...node.dependsOn.map((from): PlanEdge => ({ from, to: node.id, kind: "data" })),
    ...node.after.map((from): PlanEdge => ({ from, to: node.id, kind: "order" }))
  ])

const toPlan = (def: WorkflowDefinition, id: string, name: string, checked: ReadonlyArray<Checked>): Plan => {
  const nodes = def.tasks.map((task, i) => toNode(task, i, checked[i]!))
  const metadata = def.pipeline === true ? { ...def.metadata, pipeline: true } : def.metadata ?? {}
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
    ...(def.deadline_seconds === undefined ? {} : { deadlineMs: seconds(def.deadline_seconds) }),
    ...(def.resources === undefined ? {} : { resources: def.resources }),
    ...(def.per_key_limit === undefined ? {} : { perKeyLimit: def.per_key_limit }),
    metadata
  })
}

// -----------------------------------------------------------------------------
// Suggestions
// -----------------------------------------------------------------------------

/** Edit distance where swapping two neighbouring characters counts as one edit (optimal string alignment). */
const distance = (a: string, b: string): number => {
  if (Math.abs(a.length - b.length) > 3) return Infinity
  const d: Array<Array<number>> = Array.from({ length: a.length + 1 }, (_, i) => [i])
  for (let j = 0; j <= b.length; j++) d[0]![j] = j
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1)
      d[i]![j] = best
    }
  }
  return d[a.length]![b.length]!
}

/**
 * The known name closest to `name` (at most a third of its length in edits away, and at most 3), or
 * `undefined`.
 *
 * @internal
 */
const suggest = (name: string, known: Iterable<string>): string | undefined => {
  let best: string | undefined
  let bestDistance = Math.min(3, Math.max(1, Math.floor(name.length / 3)))
  for (const candidate of known) {
    if (candidate === name) continue
    const d = distance(name.toLowerCase(), candidate.toLowerCase())
    if (d <= bestDistance && (best === undefined || d < bestDistance)) {
      best = candidate
      bestDistance = d
    }
  }
  return best
}

const didYouMean = (name: string, known: Iterable<string>): string => {
  const s = suggest(name, known)
  return s === undefined ? "" : ` (did you mean '${s}'?)`
}

// -----------------------------------------------------------------------------
// Expressions: conditions, output mappings, loops
// -----------------------------------------------------------------------------

/**
 * A condition that looks like a task id (and is not a CEL literal or variable) names a task, even an
 * unknown one: that is reported as an unknown dependency, which says more than "unknown name".
 */
const looksLikeTaskId = (source: string): boolean =>
  /^[A-Za-z_][A-Za-z0-9_-]*$/.test(source) && !["true", "false", "null", "input", "results"].includes(source)

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
  let compiled: Expression.Compiled | Expression.ExpressionIssue
  try {
    compiled = language.compile(source, known)
  } catch (cause) {
    // A language that overflows on a deeply nested expression (or throws otherwise) fails the definition.
    const detail = cause instanceof RangeError ? "it is nested too deeply" : "the expression language failed on it"
    return Result.fail(new InvalidDefinition({ path, taskId, reason: `invalid ${what}: ${detail}` }))
  }
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

/** Where the user's task list is, and each task's written keys. */
interface Written {
  readonly tasks: string
  readonly task: (i: number, field: string) => string
  readonly loop: (i: number, field: string) => string
}

const writtenOf = (input: unknown): Written => {
  const tasksKey = writtenKeyAt(input, "tasks", "workflow")
  const rawTasks = isRecord(input) ? input[tasksKey] : undefined
  const rawTask = (i: number) => (Array.isArray(rawTasks) ? rawTasks[i] : undefined)
  return {
    tasks: tasksKey,
    task: (i, field) => `${tasksKey}[${i}].${writtenKeyAt(rawTask(i), field, "task")}`,
    loop: (i, field) => {
      const task = rawTask(i)
      const loopKey = writtenKeyAt(task, "loop", "task")
      const loop = isRecord(task) ? task[loopKey] : undefined
      return `${tasksKey}[${i}].${loopKey}.${writtenKeyAt(loop, field, "loop")}`
    }
  }
}

/**
 * Checks the condition, the output mapping and the loop of every task. A condition that is a task id stays
 * a `TaskCompleted` condition; any other condition, every output mapping and a while loop's condition are
 * expressions of the language in use: the tasks they read become order dependencies (an output mapping or
 * a while condition may read its own task). A for-each reading another task's output depends on it.
 */
const checkExpressions = (
  def: WorkflowDefinition,
  written: Written,
  language: Expression.Language | undefined
): { readonly checked: ReadonlyArray<Checked>; readonly errors: ReadonlyArray<InvalidDefinition> } => {
  const known = def.tasks.map((task) => task.id)
  const checked: Array<Checked> = []
  const errors: Array<InvalidDefinition> = []
  const collect = <A>(result: Result.Result<A, InvalidDefinition>): A | undefined => {
    if (Result.isSuccess(result)) return result.success
    errors.push(result.failure)
    return undefined
  }
  for (let i = 0; i < def.tasks.length; i++) {
    const task = def.tasks[i]!
    const after: Array<string> = []
    const reads: Array<string> = []
    if (def.pipeline === true && i > 0) reads.push(def.tasks[i - 1]!.id)
    let condition: ConditionData | undefined
    const source = task.condition
    if (source !== undefined) {
      if (known.includes(source) || looksLikeTaskId(source)) {
        condition = { _tag: "TaskCompleted", taskId: source }
        after.push(source)
      } else {
        const compiled = collect(
          compileExpression(language, source, known, written.task(i, "condition"), task.id, "condition")
        )
        if (compiled !== undefined) {
          condition = { _tag: "Expression", source, language: compiled.language }
          after.push(...compiled.references)
        }
      }
    }
    const mapping = task.output_mapping
    if (mapping !== undefined) {
      for (const [name, expression] of Object.entries(mapping)) {
        const compiled = collect(compileExpression(
          language,
          expression,
          known,
          `${written.task(i, "output_mapping")}.${name}`,
          task.id,
          "output mapping"
        ))
        if (compiled !== undefined) after.push(...compiled.references.filter((id) => id !== task.id))
      }
    }
    let loop: LoopData | undefined
    const config = task.loop
    if (config?.type === "for_each") {
      const items = config.items
      if (typeof items === "string") {
        const [head = ""] = items.split(".")
        if (head !== "input") {
          if (!known.includes(head)) {
            errors.push(
              new InvalidDefinition({
                path: written.loop(i, "items"),
                taskId: task.id,
                reason: `"${items}" reads unknown task '${head}'${didYouMean(head, [...known, "input"])}; ` +
                  `items are a list, "input.<path>" or "<task id>.<path>"`
              })
            )
          } else if (head === task.id) {
            errors.push(
              new InvalidDefinition({ path: written.loop(i, "items"), taskId: task.id, reason: "a loop cannot read its own output" })
            )
          } else reads.push(head)
        }
      }
      loop = {
        _tag: "ForEach",
        items,
        itemName: config.item_name ?? "item",
        concurrency: config.concurrency ?? 1,
        ...(config.max_iterations === undefined ? {} : { maxIterations: config.max_iterations }),
        failureMode: config.failure_mode ?? "fail-fast"
      }
    } else if (config?.type === "while" || config?.type === "until") {
      const compiled = collect(
        compileExpression(language, config.condition, known, written.loop(i, "condition"), task.id, "loop condition")
      )
      if (compiled !== undefined) {
        after.push(...compiled.references.filter((id) => id !== task.id))
        loop = {
          _tag: "While",
          condition: config.condition,
          language: compiled.language,
          maxIterations: config.max_iterations,
          ...(config.type === "until" ? { until: true as const } : {})
        }
      }
    }
    checked.push({ condition, reads, after, outputMapping: mapping, loop })
  }
  return { checked, errors }
}

/** Fields given in two spellings that mean the same thing (`timeout_seconds` and `timeout_ms`, ...). */
const conflicts = (def: WorkflowDefinition, written: Written): Array<InvalidDefinition> => {
  const errors: Array<InvalidDefinition> = []
  const pairs: ReadonlyArray<readonly [keyof TaskDefinition, keyof TaskDefinition]> = [
    ["timeout_seconds", "timeout_ms"],
    ["agent_type", "agent_id"]
  ]
  const retryPairs = [["max_retries", "max_attempts"], ["initial_delay", "initial_delay_ms"], [
    "max_delay",
    "max_delay_ms"
  ]] as const
  def.tasks.forEach((task, i) => {
    for (const [a, b] of pairs) {
      if (task[a] !== undefined && task[b] !== undefined) {
        errors.push(
          new InvalidDefinition({
            path: written.task(i, b),
            taskId: task.id,
            reason: `given twice, as "${written.task(i, a).split(".").at(-1)}" and as "${
              written.task(i, b).split(".").at(-1)
            }"`
          })
        )
      }
    }
    const retry = task.retry_config
    if (retry !== undefined) {
      for (const [a, b] of retryPairs) {
        if (retry[a] !== undefined && retry[b] !== undefined) {
          errors.push(
            new InvalidDefinition({
              path: `${written.task(i, "retry_config")}.${b}`,
              taskId: task.id,
              reason: `given twice, as "${a}" and as "${b}"`
            })
          )
        }
      }
    }
  })
  return errors
}

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
// Diagnosis: every error at once, each with its path
// -----------------------------------------------------------------------------

/**
 * One problem of a definition: where (a path into the file as the user wrote it), what (one line), and
 * the tagged error.
 *
 * @internal
 */
export interface Problem {
  readonly path: string
  readonly message: string
  readonly error: DefinitionError
}

/** @internal */
export interface Diagnosis {
  /** The Plan, when there is no problem. */
  readonly plan: Plan | undefined
  readonly problems: ReadonlyArray<Problem>
  /** Fields no level of a definition has (ignored by the decoder; usually a typo). */
  readonly warnings: ReadonlyArray<{ readonly path: string; readonly message: string }>
}

const fieldsOf: Readonly<Record<Level, ReadonlyArray<string>>> = {
  workflow: [...Object.keys(WorkflowDefinition.fields), "$schema"],
  task: Object.keys(TaskDefinition.fields),
  retry: Object.keys(RetryConfig.fields),
  loop: [...new Set([...Object.keys(ForEachLoop.fields), ...Object.keys(WhileLoop.fields)])]
}

/** Every written spelling of the fields of a level, for suggestions. */
const spellingsOf = (level: Level): Array<string> => [
  ...fieldsOf[level],
  ...[...aliasesOf[level].entries()].filter(([, target]) => fieldsOf[level].includes(target)).map(([alias]) => alias)
]

/** Unknown fields of the workflow, its tasks, their retry and loop configs. */
const unknownFields = (input: unknown): Array<{ readonly path: string; readonly message: string }> => {
  const warnings: Array<{ path: string; message: string }> = []
  const check = (value: unknown, path: string, level: Level) => {
    if (!isRecord(value)) return
    for (const key of Object.keys(value)) {
      if (fieldsOf[level].includes(canonical(key, level))) continue
      warnings.push({ path: join(path, key), message: `unknown field '${key}'${didYouMean(key, spellingsOf(level))}` })
    }
  }
  check(input, "", "workflow")
  if (!isRecord(input)) return warnings
  const tasksKey = writtenKeyAt(input, "tasks", "workflow")
  const tasks = input[tasksKey]
  if (!Array.isArray(tasks)) return warnings
  tasks.forEach((task: unknown, i: number) => {
    const at = `${tasksKey}[${i}]`
    check(task, at, "task")
    if (!isRecord(task)) return
    const retryKey = writtenKeyAt(task, "retry_config", "task")
    check(task[retryKey], join(at, retryKey), "retry")
    const loopKey = writtenKeyAt(task, "loop", "task")
    check(task[loopKey], join(at, loopKey), "loop")
  })
  return warnings
}

const invalidProblem = (error: InvalidDefinition): Problem => ({ path: error.path, message: error.reason, error })

interface GraphTask {
  readonly id: string
  /** Every dependency (data, order, condition) with the path it was written at. */
  readonly deps: ReadonlyArray<{ readonly id: string; readonly path: string }>
}

/** The graph's problems: no tasks, duplicate ids, unknown and self dependencies, one cycle. */
const graphProblems = (tasks: ReadonlyArray<GraphTask>, workflow: string, written: Written): Array<Problem> => {
  const tasksKey = written.tasks
  if (tasks.length === 0) {
    const error = new EmptyWorkflow({ workflow })
    return [{ path: tasksKey, message: "the workflow has no tasks", error }]
  }
  const problems: Array<Problem> = []
  const first = new Map<string, number>()
  tasks.forEach((task, i) => {
    const seen = first.get(task.id)
    if (seen === undefined) first.set(task.id, i)
    else {
      problems.push({
        path: written.task(i, "id"),
        message: `duplicate task id '${task.id}' (first declared at ${tasksKey}[${seen}])`,
        error: new DuplicateTaskId({ taskId: task.id, first: seen, second: i })
      })
    }
  })
  const known = [...first.keys()].sort()
  for (const task of tasks) {
    const reported = new Set<string>()
    for (const dep of task.deps) {
      if (reported.has(dep.id)) continue
      if (dep.id === task.id) {
        reported.add(dep.id)
        problems.push({
          path: dep.path,
          message: `task '${task.id}' depends on itself`,
          error: new SelfDependency({ taskId: task.id })
        })
      } else if (!first.has(dep.id)) {
        reported.add(dep.id)
        problems.push({
          path: dep.path,
          message: `unknown task '${dep.id}'${didYouMean(dep.id, known)}`,
          error: new UnknownDependency({ taskId: task.id, dependency: dep.id, known })
        })
      }
    }
  }
  {
    // One cycle, over the first declaration of each id (a duplicate is reported above).
    const shape = {
      nodes: tasks.filter((task, i) => first.get(task.id) === i).map((task) => ({
        id: task.id,
        dependsOn: task.deps.map((d) => d.id),
        after: []
      }))
    } as unknown as Plan
    if (topo(index(shape)) === undefined) {
      const cycle = findCycle(shape)
      if (cycle !== undefined) {
        problems.push({
          path: `${tasksKey}[${first.get(cycle[0]!)}]`,
          message: `dependency cycle: ${cycle.join(" → ")}`,
          error: new CycleDetected({ path: cycle })
        })
      }
    }
  }
  return problems
}

/** The graph of tasks that could not be decoded, as far as it can be read (for a complete report). */
const lenientGraph = (normalised: unknown, written: Written): Array<GraphTask> | undefined => {
  if (!isRecord(normalised) || !Array.isArray(normalised.tasks)) return undefined
  const tasks: Array<GraphTask> = []
  const list = normalised.tasks as ReadonlyArray<unknown>
  for (let i = 0; i < list.length; i++) {
    const task = list[i]
    if (!isRecord(task) || typeof task.id !== "string" || task.id === "") return undefined
    const deps: Array<{ id: string; path: string }> = []
    if (Array.isArray(task.depends_on)) {
      task.depends_on.forEach((id: unknown, j: number) => {
        if (typeof id === "string" && id !== "") deps.push({ id, path: `${written.task(i, "depends_on")}[${j}]` })
      })
    }
    if (typeof task.condition === "string" && looksLikeTaskId(task.condition)) {
      deps.push({ id: task.condition, path: written.task(i, "condition") })
    }
    tasks.push({ id: task.id, deps })
  }
  return tasks
}

const planGraph = (def: WorkflowDefinition, checked: ReadonlyArray<Checked>, written: Written): Array<GraphTask> =>
  def.tasks.map((task, i) => {
    const c = checked[i]!
    const deps: Array<{ id: string; path: string }> = [
      ...c.reads.map((id) => ({ id, path: def.pipeline === true && i > 0 ? `${written.tasks}[${i}]` : written.loop(i, "items") })),
      ...(task.depends_on ?? []).map((id, j) => ({ id, path: `${written.task(i, "depends_on")}[${j}]` })),
      ...c.after.map((id) => ({ id, path: written.task(i, "condition") }))
    ]
    return { id: task.id, deps }
  })

/**
 * Decodes a definition and reports every problem found, each with its path. Stops early only where later
 * checks cannot run (a definition that is not an object, nesting deeper than `MAX_DEPTH`).
 *
 * @internal
 */
export const diagnose = (input: unknown): Effect.Effect<Diagnosis> =>
  Effect.gen(function*() {
    const deep = tooDeep(input)
    if (deep !== undefined) {
      const error = new InvalidDefinition({
        path: shortPath(deep),
        reason: `nested more than ${MAX_DEPTH} levels deep`
      })
      return { plan: undefined, problems: [invalidProblem(error)], warnings: [] }
    }
    const warnings = unknownFields(input)
    const fail = (problems: ReadonlyArray<Problem>): Diagnosis => ({ plan: undefined, problems, warnings })
    const normalised = normalise(input)
    if (Result.isFailure(normalised)) return fail([invalidProblem(normalised.failure)])
    const written = writtenOf(input)
    const decoded = Schema.decodeUnknownResult(WorkflowDefinition)(normalised.success, { errors: "all" })
    if (Result.isFailure(decoded)) {
      const problems = invalid(decoded.failure.issue, input).map(invalidProblem)
      const graph = lenientGraph(normalised.success, written)
      // Only the graph errors that are not about a task already reported (an empty list is reported as such).
      if (graph !== undefined && graph.length > 0) {
        problems.push(...graphProblems(graph, "", written).filter((p) => !problems.some((q) => q.path === p.path)))
      }
      return fail(problems)
    }
    const def = decoded.success
    const problems: Array<Problem> = []
    const id = def.id ?? def.name
    const name = def.name ?? def.id
    if (id === undefined || name === undefined) {
      problems.push(invalidProblem(new InvalidDefinition({ path: "id", reason: "a workflow needs an id or a name" })))
    }
    problems.push(...conflicts(def, written).map(invalidProblem))
    const language = yield* Expression.ExpressionLanguage
    const { checked, errors } = checkExpressions(def, written, language)
    problems.push(...errors.map(invalidProblem))
    problems.push(...graphProblems(planGraph(def, checked, written), name ?? "", written))
    if (problems.length > 0 || id === undefined || name === undefined) return fail(problems)
    return { plan: toPlan(def, id, name, checked), problems: [], warnings }
  })

// -----------------------------------------------------------------------------
// Decoding
// -----------------------------------------------------------------------------

/**
 * Decodes a definition. Condition, output-mapping and loop expressions are checked with the
 * `ExpressionLanguage` in use (a reference: without one, expressions are definition errors). Fails with
 * the first problem `diagnose` finds.
 *
 * @internal
 */
export const decode = (input: unknown): Effect.Effect<Plan, DefinitionError> =>
  Effect.flatMap(diagnose(input), ({ plan, problems }) =>
    plan !== undefined ? Effect.succeed(plan) : Effect.fail(problems[0]!.error))

// -----------------------------------------------------------------------------
// JSON Schema
// -----------------------------------------------------------------------------

const camel = (key: string): string => key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase())

type JsonObject = Record<string, unknown>

/** Adds every accepted spelling of each property (camelCase, aliases) and forbids unknown properties. */
const withSpellings = (schema: JsonObject, level: Level): JsonObject => {
  const properties = (schema.properties ?? {}) as Record<string, JsonObject>
  const out: Record<string, unknown> = {}
  const spellings = (name: string): Array<string> => {
    const names = new Set([name, camel(name)])
    for (const [alias, target] of aliasesOf[level]) if (target === name) names.add(alias).add(camel(alias))
    return [...names]
  }
  for (const [name, property] of Object.entries(properties)) {
    for (const spelling of spellings(name)) out[spelling] = property
  }
  const required = (schema.required ?? []) as ReadonlyArray<string>
  const { required: _, ...rest } = schema
  return {
    ...rest,
    properties: level === "workflow" ? { $schema: { type: "string" }, ...out } : out,
    additionalProperties: false,
    ...(required.length === 0 ? {} : {
      allOf: required.map((name) => ({ anyOf: spellings(name).map((spelling) => ({ required: [spelling] })) }))
    })
  }
}

/**
 * The JSON Schema (draft 2020-12) of definition files, generated from the definition Schema: every
 * accepted spelling of each field, and unknown fields rejected (the decoder ignores them, so editors flag
 * typos the decoder would let through).
 *
 * @internal
 */
export const jsonSchema = (): JsonObject => {
  const document = Schema.toJsonSchemaDocument(WorkflowDefinition)
  const root = structuredClone(document.schema) as JsonObject
  const props = (s: JsonObject) => s.properties as Record<string, JsonObject>
  const tasks = props(root).tasks!
  const task = tasks.items as JsonObject
  const retry = props(task).retry_config!
  const loop = props(task).loop!
  const loops = ((loop.anyOf ?? loop.oneOf) as Array<JsonObject>).map((branch) => {
    const spelled = withSpellings(branch, "loop")
    const type = props(spelled).type!
    const names = [...loopTypes].filter(([, target]) => type.enum === undefined ? false : (type.enum as Array<string>).includes(target))
    const typeSchema = { type: "string", enum: names.map(([name]) => name) }
    return { ...spelled, properties: { ...props(spelled), type: typeSchema } }
  })
  const taskSchema = withSpellings(
    {
      ...task,
      properties: { ...props(task), retry_config: { $ref: "#/$defs/retry" }, loop: { $ref: "#/$defs/loop" } }
    },
    "task"
  )
  const workflow = withSpellings(
    { ...root, properties: { ...props(root), tasks: { ...tasks, items: { $ref: "#/$defs/task" } } } },
    "workflow"
  )
  return {
    $schema: "https://json-schema.org/draft/2020-12/schema",
    $id: "https://troupe.dev/schema/troupe-definition.schema.json",
    title: "Troupe workflow definition",
    description: "A workflow as data (YAML or JSON): tasks (or steps) with dependencies, retries, " +
      "conditions and loops. Field names: snake_case, camelCase, or the agent-plan names.",
    ...workflow,
    $defs: { task: taskSchema, retry: withSpellings(retry, "retry"), loop: { anyOf: loops } }
  }
}
