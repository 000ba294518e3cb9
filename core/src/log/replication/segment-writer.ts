/**
 * The replica's segment writer: appends the batches its partition's state
 * machine applied, in offset order, to the segment log, and wakes readers
 * waiting for an offset to be written. The segment log therefore holds only
 * committed batches; after a restart, re-applied batches below its end are
 * already there and skipped, and the rest fill in what a crash lost.
 *
 * A full disk is waited out (the batch is committed: it must land); a failed
 * write or fsync stops the writer with the log's fail-stop error.
 */
import { Deferred, Effect, Queue } from "effect"
import type { ClockShape } from "../../clock/clock.ts"
import { assert } from "../../invariant/invariant.ts"
import type { LogClosedError, LogFailedError } from "../log-error.ts"
import type { PartitionLog } from "../partition-log.ts"

export interface SegmentWriter {
  /** Queues an applied batch (synchronous: called while Raft applies). */
  readonly offer: (baseOffset: number, stored: Uint8Array) => void
  /** Waits until every offset below `target` is in the segment log. */
  readonly waitWritten: (target: number) => Effect.Effect<void>
  readonly run: Effect.Effect<never, LogFailedError | LogClosedError>
}

export const makeSegmentWriter = (log: PartitionLog, clock: ClockShape, group: string): Effect.Effect<SegmentWriter> =>
  Effect.gen(function*() {
    const queue = yield* Queue.unbounded<{ readonly baseOffset: number; readonly stored: Uint8Array }>()
    const waiters: Array<{ readonly target: number; readonly done: Deferred.Deferred<void> }> = []

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

    const writeOne = (baseOffset: number, stored: Uint8Array) =>
      Effect.gen(function*() {
        for (;;) {
          const end = log.logEndOffset()
          if (baseOffset < end) return // already stored before a restart
          assert(baseOffset === end, () => `${group}: committed batch at ${baseOffset} but the segment log ends at ${end}`)
          const written = yield* Effect.result(log.append(stored))
          if (written._tag === "Success") {
            assert(written.success.baseOffset === baseOffset, () => `${group}: stored at ${written.success.baseOffset}, committed at ${baseOffset}`)
            return
          }
          const e = written.failure
          if (e._tag === "LogDiskFullError") yield* clock.sleep(100)
          else if (e._tag === "LogFailedError" || e._tag === "LogClosedError") return yield* Effect.fail(e)
          // The machine checked the batch as the log does: a refusal here is a bug.
          else assert(false, () => `${group}: the segment log refused a committed batch: ${e._tag}`)
        }
      })

    const run = Effect.forever(
      Effect.gen(function*() {
        const items = yield* Queue.takeAll(queue)
        for (const item of items) yield* writeOne(item.baseOffset, item.stored)
        yield* wake
      })
    )

    const waitWritten = (target: number) =>
      Effect.gen(function*() {
        if (log.logEndOffset() >= target) return
        const done = yield* Deferred.make<void>()
        waiters.push({ target, done })
        yield* Deferred.await(done)
      })

    return { offer: (baseOffset, stored) => void Queue.offerUnsafe(queue, { baseOffset, stored }), waitWritten, run }
  })
