/**
 * Opening a partition log: find its segments, trust a sealed segment's
 * index files only if they are intact and describe it (else rebuild them
 * from the segment), and scan the active segment, cutting its tail at the
 * first batch that is not intact or does not follow the one before it.
 *
 * Why cutting is right for the active segment: sealed segments were synced
 * whole before the next one was created, so the only bytes a crash can
 * damage are the active segment's unsynced tail; whatever is there past the
 * last intact batch was never made durable, hence never acknowledged by the
 * sync that would have covered it. The cut is synced before the log accepts
 * an append, so a later crash cannot bring a stale batch back behind new
 * ones.
 *
 * Damage in a sealed segment (rot, a lost write) is not cut: it is
 * reported, its batches stay in place and reads of them fail typed, so the
 * replication layer can repair them from a peer. Sealed segments whose
 * index files are intact are not read at open (as in Kafka): rot in them is
 * found by the CRC check of the read that meets it.
 */
import { Effect } from "effect"
import type { DiskShape } from "../disk/disk.ts"
import { decodeOffsetIndex, encodeOffsetIndex } from "./offset-index.ts"
import { LogRecoveryError } from "./log-error.ts"
import { indexPath, logPath, newSegment, parseSegmentFile, scanInto, timeIndexPath, type Segment } from "./segment.ts"
import { readWhole, recoveryFailed, writeWhole } from "./segment-io.ts"
import { decodeTimeIndex, encodeTimeIndex } from "./time-index.ts"

export interface SegmentDamage {
  /** Base offset of the damaged segment. */
  readonly segment: number
  readonly position: number
  readonly reason: string
}

/** What opening the log found and did. */
export interface LogRecoveryReport {
  readonly logStartOffset: number
  readonly logEndOffset: number
  readonly segments: number
  /** The active segment's tail that was cut (a torn or lost unsynced write), if any. */
  readonly truncated: { readonly segment: number; readonly position: number; readonly bytes: number; readonly reason: string } | undefined
  /** Sealed segments whose index files were missing, damaged or stale, and were rebuilt. */
  readonly rebuiltIndexes: ReadonlyArray<number>
  /** Sealed segments holding damage: left in place, reads that reach it fail typed. */
  readonly damaged: ReadonlyArray<SegmentDamage>
}

export interface Recovered {
  readonly segments: Array<Segment>
  readonly report: LogRecoveryReport
}

/** Index files that belong to no segment (left by a deletion cut short), as paths. */
const orphans = (dir: string, names: ReadonlyArray<string>, bases: ReadonlySet<number>): ReadonlyArray<string> =>
  names.flatMap((n) => {
    const f = parseSegmentFile(n)
    return f !== undefined && f.kind !== "log" && !bases.has(f.baseOffset) ? [`${dir}/${n}`] : []
  })

const readIndexFile = (disk: DiskShape, path: string, present: boolean) =>
  Effect.gen(function* () {
    if (!present) return undefined
    const file = yield* Effect.mapError(disk.open(path, "existing"), recoveryFailed("open", path))
    const bytes = yield* readWhole(file)
    yield* file.close
    return bytes
  })

/** Opens sealed segment `base` (followed by `nextBase`), from its index files or by a scan. */
const openSealed = (disk: DiskShape, dir: string, base: number, nextBase: number, names: ReadonlySet<string>, interval: number) =>
  Effect.gen(function* () {
    const path = logPath(dir, base)
    const file = yield* Effect.mapError(disk.open(path, "existing"), recoveryFailed("open", path))
    const size = yield* Effect.mapError(file.size, recoveryFailed("size", path))
    const facts = { baseOffset: base, nextOffset: nextBase, segmentBytes: size }
    const indexBytes = yield* readIndexFile(disk, indexPath(dir, base), names.has(indexPath(dir, base)))
    const timeBytes = yield* readIndexFile(disk, timeIndexPath(dir, base), names.has(timeIndexPath(dir, base)))
    const offsetIndex = indexBytes === undefined ? undefined : decodeOffsetIndex(indexBytes, facts)
    const timeIndex = timeBytes === undefined ? undefined : decodeTimeIndex(timeBytes, base, nextBase)
    if (offsetIndex !== undefined && timeIndex !== undefined) {
      const seg: Segment = { ...newSegment(base, file), size, nextOffset: nextBase, offsetIndex, timeIndex }
      return { seg, rebuilt: false, damage: undefined }
    }
    const seg = newSegment(base, file)
    const bytes = yield* readWhole(file)
    const stop = bytes === undefined ? { position: 0, reason: "unreadable" } : scanInto(seg, bytes, interval)
    const ended = stop === undefined && seg.nextOffset === nextBase
    const damage = ended ? undefined : { segment: base, position: stop?.position ?? size, reason: stop?.reason ?? `ends at offset ${seg.nextOffset}, the next segment starts at ${nextBase}` }
    // The damaged segment keeps its full extent: reads of its good prefix work, reads that reach the damage fail.
    seg.size = size
    seg.nextOffset = nextBase
    seg.timeIndex.mark()
    if (damage === undefined) {
      // Rewritten only when the segment is whole, so a damaged one is reported again at every open until repaired.
      yield* Effect.mapError(writeWhole(disk, indexPath(dir, base), encodeOffsetIndex(seg.offsetIndex, facts)), recoveryFailed("write", indexPath(dir, base)))
      yield* Effect.mapError(writeWhole(disk, timeIndexPath(dir, base), encodeTimeIndex(seg.timeIndex)), recoveryFailed("write", timeIndexPath(dir, base)))
    }
    return { seg, rebuilt: true, damage }
  })

