/**
 * TxnOffsetCommit (key 28), v0-4, flexible from v3: consumer offsets
 * committed inside a transaction (visible only if it commits); v3+ carry
 * the consumer's group generation and member.
 */
import { array, field, int16, int32, int64, message, nullable, string, struct } from "../schema.ts"

const TxnOffsetCommitRequestPartition = struct("TxnOffsetCommitRequestPartition", {
  partitionIndex: field(int32, "0+"),
  committedOffset: field(int64, "0+"),
  committedLeaderEpoch: field(int32, "2+", { ignorable: true, default: -1 }),
  committedMetadata: nullable(string, "0+", "0+")
})

const TxnOffsetCommitRequestTopic = struct("TxnOffsetCommitRequestTopic", {
  name: field(string, "0+"),
  partitions: field(array(TxnOffsetCommitRequestPartition), "0+")
})

export const TxnOffsetCommitRequest = message({
  name: "TxnOffsetCommitRequest",
  apiKey: 28,
  validVersions: "0-4",
  flexibleVersions: "3+",
  fields: {
    transactionalId: field(string, "0+"),
    groupId: field(string, "0+"),
    producerId: field(int64, "0+"),
    producerEpoch: field(int16, "0+"),
    generationId: field(int32, "3+", { default: -1 }),
    memberId: field(string, "3+"),
    groupInstanceId: nullable(string, "3+", "3+", { default: null }),
    topics: field(array(TxnOffsetCommitRequestTopic), "0+")
  }
})

const TxnOffsetCommitResponsePartition = struct("TxnOffsetCommitResponsePartition", {
  partitionIndex: field(int32, "0+"),
  errorCode: field(int16, "0+")
})

const TxnOffsetCommitResponseTopic = struct("TxnOffsetCommitResponseTopic", {
  name: field(string, "0+"),
  partitions: field(array(TxnOffsetCommitResponsePartition), "0+")
})

export const TxnOffsetCommitResponse = message({
  name: "TxnOffsetCommitResponse",
  apiKey: 28,
  validVersions: "0-4",
  flexibleVersions: "3+",
  fields: {
    throttleTimeMs: field(int32, "0+"),
    topics: field(array(TxnOffsetCommitResponseTopic), "0+")
  }
})
