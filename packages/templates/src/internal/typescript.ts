/** @internal Static signals from the TypeScript compiler API: diagnostics, exported symbols and their JSDoc. */
import { existsSync } from "node:fs"
import { isAbsolute, join, relative, resolve } from "node:path"
import ts from "typescript"

export interface Diagnostic {
  readonly file: string
  readonly line: number
  readonly column: number
  readonly code: number
  readonly category: "error" | "warning" | "suggestion" | "message"
  readonly message: string
}

const defaults: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  strict: true,
  // No DOM and no ambient @types unless the repository's tsconfig asks for them (loading them is most of
  // the time a small program takes).
  lib: ["lib.es2022.d.ts"],
  types: [],
  noEmit: true,
  allowJs: true,
  checkJs: false,
  skipLibCheck: true,
  allowImportingTsExtensions: true
}

/** Compiler options from the repository's tsconfig.json, else strict defaults. */
const optionsFor = (repo: string): ts.CompilerOptions => {
  const configPath = join(repo, "tsconfig.json")
  if (!existsSync(configPath)) return defaults
  const read = ts.readConfigFile(configPath, ts.sys.readFile)
  if (read.error !== undefined) return defaults
  const parsed = ts.parseJsonConfigFileContent(read.config, ts.sys, repo)
  return { ...parsed.options, noEmit: true, skipLibCheck: true }
}

const absolute = (repo: string, file: string) => (isAbsolute(file) ? file : resolve(repo, file))

export const program = (repo: string, files: ReadonlyArray<string>): ts.Program =>
  ts.createProgram({ rootNames: files.map((f) => absolute(repo, f)), options: optionsFor(repo) })

const categories = ["warning", "error", "suggestion", "message"] as const

/** Diagnostics (syntactic and semantic) of the given files, paths relative to the repository. */
export const diagnostics = (repo: string, files: ReadonlyArray<string>): Array<Diagnostic> => {
  const p = program(repo, files)
  const wanted = new Set(files.map((f) => absolute(repo, f)))
  const out: Array<Diagnostic> = []
  for (const sf of p.getSourceFiles()) {
    if (!wanted.has(resolve(sf.fileName))) continue
    for (const d of [...p.getSyntacticDiagnostics(sf), ...p.getSemanticDiagnostics(sf)]) {
      const { line, character } = d.start === undefined ? { line: 0, character: 0 } : sf.getLineAndCharacterOfPosition(d.start)
      out.push({
        file: relative(repo, sf.fileName),
        line: line + 1,
        column: character + 1,
        code: d.code,
        category: categories[d.category] ?? "error",
        message: ts.flattenDiagnosticMessageText(d.messageText, "\n")
      })
    }
  }
  return out
}

export interface ExportedSymbol {
  readonly name: string
  readonly kind: "function" | "class" | "interface" | "type" | "variable" | "enum" | "namespace"
  readonly file: string
  readonly line: number
  /** The declaration's signature, as TypeScript prints it. */
  readonly signature: string
  readonly documentation: string
  readonly tags: ReadonlyArray<{ readonly name: string; readonly text: string }>
}

const kindOf = (decl: ts.Declaration): ExportedSymbol["kind"] =>
  ts.isFunctionDeclaration(decl) ? "function"
  : ts.isClassDeclaration(decl) ? "class"
  : ts.isInterfaceDeclaration(decl) ? "interface"
  : ts.isTypeAliasDeclaration(decl) ? "type"
  : ts.isEnumDeclaration(decl) ? "enum"
  : ts.isModuleDeclaration(decl) ? "namespace"
  : "variable"

/** The exported symbols of each file, with their JSDoc (summary and tags) and signatures. */
export const exportedSymbols = (repo: string, files: ReadonlyArray<string>): Array<ExportedSymbol> => {
  const p = program(repo, files)
  const checker = p.getTypeChecker()
  const out: Array<ExportedSymbol> = []
  for (const file of files) {
    const start = out.length
    const sf = p.getSourceFile(absolute(repo, file))
    if (sf === undefined) continue
    const moduleSymbol = checker.getSymbolAtLocation(sf)
    if (moduleSymbol === undefined) continue
    for (const exported of checker.getExportsOfModule(moduleSymbol)) {
      const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported
      const decl = symbol.declarations?.[0]
      if (decl === undefined) continue
      const type = checker.getTypeOfSymbolAtLocation(symbol, decl)
      const kind = kindOf(decl)
      const signature = kind === "function" || kind === "variable"
        ? `${kind === "function" ? "function " : "const "}${exported.name}: ${checker.typeToString(type, undefined, ts.TypeFormatFlags.NoTruncation)}`
        : decl.getText(decl.getSourceFile()).split("\n")[0]!.replace(/\{\s*$/, "").trim()
      out.push({
        name: exported.name,
        kind,
        file: relative(repo, decl.getSourceFile().fileName),
        line: decl.getSourceFile().getLineAndCharacterOfPosition(decl.getStart()).line + 1,
        signature,
        documentation: ts.displayPartsToString(symbol.getDocumentationComment(checker)),
        tags: symbol.getJsDocTags(checker).map((t) => ({ name: t.name, text: ts.displayPartsToString(t.text) }))
      })
    }
    // In source order.
    out.splice(start, out.length - start, ...out.slice(start).sort((a, b) => a.line - b.line))
  }
  return out
}
