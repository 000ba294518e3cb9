/**
 * Typed failures of the streaming log's storage: malformed batches (refused
 * at the door, never stored), reads that find damage (never served), and the
 * fail-stop and full-disk cases of appends, in the WAL's manner.
 */
import { Data } from "effect"

/** What is wrong with a batch's bytes. */
export type BatchFault =
  /** Fewer bytes than the layout or the batch's own length field needs. */
  | "truncated"
  /** The batch length field disagrees with the bytes given, or is impossible. */
  | "bad-length"
  /** Not a v2 batch (the magic byte is not 2). */
  | "bad-magic"
  /** The CRC32C over attributes..end does not match: the bytes were damaged. */
  | "checksum"
  /** A header field outside its range (a negative offset delta or count, an int64 past 2^53). */
  | "bad-field"
  /** A record inside the batch is malformed (bad varint, length, count, UTF-8 header key, trailing bytes). */
  | "bad-record"
  /** The records are compressed with a codec this build does not decode (storage keeps them as received). */
  | "unsupported-compression"

/** A batch's bytes are malformed or damaged. */
export class BatchFormatError extends Data.TaggedError("BatchFormatError")<{
  readonly fault: BatchFault
  readonly message: string
}> {}

/** An append larger than the log's `maxBatchBytes`. */
export class LogBatchTooLargeError extends Data.TaggedError("LogBatchTooLargeError")<{
  readonly bytes: number
  readonly maxBytes: number
}> {}

/** The offset is below the log start offset or past the log end offset. */
export class LogOffsetOutOfRangeError extends Data.TaggedError("LogOffsetOutOfRangeError")<{
  readonly offset: number
  readonly logStartOffset: number
  readonly logEndOffset: number
}> {}

/** A read found a stored batch damaged (checksum, length, or an offset out of sequence). Nothing damaged is returned. */
export class LogCorruptBatchError extends Data.TaggedError("LogCorruptBatchError")<{
  /** The base offset of the segment that holds the damage. */
  readonly segment: number
  /** The byte position of the damaged batch in that segment. */
  readonly position: number
  readonly message: string
}> {}

/** A read of a segment failed with EIO. */
export class LogReadError extends Data.TaggedError("LogReadError")<{
  readonly segment: number
  readonly position: number
  readonly message: string
}> {}

/**
 * A write or sync failed, so what is on disk past the last durable offset is
 * unknown: the log stops (fail-stop) and must be reopened, which recovers
 * from what actually landed. Appends not yet durable are not acknowledged.
 */
export class LogFailedError extends Data.TaggedError("LogFailedError")<{
  readonly op: "write" | "sync" | "truncate" | "create-segment" | "write-index" | "remove" | "sync-directory"
  readonly path: string
  readonly message: string
}> {}

/** The disk is full. Nothing of the failed append landed; the log stays usable once space is freed. */
export class LogDiskFullError extends Data.TaggedError("LogDiskFullError")<{
  readonly path: string
  readonly message: string
}> {}

/** Opening the log failed: an I/O error, or sealed segments that do not follow each other (a gap of offsets). */
export class LogRecoveryError extends Data.TaggedError("LogRecoveryError")<{
  readonly op: string
  readonly path: string
  readonly message: string
}> {}

/** The log was closed, or stopped after a failure. */
export class LogClosedError extends Data.TaggedError("LogClosedError")<{}> {}

export type LogAppendError = BatchFormatError | LogBatchTooLargeError | LogFailedError | LogDiskFullError | LogClosedError
export type LogReadFailure = LogOffsetOutOfRangeError | LogCorruptBatchError | LogReadError | LogClosedError
