/**
 * The answer to one log request on a node (`log-node.ts` calls it on a
 * fiber per request): typed failures become the protocol's error codes, so
 * a client can tell "certainly not appended" (refused, not the leader, not a
 * replica) from "maybe appended" (timeout).
 */
import { Effect } from "effect"
import type { KvServer } from "../../kv/server.ts"
import type { NodeId } from "../../node/node-id.ts"
import type { RandomShape } from "../../random/random.ts"
import type { PartitionReplica } from "../replication/partition-replica.ts"
import type { TopicAdmin } from "../topics/topic-admin.ts"
import type { LogMetadataUnavailableError } from "../topics/topic-error.ts"
import { encodeTopicMeta, groupId, type TopicMeta } from "../topics/topic-meta.ts"
import type { makeConsumerOffsets } from "./consumer-offsets.ts"
import { errorBody, type LogRequest, type LogResponseBody } from "./log-protocol.ts"
import type { makeProducerIds } from "./producer-ids.ts"

export interface ServeContext {
  readonly self: NodeId
  readonly kv: KvServer
  readonly admin: TopicAdmin
  readonly producers: ReturnType<typeof makeProducerIds>
  readonly offsets: ReturnType<typeof makeConsumerOffsets>
  readonly random: RandomShape
  readonly topics: () => ReadonlyMap<string, TopicMeta>
  readonly replica: (group: string) => PartitionReplica | undefined
  readonly requestTimeoutMs: number
  readonly maxFetchBytes: number
}

type Failure =
  | { readonly _tag: "TopicExistsError" | "UnknownTopicError"; readonly topic: string }
  | { readonly _tag: "InvalidTopicError"; readonly message: string }
  | LogMetadataUnavailableError

const metadataFailure = (e: Failure): LogResponseBody => {
  switch (e._tag) {
    case "TopicExistsError": return errorBody("topic-exists", `topic ${e.topic} exists`)
    case "UnknownTopicError": return errorBody("unknown-topic", `no topic ${e.topic}`)
    case "InvalidTopicError": return errorBody("invalid-request", e.message)
    case "LogMetadataUnavailableError": return errorBody(e.ambiguous ? "timeout" : "unavailable", e.message)
  }
}

const answer = <E extends Failure>(effect: Effect.Effect<LogResponseBody, E>): Effect.Effect<LogResponseBody> =>
  Effect.catch(effect, (e) => Effect.succeed(metadataFailure(e)))

/** The local replica of a topic's partition, or the error answer saying why there is none. */
const locate = (ctx: ServeContext, topic: string, partition: number): { readonly replica: PartitionReplica; readonly meta: TopicMeta } | LogResponseBody => {
  const meta = ctx.topics().get(topic)
  if (meta === undefined) return errorBody("unknown-topic", `no topic ${topic} (as ${ctx.self} knows)`)
  if (partition >= meta.replicas.length) return errorBody("unknown-partition", `${topic} has ${meta.replicas.length} partitions`)
  const replica = ctx.replica(groupId(meta, partition))
  if (replica === undefined) return errorBody("not-replica", `${ctx.self} holds no replica of ${topic}/${partition} (replicas: ${meta.replicas[partition]!.join(",")})`)
  return { replica, meta }
}

const produce = (ctx: ServeContext, topic: string, partition: number, batch: Uint8Array, key: string): Effect.Effect<LogResponseBody> => {
  const found = locate(ctx, topic, partition)
  if ("kind" in found) return Effect.succeed(found)
  if (batch.length > found.meta.maxMessageBytes) return Effect.succeed(errorBody("too-large", `batch of ${batch.length} bytes over ${found.meta.maxMessageBytes}`))
  return found.replica.append(batch, ctx.requestTimeoutMs, key).pipe(
    Effect.map((a): LogResponseBody => ({ kind: "produced", baseOffset: a.baseOffset, lastOffset: a.lastOffset, duplicate: a.duplicate })),
    Effect.catchTags({
      NotLeaderError: (e) => Effect.succeed(errorBody("not-leader", `${ctx.self} cannot propose`, { leader: e.leader })),
      AppendRefusedError: (e) => Effect.succeed(errorBody(e.reason, e.message)),
      AppendTimeoutError: (e) => Effect.succeed(errorBody("timeout", e.message))
    })
  )
}

