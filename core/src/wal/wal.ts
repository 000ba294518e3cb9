/**
 * The per-node write-ahead log: segmented, preallocated files of checksummed
 * records, group commit, an explicit durability contract per append, and a
 * recovery that tells a torn tail (truncated) from corruption of
 * acknowledged records (reported by sequence number, never served, never
 * skipped silently) so that consensus can repair them from peers
 * (Protocol-Aware Recovery, FAST 2018).
 *
 * Durability: `append` assigns the next sequence number at once and returns
 * it with `durable`, an effect that resolves when the record AND a
 * superblock naming a durable end at or past it are on stable storage. When
 * fsyncs happen is the sync strategy's choice (see `sync-strategy.ts`); one
 * fsync covers every record written before it (group commit).
 *
 * Failure policy: a failed write or fsync leaves the file's unsynced state
 * unknown (a failed fsync means the data is gone), so the log fails stop:
 * every append not yet durable fails with `WalFailedError` and the log must
 * be reopened, which recovers from what actually landed. A full disk fails
 * the appends that did not fit with `WalDiskFullError` and nothing else.
 */
import { Deferred, Effect, Result, Semaphore, type Scope } from "effect"
import { Clock } from "../clock/clock.ts"
import { Disk, type DiskFile } from "../disk/disk.ts"
import type { DiskError } from "../disk/disk-error.ts"
import { assert } from "../invariant/invariant.ts"
import {
  decodeHeader,
  decodeSuperblock,
  encodeFrame,
  encodeSuperblock,
  HEADER_BYTES,
  KIND_DATA,
  KIND_SEAL,
  parseSegmentName,
  payloadIntact,
  segmentPath,
  SUPERBLOCK_COPIES,
  superblockPath,
  type Position,
  type Superblock
} from "./format.ts"
import { scanLog, type SegmentImage, type Slot } from "./scan.ts"
import { SyncPreset, type SyncStrategy } from "./sync-strategy.ts"
import {
  WalClosedError,
  WalCorruptRecordError,
  WalDiskFullError,
  WalFailedError,
  WalOutOfRangeError,
  WalReadError,
  WalRecordTooLargeError,
  WalRecoveryIOError,
  WalRepairError,
  WalSuperblockError,
  WalTruncatedError,
  type WalAppendError,
  type WalDamage,
  type WalOpenError,
  type WalReadFailure
} from "./wal-error.ts"

export interface WalConfig {
  /** Directory of the log inside the node's data directory. Default "wal". */
  readonly dir?: string
  /** Size of a new log's segments (an existing log keeps its own). Default 16 MiB. */
  readonly segmentBytes?: number
  /** Default `SyncPreset.Durable`. */
  readonly sync?: SyncStrategy
  /** Largest group-commit write. Default 4 MiB. */
  readonly maxBatchBytes?: number
  /** Appends wait (backpressure) while this many bytes are queued but not yet written. Default 16 MiB. */
  readonly maxPendingBytes?: number
}

/** An accepted append: its sequence number, and how to learn that it is durable. */
export interface Appended {
  readonly seq: number
  /** Resolves once the record survives power loss; fails if it never will. */
  readonly durable: Effect.Effect<void, WalAppendError>
}

/** What recovery found when the log was opened. */
export interface RecoveryReport {
  readonly firstSeq: number
  readonly lastSeq: number
  /** The durable end the superblock recorded before this open. */
  readonly durableSeq: number
  /** Records past that durable end that landed intact and were kept. */
  readonly tailRecords: number
  /** Where the log ends: a torn tail, if any, started here and was cut. */
  readonly end: Position
  /** Acknowledged entries found damaged: repair them from peers. */
  readonly damaged: ReadonlyArray<WalDamage>
  readonly generation: number
}

