/**
 * ListOffsets (key 2), v0-10, flexible from v6: the offset for a timestamp
 * (-2 earliest, -1 latest, -3 max timestamp). v0 answers with a list of
 * old-style offsets; v1+ with one offset and its timestamp.
 */
import { array, field, int16, int32, int64, int8, message, string, struct } from "../schema.ts"

const ListOffsetsPartition = struct("ListOffsetsPartition", {
  partitionIndex: field(int32, "0+"),
  currentLeaderEpoch: field(int32, "4+", { ignorable: true, default: -1 }),
  timestamp: field(int64, "0+"),
  maxNumOffsets: field(int32, "0", { default: 1 })
})

const ListOffsetsTopic = struct("ListOffsetsTopic", {
  name: field(string, "0+"),
  partitions: field(array(ListOffsetsPartition), "0+")
})

export const ListOffsetsRequest = message({
  name: "ListOffsetsRequest",
  apiKey: 2,
  validVersions: "0-10",
  flexibleVersions: "6+",
  fields: {
    replicaId: field(int32, "0+"),
    isolationLevel: field(int8, "2+"),
    topics: field(array(ListOffsetsTopic), "0+"),
    timeoutMs: field(int32, "10+", { ignorable: true })
  }
})

const ListOffsetsPartitionResponse = struct("ListOffsetsPartitionResponse", {
  partitionIndex: field(int32, "0+"),
  errorCode: field(int16, "0+"),
  oldStyleOffsets: field(array(int64), "0"),
  timestamp: field(int64, "1+", { default: -1n }),
  offset: field(int64, "1+", { default: -1n }),
  leaderEpoch: field(int32, "4+", { default: -1 })
})

const ListOffsetsTopicResponse = struct("ListOffsetsTopicResponse", {
  name: field(string, "0+"),
  partitions: field(array(ListOffsetsPartitionResponse), "0+")
})

export const ListOffsetsResponse = message({
  name: "ListOffsetsResponse",
  apiKey: 2,
  validVersions: "0-10",
  flexibleVersions: "6+",
  fields: {
    throttleTimeMs: field(int32, "2+", { ignorable: true }),
    topics: field(array(ListOffsetsTopicResponse), "0+")
  }
})
