/**
 * The list of test projects: one per package, plus the examples.
 * Vitest 5 does not read this file by itself; `vitest.config.ts` imports it into `test.projects`.
 */
import { readdirSync } from "node:fs"

const packages = readdirSync(new URL("./packages", import.meta.url), { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)

export const projects = [
  ...packages.map((name) => ({
    extends: true as const,
    test: {
      name,
      root: `./packages/${name}`,
      include: ["test/**/*.test.ts"]
    }
  })),
  {
    extends: true as const,
    test: { name: "examples", root: "./examples", include: ["test/**/*.test.ts"] }
  }
]
