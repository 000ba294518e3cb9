/**
 * The `records` field of Produce and Fetch, opened: zero or more Kafka
 * RecordBatch v2 back to back. Each is verified (length, magic, fields,
 * CRC32C) by the streaming log's own `verifyBatchAt`, so a batch is checked
 * by the same code from the wire to the segment file.
 */
import { Result } from "effect"
import type { BatchFormatError } from "../../log/log-error.ts"
import { batchSize, verifyBatchAt, type BatchHeader } from "../../log/record-batch.ts"

export interface WireBatch {
  readonly header: BatchHeader
  /** The batch's bytes, a view into the records field. */
  readonly bytes: Uint8Array
}

/** The batches in a records field (null: none), each verified; the first damaged one fails the whole field. */
export const recordBatches = (records: Uint8Array | null): Result.Result<ReadonlyArray<WireBatch>, BatchFormatError> => {
  if (records === null) return Result.succeed([])
  const out: Array<WireBatch> = []
  let at = 0
  while (at < records.length) {
    const verified = verifyBatchAt(records, at, records.length)
    if (Result.isFailure(verified)) return Result.fail(verified.failure)
    const end = at + batchSize(verified.success)
    out.push({ header: verified.success, bytes: records.subarray(at, end) })
    at = end
  }
  return Result.succeed(out)
}
