/**
 * One partition's log on one node: the storage engine of the streaming log.
 * Batches in Kafka's RecordBatch v2 layout are appended whole, given the
 * next offsets, stored as received in segment files, and read back by
 * offset with their CRC checked on every read. This is local storage only:
 * replication (one Raft group per partition, docs/adr/0010) decides what is
 * committed and calls `sync` when it needs durability.
 *
 * What survives a crash:
 * - Everything up to `durableEndOffset()`: an append is durable only once a
 *   later `sync` has returned (it fsyncs the active segment; sealed segments
 *   were fsynced, and their names and index files made durable, when they
 *   were sealed). The first segment's name is made durable at open.
 * - Appends after the last sync may survive whole, in part (a torn tail) or
 *   not at all; recovery keeps the longest intact run of batches and cuts
 *   the rest, so the reopened log is always a prefix of what was appended.
 * - A segment deletion (retention) is durable when `enforceRetention`
 *   returns; a crash during it leaves the segment or removes it whole.
 *
 * Failures: a failed write or fsync leaves what is on disk unknown, so the
 * log stops (every later call fails with the `LogFailedError`) and must be
 * reopened, which recovers from what actually landed. A full disk fails the
 * one append that did not fit, and nothing else.
 *
 * Concurrency: appends, syncs, rolls and retention run one at a time; reads
 * run alongside appends (they only touch bytes below a segment's recorded
 * size, which grows after a write lands) and wait for retention.
 *
 * Rooms: `record-batch.ts` (the format), `segment.ts` (names and the scan),
 * `offset-index.ts`, `time-index.ts`, `segment-reader.ts` (checked reads),
 * `recover.ts` (opening), `retention.ts` (what to delete).
 */
import { Effect, Result, Semaphore } from "effect"
import { Clock } from "../clock/clock.ts"
import { Disk } from "../disk/disk.ts"
import { assert } from "../invariant/invariant.ts"
import {
  LogBatchTooLargeError,
  LogClosedError,
  LogFailedError,
  LogOffsetOutOfRangeError,
  type LogAppendError,
  type LogCorruptBatchError,
  type LogReadError,
  type LogReadFailure,
  type LogRecoveryError
} from "./log-error.ts"
import { encodeOffsetIndex } from "./offset-index.ts"
import { BATCH_OVERHEAD, baseOffsetOf, type BatchHeader, checkBatch, lastOffsetOf, withBaseOffset } from "./record-batch.ts"
import { recoverPartition, type LogRecoveryReport } from "./recover.ts"
import { segmentsToDelete, type RetentionPolicy } from "./retention.ts"
import { indexPath, logPath, newSegment, noteBatch, timeIndexPath, type Segment } from "./segment.ts"
import { appendFailed, logFailed, writeWhole } from "./segment-io.ts"
import { BatchWalker } from "./segment-reader.ts"
import { encodeTimeIndex, NO_TIMESTAMP } from "./time-index.ts"

/** Segment positions are u32 in the index files and reads are one JavaScript array: 2 GiB - 1 at most. */
export const SEGMENT_BYTES_LIMIT = 0x7fff_ffff

export interface PartitionLogConfig {
  /** The partition's directory inside the node's data directory, e.g. "log/orders-3". */
  readonly dir: string
  /** Largest batch accepted. Default 1 MiB (Kafka's message.max.bytes), or the segment size if smaller. */
  readonly maxBatchBytes?: number
  /** A segment is rolled before an append would take it past this. Default 128 MiB. */
  readonly maxSegmentBytes?: number
  /** A segment is rolled once its first append is this old (node wall clock). Default 7 days. */
  readonly segmentMs?: number
  /** Bytes of batches between offset index entries. Default 4 KiB. */
  readonly indexIntervalBytes?: number
  /** Fixed, or read at each retention check (a topic's retention changed while the replica runs). */
  readonly retention?: RetentionPolicy | (() => RetentionPolicy)
}

export interface Limits {
  readonly maxBatchBytes: number
  readonly maxSegmentBytes: number
  readonly segmentMs: number
  readonly indexIntervalBytes: number
}

