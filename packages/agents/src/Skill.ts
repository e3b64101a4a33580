/**
 * A skill: a folder with a `SKILL.md` file. The file's YAML front matter (`name`, `description`, optional
 * `version` and `tags`) is decoded with Schema; the Markdown body is the instructions an agent follows; the
 * other files of the folder are resources the agent may read (through the `Skills` service).
 *
 * ```markdown
 * ---
 * name: code-review
 * description: Review a change for bugs and style
 * version: 1.2.0
 * tags: [review, quality]
 * ---
 * # How to review
 * Read `checklist.md` first, then ...
 * ```
 *
 * This module is platform-free: `Skill.parse(path, text)` parses text someone else read. Discovery on disk
 * lives in `@troupe/node` (`SkillsFs`).
 *
 * @since 0.1.0
 */
import { Effect, Result, Schema, SchemaIssue } from "effect"
import * as YAML from "yaml"

// -----------------------------------------------------------------------------
// Models
// -----------------------------------------------------------------------------

const TypeId = "~@troupe/agents/Skill" as const

/**
 * A loaded skill.
 *
 * @category models
 * @since 0.1.0
 */
export interface Skill {
  readonly [TypeId]: typeof TypeId
  /** The `name` of the front matter; unique within a `Skills` service. */
  readonly name: string
  readonly description: string
  readonly version?: string | undefined
  readonly tags: ReadonlyArray<string>
  /** The Markdown body of `SKILL.md`, after the front matter, trimmed. */
  readonly instructions: string
  /** The path of the `SKILL.md` file. */
  readonly path: string
  /** The skill folder: the directory of `path`. */
  readonly directory: string
  /** Other files of the skill folder, as `/`-separated paths relative to it, sorted. */
  readonly resources: ReadonlyArray<string>
  /** Front matter fields other than name, description, version and tags (for example `license`). */
  readonly metadata: Readonly<Record<string, unknown>>
}

/**
 * The front matter of a `SKILL.md` file, as a Schema. Other fields are allowed and kept as metadata.
 * `version` may be written as a number (`version: 1.2`); it is read as a string.
 *
 * @category schemas
 * @since 0.1.0
 */
export const FrontMatter = Schema.Struct({
  name: Schema.String.check(Schema.isTrimmed(), Schema.isMinLength(1)),
  description: Schema.String.check(Schema.isMinLength(1)),
  version: Schema.optionalKey(Schema.Union([Schema.String, Schema.Finite])),
  tags: Schema.optionalKey(Schema.Array(Schema.String))
})

/**
 * The decoded front matter.
 *
 * @category models
 * @since 0.1.0
 */
export type FrontMatter = typeof FrontMatter.Type

// -----------------------------------------------------------------------------
// Errors
// -----------------------------------------------------------------------------

/**
 * A `SKILL.md` file whose front matter is missing, is not YAML, or has a field of the wrong type.
 * `field` names the field (for example `name` or `tags[1]`) when one is at fault.
 *
 * @category errors
 * @since 0.1.0
 */
export class InvalidSkill extends Schema.TaggedError<InvalidSkill>()("InvalidSkill", {
  /** The `SKILL.md` file. */
  path: Schema.String,
  field: Schema.optional(Schema.String),
  reason: Schema.String
}) {
  override get message(): string {
    const where = this.field === undefined ? "" : ` at field "${this.field}"`
    return `Invalid skill front matter in ${this.path}${where}: ${this.reason}`
  }
}

// -----------------------------------------------------------------------------
// Constructors
// -----------------------------------------------------------------------------

const dirnameOf = (path: string): string => {
  const i = Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\"))
  if (i < 0) return "."
  if (i === 0) return path.slice(0, 1)
  return path.slice(0, i)
}

/**
 * Builds a skill value from its parts (for skills defined in code and for tests).
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (options: {
  readonly name: string
  readonly description: string
  readonly instructions: string
  readonly version?: string | undefined
  readonly tags?: ReadonlyArray<string> | undefined
  /** The `SKILL.md` path; defaults to `<name>/SKILL.md`. */
  readonly path?: string | undefined
  readonly resources?: ReadonlyArray<string> | undefined
  readonly metadata?: Readonly<Record<string, unknown>> | undefined
}): Skill => {
  const path = options.path ?? `${options.name}/SKILL.md`
  return Object.freeze({
    [TypeId]: TypeId,
    name: options.name,
    description: options.description,
    ...(options.version === undefined ? {} : { version: options.version }),
    tags: Object.freeze([...(options.tags ?? [])]),
    instructions: options.instructions,
    path,
    directory: dirnameOf(path),
    resources: Object.freeze([...(options.resources ?? [])].sort()),
    metadata: Object.freeze({ ...options.metadata })
  })
}

