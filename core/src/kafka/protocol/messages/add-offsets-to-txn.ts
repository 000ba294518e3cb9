/**
 * AddOffsetsToTxn (key 25), v0-4, flexible from v3: a transactional
 * producer names the consumer group whose offsets it will commit in its
 * transaction (TxnOffsetCommit follows).
 */
import { field, int16, int32, int64, message, string } from "../schema.ts"

export const AddOffsetsToTxnRequest = message({
  name: "AddOffsetsToTxnRequest",
  apiKey: 25,
  validVersions: "0-4",
  flexibleVersions: "3+",
  fields: {
    transactionalId: field(string, "0+"),
    producerId: field(int64, "0+"),
    producerEpoch: field(int16, "0+"),
    groupId: field(string, "0+")
  }
})

export const AddOffsetsToTxnResponse = message({
  name: "AddOffsetsToTxnResponse",
  apiKey: 25,
  validVersions: "0-4",
  flexibleVersions: "3+",
  fields: {
    throttleTimeMs: field(int32, "0+"),
    errorCode: field(int16, "0+")
  }
})
