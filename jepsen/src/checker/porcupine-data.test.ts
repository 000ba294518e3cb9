/**
 * Every history in Porcupine's test data gets the verdict Porcupine's own
 * tests expect (see EXPECTED.md beside the data). The data lives outside the
 * repo, at ../shared/porcupine-test-data; without it these tests are skipped.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs"
import { dirname, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"
import { parseEtcdLog, parseKvLog } from "../history/formats.ts"
import { kv } from "../model/kv.ts"
import { casRegister } from "../model/register.ts"
import { checkHistory } from "./check-history.ts"

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../../..")
const dataDir = resolve(repoRoot, "../shared/porcupine-test-data")
const present = existsSync(resolve(dataDir, "EXPECTED.md"))
if (!present) console.warn(`porcupine test data not found at ${dataDir}: skipping`)

/** The verdicts, read from EXPECTED.md's tables so the test follows the data's own record. */
const expected = (): Map<string, boolean> => {
  const out = new Map<string, boolean>()
  for (const line of readFileSync(resolve(dataDir, "EXPECTED.md"), "utf8").split("\n")) {
    const m = /^\| ((?:kv\/)?(?:etcd_\d+\.log|c\d+-(?:ok|bad)\.txt)) \|.*\| (NOT linearizable|linearizable) \|/.exec(line)
    if (m) out.set(m[1]!.replace(/^kv\//, ""), m[2] === "linearizable")
  }
  return out
}

describe.skipIf(!present)("porcupine test data", () => {
  const want = present ? expected() : new Map<string, boolean>()

  it("knows the expected verdict of every file (the table parse is not vacuous)", () => {
    expect(want.size).toBe(102 + 6)
    expect([...want.values()].filter((v) => v).length).toBe(23 + 3)
  })

  const etcd = present ? readdirSync(resolve(dataDir, "jepsen")).filter((f) => f.endsWith(".log")).sort() : []
  it.each(etcd.filter((f) => f !== "etcd_095.log"))("%s", (file) => {
    const model = casRegister({ failedCas: "compare-failed" })
    const history = parseEtcdLog(readFileSync(resolve(dataDir, "jepsen", file), "utf8"))
    expect(history.length).toBeGreaterThan(100)
    const r = checkHistory(model, history)
    expect(r.verdict).toBe(want.get(file) ? "valid" : "invalid")
    if (r.verdict === "invalid") expect(r.counterexample).toBeDefined()
  })

  it("etcd_095.log is empty and trivially valid", () => {
    const history = parseEtcdLog(readFileSync(resolve(dataDir, "jepsen", "etcd_095.log"), "utf8"))
    expect(history).toEqual([])
    expect(checkHistory(casRegister(), history).verdict).toBe("valid")
  })

  const kvFiles = present ? readdirSync(resolve(dataDir, "kv")).filter((f) => f.endsWith(".txt")).sort() : []
  it.each(kvFiles)("kv/%s", (file) => {
    const model = kv({ initial: "" })
    const history = parseKvLog(readFileSync(resolve(dataDir, "kv", file), "utf8"))
    const r = checkHistory(model, history)
    expect(r.verdict).toBe(want.get(file) ? "valid" : "invalid")
    expect(r.partitions).toBeGreaterThan(1)
  })
})
