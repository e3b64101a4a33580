import { NodeFileSystem, NodePath } from "@effect/platform-node"
import { assert, describe, expect, it } from "@effect/vitest"
import * as Skills from "@troupe/agents/Skills"
import { Effect, FileSystem, Layer, Path } from "effect"
import * as SkillsFs from "../src/SkillsFs.ts"

const Platform = Layer.mergeAll(NodeFileSystem.layer, NodePath.layer)

const skillText = (name: string, description = `${name} skill`, body = `Instructions of ${name}.`) =>
  `---\nname: ${name}\ndescription: ${description}\n---\n${body}\n`

/** Writes files under `root` (paths relative to it, folders created as needed). */
const write = Effect.fnUntraced(function*(root: string, files: Record<string, string>) {
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  for (const [relative, text] of Object.entries(files)) {
    const full = path.join(root, relative)
    yield* fs.makeDirectory(path.dirname(full), { recursive: true })
    yield* fs.writeFileString(full, text)
  }
})

/** A temporary directory with a `skills` tree and an `outside` folder holding a secret. */
const fixture = Effect.gen(function*() {
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  const tmp = yield* fs.realPath(yield* fs.makeTempDirectoryScoped({ prefix: "troupe-skills-" }))
  const root = path.join(tmp, "skills")
  yield* write(tmp, {
    "outside/secret.txt": "TOP SECRET",
    "skills/review/SKILL.md": skillText("review", "Review code", "Read checklist.md."),
    "skills/review/checklist.md": "- tests pass",
    "skills/review/docs/style.md": "be kind",
    "skills/review/.hidden": "ignored",
    "skills/group/write/SKILL.md": skillText("write"),
    "skills/group/write/template.md": "# Title",
    "skills/notes/readme.txt": "not a skill"
  })
  // links: one escaping file, one escaping folder, one link that stays inside
  yield* fs.symlink(path.join(tmp, "outside/secret.txt"), path.join(root, "review/secret-link.md"))
  yield* fs.symlink(path.join(tmp, "outside"), path.join(root, "review/outside-dir"))
  yield* fs.symlink(path.join(root, "review/checklist.md"), path.join(root, "review/alias.md"))
  return { tmp, root }
})

const withSkills = <A, E>(
  options: SkillsFs.Options,
  f: (skills: Skills.Skills["Service"]) => Effect.Effect<A, E>
) => Effect.flatMap(SkillsFs.make(options), f)

