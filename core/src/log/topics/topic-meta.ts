/**
 * A topic's metadata, as the cluster's Raft KV stores it: its settings, a
 * unique id for this incarnation of the name (a topic deleted and created
 * again is another set of Raft groups, so no stale message of the old one can
 * reach the new), and each partition's replicas. Records are JSON, checked
 * field by field when read: a record that does not decode is a bug (Raft
 * checksums the KV's entries), reported as a defect by the caller.
 *
 * Keys: `\u0000lt/<topic>` (topics; the leading NUL keeps Cairn's own records
 * apart from users' keys, as the object catalog's do).
 */
import { assert } from "../../invariant/invariant.ts"
import type { NodeId } from "../../node/node-id.ts"

export const TOPIC_PREFIX = "\u0000lt/"
export const topicKey = (name: string): string => `${TOPIC_PREFIX}${name}`

/** Kafka's rule for topic names. */
export const TOPIC_NAME = /^[A-Za-z0-9._-]{1,249}$/
/** Partitions per topic, at most (each is a Raft group on every replica). */
export const MAX_PARTITIONS = 1024

export interface TopicSettings {
  readonly replicationFactor: number
  /** Delete sealed segments whose newest batch is older than this (undefined: never by age). */
  readonly retentionMs?: number | undefined
  /** Delete the oldest sealed segments while the partition stays at least this big. */
  readonly retentionBytes?: number | undefined
  /** The largest batch a producer may append (Kafka's max.message.bytes). */
  readonly maxMessageBytes: number
  /** Segment size of each replica's log. */
  readonly segmentBytes: number
}

export interface TopicMeta extends TopicSettings {
  readonly name: string
  readonly id: string
  /** Each partition's replicas (the voters of its Raft group), in placement order. */
  readonly replicas: ReadonlyArray<ReadonlyArray<NodeId>>
}

export const DEFAULT_MAX_MESSAGE_BYTES = 1024 * 1024
export const DEFAULT_SEGMENT_BYTES = 128 * 1024 * 1024

/** The Raft group of partition `p`: unique per topic incarnation. */
export const groupId = (meta: TopicMeta, p: number): string => `${meta.id}.${p}`

/** FNV-1a of a string: spreads topics' first replicas over the nodes. */
const hash = (s: string): number => {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0
  return h
}

/**
 * Replicas of partition `p`: `rf` consecutive members (sorted), starting at a
 * place that moves one node per partition, so leaders and replicas spread.
 */
export const placeReplicas = (members: ReadonlyArray<NodeId>, topicId: string, p: number, rf: number): ReadonlyArray<NodeId> => {
  const sorted = [...members].sort()
  assert(rf >= 1 && rf <= sorted.length, () => `replication factor ${rf} with ${sorted.length} members`)
  const start = (hash(topicId) + p) % sorted.length
  return Array.from({ length: rf }, (_, i) => sorted[(start + i) % sorted.length]!)
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

export const encodeTopicMeta = (meta: TopicMeta): Uint8Array => encoder.encode(JSON.stringify(meta))

const isCount = (v: unknown, min: number): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= min
const optionalCount = (v: unknown): boolean => v === undefined || isCount(v, 0)

/** The record's metadata, or a message saying what is wrong with it. */
export const decodeTopicMeta = (bytes: Uint8Array): TopicMeta | string => {
  let raw: unknown
  try {
    raw = JSON.parse(decoder.decode(bytes))
  } catch {
    return "topic record is not JSON"
  }
  if (typeof raw !== "object" || raw === null) return "topic record is not an object"
  const r = raw as Record<string, unknown>
  if (typeof r.name !== "string" || !TOPIC_NAME.test(r.name) || typeof r.id !== "string") return "topic record: bad name or id"
  if (!isCount(r.replicationFactor, 1) || !isCount(r.maxMessageBytes, 1) || !isCount(r.segmentBytes, 1)) return "topic record: bad settings"
  if (!optionalCount(r.retentionMs) || !optionalCount(r.retentionBytes)) return "topic record: bad retention"
  const replicas = r.replicas
  if (!Array.isArray(replicas) || replicas.length === 0) return "topic record: no partitions"
  for (const set of replicas as Array<unknown>) {
    if (!Array.isArray(set) || set.length !== r.replicationFactor || !set.every((n) => typeof n === "string")) return "topic record: bad replica set"
  }
  return raw as TopicMeta
}
