/**
 * The repository's lint step (run by `npm test` through `npm run lint`), on the TypeScript compiler API:
 *
 * 1. no import cycles between the source modules of the packages (runtime imports: `import type` and
 *    `export type` are erased and do not count; `@troupe/<pkg>` and `@troupe/<pkg>/<Module>` resolve to the
 *    package's sources);
 * 2. no Node built-ins (`node:*`, `fs`, ...) imported by `@troupe/core` (the authoring core runs anywhere);
 * 3. no unused exports: every export of an internal module (`src/internal/**`, not part of a package's
 *    public surface) and every export marked `@internal` in a public module is imported somewhere (sources,
 *    tests, type tests, examples, docs, bench);
 * 4. no long functions: no function-like node (declaration, expression, arrow, method, accessor, constructor)
 *    in `packages/<pkg>/src` whose body spans more than 150 lines (from the line of its opening `{`, or of an
 *    arrow's expression, to the line of its end, both counted). A long function is reported with its
 *    file:line, its name (or where it is passed) and its length; split it into named parts with one job each.
 *
 * Usage: `node --conditions=source scripts/lint.ts` (exits 1 and prints each problem when there is one).
 */
import * as fs from "node:fs"
import * as path from "node:path"
import ts from "typescript"

/** The repository (or, for the lint's own test, the directory in TROUPE_LINT_ROOT). */
const root = process.env["TROUPE_LINT_ROOT"] ?? path.resolve(import.meta.dirname, "..")

/**
 * Cycles known and accepted for now, each with the reason. A cycle is written as its modules in the order
 * the lint prints them (sorted), joined by " ↔ ".
 */
const allowedCycles: ReadonlyMap<string, string> = new Map([
  // None: the last ones (Agent ↔ AgentTask, Patterns ↔ internal/patterns in @troupe/agents) were broken up.
])

/**
 * Unused exports known and accepted for now (`<file>#<name>`), each with the reason.
 */
const allowedUnused: ReadonlyMap<string, string> = new Map<string, string>([
  // None: every export is used by another module or a test.
])

/** The longest body a function in `packages/<pkg>/src` may have, in lines. */
const maxFunctionLines = 150

/**
 * Files whose long functions are accepted for now (a glob relative to the repository: `**` any path, `*` any
 * name), each with the reason. Each entry is to be split next; remove it once its files pass.
 */
const allowedLongFunctions: ReadonlyMap<string, string> = new Map<string, string>([
  // None left: the engine, durable and templates modules were split into named parts.
])

// -----------------------------------------------------------------------------
// Files
// -----------------------------------------------------------------------------

const walk = (dir: string, out: Array<string> = []): Array<string> => {
  if (!fs.existsSync(dir)) return out
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === "node_modules" || entry.name === "dist" || entry.name.startsWith(".")) continue
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) walk(full, out)
    else if (entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts")) out.push(full)
  }
  return out
}

const packagesDir = path.join(root, "packages")
const packages = fs.readdirSync(packagesDir).filter((name) => fs.existsSync(path.join(packagesDir, name, "package.json")))
const sourceFiles = packages.flatMap((pkg) => walk(path.join(packagesDir, pkg, "src")))
const otherFiles = [
  ...packages.flatMap((pkg) => [...walk(path.join(packagesDir, pkg, "test")), ...walk(path.join(packagesDir, pkg, "typetest"))]),
  ...walk(path.join(root, "examples")),
  ...walk(path.join(root, "docs")),
  ...walk(path.join(root, "bench")),
  ...walk(path.join(root, "scripts"))
]

const rel = (file: string) => path.relative(root, file)

// -----------------------------------------------------------------------------
// Parsing
// -----------------------------------------------------------------------------

interface ImportInfo {
  readonly specifier: string
  /** Erased at run time (`import type`, `export type`). */
  readonly typeOnly: boolean
  /** Names taken from the module; `*` for all of them (a namespace import or `export *`). */
  readonly names: ReadonlyArray<string>
}

interface ExportInfo {
  readonly name: string
  readonly internal: boolean
}

interface Parsed {
  readonly imports: ReadonlyArray<ImportInfo>
  readonly exports: ReadonlyArray<ExportInfo>
  /**
   * For each exported name, the identifiers the module's other exported statements mention: a type that
   * appears in another export's signature must stay exported (declaration files name it).
   */
  readonly mentionedByOtherExports: (name: string) => boolean
  /** Functions whose body is longer than `maxFunctionLines`. */
  readonly longFunctions: ReadonlyArray<LongFunction>
}

interface LongFunction {
  /** 1-based line where the function starts. */
  readonly line: number
  readonly name: string
  /** Lines of its body, both ends counted. */
  readonly lines: number
}

