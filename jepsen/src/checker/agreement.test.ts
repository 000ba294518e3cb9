/**
 * Property: the WGL checker agrees with the brute-force definition on
 * thousands of small random histories, for every built-in model. Histories
 * come from a reference implementation run at random linearization points
 * (so many are valid), with one output sometimes corrupted (so many are not);
 * some ops crash (info) and may or may not have applied.
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import type { Op, Value } from "../history/op.ts"
import { toOperations } from "../model/history-model.ts"
import type { ModelName } from "../model/registry.ts"
import { makeModel } from "../model/registry.ts"
import { bruteForceCheck } from "./brute-force.ts"
import { checkOperations } from "./linearizability.ts"
import type { Model, Operation } from "./model.ts"
import { searchLinearization } from "./wgl.ts"

interface Desc {
  readonly kind: number
  readonly a: number
  readonly b: number
  readonly key: number
  readonly start: number
  readonly len: number
  readonly lp: number
  readonly outcome: "ok" | "info" | "open"
  readonly applied: boolean
}

const desc = fc.record({
  kind: fc.nat(2),
  a: fc.nat(2),
  b: fc.nat(2),
  key: fc.nat(1),
  start: fc.nat(12),
  len: fc.nat(6),
  lp: fc.double({ min: 0.01, max: 0.99, noNaN: true }),
  outcome: fc.constantFrom<Desc["outcome"]>("ok", "ok", "ok", "ok", "info", "open"),
  applied: fc.boolean()
})

/** What the reference implementation does with one op: its f, invoke value and result. */
type Reference = () => (d: Desc, i: number, dry?: boolean) => { f: string; value: Value; result: Value; fail?: boolean }

const registerRef =
  (withCas: boolean): Reference =>
  () => {
    let v: Value = null
    return (d, _i, dry) => {
      const kind = withCas ? d.kind : d.kind % 2
      if (kind === 0) return { f: "read", value: null, result: v }
      if (kind === 1) {
        if (!dry) v = d.a
        return { f: "write", value: d.a, result: d.a }
      }
      if (v === d.a) {
        if (!dry) v = d.b
        return { f: "cas", value: [d.a, d.b], result: [d.a, d.b] }
      }
      return { f: "cas", value: [d.a, d.b], result: [d.a, d.b], fail: true }
    }
  }

const kvRef: Reference = () => {
  const regs = [registerRef(true)(), registerRef(true)()]
  return (d, i, dry) => {
    const k = d.key === 0 ? "x" : "y"
    const r = regs[d.key]!(d, i, dry)
    return { ...r, value: [k, r.value], result: [k, r.result] }
  }
}

const listRef: Reference = () => {
  const xs: Array<number> = []
  return (d, i, dry) => {
    if (d.kind === 0) return { f: "read", value: null, result: [...xs] }
    if (!dry) xs.push(i)
    return { f: "append", value: i, result: i }
  }
}

const setRef: Reference = () => {
  const xs = new Set<number>()
  return (d, _i, dry) => {
    if (d.kind === 0) return { f: "read", value: null, result: [...xs].sort() }
    if (!dry) xs.add(d.a)
    return { f: "add", value: d.a, result: d.a }
  }
}

const queueRef: Reference = () => {
  const xs: Array<number> = []
  return (d, i, dry) => {
    if (d.kind === 0) return { f: "dequeue", value: null, result: (dry ? xs[0] : xs.shift()) ?? null }
    if (!dry) xs.push(i)
    return { f: "enqueue", value: i, result: i }
  }
}

/** Changes a read result slightly. */
const corrupt = (v: Value, salt: number): Value => {
  if (Array.isArray(v)) return salt % 2 === 0 && v.length > 0 ? v.slice(0, -1) : [...v, salt % 3]
  if (v === null) return salt % 3
  return salt % 2 === 0 ? null : (Number(v) + 1 + salt) % 4
}

