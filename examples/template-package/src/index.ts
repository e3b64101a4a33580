/**
 * A Troupe template in a package of its own: `releaseNotes(params)` returns a workflow that groups a list
 * of changes by kind, renders Markdown release notes and counts them. Parameters are an Effect Schema, so
 * a command line or a definition file can decode them (`releaseNotesTemplate.parameters`), and a typed
 * function, so a wrong call does not compile.
 *
 * @example
 * ```ts
 * import { Engine } from "@troupe/core"
 * import { releaseNotes } from "@acme/troupe-template-release"
 * import { Effect } from "effect"
 *
 * const wf = releaseNotes({ version: "1.2.0", changes: [{ kind: "feat", text: "Dark mode" }] })
 * const { outputs } = await Effect.runPromise(Engine.run(wf))
 * console.log(outputs["render-notes"])
 * ```
 */
import { Workflow } from "@troupe/core"
import { Effect, Schema } from "effect"

/** The template's parameters. */
export const ReleaseNotesParameters = Schema.Struct({
  version: Schema.String.check(Schema.makeFilter((s: string) => /^\d+\.\d+\.\d+$/.test(s) || "is not a semantic version")),
  changes: Schema.Array(Schema.Struct({
    kind: Schema.Literals(["feat", "fix", "docs", "breaking"]),
    text: Schema.NonEmptyString
  })),
  /** Most tasks at once. */
  maxParallel: Schema.optional(Schema.Int)
})

export type ReleaseNotesParameters = typeof ReleaseNotesParameters.Type

type Kind = ReleaseNotesParameters["changes"][number]["kind"]

const titles: Record<Kind, string> = { breaking: "Breaking changes", feat: "Features", fix: "Fixes", docs: "Documentation" }

/** The release-notes workflow: `group-changes`, `render-notes`, `count-changes`. Extend it with `.task(...)`. */
export const releaseNotes = (params: ReleaseNotesParameters) =>
  Workflow.make("release-notes", {
    description: `Release notes for ${params.version}`,
    ...(params.maxParallel === undefined ? {} : { maxParallel: params.maxParallel }),
    metadata: { template: "release-notes" }
  })
    .task("group-changes", () =>
      Effect.sync(() => {
        const groups: Partial<Record<Kind, Array<string>>> = {}
        for (const change of params.changes) (groups[change.kind] ??= []).push(change.text)
        return groups
      }))
    .task("render-notes", { dependsOn: ["group-changes"] }, ({ "group-changes": groups }) =>
      Effect.succeed(
        [`# ${params.version}`, ""].concat(
          (Object.keys(titles) as Array<Kind>).flatMap((kind) => {
            const items = groups[kind]
            return items === undefined ? [] : [`## ${titles[kind]}`, "", ...items.map((t) => `- ${t}`), ""]
          })
        ).join("\n")
      ))
    .task("count-changes", { dependsOn: ["group-changes"] }, ({ "group-changes": groups }) =>
      Effect.succeed(Object.values(groups).reduce((n, items) => n + (items?.length ?? 0), 0)))

/** For registries and command lines: name, description, parameter Schema, constructor. */
export const releaseNotesTemplate = {
  name: "release-notes",
  description: "Markdown release notes from a list of changes",
  parameters: ReleaseNotesParameters,
  make: releaseNotes
} as const
