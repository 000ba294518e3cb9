/**
 * Transactional ids' records in the cluster's Raft KV, one key each:
 * `\u0000ltx/<transactional id>`. Every write is a compare-and-set on the
 * revision read, so two nodes acting on one id (a coordinator and the
 * group coordinator that takes TxnOffsetCommit, or two nodes that briefly
 * disagree on the brokers) never overwrite each other's decision: the one
 * that loses reads again and decides again.
 */
import { Data, Effect } from "effect"
import { InvariantViolation } from "../../invariant/invariant.ts"
import type { KvAmbiguousError, KvClient, KvUnavailableError } from "../../kv/client.ts"
import { scanRange } from "../../kv/range-scan.ts"
import { decodeTxnRecord, encodeTxnRecord, type TxnRecord } from "./txn-record.ts"

export const TXN_PREFIX = "\u0000ltx/"
const TXN_END = "\u0000ltx0" // "0" follows "/": the first key past the prefix
export const txnKey = (transactionalId: string): string => `${TXN_PREFIX}${transactionalId}`

export class TxnStoreError extends Data.TaggedError("TxnStoreError")<{
  readonly reason: "unavailable" | "ambiguous" | "refused" | "corrupt"
  readonly message: string
}> {}

export interface StoredTxn {
  readonly record: TxnRecord
  readonly revision: number
}

const failed = (e: KvAmbiguousError | KvUnavailableError) =>
  new TxnStoreError({ reason: e._tag === "KvAmbiguousError" ? "ambiguous" : "unavailable", message: e.message })

const decode = (key: string, value: Uint8Array): Effect.Effect<TxnRecord, TxnStoreError> => {
  const record = decodeTxnRecord(value)
  return record === undefined ? Effect.fail(new TxnStoreError({ reason: "corrupt", message: `${JSON.stringify(key)} is not a transaction record` })) : Effect.succeed(record)
}

export const makeTxnStore = (kv: KvClient) => {
  const read = (transactionalId: string): Effect.Effect<StoredTxn | undefined, TxnStoreError> =>
    Effect.gen(function*() {
      const key = txnKey(transactionalId)
      const r = yield* Effect.mapError(kv.read({ op: "get", key }), failed)
      if (r.type !== "get") return yield* Effect.die(new InvariantViolation(`read transaction: ${r.type}`))
      if (!r.found) return undefined
      return { record: yield* decode(key, r.value), revision: r.revision }
    })

  /** Writes the record if the key is still at `expected` ("absent": never written): the new revision, or "conflict". */
  const write = (transactionalId: string, record: TxnRecord, expected: number | "absent"): Effect.Effect<number | "conflict", TxnStoreError> =>
    Effect.gen(function*() {
      const r = yield* Effect.mapError(kv.write({ op: "cas", key: txnKey(transactionalId), expected, value: encodeTxnRecord(record) }), failed)
      if (r.type === "error") return yield* new TxnStoreError({ reason: "refused", message: r.message })
      if (r.type !== "cas") return yield* Effect.die(new InvariantViolation(`write transaction: ${r.type}`))
      return r.ok ? r.revision : "conflict"
    })

  /** Every transactional id and its record, in key order. */
  const list: Effect.Effect<ReadonlyArray<{ readonly transactionalId: string; readonly record: TxnRecord }>, TxnStoreError> = Effect.gen(function*() {
    const items = yield* Effect.mapError(scanRange(kv, TXN_PREFIX, TXN_END), failed)
    const out: Array<{ transactionalId: string; record: TxnRecord }> = []
    for (const item of items) out.push({ transactionalId: item.key.slice(TXN_PREFIX.length), record: yield* decode(item.key, item.value) })
    return out
  })

  return { read, write, list }
}

export type TxnStore = ReturnType<typeof makeTxnStore>
