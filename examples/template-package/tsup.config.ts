import { defineConfig } from "tsup"

// @troupe/core and effect are peer dependencies: tsup leaves them external (not bundled).
export default defineConfig({
  entry: ["src/index.ts"],
  format: ["esm"],
  dts: true,
  clean: true,
  target: "es2022"
})
