/**
 * Recovery of the WAL when it is opened: find the newest intact superblock
 * (or create the first one), read every segment it still names, scan them
 * for the durable end and for damage (`scan.ts`), and make the disk agree
 * with what the scan found — stale bytes past the end zeroed, segments past
 * the end or below the first removed, the kept tail synced — before the
 * writer appends anything.
 *
 * Written as plain generators that `openWal`'s `Effect.gen` delegates to
 * with `yield*`: opening runs exactly the effects, in the order, it ran
 * before this file was split out (the simulator's scheduler counts them).
 */
import { Effect } from "effect"
import type { DiskFile, DiskShape } from "../disk/disk.ts"
import { assert } from "../invariant/invariant.ts"
import { readImage, recoveryIO, zeroRange } from "./disk-io.ts"
import {
  decodeSuperblock,
  encodeSuperblock,
  parseSegmentName,
  segmentPath,
  SUPERBLOCK_COPIES,
  superblockPath,
  type Superblock
} from "./format.ts"
import { scanLog, type ScanResult, type SegmentImage } from "./scan.ts"
import { WalSuperblockError, type WalOpenError } from "./wal-error.ts"

/** What recovery leaves for the writer: the superblock it trusts, the open files, the scan. */
export interface RecoveredLog {
  readonly sb: Superblock
  readonly sbFile: DiskFile
  /** The kept segments, open. */
  readonly files: Map<number, DiskFile>
  readonly scan: ScanResult
}

/** A step of opening: a generator over the effects it runs (see the header). */
type Steps<A> = Generator<Effect.Effect<unknown, WalOpenError>, A, unknown>

/**
 * Recovers the log in `dir`; `newSegmentBytes` sizes the segments of a log created now.
 */
export function* recoverLog(disk: DiskShape, dir: string, newSegmentBytes: number): Steps<RecoveredLog> {
  const names = yield* Effect.mapError(disk.list(dir), recoveryIO("list", dir))
  const segmentsOnDisk = names.flatMap((n) => {
    const k = parseSegmentName(n)
    return k === undefined ? [] : [k]
  })
  const { sb, sbFile } = yield* openSuperblock(disk, dir, names, segmentsOnDisk, newSegmentBytes)
  const files = new Map<number, DiskFile>()
  const images = new Map<number, SegmentImage>()
  for (const k of segmentsOnDisk) {
    if (k < sb.first.segment) continue
    const path = segmentPath(dir, k)
    const file = yield* Effect.mapError(disk.open(path, "existing"), recoveryIO("open", path))
    files.set(k, file)
    images.set(k, segmentImage(k, yield* readImage(file, disk.sectorSize), disk.sectorSize))
  }
  const lastSegmentOnDisk = segmentsOnDisk.length === 0 ? 0 : Math.max(...segmentsOnDisk)
  const scan = scanLog(sb, lastSegmentOnDisk, (k) => images.get(k))
  assert(scan.lastSeq >= sb.durableSeq, () => `recovery lost durable records: ${scan.lastSeq} < ${sb.durableSeq}`)
  yield* zeroPastEnd(scan, images, files)
  images.clear()
  yield* settleSegments(disk, dir, sb, scan, segmentsOnDisk, files)
  return { sb, sbFile, files, scan }
}