const identifiersIn = (node: ts.Node, out: Set<string>): Set<string> => {
  if (ts.isIdentifier(node)) out.add(node.text)
  ts.forEachChild(node, (child) => {
    identifiersIn(child, out)
  })
  return out
}

const hasInternalTag = (node: ts.Node): boolean =>
  ts.getJSDocTags(node).some((tag) => tag.tagName.text === "internal") ||
  (ts.isVariableDeclarationList(node.parent) && ts.getJSDocTags(node.parent.parent).some((tag) => tag.tagName.text === "internal"))

const isExported = (node: ts.Node): boolean =>
  ts.canHaveModifiers(node) && (ts.getModifiers(node) ?? []).some((m) => m.kind === ts.SyntaxKind.ExportKeyword)

/** Names accessed on a namespace identifier (`X.name`, `X.Name` in types); `*` if it is used otherwise. */
const namespaceUses = (source: ts.SourceFile, local: string): ReadonlyArray<string> => {
  const names = new Set<string>()
  let whole = false
  const visit = (node: ts.Node): void => {
    if (ts.isIdentifier(node) && node.text === local) {
      const parent = node.parent
      if (ts.isPropertyAccessExpression(parent) && parent.expression === node) names.add(parent.name.text)
      else if (ts.isQualifiedName(parent) && parent.left === node) names.add(parent.right.text)
      else if (!ts.isNamespaceImport(parent)) whole = true
    }
    ts.forEachChild(node, visit)
  }
  visit(source)
  return whole ? ["*"] : [...names]
}

/** The name a reader would search for: the function's own, or the variable/property it is assigned to. */
const declaredName = (node: ts.Node, source: ts.SourceFile): string | undefined => {
  if (ts.isConstructorDeclaration(node)) return "constructor"
  if (ts.isFunctionLike(node) && node.name !== undefined) return node.name.getText(source)
  const parent = node.parent
  if (
    (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent) || ts.isPropertyDeclaration(parent)) &&
    parent.initializer === node
  ) return parent.name.getText(source)
  if (ts.isBinaryExpression(parent) && parent.right === node && parent.operatorToken.kind === ts.SyntaxKind.EqualsToken) {
    return parent.left.getText(source)
  }
  return undefined
}

/** `make`, or `callback of Effect.gen in make` for an anonymous function passed to a call. */
const functionName = (node: ts.Node, source: ts.SourceFile): string => {
  const own = declaredName(node, source)
  if (own !== undefined) return own
  let where: string | undefined
  for (let up: ts.Node | undefined = node.parent; up !== undefined && where === undefined; up = up.parent) {
    // An anonymous function's name is the one of the expression it is the initializer of, e.g. `const make = Effect.gen(...)`.
    if (ts.isVariableDeclaration(up) || ts.isPropertyAssignment(up)) where = up.name.getText(source)
    else if (ts.isFunctionLike(up)) where = declaredName(up, source)
  }
  const parent = node.parent
  const callee = ts.isCallExpression(parent) ? parent.expression.getText(source).replace(/\s+/g, " ") : undefined
  const what = callee === undefined
    ? "anonymous function"
    : `callback of ${callee.length > 40 ? `${callee.slice(0, 37)}...` : callee}`
  return where === undefined ? what : `${what} in ${where}`
}

const longFunctionsIn = (source: ts.SourceFile): Array<LongFunction> => {
  const out: Array<LongFunction> = []
  const lineOf = (position: number) => source.getLineAndCharacterOfPosition(position).line
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && "body" in node && node.body !== undefined) {
      const body = node.body as ts.Node
      const lines = lineOf(body.getEnd()) - lineOf(body.getStart(source)) + 1
      if (lines > maxFunctionLines) {
        out.push({ line: lineOf(node.getStart(source)) + 1, name: functionName(node, source), lines })
      }
    }
    ts.forEachChild(node, visit)
  }
  visit(source)
  return out
}

