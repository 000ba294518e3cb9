/**
 * Kafka's transaction markers (KIP-98): a control batch is a RecordBatch v2
 * with the control and transactional attribute bits, the producer id and
 * epoch of the transaction it ends, no sequence number, and one record
 * whose key is (int16 version 0, int16 type: 0 ABORT, 1 COMMIT) and whose
 * value is (int16 version 0, int32 coordinator epoch). Consumers never
 * hand control records to the application; the partition's state machine
 * closes the producer's open transaction with it (`replication/partition-txns.ts`).
 */
import { Result } from "effect"
import { ATTR_CONTROL, ATTR_TRANSACTIONAL, type BatchHeader, decodeBatch, encodeBatch } from "./record-batch.ts"

export type MarkerType = "abort" | "commit"

export interface Marker {
  readonly producerId: number
  readonly producerEpoch: number
  readonly type: MarkerType
}

const TYPE_ABORT = 0
const TYPE_COMMIT = 1

/** Whether a batch's attributes make it a control batch. */
export const isControl = (attributes: number): boolean => (attributes & ATTR_CONTROL) !== 0
/** Whether a batch's attributes make it part of a transaction. */
export const isTransactional = (attributes: number): boolean => (attributes & ATTR_TRANSACTIONAL) !== 0

/** The marker batch (base offset 0: the partition assigns it). */
export const encodeMarker = (m: Marker, timestampMs: number, coordinatorEpoch = 0): Uint8Array => {
  const key = new Uint8Array(4)
  new DataView(key.buffer).setInt16(2, m.type === "commit" ? TYPE_COMMIT : TYPE_ABORT)
  const value = new Uint8Array(6)
  new DataView(value.buffer).setInt32(2, coordinatorEpoch)
  return encodeBatch({
    attributes: ATTR_CONTROL | ATTR_TRANSACTIONAL,
    baseTimestamp: Math.floor(timestampMs), // a clock may give fractions of a millisecond (the simulator's does)
    producerId: m.producerId,
    producerEpoch: m.producerEpoch,
    baseSequence: -1,
    records: [{ attributes: 0, timestampDelta: 0, offsetDelta: 0, key, value, headers: [] }]
  })
}

/** The marker a control batch carries, or why it is not a well-formed one. */
export const decodeMarker = (batch: Uint8Array): Result.Result<Marker & { readonly header: BatchHeader }, string> => {
  const decoded = decodeBatch(batch)
  if (Result.isFailure(decoded)) return Result.fail(decoded.failure.message)
  const { header, records } = decoded.success
  if (!isControl(header.attributes)) return Result.fail("not a control batch")
  if (header.producerId < 0) return Result.fail("a control batch without a producer id")
  if (records.length !== 1) return Result.fail(`a control batch holds one record, not ${records.length}`)
  const key = records[0]!.key
  if (key === null || key.length < 4) return Result.fail("a control record's key is version and type (4 bytes)")
  const view = new DataView(key.buffer, key.byteOffset, key.byteLength)
  const type = view.getInt16(2)
  if (view.getInt16(0) !== 0 || (type !== TYPE_ABORT && type !== TYPE_COMMIT)) return Result.fail(`control record version ${view.getInt16(0)} type ${type}`)
  return Result.succeed({ header, producerId: header.producerId, producerEpoch: header.producerEpoch, type: type === TYPE_COMMIT ? "commit" : "abort" })
}
