/**
 * Produce (key 0), v0-11, flexible from v9. The records of each partition
 * are carried as opaque bytes: the RecordBatch v2 inside is checked by
 * `log/record-batch.ts` (see `records.ts`), not here. v10+ responses may
 * name the current leader in tagged fields so a client can redirect.
 */
import { array, field, int16, int32, int64, message, nullable, records, string, struct } from "../schema.ts"

const PartitionProduceData = struct("PartitionProduceData", {
  index: field(int32, "0+"),
  records: nullable(records, "0+", "0+")
})

const TopicProduceData = struct("TopicProduceData", {
  name: field(string, "0+"),
  partitionData: field(array(PartitionProduceData), "0+")
})

export const ProduceRequest = message({
  name: "ProduceRequest",
  apiKey: 0,
  validVersions: "0-11",
  flexibleVersions: "9+",
  fields: {
    transactionalId: nullable(string, "3+", "3+", { default: null }),
    acks: field(int16, "0+"),
    timeoutMs: field(int32, "0+"),
    topicData: field(array(TopicProduceData), "0+")
  }
})

const BatchIndexAndErrorMessage = struct("BatchIndexAndErrorMessage", {
  batchIndex: field(int32, "8+"),
  batchIndexErrorMessage: nullable(string, "8+", "8+", { default: null })
})

const LeaderIdAndEpoch = struct("LeaderIdAndEpoch", {
  leaderId: field(int32, "10+", { default: -1 }),
  leaderEpoch: field(int32, "10+", { default: -1 })
})

const PartitionProduceResponse = struct("PartitionProduceResponse", {
  index: field(int32, "0+"),
  errorCode: field(int16, "0+"),
  baseOffset: field(int64, "0+"),
  logAppendTimeMs: field(int64, "2+", { ignorable: true, default: -1n }),
  logStartOffset: field(int64, "5+", { ignorable: true, default: -1n }),
  recordErrors: field(array(BatchIndexAndErrorMessage), "8+", { ignorable: true }),
  errorMessage: nullable(string, "8+", "8+", { ignorable: true, default: null }),
  currentLeader: field(LeaderIdAndEpoch, "10+", { tag: 0, taggedVersions: "10+" })
})

const TopicProduceResponse = struct("TopicProduceResponse", {
  name: field(string, "0+"),
  partitionResponses: field(array(PartitionProduceResponse), "0+")
})

const NodeEndpoint = struct("NodeEndpoint", {
  nodeId: field(int32, "10+"),
  host: field(string, "10+"),
  port: field(int32, "10+"),
  rack: nullable(string, "10+", "10+", { default: null })
})

export const ProduceResponse = message({
  name: "ProduceResponse",
  apiKey: 0,
  validVersions: "0-11",
  flexibleVersions: "9+",
  fields: {
    responses: field(array(TopicProduceResponse), "0+"),
    throttleTimeMs: field(int32, "1+", { ignorable: true }),
    nodeEndpoints: field(array(NodeEndpoint), "10+", { tag: 0, taggedVersions: "10+" })
  }
})
