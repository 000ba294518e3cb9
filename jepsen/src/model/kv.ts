/**
 * A key-value store checked one key at a time (P-compositionality):
 * - Jepsen `independent` ops: `:f :read/:write/:cas` with value `[key v]`,
 *   each key a cas-register;
 * - Porcupine's kv ops: `:f :get/:put/:append` with `:key k`, each key a
 *   string (initially `""` in Porcupine's tests; pass `initial`).
 */
import type { Unknown as UnknownT } from "../checker/model.ts"
import { Unknown } from "../checker/model.ts"
import type { PairedOp, Value } from "../history/op.ts"
import type { HistoryModel } from "./history-model.ts"
import { keyword, outcome } from "./history-model.ts"
import { canonical, ValueTable } from "./intern.ts"
import type { RegisterInput, RegisterOutput } from "./register.ts"
import { describeRegisterOp, registerFromOp, registerStep } from "./register.ts"

export const APPEND = 3

export interface KvInput extends RegisterInput {
  readonly key: string
}

export interface KvOptions {
  /** Every key's initial value (default nil). */
  readonly initial?: Value
  readonly failedCas?: "did-not-happen" | "compare-failed"
}

const keyOf = (k: Value): string => (typeof k === "string" ? k : canonical(k))

export const kv = (options: KvOptions = {}): HistoryModel<number, KvInput, RegisterOutput> => {
  const values = new ValueTable()
  const initial = values.id(options.initial ?? null)
  const failedCas = options.failedCas ?? "did-not-happen"
  // appended[token].get(state): the state after appending, memoised.
  const appended: Array<Map<number, number>> = []
  const append = (s: number, token: number): number => {
    const memo = (appended[token] ??= new Map())
    let r = memo.get(s)
    if (r === undefined) {
      r = values.concat(s, token)
      memo.set(s, r)
    }
    return r
  }
  return {
    name: "kv",
    init: () => initial,
    step: (s, input, out) => (input.f === APPEND ? append(s, input.a) : registerStep(s, input, out)),
    equal: (a, b) => a === b,
    hash: (s) => s,
    readOnly: (i) => i.f === 0,
    partition: (i) => i.key,
    describeOperation: (i, o) =>
      `${JSON.stringify(i.key)}: ${i.f === APPEND ? `append ${JSON.stringify(values.value(i.a))}` : describeRegisterOp(values, i, o)}`,
    describeState: (s) => JSON.stringify(values.value(s)),
    fromOp: (p: PairedOp): { input: KvInput; output: RegisterOutput | UnknownT } | undefined => {
      const f = keyword(p.invoke.f)
      const result = outcome(p)
      if (p.invoke.key !== undefined) {
        // Porcupine style: the key is a field of its own.
        const key = keyOf(p.invoke.key)
        if (f === "append") {
          if (result === "fail") return undefined
          return { input: { key, f: APPEND, a: values.id(p.invoke.value), b: 0 }, output: null }
        }
        const r = registerFromOp(values, f, p.invoke.value, p.completion?.value ?? null, result, failedCas, true)
        return r === undefined ? undefined : { input: { ...r.input, key }, output: r.output }
      }
      // Jepsen independent: value is a [key v] tuple.
      const tuple = p.invoke.value
      if (!Array.isArray(tuple) || tuple.length !== 2) throw new TypeError(`kv op value must be [key value], got ${JSON.stringify(tuple)}`)
      const key = keyOf(tuple[0] as Value)
      const done = p.completion?.value
      const okValue = Array.isArray(done) && done.length === 2 ? (done[1] as Value) : null
      if (f === "append") {
        if (result === "fail") return undefined
        return { input: { key, f: APPEND, a: values.id(tuple[1] as Value), b: 0 }, output: null }
      }
      const r = registerFromOp(values, f, tuple[1] as Value, okValue, result, failedCas, true)
      return r === undefined ? undefined : { input: { ...r.input, key }, output: r.output === Unknown ? Unknown : r.output }
    }
  }
}
