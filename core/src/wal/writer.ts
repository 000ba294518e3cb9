/**
 * The WAL's writer: the log's state after recovery, and the one fiber that
 * turns queued appends into group-commit writes, seals and creates segments,
 * makes records durable (file fsync, then a superblock naming the new
 * durable end) and settles the appenders waiting on them.
 *
 * Invariants of the state (asserted after every change the writer and the
 * layout changes make, while the log is open and healthy):
 * - `firstSeq - 1 <= durableSeq <= writtenSeq < nextSeq`: nothing is durable
 *   before it is written, nor written before it is appended;
 * - one slot per written record: `slots.length === writtenSeq + 1 - firstSeq`;
 * - the queue holds exactly the appended records not yet written, in order:
 *   `pending.length === nextSeq - writtenSeq - 1`, and its bytes are counted;
 * - the durable end is at or before the write position, which stays inside
 *   the current segment.
 */
import { Deferred, Effect, Result, type Semaphore } from "effect"
import type { DiskFile, DiskShape } from "../disk/disk.ts"
import { assert } from "../invariant/invariant.ts"
import { failed, writeFailed, zeroFill } from "./disk-io.ts"
import { encodeFrame, encodeSuperblock, HEADER_BYTES, KIND_SEAL, segmentPath, type Position, type Superblock } from "./format.ts"
import type { ScanResult, Slot } from "./scan.ts"
import type { SyncStrategy } from "./sync-strategy.ts"
import type { WalAppendError, WalDamage, WalDiskFullError, WalFailedError } from "./wal-error.ts"

export interface PendingRecord {
  readonly seq: number
  readonly frame: Uint8Array
  readonly payload: Uint8Array
}

export interface Waiter {
  readonly seq: number
  readonly deferred: Deferred.Deferred<void, WalAppendError>
}

/** The log's state, shared by the writer fiber and the API (see the invariants above). */
export interface WalState {
  generation: number
  sbVersion: number
  firstSeq: number
  first: Position
  nextSeq: number
  writtenSeq: number
  durableSeq: number
  durable: Position
  curSeg: number
  curOffset: number
  readonly slots: Array<Slot>
  pending: Array<PendingRecord>
  readonly pendingBySeq: Map<number, PendingRecord>
  waiters: Array<Waiter>
  readonly damaged: Map<number, WalDamage>
  failure: WalFailedError | undefined
  closed: boolean
  syncRequested: boolean
  unsyncedBytes: number
  unsyncedRecords: number
  wake: Deferred.Deferred<void> | undefined
  pendingBytes: number
  /** Appenders held back by `maxPendingBytes`, released as the writer drains the queue. */
  drained: Deferred.Deferred<void> | undefined
}

/** What the writer works with: the disk, the log's files, and its limits. */
export interface WalFiles {
  readonly disk: DiskShape
  readonly dir: string
  readonly segmentBytes: number
  readonly sbPath: string
  readonly sbFile: DiskFile
  /** The open segments. */
  readonly files: Map<number, DiskFile>
  readonly strategy: SyncStrategy
  readonly maxBatchBytes: number
  readonly maxPendingBytes: number
}

const EMPTY = new Uint8Array(0)

/** The state right after recovery: a new generation, everything scanned durable. */
export const recoveredState = (sb: Superblock, scan: ScanResult): WalState => {
  const st: WalState = {
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
    slots: [...scan.slots],
    pending: [],
    pendingBySeq: new Map<number, PendingRecord>(),
    waiters: [],
    damaged: new Map<number, WalDamage>(scan.damage.map((d) => [d.seq, d])),
    failure: undefined,
    closed: false,
    syncRequested: false,
    unsyncedBytes: 0,
    unsyncedRecords: 0,
    wake: undefined,
    pendingBytes: 0,
    drained: undefined
  }
  assert(st.slots.length === st.nextSeq - st.firstSeq, "one slot per retained entry")
  return st
}

/** Asserts the state's invariants (see the header). A closed or failed log is past caring. */
export const checkState = (st: WalState, segmentBytes: number): void => {
  if (st.closed || st.failure !== undefined) return
  assert(
    st.firstSeq - 1 <= st.durableSeq && st.durableSeq <= st.writtenSeq && st.writtenSeq < st.nextSeq,
    () => `wal: first ${st.firstSeq}, durable ${st.durableSeq}, written ${st.writtenSeq}, next ${st.nextSeq} out of order`
  )
  assert(st.slots.length === st.writtenSeq + 1 - st.firstSeq, () => `wal: ${st.slots.length} slots for ${st.firstSeq}..${st.writtenSeq}`)
  assert(st.pending.length === st.nextSeq - st.writtenSeq - 1, () => `wal: ${st.pending.length} queued records between ${st.writtenSeq} and ${st.nextSeq}`)
  assert(st.pendingBytes >= 0 && (st.pending.length > 0 || st.pendingBytes === 0), () => `wal: ${st.pendingBytes} queued bytes`)
  assert(
    st.durable.segment < st.curSeg || (st.durable.segment === st.curSeg && st.durable.offset <= st.curOffset),
    () => `wal: durable end ${st.durable.segment}:${st.durable.offset} past the write position ${st.curSeg}:${st.curOffset}`
  )
  assert(st.curOffset <= segmentBytes, () => `wal: write position ${st.curOffset} past the segment's end`)
}

