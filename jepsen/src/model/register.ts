/**
 * Registers: `register` (read, write) and `cas-register` (read, write,
 * cas [from to]), Jepsen's and Knossos's classic models. Values are interned,
 * so the state is a small integer.
 *
 * Failed CAS: Jepsen's default is that a `:fail` op did not happen, so it is
 * dropped. Porcupine's etcd histories mean "the compare failed", a
 * determinate answer the model checks (`failedCas: "compare-failed"`).
 */
import type { Unknown as UnknownT } from "../checker/model.ts"
import { Unknown } from "../checker/model.ts"
import type { PairedOp, Value } from "../history/op.ts"
import type { HistoryModel } from "./history-model.ts"
import { keyword, outcome } from "./history-model.ts"
import { ValueTable } from "./intern.ts"

export const READ = 0
export const WRITE = 1
export const CAS = 2

export interface RegisterInput {
  readonly f: number
  /** read: unused; write: value id; cas: expected value id. */
  readonly a: number
  /** cas: new value id. */
  readonly b: number
}
/** read: the value id read; cas: whether it swapped; write: null. */
export type RegisterOutput = number | boolean | null

export interface RegisterOptions {
  readonly initial?: Value
  readonly failedCas?: "did-not-happen" | "compare-failed"
}

/** The step shared by registers and per-key kv states. */
export const registerStep = (s: number, input: RegisterInput, out: RegisterOutput | UnknownT): number | undefined => {
  switch (input.f) {
    case READ:
      return out === Unknown || out === s ? s : undefined
    case WRITE:
      return input.a
    default:
      if (out === Unknown) return s === input.a ? input.b : s
      if (out === true) return s === input.a ? input.b : undefined
      return s !== input.a ? s : undefined
  }
}

export const describeRegisterOp = (values: ValueTable, input: RegisterInput, out: RegisterOutput | UnknownT): string => {
  const v = (id: number) => JSON.stringify(values.value(id))
  switch (input.f) {
    case READ:
      return `read -> ${out === Unknown ? "?" : v(out as number)}`
    case WRITE:
      return `write ${v(input.a)}`
    default:
      return `cas ${v(input.a)} -> ${v(input.b)}: ${out === Unknown ? "?" : out ? "ok" : "failed"}`
  }
}

/** Converts one register op (f read/write/cas, value as Jepsen writes it). */
export const registerFromOp = (
  values: ValueTable,
  f: string,
  invokeValue: Value,
  okValue: Value,
  result: "ok" | "fail" | "unknown",
  failedCas: "did-not-happen" | "compare-failed",
  allowCas: boolean
): { input: RegisterInput; output: RegisterOutput | UnknownT } | undefined => {
  switch (f) {
    case "read":
    case "get":
      if (result === "fail") return undefined
      return { input: { f: READ, a: 0, b: 0 }, output: result === "ok" ? values.id(okValue) : Unknown }
    case "write":
    case "put":
      if (result === "fail") return undefined
      return { input: { f: WRITE, a: values.id(invokeValue), b: 0 }, output: null }
    case "cas": {
      if (!allowCas) throw new TypeError("this model has no cas; use cas-register")
      if (!Array.isArray(invokeValue) || invokeValue.length !== 2) throw new TypeError(`cas value must be [from to], got ${JSON.stringify(invokeValue)}`)
      const input = { f: CAS, a: values.id(invokeValue[0] as Value), b: values.id(invokeValue[1] as Value) }
      if (result === "fail") return failedCas === "compare-failed" ? { input, output: false } : undefined
      return { input, output: result === "ok" ? true : Unknown }
    }
    default:
      throw new TypeError(`unknown register op :${f}`)
  }
}

const makeRegister = (name: string, allowCas: boolean, options: RegisterOptions): HistoryModel<number, RegisterInput, RegisterOutput> => {
  const values = new ValueTable()
  const initial = values.id(options.initial ?? null)
  const failedCas = options.failedCas ?? "did-not-happen"
  return {
    name,
    init: () => initial,
    step: registerStep,
    equal: (a, b) => a === b,
    hash: (s) => s,
    readOnly: (i) => i.f === READ,
    describeOperation: (i, o) => describeRegisterOp(values, i, o),
    describeState: (s) => JSON.stringify(values.value(s)),
    fromOp: (p: PairedOp) => registerFromOp(values, keyword(p.invoke.f), p.invoke.value, p.completion?.value ?? null, outcome(p), failedCas, allowCas)
  }
}

/** A read/write register. */
export const register = (options: RegisterOptions = {}) => makeRegister("register", false, options)

/** A read/write/compare-and-set register. */
export const casRegister = (options: RegisterOptions = {}) => makeRegister("cas-register", true, options)
