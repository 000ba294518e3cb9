/**
 * Atomic, checksummed snapshots (checkpoints) with bounded retention.
 *
 * A snapshot is written to a temporary file, synced, renamed into place and
 * the directory synced: after a crash it is either wholly there or absent.
 * Each file carries a checksummed header and a CRC32C of its data, verified
 * on every load; a damaged snapshot is reported and the next older intact one
 * is used. `compactWal` truncates the log below the OLDEST retained snapshot,
 * so that losing the newest snapshot to rot still leaves an older snapshot
 * plus the log to rebuild from.
 *
 * Format, version 1 (little-endian): u32 header CRC32C (over bytes 4..40),
 * u32 magic "CSN1", u32 format version, u32 data CRC32C, u64 sequence number
 * covered, u64 data length, u64 reserved, then the data.
 */
import { Data, Effect, Result } from "effect"
import { crc32c } from "../checksum/crc32c.ts"
import { Disk } from "../disk/disk.ts"
import type { DiskError } from "../disk/disk-error.ts"
import type { Wal } from "../wal/wal.ts"
import type { WalClosedError, WalFailedError } from "../wal/wal-error.ts"

const MAGIC = 0x314e5343 // "CSN1"
const VERSION = 1
const HEADER = 40
const CHUNK = 1024 * 1024
const TWO_32 = 0x1_0000_0000

export class SnapshotIOError extends Data.TaggedError("SnapshotIOError")<{
  readonly op: string
  readonly path: string
  readonly message: string
}> {}

export class SnapshotDiskFullError extends Data.TaggedError("SnapshotDiskFullError")<{
  readonly path: string
  readonly message: string
}> {}

/** A snapshot file that failed verification (or could not be read) and was skipped. */
export interface DamagedSnapshot {
  readonly path: string
  readonly seq: number
  readonly reason: "header" | "checksum" | "length" | "unreadable"
}

export interface Snapshot {
  /** Every log entry up to and including `seq` is covered. */
  readonly seq: number
  readonly data: Uint8Array
}

export interface LoadResult {
  /** The newest intact snapshot, if any. */
  readonly snapshot: Snapshot | undefined
  /** Newer snapshots that were skipped because they are damaged. */
  readonly damaged: ReadonlyArray<DamagedSnapshot>
}

export interface SnapshotStoreConfig {
  readonly dir?: string
  /** How many snapshots to keep (at least 1). Default 2. */
  readonly retain?: number
}

export interface SnapshotStore {
  /** Writes a snapshot durably and atomically, then drops the ones past the retention. */
  readonly save: (seq: number, data: Uint8Array) => Effect.Effect<void, SnapshotIOError | SnapshotDiskFullError>
  /** The newest intact snapshot. */
  readonly load: Effect.Effect<LoadResult, SnapshotIOError>
  /** Sequence numbers of the snapshots present, oldest first. */
  readonly list: Effect.Effect<ReadonlyArray<number>, SnapshotIOError>
  /** Truncates the log below the oldest retained snapshot. */
  readonly compactWal: (wal: Wal) => Effect.Effect<void, SnapshotIOError | WalFailedError | WalClosedError>
}

const nameOf = (seq: number) => `${String(seq).padStart(16, "0")}.snap`
const seqOf = (name: string): number | undefined => {
  const m = /^(\d{16})\.snap$/.exec(name)
  return m === null ? undefined : Number(m[1])
}

const ioError = (op: string, path: string) => (e: DiskError) =>
  new SnapshotIOError({ op, path, message: `${e._tag}${"message" in e ? `: ${e.message}` : ""}` })

export const encodeSnapshotHeader = (seq: number, data: Uint8Array): Uint8Array => {
  const header = new Uint8Array(HEADER)
  const view = new DataView(header.buffer)
  view.setUint32(4, MAGIC, true)
  view.setUint32(8, VERSION, true)
  view.setUint32(12, crc32c(data), true)
  view.setUint32(16, seq % TWO_32, true)
  view.setUint32(20, Math.floor(seq / TWO_32), true)
  view.setUint32(24, data.length % TWO_32, true)
  view.setUint32(28, Math.floor(data.length / TWO_32), true)
  view.setUint32(0, crc32c(header, 4, HEADER), true)
  return header
}

/** Verifies a whole snapshot file image; returns the snapshot or why it is damaged. */
export const decodeSnapshot = (bytes: Uint8Array): Snapshot | DamagedSnapshot["reason"] => {
  if (bytes.length < HEADER) return "header"
  const view = new DataView(bytes.buffer, bytes.byteOffset, HEADER)
  if (view.getUint32(4, true) !== MAGIC || view.getUint32(8, true) !== VERSION) return "header"
  if (view.getUint32(0, true) !== crc32c(bytes, 4, HEADER)) return "header"
  const seq = view.getUint32(16, true) + view.getUint32(20, true) * TWO_32
  const length = view.getUint32(24, true) + view.getUint32(28, true) * TWO_32
  if (bytes.length !== HEADER + length) return "length"
  if (crc32c(bytes, HEADER) !== view.getUint32(12, true)) return "checksum"
  return { seq, data: bytes.slice(HEADER) }
}

