/**
 * Topic administration over the cluster's Raft KV (create, grow, alter,
 * delete, describe, list), each a compare-and-set on the topic's record so two
 * administrators racing cannot lose an update. The KV client is the node's
 * local one (`kv/local-client.ts`), as the object catalog uses.
 *
 * A write whose outcome the KV could not confirm is read back: if the record
 * is the one we wrote, it took effect.
 */
import { Effect } from "effect"
import { InvariantViolation } from "../../invariant/invariant.ts"
import type { KvAmbiguousError, KvClient, KvUnavailableError } from "../../kv/client.ts"
import type { KvResult } from "../../kv/command.ts"
import type { NodeId } from "../../node/node-id.ts"
import { SEGMENT_BYTES_LIMIT } from "../partition-log.ts"
import { BATCH_OVERHEAD } from "../record-batch.ts"
import { InvalidTopicError, LogMetadataUnavailableError, TopicExistsError, UnknownTopicError } from "./topic-error.ts"
import {
  decodeTopicMeta,
  DEFAULT_MAX_MESSAGE_BYTES,
  DEFAULT_SEGMENT_BYTES,
  encodeTopicMeta,
  MAX_PARTITIONS,
  placeReplicas,
  TOPIC_NAME,
  TOPIC_PREFIX,
  topicKey,
  type TopicMeta,
  type TopicSettings
} from "./topic-meta.ts"

export interface CreateTopic extends Partial<TopicSettings> {
  readonly name: string
  readonly partitions: number
}

/**
 * Settings a topic takes after creation: retention, by age and by size (a number sets it, null removes
 * it, absent keeps it). Running replicas apply it at their next retention check (`log-node.ts`). The
 * largest batch and the segment size are fixed at creation: each replica's log is opened with them.
 */
export interface TopicChanges {
  readonly retentionMs?: number | null
  readonly retentionBytes?: number | null
}

const unavailable = (e: KvAmbiguousError | KvUnavailableError) =>
  new LogMetadataUnavailableError({ message: e.message, ambiguous: e._tag === "KvAmbiguousError" })

const bug = (what: string, r: KvResult) => new InvariantViolation(`${what}: unexpected KV result ${r.type === "error" ? `${r.code}: ${r.message}` : r.type}`)

export interface TopicAdmin {
  readonly create: (request: CreateTopic, members: ReadonlyArray<NodeId>, id: string) => Effect.Effect<TopicMeta, TopicExistsError | InvalidTopicError | LogMetadataUnavailableError>
  readonly grow: (name: string, partitions: number, members: ReadonlyArray<NodeId>) => Effect.Effect<TopicMeta, UnknownTopicError | InvalidTopicError | LogMetadataUnavailableError>
  readonly alter: (name: string, changes: TopicChanges) => Effect.Effect<TopicMeta, UnknownTopicError | InvalidTopicError | LogMetadataUnavailableError>
  readonly remove: (name: string) => Effect.Effect<void, UnknownTopicError | LogMetadataUnavailableError>
  readonly describe: (name: string) => Effect.Effect<TopicMeta, UnknownTopicError | LogMetadataUnavailableError>
}

/** Checks a create request's settings; the message says what is wrong. */
const settingsOf = (request: CreateTopic, members: ReadonlyArray<NodeId>): TopicSettings | string => {
  if (!TOPIC_NAME.test(request.name)) return `bad topic name ${JSON.stringify(request.name)}`
  if (!Number.isSafeInteger(request.partitions) || request.partitions < 1 || request.partitions > MAX_PARTITIONS) return `partitions must be 1..${MAX_PARTITIONS}`
  const rf = request.replicationFactor ?? Math.min(3, members.length)
  if (!Number.isSafeInteger(rf) || rf < 1 || rf > members.length) return `replication factor ${rf} with ${members.length} nodes`
  const maxMessageBytes = request.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES
  const segmentBytes = request.segmentBytes ?? Math.max(DEFAULT_SEGMENT_BYTES, maxMessageBytes)
  if (maxMessageBytes < BATCH_OVERHEAD || maxMessageBytes > segmentBytes) return "max message bytes must be at least a batch header and at most the segment size"
  if (segmentBytes > SEGMENT_BYTES_LIMIT) return `segment bytes above ${SEGMENT_BYTES_LIMIT}`
  return { replicationFactor: rf, retentionMs: request.retentionMs, retentionBytes: request.retentionBytes, maxMessageBytes, segmentBytes }
}

