/**
 * Topic and broker configurations as Kafka names them: what CreateTopics
 * accepts (`createSettings`), what CreateTopics v5+ and DescribeConfigs
 * report (`topicConfigs`, `brokerConfigs`). A topic's settings are the
 * log's own (`TopicMeta`): retention by time and size, the largest batch,
 * the segment size; the rest are fixed by how Cairn works (cleanup by
 * deletion only, the producer's compression kept, a Raft majority as the
 * least in-sync set) and reported read-only.
 */
import { Effect } from "effect"
import { DEFAULT_MAX_MESSAGE_BYTES, DEFAULT_SEGMENT_BYTES, type TopicMeta } from "../../log/topics/topic-meta.ts"
import type { RequestOf, ResponseOf } from "../protocol/api-table.ts"
import type { Broker } from "./broker-log.ts"
import { KafkaErrorCode, kafkaErrorOf } from "./error-codes.ts"

/** Kafka's config sources (DescribeConfigs v1+). */
const Source = { TOPIC: 1, STATIC_BROKER: 4, DEFAULT: 5 } as const
/** Kafka's config types (DescribeConfigs v3+). */
const Type = { BOOLEAN: 1, STRING: 2, INT: 3, LONG: 5, LIST: 7 } as const
export const RESOURCE_TOPIC = 2
export const RESOURCE_BROKER = 4

export interface ConfigEntry {
  readonly name: string
  readonly value: string
  readonly readOnly: boolean
  readonly isDefault: boolean
  readonly source: number
  readonly type: number
}

const entry = (name: string, value: string, type: number, options: { readonly readOnly?: boolean; readonly isDefault?: boolean; readonly source?: number } = {}): ConfigEntry => ({
  name,
  value,
  type,
  readOnly: options.readOnly ?? false,
  isDefault: options.isDefault ?? false,
  source: options.source ?? (options.isDefault === true ? Source.DEFAULT : Source.TOPIC)
})

const optionalLong = (name: string, v: number | undefined) => entry(name, String(v ?? -1), Type.LONG, { isDefault: v === undefined })

/** The topic's configuration, Kafka's names. */
export const topicConfigs = (meta: TopicMeta): ReadonlyArray<ConfigEntry> => [
  entry("cleanup.policy", "delete", Type.LIST, { readOnly: true, isDefault: true }),
  entry("compression.type", "producer", Type.STRING, { readOnly: true, isDefault: true }),
  entry("max.message.bytes", String(meta.maxMessageBytes), Type.INT, { isDefault: meta.maxMessageBytes === DEFAULT_MAX_MESSAGE_BYTES }),
  entry("message.timestamp.type", "CreateTime", Type.STRING, { readOnly: true, isDefault: true }),
  // A partition commits on a Raft majority of its replicas: that majority is the least in-sync set.
  entry("min.insync.replicas", String(Math.floor(meta.replicationFactor / 2) + 1), Type.INT, { readOnly: true }),
  optionalLong("retention.bytes", meta.retentionBytes),
  optionalLong("retention.ms", meta.retentionMs),
  entry("segment.bytes", String(meta.segmentBytes), Type.INT, { isDefault: meta.segmentBytes === DEFAULT_SEGMENT_BYTES })
]

/** The broker configs clients ask for, as this broker runs. */
export const brokerConfigs = (brokerId: number): ReadonlyArray<ConfigEntry> => [
  entry("auto.create.topics.enable", "false", Type.BOOLEAN, { readOnly: true, source: Source.STATIC_BROKER }),
  entry("broker.id", String(brokerId), Type.INT, { readOnly: true, source: Source.STATIC_BROKER }),
  entry("default.replication.factor", "3", Type.INT, { readOnly: true, source: Source.STATIC_BROKER }),
  entry("message.max.bytes", String(DEFAULT_MAX_MESSAGE_BYTES), Type.INT, { readOnly: true, source: Source.STATIC_BROKER }),
  entry("num.partitions", "1", Type.INT, { readOnly: true, source: Source.STATIC_BROKER }),
  entry("offsets.topic.replication.factor", "3", Type.INT, { readOnly: true, source: Source.STATIC_BROKER }),
  entry("transaction.state.log.replication.factor", "3", Type.INT, { readOnly: true, source: Source.STATIC_BROKER })
]

