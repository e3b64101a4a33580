/** @internal File helpers shared by the templates (walking a repository, hashing). */
import { createHash } from "node:crypto"
import { readdirSync, readFileSync, statSync } from "node:fs"
import { join, relative } from "node:path"

const skipped = new Set(["node_modules", ".git", ".troupe", "coverage"])

/** Files under `root` (relative paths, sorted), skipping VCS, dependency and tool directories. */
export const walk = (root: string, options?: { readonly skip?: ReadonlyArray<string> }): Array<string> => {
  const skip = new Set([...skipped, ...(options?.skip ?? [])])
  const out: Array<string> = []
  const visit = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (skip.has(entry.name)) continue
      const full = join(dir, entry.name)
      if (entry.isDirectory()) visit(full)
      else if (entry.isFile()) out.push(relative(root, full))
    }
  }
  visit(root)
  return out.sort()
}

export const sha256 = (file: string): string => createHash("sha256").update(readFileSync(file)).digest("hex")

export const sizeOf = (file: string): number => statSync(file).size

/** A text file's content, or undefined for binary or large files. */
export const readText = (file: string, maxBytes = 1_000_000): string | undefined => {
  const size = statSync(file).size
  if (size > maxBytes) return undefined
  const buffer = readFileSync(file)
  if (buffer.includes(0)) return undefined
  return buffer.toString("utf8")
}
