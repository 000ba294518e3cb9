/**
 * OffsetFetch (key 9), v0-9, flexible from v6: a group's committed
 * offsets. A null topic list (v2+) asks for every partition; v8+ asks for
 * several groups at once.
 */
import { array, bool, field, int16, int32, int64, message, nullable, string, struct } from "../schema.ts"

const OffsetFetchRequestTopic = struct("OffsetFetchRequestTopic", {
  name: field(string, "0-7"),
  partitionIndexes: field(array(int32), "0-7")
})

const OffsetFetchRequestTopics = struct("OffsetFetchRequestTopics", {
  name: field(string, "8+"),
  partitionIndexes: field(array(int32), "8+")
})

const OffsetFetchRequestGroup = struct("OffsetFetchRequestGroup", {
  groupId: field(string, "8+"),
  memberId: nullable(string, "9+", "9+", { ignorable: true, default: null }),
  memberEpoch: field(int32, "9+", { ignorable: true, default: -1 }),
  topics: nullable(array(OffsetFetchRequestTopics), "8+", "8+")
})

export const OffsetFetchRequest = message({
  name: "OffsetFetchRequest",
  apiKey: 9,
  validVersions: "0-9",
  flexibleVersions: "6+",
  fields: {
    groupId: field(string, "0-7"),
    topics: nullable(array(OffsetFetchRequestTopic), "0-7", "2-7"),
    groups: field(array(OffsetFetchRequestGroup), "8+"),
    requireStable: field(bool, "7+")
  }
})

const OffsetFetchResponsePartition = struct("OffsetFetchResponsePartition", {
  partitionIndex: field(int32, "0-7"),
  committedOffset: field(int64, "0-7"),
  committedLeaderEpoch: field(int32, "5-7", { ignorable: true, default: -1 }),
  metadata: nullable(string, "0-7", "0-7"),
  errorCode: field(int16, "0-7")
})

const OffsetFetchResponseTopic = struct("OffsetFetchResponseTopic", {
  name: field(string, "0-7"),
  partitions: field(array(OffsetFetchResponsePartition), "0-7")
})

const OffsetFetchResponsePartitions = struct("OffsetFetchResponsePartitions", {
  partitionIndex: field(int32, "8+"),
  committedOffset: field(int64, "8+"),
  committedLeaderEpoch: field(int32, "8+", { ignorable: true, default: -1 }),
  metadata: nullable(string, "8+", "8+"),
  errorCode: field(int16, "8+")
})

const OffsetFetchResponseTopics = struct("OffsetFetchResponseTopics", {
  name: field(string, "8+"),
  partitions: field(array(OffsetFetchResponsePartitions), "8+")
})

const OffsetFetchResponseGroup = struct("OffsetFetchResponseGroup", {
  groupId: field(string, "8+"),
  topics: field(array(OffsetFetchResponseTopics), "8+"),
  errorCode: field(int16, "8+")
})

export const OffsetFetchResponse = message({
  name: "OffsetFetchResponse",
  apiKey: 9,
  validVersions: "0-9",
  flexibleVersions: "6+",
  fields: {
    throttleTimeMs: field(int32, "3+", { ignorable: true }),
    topics: field(array(OffsetFetchResponseTopic), "0-7"),
    errorCode: field(int16, "2-7", { ignorable: true }),
    groups: field(array(OffsetFetchResponseGroup), "8+")
  }
})