const frontMatterPattern = /^\uFEFF?---[ \t]*\r?\n([\s\S]*?)\r?\n?^---[ \t]*(?:\r?\n|$)/m

const formatter = SchemaIssue.makeFormatterStandardSchemaV1()

const fieldOf = (path: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }> | undefined): string | undefined => {
  if (path === undefined || path.length === 0) return undefined
  let out = ""
  for (const segment of path) {
    const key = typeof segment === "object" ? segment.key : segment
    out += typeof key === "number" ? `[${key}]` : out === "" ? String(key) : `.${String(key)}`
  }
  return out
}

const knownFields: ReadonlySet<string> = new Set(["name", "description", "version", "tags"])

/**
 * Parses the text of a `SKILL.md` file. `path` is the file's path (it names the file in errors and gives
 * the skill's folder); `resources` lists the other files of the folder, relative to it.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Skill } from "@troupe/agents"
 *
 * const skill = Skill.parse("skills/review/SKILL.md", "---\nname: review\ndescription: Review code\n---\nBe kind.")
 * // Effect<Skill, InvalidSkill>: name "review", instructions "Be kind.", directory "skills/review"
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const parse = (
  path: string,
  text: string,
  options?: { readonly resources?: ReadonlyArray<string> | undefined }
): Effect.Effect<Skill, InvalidSkill> =>
  Effect.suspend(() => {
    const match = frontMatterPattern.exec(text)
    if (match === null || match.index !== 0) {
      return Effect.fail(
        new InvalidSkill({
          path,
          reason: "the file does not start with a YAML front matter block delimited by '---' lines"
        })
      )
    }
    const yamlText = match[1] ?? ""
    let raw: unknown
    try {
      raw = YAML.parse(yamlText)
    } catch (cause) {
      const detail = cause instanceof Error ? cause.message : String(cause)
      return Effect.fail(new InvalidSkill({ path, reason: `the front matter is not valid YAML: ${detail}` }))
    }
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
      return Effect.fail(
        new InvalidSkill({ path, reason: "the front matter must be a YAML mapping with name and description" })
      )
    }
    const decoded = Schema.decodeUnknownResult(FrontMatter)(raw, { errors: "first" })
    if (Result.isFailure(decoded)) {
      const issue = formatter(decoded.failure.issue).issues[0]
      const field = fieldOf(issue?.path)
      return Effect.fail(
        new InvalidSkill({
          path,
          ...(field === undefined ? {} : { field }),
          reason: issue?.message ?? decoded.failure.message
        })
      )
    }
    const fm = decoded.success
    const metadata: Record<string, unknown> = {}
    for (const [key, value] of Object.entries(raw)) {
      if (!knownFields.has(key)) metadata[key] = value
    }
    return Effect.succeed(make({
      name: fm.name,
      description: fm.description,
      version: fm.version === undefined ? undefined : String(fm.version),
      tags: fm.tags,
      instructions: text.slice(match[0].length).trim(),
      path,
      resources: options?.resources,
      metadata
    }))
  })

// -----------------------------------------------------------------------------
// Guards
// -----------------------------------------------------------------------------

/**
 * @category guards
 * @since 0.1.0
 */
export const isSkill = (u: unknown): u is Skill => typeof u === "object" && u !== null && TypeId in u

// -----------------------------------------------------------------------------
// Combinators
// -----------------------------------------------------------------------------

/**
 * Renders skills as a Markdown section for a system prompt: one heading per skill with its description,
 * its instructions and the names of its resources. Returns `""` for no skills.
 *
 * @category combinators
 * @since 0.1.0
 */
export const toPrompt = (skills: ReadonlyArray<Skill>): string => {
  if (skills.length === 0) return ""
  const parts = skills.map((skill) => {
    const lines = [`## Skill: ${skill.name}`, "", skill.description, "", skill.instructions]
    if (skill.resources.length > 0) {
      lines.push("", `Resources available in this skill: ${skill.resources.join(", ")}`)
    }
    return lines.join("\n")
  })
  return `# Skills\n\n${parts.join("\n\n")}`
}
