/**
 * The replica's segment writer: appends the batches its partition's state
 * machine applied, in offset order, to the segment log, and wakes readers
 * waiting for an offset to be written. The segment log therefore holds only
 * committed batches; after a restart, re-applied batches below its end are
 * already there and skipped, and the rest fill in what a crash lost.
 *
 * Snapshots (`partition-snapshot.ts`) lean on it twice:
 * - it keeps the **unsynced tail**, the applied batches the segment log may
 *   still lose in a crash, and syncs the log every `syncBytes` so the tail
 *   stays small: a snapshot carries that tail, since Raft drops the entries
 *   behind a snapshot and the segment log is then their only copy;
 * - after a snapshot is restored (at a restart, or installed from the
 *   leader) the segment log may end below the snapshot: the writer **fills
 *   the gap from a peer** replica (`segment-catch-up.ts`) before it writes
 *   the snapshot's tail and what is applied after it.
 *
 * A full disk is waited out (the batch is committed: it must land); a failed
 * write or fsync stops the writer with the log's fail-stop error.
 */
import { Deferred, Effect, Queue } from "effect"
import type { ClockShape } from "../../clock/clock.ts"
import { assert } from "../../invariant/invariant.ts"
import type { LogClosedError, LogFailedError } from "../log-error.ts"
import type { PartitionLog } from "../partition-log.ts"
import type { BatchHeader } from "../record-batch.ts"
import { offsetCount } from "./planted-bugs.ts"
import type { SegmentCatchUp } from "./segment-catch-up.ts"

export interface SegmentWriter {
  /** Queues an applied batch (synchronous: called while Raft applies), with its header if the machine checked it. */
  readonly offer: (baseOffset: number, stored: Uint8Array, header?: BatchHeader) => void
  /**
   * A snapshot was restored (synchronous, while Raft restores it): every batch below `tailFrom` must
   * come from a peer if the segment log lacks it, then the tail's batches follow.
   */
  readonly restored: (tailFrom: number, tail: ReadonlyArray<Uint8Array>) => void
  /** The applied batches not yet durable in the segment log, consecutive up to `nextOffset`, and where they start. */
  readonly unsyncedTail: (nextOffset: number) => { readonly tailFrom: number; readonly tail: ReadonlyArray<Uint8Array> }
  /** Waits until every offset below `target` is in the segment log. */
  readonly waitWritten: (target: number) => Effect.Effect<void>
  readonly run: Effect.Effect<never, LogFailedError | LogClosedError>
}

export interface SegmentWriterConfig {
  readonly log: PartitionLog
  readonly clock: ClockShape
  readonly group: string
  readonly catchUp: SegmentCatchUp
  /** Sync the segment log once this many bytes were written since the last sync. */
  readonly syncBytes: number
}

type Item =
  | { readonly kind: "batch"; readonly baseOffset: number; readonly stored: Uint8Array; readonly header: BatchHeader | undefined }
  | { readonly kind: "fill"; readonly upTo: number }

interface Unsynced {
  readonly baseOffset: number
  readonly end: number
  readonly stored: Uint8Array
}