/** Writes the next superblock version to the pair it belongs to and syncs it. */
export const writeSuperblock = (st: WalState, io: WalFiles) => (next: Omit<Superblock, "version" | "segmentBytes">) =>
  Effect.gen(function* () {
    const version = st.sbVersion + 1
    const copy = encodeSuperblock({ ...next, version, segmentBytes: io.segmentBytes }, io.disk.sectorSize)
    const pair = new Uint8Array(copy.length * 2)
    pair.set(copy)
    pair.set(copy, copy.length)
    yield* Effect.mapError(io.sbFile.write((version % 2) * pair.length, pair), failed("superblock", io.sbPath))
    yield* Effect.mapError(io.sbFile.sync, failed("superblock", io.sbPath))
    st.sbVersion = version
  })

/** The writer's operations on the shared state; `loop` is the writer fiber. */
export const makeWriter = (st: WalState, io: WalFiles) => {
  const { disk, dir, segmentBytes, files, strategy, maxBatchBytes, maxPendingBytes } = io
  const superblock = writeSuperblock(st, io)

  /** Wakes the writer if it sleeps. */
  const signal = () => {
    const wake = st.wake
    if (wake !== undefined) {
      st.wake = undefined
      Deferred.doneUnsafe(wake, Effect.void)
    }
  }

  /** Lets appenders held back by the queue's size go on, once it shrank (or the log stopped). */
  const release = () => {
    const drained = st.drained
    if (drained !== undefined && (st.pendingBytes < maxPendingBytes || st.failure !== undefined || st.closed)) {
      st.drained = undefined
      Deferred.doneUnsafe(drained, Effect.void)
    }
  }

  /** Completes the waiters whose records are durable. */
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

  /** Fail-stop: every append not yet durable fails, and the log accepts no more. */
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
      const file = yield* Effect.mapError(disk.open(path, "create"), writeFailed("create-segment", path))
      const filled = yield* Effect.result(zeroFill(file, segmentBytes))
      if (Result.isFailure(filled)) {
        yield* Effect.ignore(disk.remove(path))
        return yield* Effect.fail(writeFailed("create-segment", path)(filled.failure))
      }
      yield* Effect.mapError(disk.syncDirectory(dir), failed("sync-directory", dir))
      files.set(k, file)
    })

  const makeDurable = Effect.gen(function* () {
    if (st.writtenSeq > st.durableSeq || st.unsyncedBytes > 0) {
      yield* Effect.mapError(fileOf(st.curSeg).sync, failed("sync", segmentPath(dir, st.curSeg)))
    }
    const durable = { segment: st.curSeg, offset: st.curOffset }
    yield* superblock({ generation: st.generation, firstSeq: st.firstSeq, first: st.first, durableSeq: st.writtenSeq, durable })
    st.durableSeq = st.writtenSeq
    st.durable = durable
    st.unsyncedBytes = 0
    st.unsyncedRecords = 0
    settle()
    checkState(st, segmentBytes)
  })

  /** Seals the current segment, creates the next one and records the move durably. */
  const rollover = Effect.gen(function* () {
    const seal = encodeFrame(KIND_SEAL, st.writtenSeq, st.generation, EMPTY)
    yield* Effect.mapError(fileOf(st.curSeg).write(st.curOffset, seal), (e) => writeFailed("write", e.path)(e))
    yield* Effect.mapError(fileOf(st.curSeg).sync, failed("sync", segmentPath(dir, st.curSeg)))
    yield* createSegment(st.curSeg + 1)
    st.curSeg++
    st.curOffset = 0
    st.unsyncedBytes = 0
    yield* makeDurable
  })

  /** How many queued records (and bytes) the next write takes: within the batch limit and the segment. */
  const batchSize = (): { readonly n: number; readonly bytes: number } => {
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
    return { n, bytes }
  }

  const writeBatch = Effect.gen(function* () {
    if (!files.has(st.curSeg)) yield* createSegment(st.curSeg)
    if (st.curOffset + st.pending[0]!.frame.length + HEADER_BYTES > segmentBytes) yield* rollover
    const { n, bytes } = batchSize()
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
    yield* Effect.mapError(fileOf(st.curSeg).write(st.curOffset, buffer), writeFailed("write", path))
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
    checkState(st, segmentBytes)
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

  /** The writer fiber: sleeps until there is work, runs it under `ioLock`, stops when the log does. */
  const loop = (ioLock: Semaphore.Semaphore) =>
    Effect.gen(function* () {
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
          const e: WalFailedError | WalDiskFullError = r.failure
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

  return { signal, release, settle, failWaitersFrom, dropPendingFrom, poison, fileOf, superblock, loop }
}
