/**
 * SkillsFs: the `Skills` service over skills discovered on disk, on effect's `FileSystem` and `Path`.
 *
 * Each configured directory (`~` expanded, relative paths resolved against the working directory) is
 * searched for skill folders, that is folders holding a `SKILL.md` file:
 * - the directory itself, when it holds a `SKILL.md`;
 * - otherwise its sub-folders: only the direct ones, or with `recursive: true` at any depth. A skill
 *   folder's own sub-folders are its resources, not more skills. Hidden entries (starting with `.`) and
 *   `node_modules` are skipped; symbolic links to folders are followed (each real folder visited once);
 *   a configured directory that does not exist is skipped.
 *
 * Every `SKILL.md` is read and parsed once, when the layer is built (so a missing or misnamed skill is
 * found before a run starts); its folder's other files are listed as resources and read on demand, each
 * at most once. A resource is read only if its real path (symbolic links resolved) is inside the skill's
 * real folder: `../` paths and links pointing outside fail with `SkillResourceEscape`, and such links are
 * left out of the resource list.
 *
 * A `SKILL.md` is read only if its real path is inside its skill's real folder and it is a regular file
 * of at most 1 MiB: a `SKILL.md` that is a symbolic link to a file elsewhere (`/etc/passwd`, another
 * user's notes) is refused like an escaping resource, and is an `InvalidSkill` naming the link and where
 * it leads.
 *
 * Building the layer fails with `InvalidSkill` (naming the file and the field) for a `SKILL.md` with bad
 * front matter or one that is refused as above, unless `onInvalid: "skip"` (then a warning is logged and the skill left out), and with
 * `DuplicateSkill` (naming both files) when two skills share a name.
 *
 * The layer needs `FileSystem` and `Path`: provide `NodeServices.layer` (or `NodeFileSystem.layer` and
 * `NodePath.layer`) from `@effect/platform-node`.
 *
 * @example
 * ```ts
 * import { NodeServices } from "@effect/platform-node"
 * import { Skills } from "@troupe/agents"
 * import { SkillsFs } from "@troupe/node"
 * import { Effect, Layer } from "effect"
 *
 * const SkillsLive = SkillsFs.layer({ directories: ["~/.claude/skills", "./skills"], recursive: true }).pipe(
 *   Layer.provide(NodeServices.layer)
 * )
 *
 * const program = Effect.gen(function*() {
 *   const skills = yield* Skills.Skills
 *   return (yield* skills.list).map((skill) => skill.name)
 * }).pipe(Effect.provide(SkillsLive))
 * ```
 *
 * @since 0.1.0
 */
import { homedir } from "node:os"
import * as Skill from "@troupe/agents/Skill"
import * as Skills from "@troupe/agents/Skills"
import { Effect, FileSystem, Layer, Path } from "effect"
import type { PlatformError } from "effect/PlatformError"

// -----------------------------------------------------------------------------
// Models
// -----------------------------------------------------------------------------

/**
 * Options of {@link layer}.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options {
  /** Directories to search, in order (it decides which file is "first" for duplicates). */
  readonly directories: ReadonlyArray<string>
  /** Search sub-folders at any depth; default `false` (direct sub-folders only). */
  readonly recursive?: boolean | undefined
  /** What to do with a `SKILL.md` whose front matter is invalid; default `"fail"`. */
  readonly onInvalid?: "fail" | "skip" | undefined
  /** The home directory `~` expands to; default the user's home directory. */
  readonly home?: string | undefined
}

/**
 * Why the layer could not be built.
 *
 * @category errors
 * @since 0.1.0
 */
export type SkillsFsError = Skill.InvalidSkill | Skills.DuplicateSkill | PlatformError

// -----------------------------------------------------------------------------
// Constructors
// -----------------------------------------------------------------------------

const SKILL_FILE = "SKILL.md"

/** The largest `SKILL.md` read (front matter and instructions are text meant for a prompt). */
const MAX_SKILL_FILE_BYTES = 1024 * 1024

const skipEntry = (name: string): boolean => name.startsWith(".") || name === "node_modules"