const limitsOf = (config: PartitionLogConfig): Limits => {
  const maxSegmentBytes = config.maxSegmentBytes ?? 128 * 1024 * 1024
  const limits = {
    maxBatchBytes: config.maxBatchBytes ?? Math.min(1024 * 1024, maxSegmentBytes),
    maxSegmentBytes,
    segmentMs: config.segmentMs ?? 7 * 24 * 3600 * 1000,
    indexIntervalBytes: config.indexIntervalBytes ?? 4096
  }
  assert(Number.isSafeInteger(limits.maxBatchBytes) && limits.maxBatchBytes >= BATCH_OVERHEAD, "maxBatchBytes below a batch header")
  assert(limits.maxSegmentBytes >= limits.maxBatchBytes, "maxSegmentBytes below maxBatchBytes: a batch could never fit")
  assert(limits.maxSegmentBytes <= SEGMENT_BYTES_LIMIT, () => `maxSegmentBytes above ${SEGMENT_BYTES_LIMIT}`)
  assert(limits.segmentMs > 0 && limits.indexIntervalBytes > 0, "segmentMs and indexIntervalBytes must be positive")
  return limits
}

export interface Appended {
  readonly baseOffset: number
  readonly lastOffset: number
}

export interface ReadResult {
  /** Whole batches as stored, each checked; the first holds the offset read. */
  readonly batches: ReadonlyArray<Uint8Array>
  /** Where the next read should start. */
  readonly nextOffset: number
}

export interface SegmentInfo {
  readonly baseOffset: number
  readonly nextOffset: number
  readonly size: number
  readonly maxTimestamp: number
}

export interface PartitionLog {
  readonly recovery: LogRecoveryReport
  readonly limits: Limits
  /** Validates a batch (length, magic, CRC, records if uncompressed), gives it the next offsets and writes it. Volatile until `sync`. */
  readonly append: (batch: Uint8Array) => Effect.Effect<Appended, LogAppendError>
  /**
   * `append` of a batch its caller has just checked: `header` is what `checkBatch` gave for these
   * very bytes (a replica's state machine checks the batch it applies; its copy comes here), so it is
   * not checked a second time.
   */
  readonly appendChecked: (batch: Uint8Array, header: BatchHeader) => Effect.Effect<Appended, LogAppendError>
  /** Makes every append so far durable. */
  readonly sync: Effect.Effect<void, LogFailedError | LogClosedError>
  /**
   * The batches from the one holding `offset` to the end of its segment, up
   * to `maxBytes` (at least one batch, however large, so a reader always
   * moves on). At the log end offset: no batches.
   */
  readonly read: (offset: number, maxBytes: number) => Effect.Effect<ReadResult, LogReadFailure>
  /** The base offset of the first batch whose largest timestamp is >= `t`, or undefined if none. */
  readonly offsetForTimestamp: (t: number) => Effect.Effect<number | undefined, LogCorruptBatchError | LogReadError | LogClosedError>
  readonly logStartOffset: () => number
  readonly logEndOffset: () => number
  /** Every offset below this survives a crash. */
  readonly durableEndOffset: () => number
  readonly segments: () => ReadonlyArray<SegmentInfo>
  /** Seals the active segment (if it holds anything) and starts a new one. */
  readonly roll: Effect.Effect<void, LogFailedError | LogClosedError>
  /** Deletes the segments the retention policy lets go; returns their base offsets. Durable when it returns. */
  readonly enforceRetention: Effect.Effect<ReadonlyArray<number>, LogFailedError | LogClosedError>
  /** Releases the files. Does not sync. */
  readonly close: Effect.Effect<void>
}

/** All of `layout`'s permits: retention holds them, so no read is inside a segment it deletes. */
const LAYOUT_PERMITS = 1 << 16


