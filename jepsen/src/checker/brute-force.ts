/**
 * A reference checker that tries every linearization: no cache, no list
 * tricks, just the definition. Exponential; for tests on small histories
 * and as the naive baseline in the benchmark.
 *
 * An op may come next if no other pending required op returned before it
 * was called. Open (info) ops may be placed anywhere after their call, or
 * left out.
 */
import type { Model, Operation } from "./model.ts"
import { Unknown } from "./model.ts"

export interface BruteForceResult {
  readonly verdict: "valid" | "invalid" | "unknown"
  readonly steps: number
}

export const bruteForceCheck = <S, I, O>(
  model: Model<S, I, O>,
  allOps: ReadonlyArray<Operation<I, O>>,
  maxSteps = Infinity
): BruteForceResult => {
  // Read-only ops with unknown output change nothing; the real checker drops them too.
  const ro = model.readOnly
  const ops = ro === undefined ? allOps : allOps.filter((o) => !(o.output === Unknown && ro(o.input)))
  // Partitions are independent; check each (the definition, applied per key).
  const groups = new Map<unknown, Array<Operation<I, O>>>()
  for (const op of ops) {
    const k = model.partition ? model.partition(op.input) : undefined
    const g = groups.get(k) ?? []
    g.push(op)
    groups.set(k, g)
  }
  let steps = 0
  for (const g of groups.values()) {
    const n = g.length
    const done = new Array<boolean>(n).fill(false)
    let remaining = g.filter((o) => o.ret !== Infinity).length
    const search = (state: S): boolean | undefined => {
      if (remaining === 0) return true
      if (++steps > maxSteps) return undefined
      // The earliest return among pending required ops bounds what may come next.
      let minRet = Infinity
      for (let i = 0; i < n; i++) if (!done[i] && g[i]!.ret < minRet) minRet = g[i]!.ret
      for (let i = 0; i < n; i++) {
        const op = g[i]!
        if (done[i] || op.call > minRet) continue
        const next = model.step(state, op.input, op.output)
        if (next === undefined) continue
        done[i] = true
        if (op.ret !== Infinity) remaining--
        const r = search(next)
        done[i] = false
        if (op.ret !== Infinity) remaining++
        if (r !== false) return r
      }
      return false
    }
    const r = search(model.init())
    if (r === undefined) return { verdict: "unknown", steps }
    if (!r) return { verdict: "invalid", steps }
  }
  return { verdict: "valid", steps }
}