export interface Wal {
  readonly recovery: RecoveryReport
  /** Appends a record; returns its sequence number and its durability. */
  readonly append: (
    payload: Uint8Array
  ) => Effect.Effect<Appended, WalRecordTooLargeError | WalFailedError | WalClosedError>
  /** Appends and waits until durable. */
  readonly appendDurable: (payload: Uint8Array) => Effect.Effect<number, WalRecordTooLargeError | WalAppendError>
  /** Makes every record appended so far durable, whatever the strategy. */
  readonly sync: Effect.Effect<void, WalAppendError>
  /** Reads a record, verifying its checksums. Never returns damaged bytes. */
  readonly read: (seq: number) => Effect.Effect<Uint8Array, WalReadFailure>
  readonly firstSeq: () => number
  /** The last appended sequence number (firstSeq - 1 when empty). */
  readonly lastSeq: () => number
  /** The last sequence number known durable. */
  readonly durableSeq: () => number
  /** Entries known damaged (found by recovery or by reads), in order. */
  readonly damaged: () => ReadonlyArray<WalDamage>
  /**
   * Overwrites entry `seq` in place with a good copy (from a peer) and makes
   * it durable. The copy must frame to the same size as the slot.
   */
  readonly repair: (seq: number, payload: Uint8Array) => Effect.Effect<void, WalRepairError | WalFailedError | WalClosedError>
  /**
   * Where `truncateSuffix(from)` really cuts: `from`, or earlier when `from`
   * lies in a damaged region whose headers were lost (its entries share the
   * region's start, so they can only go together). Callers that must keep
   * what precedes `from` rewrite the entries from here on.
   */
  readonly suffixCut: (from: number) => number
  /** Removes `suffixCut(from)` and everything after it (a Raft conflict). Durable when it returns. */
  readonly truncateSuffix: (from: number) => Effect.Effect<void, WalFailedError | WalOutOfRangeError | WalClosedError>
  /** Removes everything below `seq` (covered by a snapshot). Durable when it returns. */
  readonly truncatePrefix: (seq: number) => Effect.Effect<void, WalFailedError | WalClosedError>
  /** Stops the writer; appends not yet durable fail with `WalClosedError`. Does not sync. */
  readonly close: Effect.Effect<void>
}

interface PendingRecord {
  readonly seq: number
  readonly frame: Uint8Array
  readonly payload: Uint8Array
}

interface Waiter {
  readonly seq: number
  readonly deferred: Deferred.Deferred<void, WalAppendError>
}

const DEFAULT_SEGMENT_BYTES = 16 * 1024 * 1024
const DEFAULT_MAX_BATCH_BYTES = 4 * 1024 * 1024
const DEFAULT_MAX_PENDING_BYTES = 16 * 1024 * 1024
const READ_ATTEMPTS = 3
const ZEROS = new Uint8Array(1024 * 1024)
const EMPTY = new Uint8Array(0)
/** Readers share the layout; truncation and repair take all of it. */
const LAYOUT_PERMITS = 1 << 20

const failed = (op: WalFailedError["op"], path: string) => (e: DiskError) =>
  new WalFailedError({ op, path, message: `${e._tag}${"message" in e ? `: ${e.message}` : ""}` })

const recoveryIO = (op: string, path: string) => (e: DiskError) =>
  new WalRecoveryIOError({ op, path, message: `${e._tag}${"message" in e ? `: ${e.message}` : ""}` })

/**
 * Reads a whole file, retrying transient EIO and falling back to sector by
 * sector reads so that one bad sector costs only its own bytes.
 */
