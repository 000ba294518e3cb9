/**
 * EndTxn (key 26), v0-4, flexible from v3: a transactional producer
 * commits or aborts its transaction.
 */
import { bool, field, int16, int32, int64, message, string } from "../schema.ts"

export const EndTxnRequest = message({
  name: "EndTxnRequest",
  apiKey: 26,
  validVersions: "0-4",
  flexibleVersions: "3+",
  fields: {
    transactionalId: field(string, "0+"),
    producerId: field(int64, "0+"),
    producerEpoch: field(int16, "0+"),
    committed: field(bool, "0+")
  }
})

export const EndTxnResponse = message({
  name: "EndTxnResponse",
  apiKey: 26,
  validVersions: "0-4",
  flexibleVersions: "3+",
  fields: {
    throttleTimeMs: field(int32, "0+"),
    errorCode: field(int16, "0+")
  }
})
