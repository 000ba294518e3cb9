/**
 * Models that know how to read Jepsen ops: a `Model` plus `fromOp`, which
 * turns an invoke and its completion into the model's input and output.
 *
 * Default Jepsen meaning of completions (as Knossos reads them):
 * `ok` -> output observed; `fail` -> the op did not happen (dropped);
 * `info` or no completion -> open until the end, output unknown.
 */
import type { Model, Operation } from "../checker/model.ts"
import { Unknown } from "../checker/model.ts"
import type { Op, PairedOp } from "../history/op.ts"
import { pairOps } from "../history/op.ts"

export interface HistoryModel<State, Input, Output> extends Model<State, Input, Output> {
  /** Input and output for a client op, or `undefined` to drop it (it certainly did nothing). */
  readonly fromOp: (op: PairedOp) => { readonly input: Input; readonly output: Output | Unknown } | undefined
}

export type AnyHistoryModel = HistoryModel<unknown, unknown, unknown>

/** Pairs a history's client ops and converts them for `model`. */
export const toOperations = <S, I, O>(model: HistoryModel<S, I, O>, history: ReadonlyArray<Op>): Array<Operation<I, O>> => {
  const out: Array<Operation<I, O>> = []
  for (const p of pairOps(history)) {
    const conv = model.fromOp(p)
    if (conv === undefined) continue
    const c = p.completion
    const open = c === undefined || c.type === "info"
    out.push({
      id: p.invoke.index,
      process: p.invoke.process,
      call: p.invoke.index,
      ret: open ? Infinity : c.index,
      input: conv.input,
      output: open ? Unknown : conv.output
    })
  }
  return out
}

/** ok / fail / unknown, from the completion. */
export const outcome = (p: PairedOp): "ok" | "fail" | "unknown" =>
  p.completion === undefined || p.completion.type === "info" ? "unknown" : p.completion.type === "ok" ? "ok" : "fail"

export const keyword = (v: unknown): string => (typeof v === "string" ? v.replace(/^:/, "") : String(v))
