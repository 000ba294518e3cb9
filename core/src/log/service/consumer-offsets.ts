/**
 * Consumer group offsets in the cluster's Raft KV: per group, topic and
 * partition, the next offset the group will read and the client's metadata
 * string (what Kafka's OffsetCommit keeps). A commit is a put, so it is
 * durable and replicated once acknowledged; a fetch is a linearizable read.
 * Like Kafka, a commit may move an offset backwards (a consumer that seeks).
 *
 * Key: `\u0000lo/<group>\u0000<topic>\u0000<partition>` (NUL separators: any
 * character may appear in a group name).
 */
import { Effect } from "effect"
import { InvariantViolation } from "../../invariant/invariant.ts"
import type { KvAmbiguousError, KvClient, KvUnavailableError } from "../../kv/client.ts"
import { LogMetadataUnavailableError } from "../topics/topic-error.ts"

export const offsetKey = (group: string, topic: string, partition: number): string => `\u0000lo/${group}\u0000${topic}\u0000${partition}`

export interface CommittedOffset {
  readonly offset: number
  readonly metadata: string
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

const unavailable = (e: KvAmbiguousError | KvUnavailableError) =>
  new LogMetadataUnavailableError({ message: e.message, ambiguous: e._tag === "KvAmbiguousError" })

export const makeConsumerOffsets = (kv: KvClient) => {
  const commit = (group: string, topic: string, partition: number, committed: CommittedOffset) =>
    Effect.flatMap(Effect.mapError(kv.write({ op: "put", key: offsetKey(group, topic, partition), value: encoder.encode(JSON.stringify(committed)) }), unavailable), (r) =>
      r.type === "put" ? Effect.void : Effect.die(new InvariantViolation(`commit offset: ${r.type}`)))

  const get = (group: string, topic: string, partition: number): Effect.Effect<CommittedOffset | undefined, LogMetadataUnavailableError> =>
    Effect.flatMap(Effect.mapError(kv.read({ op: "get", key: offsetKey(group, topic, partition) }), unavailable), (r) => {
      if (r.type !== "get") return Effect.die(new InvariantViolation(`fetch offset: ${r.type}`))
      return Effect.succeed(r.found ? (JSON.parse(decoder.decode(r.value)) as CommittedOffset) : undefined)
    })

  return { commit, get }
}
