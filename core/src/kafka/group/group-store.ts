/**
 * Groups' records in the cluster's Raft KV, one key per group:
 * `\u0000lg/<group>` (the leading NUL keeps Cairn's own records apart from
 * users' keys, as the log's topics and offsets are). Every write is a
 * compare-and-set on the revision the coordinator loaded or last wrote:
 * if another node has written the group since (two nodes that briefly
 * disagree on who coordinates it), the write fails and this coordinator
 * drops its copy instead of overwriting a newer generation.
 */
import { Data, Effect } from "effect"
import { InvariantViolation } from "../../invariant/invariant.ts"
import type { KvAmbiguousError, KvClient, KvUnavailableError } from "../../kv/client.ts"
import { scanRange } from "../../kv/range-scan.ts"
import { decodeGroupRecord, encodeGroupRecord, GroupRecordDecodeError, type GroupRecord } from "./group-record.ts"

export const GROUP_PREFIX = "\u0000lg/"
export const groupKey = (groupId: string): string => `${GROUP_PREFIX}${groupId}`

/** The KV did not take or answer the request (`ambiguous`: a write may still have landed), or refused it (`refused`: e.g. too large). */
export class GroupStoreError extends Data.TaggedError("GroupStoreError")<{
  readonly reason: "unavailable" | "ambiguous" | "refused" | "corrupt"
  readonly message: string
}> {}

/** The revision of a stored record, or "absent" for a group never written. */
export type Revision = number | "absent"

export interface StoredGroup {
  readonly record: GroupRecord
  readonly revision: number
}

const failed = (e: KvAmbiguousError | KvUnavailableError) =>
  new GroupStoreError({ reason: e._tag === "KvAmbiguousError" ? "ambiguous" : "unavailable", message: e.message })

const decode = (key: string, value: Uint8Array): Effect.Effect<GroupRecord, GroupStoreError> =>
  Effect.try({
    try: () => decodeGroupRecord(value),
    catch: (e) => new GroupStoreError({ reason: "corrupt", message: `${key}: ${e instanceof GroupRecordDecodeError ? e.message : String(e)}` })
  })

export const makeGroupStore = (kv: KvClient) => {
  const read = (groupId: string): Effect.Effect<StoredGroup | undefined, GroupStoreError> =>
    Effect.gen(function*() {
      const key = groupKey(groupId)
      const r = yield* Effect.mapError(kv.read({ op: "get", key }), failed)
      if (r.type !== "get") return yield* Effect.die(new InvariantViolation(`read group: ${r.type}`))
      if (!r.found) return undefined
      return { record: yield* decode(key, r.value), revision: r.revision }
    })

  /** Writes (or with `record` undefined deletes) the group if it is still at `expected`: the new revision, or "conflict". */
  const write = (groupId: string, record: GroupRecord | undefined, expected: Revision): Effect.Effect<number | "conflict", GroupStoreError> =>
    Effect.gen(function*() {
      const value = record === undefined ? undefined : encodeGroupRecord(record)
      const r = yield* Effect.mapError(kv.write({ op: "cas", key: groupKey(groupId), expected, value }), failed)
      if (r.type === "error") return yield* new GroupStoreError({ reason: "refused", message: r.message })
      if (r.type !== "cas") return yield* Effect.die(new InvariantViolation(`write group: ${r.type}`))
      return r.ok ? r.revision : "conflict"
    })

  /** Every stored group id (and its record), in key order. */
  const list: Effect.Effect<ReadonlyArray<{ readonly groupId: string; readonly record: GroupRecord }>, GroupStoreError> = Effect.gen(function*() {
    const end = "\u0000lg0" // "0" follows "/": the first key past the prefix
    const items = yield* Effect.mapError(scanRange(kv, GROUP_PREFIX, end), failed)
    const out: Array<{ groupId: string; record: GroupRecord }> = []
    for (const item of items) out.push({ groupId: item.key.slice(GROUP_PREFIX.length), record: yield* decode(item.key, item.value) })
    return out
  })

  return { read, write, list }
}

export type GroupStore = ReturnType<typeof makeGroupStore>