describe("SkillsFs", () => {
  it.effect("discovers direct sub-folders, or every depth when recursive", () =>
    Effect.gen(function*() {
      const { root } = yield* fixture
      const direct = yield* withSkills({ directories: [root] }, (s) => s.list)
      expect(direct.map((s) => s.name)).toEqual(["review"])

      const all = yield* withSkills({ directories: [root], recursive: true }, (s) => s.list)
      expect(all.map((s) => s.name)).toEqual(["review", "write"])
      const write = all.find((s) => s.name === "write")!
      expect(write.path).toBe(`${root}/group/write/SKILL.md`)
      expect(write.directory).toBe(`${root}/group/write`)
      expect(write.instructions).toBe("Instructions of write.")
      expect(write.resources).toEqual(["template.md"])
    }).pipe(Effect.provide(Platform)))

  it.effect("lists resources without SKILL.md, hidden files and links that leave the folder", () =>
    Effect.gen(function*() {
      const { root } = yield* fixture
      const review = yield* withSkills({ directories: [root] }, (s) => s.get("review"))
      expect(review.resources).toEqual(["alias.md", "checklist.md", "docs/style.md"])
    }).pipe(Effect.provide(Platform)))

  it.effect("a configured directory that is itself a skill folder is loaded; missing ones are skipped", () =>
    Effect.gen(function*() {
      const { root } = yield* fixture
      const skills = yield* withSkills(
        { directories: [`${root}/group/write`, `${root}/does-not-exist`] },
        (s) => s.list
      )
      expect(skills.map((s) => s.name)).toEqual(["write"])
    }).pipe(Effect.provide(Platform)))

  it.effect("reads resources, and refuses ../ paths and symbolic links that escape the folder", () =>
    Effect.gen(function*() {
      const { root } = yield* fixture
      yield* withSkills({ directories: [root], recursive: true }, (skills) =>
        Effect.gen(function*() {
          expect(yield* skills.readResource("review", "checklist.md")).toBe("- tests pass")
          expect(yield* skills.readResource("review", "docs/../docs/style.md")).toBe("be kind")
          expect(yield* skills.readResource("review", "alias.md")).toBe("- tests pass")

          const dotdot = yield* Effect.flip(skills.readResource("review", "../group/write/SKILL.md"))
          assert.strictEqual(dotdot._tag, "SkillResourceEscape")
          const deep = yield* Effect.flip(skills.readResource("review", "docs/../../../outside/secret.txt"))
          assert.strictEqual(deep._tag, "SkillResourceEscape")
          const absolute = yield* Effect.flip(skills.readResource("review", `${root}/group/write/template.md`))
          assert.strictEqual(absolute._tag, "SkillResourceEscape")

          const fileLink = yield* Effect.flip(skills.readResource("review", "secret-link.md"))
          assert.strictEqual(fileLink._tag, "SkillResourceEscape")
          expect(fileLink.message).toBe(
            "Resource path 'secret-link.md' of skill 'review' leads outside the skill folder"
          )
          const dirLink = yield* Effect.flip(skills.readResource("review", "outside-dir/secret.txt"))
          assert.strictEqual(dirLink._tag, "SkillResourceEscape")

          const missing = yield* Effect.flip(skills.readResource("review", "nope.md"))
          assert.strictEqual(missing._tag, "SkillResourceNotFound")
          const folder = yield* Effect.flip(skills.readResource("review", "docs"))
          assert.strictEqual(folder._tag, "SkillResourceNotFound")
        }))
    }).pipe(Effect.provide(Platform)))

  it.effect("follows a symbolic link to a skill folder elsewhere", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const { root, tmp } = yield* fixture
      yield* write(tmp, { "elsewhere/linked/SKILL.md": skillText("linked"), "elsewhere/linked/data.json": "{}" })
      yield* fs.symlink(`${tmp}/elsewhere/linked`, `${root}/linked`)
      const skills = yield* withSkills({ directories: [root] }, (s) =>
        Effect.gen(function*() {
          const linked = yield* s.get("linked")
          expect(linked.resources).toEqual(["data.json"])
          expect(yield* s.readResource(linked, "data.json")).toBe("{}")
          return yield* s.list
        }))
      expect(skills.map((s) => s.name)).toEqual(["linked", "review"])
    }).pipe(Effect.provide(Platform)))

  it.effect("a missing skill fails with the seeds' message", () =>
    Effect.gen(function*() {
      const { root } = yield* fixture
      const error = yield* Effect.flip(
        withSkills({ directories: [root], recursive: true }, (s) => s.require(["review", "deploy"]))
      )
      expect(error.message).toBe("Required skill 'deploy' not found. Available skills: [review, write]")
    }).pipe(Effect.provide(Platform)))

  it.effect("two skills with the same name fail, naming both files", () =>
    Effect.gen(function*() {
      const { root, tmp } = yield* fixture
      yield* write(tmp, { "more/review/SKILL.md": skillText("review", "another review") })
      const error = yield* Effect.flip(SkillsFs.make({ directories: [root, `${tmp}/more`] }))
      assert.strictEqual(error._tag, "DuplicateSkill")
      expect(error.message).toBe(
        `Skill 'review' is defined twice: in ${root}/review/SKILL.md and in ${tmp}/more/review/SKILL.md`
      )
    }).pipe(Effect.provide(Platform)))

  it.effect("invalid front matter fails with the file and the field, or is skipped on request", () =>
    Effect.gen(function*() {
      const { root, tmp } = yield* fixture
      yield* write(tmp, { "bad/broken/SKILL.md": "---\nname: broken\ndescription: d\ntags: notalist\n---\n" })
      const error = yield* Effect.flip(SkillsFs.make({ directories: [root, `${tmp}/bad`] }))
      assert.strictEqual(error._tag, "InvalidSkill")
      if (error._tag !== "InvalidSkill") return
      expect(error.path).toBe(`${tmp}/bad/broken/SKILL.md`)
      expect(error.field).toBe("tags")
      expect(error.message).toContain(`${tmp}/bad/broken/SKILL.md at field "tags"`)

      const skipped = yield* withSkills({ directories: [root, `${tmp}/bad`], onInvalid: "skip" }, (s) => s.list)
      expect(skipped.map((s) => s.name)).toEqual(["review"])
    }).pipe(Effect.provide(Platform)))

  it.effect("expands ~ to the home directory", () =>
    Effect.gen(function*() {
      const { tmp } = yield* fixture
      const skills = yield* withSkills({ directories: ["~/skills"], home: tmp }, (s) => s.list)
      expect(skills.map((s) => s.name)).toEqual(["review"])
      expect(SkillsFs.expandHome("~", "/h")).toBe("/h")
      expect(SkillsFs.expandHome("~/a", "/h")).toBe("/h/a")
      expect(SkillsFs.expandHome("~user/a", "/h")).toBe("~user/a")
      expect(SkillsFs.expandHome("a/~", "/h")).toBe("a/~")
    }).pipe(Effect.provide(Platform)))

  it.effect("reads each SKILL.md when the layer is built and each resource at most once", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const { root } = yield* fixture
      yield* withSkills({ directories: [root] }, (skills) =>
        Effect.gen(function*() {
          expect(yield* skills.readResource("review", "checklist.md")).toBe("- tests pass")
          yield* fs.writeFileString(`${root}/review/SKILL.md`, skillText("review", "changed", "Changed."))
          yield* fs.writeFileString(`${root}/review/checklist.md`, "changed")
          expect((yield* skills.get("review")).instructions).toBe("Read checklist.md.")
          expect(yield* skills.readResource("review", "checklist.md")).toBe("- tests pass")
          // a resource not read before is read now
          expect(yield* skills.readResource("review", "docs/style.md")).toBe("be kind")
        }))
    }).pipe(Effect.provide(Platform)))

  it.effect("the layer provides the Skills service", () =>
    Effect.gen(function*() {
      const { root } = yield* fixture
      const names = yield* Effect.provide(
        Skills.Skills.use((s) => Effect.map(s.list, (list) => list.map((skill) => skill.name))),
        SkillsFs.layer({ directories: [root], recursive: true })
      )
      expect(names).toEqual(["review", "write"])
    }).pipe(Effect.provide(Platform)))
})

