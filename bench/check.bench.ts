/**
 * `npm run bench -- check [--runs N] [--quick]`: the linearizability checker
 * on every Porcupine test history and on generated 1k/10k/100k-op
 * histories. Each figure sits next to baselines measured in the same run:
 * the same WGL search with its cache turned off, and a brute-force checker
 * (every linearization), each under a step budget ("budget" where it does
 * not finish). Porcupine's own medians (Go, from EXPECTED.md, measured on a
 * similar 2-vCPU machine) are quoted for reference; Go cannot run here.
 *
 * Time: median of N runs (fresh parse and model each run) and the first,
 * cold run. Memory: heap growth during one check (V8 heapUsed after the
 * check minus before, after a forced GC; the cache is never freed during a
 * search, so this approximates its peak) and the process's peak RSS.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs"
import { dirname, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { setFlagsFromString } from "node:v8"
import { runInNewContext } from "node:vm"
import { bruteForceCheck } from "../jepsen/src/checker/brute-force.ts"
import { checkOperations } from "../jepsen/src/checker/linearizability.ts"
import type { Operation } from "../jepsen/src/checker/model.ts"
import { parseEtcdLog, parseKvLog } from "../jepsen/src/history/formats.ts"
import { generateRegisterHistory, mulberry32 } from "../jepsen/src/history/generate.ts"
import type { Op } from "../jepsen/src/history/op.ts"
import type { AnyHistoryModel } from "../jepsen/src/model/history-model.ts"
import { toOperations } from "../jepsen/src/model/history-model.ts"
import { kv } from "../jepsen/src/model/kv.ts"
import { casRegister } from "../jepsen/src/model/register.ts"
import { printTable, saveResult } from "./result.ts"

setFlagsFromString("--expose-gc")
const gc = runInNewContext("gc") as () => void

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..")
const dataDir = resolve(repoRoot, "../shared/porcupine-test-data")

type Row = Record<string, string | number | boolean | null>

interface Case {
  readonly name: string
  readonly expected: "valid" | "invalid" | null
  readonly porcupineMs: number | null
  /** Parse + model: fresh per run (models hold interning tables). */
  readonly load: () => { model: AnyHistoryModel; ops: ReadonlyArray<Operation<unknown, unknown>> }
}

const median = (xs: ReadonlyArray<number>) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
}

