import { assert, describe, expect, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import * as Skill from "../src/Skill.ts"
import * as Skills from "../src/Skills.ts"

const reviewText = `---
name: review
description: Review a change for bugs
version: 1.2
tags: [quality, review]
license: MIT
---

# How to review

Read checklist.md first.
`

const invalid = (path: string, text: string) => Effect.flip(Skill.parse(path, text))

describe("Skill.parse", () => {
  it.effect("decodes the front matter; the body is the instructions", () =>
    Effect.gen(function*() {
      const skill = yield* Skill.parse("skills/review/SKILL.md", reviewText, { resources: ["b.md", "a/x.md"] })
      expect(skill.name).toBe("review")
      expect(skill.description).toBe("Review a change for bugs")
      expect(skill.version).toBe("1.2")
      expect(skill.tags).toEqual(["quality", "review"])
      expect(skill.instructions).toBe("# How to review\n\nRead checklist.md first.")
      expect(skill.path).toBe("skills/review/SKILL.md")
      expect(skill.directory).toBe("skills/review")
      expect(skill.resources).toEqual(["a/x.md", "b.md"])
      expect(skill.metadata).toEqual({ license: "MIT" })
      expect(Skill.isSkill(skill)).toBe(true)
    }))

  it.effect("accepts CRLF line endings and a missing optional part", () =>
    Effect.gen(function*() {
      const skill = yield* Skill.parse("s/SKILL.md", "---\r\nname: s\r\ndescription: d\r\n---\r\nbody\r\n")
      expect(skill.name).toBe("s")
      expect(skill.version).toBeUndefined()
      expect(skill.tags).toEqual([])
      expect(skill.instructions).toBe("body")
      const bare = yield* Skill.parse("t/SKILL.md", "---\nname: t\ndescription: d\n---")
      expect(bare.instructions).toBe("")
    }))

  it.effect("names the file and the field of invalid front matter", () =>
    Effect.gen(function*() {
      const missingName = yield* invalid("a/SKILL.md", "---\ndescription: d\n---\nbody")
      expect(missingName.path).toBe("a/SKILL.md")
      expect(missingName.field).toBe("name")
      expect(missingName.message).toBe("Invalid skill front matter in a/SKILL.md at field \"name\": Missing key")

      const wrongType = yield* invalid("b/SKILL.md", "---\nname: b\ndescription: 42\n---\n")
      expect(wrongType.field).toBe("description")
      expect(wrongType.message).toContain("b/SKILL.md")

      const badTag = yield* invalid("c/SKILL.md", "---\nname: c\ndescription: d\ntags: [ok, 3]\n---\n")
      expect(badTag.field).toBe("tags[1]")

      const emptyName = yield* invalid("d/SKILL.md", "---\nname: ''\ndescription: d\n---\n")
      expect(emptyName.field).toBe("name")
    }))

  it.effect("rejects files without front matter, with broken YAML, or with a non-mapping", () =>
    Effect.gen(function*() {
      const none = yield* invalid("x/SKILL.md", "# Just markdown\n")
      expect(none.field).toBeUndefined()
      expect(none.message).toContain("x/SKILL.md")
      expect(none.reason).toContain("front matter")

      const late = yield* invalid("y/SKILL.md", "intro\n---\nname: y\ndescription: d\n---\n")
      expect(late.reason).toContain("does not start")

      const broken = yield* invalid("z/SKILL.md", "---\nname: [unclosed\ndescription: d\n---\n")
      expect(broken.reason).toContain("not valid YAML")

      const list = yield* invalid("w/SKILL.md", "---\n- a\n- b\n---\n")
      expect(list.reason).toContain("mapping")
    }))

  it("toPrompt renders skills for a system prompt", () => {
    const skill = Skill.make({ name: "s", description: "does s", instructions: "step 1", resources: ["r.md"] })
    expect(Skill.toPrompt([])).toBe("")
    expect(Skill.toPrompt([skill])).toBe(
      "# Skills\n\n## Skill: s\n\ndoes s\n\nstep 1\n\nResources available in this skill: r.md"
    )
  })
})

describe("Skills.normalizeResourcePath", () => {
  it("normalises inside paths and rejects escapes", () => {
    expect(Skills.normalizeResourcePath("a/./b/../c.md")).toEqual(Option.some("a/c.md"))
    expect(Skills.normalizeResourcePath("a\\b.md")).toEqual(Option.some("a/b.md"))
    expect(Skills.normalizeResourcePath("../x")).toEqual(Option.none())
    expect(Skills.normalizeResourcePath("a/../../x")).toEqual(Option.none())
    expect(Skills.normalizeResourcePath("/etc/passwd")).toEqual(Option.none())
    expect(Skills.normalizeResourcePath("C:\\x")).toEqual(Option.none())
    expect(Skills.normalizeResourcePath("")).toEqual(Option.none())
    expect(Skills.normalizeResourcePath("a/..")).toEqual(Option.none())
  })
})

const memory = Skills.layerMemory([
  {
    path: "skills/review/SKILL.md",
    text: reviewText,
    resources: { "checklist.md": "- tests pass", "./ref/a.md": "A" }
  },
  { path: "skills/write/SKILL.md", text: "---\nname: write\ndescription: Write docs\n---\nWrite clearly." },
  Skill.make({ name: "coded", description: "in code", instructions: "do" })
])

describe("Skills (memory layer)", () => {
  it.effect("lists, gets and requires skills", () =>
    Effect.gen(function*() {
      const skills = yield* Skills.Skills
      expect((yield* skills.list).map((s) => s.name)).toEqual(["coded", "review", "write"])
      expect((yield* skills.get("write")).instructions).toBe("Write clearly.")
      const required = yield* skills.require(["write", "review"])
      expect(required.map((s) => s.name)).toEqual(["write", "review"])
      expect((yield* skills.get("review")).resources).toEqual(["checklist.md", "ref/a.md"])
    }).pipe(Effect.provide(memory)))

  it.effect("a missing skill fails with the seeds' message", () =>
    Effect.gen(function*() {
      const skills = yield* Skills.Skills
      const error = yield* Effect.flip(skills.require(["review", "deploy", "other"]))
      expect(error._tag).toBe("SkillNotFound")
      expect(error.name).toBe("deploy")
      expect(error.message).toBe("Required skill 'deploy' not found. Available skills: [coded, review, write]")
    }).pipe(Effect.provide(memory)))

  it.effect("reads resources by path relative to the skill folder; escapes are typed errors", () =>
    Effect.gen(function*() {
      const skills = yield* Skills.Skills
      const review = yield* skills.get("review")
      expect(yield* skills.readResource(review, "checklist.md")).toBe("- tests pass")
      expect(yield* skills.readResource("review", "ref/../ref/a.md")).toBe("A")

      const escape = yield* Effect.flip(skills.readResource(review, "../write/SKILL.md"))
      assert.strictEqual(escape._tag, "SkillResourceEscape")
      expect(escape.message).toBe("Resource path '../write/SKILL.md' of skill 'review' leads outside the skill folder")
      const absolute = yield* Effect.flip(skills.readResource(review, "/etc/passwd"))
      expect(absolute._tag).toBe("SkillResourceEscape")

      const missing = yield* Effect.flip(skills.readResource(review, "nope.md"))
      expect(missing._tag).toBe("SkillResourceNotFound")
      const unknownSkill = yield* Effect.flip(skills.readResource("ghost", "a.md"))
      expect(unknownSkill._tag).toBe("SkillNotFound")
    }).pipe(Effect.provide(memory)))

  it.effect("two skills with one name fail the layer, naming both paths", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Effect.provide(
        Skills.Skills.useSync(() => "built"),
        Skills.layerMemory([
          { path: "one/SKILL.md", text: "---\nname: dup\ndescription: a\n---\n" },
          { path: "two/SKILL.md", text: "---\nname: dup\ndescription: b\n---\n" }
        ])
      ))
      assert.strictEqual(error._tag, "DuplicateSkill")
      expect(error.message).toBe("Skill 'dup' is defined twice: in one/SKILL.md and in two/SKILL.md")
    }))

  it.effect("invalid front matter fails the layer with the file and field", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Effect.provide(
        Skills.Skills.useSync(() => "built"),
        Skills.layerMemory([{ path: "bad/SKILL.md", text: "---\nname: bad\n---\n" }])
      ))
      assert.strictEqual(error._tag, "InvalidSkill")
      expect(error.message).toBe("Invalid skill front matter in bad/SKILL.md at field \"description\": Missing key")
    }))

  it.effect("resources are read once", () =>
    Effect.gen(function*() {
      let reads = 0
      const skill = Skill.make({ name: "s", description: "d", instructions: "i", resources: ["r.md"] })
      const service = yield* Skills.make({
        skills: [skill],
        read: () => Effect.sync(() => `read ${++reads}`)
      })
      expect(yield* service.readResource("s", "r.md")).toBe("read 1")
      expect(yield* service.readResource(skill, "./r.md")).toBe("read 1")
      expect(reads).toBe(1)
    }))

  it.effect("layerEmpty has no skills", () =>
    Effect.gen(function*() {
      const skills = yield* Skills.Skills
      expect(yield* skills.list).toEqual([])
      const error = yield* Effect.flip(skills.get("x"))
      expect(error.message).toBe("Required skill 'x' not found. Available skills: []")
    }).pipe(Effect.provide(Skills.layerEmpty)))
})
