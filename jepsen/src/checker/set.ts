/**
 * Jepsen's set checker: clients add unique elements, then one final read
 * returns everything. Every acknowledged add must be in the read (else
 * lost); nothing may appear that no one tried to add (unexpected) or appear
 * twice (duplicated). Adds that crashed (info) may go either way
 * (recovered if present).
 */
import type { Op, Value } from "../history/op.ts"
import { pairOps } from "../history/op.ts"
import { canonical } from "../model/intern.ts"

export interface SetCheckResult {
  readonly verdict: "valid" | "invalid" | "unknown"
  readonly attempted: number
  readonly acknowledged: number
  readonly lost: ReadonlyArray<Value>
  readonly unexpected: ReadonlyArray<Value>
  readonly duplicated: ReadonlyArray<Value>
  /** Indeterminate adds found in the read. */
  readonly recovered: ReadonlyArray<Value>
  readonly reason?: string
}

export interface SetCheckOptions {
  readonly addF?: string
  readonly readF?: string
}

export const checkSet = (history: ReadonlyArray<Op>, options: SetCheckOptions = {}): SetCheckResult => {
  const addF = options.addF ?? "add"
  const readF = options.readF ?? "read"
  const attempted = new Map<string, Value>()
  const acked = new Map<string, Value>()
  let finalRead: ReadonlyArray<Value> | undefined
  for (const p of pairOps(history)) {
    if (p.invoke.f === addF) {
      const k = canonical(p.invoke.value)
      if (p.completion?.type !== "fail") attempted.set(k, p.invoke.value)
      if (p.completion?.type === "ok") acked.set(k, p.invoke.value)
    } else if (p.invoke.f === readF && p.completion?.type === "ok") {
      const v = p.completion.value
      finalRead = Array.isArray(v) ? (v as ReadonlyArray<Value>) : v === null ? [] : [v]
    }
  }
  const empty = { attempted: attempted.size, acknowledged: acked.size, lost: [], unexpected: [], duplicated: [], recovered: [] }
  if (finalRead === undefined) return { verdict: "unknown", ...empty, reason: "no successful read" }
  const seen = new Map<string, number>()
  for (const v of finalRead) {
    const k = canonical(v)
    seen.set(k, (seen.get(k) ?? 0) + 1)
  }
  const lost = [...acked].filter(([k]) => !seen.has(k)).map(([, v]) => v)
  const unexpected = finalRead.filter((v) => !attempted.has(canonical(v)))
  const duplicated = [...seen].filter(([, n]) => n > 1).map(([k]) => JSON.parse(k) as Value)
  const recovered = [...attempted].filter(([k]) => !acked.has(k) && seen.has(k)).map(([, v]) => v)
  return {
    verdict: lost.length === 0 && unexpected.length === 0 && duplicated.length === 0 ? "valid" : "invalid",
    attempted: attempted.size,
    acknowledged: acked.size,
    lost,
    unexpected,
    duplicated,
    recovered
  }
}
