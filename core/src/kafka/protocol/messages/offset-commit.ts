/**
 * OffsetCommit (key 8), v0-9, flexible from v8: a group member's committed
 * offsets, fenced by generation (v1+) and static member id (v7+).
 */
import { array, field, int16, int32, int64, message, nullable, string, struct } from "../schema.ts"

const OffsetCommitRequestPartition = struct("OffsetCommitRequestPartition", {
  partitionIndex: field(int32, "0+"),
  committedOffset: field(int64, "0+"),
  committedLeaderEpoch: field(int32, "6+", { ignorable: true, default: -1 }),
  commitTimestamp: field(int64, "1", { default: -1n }),
  committedMetadata: nullable(string, "0+", "0+")
})

const OffsetCommitRequestTopic = struct("OffsetCommitRequestTopic", {
  name: field(string, "0+"),
  partitions: field(array(OffsetCommitRequestPartition), "0+")
})

export const OffsetCommitRequest = message({
  name: "OffsetCommitRequest",
  apiKey: 8,
  validVersions: "0-9",
  flexibleVersions: "8+",
  fields: {
    groupId: field(string, "0+"),
    generationIdOrMemberEpoch: field(int32, "1+", { ignorable: true, default: -1 }),
    memberId: field(string, "1+", { ignorable: true }),
    groupInstanceId: nullable(string, "7+", "7+", { default: null }),
    retentionTimeMs: field(int64, "2-4", { ignorable: true, default: -1n }),
    topics: field(array(OffsetCommitRequestTopic), "0+")
  }
})

const OffsetCommitResponsePartition = struct("OffsetCommitResponsePartition", {
  partitionIndex: field(int32, "0+"),
  errorCode: field(int16, "0+")
})

const OffsetCommitResponseTopic = struct("OffsetCommitResponseTopic", {
  name: field(string, "0+"),
  partitions: field(array(OffsetCommitResponsePartition), "0+")
})

export const OffsetCommitResponse = message({
  name: "OffsetCommitResponse",
  apiKey: 8,
  validVersions: "0-9",
  flexibleVersions: "8+",
  fields: {
    throttleTimeMs: field(int32, "3+", { ignorable: true }),
    topics: field(array(OffsetCommitResponseTopic), "0+")
  }
})
