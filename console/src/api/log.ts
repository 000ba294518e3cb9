/**
 * The streaming log's topics as the console reads them: the KV API's
 * `/v1/log` routes (docs/log.md "The HTTP API") through the console's
 * `/api/log/` forwarding, with the signed-in user's key — the admin's to
 * create or delete a topic, any user's to read.
 */
import { callJson } from "./client.ts"

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

export interface LogRecord {
  readonly offset: number
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
