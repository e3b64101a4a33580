/**
 * @internal The preflight: what a ready task passes before it queues for a slot, in its own fiber and
 * holding no slot. First its condition (a `when` predicate, a `TaskCompleted` condition, or an expression
 * over the run's `results`), then, when a TaskCache is provided, the cache lookup. The verdict: run it,
 * skip it (with the reason), or complete it from the cache.
 */
import { Effect, Option, type Schema } from "effect"
import * as Expression from "../../Expression.ts"
import * as TaskCache from "../../TaskCache.ts"
import { InvalidDefinition } from "../../WorkflowError.ts"
import { COMPLETED, contextFor, FAILED, type RunCore, setOwn, SKIPPED, type Verdict } from "./state.ts"

const Run: Verdict = { _tag: "Run" }

/** Tasks with a condition, or a cache lookup to make, pass a preflight before they queue for a slot. */
export const needsPreflight = (run: RunCore, i: number): boolean => {
  const impl = run.impls[i]!
  return impl.when !== undefined || impl.node.condition !== undefined || (run.cacheActive && impl.cache !== false)
}

/**
 * Dependency-aware cache keys: a dependency counts by its own cache key (so changing it re-runs every
 * dependant), or by its output when it was not cached.
 */
const dependencyKeys = (run: RunCore, i: number): Record<string, unknown> => {
  const keys: Record<string, unknown> = {}
  for (const j of run.g.preds[i]!) {
    const key = run.cacheKeys[j]
    setOwn(keys, run.g.ids[j]!, key === undefined ? { output: run.outputs[j] } : { key: key.hash })
  }
  return keys
}

/** The cache lookup: computes (and keeps) the task's cache key, then asks the TaskCache. */
const lookup = (run: RunCore, i: number, ctx: Record<string, unknown>): Effect.Effect<Verdict, unknown, unknown> => {
  const impl = run.impls[i]!
  if (!run.cacheActive || impl.cache === false) return Effect.succeed(Run)
  const node = impl.node
  const policy = impl.cache
  const key = policy?.key !== undefined
    ? TaskCache.CacheKey.fromValue({ workflow: run.plan.name, taskId: node.id, value: policy.key(ctx as never) })
    : TaskCache.CacheKey.make({
      workflow: run.plan.name,
      taskId: node.id,
      description: node.description,
      parameters: node.parameters,
      capabilities: node.capabilities,
      skills: node.skills,
      version: policy?.version,
      input: run.input,
      dependencyOutputs: policy?.includeDependencies === false ? undefined : dependencyKeys(run, i)
    })
  run.cacheKeys[i] = key
  const found = policy?.output === undefined
    ? TaskCache.lookup(key)
    : TaskCache.lookup(key, policy.output as Schema.Codec<unknown, unknown>)
  return Effect.map(found, (value): Verdict => Option.isSome(value) ? { _tag: "Hit", value: value.value } : Run)
}

/**
 * The preflight of task `i`. Call it lazily (inside `Effect.suspend`): a cache key function that throws,
 * or a value too deep to hash, then fails this task only.
 */
export const preflight = (run: RunCore, i: number): Effect.Effect<Verdict, unknown, unknown> => {
  const impl = run.impls[i]!
  const node = impl.node
  const ctx = contextFor(run, i)
  run.contexts[i] = ctx
  const condition = node.condition
  if (condition?._tag === "TaskCompleted") {
    const j = run.g.indexOf.get(condition.taskId)
    return j !== undefined && run.status[j] === COMPLETED
      ? lookup(run, i, ctx)
      : Effect.succeed({ _tag: "Skip", reason: `condition: task "${condition.taskId}" did not complete` })
  }
  if (condition?._tag === "Expression") {
    return Effect.suspend(() => {
      const verdict = evaluateExpression(run, condition.source)
      if (typeof verdict === "boolean") {
        return verdict
          ? lookup(run, i, ctx)
          : Effect.succeed({ _tag: "Skip", reason: `condition false: ${condition.source}` })
      }
      return Effect.fail(new InvalidDefinition({ path: "condition", taskId: node.id, reason: verdict.message }))
    })
  }
  if (impl.when !== undefined) {
    const when = impl.when as (ctx: unknown) => boolean | Effect.Effect<boolean, never, unknown>
    return Effect.suspend(() => {
      const verdict = when(ctx)
      const decide = (ok: boolean): Effect.Effect<Verdict, unknown, unknown> =>
        ok ? lookup(run, i, ctx) : Effect.succeed({ _tag: "Skip", reason: "condition was false" })
      return typeof verdict === "boolean" ? decide(verdict) : Effect.flatMap(verdict, decide)
    })
  }
  return lookup(run, i, ctx)
}

/** Evaluates a condition expression over `{ input, results }` (compiled once per run and source). */
const evaluateExpression = (run: RunCore, source: string): boolean | Expression.ExpressionIssue => {
  const language = run.language
  if (language === undefined) {
    return { message: "condition expressions need an expression language layer (e.g. @troupe/cel's Cel.layer)" }
  }
  const cache = run.expressions ??= new Map()
  let compiled = cache.get(source)
  if (compiled === undefined) {
    compiled = language.compile(source, run.g.ids)
    cache.set(source, compiled)
  }
  if (Expression.isIssue(compiled)) return compiled
  const results: Record<string, { status: string; output?: unknown }> = {}
  const { status, outputs } = run
  const ids = run.g.ids
  for (let j = 0; j < run.n; j++) {
    const st = status[j]
    if (st === COMPLETED) setOwn(results, ids[j]!, { status: "completed", output: outputs[j] })
    else if (st === FAILED) setOwn(results, ids[j]!, { status: "failed" })
    else if (st === SKIPPED) setOwn(results, ids[j]!, { status: "skipped" })
  }
  return compiled.evaluate({ input: run.input, results })
}
