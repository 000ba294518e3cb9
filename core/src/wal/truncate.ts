/**
 * The WAL's layout changes that drop records: a suffix (a Raft conflict, or
 * a repair that rewrites from a damaged region) and a prefix (covered by a
 * snapshot). Each runs exclusively (no batch, no read in flight), changes
 * the disk first — superblock, zeroed frames, removed segments — and the
 * state after; a failed disk operation poisons the log.
 */
import { Deferred, Effect } from "effect"
import { assert } from "../invariant/invariant.ts"
import { failed, zeroRange } from "./disk-io.ts"
import { segmentPath, type Position } from "./format.ts"
import { WalOutOfRangeError, WalTruncatedError, type WalClosedError, type WalFailedError } from "./wal-error.ts"
import { checkState, type makeWriter, type Waiter, type WalFiles, type WalState } from "./writer.ts"

type Writer = ReturnType<typeof makeWriter>
type Exclusive = <A, E>(body: Effect.Effect<A, E>) => Effect.Effect<A, E | WalFailedError | WalClosedError>

export const makeTruncation = (st: WalState, io: WalFiles, writer: Writer, exclusive: Exclusive) => {
  const { disk, dir, segmentBytes, files } = io
  const { dropPendingFrom, failWaitersFrom, fileOf, poison, release, settle, superblock: writeSuperblock } = writer

  const withPoison = <A>(body: Effect.Effect<A, WalFailedError>): Effect.Effect<A, WalFailedError> =>
    Effect.tapError(body, (e) => Effect.sync(() => poison(e)))

  /**
   * Removes the segments `drop` selects, then syncs the directory if any went. A generator the
   * callers' `Effect.gen` delegates to: the same effects as when it was written inline (the
   * simulator's scheduler counts them).
   */
  function* removeSegments(drop: (k: number) => boolean): Generator<Effect.Effect<void, WalFailedError>, void, unknown> {
    let removedAny = false
    for (const k of [...files.keys()]) {
      if (drop(k)) {
        yield* Effect.mapError(disk.remove(segmentPath(dir, k)), failed("remove", segmentPath(dir, k)))
        files.delete(k)
        removedAny = true
      }
    }
    if (removedAny) yield* Effect.mapError(disk.syncDirectory(dir), failed("sync-directory", dir))
  }

  const suffixCut = (from: number): number => {
    if (from < st.firstSeq || from > st.writtenSeq) return from
    // A damaged entry with no header shares its region's start: cut from the region's first entry.
    let cut = from
    const at = (s: number) => st.slots[s - st.firstSeq]!
    while (cut > st.firstSeq && at(cut).frameBytes < 0 && at(cut - 1).frameBytes < 0 && at(cut - 1).offset === at(cut).offset && at(cut - 1).segment === at(cut).segment) cut--
    return cut
  }

  /** The disk side of a suffix cut at `position` (record `cut`): superblock, zeroed frames, later segments. */
  const cutOnDisk = (cut: number, position: Position, generation: number) =>
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
      yield* removeSegments((k) => k > position.segment)
    })

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
        yield* withPoison(cutOnDisk(cut, position, generation))
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
        checkState(st, segmentBytes)
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
            yield* removeSegments((k) => k < first.segment)
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
        checkState(st, segmentBytes)
      })
    )

  return { suffixCut, truncateSuffix, truncatePrefix, withPoison }
}
