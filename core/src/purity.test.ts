/**
 * Enforces the architecture brief's boundary: no file of core/ may reach time,
 * randomness or I/O except through services. The scanner is tested on fixtures
 * that must fail, so a scanner that silently passes everything fails CI too.
 */
import { readdirSync, readFileSync, statSync } from "node:fs"
import { dirname, join, relative } from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"

const coreDir = join(dirname(fileURLToPath(import.meta.url)), "..")

const nodeBuiltins = [
  "assert", "async_hooks", "buffer", "child_process", "cluster", "crypto", "dgram", "dns", "events", "fs",
  "fs/promises", "http", "http2", "https", "inspector", "module", "net", "os", "path", "perf_hooks", "process",
  "readline", "stream", "timers", "tls", "tty", "url", "util", "v8", "vm", "worker_threads", "zlib"
]

const forbidden: ReadonlyArray<readonly [RegExp, string]> = [
  [/\bfrom\s*["']node:[^"']*["']/, "import of node:*"],
  [new RegExp(`\\bfrom\\s*["'](?:${nodeBuiltins.join("|")})["']`), "Node built-in import"],
  [/\bimport\s*\(\s*["'](?:node:|fs|os|net|crypto)/, "dynamic Node import"],
  [/\brequire\s*\(/, "require()"],
  [/\bprocess\s*[.[]/, "process"],
  [/\bDate\b/, "Date"],
  [/\bMath\s*\.\s*random\b/, "Math.random"],
  [/\b(?:setTimeout|setInterval|setImmediate|clearTimeout|clearInterval|queueMicrotask)\b/, "timer"],
  [/\bperformance\b/, "performance"],
  [/\bcrypto\s*\./, "global crypto"],
  [/\bfetch\s*\(/, "fetch"],
  [/\bglobalThis\b/, "globalThis"]
]

/** Removes comments and the contents of string literals other than module specifiers. */
const stripCommentsAndStrings = (source: string): string =>
  source
    .replace(/\/\*[\s\S]*?\*\//g, " ")
    .replace(/(^|[^:\\])\/\/.*$/gm, "$1")
    .replace(/(\bfrom\s*|\bimport\s*\(\s*)(["'])([^"']*)\2/g, "$1\u0000$3\u0000")
    .replace(/`(?:\\.|[^`\\])*`|"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'/g, '""')
    .replace(/\u0000([^\u0000]*)\u0000/g, '"$1"')

/** The forbidden uses in one file's source, as "line: what". */
export const impurities = (source: string): ReadonlyArray<string> => {
  const found: Array<string> = []
  stripCommentsAndStrings(source)
    .split("\n")
    .forEach((line, i) => {
      for (const [pattern, what] of forbidden) if (pattern.test(line)) found.push(`${i + 1}: ${what}`)
    })
  return found
}

const sourceFiles = (dir: string): ReadonlyArray<string> =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    if (name === "node_modules" || name === "test-fixtures") return []
    if (statSync(path).isDirectory()) return sourceFiles(path)
    return name.endsWith(".ts") && !name.endsWith(".test.ts") ? [path] : []
  })

describe("core purity", () => {
  it("no file of core/ reaches the platform directly", () => {
    const files = sourceFiles(coreDir)
    expect(files.length).toBeGreaterThan(5)
    const report = files.flatMap((file) =>
      impurities(readFileSync(file, "utf8")).map((hit) => `${relative(coreDir, file)}:${hit}`)
    )
    expect(report).toEqual([])
  })

  it("the scanner catches every forbidden kind in the impure fixture", () => {
    const fixture = readFileSync(join(coreDir, "test-fixtures", "impure.ts.fixture"), "utf8")
    const kinds = new Set(impurities(fixture).map((hit) => hit.slice(hit.indexOf(": ") + 2)))
    expect([...kinds].sort()).toEqual(
      [...new Set(forbidden.map(([, what]) => what))].sort()
    )
  })

  it("the scanner ignores comments and ordinary strings", () => {
    const clean = readFileSync(join(coreDir, "test-fixtures", "pure.ts.fixture"), "utf8")
    expect(impurities(clean)).toEqual([])
  })
})
