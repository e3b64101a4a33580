/**
 * Reading what `troupe` is pointed at: a definition file (YAML or JSON, one format: JSON is YAML) with
 * source positions for its errors, or a TypeScript/JavaScript module exporting a workflow or handlers.
 *
 * @since 0.1.0
 */
import { existsSync, readFileSync, statSync } from "node:fs"
import { extname, resolve } from "node:path"
import { pathToFileURL } from "node:url"
import { Effect, Schema } from "effect"
import { isMap, isScalar, isSeq, LineCounter, parseDocument } from "yaml"

// -----------------------------------------------------------------------------
// Errors
// -----------------------------------------------------------------------------

/**
 * A file could not be read or parsed, or a module does not export what was asked.
 *
 * @category errors
 * @since 0.1.0
 */
export class SourceError extends Schema.TaggedError<SourceError>()("SourceError", {
  file: Schema.String,
  line: Schema.optional(Schema.Number),
  column: Schema.optional(Schema.Number),
  reason: Schema.String
}) {
  override get message(): string {
    const where = this.line === undefined ? this.file : `${this.file}:${this.line}:${this.column ?? 1}`
    return `${where}: ${this.reason}`
  }
}

// -----------------------------------------------------------------------------
// Kinds of files
// -----------------------------------------------------------------------------

/**
 * What a file holds, by its extension.
 *
 * @category models
 * @since 0.1.0
 */
export type Kind = "definition" | "module"

const definitionExtensions = new Set([".yaml", ".yml", ".json"])
const moduleExtensions = new Set([".ts", ".mts", ".cts", ".js", ".mjs", ".cjs"])

/**
 * @category models
 * @since 0.1.0
 */
export const kindOf = (file: string): Kind | undefined => {
  const ext = extname(file).toLowerCase()
  return definitionExtensions.has(ext) ? "definition" : moduleExtensions.has(ext) ? "module" : undefined
}

const readText = (file: string): Effect.Effect<string, SourceError> =>
  Effect.try({
    try: () => {
      const path = resolve(file)
      if (!existsSync(path)) throw new Error("no such file")
      const stat = statSync(path)
      if (!stat.isFile()) throw new Error("not a regular file")
      if (stat.size > 16 * 1024 * 1024) throw new Error("larger than 16 MiB")
      return readFileSync(path, "utf8")
    },
    catch: (cause) => new SourceError({ file, reason: cause instanceof Error ? cause.message : String(cause) })
  })

// -----------------------------------------------------------------------------
// Definition files
// -----------------------------------------------------------------------------

/**
 * A parsed definition file: its value, and where each path of it is in the file.
 *
 * @category models
 * @since 0.1.0
 */
export interface DefinitionFile {
  readonly file: string
  readonly value: unknown
  /**
   * Line and column (from 1) of the value at a path such as `tasks[3].depends_on[1]` (of its key, with
   * `key: true`), if known; a path that does not exist gives the position of its nearest existing parent.
   */
  readonly locate: (
    path: string,
    options?: { readonly key?: boolean | undefined }
  ) => { readonly line: number; readonly column: number } | undefined
}

/** Splits `tasks[3].depends_on[1]` into `["tasks", 3, "depends_on", 1]`. */
export const parsePath = (path: string): Array<string | number> => {
  const out: Array<string | number> = []
  const re = /([^.[\]]+)|\[(\d+)\]/g
  for (const match of path.matchAll(re)) {
    if (match[2] !== undefined) out.push(Number(match[2]))
    else if (match[1] !== undefined && match[1] !== "(root)") out.push(match[1])
  }
  return out
}

/**
 * Parses YAML or JSON text (JSON is YAML: one parser, one kind of position). A syntax error, a document
 * that is too deeply nested or uses too many aliases, and a duplicate key are `SourceError`s with the line
 * and column.
 *
 * @category constructors
 * @since 0.1.0
 */
export const parseDefinition = (file: string, text: string): Effect.Effect<DefinitionFile, SourceError> =>
  Effect.suspend(() => {
    const lineCounter = new LineCounter()
    const position = (offset: number) => {
      const { line, col } = lineCounter.linePos(offset)
      return { line, column: col }
    }
    let doc: ReturnType<typeof parseDocument>
    let value: unknown
    try {
      doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false, merge: true })
      const error = doc.errors[0]
      if (error !== undefined) {
        const at = position(error.pos[0])
        return Effect.fail(new SourceError({ file, ...at, reason: error.message.split("\n")[0]! }))
      }
      value = doc.toJS({ maxAliasCount: 100 })
    } catch (cause) {
      const reason = cause instanceof RangeError
        ? "the document is nested too deeply to read"
        : cause instanceof Error
        ? cause.message.split("\n")[0]!
        : String(cause)
      return Effect.fail(new SourceError({ file, reason }))
    }
    const locate = (path: string, options?: { readonly key?: boolean | undefined }) => {
      let node: unknown = doc.contents
      let last: { readonly line: number; readonly column: number } | undefined
      const rangeOf = (n: unknown) => {
        const range = (n as { range?: [number, number, number] } | null)?.range
        return range === undefined ? undefined : position(range[0])
      }
      last = rangeOf(node)
      const segments = parsePath(path)
      for (let i = 0; i < segments.length; i++) {
        const segment = segments[i]!
        if (isMap(node)) {
          const pair = node.items.find((item) => isScalar(item.key) && String(item.key.value) === String(segment))
          if (pair === undefined) return last
          node = pair.value ?? pair.key
          const atKey = options?.key === true && i === segments.length - 1
          last = (atKey ? rangeOf(pair.key) : rangeOf(pair.value) ?? rangeOf(pair.key)) ?? last
        } else if (isSeq(node) && typeof segment === "number") {
          const item = node.items[segment]
          if (item === undefined) return last
          node = item
          last = rangeOf(item) ?? last
        } else return last
      }
      return last
    }
    return Effect.succeed({ file, value, locate })
  })

/**
 * Reads and parses a definition file.
 *
 * @category constructors
 * @since 0.1.0
 */
export const readDefinition = (file: string): Effect.Effect<DefinitionFile, SourceError> =>
  Effect.flatMap(readText(file), (text) => parseDefinition(file, text))

// -----------------------------------------------------------------------------
// Modules
// -----------------------------------------------------------------------------

/**
 * Imports a TypeScript or JavaScript module by path (TypeScript through Node's type stripping).
 *
 * @category constructors
 * @since 0.1.0
 */
export const importModule = (file: string): Effect.Effect<Record<string, unknown>, SourceError> =>
  Effect.gen(function*() {
    const path = resolve(file)
    if (!existsSync(path)) return yield* new SourceError({ file, reason: "no such file" })
    return yield* Effect.tryPromise({
      try: () => import(pathToFileURL(path).href) as Promise<Record<string, unknown>>,
      catch: (cause) => {
        const text = cause instanceof Error ? cause.message : String(cause)
        const hint = /Unknown file extension "\.ts"|ERR_UNKNOWN_FILE_EXTENSION/.test(text)
          ? " (TypeScript modules need Node 22.18 or later, with type stripping)"
          : ""
        return new SourceError({ file, reason: `cannot load the module: ${text.split("\n")[0]}${hint}` })
      }
    })
  })

