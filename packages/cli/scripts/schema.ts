/**
 * Writes schema/troupe-definition.schema.json from the definition Schema (`Plan.definitionJsonSchema`).
 * Run: `npm run schema -w @troupe/cli` (a test checks the file is up to date).
 */
import { writeFileSync } from "node:fs"
import { Plan } from "@troupe/core"

const file = new URL("../schema/troupe-definition.schema.json", import.meta.url)
writeFileSync(file, `${JSON.stringify(Plan.definitionJsonSchema(), null, 2)}\n`)
console.log(`wrote ${file.pathname}`)