export const makeTopicAdmin = (kv: KvClient): TopicAdmin => {
  const read = (name: string) =>
    Effect.gen(function*() {
      const r = yield* Effect.mapError(kv.read({ op: "get", key: topicKey(name) }), unavailable)
      if (r.type !== "get") return yield* Effect.die(bug(`get topic ${name}`, r))
      if (!r.found) return undefined
      const meta = decodeTopicMeta(r.value)
      if (typeof meta === "string") return yield* Effect.die(new InvariantViolation(`topic ${name}: ${meta}`))
      return { meta, revision: r.revision }
    })

  /** Compare-and-set; an ambiguous outcome is settled by reading the record back. */
  const cas = (name: string, expected: number, meta: TopicMeta | undefined) =>
    Effect.gen(function*() {
      const written = yield* Effect.result(kv.write({ op: "cas", key: topicKey(name), expected: expected === 0 ? "absent" : expected, value: meta === undefined ? undefined : encodeTopicMeta(meta) }))
      if (written._tag === "Success") {
        const r = written.success
        if (r.type !== "cas") return yield* Effect.die(bug(`cas topic ${name}`, r))
        return r.ok
      }
      if (written.failure._tag === "KvUnavailableError") return yield* Effect.fail(unavailable(written.failure))
      const now = yield* read(name)
      if (meta === undefined ? now === undefined : now !== undefined && JSON.stringify(now.meta) === JSON.stringify(meta)) return true
      return yield* Effect.fail(unavailable(written.failure))
    })

  const create: TopicAdmin["create"] = (request, members, id) =>
    Effect.gen(function*() {
      const settings = settingsOf(request, members)
      if (typeof settings === "string") return yield* new InvalidTopicError({ message: settings })
      const replicas = Array.from({ length: request.partitions }, (_, p) => placeReplicas(members, id, p, settings.replicationFactor))
      const meta: TopicMeta = { name: request.name, id, ...settings, replicas }
      if (!(yield* cas(request.name, 0, meta))) return yield* new TopicExistsError({ topic: request.name })
      return meta
    })

  const grow: TopicAdmin["grow"] = (name, partitions, members) =>
    Effect.gen(function*() {
      for (;;) {
        const current = yield* read(name)
        if (current === undefined) return yield* new UnknownTopicError({ topic: name })
        const { meta } = current
        if (partitions === meta.replicas.length) return meta
        if (!Number.isSafeInteger(partitions) || partitions < meta.replicas.length || partitions > MAX_PARTITIONS) {
          return yield* new InvalidTopicError({ message: `${name} has ${meta.replicas.length} partitions; it can only grow, to at most ${MAX_PARTITIONS}` })
        }
        if (meta.replicationFactor > members.length) return yield* new InvalidTopicError({ message: `replication factor ${meta.replicationFactor} with ${members.length} nodes` })
        const added = Array.from({ length: partitions - meta.replicas.length }, (_, i) => placeReplicas(members, meta.id, meta.replicas.length + i, meta.replicationFactor))
        const grown: TopicMeta = { ...meta, replicas: [...meta.replicas, ...added] }
        if (yield* cas(name, current.revision, grown)) return grown
      }
    })

  const alter: TopicAdmin["alter"] = (name, changes) =>
    Effect.gen(function*() {
      for (const [what, v] of Object.entries(changes)) {
        if (v !== undefined && v !== null && !(Number.isSafeInteger(v) && v >= 0)) return yield* new InvalidTopicError({ message: `${what} must be a whole number of at least 0, or null for none` })
      }
      for (;;) {
        const current = yield* read(name)
        if (current === undefined) return yield* new UnknownTopicError({ topic: name })
        const { retentionMs, retentionBytes, ...rest } = current.meta
        const next = (now: number | undefined, change: number | null | undefined) => (change === undefined ? now : change ?? undefined)
        const altered: TopicMeta = { ...rest, retentionMs: next(retentionMs, changes.retentionMs), retentionBytes: next(retentionBytes, changes.retentionBytes) }
        if (altered.retentionMs === retentionMs && altered.retentionBytes === retentionBytes) return current.meta
        // Written without the undefined fields, as create writes them (JSON drops them).
        if (yield* cas(name, current.revision, JSON.parse(JSON.stringify(altered)) as TopicMeta)) return altered
      }
    })

  const remove: TopicAdmin["remove"] = (name) =>
    Effect.gen(function*() {
      for (;;) {
        const current = yield* read(name)
        if (current === undefined) return yield* new UnknownTopicError({ topic: name })
        if (yield* cas(name, current.revision, undefined)) return
      }
    })

  const describe: TopicAdmin["describe"] = (name) =>
    Effect.flatMap(read(name), (current) => (current === undefined ? Effect.fail(new UnknownTopicError({ topic: name })) : Effect.succeed(current.meta)))

  return { create, grow, alter, remove, describe }
}

/** Every topic in a KV state machine's range result (the node's local view, for the reconciler). */
export const TOPIC_RANGE = { start: TOPIC_PREFIX, end: `${TOPIC_PREFIX.slice(0, -1)}0` } as const
