/**
 * The WAL append workload shared by `npm run bench -- wal` and `-- node`:
 * `appenders` loops append one record each until the time is up (waiting for
 * durability where the strategy promises it), counting the fsyncs issued.
 */
import { Clock, openWal, type DiskShape, type SyncStrategy } from "@cairn/core"
import { Effect, Fiber } from "effect"

/** The Disk service with every file's fsyncs counted. */
export const countingDisk = (disk: DiskShape) => {
  const counts = { fsync: 0 }
  const wrapped: DiskShape = {
    ...disk,
    open: (path, mode) =>
      Effect.map(disk.open(path, mode), (f) => ({ ...f, sync: Effect.andThen(Effect.sync(() => counts.fsync++), f.sync) }))
  }
  return { disk: wrapped, counts }
}

export const walWorkload = (
  strategy: { readonly sync: SyncStrategy; readonly waitsDurable: boolean },
  appenders: number,
  record: Uint8Array,
  durationMs: number,
  counts: { fsync: number },
  segmentBytes = 64 * 1024 * 1024
) =>
  Effect.scoped(
    Effect.gen(function*() {
      const clock = yield* Clock
      const wal = yield* openWal({ sync: strategy.sync, segmentBytes })
      const fsyncsBefore = counts.fsync
      const start = yield* clock.monotonicMs
      const until = start + durationMs
      let done = 0
      const loop = Effect.gen(function*() {
        while ((yield* clock.monotonicMs) < until) {
          const a = yield* wal.append(record)
          if (strategy.waitsDurable) yield* a.durable
          done++
        }
      })
      const fibers = yield* Effect.forEach(Array.from({ length: appenders }), () => Effect.forkChild(loop))
      yield* Effect.forEach(fibers, Fiber.join, { discard: true })
      const elapsedMs = (yield* clock.monotonicMs) - start
      const fsyncs = counts.fsync - fsyncsBefore
      if (!strategy.waitsDurable) yield* wal.sync
      return { done, elapsedMs, fsyncs }
    })
  )
