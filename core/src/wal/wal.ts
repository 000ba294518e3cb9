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
 *
 * This file is the API; its rooms: `recover.ts` (opening: superblock,
 * segments, scan), `writer.ts` (the state, its invariants, and the writer
 * fiber), `truncate.ts` (dropping a suffix or a prefix), `disk-io.ts` (file
 * reads, zeroing, and what disk failures become), `format.ts` and `scan.ts`
 * (the bytes on disk).
 */
import { Deferred, Effect, Result, Semaphore, type Scope } from "effect"
import { Clock } from "../clock/clock.ts"
import { Disk } from "../disk/disk.ts"
import { failed } from "./disk-io.ts"
import { decodeHeader, encodeFrame, HEADER_BYTES, KIND_DATA, payloadIntact, segmentPath, superblockPath, type Position, type Superblock } from "./format.ts"
import { recoverLog } from "./recover.ts"
import type { ScanResult } from "./scan.ts"
import { makeTruncation } from "./truncate.ts"
import { SyncPreset, type SyncStrategy } from "./sync-strategy.ts"
import {
  WalClosedError,
  WalCorruptRecordError,
  WalFailedError,
  WalOutOfRangeError,
  WalReadError,
  WalRecordTooLargeError,
  WalRecoveryIOError,
  WalRepairError,
  type WalAppendError,
  type WalDamage,
  type WalOpenError,
  type WalReadFailure
} from "./wal-error.ts"
import { checkState, makeWriter, recoveredState, type WalFiles } from "./writer.ts"

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

const DEFAULT_SEGMENT_BYTES = 16 * 1024 * 1024
const DEFAULT_MAX_BATCH_BYTES = 4 * 1024 * 1024
const DEFAULT_MAX_PENDING_BYTES = 16 * 1024 * 1024
/** Readers share the layout; truncation and repair take all of it. */
const LAYOUT_PERMITS = 1 << 20

/** What recovery found, as the Wal reports it. */
const recoveryReport = (sb: Superblock, scan: ScanResult, generation: number): RecoveryReport => ({
  firstSeq: sb.firstSeq,
  lastSeq: scan.lastSeq,
  durableSeq: sb.durableSeq,
  tailRecords: scan.tailRecords,
  end: scan.end,
  damaged: scan.damage,
  generation
})

/** How often a timer must wake the writer to sync, for strategies that sync on time; undefined otherwise. */
const syncTickMs = (strategy: SyncStrategy): number | undefined =>
  strategy._tag === "Periodic" ? strategy.intervalMs : strategy._tag === "Threshold" ? strategy.maxDelayMs : undefined

/** Opens (recovering) the log in `config.dir`. The writer lives as long as the scope. */
export const openWal = (config: WalConfig = {}): Effect.Effect<Wal, WalOpenError, Disk | Clock | Scope.Scope> =>
  Effect.gen(function* () {
    const disk = yield* Disk
    const clock = yield* Clock
    const dir = config.dir ?? "wal"
    const strategy = config.sync ?? SyncPreset.Durable
    const maxBatchBytes = config.maxBatchBytes ?? DEFAULT_MAX_BATCH_BYTES
    const maxPendingBytes = config.maxPendingBytes ?? DEFAULT_MAX_PENDING_BYTES
    const sbPath = superblockPath(dir)

    const { sb, sbFile, files, scan } = yield* recoverLog(disk, dir, config.segmentBytes ?? DEFAULT_SEGMENT_BYTES)
    const segmentBytes = sb.segmentBytes
    const st = recoveredState(sb, scan)
    const io: WalFiles = { disk, dir, segmentBytes, sbPath, sbFile, files, strategy, maxBatchBytes, maxPendingBytes }
    const writer = makeWriter(st, io)
    const { signal, release, failWaitersFrom, dropPendingFrom, fileOf, superblock: writeSuperblock, loop } = writer

    const report = recoveryReport(sb, scan, st.generation)
    // A new generation before any write: records of earlier incarnations past the end can never come back.
    yield* Effect.mapError(
      writeSuperblock({ generation: st.generation, firstSeq: st.firstSeq, first: st.first, durableSeq: st.durableSeq, durable: st.durable }),
      (e) => new WalRecoveryIOError({ op: "superblock", path: sbPath, message: e.message })
    )
    checkState(st, segmentBytes)

    const ioLock = yield* Semaphore.make(1)
    const layout = yield* Semaphore.make(LAYOUT_PERMITS)

    // Registered before the writer is forked, so it runs after the writer has been interrupted.
    yield* Effect.addFinalizer(() =>
      Effect.gen(function* () {
        for (const file of files.values()) yield* file.close
        yield* sbFile.close
      })
    )
    yield* Effect.forkScoped(loop(ioLock))
    const tickMs = syncTickMs(strategy)
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

    const { suffixCut, truncateSuffix, truncatePrefix, withPoison } = makeTruncation(st, io, writer, exclusive)

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
