/**
 * A counter checker (after Jepsen's): clients `add` non-negative amounts and
 * `read` the total. Each read must lie between the sum of adds acknowledged
 * before the read began and the sum of adds attempted (ok, info or still
 * open) before it ended. With `monotonic`, a read that begins after another
 * read ended must not see a smaller value.
 */
import type { Op, PairedOp } from "../history/op.ts"
import { pairOps } from "../history/op.ts"

export interface CounterError {
  readonly index: number
  readonly value: number
  readonly lower: number
  readonly upper: number
  readonly kind: "out-of-bounds" | "went-backwards"
}

export interface CounterCheckResult {
  readonly verdict: "valid" | "invalid"
  readonly reads: number
  readonly errors: ReadonlyArray<CounterError>
}

export const checkCounter = (
  history: ReadonlyArray<Op>,
  options: { readonly monotonic?: boolean; readonly initial?: number } = {}
): CounterCheckResult => {
  const initial = options.initial ?? 0
  const pairs = pairOps(history)
  const byInvoke = new Map<number, PairedOp>()
  const byCompletion = new Map<number, PairedOp>()
  for (const p of pairs) {
    byInvoke.set(p.invoke.index, p)
    if (p.completion) byCompletion.set(p.completion.index, p)
  }
  // Sweep in history order: the lower bound grows when an add is
  // acknowledged, the upper bound when an add that did not fail is invoked.
  let lower = initial
  let upper = initial
  const lowerAtStart = new Map<number, number>()
  const errors: Array<CounterError> = []
  let reads = 0
  // For monotonicity: reads completed so far (value, end), and the largest
  // value among those that ended before a given read began.
  const floorAtStart = new Map<number, number>()
  let maxCompleted = -Infinity
  for (const op of history) {
    if (op.type === "invoke") {
      const p = byInvoke.get(op.index)
      if (p === undefined) continue
      if (op.f === "add" && p.completion?.type !== "fail") upper += Number(op.value)
      if (op.f === "read") {
        lowerAtStart.set(op.index, lower)
        floorAtStart.set(op.index, maxCompleted)
      }
      continue
    }
    const p = byCompletion.get(op.index)
    if (p === undefined || op.type !== "ok") continue
    if (op.f === "add") lower += Number(p.invoke.value)
    else if (op.f === "read") {
      reads++
      const v = Number(op.value)
      const lo = lowerAtStart.get(p.invoke.index)!
      if (v < lo || v > upper) errors.push({ index: op.index, value: v, lower: lo, upper, kind: "out-of-bounds" })
      const floor = floorAtStart.get(p.invoke.index)!
      if (options.monotonic && v < floor) errors.push({ index: op.index, value: v, lower: floor, upper, kind: "went-backwards" })
      if (v > maxCompleted) maxCompleted = v
    }
  }
  return { verdict: errors.length === 0 ? "valid" : "invalid", reads, errors }
}
