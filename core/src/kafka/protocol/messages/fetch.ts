/**
 * Fetch (key 1), v0-17, flexible from v12. Topics are named up to v12 and
 * identified by topic id from v13; v7+ adds incremental fetch sessions,
 * v4+ the isolation level and aborted transactions. Records are opaque
 * bytes (zero or more RecordBatches), as in Produce.
 */
import { array, field, int16, int32, int64, int8, message, nullable, records, string, struct, uuid } from "../schema.ts"

const ReplicaState = struct("ReplicaState", {
  replicaId: field(int32, "15+", { default: -1 }),
  replicaEpoch: field(int64, "15+", { default: -1n })
})

const FetchPartition = struct("FetchPartition", {
  partition: field(int32, "0+"),
  currentLeaderEpoch: field(int32, "9+", { ignorable: true, default: -1 }),
  fetchOffset: field(int64, "0+"),
  lastFetchedEpoch: field(int32, "12+", { default: -1 }),
  logStartOffset: field(int64, "5+", { ignorable: true, default: -1n }),
  partitionMaxBytes: field(int32, "0+"),
  replicaDirectoryId: field(uuid, "17+", { ignorable: true, tag: 0, taggedVersions: "17+" })
})

const FetchTopic = struct("FetchTopic", {
  topic: field(string, "0-12", { ignorable: true }),
  topicId: field(uuid, "13+", { ignorable: true }),
  partitions: field(array(FetchPartition), "0+")
})

const ForgottenTopic = struct("ForgottenTopic", {
  topic: field(string, "7-12", { ignorable: true }),
  topicId: field(uuid, "13+", { ignorable: true }),
  partitions: field(array(int32), "7+")
})

export const FetchRequest = message({
  name: "FetchRequest",
  apiKey: 1,
  validVersions: "0-17",
  flexibleVersions: "12+",
  fields: {
    clusterId: nullable(string, "12+", "12+", { ignorable: true, default: null, tag: 0, taggedVersions: "12+" }),
    replicaId: field(int32, "0-14", { default: -1 }),
    replicaState: field(ReplicaState, "15+", { tag: 1, taggedVersions: "15+" }),
    maxWaitMs: field(int32, "0+"),
    minBytes: field(int32, "0+"),
    maxBytes: field(int32, "3+", { ignorable: true, default: 0x7fffffff }),
    isolationLevel: field(int8, "4+", { ignorable: true }),
    sessionId: field(int32, "7+", { ignorable: true }),
    sessionEpoch: field(int32, "7+", { ignorable: true, default: -1 }),
    topics: field(array(FetchTopic), "0+"),
    forgottenTopicsData: field(array(ForgottenTopic), "7+"),
    rackId: field(string, "11+", { ignorable: true })
  }
})

const EpochEndOffset = struct("EpochEndOffset", {
  epoch: field(int32, "12+", { default: -1 }),
  endOffset: field(int64, "12+", { default: -1n })
})

const LeaderIdAndEpoch = struct("LeaderIdAndEpoch", {
  leaderId: field(int32, "12+", { default: -1 }),
  leaderEpoch: field(int32, "12+", { default: -1 })
})

const SnapshotId = struct("SnapshotId", {
  endOffset: field(int64, "0+", { default: -1n }),
  epoch: field(int32, "0+", { default: -1 })
})

const AbortedTransaction = struct("AbortedTransaction", {
  producerId: field(int64, "4+"),
  firstOffset: field(int64, "4+")
})

const PartitionData = struct("PartitionData", {
  partitionIndex: field(int32, "0+"),
  errorCode: field(int16, "0+"),
  highWatermark: field(int64, "0+"),
  lastStableOffset: field(int64, "4+", { ignorable: true, default: -1n }),
  logStartOffset: field(int64, "5+", { ignorable: true, default: -1n }),
  divergingEpoch: field(EpochEndOffset, "12+", { tag: 0, taggedVersions: "12+" }),
  currentLeader: field(LeaderIdAndEpoch, "12+", { tag: 1, taggedVersions: "12+" }),
  snapshotId: field(SnapshotId, "12+", { tag: 2, taggedVersions: "12+" }),
  abortedTransactions: nullable(array(AbortedTransaction), "4+", "4+", { ignorable: true }),
  preferredReadReplica: field(int32, "11+", { default: -1 }),
  records: nullable(records, "0+", "0+")
})

const FetchableTopicResponse = struct("FetchableTopicResponse", {
  topic: field(string, "0-12", { ignorable: true }),
  topicId: field(uuid, "13+", { ignorable: true }),
  partitions: field(array(PartitionData), "0+")
})

const NodeEndpoint = struct("NodeEndpoint", {
  nodeId: field(int32, "16+"),
  host: field(string, "16+"),
  port: field(int32, "16+"),
  rack: nullable(string, "16+", "16+", { default: null })
})

export const FetchResponse = message({
  name: "FetchResponse",
  apiKey: 1,
  validVersions: "0-17",
  flexibleVersions: "12+",
  fields: {
    throttleTimeMs: field(int32, "1+", { ignorable: true }),
    errorCode: field(int16, "7+", { ignorable: true }),
    sessionId: field(int32, "7+"),
    responses: field(array(FetchableTopicResponse), "0+"),
    nodeEndpoints: field(array(NodeEndpoint), "16+", { tag: 0, taggedVersions: "16+" })
  }
})