const fetchBatches = (ctx: ServeContext, topic: string, partition: number, offset: number, maxBytes: number): Effect.Effect<LogResponseBody> => {
  const found = locate(ctx, topic, partition)
  if ("kind" in found) return Effect.succeed(found)
  return found.replica.read(offset, Math.min(maxBytes, ctx.maxFetchBytes), { linearizable: true, timeoutMs: ctx.requestTimeoutMs }).pipe(
    Effect.map((f): LogResponseBody => ({ kind: "fetched", ...f })),
    Effect.catchTags({
      NotLeaderError: (e) => Effect.succeed(errorBody("unavailable", "no leader confirmed the read in time", { leader: e.leader })),
      LogOffsetOutOfRangeError: (e) => Effect.succeed(errorBody("offset-out-of-range", `offset ${e.offset}`, { bounds: { logStartOffset: e.logStartOffset, highWatermark: e.logEndOffset } })),
      LogCorruptBatchError: (e) => Effect.succeed(errorBody("corrupt", e.message)),
      LogReadError: (e) => Effect.succeed(errorBody("corrupt", e.message)),
      LogClosedError: () => Effect.succeed(errorBody("unavailable", "the replica is closing"))
    })
  )
}

const newTopicId = (random: RandomShape) =>
  Effect.gen(function*() {
    const a = yield* random.nextUint32
    const b = yield* random.nextUint32
    return `${a.toString(36)}${b.toString(36)}`
  })

const topicAnswer = (meta: TopicMeta): LogResponseBody => ({ kind: "topic", meta: encodeTopicMeta(meta) })

/** `from` sent `r`; a copy of the request (the network may duplicate it) appends nothing twice. */
export const serveLogRequest = (ctx: ServeContext, r: LogRequest, from: NodeId): Effect.Effect<LogResponseBody> => {
  switch (r.op) {
    case "produce": return produce(ctx, r.topic, r.partition, r.batch, `${from}/${r.session}/${r.append}`)
    case "fetch": return fetchBatches(ctx, r.topic, r.partition, r.offset, r.maxBytes)
    case "create-topic":
      return answer(Effect.gen(function*() {
        const status = yield* ctx.kv.raft.status
        return topicAnswer(yield* ctx.admin.create(r.create, status.members, yield* newTopicId(ctx.random)))
      }))
    case "grow-topic":
      return answer(Effect.gen(function*() {
        const status = yield* ctx.kv.raft.status
        return topicAnswer(yield* ctx.admin.grow(r.topic, r.partitions, status.members))
      }))
    case "alter-topic": return answer(Effect.map(ctx.admin.alter(r.topic, r.changes), topicAnswer))
    case "delete-topic": return answer(Effect.as(ctx.admin.remove(r.topic), { kind: "ok" } as const))
    case "describe-topic": return answer(Effect.map(ctx.admin.describe(r.topic), topicAnswer))
    case "init-producer": return answer(Effect.map(ctx.producers.init(r.name), (p): LogResponseBody => ({ kind: "producer", ...p })))
    case "commit-offset":
      return answer(Effect.as(ctx.offsets.commit(r.group, r.topic, r.partition, { offset: r.offset, metadata: r.metadata, committer: r.committer, seq: r.seq }), { kind: "ok" } as const))
    case "fetch-offset":
      return answer(Effect.map(ctx.offsets.get(r.group, r.topic, r.partition), (c): LogResponseBody => ({ kind: "offset", offset: c?.offset, metadata: c?.metadata ?? "" })))
  }
}