describe("SkillsFs: SKILL.md links (issue 9)", () => {
  it.effect("a SKILL.md that is a symbolic link to a file outside the skill folder is refused, never read", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const { root, tmp } = yield* fixture
      // A valid-looking skill file outside the tree, and a skill whose SKILL.md points at it.
      yield* write(tmp, { "outside/stolen.md": skillText("stolen", "d", "TOP SECRET instructions") })
      yield* fs.makeDirectory(`${tmp}/evil/thief`, { recursive: true })
      yield* fs.symlink(`${tmp}/outside/stolen.md`, `${tmp}/evil/thief/SKILL.md`)

      const error = yield* Effect.flip(SkillsFs.make({ directories: [root, `${tmp}/evil`] }))
      assert.strictEqual(error._tag, "InvalidSkill")
      if (error._tag !== "InvalidSkill") return
      expect(error.path).toBe(`${tmp}/evil/thief/SKILL.md`)
      expect(error.reason).toContain(`symbolic link to ${tmp}/outside/stolen.md, outside the skill folder ${tmp}/evil/thief`)

      const skipped = yield* withSkills({ directories: [root, `${tmp}/evil`], onInvalid: "skip" }, (s) => s.list)
      expect(skipped.map((s) => s.name).sort()).toEqual(["review"])
    }).pipe(Effect.provide(Platform)))

  it.effect("a link to a SKILL.md inside the folder is fine; so is a linked skill folder (its real folder is the root)", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const { tmp } = yield* fixture
      yield* write(tmp, {
        "inner/alias/docs/skill.md": skillText("alias"),
        "elsewhere/linked/SKILL.md": skillText("linked")
      })
      yield* fs.symlink(`${tmp}/inner/alias/docs/skill.md`, `${tmp}/inner/alias/SKILL.md`)
      yield* fs.symlink(`${tmp}/elsewhere/linked`, `${tmp}/inner/linked`)
      const names = yield* withSkills({ directories: [`${tmp}/inner`] }, (s) => s.list)
      expect(names.map((s) => s.name).sort()).toEqual(["alias", "linked"])
    }).pipe(Effect.provide(Platform)))

  it.effect("a SKILL.md over 1 MiB is refused", () =>
    Effect.gen(function*() {
      const { tmp } = yield* fixture
      yield* write(tmp, { "big/huge/SKILL.md": skillText("huge", "d", "x".repeat(1024 * 1024 + 1)) })
      const error = yield* Effect.flip(SkillsFs.make({ directories: [`${tmp}/big`] }))
      expect(error).toMatchObject({ _tag: "InvalidSkill" })
      expect(error.message).toContain("over the limit")
    }).pipe(Effect.provide(Platform)))
})