export const makeSegmentWriter = (config: SegmentWriterConfig): Effect.Effect<SegmentWriter> =>
  Effect.gen(function*() {
    const { log, clock, group } = config
    const queue = yield* Queue.unbounded<Item>()
    const waiters: Array<{ readonly target: number; readonly done: Deferred.Deferred<void> }> = []
    let unsynced: Array<Unsynced> = []
    let bytesSinceSync = 0

    /** Drops the tail's batches the segment log now holds durably. */
    const trim = () => {
      const durable = log.durableEndOffset()
      let drop = 0
      while (drop < unsynced.length && unsynced[drop]!.end <= durable) drop++
      if (drop > 0) unsynced = unsynced.slice(drop)
    }

    const wake = Effect.gen(function*() {
      const end = log.logEndOffset()
      for (let i = waiters.length - 1; i >= 0; i--) {
        const w = waiters[i]!
        if (w.target <= end) {
          waiters.splice(i, 1)
          yield* Deferred.succeed(w.done, undefined)
        }
      }
    })

    const writeOne = (baseOffset: number, stored: Uint8Array, header?: BatchHeader) =>
      Effect.gen(function*() {
        for (;;) {
          const end = log.logEndOffset()
          if (baseOffset < end) return // already stored before a restart
          assert(baseOffset === end, () => `${group}: committed batch at ${baseOffset} but the segment log ends at ${end}`)
          const written = yield* Effect.result(header === undefined ? log.append(stored) : log.appendChecked(stored, header))
          if (written._tag === "Success") {
            assert(written.success.baseOffset === baseOffset, () => `${group}: stored at ${written.success.baseOffset}, committed at ${baseOffset}`)
            bytesSinceSync += stored.length
            return
          }
          const e = written.failure
          if (e._tag === "LogDiskFullError") yield* clock.sleep(100)
          else if (e._tag === "LogFailedError" || e._tag === "LogClosedError") return yield* Effect.fail(e)
          // The machine checked the batch as the log does: a refusal here is a bug.
          else assert(false, () => `${group}: the segment log refused a committed batch: ${e._tag}`)
        }
      })

    /** Copies the batches below `upTo` the segment log lacks from peers (they are committed: a peer has them). */
    const fill = (upTo: number) =>
      Effect.gen(function*() {
        while (log.logEndOffset() < upTo) {
          const from = log.logEndOffset()
          const got = yield* config.catchUp.batchesFrom(from)
          // Only batches that continue our log: an answer to an older request may start elsewhere.
          let next = from
          for (const b of got) {
            if (b.baseOffset !== next || next >= upTo) break
            yield* writeOne(b.baseOffset, b.stored)
            next = b.baseOffset + offsetCount(b.stored)
          }
          if (next === from) yield* clock.sleep(100) // no peer could help yet: ask again shortly
        }
      })

    const run = Effect.forever(
      Effect.gen(function*() {
        const items = yield* Queue.takeAll(queue)
        for (const item of items) {
          if (item.kind === "batch") yield* writeOne(item.baseOffset, item.stored, item.header)
          else yield* fill(item.upTo)
          yield* wake
        }
        if (bytesSinceSync >= config.syncBytes) {
          yield* log.sync
          bytesSinceSync = 0
        }
        trim()
      })
    )

    const waitWritten = (target: number) =>
      Effect.gen(function*() {
        if (log.logEndOffset() >= target) return
        const done = yield* Deferred.make<void>()
        waiters.push({ target, done })
        yield* Deferred.await(done)
      })

    const offer = (baseOffset: number, stored: Uint8Array, header?: BatchHeader) => {
      const end = baseOffset + offsetCount(stored)
      if (end > log.durableEndOffset()) unsynced.push({ baseOffset, end, stored })
      Queue.offerUnsafe(queue, { kind: "batch", baseOffset, stored, header })
    }

    const restored = (tailFrom: number, tail: ReadonlyArray<Uint8Array>) => {
      unsynced = []
      Queue.offerUnsafe(queue, { kind: "fill", upTo: tailFrom })
      let at = tailFrom
      for (const stored of tail) {
        offer(at, stored)
        at += offsetCount(stored)
      }
    }

    const unsyncedTail = (nextOffset: number) => {
      trim()
      const tail = unsynced.filter((b) => b.baseOffset < nextOffset)
      const tailFrom = tail.length === 0 ? nextOffset : tail[0]!.baseOffset
      assert(tail.length === 0 || tail[tail.length - 1]!.end === nextOffset, () => `${group}: the unsynced tail ends at ${tail[tail.length - 1]?.end}, applied up to ${nextOffset}`)
      return { tailFrom, tail: tail.map((b) => b.stored) }
    }

    return { offer, restored, unsyncedTail, waitWritten, run }
  })