const buildHistory = (ref: Reference, ds: ReadonlyArray<Desc>, corruptAt: number | undefined): Array<Op> => {
  const apply = ref()
  type Ev = { t: number; i: number; op: Omit<Op, "index"> }
  const results = new Map<number, { f: string; value: Value; result: Value; fail?: boolean }>()
  // Run ops at their linearization points; crashed ops may not run at all.
  const order = ds.map((d, i) => ({ d, i, t: d.start + d.lp * (d.len + 0.5) })).sort((x, y) => x.t - y.t)
  for (const { d, i } of order) results.set(i, apply(d, i, d.outcome !== "ok" && !d.applied))
  // The corrupted op: the (corruptAt mod #reads)-th completed read.
  const reads = ds.map((_, i) => i).filter((i) => ds[i]!.outcome === "ok" && ["read", "dequeue"].includes(results.get(i)!.f))
  const victim = corruptAt === undefined || reads.length === 0 ? -1 : reads[corruptAt % reads.length]!
  const evs: Array<Ev> = []
  ds.forEach((d, i) => {
    const r = results.get(i)!
    evs.push({ t: d.start, i, op: { process: i, type: "invoke", f: r.f, value: r.value } })
    if (d.outcome === "open") return
    let result = r.result
    if (i === victim) {
      result = Array.isArray(result) && result.length === 2 && typeof result[0] === "string" ? [result[0], corrupt(result[1] as Value, i)] : corrupt(result, i)
    }
    const type = d.outcome === "info" ? "info" : r.fail ? "fail" : "ok"
    evs.push({ t: d.start + d.len + 0.5, i, op: { process: i, type, f: r.f, value: type === "ok" ? result : r.value } })
  })
  evs.sort((x, y) => x.t - y.t || x.i - y.i)
  return evs.map((e, index) => ({ ...e.op, index }))
}

/** Checks that `order` is a legal sequential execution respecting real time. */
const isLinearization = <S, I, O>(model: Model<S, I, O>, ops: ReadonlyArray<Operation<I, O>>, order: ReadonlyArray<number>) => {
  let s = model.init()
  const placed = new Set(order)
  for (let k = 0; k < order.length; k++) {
    const op = ops[order[k]!]!
    const t = model.step(s, op.input, op.output)
    if (t === undefined) return false
    s = t
    // No op placed later may have returned before this one was called.
    for (let j = k + 1; j < order.length; j++) if (ops[order[j]!]!.ret < op.call) return false
  }
  // Every op that returned is placed.
  return ops.every((op, i) => op.ret === Infinity || placed.has(i))
}

const refs: ReadonlyArray<readonly [ModelName, Reference]> = [
  ["register", registerRef(false)],
  ["cas-register", registerRef(true)],
  ["kv", kvRef],
  ["list-append", listRef],
  ["set", setRef],
  ["queue", queueRef]
]

describe("WGL agrees with brute force", () => {
  for (const [name, ref] of refs) {
    it(`${name}: 1000 random histories`, () => {
      const counts = { valid: 0, invalid: 0 }
      fc.assert(
        fc.property(fc.array(desc, { minLength: 1, maxLength: 7 }), fc.option(fc.nat(6), { freq: 4 }), (ds, corruptAt) => {
          const history = buildHistory(ref, ds, corruptAt ?? undefined)
          const model = makeModel(name)
          const ops = toOperations(model, history)
          const fast = checkOperations(model, ops)
          const slow = bruteForceCheck(model, ops)
          expect(fast.verdict).toBe(slow.verdict)
          expect(checkOperations(model, ops, { noCache: true }).verdict).toBe(slow.verdict)
          counts[fast.verdict === "valid" ? "valid" : "invalid"]++
          if (model.partition === undefined) {
            const relevant = ops.filter((o) => !(o.output !== null && typeof o.output === "symbol" && model.readOnly?.(o.input)))
            const r = searchLinearization(model, relevant)
            if (r.verdict === "valid") expect(isLinearization(model, relevant, r.order)).toBe(true)
          }
        }),
        { numRuns: 1000, seed: 42 }
      )
      // Both verdicts are common, so the agreement is not vacuous.
      expect(counts.valid).toBeGreaterThan(100)
      expect(counts.invalid).toBeGreaterThan(100)
    })
  }

  it("the linearization check rejects a wrong order (so it is not vacuous)", () => {
    const model = makeModel("register")
    const history = buildHistory(registerRef(false), [
      { kind: 1, a: 1, b: 0, key: 0, start: 0, len: 1, lp: 0.5, outcome: "ok", applied: true },
      { kind: 0, a: 0, b: 0, key: 0, start: 5, len: 1, lp: 0.5, outcome: "ok", applied: true }
    ], undefined)
    const ops = toOperations(model, history)
    expect(isLinearization(model, ops, [0, 1])).toBe(true)
    expect(isLinearization(model, ops, [1, 0])).toBe(false)
    expect(isLinearization(model, ops, [0])).toBe(false)
  })
})
