/**
 * The lint step of `npm test` (scripts/lint.ts), run as a real process on a small repository written for
 * the test: it must find an import cycle, a Node built-in in @troupe/core, an unused internal export and a
 * function over 150 lines, and accept what is fine (type-only cycles, exports named by other exports, exports
 * used by tests, a 150-line function).
 */
import { describe, expect, it } from "@effect/vitest"
import { spawnSync } from "node:child_process"
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join, resolve } from "node:path"

const script = resolve(import.meta.dirname, "../../../scripts/lint.ts")

const repo = (files: Readonly<Record<string, string>>): string => {
  const root = mkdtempSync(join(tmpdir(), "troupe-lint-"))
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, file)), { recursive: true })
    writeFileSync(join(root, file), text)
  }
  return root
}

/** A function whose body (from the line of its `{` to the line of its `}`) spans `lines` lines. */
const functionOf = (name: string, lines: number): string =>
  `export const ${name} = (n: number) => {\n${"  n++\n".repeat(lines - 3)}  return n\n}\n`

const lint = (root: string) => {
  const out = spawnSync(process.execPath, ["--conditions=source", script], {
    env: { ...process.env, TROUPE_LINT_ROOT: root },
    encoding: "utf8"
  })
  return { status: out.status, output: `${out.stdout}${out.stderr}` }
}

describe("scripts/lint.ts", () => {
  it("reports import cycles, Node built-ins in core and unused internal exports", () => {
    const root = repo({
      "packages/core/package.json": "{}",
      "packages/core/src/index.ts": `export * as A from "./A.ts"\nexport * as B from "./B.ts"\n`,
      "packages/core/src/A.ts": `import { b } from "./B.ts"\nexport const a = () => b\n`,
      "packages/core/src/B.ts": `import { a } from "./A.ts"\nimport * as fs from "node:fs"\nexport const b = () => [a, fs]\n`,
      "packages/core/src/internal/util.ts": `export const used = 1\nexport const unused = 2\n`,
      "packages/core/src/C.ts": `import { used } from "./internal/util.ts"\nexport const c = used\n`,
      "packages/core/src/Long.ts": `/** Two lines of comment first. */\n\n${functionOf("tooLong", 151)}`
    })
    const { status, output } = lint(root)
    expect(status).toBe(1)
    expect(output).toContain("import cycle: packages/core/src/A.ts ↔ packages/core/src/B.ts")
    expect(output).toContain(`packages/core/src/B.ts: @troupe/core must not import the Node built-in "node:fs"`)
    expect(output).toContain(`packages/core/src/internal/util.ts: "unused" is exported but imported nowhere`)
    expect(output).not.toContain(`"used" is exported`)
    expect(output).toContain(`packages/core/src/Long.ts:3: function "tooLong" is 151 lines long (more than 150)`)
  }, 60_000)

  it("accepts type-only cycles, exports named by other exports, exports used by tests, Node in other packages", () => {
    const root = repo({
      "packages/core/package.json": "{}",
      "packages/core/src/A.ts": `import type { B } from "./B.ts"\nexport interface A { readonly b?: B }\n`,
      "packages/core/src/B.ts": `import type { A } from "./A.ts"\nexport interface B { readonly a?: A }\n`,
      "packages/core/src/internal/shape.ts": `export interface Shape { readonly n: number }\nexport const make = (): Shape => ({ n: 1 })\n`,
      "packages/core/src/C.ts": `import { make } from "./internal/shape.ts"\nexport const c = make()\n`,
      "packages/core/src/internal/forTests.ts": `export const helper = 1\n`,
      "packages/core/test/C.test.ts": `import { helper } from "../src/internal/forTests.ts"\nvoid helper\n`,
      "packages/node/package.json": "{}",
      "packages/node/src/Files.ts": `import * as fs from "node:fs"\nexport const read = fs.readFileSync\n`,
      "packages/core/src/Long.ts": functionOf("justShortEnough", 150)
    })
    const { status, output } = lint(root)
    expect(output).toContain("no import cycles")
    expect(output).toContain("no function over 150 lines")
    expect(output).not.toContain("justShortEnough")
    expect(status).toBe(0)
  }, 60_000)
})