/** Verdicts and Porcupine's medians, from EXPECTED.md's tables. */
const expectedTable = (): Map<string, { valid: boolean; ms: number | null }> => {
  const out = new Map<string, { valid: boolean; ms: number | null }>()
  for (const line of readFileSync(resolve(dataDir, "EXPECTED.md"), "utf8").split("\n")) {
    const cells = line.split("|").map((c) => c.trim())
    const name = cells[1]?.replace(/^kv\//, "")
    if (!name || !/^(etcd_\d+\.log|c\d+-(ok|bad)\.txt)$/.test(name)) continue
    const verdict = cells.find((c) => c === "linearizable" || c === "NOT linearizable")
    if (!verdict) continue
    let ms: number | null = null
    if (name.startsWith("etcd")) ms = Number(cells[10])
    else {
      const m = /^[\d.]+ \/ ([\d.]+) \//.exec(cells[9] ?? "")
      ms = m ? Number(m[1]) : null
    }
    out.set(name, { valid: verdict === "linearizable", ms: ms !== null && Number.isFinite(ms) ? ms : null })
  }
  return out
}

const fromHistory = (model: () => AnyHistoryModel, history: () => ReadonlyArray<Op>) => () => {
  const m = model()
  return { model: m, ops: toOperations(m, history()) }
}

const timeIt = <T>(f: () => T): [T, number] => {
  const t0 = performance.now()
  const r = f()
  return [r, performance.now() - t0]
}

export const main = async (args: ReadonlyArray<string>): Promise<void> => {
  const runsArg = args.indexOf("--runs")
  const runs = runsArg >= 0 ? Number(args[runsArg + 1]) : 5
  const quick = args.includes("--quick")
  const naiveBudget = quick ? 200_000 : 1_000_000
  const bruteBudget = quick ? 50_000 : 300_000

  const cases: Array<Case> = []
  if (existsSync(dataDir)) {
    const table = expectedTable()
    const etcd = readdirSync(resolve(dataDir, "jepsen")).filter((f) => f.endsWith(".log") && f !== "etcd_095.log").sort()
    for (const f of etcd) {
      const text = readFileSync(resolve(dataDir, "jepsen", f), "utf8")
      const e = table.get(f)
      cases.push({
        name: f,
        expected: e ? (e.valid ? "valid" : "invalid") : null,
        porcupineMs: e?.ms ?? null,
        load: fromHistory(() => casRegister({ failedCas: "compare-failed" }) as unknown as AnyHistoryModel, () => parseEtcdLog(text))
      })
    }
    for (const f of readdirSync(resolve(dataDir, "kv")).filter((x) => x.endsWith(".txt")).sort()) {
      const text = readFileSync(resolve(dataDir, "kv", f), "utf8")
      const e = table.get(f)
      cases.push({
        name: `kv/${f}`,
        expected: e ? (e.valid ? "valid" : "invalid") : null,
        porcupineMs: e?.ms ?? null,
        load: fromHistory(() => kv({ initial: "" }) as unknown as AnyHistoryModel, () => parseKvLog(text))
      })
    }
  } else process.stdout.write(`porcupine test data not found at ${dataDir}; generated histories only\n`)

  const generated: ReadonlyArray<readonly [string, number, number, number, number]> = [
    // name, ops, keys, crash rate, stale-read rate
    ["gen register 1k, 1% crashed", 1_000, 0, 0.01, 0],
    ["gen register 10k, 1% crashed", 10_000, 0, 0.01, 0],
    ["gen register 100k, 1% crashed", 100_000, 0, 0.01, 0],
    ["gen register 100k, no crashes", 100_000, 0, 0, 0],
    ["gen kv 100k (10 keys), 1% crashed", 100_000, 10, 0.01, 0],
    ["gen register 10k, stale reads", 10_000, 0, 0.01, 0.01]
  ]
  for (const [name, n, keys, crashRate, staleReadRate] of generated) {
    const history = generateRegisterHistory(mulberry32(n + keys), { ops: n, keys, crashRate, staleReadRate })
    cases.push({
      name,
      expected: staleReadRate > 0 ? "invalid" : "valid",
      porcupineMs: null,
      load: fromHistory(() => (keys ? kv() : casRegister()) as unknown as AnyHistoryModel, () => history)
    })
  }

  const rows: Array<Row> = []
  let totalEtcd = 0
  let totalEtcdFirst = 0
  let totalEtcdPorcupine = 0
  let wrong = 0
  for (const c of cases) {
    const times: Array<number> = []
    let verdict = ""
    let steps = 0
    let heapMB = 0
    let ops = 0
    for (let r = 0; r < runs; r++) {
      const { model, ops: operations } = c.load()
      ops = operations.length
      gc()
      const before = process.memoryUsage().heapUsed
      const [res, ms] = timeIt(() => checkOperations(model, operations))
      if (r === 0) heapMB = (process.memoryUsage().heapUsed - before) / 1e6
      times.push(ms)
      verdict = res.verdict
      steps = res.steps
    }
    if (c.expected !== null && verdict !== c.expected) wrong++
    const { model, ops: operations } = c.load()
    // Even a search that never backtracks needs a few steps per op: scale the budget.
    const naiveSteps = Math.max(naiveBudget, 20 * operations.length)
    const [naive, naiveMs] = timeIt(() => checkOperations(model, operations, { noCache: true, maxSteps: naiveSteps }))
    const small = operations.length <= 200
    const [brute, bruteMs] = small ? timeIt(() => bruteForceCheck(model, operations, bruteBudget)) : [undefined, 0]
    const med = median(times)
    if (c.name.startsWith("etcd")) {
      totalEtcd += med
      totalEtcdFirst += times[0]!
      totalEtcdPorcupine += c.porcupineMs ?? 0
    }
    rows.push({
      history: c.name,
      ops,
      expected: c.expected ?? "",
      verdict,
      ok: c.expected === null || verdict === c.expected,
      "median ms": med,
      "first ms": times[0]!,
      steps,
      "heap MB": Math.max(0, heapMB),
      "porcupine ms": c.porcupineMs,
      "no-cache WGL ms": naive.verdict === "unknown" ? `budget(${naiveSteps})` : naiveMs,
      "brute force ms": brute === undefined ? "n/a" : brute.verdict === "unknown" ? `budget(${bruteBudget})` : bruteMs
    })
  }
  if (totalEtcdPorcupine > 0) {
    rows.push({
      history: "all etcd logs (sums)",
      ops: null,
      expected: "",
      verdict: "",
      ok: wrong === 0,
      "median ms": totalEtcd,
      "first ms": totalEtcdFirst,
      steps: null,
      "heap MB": null,
      "porcupine ms": totalEtcdPorcupine,
      "no-cache WGL ms": null,
      "brute force ms": null
    })
  }
  printTable(rows)
  const peakRssMB = process.resourceUsage().maxRSS / 1024
  process.stdout.write(`\nwrong verdicts: ${wrong}; peak RSS of the whole run: ${peakRssMB.toFixed(0)} MB\n`)
  const path = saveResult({
    benchmark: "check",
    scenario:
      `Linearizability checker (WGL, hand-written hot loop) on Porcupine's test data and generated histories; median of ${runs} runs and the cold first run. ` +
      `Baselines in the same run: the same search without its cache (budget max(${naiveBudget}, 20 x ops) steps) and brute force over all linearizations (budget ${bruteBudget} steps, histories <= 200 ops). ` +
      `'porcupine ms' quotes Porcupine's Go medians from EXPECTED.md (not run here). heap MB: V8 heapUsed growth during the first check after a forced GC. Peak RSS of the run: ${peakRssMB.toFixed(0)} MB.`,
    rows
  })
  process.stdout.write(`saved ${path}\n`)
  if (wrong > 0) process.exitCode = 1
}
