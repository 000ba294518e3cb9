/**
 * The dependency arrows between workspaces that must never exist, and a
 * scanner that finds them. `core` is pure and imports no runtime; the node
 * runtime and the simulator never import each other (the `cairn` program in
 * app/ composes them); the checker imports no runtime; nothing but bin/
 * imports the composition root. Every import counts, tests included: a test
 * that needs the simulator lives in sim/, one that needs a running node in
 * runtime-node/. docs/architecture.md draws the same table.
 *
 * Imports are read with TypeScript's own pre-processor (static, `export
 * from`, `import type`, `import("…")` in types and expressions, `require`),
 * so comments and string contents never count.
 */
import { readdirSync, readFileSync, statSync } from "node:fs"
import { dirname, join, relative, resolve, sep } from "node:path"
import ts from "typescript"

/** The workspaces, by folder; each is the package `@cairn/<folder>`. */
export const workspaces = ["core", "sim", "runtime-test", "runtime-node", "jepsen", "app"] as const
export type Workspace = (typeof workspaces)[number]

/** Folders of the repository that are not workspaces but hold code that imports workspaces. */
export const otherCodeRoots = ["bench", "scripts", "bin", "console"] as const
type Place = Workspace | (typeof otherCodeRoots)[number]

/** Each arrow that must never exist, with why. */
export const forbiddenArrows: ReadonlyArray<{ readonly from: Place | "*"; readonly to: Workspace; readonly why: string }> = [
  ...(["runtime-node", "runtime-test", "sim", "jepsen", "app"] as const).map((to) => ({
    from: "core" as const,
    to,
    why: "core is pure and depends on no runtime; a core test that needs a runtime lives in that runtime's workspace"
  })),
  { from: "runtime-node", to: "sim", why: "the production runtime never ships the simulator; app/ composes the two" },
  { from: "sim", to: "runtime-node", why: "the simulator runs core's wiring on simulated services, never the production runtime's" },
  { from: "jepsen", to: "sim", why: "jepsen's histories and checkers depend on nothing but effect, so both the simulator and real clusters use them" },
  { from: "jepsen", to: "runtime-node", why: "jepsen's histories and checkers depend on nothing but effect, so both the simulator and real clusters use them" },
  { from: "*", to: "app", why: "app/ is the composition root: only bin/ starts it" }
]

/** One import of one file. */
export interface ImportSite {
  /** Path relative to the repository root, with `/`. */
  readonly file: string
  readonly line: number
  readonly specifier: string
}

export interface Offence extends ImportSite {
  readonly from: Place
  readonly to: Workspace
  readonly why: string
}

/** The module specifiers a source imports, with their 1-based lines. */
export const importsOf = (source: string): ReadonlyArray<{ readonly specifier: string; readonly line: number }> =>
  ts.preProcessFile(source, true, true).importedFiles.map((f) => ({
    specifier: f.fileName,
    line: source.slice(0, f.pos).split("\n").length
  }))

const placeOfPath = (path: string): Place | undefined => {
  const top = path.split("/")[0]
  return [...workspaces, ...otherCodeRoots].find((p) => p === top)
}

/** Which workspace an import reaches: `@cairn/<ws>[/…]`, or a relative path that lands in another top-level folder. */
export const targetOf = (site: ImportSite): Workspace | undefined => {
  const pkg = /^@cairn\/([^/]+)/.exec(site.specifier)
  if (pkg !== null) return workspaces.find((w) => w === pkg[1])
  if (!site.specifier.startsWith(".")) return undefined
  const landed = join(dirname(site.file), site.specifier).split(sep).join("/")
  const place = placeOfPath(landed)
  return workspaces.find((w) => w === place)
}

/** The arrow an import draws, if it is one that must never exist. */
export const offenceOf = (site: ImportSite): Offence | undefined => {
  const from = placeOfPath(site.file)
  const to = targetOf(site)
  if (from === undefined || to === undefined || from === to) return undefined
  const rule = forbiddenArrows.find((a) => a.to === to && (a.from === from || (a.from === "*" && from !== "bin")))
  return rule === undefined ? undefined : { ...site, from, to, why: rule.why }
}

const codeFiles = (dir: string): ReadonlyArray<string> =>
  readdirSync(dir).flatMap((name) => {
    // dist/: the console's bundle, built from console/src (which is scanned).
    if (name === "node_modules" || name === "dist" || name.startsWith(".")) return []
    const path = join(dir, name)
    if (statSync(path).isDirectory()) return codeFiles(path)
    return /\.(?:ts|tsx|mts|js|mjs)$/.test(name) ? [path] : []
  })

/** Every import of every code file under the workspaces and the other code roots of the repository at `root`. */
export const importSites = (root: string): ReadonlyArray<ImportSite> =>
  [...workspaces, ...otherCodeRoots]
    .map((place) => resolve(root, place))
    .filter((dir) => statSync(dir, { throwIfNoEntry: false })?.isDirectory() === true)
    .flatMap(codeFiles)
    .flatMap((path) => {
      const file = relative(root, path).split(sep).join("/")
      return importsOf(readFileSync(path, "utf8")).map((i) => ({ file, ...i }))
    })

/** One line per offence: file, line, the import, the arrow and why it must not exist. */
export const describeOffence = (o: Offence): string => `${o.file}:${o.line} imports "${o.specifier}": ${o.from} → ${o.to} must never exist (${o.why})`
