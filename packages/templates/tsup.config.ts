import { defineConfig } from "tsup"
import base from "../../tsup.base.ts"

// Keep `node:` prefixes: `node:sqlite` exists only with its prefix (a bare "sqlite" import is a package).
export default defineConfig({ ...(base as object), removeNodeProtocol: false })
