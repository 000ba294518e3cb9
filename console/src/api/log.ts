/**
 * The streaming log's topics as the console reads them: the KV API's
 * `/v1/log` routes (docs/log.md "The HTTP API") through the console's
 * `/api/log/` forwarding, with the signed-in user's key — the admin's to
 * create, grow, change or delete a topic, any user's to read, produce and
 * see consumer groups. The groups' answers have the node's own types
 * (core/src/kv-api/log-views.ts).
 */
import type { GroupsView, GroupView } from "../../../core/src/kv-api/log-views.ts"
import { callJson } from "./client.ts"

export type { GroupMemberView, GroupPartitionView, GroupView } from "../../../core/src/kv-api/log-views.ts"

export interface Topic {
  readonly name: string
  readonly id: string
  readonly partitions: number
  readonly replicationFactor: number
  readonly retentionMs?: number
  readonly retentionBytes?: number
  readonly maxMessageBytes: number
  readonly segmentBytes: number
  /** Each partition's replicas, in placement order. */
  readonly replicas: ReadonlyArray<ReadonlyArray<string>>
}

export interface LogHeader {
  readonly key: string
  readonly value?: string | null
  readonly valueBase64?: string
}

export interface LogRecord {
  readonly offset: number
  readonly headers?: ReadonlyArray<LogHeader>
  readonly timestamp: number
  readonly key?: string | null
  readonly value?: string | null
  readonly keyBase64?: string
  readonly valueBase64?: string
}

export interface Fetched {
  readonly records: ReadonlyArray<LogRecord>
  readonly nextOffset: number
  readonly highWatermark: number
  readonly logStartOffset: number
}

const topicPath = (topic: string) => `/api/log/topics/${encodeURIComponent(topic)}`

export const listTopics = async (): Promise<ReadonlyArray<Topic>> => (await callJson<{ readonly topics: ReadonlyArray<Topic> }>("GET", "/api/log/topics")).topics

export const getTopic = (topic: string): Promise<Topic> => callJson<Topic>("GET", topicPath(topic))

export const createTopic = (create: { readonly name: string; readonly partitions: number; readonly replicationFactor?: number; readonly retentionMs?: number }): Promise<Topic> =>
  callJson<Topic>("POST", "/api/log/topics", create)

export const deleteTopic = (topic: string): Promise<unknown> => callJson("DELETE", topicPath(topic))

export const fetchRecords = (topic: string, partition: number, offset: number | "earliest", maxBytes: number): Promise<Fetched> =>
  callJson<Fetched>("GET", `${topicPath(topic)}/partitions/${partition}/records?${new URLSearchParams({ offset: String(offset), maxBytes: String(maxBytes) })}`)

/**
 * A partition's bounds and its newest records (at most `count`): one small
 * read for the bounds, then one from `count` records before the end.
 */
export const latestRecords = async (topic: string, partition: number, count: number): Promise<Fetched> => {
  const first = await fetchRecords(topic, partition, "earliest", 1)
  const from = Math.max(first.logStartOffset, first.highWatermark - count)
  if (from >= first.highWatermark) return { ...first, records: [] }
  const last = await fetchRecords(topic, partition, from, 256 * 1024)
  return { ...last, records: last.records.filter((r) => r.offset >= from).slice(-count) }
}

/** Every consumer group (those reading `topic`, with only its partitions, when given). */
export const listGroups = async (topic?: string): Promise<ReadonlyArray<GroupView>> =>
  (await callJson<GroupsView>("GET", `/api/log/groups${topic === undefined ? "" : `?${new URLSearchParams({ topic })}`}`)).groups

export const getGroup = (group: string): Promise<GroupView> => callJson<GroupView>("GET", `/api/log/groups/${encodeURIComponent(group)}`)

/** Deletes an Empty group and its committed offsets (the admin's key); the number of offsets removed. */
export const deleteGroup = async (group: string): Promise<number> =>
  (await callJson<{ readonly offsets: number }>("DELETE", `/api/log/groups/${encodeURIComponent(group)}`)).offsets

export interface ProduceRecord {
  readonly key?: string
  readonly value: string
  readonly headers?: ReadonlyArray<{ readonly key: string; readonly value: string }>
}

export interface Produced {
  readonly topic: string
  readonly partition: number
  readonly baseOffset: number
  readonly lastOffset: number
}

/** One record to `partition`, or (partition undefined) to the partition Kafka's partitioner picks for its key. */
export const produceRecord = (topic: string, partition: number | undefined, record: ProduceRecord): Promise<Produced> =>
  callJson<Produced>("POST", partition === undefined ? `${topicPath(topic)}/records` : `${topicPath(topic)}/partitions/${partition}/records`, { records: [record] })

/** Retention by age and by size: a number sets it, null removes the limit. */
export const alterTopic = (topic: string, changes: { readonly retentionMs?: number | null; readonly retentionBytes?: number | null }): Promise<Topic> =>
  callJson<Topic>("PATCH", topicPath(topic), changes)

export const growTopic = (topic: string, partitions: number): Promise<Topic> => callJson<Topic>("POST", `${topicPath(topic)}/partitions`, { partitions })