export const openPartitionLog = (config: PartitionLogConfig): Effect.Effect<PartitionLog, LogRecoveryError, Disk | Clock> =>
  Effect.gen(function* () {
    const disk = yield* Disk
    const clock = yield* Clock
    const limits = limitsOf(config)
    const dir = config.dir
    const recovered = yield* recoverPartition(disk, dir, limits.indexIntervalBytes, yield* clock.wallMs)
    const segments = recovered.segments
    const active = () => segments[segments.length - 1]!
    let durableEnd = active().nextOffset
    let stopped: LogFailedError | LogClosedError | undefined
    const ioLock = yield* Semaphore.make(1)
    const layout = yield* Semaphore.make(LAYOUT_PERMITS)

    /** Runs `body` unless the log has stopped; a `LogFailedError` from it stops the log. */
    const guarded = <A, E>(body: Effect.Effect<A, E>): Effect.Effect<A, E | LogFailedError | LogClosedError> =>
      Effect.suspend((): Effect.Effect<A, E | LogFailedError | LogClosedError> =>
        stopped !== undefined
          ? Effect.fail(stopped)
          : Effect.tapError(body, (e) =>
              Effect.sync(() => {
                if (e instanceof LogFailedError) stopped = e
              })
            )
      )

    const rollNow = Effect.gen(function* () {
      const seg = active()
      if (seg.size === 0) return
      const path = logPath(dir, seg.baseOffset)
      yield* Effect.mapError(seg.file.sync, logFailed("sync", path))
      seg.timeIndex.mark()
      const facts = { baseOffset: seg.baseOffset, nextOffset: seg.nextOffset, segmentBytes: seg.size }
      yield* Effect.mapError(writeWhole(disk, indexPath(dir, seg.baseOffset), encodeOffsetIndex(seg.offsetIndex, facts)), logFailed("write-index", indexPath(dir, seg.baseOffset)))
      yield* Effect.mapError(writeWhole(disk, timeIndexPath(dir, seg.baseOffset), encodeTimeIndex(seg.timeIndex)), logFailed("write-index", timeIndexPath(dir, seg.baseOffset)))
      const nextPath = logPath(dir, seg.nextOffset)
      const file = yield* Effect.mapError(disk.open(nextPath, "create"), logFailed("create-segment", nextPath))
      // One directory sync makes the sealed segment's index names and the new segment's name durable.
      yield* Effect.mapError(disk.syncDirectory(dir), logFailed("sync-directory", dir))
      segments.push(newSegment(seg.nextOffset, file))
      durableEnd = Math.max(durableEnd, seg.nextOffset)
    })

    const appendChecked = (batch: Uint8Array, header: BatchHeader | undefined): Effect.Effect<Appended, LogAppendError> =>
      Effect.gen(function* () {
        if (batch.length > limits.maxBatchBytes) return yield* Effect.fail(new LogBatchTooLargeError({ bytes: batch.length, maxBytes: limits.maxBatchBytes }))
        // The header and CRC always, the records too when they are not compressed (unless the caller just did).
        const checked = header === undefined ? checkBatch(batch) : Result.succeed(header)
        if (Result.isFailure(checked)) return yield* Effect.fail(checked.failure)
        return yield* ioLock.withPermits(1)(
          guarded(
            Effect.gen(function* () {
              const now = yield* clock.wallMs
              const old = active()
              const full = old.size + batch.length > limits.maxSegmentBytes
              const aged = old.rollTimestamp !== undefined && now - old.rollTimestamp >= limits.segmentMs
              if (old.size > 0 && (full || aged)) yield* rollNow
              const seg = active()
              const position = seg.size
              // A replica's batches come with their offset set already (the state machine assigned it): no copy then.
              const stored = baseOffsetOf(batch) === seg.nextOffset ? batch : withBaseOffset(batch, seg.nextOffset)
              yield* Effect.mapError(seg.file.write(position, stored), appendFailed(logPath(dir, seg.baseOffset)))
              const header = { ...checked.success, baseOffset: seg.nextOffset }
              noteBatch(seg, header, position, limits.indexIntervalBytes)
              seg.rollTimestamp ??= now
              return { baseOffset: header.baseOffset, lastOffset: lastOffsetOf(header) }
            })
          )
        )
      })

    const sync = ioLock.withPermits(1)(
      guarded(
        Effect.gen(function* () {
          const seg = active()
          const target = seg.nextOffset
          yield* Effect.mapError(seg.file.sync, logFailed("sync", logPath(dir, seg.baseOffset)))
          durableEnd = Math.max(durableEnd, target)
        })
      )
    )

    /** The segment holding `offset`: the last one whose base offset is at or below it. */
    const segmentFor = (offset: number): Segment => {
      let lo = 0
      let hi = segments.length - 1
      while (lo < hi) {
        const mid = (lo + hi + 1) >>> 1
        if (segments[mid]!.baseOffset <= offset) lo = mid
        else hi = mid - 1
      }
      return segments[lo]!
    }

    const readFrom = (offset: number, maxBytes: number): Effect.Effect<ReadResult, LogReadFailure> =>
      Effect.gen(function* () {
        const start = segments[0]!.baseOffset
        const end = active().nextOffset
        if (offset < start || offset > end) {
          return yield* Effect.fail(new LogOffsetOutOfRangeError({ offset, logStartOffset: start, logEndOffset: end }))
        }
        if (offset === end) return { batches: [], nextOffset: end }
        const seg = segmentFor(offset)
        const entry = seg.offsetIndex.lookup(offset)
        const walker = new BatchWalker(seg, entry.position, entry.offset)
        const batches: Array<Uint8Array> = []
        let bytes = 0
        let nextOffset = offset
        // At least one batch, whatever maxBytes says (even 0), so a reader always moves on.
        while (batches.length === 0 || bytes < maxBytes) {
          const next = yield* Effect.result(walker.next())
          // Damage past what is already collected is left for the read that starts there to report.
          if (Result.isFailure(next) && batches.length > 0) break
          if (Result.isFailure(next)) return yield* Effect.fail(next.failure)
          const b = next.success
          if (b === undefined) break
          if (lastOffsetOf(b.header) < offset) continue
          if (batches.length > 0 && bytes + b.bytes.length > maxBytes) break
          batches.push(b.bytes)
          bytes += b.bytes.length
          nextOffset = lastOffsetOf(b.header) + 1
        }
        // A segment whose bytes end before its offsets do (damage found at open) must not read as complete.
        if (batches.length === 0) return yield* Effect.fail(walker.missing(offset))
        return { batches, nextOffset }
      })

    const read = (offset: number, maxBytes: number) =>
      layout.withPermits(1)(Effect.suspend(() => (stopped instanceof LogClosedError ? Effect.fail(stopped) : readFrom(offset, maxBytes))))

    const offsetForTimestamp = (t: number) =>
      layout.withPermits(1)(
        Effect.gen(function* () {
          if (stopped instanceof LogClosedError) return yield* Effect.fail(stopped)
          const seg = segments.find((s) => s.timeIndex.maxTimestamp !== NO_TIMESTAMP && s.timeIndex.maxTimestamp >= t)
          if (seg === undefined) return undefined
          const entry = seg.offsetIndex.lookup(seg.timeIndex.startFor(t))
          const walker = new BatchWalker(seg, entry.position, entry.offset)
          for (;;) {
            const b = yield* walker.next()
            if (b === undefined) return undefined
            if (b.header.maxTimestamp >= t) return b.header.baseOffset
          }
        })
      )

    const enforceRetention = ioLock.withPermits(1)(
      layout.withPermits(LAYOUT_PERMITS)(
        guarded(
          Effect.gen(function* () {
            const now = yield* clock.wallMs
            const facts = segments.map((s) => ({ baseOffset: s.baseOffset, size: s.size, maxTimestamp: s.timeIndex.maxTimestamp }))
            const policy = typeof config.retention === "function" ? config.retention() : config.retention ?? {}
            const count = segmentsToDelete(facts, policy, now)
            const deleted: Array<number> = []
            for (let i = 0; i < count; i++) {
              const seg = segments[0]!
              // The log file first: once its removal is durable the segment is gone; leftover index files are orphans that the next open removes.
              for (const path of [logPath(dir, seg.baseOffset), indexPath(dir, seg.baseOffset), timeIndexPath(dir, seg.baseOffset)]) {
                const removed = yield* Effect.result(disk.remove(path))
                if (Result.isFailure(removed) && removed.failure._tag !== "FileNotFoundError") return yield* Effect.fail(logFailed("remove", path)(removed.failure))
              }
              // One segment per directory sync: a crash can never remove a later segment but keep an earlier one.
              yield* Effect.mapError(disk.syncDirectory(dir), logFailed("sync-directory", dir))
              yield* seg.file.close
              segments.shift()
              deleted.push(seg.baseOffset)
            }
            return deleted
          })
        )
      )
    )

    const close = ioLock.withPermits(1)(
      layout.withPermits(LAYOUT_PERMITS)(
        Effect.gen(function* () {
          if (stopped === undefined) stopped = new LogClosedError()
          for (const s of segments) yield* s.file.close
        })
      )
    )

    const log: PartitionLog = {
      recovery: recovered.report,
      limits,
      append: (batch) => appendChecked(batch, undefined),
      appendChecked,
      sync,
      read,
      offsetForTimestamp,
      logStartOffset: () => segments[0]!.baseOffset,
      logEndOffset: () => active().nextOffset,
      durableEndOffset: () => durableEnd,
      segments: () => segments.map((s) => ({ baseOffset: s.baseOffset, nextOffset: s.nextOffset, size: s.size, maxTimestamp: s.timeIndex.maxTimestamp })),
      roll: ioLock.withPermits(1)(guarded(rollNow)),
      enforceRetention,
      close
    }
    return log
  })
