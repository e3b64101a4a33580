#!/usr/bin/env node
// The `troupe` launcher. In a checkout (the package's real path is not inside node_modules: npm links
// workspace packages), it runs the TypeScript sources directly with Node's type stripping, resolving the
// @troupe packages to their sources (the "source" export condition): no build step. Installed from a
// tarball (inside node_modules, where Node does not strip types), it runs the built dist/bin.js.
import { existsSync, realpathSync } from "node:fs"
import * as nodeModule from "node:module"
import { dirname, join, sep } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"

const here = dirname(realpathSync(fileURLToPath(import.meta.url)))
const root = dirname(here)
const source = join(root, "src", "bin.ts")
const dist = join(root, "dist", "bin.js")
const inNodeModules = root.split(sep).includes("node_modules")
const canStrip = Boolean(process.features && process.features.typescript)
const useSource = process.env.TROUPE_USE_DIST !== "1" && !inNodeModules && existsSync(source) && canStrip &&
  typeof nodeModule.registerHooks === "function"

if (useSource) {
  nodeModule.registerHooks({
    resolve(specifier, context, nextResolve) {
      const conditions = context.conditions.includes("source") ? context.conditions : ["source", ...context.conditions]
      return nextResolve(specifier, { ...context, conditions })
    }
  })
  await import(pathToFileURL(source).href)
} else if (existsSync(dist)) {
  await import(pathToFileURL(dist).href)
} else {
  process.stderr.write(
    `troupe: cannot start: ${dist} is missing` +
      (canStrip ? " (build @troupe/cli with `npm run build -w @troupe/cli`)\n" : " and this Node cannot run TypeScript sources (Node 22.18+ or 24 can)\n")
  )
  process.exitCode = 70
}
