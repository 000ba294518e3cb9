/**
 * AddPartitionsToTxn (key 24), v0-5, flexible from v3: a transactional
 * producer names the partitions it is about to write in its transaction.
 * v0-3 carry one transaction (clients send these); v4+ batch several and
 * add VerifyOnly (KIP-890: brokers ask the coordinator; Cairn answers it
 * without adding anything).
 */
import { array, bool, field, int16, int32, int64, message, string, struct } from "../schema.ts"

const AddPartitionsToTxnTopic = struct("AddPartitionsToTxnTopic", {
  name: field(string, "0+"),
  partitions: field(array(int32), "0+")
})

const AddPartitionsToTxnTransaction = struct("AddPartitionsToTxnTransaction", {
  transactionalId: field(string, "4+"),
  producerId: field(int64, "4+"),
  producerEpoch: field(int16, "4+"),
  verifyOnly: field(bool, "4+", { default: false }),
  topics: field(array(AddPartitionsToTxnTopic), "4+")
})

export const AddPartitionsToTxnRequest = message({
  name: "AddPartitionsToTxnRequest",
  apiKey: 24,
  validVersions: "0-5",
  flexibleVersions: "3+",
  fields: {
    transactions: field(array(AddPartitionsToTxnTransaction), "4+"),
    v3AndBelowTransactionalId: field(string, "0-3"),
    v3AndBelowProducerId: field(int64, "0-3"),
    v3AndBelowProducerEpoch: field(int16, "0-3"),
    v3AndBelowTopics: field(array(AddPartitionsToTxnTopic), "0-3")
  }
})

const AddPartitionsToTxnPartitionResult = struct("AddPartitionsToTxnPartitionResult", {
  partitionIndex: field(int32, "0+"),
  partitionErrorCode: field(int16, "0+")
})

const AddPartitionsToTxnTopicResult = struct("AddPartitionsToTxnTopicResult", {
  name: field(string, "0+"),
  resultsByPartition: field(array(AddPartitionsToTxnPartitionResult), "0+")
})

const AddPartitionsToTxnResult = struct("AddPartitionsToTxnResult", {
  transactionalId: field(string, "4+"),
  topicResults: field(array(AddPartitionsToTxnTopicResult), "4+")
})

export const AddPartitionsToTxnResponse = message({
  name: "AddPartitionsToTxnResponse",
  apiKey: 24,
  validVersions: "0-5",
  flexibleVersions: "3+",
  fields: {
    throttleTimeMs: field(int32, "0+"),
    errorCode: field(int16, "4+", { ignorable: true }),
    resultsByTransaction: field(array(AddPartitionsToTxnResult), "4+"),
    resultsByTopicV3AndBelow: field(array(AddPartitionsToTxnTopicResult), "0-3")
  }
})