/**
 * Expands a leading `~` (alone or followed by a separator) to `home`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const expandHome = (path: string, home: string = homedir()): string =>
  path === "~" ? home : /^~[\\/]/.test(path) ? home + path.slice(1) : path

/**
 * Discovers the skills of the configured directories and makes the `Skills` service over them.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = Effect.fnUntraced(function*(options: Options) {
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  const recursive = options.recursive === true
  const visited = new Set<string>()
  const found: Array<Skill.Skill> = []

  const isDirectory = (p: string) =>
    fs.stat(p).pipe(
      Effect.map((info) => info.type === "Directory"),
      Effect.catch(() => Effect.succeed(false)) // a dangling link or an unreadable entry is no folder
    )

  const isFile = (p: string) =>
    fs.stat(p).pipe(
      Effect.map((info) => info.type === "File"),
      Effect.catch(() => Effect.succeed(false))
    )

  const inside = (root: string, candidate: string): boolean =>
    candidate === root || candidate.startsWith(root.endsWith(path.sep) ? root : root + path.sep)

  // Files of a skill folder (relative, `/`-separated), without SKILL.md, hidden entries and links that
  // lead outside the folder.
  const listResources = Effect.fnUntraced(function*(directory: string) {
    const realRoot = yield* fs.realPath(directory)
    const seen = new Set<string>([realRoot])
    const out: Array<string> = []
    const walk = (dir: string, prefix: string): Effect.Effect<void, PlatformError> =>
      Effect.gen(function*() {
        const names = (yield* fs.readDirectory(dir)).sort()
        for (const name of names) {
          if (skipEntry(name) || (prefix === "" && name === SKILL_FILE)) continue
          const full = path.join(dir, name)
          const real = yield* fs.realPath(full).pipe(Effect.catch(() => Effect.succeed(undefined)))
          if (real === undefined || !inside(realRoot, real)) continue
          const relative = prefix === "" ? name : `${prefix}/${name}`
          if (yield* isDirectory(full)) {
            if (seen.has(real)) continue
            seen.add(real)
            yield* walk(full, relative)
          } else if (yield* isFile(full)) {
            out.push(relative)
          }
        }
      })
    yield* walk(directory, "")
    return out
  })

  /**
   * The text of a skill folder's SKILL.md, read through its real path, or why it is refused: it leads
   * outside the folder's real path (a symbolic link), or is not a regular file of a sane size.
   */
  const readSkillFile = Effect.fnUntraced(function*(directory: string, file: string) {
    const realDirectory = yield* fs.realPath(directory)
    const realFile = yield* fs.realPath(file)
    if (!inside(realDirectory, realFile)) {
      return yield* new Skill.InvalidSkill({
        path: file,
        reason: `${SKILL_FILE} is a symbolic link to ${realFile}, outside the skill folder ${realDirectory}; refused`
      })
    }
    const info = yield* fs.stat(realFile)
    if (info.type !== "File") {
      return yield* new Skill.InvalidSkill({ path: file, reason: `${SKILL_FILE} is not a regular file; refused` })
    }
    if (Number(info.size) > MAX_SKILL_FILE_BYTES) {
      return yield* new Skill.InvalidSkill({
        path: file,
        reason: `${SKILL_FILE} is ${Number(info.size)} bytes, over the limit of ${MAX_SKILL_FILE_BYTES}; refused`
      })
    }
    return yield* fs.readFileString(realFile)
  })

  const load = Effect.fnUntraced(function*(directory: string) {
    const file = path.join(directory, SKILL_FILE)
    const read = yield* Effect.result(readSkillFile(directory, file))
    if (read._tag === "Failure") {
      const failure = read.failure
      if (failure._tag !== "InvalidSkill" || options.onInvalid !== "skip") return yield* failure
      return yield* Effect.logWarning(`Skipping skill: ${failure.message}`)
    }
    const text = read.success
    const resources = yield* listResources(directory)
    const parsed = yield* Effect.result(Skill.parse(file, text, { resources }))
    if (parsed._tag === "Success") {
      found.push(parsed.success)
    } else if (options.onInvalid === "skip") {
      yield* Effect.logWarning(`Skipping skill: ${parsed.failure.message}`)
    } else {
      return yield* parsed.failure
    }
  })

  const hasSkillFile = (directory: string) => isFile(path.join(directory, SKILL_FILE))

  // Visits a folder once (by real path); loads it if it is a skill, else searches its sub-folders.
  const visit = (directory: string, descend: boolean): Effect.Effect<void, SkillsFsError> =>
    Effect.gen(function*() {
      const real = yield* fs.realPath(directory)
      if (visited.has(real)) return
      visited.add(real)
      if (yield* hasSkillFile(directory)) return yield* load(directory)
      if (!descend) return
      for (const name of (yield* fs.readDirectory(directory)).sort()) {
        if (skipEntry(name)) continue
        const child = path.join(directory, name)
        if (yield* isDirectory(child)) yield* visit(child, recursive)
      }
    })

  for (const configured of options.directories) {
    const root = path.resolve(expandHome(configured, options.home))
    if (!(yield* isDirectory(root))) {
      yield* Effect.logDebug(`Skill directory ${root} does not exist; skipped`)
      continue
    }
    yield* visit(root, true)
  }

  const realRoots = new Map<string, string>()
  const realRootOf = (skill: Skill.Skill) =>
    Effect.suspend(() => {
      const cached = realRoots.get(skill.directory)
      if (cached !== undefined) return Effect.succeed(cached)
      return Effect.tap(fs.realPath(skill.directory), (real) => Effect.sync(() => realRoots.set(skill.directory, real)))
    })

  return yield* Skills.make({
    skills: found,
    read: (skill, relative) =>
      Effect.gen(function*() {
        const notFound = (reason: string) =>
          new Skills.SkillResourceNotFound({ skill: skill.name, path: relative, reason })
        const root = yield* Effect.mapError(realRootOf(skill), (e) => notFound(e.message))
        const real = yield* Effect.mapError(
          fs.realPath(path.join(skill.directory, relative)),
          () => notFound("no such file")
        )
        if (!inside(root, real)) {
          return yield* new Skills.SkillResourceEscape({ skill: skill.name, path: relative })
        }
        if (!(yield* isFile(real))) return yield* notFound("not a file")
        return yield* Effect.mapError(fs.readFileString(real), (e) => notFound(e.message))
      })
  })
})

// -----------------------------------------------------------------------------
// Layers
// -----------------------------------------------------------------------------

/**
 * The `Skills` service over the skills found in `directories`.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (options: Options): Layer.Layer<Skills.Skills, SkillsFsError, FileSystem.FileSystem | Path.Path> =>
  Layer.effect(Skills.Skills, make(options))