const parse = (file: string): Parsed | undefined => {
  let text: string
  try {
    text = fs.readFileSync(file, "utf8")
  } catch {
    return undefined // removed while we were reading (someone's temporary file)
  }
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS)
  const imports: Array<ImportInfo> = []
  const exports: Array<ExportInfo> = []
  for (const statement of source.statements) {
    if (ts.isImportDeclaration(statement) && ts.isStringLiteral(statement.moduleSpecifier)) {
      const clause = statement.importClause
      const specifier = statement.moduleSpecifier.text
      if (clause === undefined) {
        imports.push({ specifier, typeOnly: false, names: [] })
        continue
      }
      const names: Array<string> = []
      if (clause.name !== undefined) names.push("default")
      const bindings = clause.namedBindings
      if (bindings !== undefined && ts.isNamespaceImport(bindings)) names.push(...namespaceUses(source, bindings.name.text))
      if (bindings !== undefined && ts.isNamedImports(bindings)) {
        for (const element of bindings.elements) names.push((element.propertyName ?? element.name).text)
      }
      imports.push({ specifier, typeOnly: clause.isTypeOnly, names })
    } else if (ts.isExportDeclaration(statement)) {
      const specifier = statement.moduleSpecifier !== undefined && ts.isStringLiteral(statement.moduleSpecifier)
        ? statement.moduleSpecifier.text
        : undefined
      const clause = statement.exportClause
      if (specifier !== undefined) {
        const names = clause === undefined || ts.isNamespaceExport(clause)
          ? ["*"]
          : clause.elements.map((e) => (e.propertyName ?? e.name).text)
        imports.push({ specifier, typeOnly: statement.isTypeOnly, names })
      }
      if (clause !== undefined && ts.isNamedExports(clause)) {
        for (const element of clause.elements) exports.push({ name: element.name.text, internal: hasInternalTag(statement) })
      } else if (clause !== undefined && ts.isNamespaceExport(clause)) {
        exports.push({ name: clause.name.text, internal: false })
      }
    } else if (isExported(statement)) {
      const internal = hasInternalTag(statement)
      if (ts.isVariableStatement(statement)) {
        for (const declaration of statement.declarationList.declarations) {
          if (ts.isIdentifier(declaration.name)) exports.push({ name: declaration.name.text, internal })
        }
      } else if (
        (ts.isFunctionDeclaration(statement) || ts.isClassDeclaration(statement) || ts.isInterfaceDeclaration(statement) ||
          ts.isTypeAliasDeclaration(statement) || ts.isEnumDeclaration(statement) || ts.isModuleDeclaration(statement)) &&
        statement.name !== undefined && ts.isIdentifier(statement.name)
      ) {
        exports.push({ name: statement.name.text, internal })
      }
    }
  }
  // Dynamic imports and require calls (for the built-in rule).
  const visit = (node: ts.Node): void => {
    if (
      ts.isCallExpression(node) && node.arguments.length > 0 && ts.isStringLiteral(node.arguments[0]!) &&
      (node.expression.kind === ts.SyntaxKind.ImportKeyword ||
        (ts.isIdentifier(node.expression) && node.expression.text === "require"))
    ) {
      imports.push({ specifier: (node.arguments[0] as ts.StringLiteral).text, typeOnly: false, names: ["*"] })
    }
    ts.forEachChild(node, visit)
  }
  visit(source)
  const exportedStatements = source.statements.filter((statement) => isExported(statement))
  const mentions = exportedStatements.map((statement) => identifiersIn(statement, new Set()))
  const declares = exportedStatements.map((statement) => {
    const names = new Set<string>()
    if (ts.isVariableStatement(statement)) {
      for (const d of statement.declarationList.declarations) if (ts.isIdentifier(d.name)) names.add(d.name.text)
    } else if ("name" in statement && statement.name !== undefined && ts.isIdentifier(statement.name as ts.Node)) {
      names.add((statement.name as ts.Identifier).text)
    }
    return names
  })
  const mentionedByOtherExports = (name: string) =>
    mentions.some((set, i) => !declares[i]!.has(name) && set.has(name))
  return { imports, exports, mentionedByOtherExports, longFunctions: longFunctionsIn(source) }
}

// -----------------------------------------------------------------------------
// Resolution
// -----------------------------------------------------------------------------

const resolve = (from: string, specifier: string): string | undefined => {
  if (specifier.startsWith(".")) {
    const target = path.resolve(path.dirname(from), specifier)
    return fs.existsSync(target) ? target : undefined
  }
  const match = /^@troupe\/([^/]+)(?:\/(.+))?$/.exec(specifier)
  if (match === null) return undefined
  const [, pkg, sub] = match
  const target = path.join(packagesDir, pkg!, "src", sub === undefined ? "index.ts" : `${sub}.ts`)
  return fs.existsSync(target) ? target : undefined
}

const isBuiltin = (specifier: string): boolean =>
  specifier.startsWith("node:") || nodeBuiltins.has(specifier.split("/")[0]!)

const nodeBuiltins = new Set([
  "assert", "async_hooks", "buffer", "child_process", "cluster", "console", "constants", "crypto", "dgram",
  "diagnostics_channel", "dns", "domain", "events", "fs", "http", "http2", "https", "inspector", "module", "net",
  "os", "path", "perf_hooks", "process", "punycode", "querystring", "readline", "repl", "stream", "string_decoder",
  "sys", "timers", "tls", "trace_events", "tty", "url", "util", "v8", "vm", "wasi", "worker_threads", "zlib"
])

// -----------------------------------------------------------------------------
// Rules
// -----------------------------------------------------------------------------

const parsed = new Map<string, Parsed>()
for (const file of [...sourceFiles, ...otherFiles]) {
  const info = parse(file)
  if (info !== undefined) parsed.set(file, info)
}
const sources = new Set(sourceFiles.filter((file) => parsed.has(file)))

