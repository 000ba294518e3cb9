/**
 * The APIs Cairn's Kafka codec speaks: for each, its key, its request and
 * response schemas, and the versions Cairn supports — the range an
 * ApiVersions response advertises and `request.ts` accepts. That range is
 * the message definition's own, except Produce below v3 and Fetch below v4,
 * which carry the pre-2017 message sets (magic 0 and 1) Cairn never stores:
 * its log holds RecordBatch v2 only (Kafka 4 dropped them for the same
 * reason). Clients pick the highest version both sides support.
 */
import { assert } from "../../invariant/invariant.ts"
import { AddOffsetsToTxnRequest, AddOffsetsToTxnResponse } from "./messages/add-offsets-to-txn.ts"
import { AddPartitionsToTxnRequest, AddPartitionsToTxnResponse } from "./messages/add-partitions-to-txn.ts"
import { ApiVersionsRequest, ApiVersionsResponse } from "./messages/api-versions.ts"
import { CreatePartitionsRequest, CreatePartitionsResponse } from "./messages/create-partitions.ts"
import { CreateTopicsRequest, CreateTopicsResponse } from "./messages/create-topics.ts"
import { DeleteGroupsRequest, DeleteGroupsResponse } from "./messages/delete-groups.ts"
import { DeleteTopicsRequest, DeleteTopicsResponse } from "./messages/delete-topics.ts"
import { DescribeClusterRequest, DescribeClusterResponse } from "./messages/describe-cluster.ts"
import { DescribeConfigsRequest, DescribeConfigsResponse } from "./messages/describe-configs.ts"
import { DescribeGroupsRequest, DescribeGroupsResponse } from "./messages/describe-groups.ts"
import { EndTxnRequest, EndTxnResponse } from "./messages/end-txn.ts"
import { FetchRequest, FetchResponse } from "./messages/fetch.ts"
import { FindCoordinatorRequest, FindCoordinatorResponse } from "./messages/find-coordinator.ts"
import { HeartbeatRequest, HeartbeatResponse } from "./messages/heartbeat.ts"
import { InitProducerIdRequest, InitProducerIdResponse } from "./messages/init-producer-id.ts"
import { JoinGroupRequest, JoinGroupResponse } from "./messages/join-group.ts"
import { LeaveGroupRequest, LeaveGroupResponse } from "./messages/leave-group.ts"
import { ListGroupsRequest, ListGroupsResponse } from "./messages/list-groups.ts"
import { ListOffsetsRequest, ListOffsetsResponse } from "./messages/list-offsets.ts"
import { MetadataRequest, MetadataResponse } from "./messages/metadata.ts"
import { OffsetCommitRequest, OffsetCommitResponse } from "./messages/offset-commit.ts"
import { OffsetFetchRequest, OffsetFetchResponse } from "./messages/offset-fetch.ts"
import { ProduceRequest, ProduceResponse } from "./messages/produce.ts"
import { SaslAuthenticateRequest, SaslAuthenticateResponse } from "./messages/sasl-authenticate.ts"
import { SaslHandshakeRequest, SaslHandshakeResponse } from "./messages/sasl-handshake.ts"
import { SyncGroupRequest, SyncGroupResponse } from "./messages/sync-group.ts"
import { TxnOffsetCommitRequest, TxnOffsetCommitResponse } from "./messages/txn-offset-commit.ts"
import type { Infer, MessageSchema } from "./schema.ts"
import { inRange } from "./versions.ts"

export interface ApiEntry<Req, Res> {
  readonly apiKey: number
  readonly minVersion: number
  readonly maxVersion: number
  readonly request: MessageSchema<Req>
  readonly response: MessageSchema<Res>
}

/** An API with the versions of its definition, or from `minVersion` up. */
const api = <Req, Res>(request: MessageSchema<Req>, response: MessageSchema<Res>, minVersion = request.validVersions.lo): ApiEntry<Req, Res> => {
  assert(request.apiKey === response.apiKey, `${request.name} and ${response.name} have different keys`)
  assert(
    request.validVersions.lo === response.validVersions.lo && request.validVersions.hi === response.validVersions.hi,
    `${request.name} and ${response.name} have different versions`
  )
  assert(inRange(request.validVersions, minVersion), `${request.name} has no version ${minVersion}`)
  return { apiKey: request.apiKey, minVersion, maxVersion: request.validVersions.hi, request, response }
}

