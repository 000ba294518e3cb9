/**
 * The checker's promises beyond the verdict: counterexamples name the ops
 * that could not be linearized, budgets give `unknown` (never a guess), P-
 * compositionality checks keys on their own, and long generated histories
 * get the verdict they were built to have.
 */
import { describe, expect, it } from "vitest"
import { parseDsl } from "../history/dsl.ts"
import { generateRegisterHistory, mulberry32 } from "../history/generate.ts"
import { toOperations } from "../model/history-model.ts"
import { kv } from "../model/kv.ts"
import { casRegister, register } from "../model/register.ts"
import { bruteForceCheck } from "./brute-force.ts"
import { checkHistory } from "./check-history.ts"
import { checkOperations } from "./linearizability.ts"
import type { Model, Operation } from "./model.ts"
import { powerset, Unknown } from "./model.ts"

describe("counterexample", () => {
  const stale = parseDsl(`0 invoke write 1
                          0 ok write 1
                          0 invoke write 2
                          0 ok write 2
                          1 invoke read
                          1 ok read 1`)
  it("gives the longest linearizable prefix, the state, and the op that could not follow", () => {
    const r = checkHistory(register(), stale)
    expect(r.verdict).toBe("invalid")
    const c = r.counterexample!
    expect(c.linearized.map((s) => s.id)).toEqual([0, 2])
    expect(c.linearized.map((s) => s.stateAfter)).toEqual(["1", "2"])
    expect(c.state).toBe("2")
    expect(c.blocked).toEqual({ id: 4, process: 1, description: "read -> 1" })
    expect(c.candidates).toEqual([{ id: 4, process: 1, description: "read -> 1", legal: false }])
  })
  it("names the partition (key) that failed", () => {
    const h = parseDsl(`0 invoke write [a 1]
                        0 ok write [a 1]
                        1 invoke write [b 1]
                        1 ok write [b 1]
                        2 invoke read [b nil]
                        2 ok read [b 2]`)
    const r = checkHistory(kv(), h)
    expect(r.partitions).toBe(2)
    expect(r.counterexample?.partition).toBe("b")
  })
  it("valid histories carry none", () => {
    expect(checkHistory(register(), stale.slice(0, 4)).counterexample).toBeUndefined()
  })
})

describe("budget", () => {
  // etcd-like worst case: many concurrent writes, one impossible read at the end.
  const hard = () => {
    const lines: Array<string> = []
    for (let p = 0; p < 14; p++) lines.push(`${p} invoke write ${p}`)
    for (let p = 0; p < 14; p++) lines.push(`${p} info write ${p}`)
    for (let p = 20; p < 34; p++) lines.push(`${p} invoke read\n${p} ok read ${p - 20}`)
    lines.push("99 invoke read\n99 ok read 77")
    return parseDsl(lines.join("\n"))
  }
  it("a step budget that runs out gives unknown, not a verdict", () => {
    const r = checkHistory(casRegister(), hard(), { maxSteps: 5000 })
    expect(r.verdict).toBe("unknown")
    expect(r.reason).toMatch(/step budget/)
  })
  it("with enough budget the same history gets its real verdict", () => {
    expect(checkHistory(casRegister(), hard()).verdict).toBe("invalid")
  })
  it("a deadline in the past gives unknown (the clock is an argument: the core stays pure)", () => {
    let t = 0
    const r = checkHistory(casRegister(), hard(), { now: () => (t += 1000), deadline: 500 })
    expect(r.verdict).toBe("unknown")
  })
})

describe("generated histories", () => {
  it.each([
    [1_000, 0, 0.02],
    [10_000, 0, 0.01],
    [20_000, 8, 0.01]
  ])("%i ops, %i keys, crash rate %f: valid by construction", (ops, keys, crashRate) => {
    const h = generateRegisterHistory(mulberry32(ops + keys), { ops, keys, crashRate })
    const r = keys ? checkHistory(kv(), h) : checkHistory(casRegister(), h)
    expect(r.verdict).toBe("valid")
    // Failed cas ops are dropped (they did not happen); the rest are checked.
    expect(r.operations).toBeGreaterThan(ops * 0.7)
  })
  it.each([1, 2, 3])("seed %i: stale reads injected are caught", (seed) => {
    const h = generateRegisterHistory(mulberry32(seed), { ops: 5_000, crashRate: 0.01, staleReadRate: 0.02, values: 50 })
    expect(checkHistory(casRegister(), h).verdict).toBe("invalid")
  })
  it("small generated histories agree with brute force", () => {
    for (let seed = 0; seed < 200; seed++) {
      const h = generateRegisterHistory(mulberry32(seed), { ops: 8, processes: 3, crashRate: 0.2, staleReadRate: 0.3, values: 3 })
      const m = casRegister()
      const ops = toOperations(m, h)
      expect(checkOperations(m, ops).verdict).toBe(bruteForceCheck(m, ops).verdict)
    }
  })
})

describe("user models", () => {
  // A counter that can be incremented and read, written as a user would.
  const counter: Model<number, { f: "inc" | "read" }, number> = {
    name: "counter",
    init: () => 0,
    step: (s, i, o) => (i.f === "inc" ? s + 1 : o === Unknown || o === s ? s : undefined),
    equal: (a, b) => a === b,
    hash: (s) => s
  }
  const op = (
    id: number,
    call: number,
    ret: number,
    f: "inc" | "read",
    output: number | typeof Unknown = 0
  ): Operation<{ f: "inc" | "read" }, number> => ({
    id,
    process: id,
    call,
    ret,
    input: { f },
    output
  })
  it("checks a custom model on operations given directly", () => {
    const ok = [op(0, 0, 3, "inc"), op(1, 1, 4, "inc"), op(2, 5, 6, "read", 2)]
    expect(checkOperations(counter, ok).verdict).toBe("valid")
    expect(checkOperations(counter, [...ok.slice(0, 2), op(2, 5, 6, "read", 1)]).verdict).toBe("invalid")
    // A read overlapping the increments may see 1.
    expect(checkOperations(counter, [...ok.slice(0, 2), op(2, 2, 6, "read", 1)]).verdict).toBe("valid")
  })
  it("powerset lifts a non-deterministic model (an inc that may add 1 or 2)", () => {
    const fuzzy = powerset<number, { f: "inc" | "read" }, number>({
      ...counter,
      init: () => [0],
      step: (s, i, o) => (i.f === "inc" ? [s + 1, s + 2] : o === Unknown || o === s ? [s] : [])
    })
    expect(checkOperations(fuzzy, [op(0, 0, 1, "inc"), op(1, 2, 3, "read", 2)]).verdict).toBe("valid")
    expect(checkOperations(fuzzy, [op(0, 0, 1, "inc"), op(1, 2, 3, "read", 3)]).verdict).toBe("invalid")
  })
})