export const makeSnapshotStore = (config: SnapshotStoreConfig = {}): Effect.Effect<SnapshotStore, SnapshotIOError, Disk> =>
  Effect.gen(function* () {
    const disk = yield* Disk
    const dir = config.dir ?? "snapshots"
    const retain = Math.max(1, config.retain ?? 2)
    const path = (name: string) => `${dir}/${name}`

    const names = yield* Effect.mapError(disk.list(dir), ioError("list", dir))
    // A temporary file is a save that crashed before its rename: it never counted.
    const leftovers = names.filter((n) => n.endsWith(".tmp"))
    for (const n of leftovers) yield* Effect.ignore(disk.remove(path(n)))
    if (leftovers.length > 0) yield* Effect.mapError(disk.syncDirectory(dir), ioError("sync-directory", dir))

    const list = Effect.map(Effect.mapError(disk.list(dir), ioError("list", dir)), (ns) =>
      ns.flatMap((n) => {
        const s = seqOf(n)
        return s === undefined ? [] : [s]
      }).sort((a, b) => a - b)
    )

    const save = (seq: number, data: Uint8Array) =>
      Effect.gen(function* () {
        const final = path(nameOf(seq))
        const tmp = `${final}.tmp`
        const full = (op: string) => (e: DiskError) =>
          e._tag === "DiskFullError" ? new SnapshotDiskFullError({ path: tmp, message: e.message }) : ioError(op, tmp)(e)
        const written = yield* Effect.result(
          Effect.gen(function* () {
            const file = yield* Effect.mapError(disk.open(tmp, "create"), full("open"))
            yield* Effect.mapError(file.truncate(0), full("truncate"))
            yield* Effect.mapError(file.write(0, encodeSnapshotHeader(seq, data)), full("write"))
            for (let off = 0; off < data.length; off += CHUNK) {
              yield* Effect.mapError(file.write(HEADER + off, data.subarray(off, Math.min(data.length, off + CHUNK))), full("write"))
            }
            yield* Effect.mapError(file.sync, full("sync"))
            yield* file.close
          })
        )
        if (Result.isFailure(written)) {
          yield* Effect.ignore(disk.remove(tmp))
          return yield* Effect.fail(written.failure)
        }
        yield* Effect.mapError(disk.rename(tmp, final), ioError("rename", tmp))
        yield* Effect.mapError(disk.syncDirectory(dir), ioError("sync-directory", dir))
        const present = yield* list
        const drop = present.slice(0, Math.max(0, present.length - retain))
        for (const s of drop) yield* Effect.mapError(disk.remove(path(nameOf(s))), ioError("remove", path(nameOf(s))))
        if (drop.length > 0) yield* Effect.mapError(disk.syncDirectory(dir), ioError("sync-directory", dir))
      })

    const readWhole = (p: string) =>
      Effect.gen(function* () {
        const file = yield* disk.open(p, "existing")
        const size = yield* file.size
        const bytes = yield* file.read(0, size)
        yield* file.close
        return bytes
      })

    const load = Effect.gen(function* () {
      const present = yield* list
      const damaged: Array<DamagedSnapshot> = []
      for (let i = present.length - 1; i >= 0; i--) {
        const seq = present[i]!
        const p = path(nameOf(seq))
        // A transient EIO deserves another try; a latent sector error fails every time.
        let bytes = yield* Effect.result(readWhole(p))
        for (let attempt = 1; attempt < 3 && Result.isFailure(bytes); attempt++) bytes = yield* Effect.result(readWhole(p))
        if (Result.isFailure(bytes)) {
          damaged.push({ path: p, seq, reason: "unreadable" })
          continue
        }
        const decoded = decodeSnapshot(bytes.success)
        if (typeof decoded === "string") damaged.push({ path: p, seq, reason: decoded })
        else if (decoded.seq !== seq) damaged.push({ path: p, seq, reason: "header" })
        else return { snapshot: decoded, damaged }
      }
      return { snapshot: undefined, damaged }
    })

    const compactWal = (wal: Wal) =>
      Effect.gen(function* () {
        const present = yield* list
        const oldest = present[0]
        if (oldest !== undefined && oldest + 1 > wal.firstSeq()) yield* wal.truncatePrefix(oldest + 1)
      })

    const store: SnapshotStore = { save, load, list, compactWal }
    return store
  })
