/**
 * A Clock for unit tests that only the test moves: `sleep` waits until
 * `advance` carries time past its wake-up, so concurrent fibers (a timer
 * loop, requests parked at a barrier) see one timeline that never runs
 * ahead on its own (runtime-test's instant clock advances on every sleep,
 * which a forever-ticking timer would race forward). `advance` wakes
 * sleepers in time order and lets the woken fibers run before going on.
 */
import { Deferred, Effect } from "effect"
import type { ClockShape } from "./clock.ts"

export interface ManualClock extends ClockShape {
  /** Moves time forward by `ms`, waking every sleeper due on the way, in order. */
  readonly advance: (ms: number) => Effect.Effect<void>
  readonly now: () => number
}

/** Lets other fibers run: enough yields for a woken fiber to finish a few steps. */
export const settle = Effect.repeat(Effect.yieldNow, { times: 50 })

export const manualClock = (startMs = 0): ManualClock => {
  let now = startMs
  const sleepers: Array<{ readonly at: number; readonly wake: Deferred.Deferred<void> }> = []
  return {
    now: () => now,
    monotonicMs: Effect.sync(() => now),
    wallMs: Effect.sync(() => 1_700_000_000_000 + now),
    sleep: (ms) =>
      Effect.suspend(() => {
        const wake = Deferred.makeUnsafe<void>()
        sleepers.push({ at: now + Math.max(0, ms), wake })
        return Deferred.await(wake)
      }),
    advance: (ms) =>
      Effect.gen(function*() {
        const target = now + ms
        yield* settle
        for (;;) {
          sleepers.sort((a, b) => a.at - b.at)
          const next = sleepers[0]
          if (next === undefined || next.at > target) break
          sleepers.shift()
          now = Math.max(now, next.at)
          yield* Deferred.succeed(next.wake, undefined)
          yield* settle
        }
        now = target
        yield* settle
      })
  }
}
