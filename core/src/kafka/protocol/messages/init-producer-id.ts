/**
 * InitProducerId (key 22), v0-5, flexible from v2: a producer id and epoch
 * for an idempotent or transactional producer; v3+ lets a producer bump
 * its own epoch.
 */
import { field, int16, int32, int64, message, nullable, string } from "../schema.ts"

export const InitProducerIdRequest = message({
  name: "InitProducerIdRequest",
  apiKey: 22,
  validVersions: "0-5",
  flexibleVersions: "2+",
  fields: {
    transactionalId: nullable(string, "0+", "0+"),
    transactionTimeoutMs: field(int32, "0+"),
    producerId: field(int64, "3+", { default: -1n }),
    producerEpoch: field(int16, "3+", { default: -1 })
  }
})

export const InitProducerIdResponse = message({
  name: "InitProducerIdResponse",
  apiKey: 22,
  validVersions: "0-5",
  flexibleVersions: "2+",
  fields: {
    throttleTimeMs: field(int32, "0+", { ignorable: true }),
    errorCode: field(int16, "0+"),
    producerId: field(int64, "0+", { default: -1n }),
    producerEpoch: field(int16, "0+")
  }
})
