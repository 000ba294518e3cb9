/**
 * The small cluster-level APIs: ApiVersions (the table of what Cairn
 * speaks), DescribeCluster (the brokers and the controller, which is the
 * leader of the cluster's metadata Raft group) and InitProducerId (a
 * producer id for an idempotent producer from the log's producer ids; one
 * with a transactional id goes to the transaction coordinator, `dispatch.ts`).
 */
import { Effect } from "effect"
import { supportedApiVersions, type RequestOf, type ResponseOf } from "../protocol/api-table.ts"
import type { Broker } from "./broker-log.ts"
import { KafkaErrorCode, kafkaErrorOf } from "./error-codes.ts"
import { brokerIds } from "./metadata.ts"

export const handleApiVersions = (): ResponseOf<"ApiVersions"> => ({
  errorCode: KafkaErrorCode.NONE,
  apiKeys: supportedApiVersions(),
  throttleTimeMs: 0,
  supportedFeatures: [],
  finalizedFeaturesEpoch: -1n,
  finalizedFeatures: [],
  zkMigrationReady: false
})

/** KIP-919's endpoint types: brokers (1) are what Cairn has; it runs no separate controllers (2). */
const BROKERS_ENDPOINT = 1

export const handleDescribeCluster = (broker: Broker, request: RequestOf<"DescribeCluster">): Effect.Effect<ResponseOf<"DescribeCluster">> =>
  Effect.gen(function*() {
    const { list, idOf } = yield* brokerIds(broker)
    const controller = yield* broker.log.controller
    const base = { throttleTimeMs: 0, endpointType: request.endpointType, clusterId: broker.clusterId, clusterAuthorizedOperations: -2147483648 }
    if (request.endpointType !== BROKERS_ENDPOINT) {
      return { ...base, errorCode: KafkaErrorCode.UNSUPPORTED_ENDPOINT_TYPE, errorMessage: "Cairn has brokers only (endpoint type 1)", controllerId: -1, brokers: [] }
    }
    return {
      ...base,
      errorCode: KafkaErrorCode.NONE,
      errorMessage: null,
      controllerId: controller === undefined ? -1 : (idOf.get(controller) ?? -1),
      brokers: list.map((b) => ({ brokerId: b.address.brokerId, host: b.address.host, port: b.address.port, rack: b.address.rack }))
    }
  })

export const handleInitProducerId = (broker: Broker, request: RequestOf<"InitProducerId">): Effect.Effect<ResponseOf<"InitProducerId">> =>
  Effect.gen(function*() {
    const failed = (errorCode: number) => ({ throttleTimeMs: 0, errorCode, producerId: -1n, producerEpoch: -1 })
    // dispatch.ts sends transactional ids to the transaction coordinator: one here is a wiring mistake, refused as fatal.
    if (request.transactionalId !== null) return failed(KafkaErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED)
    const identity = yield* Effect.result(broker.log.client.initProducer(""))
    if (identity._tag === "Failure") return failed(kafkaErrorOf(identity.failure))
    return { throttleTimeMs: 0, errorCode: KafkaErrorCode.NONE, producerId: BigInt(identity.success.producerId), producerEpoch: identity.success.epoch }
  })
