/**
 * Templates: the registry of the four built-in templates, for the command line and definition files.
 *
 * API for a command line (`troupe templates list`, `troupe templates run <name> --params file.json`):
 *
 * - {@link all}: every template, each a `Template.Template` with `name`, `description`, `parameters` (an
 *   Effect `Schema`; `Schema.toJsonSchemaDocument(t.parameters)` describes it for `--help`) and `make`.
 * - {@link list}: `{ name, description }` of each, for `templates list`.
 * - {@link get}: a template by name, or `TemplateNotFound` naming the ones there are.
 * - {@link instantiate}: decodes raw parameters (JSON, YAML, flags) with the template's Schema and returns
 *   its workflow, or `TemplateParameterError` naming the template and the parameter (`sources[1].path`).
 * - Run the workflow with `Engine.run(workflow)`: it carries the common parameters (`maxParallel`,
 *   `defaultTimeout`, `continueOnFailure`). Services the workflows need: `NodeServices.layer` (processes) for
 *   `ci-cd` and `code-review`; `CiCd.DeployTarget` when `ci-cd` has a `deployTarget` (e.g.
 *   `CiCd.DeployTarget.localDirectory(dir)`); an `AgentRegistry` with a `code_analysis` agent for
 *   `code-review`. Workflows from `instantiate` are typed `Workflow.Any`: provide what their template needs;
 *   {@link layer} provides everything but the agents (processes, and a local-directory deploy target).
 *
 * @example
 * ```ts
 * import { Templates } from "@troupe/templates"
 * import { Effect } from "effect"
 *
 * const names = Templates.list().map((t) => t.name) // ["ci-cd", "etl", "code-review", "documentation"]
 * const wf = Templates.instantiate("etl", JSON.parse('{"sources":[...],"transformationSteps":[],...}'))
 * ```
 *
 * @since 0.1.0
 */
import { NodeServices } from "@effect/platform-node"
import { Effect, Layer } from "effect"
import * as CiCd from "./CiCd.ts"
import * as CodeReview from "./CodeReview.ts"
import * as Documentation from "./Documentation.ts"
import * as Etl from "./Etl.ts"
import * as Template from "./Template.ts"

/**
 * The built-in templates.
 *
 * @category constants
 * @since 0.1.0
 */
export const all = [CiCd.template, Etl.template, CodeReview.template, Documentation.template] as const

/**
 * The name of a built-in template.
 *
 * @category models
 * @since 0.1.0
 */
export type Name = typeof all[number]["name"]

/**
 * Name and description of each template.
 *
 * @category accessors
 * @since 0.1.0
 */
export const list = (): ReadonlyArray<{ readonly name: Name; readonly description: string }> =>
  all.map((t) => ({ name: t.name, description: t.description }))

/**
 * A template by name.
 *
 * @category accessors
 * @since 0.1.0
 */
export const get = (name: string): Effect.Effect<typeof all[number], Template.TemplateNotFound> => {
  const found = all.find((t) => t.name === name)
  return found === undefined
    ? Effect.fail(new Template.TemplateNotFound({ name, available: all.map((t) => t.name) }))
    : Effect.succeed(found)
}

/**
 * The workflow of a template by name, from raw parameters checked against its Schema.
 *
 * @category constructors
 * @since 0.1.0
 */
export const instantiate = (
  name: string,
  raw: unknown
): Effect.Effect<
  ReturnType<typeof all[number]["make"]>,
  Template.TemplateNotFound | Template.TemplateParameterError
> =>
  Effect.flatMap(get(name), (template) =>
    Template.instantiate(template as Template.Template<string, unknown, ReturnType<typeof all[number]["make"]>>, raw))

/**
 * The services the built-in templates need, except agents: Node's (processes, files) and a deploy target
 * that copies `ci-cd` artifacts into `<deployRoot>/<deployTarget>` (default `.troupe/releases`). A command
 * line runs `ci-cd`, `etl` and `documentation` with it alone; `code-review` also needs an `AgentRegistry`.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (options?: { readonly deployRoot?: string | undefined }) =>
  Layer.mergeAll(NodeServices.layer, CiCd.DeployTarget.localDirectory(options?.deployRoot ?? ".troupe/releases"))
