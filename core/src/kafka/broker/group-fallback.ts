/**
 * The group APIs' answers when no group coordinator runs on this broker:
 * COORDINATOR_NOT_AVAILABLE (15) in each API's own response shape, for
 * the version asked, so a client reads a retriable error rather than a
 * closed connection.
 */
import type { RequestOf, ResponseOf } from "../protocol/api-table.ts"
import { KafkaErrorCode } from "./error-codes.ts"
import type { GroupApiName } from "./group-port.ts"

const E = KafkaErrorCode.COORDINATOR_NOT_AVAILABLE
const NO_OPS = -2147483648

type Answer<N extends GroupApiName> = (body: RequestOf<N>, version: number) => ResponseOf<N>

const answers: { readonly [N in GroupApiName]: Answer<N> } = {
  FindCoordinator: (body, version) => ({
    throttleTimeMs: 0,
    errorCode: version < 4 ? E : 0,
    errorMessage: version < 4 ? "no group coordinator runs in this cluster yet" : null,
    // v4+ carries coordinators per key; the single-coordinator fields must then keep their defaults.
    nodeId: version < 4 ? -1 : 0,
    host: "",
    port: version < 4 ? -1 : 0,
    coordinators: version < 4 ? [] : body.coordinatorKeys.map((key) => ({ key, nodeId: -1, host: "", port: -1, errorCode: E, errorMessage: "no group coordinator runs in this cluster yet" }))
  }),
  JoinGroup: (body, version) => ({
    throttleTimeMs: 0, errorCode: E, generationId: -1, protocolType: null, protocolName: version >= 7 ? null : "", leader: "", skipAssignment: false, memberId: body.memberId, members: []
  }),
  SyncGroup: () => ({ throttleTimeMs: 0, errorCode: E, protocolType: null, protocolName: null, assignment: new Uint8Array(0) }),
  Heartbeat: () => ({ throttleTimeMs: 0, errorCode: E }),
  LeaveGroup: () => ({ throttleTimeMs: 0, errorCode: E, members: [] }),
  OffsetCommit: (body) => ({
    throttleTimeMs: 0,
    topics: body.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: E })) }))
  }),
  OffsetFetch: (body, version) => ({
    throttleTimeMs: 0,
    topics: version < 8
      ? (body.topics ?? []).map((t) => ({
        name: t.name,
        partitions: t.partitionIndexes.map((partitionIndex) => ({ partitionIndex, committedOffset: -1n, committedLeaderEpoch: -1, metadata: null, errorCode: E }))
      }))
      : [],
    errorCode: version >= 2 && version < 8 ? E : 0,
    groups: version >= 8 ? body.groups.map((g) => ({ groupId: g.groupId, topics: [], errorCode: E })) : []
  }),
  DescribeGroups: (body) => ({
    throttleTimeMs: 0,
    groups: body.groups.map((groupId) => ({ errorCode: E, groupId, groupState: "", protocolType: "", protocolData: "", members: [], authorizedOperations: NO_OPS }))
  }),
  ListGroups: () => ({ throttleTimeMs: 0, errorCode: E, groups: [] }),
  DeleteGroups: (body) => ({ throttleTimeMs: 0, results: body.groupsNames.map((groupId) => ({ groupId, errorCode: E })) })
}

/** The COORDINATOR_NOT_AVAILABLE answer to a group request. */
export const noCoordinator = <N extends GroupApiName>(api: N, body: RequestOf<N>, version: number): ResponseOf<N> => (answers[api] as Answer<N>)(body, version)
