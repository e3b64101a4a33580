/**
 * The skills service: the catalog of skills a program knows, by name.
 *
 * Tasks name the skills they need; before a run the engine checks that they exist (`require`), and when a
 * task runs it hands the loaded skills to its agent. Skills are read once: the catalog is built when the
 * layer is built, and each resource is read at most once. A resource path is relative to its skill
 * folder and may not leave it (`..`, an absolute path, or, on disk, a symbolic link pointing outside).
 *
 * Layers: `Skills.layerMemory` here (platform-free, for tests and embedded skills), and `SkillsFs.layer` in
 * `@troupe/node` for skills discovered on disk.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Skills } from "@troupe/agents"
 *
 * const program = Effect.gen(function*() {
 *   const skills = yield* Skills.Skills
 *   const [review] = yield* skills.require(["review"])
 *   const checklist = yield* skills.readResource(review, "checklist.md")
 *   return `${review.instructions}\n${checklist}`
 * }).pipe(
 *   Effect.provide(Skills.layerMemory([{
 *     path: "skills/review/SKILL.md",
 *     text: "---\nname: review\ndescription: Review code\n---\nUse the checklist.",
 *     resources: { "checklist.md": "- tests pass" }
 *   }]))
 * )
 * ```
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer, Option, Schema } from "effect"
import * as Skill from "./Skill.ts"

// -----------------------------------------------------------------------------
// Errors
// -----------------------------------------------------------------------------

/**
 * A required skill is not in the catalog. The message has the seeds' shape:
 * `Required skill 'x' not found. Available skills: [a, b]`.
 *
 * @category errors
 * @since 0.1.0
 */
export class SkillNotFound extends Schema.TaggedError<SkillNotFound>()("SkillNotFound", {
  name: Schema.String,
  /** The names of the skills in the catalog, sorted. */
  available: Schema.Array(Schema.String)
}) {
  override get message(): string {
    return `Required skill '${this.name}' not found. Available skills: [${this.available.join(", ")}]`
  }
}

/**
 * Two skills with the same name.
 *
 * @category errors
 * @since 0.1.0
 */
export class DuplicateSkill extends Schema.TaggedError<DuplicateSkill>()("DuplicateSkill", {
  name: Schema.String,
  /** The two `SKILL.md` files. */
  paths: Schema.Tuple([Schema.String, Schema.String])
}) {
  override get message(): string {
    return `Skill '${this.name}' is defined twice: in ${this.paths[0]} and in ${this.paths[1]}`
  }
}

/**
 * A resource path that leads outside its skill folder: through `..`, as an absolute path, or through a
 * symbolic link whose target is outside the folder.
 *
 * @category errors
 * @since 0.1.0
 */
export class SkillResourceEscape extends Schema.TaggedError<SkillResourceEscape>()("SkillResourceEscape", {
  skill: Schema.String,
  path: Schema.String
}) {
  override get message(): string {
    return `Resource path '${this.path}' of skill '${this.skill}' leads outside the skill folder`
  }
}

/**
 * A resource that does not exist (or cannot be read) in its skill folder.
 *
 * @category errors
 * @since 0.1.0
 */
export class SkillResourceNotFound extends Schema.TaggedError<SkillResourceNotFound>()("SkillResourceNotFound", {
  skill: Schema.String,
  path: Schema.String,
  reason: Schema.optional(Schema.String)
}) {
  override get message(): string {
    const why = this.reason === undefined ? "" : `: ${this.reason}`
    return `Skill '${this.skill}' has no resource '${this.path}'${why}`
  }
}

/**
 * Why a resource cannot be read.
 *
 * @category errors
 * @since 0.1.0
 */
export type ResourceError = SkillResourceEscape | SkillResourceNotFound

/**
 * Any error of the skills service or its layers.
 *
 * @category errors
 * @since 0.1.0
 */
export type SkillsError = SkillNotFound | DuplicateSkill | ResourceError | Skill.InvalidSkill

// -----------------------------------------------------------------------------
// Service
// -----------------------------------------------------------------------------

/**
 * The skills service.
 *
 * @category services
 * @since 0.1.0
 */
export class Skills extends Context.Service<Skills, {
  /** Every skill, sorted by name. */
  readonly list: Effect.Effect<ReadonlyArray<Skill.Skill>>
  readonly get: (name: string) => Effect.Effect<Skill.Skill, SkillNotFound>
  /** The named skills, in the order asked; fails on the first missing one. */
  readonly require: (names: Iterable<string>) => Effect.Effect<ReadonlyArray<Skill.Skill>, SkillNotFound>
  /** The text of a file of a skill's folder; `path` is relative to the folder. */
  readonly readResource: (
    skill: Skill.Skill | string,
    path: string
  ) => Effect.Effect<string, SkillNotFound | ResourceError>
}>()("@troupe/agents/Skills") {}

// -----------------------------------------------------------------------------
// Constructors
// -----------------------------------------------------------------------------

