/**
 * CreateTopics (key 19), v0-7, flexible from v5: topics with a partition
 * count and replication factor (-1: the broker's default) or explicit
 * assignments, and configs. v5+ responses echo the resulting configs.
 */
import { array, bool, field, int16, int32, int8, message, nullable, string, struct, uuid } from "../schema.ts"

const CreatableReplicaAssignment = struct("CreatableReplicaAssignment", {
  partitionIndex: field(int32, "0+"),
  brokerIds: field(array(int32), "0+")
})

const CreatableTopicConfig = struct("CreatableTopicConfig", {
  name: field(string, "0+"),
  value: nullable(string, "0+", "0+")
})

const CreatableTopic = struct("CreatableTopic", {
  name: field(string, "0+"),
  numPartitions: field(int32, "0+"),
  replicationFactor: field(int16, "0+"),
  assignments: field(array(CreatableReplicaAssignment), "0+"),
  configs: field(array(CreatableTopicConfig), "0+")
})

export const CreateTopicsRequest = message({
  name: "CreateTopicsRequest",
  apiKey: 19,
  validVersions: "0-7",
  flexibleVersions: "5+",
  fields: {
    topics: field(array(CreatableTopic), "0+"),
    timeoutMs: field(int32, "0+", { default: 60000 }),
    validateOnly: field(bool, "1+")
  }
})

const CreatableTopicConfigs = struct("CreatableTopicConfigs", {
  name: field(string, "5+"),
  value: nullable(string, "5+", "5+"),
  readOnly: field(bool, "5+"),
  configSource: field(int8, "5+", { ignorable: true, default: -1 }),
  isSensitive: field(bool, "5+")
})

const CreatableTopicResult = struct("CreatableTopicResult", {
  name: field(string, "0+"),
  topicId: field(uuid, "7+", { ignorable: true }),
  errorCode: field(int16, "0+"),
  errorMessage: nullable(string, "1+", "0+", { ignorable: true }),
  topicConfigErrorCode: field(int16, "5+", { ignorable: true, tag: 0, taggedVersions: "5+" }),
  numPartitions: field(int32, "5+", { ignorable: true, default: -1 }),
  replicationFactor: field(int16, "5+", { ignorable: true, default: -1 }),
  configs: nullable(array(CreatableTopicConfigs), "5+", "5+", { ignorable: true })
})

export const CreateTopicsResponse = message({
  name: "CreateTopicsResponse",
  apiKey: 19,
  validVersions: "0-7",
  flexibleVersions: "5+",
  fields: {
    throttleTimeMs: field(int32, "2+", { ignorable: true }),
    topics: field(array(CreatableTopicResult), "0+")
  }
})
