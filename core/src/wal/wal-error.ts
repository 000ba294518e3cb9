/**
 * Typed failures of the write-ahead log. Each names where it happened, so a
 * protocol can tell "this node's copy of entry i is damaged, fetch it from a
 * peer" from "this disk is failing, stop".
 */
import { Data } from "effect"

/** Why a record could not be served. */
export type DamageReason =
  /** The header is intact but the payload does not match its checksum. */
  | "payload-checksum"
  /** No valid record header where one was expected (rot, a lost or misdirected write). */
  | "header"
  /** The sectors holding the record fail to read (a latent sector error). */
  | "unreadable"

/** One damaged entry below the durable end: it was acknowledged, so it must be repaired, not dropped. */
export interface WalDamage {
  readonly seq: number
  readonly segment: number
  /** Where the damage starts (for header damage: where the record should have started). */
  readonly offset: number
  readonly reason: DamageReason
}

/** A read found the record damaged. The entry stays listed by `damaged()` until repaired or truncated. */
export class WalCorruptRecordError extends Data.TaggedError("WalCorruptRecordError")<WalDamage> {}

/** A read of a record failed with EIO (for example a latent sector error). */
export class WalReadError extends Data.TaggedError("WalReadError")<{
  readonly seq: number
  readonly segment: number
  readonly offset: number
  readonly message: string
}> {}

/**
 * A write or sync failed, so what is on disk past the last durable point is
 * unknown: the log stops accepting appends (fail-stop) and must be reopened,
 * which recovers from what actually landed. Appends not yet durable fail with
 * this error and are NOT acknowledged.
 */
export class WalFailedError extends Data.TaggedError("WalFailedError")<{
  readonly op: "write" | "sync" | "remove" | "sync-directory" | "create-segment" | "superblock"
  readonly path: string
  readonly message: string
}> {}

/** The disk is full. Nothing of the failed appends landed; the log stays usable once space is freed. */
export class WalDiskFullError extends Data.TaggedError("WalDiskFullError")<{
  readonly path: string
  readonly message: string
}> {}

export class WalRecordTooLargeError extends Data.TaggedError("WalRecordTooLargeError")<{
  readonly bytes: number
  readonly maxBytes: number
}> {}

/** The sequence number is below the first retained entry or past the last one. */
export class WalOutOfRangeError extends Data.TaggedError("WalOutOfRangeError")<{
  readonly seq: number
  readonly firstSeq: number
  readonly lastSeq: number
}> {}

/** An append was cut away by a truncation before it became durable. */
export class WalTruncatedError extends Data.TaggedError("WalTruncatedError")<{
  readonly seq: number
}> {}

/** The log was closed. */
export class WalClosedError extends Data.TaggedError("WalClosedError")<{}> {}

/** No valid copy of the superblock: the durable end is unknown, so the log refuses to guess. */
export class WalSuperblockError extends Data.TaggedError("WalSuperblockError")<{
  readonly path: string
  readonly message: string
}> {}

/** An I/O failure while opening or recovering the log. */
export class WalRecoveryIOError extends Data.TaggedError("WalRecoveryIOError")<{
  readonly op: string
  readonly path: string
  readonly message: string
}> {}

/** A repair could not be done in place. */
export class WalRepairError extends Data.TaggedError("WalRepairError")<{
  readonly seq: number
  readonly message: string
}> {}

export type WalAppendError = WalFailedError | WalDiskFullError | WalTruncatedError | WalClosedError
export type WalReadFailure = WalCorruptRecordError | WalReadError | WalOutOfRangeError
export type WalOpenError = WalSuperblockError | WalRecoveryIOError
