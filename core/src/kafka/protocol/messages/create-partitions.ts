/** CreatePartitions (key 37), v0-3, flexible from v2: grow a topic to `count` partitions. */
import { array, bool, field, int16, int32, message, nullable, string, struct } from "../schema.ts"

const CreatePartitionsAssignment = struct("CreatePartitionsAssignment", {
  brokerIds: field(array(int32), "0+")
})

const CreatePartitionsTopic = struct("CreatePartitionsTopic", {
  name: field(string, "0+"),
  count: field(int32, "0+"),
  assignments: nullable(array(CreatePartitionsAssignment), "0+", "0+")
})

export const CreatePartitionsRequest = message({
  name: "CreatePartitionsRequest",
  apiKey: 37,
  validVersions: "0-3",
  flexibleVersions: "2+",
  fields: {
    topics: field(array(CreatePartitionsTopic), "0+"),
    timeoutMs: field(int32, "0+"),
    validateOnly: field(bool, "0+")
  }
})

const CreatePartitionsTopicResult = struct("CreatePartitionsTopicResult", {
  name: field(string, "0+"),
  errorCode: field(int16, "0+"),
  errorMessage: nullable(string, "0+", "0+", { default: null })
})

export const CreatePartitionsResponse = message({
  name: "CreatePartitionsResponse",
  apiKey: 37,
  validVersions: "0-3",
  flexibleVersions: "2+",
  fields: {
    throttleTimeMs: field(int32, "0+"),
    results: field(array(CreatePartitionsTopicResult), "0+")
  }
})