export const kafkaApis = {
  Produce: api(ProduceRequest, ProduceResponse, 3),
  Fetch: api(FetchRequest, FetchResponse, 4),
  ListOffsets: api(ListOffsetsRequest, ListOffsetsResponse),
  Metadata: api(MetadataRequest, MetadataResponse),
  OffsetCommit: api(OffsetCommitRequest, OffsetCommitResponse),
  OffsetFetch: api(OffsetFetchRequest, OffsetFetchResponse),
  FindCoordinator: api(FindCoordinatorRequest, FindCoordinatorResponse),
  JoinGroup: api(JoinGroupRequest, JoinGroupResponse),
  Heartbeat: api(HeartbeatRequest, HeartbeatResponse),
  LeaveGroup: api(LeaveGroupRequest, LeaveGroupResponse),
  SyncGroup: api(SyncGroupRequest, SyncGroupResponse),
  DescribeGroups: api(DescribeGroupsRequest, DescribeGroupsResponse),
  ListGroups: api(ListGroupsRequest, ListGroupsResponse),
  ApiVersions: api(ApiVersionsRequest, ApiVersionsResponse),
  CreateTopics: api(CreateTopicsRequest, CreateTopicsResponse),
  DeleteTopics: api(DeleteTopicsRequest, DeleteTopicsResponse),
  InitProducerId: api(InitProducerIdRequest, InitProducerIdResponse),
  AddPartitionsToTxn: api(AddPartitionsToTxnRequest, AddPartitionsToTxnResponse),
  AddOffsetsToTxn: api(AddOffsetsToTxnRequest, AddOffsetsToTxnResponse),
  EndTxn: api(EndTxnRequest, EndTxnResponse),
  TxnOffsetCommit: api(TxnOffsetCommitRequest, TxnOffsetCommitResponse),
  DescribeConfigs: api(DescribeConfigsRequest, DescribeConfigsResponse),
  CreatePartitions: api(CreatePartitionsRequest, CreatePartitionsResponse),
  DeleteGroups: api(DeleteGroupsRequest, DeleteGroupsResponse),
  DescribeCluster: api(DescribeClusterRequest, DescribeClusterResponse),
  // Advertised from v0 (librdkafka requires it to see SASL at all); a v0 handshake, whose tokens would follow outside
  // Kafka's framing, is answered UNSUPPORTED_SASL_MECHANISM by the broker.
  SaslHandshake: api(SaslHandshakeRequest, SaslHandshakeResponse),
  SaslAuthenticate: api(SaslAuthenticateRequest, SaslAuthenticateResponse)
} as const

export type KafkaApis = typeof kafkaApis
export type ApiName = keyof KafkaApis
export type RequestOf<N extends ApiName> = Infer<KafkaApis[N]["request"]>
export type ResponseOf<N extends ApiName> = Infer<KafkaApis[N]["response"]>

export const apiNames = Object.keys(kafkaApis) as ReadonlyArray<ApiName>

const byKey: ReadonlyMap<number, ApiName> = new Map(apiNames.map((name) => [kafkaApis[name].apiKey, name]))
assert(byKey.size === apiNames.length, "two APIs share a key")

/** The API with this key, if Cairn speaks it. */
export const apiByKey = (apiKey: number): ApiName | undefined => byKey.get(apiKey)

/** The table an ApiVersions response carries, in key order. */
export const supportedApiVersions = (): ReadonlyArray<{ readonly apiKey: number; readonly minVersion: number; readonly maxVersion: number }> =>
  apiNames
    .map((name) => ({ apiKey: kafkaApis[name].apiKey, minVersion: kafkaApis[name].minVersion, maxVersion: kafkaApis[name].maxVersion }))
    .sort((a, b) => a.apiKey - b.apiKey)
