/**
 * The checker core stays pure: no node:, process, Date, Math.random, timers
 * or performance outside the I/O files (the CLI command and the report
 * writer) and tests. The simulator runs these checkers deterministically.
 */
import { readdirSync, readFileSync } from "node:fs"
import { dirname, join, relative } from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"

const src = join(dirname(fileURLToPath(import.meta.url)), "..")
const ioFiles = new Set(["cli/check-command.ts", "report/write.ts"])
const forbidden = /from "node:|\bprocess\.|\bDate\b|Math\.random|setTimeout|setInterval|\bperformance\.|from "(?!effect|\.)/

const files = (dir: string): Array<string> =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : []))

const offenders = (paths: ReadonlyArray<string>) =>
  paths.filter((p) => {
    const text = readFileSync(p, "utf8").replace(/^\s*(\/\*\*|\*|\/\/).*$/gm, "")
    return forbidden.test(text)
  })

describe("purity", () => {
  it("pure modules import only effect and each other", () => {
    const pure = files(src).filter((p) => !p.endsWith(".test.ts") && !ioFiles.has(relative(src, p)))
    expect(pure.length).toBeGreaterThan(15)
    expect(offenders(pure).map((p) => relative(src, p))).toEqual([])
  })
  it("the check notices an impure module (it is not vacuous)", () => {
    expect(offenders([join(src, "cli/check-command.ts"), join(src, "report/write.ts")])).toHaveLength(2)
  })
})