const readImage = (
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
const zeroRange = (file: DiskFile, from: number, to: number) =>
  Effect.gen(function* () {
    for (let off = from; off < to; off += ZEROS.length) yield* file.write(off, ZEROS.subarray(0, Math.min(ZEROS.length, to - off)))
  })

/** Opens (recovering) the log in `config.dir`. The writer lives as long as the scope. */
export const openWal = (config: WalConfig = {}): Effect.Effect<Wal, WalOpenError, Disk | Clock | Scope.Scope> =>
  Effect.gen(function* () {
    const disk = yield* Disk
    const clock = yield* Clock
    const dir = config.dir ?? "wal"
    const strategy = config.sync ?? SyncPreset.Durable
    const maxBatchBytes = config.maxBatchBytes ?? DEFAULT_MAX_BATCH_BYTES
    const maxPendingBytes = config.maxPendingBytes ?? DEFAULT_MAX_PENDING_BYTES
    const sectorSize = disk.sectorSize
    const sbPath = superblockPath(dir)

    // ---- recovery --------------------------------------------------------------

    const names = yield* Effect.mapError(disk.list(dir), recoveryIO("list", dir))
    const segmentsOnDisk = names.flatMap((n) => {
      const k = parseSegmentName(n)
      return k === undefined ? [] : [k]
    })
    let sbFile: DiskFile
    let sb: Superblock
    if (!names.includes("superblock")) {
      if (segmentsOnDisk.length > 0) {
        return yield* Effect.fail(new WalSuperblockError({ path: sbPath, message: "segments exist but the superblock is missing" }))
      }
      const segmentBytes = config.segmentBytes ?? DEFAULT_SEGMENT_BYTES
      assert(segmentBytes % sectorSize === 0 && segmentBytes >= 4 * sectorSize, "segment size must be a multiple of the sector size")
      sb = { version: 1, generation: 0, firstSeq: 1, first: { segment: 1, offset: 0 }, durableSeq: 0, durable: { segment: 1, offset: 0 }, segmentBytes }
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
      sbFile = yield* Effect.mapError(disk.open(sbPath, "existing"), recoveryIO("open", sbPath))
    } else {
      sbFile = yield* Effect.mapError(disk.open(sbPath, "existing"), recoveryIO("open", sbPath))
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
      sb = best
    }
    const segmentBytes = sb.segmentBytes

    const files = new Map<number, DiskFile>()
    const images = new Map<number, SegmentImage>()
    for (const k of segmentsOnDisk) {
      if (k < sb.first.segment) continue
      const path = segmentPath(dir, k)
      const file = yield* Effect.mapError(disk.open(path, "existing"), recoveryIO("open", path))
      files.set(k, file)
      const image = yield* readImage(file, sectorSize)
      images.set(k, {
        segment: k,
        bytes: image.bytes,
        unreadable: (offset, length) => {
          if (image.badSectors.size === 0) return false
          for (let s = Math.floor(offset / sectorSize); s * sectorSize < offset + length; s++) if (image.badSectors.has(s)) return true
          return false
        }
      })
    }
    const lastSegmentOnDisk = segmentsOnDisk.length === 0 ? 0 : Math.max(...segmentsOnDisk)
    const scan = scanLog(sb, lastSegmentOnDisk, (k) => images.get(k))
    assert(scan.lastSeq >= sb.durableSeq, () => `recovery lost durable records: ${scan.lastSeq} < ${sb.durableSeq}`)
    // Whatever lies past the end (a cut tail, stray misdirected data) is zeroed: once new records there are
    // durable, a later misdirected or lost write must not uncover a stale frame that looks valid.
    const endImage = images.get(scan.end.segment)
    if (endImage !== undefined) {
      let last = endImage.bytes.length - 1
      while (last >= scan.end.offset && endImage.bytes[last] === 0) last--
      if (last >= scan.end.offset) {
        const file = files.get(scan.end.segment)!
        yield* Effect.mapError(zeroRange(file, scan.end.offset, last + 1), recoveryIO("write", file.path))
      }
    }
    images.clear()

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

    const st = {
      generation: sb.generation + 1,
      sbVersion: sb.version,
      firstSeq: sb.firstSeq,
      first: sb.first,
      nextSeq: scan.lastSeq + 1,
      writtenSeq: scan.lastSeq,
      durableSeq: scan.lastSeq,
      durable: scan.end,
      curSeg: scan.end.segment,
      curOffset: scan.end.offset,
      slots: [...scan.slots] as Array<Slot>,
      pending: [] as Array<PendingRecord>,
      pendingBySeq: new Map<number, PendingRecord>(),
      waiters: [] as Array<Waiter>,
      damaged: new Map<number, WalDamage>(scan.damage.map((d) => [d.seq, d])),
      failure: undefined as WalFailedError | undefined,
      closed: false,
      syncRequested: false,
      unsyncedBytes: 0,
      unsyncedRecords: 0,
      wake: undefined as Deferred.Deferred<void> | undefined,
      pendingBytes: 0,
      /** Appenders held back by `maxPendingBytes`, released as the writer drains the queue. */
      drained: undefined as Deferred.Deferred<void> | undefined
    }
    assert(st.slots.length === st.nextSeq - st.firstSeq, "one slot per retained entry")

    /** Writes the next superblock version to the pair it belongs to and syncs it. */
    const writeSuperblock = (next: Omit<Superblock, "version" | "segmentBytes">) =>
      Effect.gen(function* () {
        const version = st.sbVersion + 1
        const copy = encodeSuperblock({ ...next, version, segmentBytes }, sectorSize)
        const pair = new Uint8Array(copy.length * 2)
        pair.set(copy)
        pair.set(copy, copy.length)
        yield* Effect.mapError(sbFile.write((version % 2) * pair.length, pair), failed("superblock", sbPath))
        yield* Effect.mapError(sbFile.sync, failed("superblock", sbPath))
        st.sbVersion = version
      })

    const report: RecoveryReport = {
      firstSeq: sb.firstSeq,
      lastSeq: scan.lastSeq,
      durableSeq: sb.durableSeq,
      tailRecords: scan.tailRecords,
      end: scan.end,
      damaged: scan.damage,
      generation: st.generation
    }
    // A new generation before any write: records of earlier incarnations past the end can never come back.
    yield* Effect.mapError(
      writeSuperblock({ generation: st.generation, firstSeq: st.firstSeq, first: st.first, durableSeq: st.durableSeq, durable: st.durable }),
      (e) => new WalRecoveryIOError({ op: "superblock", path: sbPath, message: e.message })
    )

    // ---- the writer --------------------------------------------------------------

    const ioLock = yield* Semaphore.make(1)
    const layout = yield* Semaphore.make(LAYOUT_PERMITS)

    const signal = () => {
      const wake = st.wake
      if (wake !== undefined) {
        st.wake = undefined
        Deferred.doneUnsafe(wake, Effect.void)
      }
    }

    const release = () => {
      const drained = st.drained
      if (drained !== undefined && (st.pendingBytes < maxPendingBytes || st.failure !== undefined || st.closed)) {
        st.drained = undefined
        Deferred.doneUnsafe(drained, Effect.void)
      }
    }

    const settle = () => {
      let n = 0
      while (n < st.waiters.length && st.waiters[n]!.seq <= st.durableSeq) {
        Deferred.doneUnsafe(st.waiters[n]!.deferred, Effect.void)
        n++
      }
      if (n > 0) st.waiters.splice(0, n)
    }

    /** Fails the waiters for `seq >= from` (the records they wait for will never be durable). */
    const failWaitersFrom = (from: number, error: WalAppendError) => {
      const keep: Array<Waiter> = []
      for (const w of st.waiters) {
        if (w.seq >= from) Deferred.doneUnsafe(w.deferred, Effect.fail(error))
        else keep.push(w)
      }
      st.waiters = keep
    }

    const dropPendingFrom = (from: number) => {
      st.pending = st.pending.filter((p) => {
        if (p.seq < from) return true
        st.pendingBySeq.delete(p.seq)
        st.pendingBytes -= p.frame.length
        return false
      })
      release()
    }

    const poison = (error: WalFailedError) => {
      if (st.failure !== undefined) return
      st.failure = error
      failWaitersFrom(Number.NEGATIVE_INFINITY, error)
      dropPendingFrom(Number.NEGATIVE_INFINITY)
      st.nextSeq = st.writtenSeq + 1
      release()
    }

    const fileOf = (k: number): DiskFile => {
      const file = files.get(k)
      assert(file !== undefined, () => `segment ${k} is not open`)
      return file
    }

    /** Creates segment k preallocated with zeros, durable before any record goes in. */
    const createSegment = (k: number) =>
      Effect.gen(function* () {
        const path = segmentPath(dir, k)
        const file = yield* Effect.mapError(disk.open(path, "create"), (e) =>
          e._tag === "DiskFullError" ? new WalDiskFullError({ path, message: e.message }) : failed("create-segment", path)(e)
        )
        const fill = Effect.gen(function* () {
          for (let off = 0; off < segmentBytes; off += ZEROS.length) {
            yield* file.write(off, ZEROS.subarray(0, Math.min(ZEROS.length, segmentBytes - off)))
          }
          yield* file.sync
        })
        const filled = yield* Effect.result(fill)
        if (Result.isFailure(filled)) {
          yield* Effect.ignore(disk.remove(path))
          const e = filled.failure
          return yield* Effect.fail(
            e._tag === "DiskFullError" ? new WalDiskFullError({ path, message: e.message }) : failed("create-segment", path)(e)
          )
        }
        yield* Effect.mapError(disk.syncDirectory(dir), failed("sync-directory", dir))
        files.set(k, file)
      })

    const makeDurable = Effect.gen(function* () {
      if (st.writtenSeq > st.durableSeq || st.unsyncedBytes > 0) {
        yield* Effect.mapError(fileOf(st.curSeg).sync, failed("sync", segmentPath(dir, st.curSeg)))
      }
      const durable = { segment: st.curSeg, offset: st.curOffset }
      yield* writeSuperblock({ generation: st.generation, firstSeq: st.firstSeq, first: st.first, durableSeq: st.writtenSeq, durable })
      st.durableSeq = st.writtenSeq
      st.durable = durable
      st.unsyncedBytes = 0
      st.unsyncedRecords = 0
      settle()
    })

    /** Seals the current segment, creates the next one and records the move durably. */
    const rollover = Effect.gen(function* () {
      const seal = encodeFrame(KIND_SEAL, st.writtenSeq, st.generation, EMPTY)
      yield* Effect.mapError(fileOf(st.curSeg).write(st.curOffset, seal), (e) =>
        e._tag === "DiskFullError" ? new WalDiskFullError({ path: e.path, message: e.message }) : failed("write", e.path)(e)
      )
      yield* Effect.mapError(fileOf(st.curSeg).sync, failed("sync", segmentPath(dir, st.curSeg)))
      yield* createSegment(st.curSeg + 1)
      st.curSeg++
      st.curOffset = 0
      st.unsyncedBytes = 0
      yield* makeDurable
    })

    const writeBatch = Effect.gen(function* () {
      if (!files.has(st.curSeg)) yield* createSegment(st.curSeg)
      if (st.curOffset + st.pending[0]!.frame.length + HEADER_BYTES > segmentBytes) yield* rollover
      let bytes = 0
      let n = 0
      while (n < st.pending.length) {
        const size = st.pending[n]!.frame.length
        if (n > 0 && bytes + size > maxBatchBytes) break
        if (st.curOffset + bytes + size + HEADER_BYTES > segmentBytes) break
        bytes += size
        n++
      }
      assert(n > 0, "a record always fits an empty segment")
      const batch = st.pending.slice(0, n)
      const buffer = n === 1 ? batch[0]!.frame : new Uint8Array(bytes)
      if (n > 1) {
        let at = 0
        for (const p of batch) {
          buffer.set(p.frame, at)
          at += p.frame.length
        }
      }
      const path = segmentPath(dir, st.curSeg)
      yield* Effect.mapError(fileOf(st.curSeg).write(st.curOffset, buffer), (e) =>
        e._tag === "DiskFullError" ? new WalDiskFullError({ path, message: e.message }) : failed("write", path)(e)
      )
      let at = st.curOffset
      for (const p of batch) {
        assert(p.seq === st.writtenSeq + 1, "records are written in sequence")
        st.slots.push({ segment: st.curSeg, offset: at, frameBytes: p.frame.length })
        st.pendingBySeq.delete(p.seq)
        st.writtenSeq = p.seq
        at += p.frame.length
      }
      st.pending.splice(0, n)
      st.pendingBytes -= bytes
      release()
      st.curOffset = at
      st.unsyncedBytes += bytes
      st.unsyncedRecords += n
    })

    const wantsSync = (): boolean => {
      if (st.writtenSeq <= st.durableSeq) return false
      if (st.syncRequested) return true
      switch (strategy._tag) {
        case "Always":
          return true
        case "Threshold":
          return st.unsyncedBytes >= strategy.bytes || st.unsyncedRecords >= strategy.records
        case "Periodic":
        case "None":
          return false
      }
    }

    const step = Effect.gen(function* () {
      if (st.pending.length > 0) yield* writeBatch
      if (st.pending.length === 0 && st.syncRequested && st.writtenSeq <= st.durableSeq) st.syncRequested = false
      if (wantsSync()) {
        if (st.pending.length === 0) st.syncRequested = false
        yield* makeDurable
      }
    })

    const writer = Effect.gen(function* () {
      for (;;) {
        if (st.failure !== undefined || st.closed) return
        if (st.pending.length === 0 && !wantsSync()) {
          const wake = Deferred.makeUnsafe<void>()
          st.wake = wake
          yield* Deferred.await(wake)
          continue
        }
        const r = yield* Effect.result(ioLock.withPermits(1)(step))
        if (Result.isFailure(r)) {
          const e = r.failure
          if (e._tag === "WalDiskFullError") {
            // Nothing of the failed batch landed: the appends that did not fit fail, the log goes on.
            failWaitersFrom(st.writtenSeq + 1, e)
            dropPendingFrom(st.writtenSeq + 1)
            st.nextSeq = st.writtenSeq + 1
          } else {
            poison(e)
          }
        }
      }
    })
    // Registered before the writer is forked, so it runs after the writer has been interrupted.
    yield* Effect.addFinalizer(() =>
      Effect.gen(function* () {
        for (const file of files.values()) yield* file.close
        yield* sbFile.close
      })
    )
    yield* Effect.forkScoped(writer)
    const tickMs =
      strategy._tag === "Periodic" ? strategy.intervalMs : strategy._tag === "Threshold" ? strategy.maxDelayMs : undefined
    if (tickMs !== undefined) {
      const tick = Effect.gen(function* () {
        yield* clock.sleep(tickMs)
        if (st.writtenSeq > st.durableSeq || st.pending.length > 0) {
          st.syncRequested = true
          signal()
        }
      })
      yield* Effect.forkScoped(Effect.forever(tick))
    }

    // ---- the API -------------------------------------------------------------------

    const usable = (): WalFailedError | WalClosedError | undefined =>
      st.failure ?? (st.closed ? new WalClosedError() : undefined)

    const maxPayload = segmentBytes - 2 * HEADER_BYTES - 8

    const enqueue = (payload: Uint8Array): Effect.Effect<Appended, WalRecordTooLargeError | WalFailedError | WalClosedError> => {
      const bad = usable()
      if (bad !== undefined) return Effect.fail(bad)
      if (payload.length > maxPayload) return Effect.fail(new WalRecordTooLargeError({ bytes: payload.length, maxBytes: maxPayload }))
      if (st.pendingBytes >= maxPendingBytes) {
        // Backpressure: wait for the writer to drain the queue, then try again.
        st.drained ??= Deferred.makeUnsafe<void>()
        return Effect.flatMap(Deferred.await(st.drained), () => enqueue(payload))
      }
      const seq = st.nextSeq++
      const record = { seq, frame: encodeFrame(KIND_DATA, seq, st.generation, payload), payload: payload.slice() }
      st.pending.push(record)
      st.pendingBySeq.set(seq, record)
      st.pendingBytes += record.frame.length
      const deferred = Deferred.makeUnsafe<void, WalAppendError>()
      st.waiters.push({ seq, deferred })
      signal()
      return Effect.succeed({ seq, durable: Deferred.await(deferred) })
    }

    const append = (payload: Uint8Array) => Effect.suspend(() => enqueue(payload))

    const sync = Effect.suspend((): Effect.Effect<void, WalAppendError> => {
      const bad = usable()
      if (bad !== undefined) return Effect.fail(bad)
      const target = st.nextSeq - 1
      if (target <= st.durableSeq) return Effect.void
      const deferred = Deferred.makeUnsafe<void, WalAppendError>()
      st.waiters.push({ seq: target, deferred })
      st.syncRequested = true
      signal()
      return Deferred.await(deferred)
    })

    const readSlot = (seq: number): Effect.Effect<Uint8Array, WalReadFailure> =>
      Effect.gen(function* () {
        if (seq < st.firstSeq || seq >= st.nextSeq) {
          return yield* Effect.fail(new WalOutOfRangeError({ seq, firstSeq: st.firstSeq, lastSeq: st.nextSeq - 1 }))
        }
        const pending = st.pendingBySeq.get(seq)
        if (pending !== undefined) return pending.payload.slice()
        const known = st.damaged.get(seq)
        if (known !== undefined) return yield* Effect.fail(new WalCorruptRecordError(known))
        const slot = st.slots[seq - st.firstSeq]!
        const bytes = yield* Effect.mapError(
          fileOf(slot.segment).read(slot.offset, slot.frameBytes),
          (e) => new WalReadError({ seq, segment: slot.segment, offset: e.offset ?? slot.offset, message: e.message })
        )
        const h = decodeHeader(bytes, 0)
        if (h !== undefined && h.kind === KIND_DATA && h.seq === seq && h.frameBytes === slot.frameBytes && payloadIntact(bytes, 0, h)) {
          return bytes.slice(HEADER_BYTES, HEADER_BYTES + h.payloadLength)
        }
        const damage: WalDamage = {
          seq,
          segment: slot.segment,
          offset: slot.offset,
          reason: h !== undefined && h.seq === seq ? "payload-checksum" : "header"
        }
        st.damaged.set(seq, damage)
        return yield* Effect.fail(new WalCorruptRecordError(damage))
      })

    const read = (seq: number) => layout.withPermits(1)(readSlot(seq))

    /** Runs a layout change exclusively: no batch in flight, no read in flight. */
    const exclusive = <A, E>(body: Effect.Effect<A, E>): Effect.Effect<A, E | WalFailedError | WalClosedError> =>
      ioLock.withPermits(1)(
        layout.withPermits(LAYOUT_PERMITS)(
          Effect.suspend((): Effect.Effect<A, E | WalFailedError | WalClosedError> => {
            const bad = usable()
            return bad !== undefined ? Effect.fail(bad) : body
          })
        )
      )

    const withPoison = <A>(body: Effect.Effect<A, WalFailedError>): Effect.Effect<A, WalFailedError> =>
      Effect.tapError(body, (e) => Effect.sync(() => poison(e)))

    const repair = (seq: number, payload: Uint8Array) =>
      exclusive(
        Effect.gen(function* () {
          if (seq < st.firstSeq || seq > st.writtenSeq) {
            return yield* Effect.fail(new WalRepairError({ seq, message: "not a written entry of this log" }))
          }
          const slot = st.slots[seq - st.firstSeq]!
          const frame = encodeFrame(KIND_DATA, seq, st.generation, payload)
          if (slot.frameBytes !== frame.length) {
            return yield* Effect.fail(
              new WalRepairError({
                seq,
                message: `the slot holds ${slot.frameBytes} bytes and the copy frames to ${frame.length}: truncateSuffix(${seq}) and append the good copies instead`
              })
            )
          }
          const path = segmentPath(dir, slot.segment)
          const file = fileOf(slot.segment)
          yield* withPoison(Effect.mapError(file.write(slot.offset, frame), failed("write", path)))
          yield* withPoison(Effect.mapError(file.sync, failed("sync", path)))
          const back = yield* Effect.result(file.read(slot.offset, frame.length))
          if (Result.isFailure(back) || !back.success.every((b, i) => b === frame[i])) {
            return yield* Effect.fail(new WalRepairError({ seq, message: "the repaired record does not read back (misdirected write?)" }))
          }
          st.damaged.delete(seq)
        })
      )

    const suffixCut = (from: number): number => {
      if (from < st.firstSeq || from > st.writtenSeq) return from
      // A damaged entry with no header shares its region's start: cut from the region's first entry.
      let cut = from
      const at = (s: number) => st.slots[s - st.firstSeq]!
      while (cut > st.firstSeq && at(cut).frameBytes < 0 && at(cut - 1).frameBytes < 0 && at(cut - 1).offset === at(cut).offset && at(cut - 1).segment === at(cut).segment) cut--
      return cut
    }

    const truncateSuffix = (from: number) =>
      exclusive(
        Effect.gen(function* () {
          if (from < st.firstSeq) {
            return yield* Effect.fail(new WalOutOfRangeError({ seq: from, firstSeq: st.firstSeq, lastSeq: st.nextSeq - 1 }))
          }
          if (from >= st.nextSeq) return
          dropPendingFrom(from)
          failWaitersFrom(from, new WalTruncatedError({ seq: from }))
          for (const seq of [...st.damaged.keys()]) if (seq >= from) st.damaged.delete(seq)
          if (from > st.writtenSeq) {
            st.nextSeq = from
            return
          }
          const cut = suffixCut(from)
          const at = (s: number) => st.slots[s - st.firstSeq]!
          if (cut < from) {
            for (const seq of [...st.damaged.keys()]) if (seq >= cut) st.damaged.delete(seq)
            failWaitersFrom(cut, new WalTruncatedError({ seq: cut }))
          }
          const slot = at(cut)
          const position = { segment: slot.segment, offset: slot.offset }
          const generation = st.generation + 1
          yield* withPoison(
            Effect.gen(function* () {
              // What stays must be durable before the superblock says so.
              if (position.segment === st.curSeg && st.writtenSeq > st.durableSeq) {
                yield* Effect.mapError(fileOf(st.curSeg).sync, failed("sync", segmentPath(dir, st.curSeg)))
              }
              yield* writeSuperblock({ generation, firstSeq: st.firstSeq, first: st.first, durableSeq: cut - 1, durable: position })
              // The cut frames are zeroed, so no later lost or misdirected write can uncover them as valid records.
              const oldEnd = position.segment === st.curSeg ? st.curOffset : segmentBytes
              if (oldEnd > position.offset) {
                const path = segmentPath(dir, position.segment)
                yield* Effect.mapError(zeroRange(fileOf(position.segment), position.offset, oldEnd), failed("write", path))
                yield* Effect.mapError(fileOf(position.segment).sync, failed("sync", path))
              }
              let removedAny = false
              for (const k of [...files.keys()]) {
                if (k > position.segment) {
                  yield* Effect.mapError(disk.remove(segmentPath(dir, k)), failed("sync-directory", segmentPath(dir, k)))
                  files.delete(k)
                  removedAny = true
                }
              }
              if (removedAny) yield* Effect.mapError(disk.syncDirectory(dir), failed("sync-directory", dir))
            })
          )
          st.generation = generation
          st.curSeg = position.segment
          st.curOffset = position.offset
          st.writtenSeq = cut - 1
          st.durableSeq = cut - 1
          st.durable = position
          st.nextSeq = cut
          st.slots.length = cut - st.firstSeq
          st.unsyncedBytes = 0
          st.unsyncedRecords = 0
          settle()
        })
      )

    const truncatePrefix = (seq: number) =>
      exclusive(
        Effect.gen(function* () {
          if (seq <= st.firstSeq) return
          // Pending records below the new start are cut; those at or above it stay queued.
          st.pending = st.pending.filter((p) => {
            if (p.seq >= seq) return true
            st.pendingBySeq.delete(p.seq)
            st.pendingBytes -= p.frame.length
            return false
          })
          release()
          if (seq > st.nextSeq) st.nextSeq = seq
          const first =
            seq <= st.writtenSeq
              ? { segment: st.slots[seq - st.firstSeq]!.segment, offset: st.slots[seq - st.firstSeq]!.offset }
              : { segment: st.curSeg, offset: st.curOffset }
          const durableSeq = Math.max(st.durableSeq, seq - 1)
          const durable = st.durableSeq >= seq - 1 ? st.durable : first
          yield* withPoison(
            Effect.gen(function* () {
              yield* writeSuperblock({ generation: st.generation, firstSeq: seq, first, durableSeq, durable })
              let removedAny = false
              for (const k of [...files.keys()]) {
                if (k < first.segment) {
                  yield* Effect.mapError(disk.remove(segmentPath(dir, k)), failed("sync-directory", segmentPath(dir, k)))
                  files.delete(k)
                  removedAny = true
                }
              }
              if (removedAny) yield* Effect.mapError(disk.syncDirectory(dir), failed("sync-directory", dir))
            })
          )
          st.slots.splice(0, Math.min(seq, st.writtenSeq + 1) - st.firstSeq)
          // Entries below the new start that never became durable are gone with it.
          const keep: Array<Waiter> = []
          for (const w of st.waiters) {
            if (w.seq < seq && w.seq > st.durableSeq) Deferred.doneUnsafe(w.deferred, Effect.fail(new WalTruncatedError({ seq: w.seq })))
            else keep.push(w)
          }
          st.waiters = keep
          if (st.writtenSeq < seq - 1) st.writtenSeq = seq - 1
          st.durableSeq = durableSeq
          st.durable = durable
          st.firstSeq = seq
          st.first = first
          for (const s of [...st.damaged.keys()]) if (s < seq) st.damaged.delete(s)
          assert(st.slots.length === st.writtenSeq + 1 - st.firstSeq, "one slot per written entry")
          settle()
        })
      )

    const close = Effect.sync(() => {
      if (st.closed) return
      st.closed = true
      failWaitersFrom(Number.NEGATIVE_INFINITY, new WalClosedError())
      dropPendingFrom(Number.NEGATIVE_INFINITY)
      st.nextSeq = st.writtenSeq + 1
      signal()
      release()
    })
    yield* Effect.addFinalizer(() => close)

    const wal: Wal = {
      recovery: report,
      append,
      appendDurable: (payload) =>
        Effect.flatMap(append(payload), (a) => Effect.as(a.durable, a.seq)),
      sync,
      read,
      firstSeq: () => st.firstSeq,
      lastSeq: () => st.nextSeq - 1,
      durableSeq: () => st.durableSeq,
      damaged: () => [...st.damaged.values()].sort((a, b) => a.seq - b.seq),
      repair,
      suffixCut,
      truncateSuffix,
      truncatePrefix,
      close
    }
    return wal
  })
