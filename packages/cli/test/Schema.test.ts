/**
 * The published JSON Schema of definition files: up to date with the definition Schema, accepts every
 * example definition, rejects bad ones.
 */
import { describe, expect, it } from "@effect/vitest"
import { readdirSync, readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { Plan } from "@troupe/core"
import Ajv2020 from "ajv/dist/2020.js"
import { Effect } from "effect"
import { parse } from "yaml"

const schemaFile = new URL("../schema/troupe-definition.schema.json", import.meta.url)
const published = JSON.parse(readFileSync(schemaFile, "utf8")) as Record<string, unknown>
const examples = fileURLToPath(new URL("../../../examples/definitions/", import.meta.url))

const ajv = new Ajv2020.default({ allErrors: true, strict: false })
const validate = ajv.compile(published)

describe("troupe-definition.schema.json", () => {
  it("is the schema generated from the definition Schema (run `npm run schema -w @troupe/cli` after changing it)", () => {
    expect(published).toStrictEqual(JSON.parse(JSON.stringify(Plan.definitionJsonSchema())))
  })

  it("accepts every example definition", () => {
    const files = readdirSync(examples).filter((f) => /\.(ya?ml|json)$/.test(f))
    expect(files.length).toBeGreaterThanOrEqual(3)
    for (const file of files) {
      const value: unknown = parse(readFileSync(`${examples}${file}`, "utf8"))
      const ok = validate(value)
      expect({ file, errors: ok ? null : validate.errors }).toStrictEqual({ file, errors: null })
    }
  })

  it("accepts the three spellings: snake_case, camelCase and the agent-plan names", () => {
    expect(validate({ id: "a", tasks: [{ id: "x", depends_on: [], retry_config: { max_retries: 1 } }] })).toBe(true)
    expect(validate({ id: "a", tasks: [{ id: "x", dependsOn: [], retryConfig: { maxRetries: 1 } }] })).toBe(true)
    expect(validate({ plan_id: "a", steps: [{ step_id: "x", agent_id: "r", dependencies: [], retry_policy: { max_attempts: 2 } }] }))
      .toBe(true)
    for (const type of ["while", "until", "do_until"]) {
      expect(validate({ id: "a", tasks: [{ id: "x", loop: { type, condition: "true", max_iterations: 3 } }] })).toBe(true)
    }
  })

  it("rejects bad definitions: a missing task list or id, wrong types and ranges, unknown fields, a bad loop", () => {
    const bad: ReadonlyArray<unknown> = [
      { id: "a" },
      { id: "a", tasks: [{ description: "no id" }] },
      { id: "a", tasks: [{ id: "x", priority: 11 }] },
      { id: "a", tasks: [{ id: "x", priority: "high" }] },
      { id: "a", tasks: [{ id: "x", depnds_on: ["y"] }] },
      { id: "a", tasks: [{ id: "x", retry_config: { max_retries: -1 } }] },
      { id: "a", tasks: [{ id: "x", loop: { type: "until", condition: "true" } }] },
      { id: "a", tasks: [{ id: "x", loop: { type: "while", condition: "true" } }] },
      { id: "a", execution_strategy: "fast", tasks: [{ id: "x" }] },
      { id: "a", max_parallel_tasks: 0, tasks: [{ id: "x" }] }
    ]
    for (const definition of bad) expect({ definition, valid: validate(definition) }).toStrictEqual({ definition, valid: false })
  })

  it("whatever the schema rejects for a field's value, the decoder rejects too", () => {
    // The schema is stricter only about unknown fields (the decoder warns about those).
    const cases = [
      { id: "a", tasks: [{ id: "x", priority: 0 }] },
      { id: "a", tasks: [{ id: "x", timeout_seconds: 0 }] },
      { id: "a", tasks: [{ id: "x", loop: { type: "for_each", items: 3 } }] }
    ]
    for (const definition of cases) {
      expect(validate(definition)).toBe(false)
      expect(Effect.runSync(Plan.diagnose(definition)).plan).toBeUndefined()
    }
  })
})
