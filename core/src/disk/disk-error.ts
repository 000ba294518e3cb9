/**
 * Typed failures of the Disk service. Each one names the file and what was
 * being done, so that an operator can act on it and a protocol can decide
 * between repairing from a peer and stopping.
 */
import { Data } from "effect"

/** The device reported an I/O error (EIO), or a read returned nothing usable. */
export class DiskIOError extends Data.TaggedError("DiskIOError")<{
  readonly op: "open" | "read" | "write" | "truncate" | "size" | "remove" | "rename" | "list"
  readonly path: string
  readonly offset?: number
  readonly message: string
}> {}

/** No space left on the device (ENOSPC). Nothing of the failed write landed. */
export class DiskFullError extends Data.TaggedError("DiskFullError")<{
  readonly path: string
  readonly message: string
}> {}

/**
 * An fsync failed. Every write to the file since the last successful sync is
 * gone, whatever a later read may show: never retry the sync and assume the
 * data landed (the "fsyncgate" lesson).
 */
export class DiskSyncError extends Data.TaggedError("DiskSyncError")<{
  readonly path: string
  readonly message: string
}> {}

export class FileNotFoundError extends Data.TaggedError("FileNotFoundError")<{
  readonly path: string
}> {}

export class FileExistsError extends Data.TaggedError("FileExistsError")<{
  readonly path: string
}> {}

export type DiskError = DiskIOError | DiskFullError | DiskSyncError | FileNotFoundError | FileExistsError
