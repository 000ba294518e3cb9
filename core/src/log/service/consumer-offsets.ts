/**
 * Consumer group offsets in the cluster's Raft KV: per group, topic and
 * partition, the next offset the group will read and the client's metadata
 * string (what Kafka's OffsetCommit keeps). A commit is a compare-and-set,
 * durable and replicated once acknowledged; a fetch is a linearizable read.
 * Like Kafka, a commit may move an offset backwards (a consumer that seeks),
 * but each commit names its committer and a sequence number that grows with
 * each of its commits: a commit older than the stored one of the same
 * committer (a late copy of a request, an earlier attempt that arrived after
 * a retry) is acknowledged and changes nothing.
 *
 * Key: `\u0000lo/<group>\u0000<topic>\u0000<partition>` (NUL separators: any
 * character may appear in a group name; a topic name has no NUL, so a key
 * read back is split at its last two).
 */
import { Effect } from "effect"
import { InvariantViolation } from "../../invariant/invariant.ts"
import type { KvAmbiguousError, KvClient, KvUnavailableError } from "../../kv/client.ts"
import { scanRange } from "../../kv/range-scan.ts"
import { LogMetadataUnavailableError } from "../topics/topic-error.ts"

export const OFFSET_PREFIX = "\u0000lo/"
export const offsetKey = (group: string, topic: string, partition: number): string => `${OFFSET_PREFIX}${group}\u0000${topic}\u0000${partition}`
/** Every committed offset of every group: the keys from `OFFSET_PREFIX` up to this ("0" follows "/"). */
export const OFFSET_RANGE_END = "\u0000lo0"

export interface CommittedOffset {
  readonly offset: number
  readonly metadata: string
  readonly committer: string
  readonly seq: number
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

const unavailable = (e: KvAmbiguousError | KvUnavailableError) =>
  new LogMetadataUnavailableError({ message: e.message, ambiguous: e._tag === "KvAmbiguousError" })

export const makeConsumerOffsets = (kv: KvClient) => {
  const read = (key: string) =>
    Effect.flatMap(Effect.mapError(kv.read({ op: "get", key }), unavailable), (r) => {
      if (r.type !== "get") return Effect.die(new InvariantViolation(`fetch offset: ${r.type}`))
      return Effect.succeed(r.found ? { stored: JSON.parse(decoder.decode(r.value)) as CommittedOffset, revision: r.revision } : undefined)
    })

  const commit = (group: string, topic: string, partition: number, committed: CommittedOffset): Effect.Effect<void, LogMetadataUnavailableError> =>
    Effect.gen(function*() {
      const key = offsetKey(group, topic, partition)
      for (;;) {
        const current = yield* read(key)
        if (current !== undefined && current.stored.committer === committed.committer && current.stored.seq >= committed.seq) return
        const value = encoder.encode(JSON.stringify(committed))
        const r = yield* Effect.mapError(kv.write({ op: "cas", key, expected: current === undefined ? "absent" : current.revision, value }), unavailable)
        if (r.type !== "cas") return yield* Effect.die(new InvariantViolation(`commit offset: ${r.type}`))
        if (r.ok) return
      }
    })

  const get = (group: string, topic: string, partition: number): Effect.Effect<CommittedOffset | undefined, LogMetadataUnavailableError> =>
    Effect.map(read(offsetKey(group, topic, partition)), (current) => current?.stored)

  /** Every committed offset of `group`, in key order (a group's offsets, for OffsetFetch of all partitions). */
  const list = (group: string): Effect.Effect<ReadonlyArray<GroupOffset>, LogMetadataUnavailableError> =>
    Effect.gen(function*() {
      const prefix = `\u0000lo/${group}\u0000`
      const items = yield* Effect.mapError(scanRange(kv, prefix, `\u0000lo/${group}\u0001`), unavailable)
      const out: Array<GroupOffset> = []
      for (const item of items) {
        const parsed = parseOffsetKey(item.key.slice(prefix.length))
        // A key of a group whose name extends this one's with a NUL ("g\u0000x") has one separator too many.
        if (parsed !== undefined) out.push({ ...parsed, committed: JSON.parse(decoder.decode(item.value)) as CommittedOffset })
      }
      return out
    })

  /** Removes the group's committed offset of one partition (DeleteGroups; absent is fine). */
  const remove = (group: string, topic: string, partition: number): Effect.Effect<void, LogMetadataUnavailableError> =>
    Effect.asVoid(Effect.mapError(kv.write({ op: "delete", key: offsetKey(group, topic, partition) }), unavailable))

  return { commit, get, list, remove }
}

export interface GroupOffset {
  readonly topic: string
  readonly partition: number
  readonly committed: CommittedOffset
}

/** A stored offset's key as group, topic and partition (split at its last two NULs: a group name may hold one). */
export const parseStoredOffsetKey = (key: string): { readonly group: string; readonly topic: string; readonly partition: number } | undefined => {
  if (!key.startsWith(OFFSET_PREFIX)) return undefined
  const parts = key.slice(OFFSET_PREFIX.length).split("\u0000")
  if (parts.length < 3) return undefined
  const partition = Number(parts[parts.length - 1])
  if (!Number.isSafeInteger(partition) || partition < 0) return undefined
  return { group: parts.slice(0, -2).join("\u0000"), topic: parts[parts.length - 2]!, partition }
}

const parseOffsetKey = (rest: string): { readonly topic: string; readonly partition: number } | undefined => {
  const parts = rest.split("\u0000")
  if (parts.length !== 2) return undefined
  const partition = Number(parts[1])
  return Number.isSafeInteger(partition) && partition >= 0 ? { topic: parts[0]!, partition } : undefined
}
