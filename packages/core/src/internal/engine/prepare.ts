/**
 * @internal A run's preparation, the same for a top-level workflow and for every sub-workflow in it
 * (recursively), all before anything runs: the definition is validated, numbers are checked, every
 * resource request is checked against the pools of the whole tree, and every task's own pre-run check
 * passes (an agent task: some agent can take it).
 */
import { Effect } from "effect"
import type { Plan } from "../../Plan.ts"
import type * as Workflow from "../../Workflow.ts"
import { type DefinitionError, InvalidDefinition, WorkflowFailed } from "../../WorkflowError.ts"
import * as definition from "../definition.ts"
import { index, topo } from "../graph.ts"
import { type Compiled, compile, internals } from "../workflowPlan.ts"
import { censusOf } from "./census.ts"
import { checkNumbers, type Options, type Settings, settingsOf } from "./settings.ts"

/** Resource requests that can never be met are definition errors, found before the run starts. */
const checkResources = (
  compiled: Compiled,
  pools: ReadonlyMap<string, number>,
  perKeyLimit: number | undefined,
  at: Where
): Effect.Effect<void, InvalidDefinition> => {
  const plan = compiled.plan
  const census = censusOf(compiled)
  const limit = perKeyLimit
  if (census.keyed && limit !== undefined && !(limit >= 1)) {
    const keyed = plan.nodes.findIndex((node) => node.concurrencyKey !== undefined || node.concurrencyKeyComputed)
    if (keyed >= 0) {
      return Effect.fail(
        new InvalidDefinition({
          path: "perKeyLimit",
          taskId: at.taskPrefix + plan.nodes[keyed]!.id,
          reason: `must be at least 1 when tasks have a concurrencyKey, got ${limit}`
        })
      )
    }
  }
  for (let i = 0; census.resources && i < plan.nodes.length; i++) {
    const node = plan.nodes[i]!
    const requests = node.resources
    if (requests === undefined) continue
    for (const pool of Object.keys(requests)) {
      const units = requests[pool]!
      // Pools are looked up in a Map: a pool named "toString" or "__proto__" is a name like any other.
      const capacity = pools.get(pool)
      const path = `${at.pathPrefix}tasks[${i}].resources.${pool}`
      if (capacity === undefined) {
        return Effect.fail(
          new InvalidDefinition({
            path,
            taskId: at.taskPrefix + node.id,
            reason: `unknown resource pool "${pool}"; pools: [${[...pools.keys()].join(", ")}]`
          })
        )
      }
      if (!(units >= 0) || units > capacity) {
        return Effect.fail(
          new InvalidDefinition({
            path,
            taskId: at.taskPrefix + node.id,
            reason: `requests ${units} ${pool} but the pool holds ${capacity}`
          })
        )
      }
    }
  }
  return Effect.void
}

/** Where a (sub-)workflow sits, for error paths: `tasks[2].workflow.` and `sub/`. */
interface Where {
  readonly pathPrefix: string
  readonly taskPrefix: string
}


/** Plans validated once already (a workflow value is immutable). */
const validated = new WeakSet<Plan>()

/**
 * What `definition.validate` checks, read from the graph index the run builds anyway: tasks, one node per
 * id, every dependency naming another task, no cycle, no condition naming a task. When all hold the plan
 * is valid without looking its ids up a second time; otherwise `definition.validate` finds the error.
 */
const validGraph = (compiled: Compiled): boolean => {
  const g = index(compiled.plan)
  if (g.size === 0 || g.unresolved > 0 || g.indexOf.size !== g.size || censusOf(compiled).namesTask) return false
  return topo(g) !== undefined
}

/** A sub-workflow's own settings: its strategy, limit, failure mode and deadline; the tree's pools and keys. */
export const childSettings = (plan: Plan): Settings => settingsOf(plan, {})

/** Every pool of the tree: the run's (or the top-level workflow's), then those only a sub-workflow declares. */
const treePools = (compiled: Compiled, root: Readonly<Record<string, number>> | undefined): Map<string, number> => {
  const pools = new Map<string, number>()
  const add = (declared: Readonly<Record<string, number>> | undefined) => {
    if (declared === undefined) return
    for (const name of Object.keys(declared)) if (!pools.has(name)) pools.set(name, declared[name]!)
  }
  add(root)
  const visit = (c: Compiled) => {
    if (!censusOf(c).children) return
    for (const impl of c.impls) {
      if (impl.child === undefined) continue
      const child = compile(impl.child.workflow)
      add(child.plan.resources)
      visit(child)
    }
  }
  visit(compiled)
  return pools
}

const prefixed = (at: Where) => <E>(error: E): E =>
  at.pathPrefix !== "" && error instanceof InvalidDefinition
    ? new InvalidDefinition({
      path: at.pathPrefix + error.path,
      ...(error.taskId === undefined ? {} : { taskId: at.taskPrefix + error.taskId }),
      reason: error.reason
    }) as E
    : error

