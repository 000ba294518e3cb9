/**
 * How the partition log reads and writes whole files, and what Disk
 * failures become: while opening, a `LogRecoveryError`; afterwards, a
 * `LogFailedError` that stops the log (what landed is unknown until it is
 * reopened), except a full disk on an append, which fails that append only.
 */
import { Effect, Result } from "effect"
import type { DiskFile, DiskShape } from "../disk/disk.ts"
import type { DiskError } from "../disk/disk-error.ts"
import { LogDiskFullError, LogFailedError, LogRecoveryError } from "./log-error.ts"

/** Attempts of a whole-file read before recovery gives up on it. */
const READ_ATTEMPTS = 3

const describe = (e: DiskError): string => `${e._tag}${"message" in e ? `: ${e.message}` : ""}`

export const recoveryFailed = (op: string, path: string) => (e: DiskError) => new LogRecoveryError({ op, path, message: describe(e) })

export const logFailed = (op: LogFailedError["op"], path: string) => (e: DiskError) => new LogFailedError({ op, path, message: describe(e) })

/** A failed write of a batch: a full disk fails only this append; anything else stops the log. */
export const appendFailed = (path: string) => (e: DiskError): LogDiskFullError | LogFailedError =>
  e._tag === "DiskFullError" ? new LogDiskFullError({ path, message: e.message }) : logFailed("write", path)(e)

/** Reads a whole file, retrying transient EIO; `undefined` if it stays unreadable. */
export const readWhole = (file: DiskFile): Effect.Effect<Uint8Array | undefined, LogRecoveryError> =>
  Effect.gen(function* () {
    const size = yield* Effect.mapError(file.size, recoveryFailed("size", file.path))
    for (let attempt = 0; attempt < READ_ATTEMPTS; attempt++) {
      const r = yield* Effect.result(file.read(0, size))
      if (Result.isSuccess(r) && r.success.length === size) return r.success
    }
    return undefined
  })

/**
 * Replaces a small file's contents and syncs it (the directory is the
 * caller's to sync). Used for index files, which are rebuilt if a crash
 * leaves them torn, so no rename dance is needed.
 */
export const writeWhole = (disk: DiskShape, path: string, bytes: Uint8Array): Effect.Effect<void, DiskError> =>
  Effect.gen(function* () {
    const file = yield* disk.open(path, "create")
    yield* file.truncate(0)
    yield* file.write(0, bytes)
    yield* file.sync
    yield* file.close
  })
