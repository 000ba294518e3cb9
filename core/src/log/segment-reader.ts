/**
 * Reads a segment's batches forward from a known batch boundary, checking
 * every one as it goes — its length within the segment, its CRC, and that
 * its offsets follow the previous batch's — so no damaged or misplaced
 * batch is ever returned. It reads the file in windows, so a scan over an
 * index interval of small batches costs one read, not one per batch.
 */
import { Effect, Result } from "effect"
import { batchSize, lastOffsetOf, LOG_OVERHEAD, verifyBatchAt, type BatchHeader } from "./record-batch.ts"
import { LogCorruptBatchError, LogReadError } from "./log-error.ts"
import type { Segment } from "./segment.ts"

/** Bytes read at a time when walking a segment. */
export const READ_WINDOW_BYTES = 64 * 1024

export interface StoredBatch {
  readonly header: BatchHeader
  readonly position: number
  /** The batch's bytes, a copy the caller owns. */
  readonly bytes: Uint8Array
}

export class BatchWalker {
  private window: Uint8Array = new Uint8Array(0)
  private windowStart = 0
  private readonly seg: Segment
  /** A batch boundary: 0 or an index entry's position. */
  private position: number
  /** The base offset the batch at `position` must carry. */
  private expectedOffset: number

  constructor(seg: Segment, position: number, expectedOffset: number) {
    this.seg = seg
    this.position = position
    this.expectedOffset = expectedOffset
  }

  private corrupt(message: string) {
    return new LogCorruptBatchError({ segment: this.seg.baseOffset, position: this.position, message })
  }

  /** Makes `[position, position + length)` available in the window. */
  private ensure(length: number): Effect.Effect<void, LogReadError> {
    const inWindow = this.position >= this.windowStart && this.position + length <= this.windowStart + this.window.length
    if (inWindow) return Effect.void
    const start = this.position
    const want = Math.min(this.seg.size - start, Math.max(READ_WINDOW_BYTES, length))
    return this.seg.file.read(start, want).pipe(
      Effect.mapError((e) => new LogReadError({ segment: this.seg.baseOffset, position: start, message: `${e._tag}: ${e.message}` })),
      Effect.map((bytes) => {
        this.window = bytes
        this.windowStart = start
      })
    )
  }

  /** The error for a walk that reached the end of the segment's bytes without finding `offset`. */
  missing(offset: number): LogCorruptBatchError {
    return this.corrupt(`the segment's bytes end before offset ${offset}`)
  }

  /** The next batch, or undefined at the end of the segment. */
  next(): Effect.Effect<StoredBatch | undefined, LogCorruptBatchError | LogReadError> {
    const self = this
    return Effect.gen(function* () {
      if (self.position >= self.seg.size) return undefined
      if (self.seg.size - self.position < LOG_OVERHEAD) return yield* Effect.fail(self.corrupt("stray bytes at the end of the segment"))
      yield* self.ensure(LOG_OVERHEAD)
      const at = self.position - self.windowStart
      if (self.window.length - at < LOG_OVERHEAD) return yield* Effect.fail(self.corrupt("the file is shorter than the segment"))
      const length = LOG_OVERHEAD + new DataView(self.window.buffer, self.window.byteOffset + at + 8, 4).getInt32(0)
      if (length < LOG_OVERHEAD || self.position + length > self.seg.size) {
        return yield* Effect.fail(self.corrupt(`batch length ${length} runs past the segment's ${self.seg.size} bytes`))
      }
      yield* self.ensure(length)
      const from = self.position - self.windowStart
      const r = verifyBatchAt(self.window, from, from + length)
      if (Result.isFailure(r)) return yield* Effect.fail(self.corrupt(`${r.failure.fault}: ${r.failure.message}`))
      const header = r.success
      if (batchSize(header) !== length) return yield* Effect.fail(self.corrupt("batch length changed under the read"))
      if (header.baseOffset !== self.expectedOffset) {
        return yield* Effect.fail(self.corrupt(`batch carries offset ${header.baseOffset}, expected ${self.expectedOffset}`))
      }
      const batch: StoredBatch = { header, position: self.position, bytes: self.window.slice(from, from + length) }
      self.position += length
      self.expectedOffset = lastOffsetOf(header) + 1
      return batch
    })
  }
}