const problems: Array<string> = []

/** Strongly connected components of the runtime import graph of the sources (Tarjan). */
const findCycles = (): Array<Array<string>> => {
  const edges = new Map<string, Array<string>>()
  for (const file of sources) {
    const targets: Array<string> = []
    for (const i of parsed.get(file)!.imports) {
      if (i.typeOnly) continue
      const target = resolve(file, i.specifier)
      if (target !== undefined && sources.has(target)) targets.push(target)
    }
    edges.set(file, targets)
  }
  let counter = 0
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: Array<string> = []
  const onStack = new Set<string>()
  const components: Array<Array<string>> = []
  const connect = (v: string): void => {
    index.set(v, counter)
    low.set(v, counter)
    counter++
    stack.push(v)
    onStack.add(v)
    for (const w of edges.get(v) ?? []) {
      if (!index.has(w)) {
        connect(w)
        low.set(v, Math.min(low.get(v)!, low.get(w)!))
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!))
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: Array<string> = []
      let w: string
      do {
        w = stack.pop()!
        onStack.delete(w)
        component.push(w)
      } while (w !== v)
      if (component.length > 1 || (edges.get(v) ?? []).includes(v)) components.push(component)
    }
  }
  for (const file of sources) if (!index.has(file)) connect(file)
  return components
}

for (const component of findCycles()) {
  const key = component.map(rel).sort().join(" ↔ ")
  if (allowedCycles.has(key)) continue
  problems.push(`import cycle: ${key}`)
}

for (const file of [...sources].filter((f) => rel(f).startsWith(path.join("packages", "core", "src")))) {
  for (const i of parsed.get(file)!.imports) {
    if (isBuiltin(i.specifier)) problems.push(`${rel(file)}: @troupe/core must not import the Node built-in "${i.specifier}"`)
  }
}

// Which names of which module are imported anywhere.
const used = new Map<string, Set<string>>()
for (const [file, info] of parsed) {
  for (const i of info.imports) {
    const target = resolve(file, i.specifier)
    if (target === undefined || target === file) continue
    let set = used.get(target)
    if (set === undefined) used.set(target, set = new Set())
    for (const name of i.names) set.add(name)
  }
}

const isInternalModule = (file: string) => rel(file).split(path.sep).includes("internal")

for (const file of sources) {
  const internalModule = isInternalModule(file)
  const names = used.get(file) ?? new Set<string>()
  const info = parsed.get(file)!
  for (const e of info.exports) {
    if (!internalModule && !e.internal) continue
    if (names.has("*") || names.has(e.name) || info.mentionedByOtherExports(e.name)) continue
    if (allowedUnused.has(`${rel(file)}#${e.name}`)) continue
    problems.push(`${rel(file)}: "${e.name}" is exported but imported nowhere${internalModule ? " (internal module)" : " (@internal)"}`)
  }
}

/** `packages/core/src/internal/engine/**` as a regular expression over repository-relative paths. */
const globToRegExp = (glob: string): RegExp =>
  new RegExp(
    `^${
      glob.split("**").map((part) => part.split("*").map((s) => s.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join("[^/]*"))
        .join(".*")
    }$`
  )

const longFunctionAllowances = [...allowedLongFunctions.keys()].map((glob) => ({ glob, pattern: globToRegExp(glob), used: false }))
for (const file of sources) {
  const name = rel(file).split(path.sep).join("/")
  const allowance = longFunctionAllowances.find((a) => a.pattern.test(name))
  for (const f of parsed.get(file)!.longFunctions) {
    if (allowance !== undefined) {
      allowance.used = true
      continue
    }
    problems.push(
      `${name}:${f.line}: function "${f.name}" is ${f.lines} lines long (more than ${maxFunctionLines}); split it into named parts with one job each`
    )
  }
}
for (const allowance of longFunctionAllowances) {
  if (!allowance.used) {
    console.warn(`lint: no function over ${maxFunctionLines} lines left in "${allowance.glob}"; remove it from allowedLongFunctions in scripts/lint.ts`)
  }
}

const seenCycles = new Set(findCycles().map((c) => c.map(rel).sort().join(" ↔ ")))
for (const key of allowedCycles.keys()) {
  if (!seenCycles.has(key)) console.warn(`lint: the allowed cycle "${key}" no longer exists; remove it from scripts/lint.ts`)
}

if (problems.length > 0) {
  console.error(`lint: ${problems.length} problem(s)\n${problems.map((p) => `  - ${p}`).join("\n")}`)
  process.exit(1)
}
console.log(`lint: ${sources.size} source modules: no import cycles (${allowedCycles.size} allowed), no Node built-ins in @troupe/core, no unused exports (${allowedUnused.size} allowed), no function over ${maxFunctionLines} lines (${allowedLongFunctions.size} allowed paths)`)