/** The newest intact superblock, or (a new log) the first one, written durably under its name. */
function* openSuperblock(
  disk: DiskShape,
  dir: string,
  names: ReadonlyArray<string>,
  segmentsOnDisk: ReadonlyArray<number>,
  newSegmentBytes: number
): Steps<{ readonly sb: Superblock; readonly sbFile: DiskFile }> {
  const sectorSize = disk.sectorSize
  const sbPath = superblockPath(dir)
  if (names.includes("superblock")) {
    const sbFile = yield* Effect.mapError(disk.open(sbPath, "existing"), recoveryIO("open", sbPath))
    const image = yield* readImage(sbFile, sectorSize)
    let best: Superblock | undefined
    // Every sector is a candidate: a misdirected copy still counts if it is intact.
    for (let off = 0; off < image.bytes.length; off += sectorSize) {
      if (image.badSectors.has(off / sectorSize)) continue
      const candidate = decodeSuperblock(image.bytes, off)
      if (candidate !== undefined && (best === undefined || candidate.version > best.version)) best = candidate
    }
    if (best === undefined) {
      return yield* Effect.fail(new WalSuperblockError({ path: sbPath, message: "no intact copy of the superblock" }))
    }
    return { sb: best, sbFile }
  }
  if (segmentsOnDisk.length > 0) {
    return yield* Effect.fail(new WalSuperblockError({ path: sbPath, message: "segments exist but the superblock is missing" }))
  }
  const segmentBytes = newSegmentBytes
  assert(segmentBytes % sectorSize === 0 && segmentBytes >= 4 * sectorSize, "segment size must be a multiple of the sector size")
  const sb: Superblock = { version: 1, generation: 0, firstSeq: 1, first: { segment: 1, offset: 0 }, durableSeq: 0, durable: { segment: 1, offset: 0 }, segmentBytes }
  // Written under a temporary name and renamed: a crash during creation leaves no half-written superblock.
  const tmpPath = `${sbPath}.tmp`
  const tmp = yield* Effect.mapError(disk.open(tmpPath, "create"), recoveryIO("open", tmpPath))
  const copy = encodeSuperblock(sb, sectorSize)
  const all = new Uint8Array(copy.length * SUPERBLOCK_COPIES)
  for (let i = 0; i < SUPERBLOCK_COPIES; i++) all.set(copy, i * copy.length)
  yield* Effect.mapError(tmp.truncate(0), recoveryIO("truncate", tmpPath))
  yield* Effect.mapError(tmp.write(0, all), recoveryIO("write", tmpPath))
  yield* Effect.mapError(tmp.sync, recoveryIO("sync", tmpPath))
  yield* tmp.close
  yield* Effect.mapError(disk.rename(tmpPath, sbPath), recoveryIO("rename", tmpPath))
  yield* Effect.mapError(disk.syncDirectory(dir), recoveryIO("sync-directory", dir))
  const sbFile = yield* Effect.mapError(disk.open(sbPath, "existing"), recoveryIO("open", sbPath))
  return { sb, sbFile }
}

const segmentImage = (
  segment: number,
  image: { readonly bytes: Uint8Array; readonly badSectors: ReadonlySet<number> },
  sectorSize: number
): SegmentImage => ({
  segment,
  bytes: image.bytes,
  unreadable: (offset, length) => {
    if (image.badSectors.size === 0) return false
    for (let s = Math.floor(offset / sectorSize); s * sectorSize < offset + length; s++) if (image.badSectors.has(s)) return true
    return false
  }
})

/**
 * Whatever lies past the end (a cut tail, stray misdirected data) is zeroed: once new records there are
 * durable, a later misdirected or lost write must not uncover a stale frame that looks valid.
 */
function* zeroPastEnd(scan: ScanResult, images: ReadonlyMap<number, SegmentImage>, files: ReadonlyMap<number, DiskFile>): Steps<void> {
  const endImage = images.get(scan.end.segment)
  if (endImage === undefined) return
  let last = endImage.bytes.length - 1
  while (last >= scan.end.offset && endImage.bytes[last] === 0) last--
  if (last >= scan.end.offset) {
    const file = files.get(scan.end.segment)!
    yield* Effect.mapError(zeroRange(file, scan.end.offset, last + 1), recoveryIO("write", file.path))
  }
}

/** Removes the segments the log no longer holds and makes the kept ones durable, names and tail. */
function* settleSegments(
  disk: DiskShape,
  dir: string,
  sb: Superblock,
  scan: ScanResult,
  segmentsOnDisk: ReadonlyArray<number>,
  files: Map<number, DiskFile>
): Steps<void> {
  // Segments past the end hold nothing (never-used or torn); those below the first are leftovers of a prefix truncation.
  for (const k of segmentsOnDisk) {
    if (k > scan.end.segment || k < sb.first.segment) {
      const path = segmentPath(dir, k)
      yield* Effect.mapError(disk.remove(path), recoveryIO("remove", path))
      files.delete(k)
    }
  }
  // Kept segments must stay named: a creation interrupted before its directory sync would lose them.
  if (segmentsOnDisk.length > 0) yield* Effect.mapError(disk.syncDirectory(dir), recoveryIO("sync-directory", dir))
  // The kept tail may be only in the page cache (a process crash, not a power loss): make it durable before claiming it.
  for (const [k, file] of files) {
    if (k >= sb.durable.segment) yield* Effect.mapError(file.sync, recoveryIO("sync", file.path))
  }
}