export interface CreateSettings {
  readonly retentionMs?: number
  readonly retentionBytes?: number
  readonly maxMessageBytes?: number
  readonly segmentBytes?: number
}

const wholeNumber = (value: string | null, min: number): number | undefined => {
  if (value === null || !/^-?\d{1,16}$/.test(value.trim())) return undefined
  const n = Number(value)
  return Number.isSafeInteger(n) && n >= min ? n : undefined
}

/** A CreateTopics request's configs as the log's settings, or a message naming the one Cairn cannot take. */
export const createSettings = (configs: ReadonlyArray<{ readonly name: string; readonly value: string | null }>): CreateSettings | string => {
  const out: { retentionMs?: number; retentionBytes?: number; maxMessageBytes?: number; segmentBytes?: number } = {}
  for (const c of configs) {
    const bad = `${c.name}=${c.value ?? "null"} is not a value Cairn accepts`
    switch (c.name) {
      case "retention.ms":
      case "retention.bytes": {
        const n = wholeNumber(c.value, -1)
        if (n === undefined) return bad
        if (n >= 0) out[c.name === "retention.ms" ? "retentionMs" : "retentionBytes"] = n
        break
      }
      case "max.message.bytes":
      case "segment.bytes": {
        const n = wholeNumber(c.value, 1)
        if (n === undefined) return bad
        out[c.name === "max.message.bytes" ? "maxMessageBytes" : "segmentBytes"] = n
        break
      }
      case "cleanup.policy":
        if (c.value !== "delete") return `${bad}: only cleanup.policy=delete (compaction is not built)`
        break
      default:
        return `config ${c.name} is not supported by Cairn (it takes retention.ms, retention.bytes, max.message.bytes, segment.bytes and cleanup.policy=delete)`
    }
  }
  return out
}

type DescribeResponse = ResponseOf<"DescribeConfigs">
type Result = DescribeResponse["results"][number]

const describeEntries = (entries: ReadonlyArray<ConfigEntry>, keys: ReadonlyArray<string> | null, version: number): Result["configs"] =>
  entries.filter((e) => keys === null || keys.includes(e.name)).map((e) => ({
    name: e.name,
    value: e.value,
    readOnly: e.readOnly,
    isDefault: version === 0 ? e.isDefault : false,
    configSource: e.source,
    isSensitive: false,
    synonyms: [],
    configType: e.type,
    documentation: null
  }))

const describeOne = (broker: Broker, r: RequestOf<"DescribeConfigs">["resources"][number], version: number): Effect.Effect<Result> =>
  Effect.gen(function*() {
    const base = { resourceType: r.resourceType, resourceName: r.resourceName }
    const failed = (errorCode: number, errorMessage: string): Result => ({ ...base, errorCode, errorMessage, configs: [] })
    if (r.resourceType === RESOURCE_TOPIC) {
      const meta = yield* Effect.result(broker.log.client.describeTopic(r.resourceName))
      if (meta._tag === "Failure") return failed(kafkaErrorOf(meta.failure), meta.failure.message)
      return { ...base, errorCode: KafkaErrorCode.NONE, errorMessage: null, configs: describeEntries(topicConfigs(meta.success), r.configurationKeys, version) }
    }
    if (r.resourceType === RESOURCE_BROKER) {
      const self = yield* broker.directory.brokerOf(broker.directory.self)
      const id = self?.brokerId ?? -1
      // An empty name asks for the cluster-wide defaults, which are this broker's.
      if (r.resourceName !== "" && r.resourceName !== String(id)) return failed(KafkaErrorCode.INVALID_REQUEST, `this is broker ${id}; ask broker ${r.resourceName} for its configs`)
      return { ...base, errorCode: KafkaErrorCode.NONE, errorMessage: null, configs: describeEntries(brokerConfigs(id), r.configurationKeys, version) }
    }
    return failed(KafkaErrorCode.INVALID_REQUEST, `resource type ${r.resourceType} is not described by Cairn (topics: 2, brokers: 4)`)
  })

export const handleDescribeConfigs = (broker: Broker, request: RequestOf<"DescribeConfigs">, version: number): Effect.Effect<DescribeResponse> =>
  Effect.map(Effect.forEach(request.resources, (r) => describeOne(broker, r, version), { concurrency: "unbounded" }), (results) => ({ throttleTimeMs: 0, results }))