/** Opens the active segment, cutting and syncing away a tail that is not intact. */
const openActive = (disk: DiskShape, dir: string, base: number, interval: number, nowMs: number) =>
  Effect.gen(function* () {
    const path = logPath(dir, base)
    const file = yield* Effect.mapError(disk.open(path, "existing"), recoveryFailed("open", path))
    const seg = newSegment(base, file)
    const bytes = yield* readWhole(file)
    if (bytes === undefined) return yield* Effect.fail(new LogRecoveryError({ op: "read", path, message: "unreadable after retries" }))
    const stop = scanInto(seg, bytes, interval)
    if (seg.size > 0) seg.rollTimestamp = nowMs
    if (stop !== undefined) yield* Effect.mapError(file.truncate(stop.position), recoveryFailed("truncate", path))
    // The kept bytes may be only in the page cache (a process crash): durable before the log claims them.
    yield* Effect.mapError(file.sync, recoveryFailed("sync", path))
    const truncated = stop === undefined ? undefined : { segment: base, position: stop.position, bytes: bytes.length - stop.position, reason: stop.reason }
    return { seg, truncated }
  })

/** Recovers the log in `dir` (creating it, with a first segment at offset 0, if it holds none). */
export const recoverPartition = (
  disk: DiskShape,
  dir: string,
  indexIntervalBytes: number,
  nowMs: number
): Effect.Effect<Recovered, LogRecoveryError> =>
  Effect.gen(function* () {
    const names = yield* Effect.mapError(disk.list(dir), recoveryFailed("list", dir))
    const bases = names.flatMap((n) => {
      const f = parseSegmentFile(n)
      return f?.kind === "log" ? [f.baseOffset] : []
    })
    bases.sort((a, b) => a - b)
    for (const path of orphans(dir, names, new Set(bases))) yield* Effect.mapError(disk.remove(path), recoveryFailed("remove", path))
    if (bases.length === 0) {
      const file = yield* Effect.mapError(disk.open(logPath(dir, 0), "create"), recoveryFailed("create", logPath(dir, 0)))
      yield* Effect.mapError(disk.syncDirectory(dir), recoveryFailed("sync-directory", dir))
      const report = { logStartOffset: 0, logEndOffset: 0, segments: 1, truncated: undefined, rebuiltIndexes: [], damaged: [] }
      return { segments: [newSegment(0, file)], report }
    }
    const present = new Set(names.map((n) => `${dir}/${n}`))
    const segments: Array<Segment> = []
    const rebuiltIndexes: Array<number> = []
    const damaged: Array<{ segment: number; position: number; reason: string }> = []
    for (let i = 0; i < bases.length - 1; i++) {
      const r = yield* openSealed(disk, dir, bases[i]!, bases[i + 1]!, present, indexIntervalBytes)
      segments.push(r.seg)
      if (r.rebuilt) rebuiltIndexes.push(bases[i]!)
      if (r.damage !== undefined) damaged.push(r.damage)
    }
    const active = yield* openActive(disk, dir, bases[bases.length - 1]!, indexIntervalBytes, nowMs)
    segments.push(active.seg)
    // Names made durable: removed orphans, rebuilt index files, a segment created just before a crash.
    yield* Effect.mapError(disk.syncDirectory(dir), recoveryFailed("sync-directory", dir))
    const report: LogRecoveryReport = {
      logStartOffset: segments[0]!.baseOffset,
      logEndOffset: active.seg.nextOffset,
      segments: segments.length,
      truncated: active.truncated,
      rebuiltIndexes,
      damaged
    }
    return { segments, report }
  })
