/**
 * Metadata (key 3), v0-12, flexible from v9: brokers, topics, partitions
 * and their leaders. A null topic list (v1+) asks for every topic; v10+
 * carries topic ids.
 */
import { array, bool, field, int16, int32, message, nullable, string, struct, uuid } from "../schema.ts"

const MetadataRequestTopic = struct("MetadataRequestTopic", {
  topicId: field(uuid, "10+", { ignorable: true }),
  name: nullable(string, "0+", "10+")
})

export const MetadataRequest = message({
  name: "MetadataRequest",
  apiKey: 3,
  validVersions: "0-12",
  flexibleVersions: "9+",
  fields: {
    topics: nullable(array(MetadataRequestTopic), "0+", "1+"),
    allowAutoTopicCreation: field(bool, "4+", { default: true }),
    includeClusterAuthorizedOperations: field(bool, "8-10"),
    includeTopicAuthorizedOperations: field(bool, "8+")
  }
})

const MetadataResponseBroker = struct("MetadataResponseBroker", {
  nodeId: field(int32, "0+"),
  host: field(string, "0+"),
  port: field(int32, "0+"),
  rack: nullable(string, "1+", "1+", { ignorable: true, default: null })
})

const MetadataResponsePartition = struct("MetadataResponsePartition", {
  errorCode: field(int16, "0+"),
  partitionIndex: field(int32, "0+"),
  leaderId: field(int32, "0+"),
  leaderEpoch: field(int32, "7+", { ignorable: true, default: -1 }),
  replicaNodes: field(array(int32), "0+"),
  isrNodes: field(array(int32), "0+"),
  offlineReplicas: field(array(int32), "5+", { ignorable: true })
})

const MetadataResponseTopic = struct("MetadataResponseTopic", {
  errorCode: field(int16, "0+"),
  name: nullable(string, "0+", "12+"),
  topicId: field(uuid, "10+", { ignorable: true }),
  isInternal: field(bool, "1+", { ignorable: true }),
  partitions: field(array(MetadataResponsePartition), "0+"),
  topicAuthorizedOperations: field(int32, "8+", { default: -2147483648 })
})

export const MetadataResponse = message({
  name: "MetadataResponse",
  apiKey: 3,
  validVersions: "0-12",
  flexibleVersions: "9+",
  fields: {
    throttleTimeMs: field(int32, "3+", { ignorable: true }),
    brokers: field(array(MetadataResponseBroker), "0+"),
    clusterId: nullable(string, "2+", "2+", { ignorable: true, default: null }),
    controllerId: field(int32, "1+", { ignorable: true, default: -1 }),
    topics: field(array(MetadataResponseTopic), "0+"),
    clusterAuthorizedOperations: field(int32, "8-10", { default: -2147483648 })
  }
})
