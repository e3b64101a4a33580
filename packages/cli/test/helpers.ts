/** Runs the `troupe` bin as a child process, as a user does. */
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"

export const repo = fileURLToPath(new URL("../../../", import.meta.url))
export const bin = fileURLToPath(new URL("../bin/troupe.js", import.meta.url))
export const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url))
export const example = (name: string) => fileURLToPath(new URL(`../../../examples/definitions/${name}`, import.meta.url))

export interface Ran {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Runs `troupe ...args` with Node 24 (the running one), without a TTY. */
export const troupe = (
  args: ReadonlyArray<string>,
  options: { readonly env?: Record<string, string>; readonly cwd?: string; readonly program?: string } = {}
): Promise<Ran> =>
  new Promise((resolve, reject) => {
    const inherited = { ...process.env }
    delete inherited.FORCE_COLOR
    delete inherited.NO_COLOR
    const env = { ...inherited, ...options.env }
    const child = spawn(process.execPath, [options.program ?? bin, ...args], {
      cwd: options.cwd ?? repo,
      env,
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()))
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()))
    child.on("error", reject)
    child.on("close", (code) => resolve({ code, stdout, stderr }))
  })
