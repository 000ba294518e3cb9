/**
 * Generated client histories, for benchmarks and tests of long runs: a
 * simulated linearizable register store (single register, or several keys
 * as Jepsen `independent` tuples) driven by concurrent processes, with
 * crashed (info) ops that may or may not apply, failed ops, and optionally
 * injected stale reads that make the history non-linearizable.
 *
 * Pure: randomness comes from the `random` argument (values in [0, 1)).
 */
import type { Op, Value } from "./op.ts"

export interface GenerateOptions {
  /** Client ops (invocations) to generate. */
  readonly ops: number
  readonly processes?: number
  /** 0 = one register with plain values; k > 0 = k keys as [key value] tuples. */
  readonly keys?: number
  /** Share of ops that crash (complete with :info). */
  readonly crashRate?: number
  /** Share of reads that return a stale value (makes the history invalid). */
  readonly staleReadRate?: number
  /** Distinct values written. */
  readonly values?: number
  /** Mix of reads, writes and cas. */
  readonly readShare?: number
  readonly casShare?: number
}

/** A small seeded PRNG (mulberry32) for callers without one. */
export const mulberry32 = (seed: number): (() => number) => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

interface Pending {
  readonly process: number
  readonly f: "read" | "write" | "cas"
  readonly key: number
  readonly arg: Value
  applied: boolean
  result: Value
  failed: boolean
  readonly crash: boolean
}

/** Generates a history; with `staleReadRate` 0 it is linearizable by construction. */
export const generateRegisterHistory = (random: () => number, options: GenerateOptions): Array<Op> => {
  const processes = options.processes ?? 5
  const keys = options.keys ?? 0
  const crashRate = options.crashRate ?? 0
  const staleRate = options.staleReadRate ?? 0
  const nValues = options.values ?? 5
  const readShare = options.readShare ?? 0.5
  const casShare = options.casShare ?? 0.2
  const pick = (n: number) => Math.floor(random() * n)

  const state: Array<Value> = new Array(Math.max(keys, 1)).fill(null)
  const previous: Array<Value> = new Array(Math.max(keys, 1)).fill(null)
  const history: Array<Op> = []
  const slots: Array<Pending | undefined> = new Array(processes).fill(undefined)
  const procId: Array<number> = Array.from({ length: processes }, (_, i) => i)
  let nextProc = processes
  let invoked = 0
  let time = 0
  const wrap = (key: number, v: Value): Value => (keys > 0 ? [key, v] : v)
  const emit = (process: number, type: Op["type"], f: string, value: Value) => {
    time += 1 + pick(1000)
    history.push({ index: history.length, process, type, f, value, time: time * 1000 })
  }

  for (;;) {
    const busy = slots.some((s) => s !== undefined)
    if (invoked >= options.ops && !busy) break
    const slot = pick(processes)
    const p = slots[slot]
    if (p === undefined) {
      if (invoked >= options.ops) continue
      invoked++
      const r = random()
      const key = keys > 0 ? pick(keys) : 0
      const f = r < readShare ? "read" : r < readShare + casShare ? "cas" : "write"
      const arg: Value = f === "read" ? null : f === "write" ? pick(nValues) : [pick(nValues), pick(nValues)]
      slots[slot] = { process: procId[slot]!, f, key, arg, applied: false, result: null, failed: false, crash: random() < crashRate }
      emit(procId[slot]!, "invoke", f, wrap(key, arg))
    } else if (!p.applied) {
      // The linearization point: apply to the real state. A crash may strike
      // before it (the op never happens) or after.
      if (p.crash && random() < 0.5) {
        emit(p.process, "info", p.f, wrap(p.key, p.arg))
        slots[slot] = undefined
        procId[slot] = nextProc++
        continue
      }
      p.applied = true
      const cur = state[p.key]!
      if (p.f === "read") p.result = staleRate > 0 && random() < staleRate ? previous[p.key]! : cur
      else if (p.f === "write") {
        previous[p.key] = cur
        state[p.key] = p.arg
        p.result = p.arg
      } else {
        const [from, to] = p.arg as ReadonlyArray<Value>
        if (cur === from) {
          previous[p.key] = cur
          state[p.key] = to!
        } else p.failed = true
        p.result = p.arg
      }
    } else {
      if (p.crash) {
        emit(p.process, "info", p.f, wrap(p.key, p.arg))
        procId[slot] = nextProc++
      } else emit(p.process, p.failed ? "fail" : "ok", p.f, wrap(p.key, p.result))
      slots[slot] = undefined
    }
  }
  return history
}
