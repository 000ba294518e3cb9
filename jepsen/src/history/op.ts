/**
 * The history model: operations as Jepsen records them. A history is a list
 * of events; each client op appears twice, as an `invoke` and then as a
 * completion (`ok`, `fail` or `info`) from the same process.
 *
 * - `ok`: the op took effect and `value` is its result.
 * - `fail`: the op certainly did not take effect.
 * - `info`: indeterminate (a timeout, a crash): it may or may not have taken
 *   effect, at any moment after its invocation, up to the end of the history.
 *
 * Keywords from EDN histories become plain strings (`:read` -> `"read"`), which
 * is also how Jepsen writes histories as JSON.
 */
import { Data } from "effect"

/** A history value: what EDN and JSON can both express. */
export type Value = null | boolean | number | string | ReadonlyArray<Value> | { readonly [key: string]: Value }

export type OpType = "invoke" | "ok" | "fail" | "info"

export interface Op {
  /** Position in the history, 0-based; defines real-time order. */
  readonly index: number
  /** Client process id (number), or a name such as `"nemesis"`. */
  readonly process: number | string
  readonly type: OpType
  readonly f: string
  readonly value: Value
  /** Time of the event (Jepsen: ns since the test started), if recorded. */
  readonly time?: number | undefined
  /** Porcupine's kv logs carry a key beside the value. */
  readonly key?: Value | undefined
  readonly error?: Value | undefined
}

export const isOpType = (s: unknown): s is OpType => s === "invoke" || s === "ok" || s === "fail" || s === "info"

/** Renumbers `index` to the position in the array (histories read from files may lack it). */
export const reindex = (ops: ReadonlyArray<Omit<Op, "index"> & { readonly index?: number }>): Array<Op> =>
  ops.map((op, index) => ({ ...op, index }))

/** A client op matched with its completion; `completion` is absent when the history ends first. */
export interface PairedOp {
  readonly invoke: Op
  readonly completion: Op | undefined
}

/** True for an op that may or may not have happened: `info`, or never completed. */
export const isIndeterminate = (p: PairedOp): boolean => p.completion === undefined || p.completion.type === "info"

/**
 * Matches each invoke with the next completion of the same process (a process
 * runs one op at a time). Nemesis and other non-client processes (string ids
 * other than numeric strings) are ignored; see `nemesisOps`. A completion with
 * no open invoke is an error in the history.
 */
export const pairOps = (history: ReadonlyArray<Op>): Array<PairedOp> => {
  const open = new Map<number | string, number>()
  const out: Array<{ invoke: Op; completion: Op | undefined }> = []
  for (const op of history) {
    if (!isClientProcess(op.process)) continue
    if (op.type === "invoke") {
      const prev = open.get(op.process)
      if (prev !== undefined) {
        throw new HistoryError({
          message: `process ${String(op.process)} invoked op ${op.index} while op ${out[prev]!.invoke.index} was still open`
        })
      }
      open.set(op.process, out.length)
      out.push({ invoke: op, completion: undefined })
    } else {
      const at = open.get(op.process)
      if (at === undefined) {
        throw new HistoryError({ message: `completion at index ${op.index} (process ${String(op.process)}) has no open invoke` })
      }
      out[at]!.completion = op
      open.delete(op.process)
    }
  }
  return out
}

export const isClientProcess = (p: number | string): boolean => typeof p === "number"

/** Ops of the nemesis process (fault injection), in order. */
export const nemesisOps = (history: ReadonlyArray<Op>): Array<Op> => history.filter((op) => !isClientProcess(op.process))

/** A malformed history: a completion without an invoke, an unreadable line. */
export class HistoryError extends Data.TaggedError("HistoryError")<{ readonly message: string }> {}