/**
 * A run's preparation, the same for the top-level workflow and every sub-workflow in it (recursively):
 * the definition is validated, every resource request is checked against the tree's pools, and every task's
 * own pre-run check passes, before anything runs.
 */
const prepareTree = (
  compiled: Compiled,
  settings: Settings,
  pools: ReadonlyMap<string, number>,
  perKeyLimit: number | undefined,
  at: Where,
  rootName: string
): Effect.Effect<void, DefinitionError | WorkflowFailed<unknown>> => {
  const checked: Effect.Effect<void, DefinitionError> = validated.has(compiled.plan) || validGraph(compiled)
    ? Effect.void
    : definition.validate(compiled.plan).pipe(Effect.andThen(Effect.sync(() => validated.add(compiled.plan))))
  const invalid = at.pathPrefix === "" ? undefined : checkNumbers(compiled, {})
  if (invalid !== undefined) return Effect.fail(prefixed(at)(invalid))
  const census = censusOf(compiled)
  const taskChecks = census.checked ? compiled.impls.filter((impl) => impl.check !== undefined) : []
  const children = census.children ? compiled.impls.filter((impl) => impl.child !== undefined) : []
  return checked.pipe(
    Effect.mapError(prefixed(at)),
    Effect.andThen(checkResources(compiled, pools, settings.perKeyLimit ?? perKeyLimit, at)),
    Effect.andThen(
      taskChecks.length === 0 ? Effect.void : Effect.forEach(taskChecks, (impl) =>
        impl.check!(impl.node).pipe(
          // A task's own pre-run check (e.g. "no agent can take this task") fails the run before it starts,
          // as a WorkflowFailed naming the task, with nothing run.
          Effect.catchCause((cause) =>
            Effect.fail(
              new WorkflowFailed({
                workflow: rootName,
                runId: "(not started)",
                failures: [{ taskId: at.taskPrefix + impl.node.id, cause }],
                completed: [],
                outputs: {},
                compensations: []
              })
            )
          )
        ), { discard: true }) as Effect.Effect<void, WorkflowFailed<unknown>>
    ),
    Effect.andThen(
      children.length === 0 ? Effect.void : Effect.forEach(children, (impl) => {
        const child = compile(impl.child!.workflow)
        return prepareTree(child, childSettings(child.plan), pools, perKeyLimit, {
          pathPrefix: `${at.pathPrefix}tasks[${impl.node.index}].workflow.`,
          taskPrefix: `${at.taskPrefix}${impl.node.id}/`
        }, rootName)
      }, { discard: true })
    )
  )
}


export const prepare = (
  workflow: Workflow.Any,
  options: Options
): Effect.Effect<
  { readonly compiled: Compiled; readonly settings: Settings; readonly pools: ReadonlyMap<string, number> },
  DefinitionError | WorkflowFailed<unknown>
> =>
  Effect.suspend(() => {
    const compiled = compile(internals(workflow))
    const invalid = checkNumbers(compiled, options)
    if (invalid !== undefined) return Effect.fail(invalid)
    const settings = settingsOf(compiled.plan, options)
    const pools = treePools(compiled, settings.resources)
    return prepareTree(compiled, settings, pools, settings.perKeyLimit, { pathPrefix: "", taskPrefix: "" },
      compiled.plan.name).pipe(Effect.as({ compiled, settings, pools }))
  })

/**
 * A workflow a task starts at run time (`TaskInfo.runWorkflow`), prepared as a static sub-workflow is
 * before its run: validated, its numbers checked, its resource requests checked against the tree's pools
 * (`capacity`, to which the pools only it declares are added first), its tasks' own checks passed.
 * Errors name the child's tasks by their path (`caller/name/task`).
 */
export const prepareChild = (
  workflow: Workflow.Any,
  capacity: Map<string, number>,
  perKeyLimit: number | undefined,
  taskPrefix: string,
  rootName: string
): Effect.Effect<{ readonly compiled: Compiled; readonly added: ReadonlyMap<string, number> }, DefinitionError | WorkflowFailed<unknown>> =>
  Effect.suspend(() => {
    const compiled = compile(internals(workflow))
    const added = new Map<string, number>()
    for (const [name, units] of treePools(compiled, compiled.plan.resources)) if (!capacity.has(name)) added.set(name, units)
    const pools = added.size === 0 ? capacity : new Map([...capacity, ...added])
    const at = { pathPrefix: `runWorkflow(${JSON.stringify(taskPrefix.slice(0, -1))}).`, taskPrefix }
    return prepareTree(compiled, childSettings(compiled.plan), pools, perKeyLimit, at, rootName).pipe(
      Effect.as({ compiled, added })
    )
  })