/**
 * Normalises a resource path relative to its skill folder: `/`-separated, without `.` segments and
 * resolved `..` segments. `None` when the path is empty, absolute, or climbs out of the folder.
 * This check is lexical; the file-system layer also resolves symbolic links.
 *
 * @example
 * ```ts
 * import { Skills } from "@troupe/agents"
 *
 * Skills.normalizeResourcePath("docs/./a/../b.md") // Option.some("docs/b.md")
 * Skills.normalizeResourcePath("../secret") // Option.none()
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const normalizeResourcePath = (path: string): Option.Option<string> => {
  if (path.length === 0 || path.startsWith("/") || path.startsWith("\\") || /^[A-Za-z]:/.test(path)) {
    return Option.none()
  }
  const out: Array<string> = []
  for (const segment of path.split(/[\\/]+/)) {
    if (segment === "" || segment === ".") continue
    if (segment === "..") {
      if (out.length === 0) return Option.none()
      out.pop()
    } else {
      out.push(segment)
    }
  }
  return out.length === 0 ? Option.none() : Option.some(out.join("/"))
}

/**
 * Makes a skills service over a catalog. `read` reads a resource whose path is already normalised and
 * known not to climb out of the folder; its successes are cached. Fails with `DuplicateSkill` when two
 * skills share a name.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (options: {
  readonly skills: ReadonlyArray<Skill.Skill>
  readonly read: (skill: Skill.Skill, path: string) => Effect.Effect<string, ResourceError>
}): Effect.Effect<Skills["Service"], DuplicateSkill> =>
  Effect.suspend(() => {
    const byName = new Map<string, Skill.Skill>()
    for (const skill of options.skills) {
      const existing = byName.get(skill.name)
      if (existing !== undefined) {
        return Effect.fail(new DuplicateSkill({ name: skill.name, paths: [existing.path, skill.path] }))
      }
      byName.set(skill.name, skill)
    }
    const sorted = [...byName.values()].sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0)
    const available = sorted.map((s) => s.name)
    const cache = new Map<string, string>()

    const get = (name: string): Effect.Effect<Skill.Skill, SkillNotFound> =>
      Effect.suspend(() => {
        const skill = byName.get(name)
        return skill === undefined ? Effect.fail(new SkillNotFound({ name, available })) : Effect.succeed(skill)
      })

    const readResource = (
      skillOrName: Skill.Skill | string,
      path: string
    ): Effect.Effect<string, SkillNotFound | ResourceError> =>
      Effect.gen(function*() {
        const skill = yield* get(typeof skillOrName === "string" ? skillOrName : skillOrName.name)
        const normalized = normalizeResourcePath(path)
        if (Option.isNone(normalized)) {
          return yield* new SkillResourceEscape({ skill: skill.name, path })
        }
        const key = `${skill.name}\u0000${normalized.value}`
        const cached = cache.get(key)
        if (cached !== undefined) return cached
        const text = yield* options.read(skill, normalized.value)
        cache.set(key, text)
        return text
      })

    return Effect.succeed(Skills.of({
      list: Effect.succeed(sorted),
      get,
      require: (names) => Effect.forEach(Array.from(names), get),
      readResource
    }))
  })

// -----------------------------------------------------------------------------
// Layers
// -----------------------------------------------------------------------------

/**
 * A skill given as the text of its `SKILL.md` and the texts of its resources (paths relative to the
 * skill folder).
 *
 * @category models
 * @since 0.1.0
 */
export interface MemoryEntry {
  /** The path of the `SKILL.md` file; it names the file in errors. */
  readonly path: string
  readonly text: string
  readonly resources?: Readonly<Record<string, string>> | undefined
}

/**
 * An in-memory catalog: `SKILL.md` texts are parsed with `Skill.parse` when the layer is built. Entries may
 * also be ready `Skill` values (which then have no resource texts).
 *
 * @category layers
 * @since 0.1.0
 */
export const layerMemory = (
  entries: ReadonlyArray<MemoryEntry | Skill.Skill>
): Layer.Layer<Skills, Skill.InvalidSkill | DuplicateSkill> =>
  Layer.effect(
    Skills,
    Effect.gen(function*() {
      const texts = new Map<string, ReadonlyMap<string, string>>()
      const skills: Array<Skill.Skill> = []
      for (const entry of entries) {
        if (Skill.isSkill(entry)) {
          skills.push(entry)
          continue
        }
        const resources = new Map<string, string>()
        for (const [path, text] of Object.entries(entry.resources ?? {})) {
          const normalized = normalizeResourcePath(path)
          if (Option.isSome(normalized)) resources.set(normalized.value, text)
        }
        const skill = yield* Skill.parse(entry.path, entry.text, { resources: [...resources.keys()] })
        texts.set(skill.path, resources)
        skills.push(skill)
      }
      return yield* make({
        skills,
        read: (skill, path) => {
          const text = texts.get(skill.path)?.get(path)
          return text === undefined
            ? Effect.fail(new SkillResourceNotFound({ skill: skill.name, path }))
            : Effect.succeed(text)
        }
      })
    })
  )

/**
 * A catalog with no skills.
 *
 * @category layers
 * @since 0.1.0
 */
export const layerEmpty: Layer.Layer<Skills> = Layer.effect(
  Skills,
  Effect.orDie(make({
    skills: [],
    read: (skill, path) => Effect.fail(new SkillResourceNotFound({ skill: skill.name, path }))
  }))
)
