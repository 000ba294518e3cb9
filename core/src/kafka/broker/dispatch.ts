/**
 * The broker's one entry point for a decoded request: it routes each API
 * to its handler and answers the response body (errors as Kafka error codes
 * inside it), or undefined when the protocol sends no response (Produce
 * with acks=0). The group APIs go to the `GroupCoordinator` when one is
 * configured, else they are answered COORDINATOR_NOT_AVAILABLE; the
 * transaction APIs (InitProducerId with a transactional id, FindCoordinator
 * for one) go to the `TxnCoordinator` likewise (`txn-fallback.ts` without one).
 *
 * `startDispatch` splits Produce in two stages (`produce.ts`: its appends
 * sent, then their outcomes), so a listener can pipeline a connection's
 * Produce requests; every other API is served whole in the first stage.
 */
import { Effect } from "effect"
import type { Clock } from "../../clock/clock.ts"
import type { ApiName, RequestOf, ResponseOf } from "../protocol/api-table.ts"
import type { DecodedRequest } from "../protocol/request.ts"
import type { Broker, ConnectionContext } from "./broker-log.ts"
import { handleApiVersions, handleDescribeCluster, handleInitProducerId } from "./cluster.ts"
import { handleDescribeConfigs } from "./configs.ts"
import { handleFetch } from "./fetch.ts"
import { noCoordinator } from "./group-fallback.ts"
import type { GroupApiName } from "./group-port.ts"
import { handleListOffsets } from "./list-offsets.ts"
import { handleMetadata } from "./metadata.ts"
import { KEY_TYPE_TRANSACTION } from "../group/find-coordinator.ts"
import { type FallbackTxnApi, noTxnCoordinator } from "./txn-fallback.ts"
import { startProduce } from "./produce.ts"
import { ANONYMOUS, handleSaslAuthenticate, handleSaslHandshake } from "./sasl.ts"
import { handleCreatePartitions, handleCreateTopics, handleDeleteTopics } from "./topics-admin.ts"

/** A response body to send for the request, with what encoding it needs. */
export type Answer = { readonly [N in ApiName]: { readonly api: N; readonly version: number; readonly correlationId: number; readonly body: ResponseOf<N> } }[ApiName]

const answer = <N extends ApiName>(request: DecodedRequest & { readonly api: N }, body: ResponseOf<N>): Answer =>
  ({ api: request.api, version: request.header.apiVersion, correlationId: request.header.correlationId, body }) as Answer

const toGroups = (broker: Broker, request: Extract<DecodedRequest, { readonly api: GroupApiName }>, connection: ConnectionContext): Effect.Effect<Answer> => {
  const version = request.header.apiVersion
  // `api` and `body` come from one decoded request, so they match; the union is checked once, here.
  const api: GroupApiName = request.api
  const body = request.body as RequestOf<typeof api>
  if (broker.groups === undefined) return Effect.succeed(answer(request, noCoordinator(api, body, version) as never))
  const context = { apiVersion: version, clientId: request.header.clientId ?? "", clientHost: connection.clientHost, principal: connection.principal ?? ANONYMOUS }
  return Effect.map(broker.groups.handle(api, body, context), (response) => answer(request, response as never))
}

const toTransactions = (broker: Broker, request: Extract<DecodedRequest, { readonly api: FallbackTxnApi }>): Effect.Effect<Answer> => {
  const version = request.header.apiVersion
  const api: FallbackTxnApi = request.api
  const body = request.body as RequestOf<typeof api>
  if (broker.transactions === undefined) return Effect.succeed(answer(request, noTxnCoordinator(api, body) as never))
  return Effect.map(broker.transactions.handle(api, body, version), (response) => answer(request, response as never))
}

export const dispatch = (broker: Broker, request: DecodedRequest, connection: ConnectionContext): Effect.Effect<Answer | undefined, never, Clock> => {
  const version = request.header.apiVersion
  switch (request.api) {
    case "ApiVersions": return Effect.succeed(answer(request, handleApiVersions()))
    case "Metadata": return Effect.map(handleMetadata(broker, request.body, version), (b) => answer(request, b))
    case "Produce": return Effect.flatten(startDispatch(broker, request, connection))
    case "Fetch": return Effect.map(handleFetch(broker, request.body, version), (b) => answer(request, b))
    case "ListOffsets": return Effect.map(handleListOffsets(broker, request.body, version), (b) => answer(request, b))
    case "CreateTopics": return Effect.map(handleCreateTopics(broker, request.body, version), (b) => answer(request, b))
    case "DeleteTopics": return Effect.map(handleDeleteTopics(broker, request.body, version), (b) => answer(request, b))
    case "CreatePartitions": return Effect.map(handleCreatePartitions(broker, request.body), (b) => answer(request, b))
    case "DescribeConfigs": return Effect.map(handleDescribeConfigs(broker, request.body, version), (b) => answer(request, b))
    case "DescribeCluster": return Effect.map(handleDescribeCluster(broker, request.body), (b) => answer(request, b))
    case "InitProducerId":
      if (request.body.transactionalId !== null) return toTransactions(broker, request)
      return Effect.map(handleInitProducerId(broker, request.body), (b) => answer(request, b))
    case "AddPartitionsToTxn":
    case "AddOffsetsToTxn":
    case "EndTxn":
    case "TxnOffsetCommit":
      return toTransactions(broker, request)
    case "SaslHandshake": return Effect.succeed(answer(request, handleSaslHandshake(broker, request.body, version, connection)))
    case "SaslAuthenticate": return Effect.map(handleSaslAuthenticate(broker, request.body, connection), (b) => answer(request, b))
    case "FindCoordinator":
      if (version >= 1 && request.body.keyType === KEY_TYPE_TRANSACTION && broker.transactions !== undefined) {
        return Effect.map(broker.transactions.handle("FindCoordinator", request.body, version), (b) => answer(request, b))
      }
      return toGroups(broker, request, connection)
    case "JoinGroup":
    case "SyncGroup":
    case "Heartbeat":
    case "LeaveGroup":
    case "OffsetCommit":
    case "OffsetFetch":
    case "DescribeGroups":
    case "ListGroups":
    case "DeleteGroups":
      return toGroups(broker, request, connection)
  }
}

/** First stage: a Produce's appends sent, any other request served; the effect returned gives the answer. */
export const startDispatch = (broker: Broker, request: DecodedRequest, connection: ConnectionContext): Effect.Effect<Effect.Effect<Answer | undefined>, never, Clock> =>
  request.api === "Produce"
    ? Effect.map(startProduce(broker, request.body), (finish) => Effect.map(finish, (b) => (b === undefined ? undefined : answer(request, b))))
    : Effect.map(dispatch(broker, request, connection), Effect.succeed)
