/**
 * Durability: every acknowledged write is still there at the end (after
 * faults heal and every node restarts). Writes are `[key value]` tuples (or
 * bare values, one key); `final` is what a full read at the end returned.
 *
 * - Collections (`final` values are arrays: appends, set adds): every
 *   acknowledged element must be present.
 * - Registers (`final` values are scalars): the final value must come from a
 *   write that was not over before the last acknowledged write to that key
 *   began (the last acknowledged write, or one concurrent with or after it;
 *   crashed writes count). Otherwise the acknowledged write was lost.
 */
import type { Op, Value } from "../history/op.ts"
import { pairOps } from "../history/op.ts"
import { canonical } from "../model/intern.ts"

export interface LostWrite {
  readonly key: string
  readonly value: Value
  /** History index of the write's invocation. */
  readonly index: number
  readonly found: Value
}

export interface DurabilityResult {
  readonly verdict: "valid" | "invalid"
  readonly acknowledged: number
  readonly lost: ReadonlyArray<LostWrite>
}

export interface DurabilityOptions {
  /** Fs that write (default: write, put, append, add). */
  readonly writeFs?: ReadonlyArray<string>
}

const split = (v: Value): [string, Value] =>
  Array.isArray(v) && v.length === 2 ? [typeof v[0] === "string" ? v[0] : canonical(v[0] as Value), v[1] as Value] : ["", v]

export const checkDurability = (
  history: ReadonlyArray<Op>,
  final: ReadonlyMap<string, Value>,
  options: DurabilityOptions = {}
): DurabilityResult => {
  const writeFs = new Set(options.writeFs ?? ["write", "put", "append", "add"])
  interface W {
    readonly value: Value
    readonly start: number
    readonly end: number
    readonly ok: boolean
  }
  const writes = new Map<string, Array<W>>()
  for (const p of pairOps(history)) {
    if (!writeFs.has(p.invoke.f) || p.completion?.type === "fail") continue
    const [key, value] = p.invoke.key !== undefined ? [split([p.invoke.key, null])[0], p.invoke.value] : split(p.invoke.value)
    const ws = writes.get(key) ?? []
    ws.push({ value, start: p.invoke.index, end: p.completion?.type === "ok" ? p.completion.index : Infinity, ok: p.completion?.type === "ok" })
    writes.set(key, ws)
  }
  const lost: Array<LostWrite> = []
  let acknowledged = 0
  for (const [key, ws] of writes) {
    const acked = ws.filter((w) => w.ok)
    acknowledged += acked.length
    if (acked.length === 0) continue
    const found = final.get(key) ?? null
    if (Array.isArray(found)) {
      const present = new Set((found as ReadonlyArray<Value>).map(canonical))
      for (const w of acked) if (!present.has(canonical(w.value))) lost.push({ key, value: w.value, index: w.start, found })
      continue
    }
    const lastStart = Math.max(...acked.map((w) => w.start))
    const survivors = new Set(ws.filter((w) => w.end > lastStart).map((w) => canonical(w.value)))
    if (!survivors.has(canonical(found))) {
      const last = acked.find((w) => w.start === lastStart)!
      lost.push({ key, value: last.value, index: last.start, found })
    }
  }
  return { verdict: lost.length === 0 ? "valid" : "invalid", acknowledged, lost }
}
