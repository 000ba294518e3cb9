/**
 * The cluster's erasure scheme as the object layer stored it when the
 * first object was written (K+M, fixed from then on), read, never chosen:
 * the console must not be the one to pick it.
 */
import type { KvClient } from "@cairn/core/kv/client"
import { SCHEME_KEY } from "@cairn/core/object/object-node"
import { Effect, Result } from "effect"

export interface SchemeReading {
  readonly scheme: string | null
  readonly note?: string
}

export type ReadScheme = () => Promise<SchemeReading>

export const schemeReader = (kv: KvClient, memberCount: () => number): ReadScheme => async () => {
  const read = await Effect.runPromise(Effect.result(kv.read({ op: "get", key: SCHEME_KEY })))
  if (Result.isFailure(read)) return { scheme: null, note: `cannot be read now (${read.failure.message})` }
  const got = read.success
  if (got.type === "get" && got.found) return { scheme: new TextDecoder().decode(got.value) }
  return { scheme: null, note: memberCount() < 2 ? "none: one node keeps one copy" : "not chosen yet: it is fixed when the first object is written" }
}
