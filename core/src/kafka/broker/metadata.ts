/**
 * Metadata: the brokers (Cairn members running a Kafka listener), the
 * topics asked for (all when the list is null) with each partition's leader,
 * replicas and in-sync replicas.
 *
 * - **Leader**: the partition's Raft leader when this node runs a replica and
 *   knows it; otherwise the first of its replicas that is a broker, else this
 *   broker. A wrong guess costs a hop, never an error: every broker serves
 *   every partition through the log client, which follows the Raft leader.
 * - **ISR** is the replica set: a partition commits on a Raft majority, so
 *   there is no separate in-sync set to report.
 * - **Topic ids** (v10+) are derived from the topic's incarnation id (`topic-id.ts`).
 *
 * Named topics are read from the KV (a topic created or grown a moment ago
 * is answered as it is now); all topics come from this node's view, which
 * trails the KV by at most its reconcile interval.
 */
import { Effect } from "effect"
import type { TopicMeta } from "../../log/topics/topic-meta.ts"
import type { NodeId } from "../../node/node-id.ts"
import type { RequestOf, ResponseOf } from "../protocol/api-table.ts"
import type { Broker } from "./broker-log.ts"
import { KafkaErrorCode } from "./error-codes.ts"
import type { BrokerAddress } from "./group-port.ts"
import { isZeroId, kafkaTopicId, topicById } from "./topic-id.ts"

type Response = ResponseOf<"Metadata">
type TopicEntry = Response["topics"][number]

const NO_AUTHORIZED_OPERATIONS = -2147483648

/** Broker ids by node, for the brokers the directory lists. */
export const brokerIds = (broker: Broker) =>
  Effect.map(broker.directory.brokers, (list) => ({ list, idOf: new Map<NodeId, number>(list.map((b) => [b.node, b.address.brokerId])) }))

const partitionEntries = (broker: Broker, meta: TopicMeta, idOf: ReadonlyMap<NodeId, number>, selfId: number) =>
  Effect.forEach(meta.replicas, (replicas, partition) =>
    Effect.gen(function*() {
      const known = yield* broker.log.leaderOf(meta, partition)
      const candidates = [...(known === undefined ? [] : [known]), ...replicas]
      const leaderId = candidates.map((n) => idOf.get(n)).find((id) => id !== undefined) ?? selfId
      const ids = replicas.flatMap((n) => (idOf.has(n) ? [idOf.get(n)!] : []))
      const replicaNodes = ids.length === 0 ? [leaderId] : ids
      return { errorCode: KafkaErrorCode.NONE, partitionIndex: partition, leaderId, leaderEpoch: -1, replicaNodes, isrNodes: replicaNodes, offlineReplicas: [] }
    }))

const topicEntry = (meta: TopicMeta, partitions: TopicEntry["partitions"]): TopicEntry => ({
  errorCode: KafkaErrorCode.NONE,
  name: meta.name,
  topicId: kafkaTopicId(meta),
  isInternal: false,
  partitions,
  topicAuthorizedOperations: NO_AUTHORIZED_OPERATIONS
})

const missing = (name: string | null, topicId: Uint8Array, errorCode: number): TopicEntry => ({
  errorCode,
  // A null name is only written from v12; `handleMetadata` replaces it before.
  name,
  topicId,
  isInternal: false,
  partitions: [],
  topicAuthorizedOperations: NO_AUTHORIZED_OPERATIONS
})

/** The topic a Metadata request names, from this node's view, else from the KV. */
const lookup = (broker: Broker, view: ReadonlyMap<string, TopicMeta>, t: { readonly name: string | null; readonly topicId: Uint8Array }) =>
  Effect.gen(function*() {
    if (t.name === null) {
      const byId = isZeroId(t.topicId) ? undefined : topicById(view, t.topicId)
      return byId ?? missing(null, t.topicId, KafkaErrorCode.UNKNOWN_TOPIC_ID)
    }
    // The KV's record is current (a topic created or grown a moment ago); this node's view may trail it.
    const described = yield* Effect.result(broker.log.client.describeTopic(t.name))
    if (described._tag === "Success") return described.success
    const e = described.failure
    const unknown = e._tag === "LogRequestError" && e.code === "unknown-topic"
    const seen = view.get(t.name)
    if (!unknown && seen !== undefined) return seen
    const code = unknown ? KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION : KafkaErrorCode.LEADER_NOT_AVAILABLE
    return missing(t.name, new Uint8Array(16), code)
  })

export const brokerEntry = (b: { readonly address: BrokerAddress }) => ({ nodeId: b.address.brokerId, host: b.address.host, port: b.address.port, rack: b.address.rack })

export const handleMetadata = (broker: Broker, request: RequestOf<"Metadata">, version: number): Effect.Effect<Response> =>
  Effect.gen(function*() {
    const { list, idOf } = yield* brokerIds(broker)
    const selfId = idOf.get(broker.directory.self) ?? -1
    const view = yield* broker.log.topics
    // v0 asks for every topic with an empty list; v1+ with null.
    const all = request.topics === null || (version === 0 && request.topics.length === 0)
    const wanted = all ? [...view.values()].sort((a, b) => (a.name < b.name ? -1 : 1)) : request.topics!
    const topics = yield* Effect.forEach(wanted, (t) =>
      Effect.gen(function*() {
        const found = "replicas" in t ? t : yield* lookup(broker, view, t)
        if (!("replicas" in found)) return version >= 12 || found.name !== null ? found : { ...found, name: "" }
        return topicEntry(found, yield* partitionEntries(broker, found, idOf, selfId))
      }))
    const controller = yield* broker.log.controller
    return {
      throttleTimeMs: 0,
      brokers: list.map(brokerEntry),
      clusterId: broker.clusterId,
      controllerId: controller === undefined ? selfId : (idOf.get(controller) ?? selfId),
      topics,
      clusterAuthorizedOperations: NO_AUTHORIZED_OPERATIONS
    }
  })
