/**
 * CreateTopics, DeleteTopics and CreatePartitions over the log's topic
 * administration (compare-and-set records in the Raft KV, through the log
 * client). A request's topics are handled one by one, each answered with
 * its own error code. Manual replica assignments are refused
 * (INVALID_REPLICA_ASSIGNMENT): the log places replicas itself.
 * `validateOnly` checks everything but the write: the name, the counts, the
 * configs and whether the topic exists.
 */
import { Effect } from "effect"
import type { CreateTopic } from "../../log/topics/topic-admin.ts"
import { MAX_PARTITIONS, TOPIC_NAME, type TopicMeta } from "../../log/topics/topic-meta.ts"
import type { RequestOf, ResponseOf } from "../protocol/api-table.ts"
import type { Broker } from "./broker-log.ts"
import { createSettings, topicConfigs } from "./configs.ts"
import { KafkaErrorCode, kafkaErrorOf } from "./error-codes.ts"
import { isZeroId, kafkaTopicId, topicById } from "./topic-id.ts"

type CreateResponse = ResponseOf<"CreateTopics">
type CreateResult = CreateResponse["topics"][number]
type CreatableTopic = RequestOf<"CreateTopics">["topics"][number]

/** Kafka's default partition count when a request says -1 (its `num.partitions`). */
const DEFAULT_PARTITIONS = 1

const created = (meta: TopicMeta): Omit<CreateResult, "name" | "errorCode" | "errorMessage"> => ({
  topicId: kafkaTopicId(meta),
  topicConfigErrorCode: 0,
  numPartitions: meta.replicas.length,
  replicationFactor: meta.replicationFactor,
  configs: topicConfigs(meta).map((c) => ({ name: c.name, value: c.value, readOnly: c.readOnly, configSource: c.source, isSensitive: false }))
})

const createFailed = (name: string, errorCode: number, errorMessage: string): CreateResult => ({
  name,
  topicId: new Uint8Array(16),
  errorCode,
  errorMessage,
  topicConfigErrorCode: 0,
  numPartitions: -1,
  replicationFactor: -1,
  configs: null
})

/** The log's create request for `t`, or the error answer saying why not. */
const createRequest = (t: CreatableTopic): CreateTopic | CreateResult => {
  if (!TOPIC_NAME.test(t.name)) return createFailed(t.name, KafkaErrorCode.INVALID_TOPIC_EXCEPTION, "topic names are 1-249 of A-Z a-z 0-9 . _ -")
  if (t.assignments.length > 0) return createFailed(t.name, KafkaErrorCode.INVALID_REPLICA_ASSIGNMENT, "Cairn places replicas itself; leave assignments empty")
  const partitions = t.numPartitions === -1 ? DEFAULT_PARTITIONS : t.numPartitions
  if (partitions < 1 || partitions > MAX_PARTITIONS) return createFailed(t.name, KafkaErrorCode.INVALID_PARTITIONS, `partitions must be 1..${MAX_PARTITIONS}`)
  if (t.replicationFactor !== -1 && t.replicationFactor < 1) return createFailed(t.name, KafkaErrorCode.INVALID_REPLICATION_FACTOR, "the replication factor must be at least 1")
  const settings = createSettings(t.configs)
  if (typeof settings === "string") return createFailed(t.name, KafkaErrorCode.INVALID_CONFIG, settings)
  return { name: t.name, partitions, ...(t.replicationFactor === -1 ? {} : { replicationFactor: t.replicationFactor }), ...settings }
}

const createOne = (broker: Broker, t: CreatableTopic, validateOnly: boolean): Effect.Effect<CreateResult> =>
  Effect.gen(function*() {
    const request = createRequest(t)
    if ("errorCode" in request) return request
    if (validateOnly) {
      const existing = yield* Effect.result(broker.log.client.describeTopic(t.name))
      if (existing._tag === "Success") return createFailed(t.name, KafkaErrorCode.TOPIC_ALREADY_EXISTS, `topic ${t.name} exists`)
      const list = yield* broker.directory.brokers
      const rf = request.replicationFactor ?? Math.min(3, Math.max(1, list.length))
      return { name: t.name, topicId: new Uint8Array(16), errorCode: 0, errorMessage: null, topicConfigErrorCode: 0, numPartitions: request.partitions, replicationFactor: rf, configs: null }
    }
    const made = yield* Effect.result(broker.log.client.createTopic(request))
    if (made._tag === "Success") return { name: t.name, errorCode: KafkaErrorCode.NONE, errorMessage: null, ...created(made.success) }
    const e = made.failure
    // The log refuses a replication factor above the member count with invalid-request and a message naming it.
    const code = e._tag === "LogRequestError" && e.code === "invalid-request" && /replication factor/.test(e.message)
      ? KafkaErrorCode.INVALID_REPLICATION_FACTOR
      : kafkaErrorOf(e)
    return createFailed(t.name, code, e.message)
  })

