/**
 * How the WAL reads and clears its files, and what their failures become:
 * a failure while recovering is a `WalRecoveryIOError`; a failure after
 * that poisons the log (`WalFailedError`), except a full disk, which fails
 * only the appends that did not fit (`WalDiskFullError`).
 */
import { Effect, Result } from "effect"
import type { DiskFile } from "../disk/disk.ts"
import type { DiskError } from "../disk/disk-error.ts"
import { WalDiskFullError, WalFailedError, WalRecoveryIOError } from "./wal-error.ts"

/** Reads of a file (or a sector of it) at recovery before the sector counts as bad. */
const READ_ATTEMPTS = 3
const ZEROS = new Uint8Array(1024 * 1024)

const describe = (e: DiskError): string => `${e._tag}${"message" in e ? `: ${e.message}` : ""}`

/** A failure after recovery: what is on disk past the durable end is unknown. */
export const failed = (op: WalFailedError["op"], path: string) => (e: DiskError) =>
  new WalFailedError({ op, path, message: describe(e) })

/** A failure while opening or recovering the log. */
export const recoveryIO = (op: string, path: string) => (e: DiskError) =>
  new WalRecoveryIOError({ op, path, message: describe(e) })

/**
 * A failed write of new data (records, a seal, a new segment): a full disk fails only what did
 * not fit, and the log goes on; anything else is `failed(op, path)`.
 */
export const writeFailed = (op: WalFailedError["op"], path: string) => (e: DiskError): WalDiskFullError | WalFailedError =>
  e._tag === "DiskFullError" ? new WalDiskFullError({ path, message: e.message }) : failed(op, path)(e)

/**
 * Reads a whole file, retrying transient EIO and falling back to sector by
 * sector reads so that one bad sector costs only its own bytes.
 */
export const readImage = (
  file: DiskFile,
  sectorSize: number
): Effect.Effect<{ readonly bytes: Uint8Array; readonly badSectors: ReadonlySet<number> }, WalRecoveryIOError> =>
  Effect.gen(function* () {
    const size = yield* Effect.mapError(file.size, recoveryIO("size", file.path))
    for (let attempt = 0; attempt < READ_ATTEMPTS; attempt++) {
      const r = yield* Effect.result(file.read(0, size))
      if (Result.isSuccess(r)) return { bytes: r.success, badSectors: new Set<number>() }
    }
    const bytes = new Uint8Array(size)
    const badSectors = new Set<number>()
    for (let s = 0; s * sectorSize < size; s++) {
      let ok = false
      for (let attempt = 0; attempt < READ_ATTEMPTS && !ok; attempt++) {
        const r = yield* Effect.result(file.read(s * sectorSize, sectorSize))
        if (Result.isSuccess(r)) {
          bytes.set(r.success, s * sectorSize)
          ok = true
        }
      }
      if (!ok) badSectors.add(s)
    }
    return { bytes, badSectors }
  })

/** Overwrites `[from, to)` with zeros. */
export const zeroRange = (file: DiskFile, from: number, to: number) =>
  Effect.gen(function* () {
    for (let off = from; off < to; off += ZEROS.length) yield* file.write(off, ZEROS.subarray(0, Math.min(ZEROS.length, to - off)))
  })

/** Writes `bytes` zeros from offset 0 (a new segment's preallocation). */
export const zeroFill = (file: DiskFile, bytes: number) =>
  Effect.gen(function* () {
    for (let off = 0; off < bytes; off += ZEROS.length) {
      yield* file.write(off, ZEROS.subarray(0, Math.min(ZEROS.length, bytes - off)))
    }
    yield* file.sync
  })
