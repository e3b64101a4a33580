/**
 * The tsup build every @troupe package uses: one ESM entry and `.d.ts` per module in `src/`.
 */
import { defineConfig } from "tsup"

export default defineConfig({
  entry: ["src/*.ts"],
  format: ["esm"],
  dts: true,
  clean: true,
  sourcemap: true,
  target: "es2022",
  // Keep `node:` prefixes: `node:sqlite` exists only with its prefix (a bare "sqlite" import is a package).
  removeNodeProtocol: false
})