export const handleCreateTopics = (broker: Broker, request: RequestOf<"CreateTopics">, version: number): Effect.Effect<CreateResponse> =>
  Effect.map(Effect.forEach(request.topics, (t) => createOne(broker, t, request.validateOnly)), (topics) => ({
    throttleTimeMs: 0,
    // Before v5 a result carries only the name and the error.
    topics: version >= 5 ? topics : topics.map((r) => ({ ...r, topicConfigErrorCode: 0, numPartitions: -1, replicationFactor: -1, configs: null }))
  }))

type DeleteResponse = ResponseOf<"DeleteTopics">

export const handleDeleteTopics = (broker: Broker, request: RequestOf<"DeleteTopics">, version: number): Effect.Effect<DeleteResponse> =>
  Effect.gen(function*() {
    const view = yield* broker.log.topics
    const named = version >= 6 ? request.topics : request.topicNames.map((name) => ({ name, topicId: new Uint8Array(16) }))
    const responses = yield* Effect.forEach(named, (t) =>
      Effect.gen(function*() {
        const name = t.name ?? (isZeroId(t.topicId) ? undefined : topicById(view, t.topicId)?.name)
        if (name === undefined) return { name: version >= 6 ? null : "", topicId: t.topicId, errorCode: KafkaErrorCode.UNKNOWN_TOPIC_ID, errorMessage: "no topic has this id" }
        const meta = view.get(name)
        const topicId = meta === undefined ? t.topicId : kafkaTopicId(meta)
        const deleted = yield* Effect.result(broker.log.client.deleteTopic(name))
        if (deleted._tag === "Success") return { name, topicId, errorCode: KafkaErrorCode.NONE, errorMessage: null }
        return { name, topicId, errorCode: kafkaErrorOf(deleted.failure), errorMessage: deleted.failure.message }
      }))
    return { throttleTimeMs: 0, responses }
  })

type PartitionsResponse = ResponseOf<"CreatePartitions">
type PartitionsTopic = RequestOf<"CreatePartitions">["topics"][number]

const growOne = (broker: Broker, t: PartitionsTopic, validateOnly: boolean) =>
  Effect.gen(function*() {
    const failed = (errorCode: number, errorMessage: string) => ({ name: t.name, errorCode, errorMessage })
    if (t.assignments !== null) return failed(KafkaErrorCode.INVALID_REPLICA_ASSIGNMENT, "Cairn places replicas itself; leave assignments null")
    const meta = yield* Effect.result(broker.log.client.describeTopic(t.name))
    if (meta._tag === "Failure") return failed(kafkaErrorOf(meta.failure), meta.failure.message)
    const current = meta.success.replicas.length
    if (t.count <= current || t.count > MAX_PARTITIONS) return failed(KafkaErrorCode.INVALID_PARTITIONS, `${t.name} has ${current} partitions; it can only grow, to at most ${MAX_PARTITIONS}`)
    if (validateOnly) return { name: t.name, errorCode: KafkaErrorCode.NONE, errorMessage: null }
    const grown = yield* Effect.result(broker.log.client.growTopic(t.name, t.count))
    if (grown._tag === "Failure") return failed(kafkaErrorOf(grown.failure), grown.failure.message)
    return { name: t.name, errorCode: KafkaErrorCode.NONE, errorMessage: null }
  })

export const handleCreatePartitions = (broker: Broker, request: RequestOf<"CreatePartitions">): Effect.Effect<PartitionsResponse> =>
  Effect.map(Effect.forEach(request.topics, (t) => growOne(broker, t, request.validateOnly)), (results) => ({ throttleTimeMs: 0, results }))
