/**
 * A byte-rate throttle: a token bucket on the node's monotonic clock.
 *
 * `take(n)` spends n bytes of budget and, when that leaves the bucket in
 * debt, waits until the rate has paid the debt back. Debt is shared, so
 * several fibers taking at once are spaced out together, and one large
 * take (a shard bigger than a second's budget) waits its share rather than
 * failing. The bucket holds at most one second of budget, so an idle spell
 * does not allow a burst above the rate for longer than a second.
 */
import { Effect } from "effect"
import type { ClockShape } from "../clock/clock.ts"
import { assert } from "../invariant/invariant.ts"

export interface Throttle {
  readonly take: (bytes: number) => Effect.Effect<void>
}

export const makeThrottle = (clock: ClockShape, bytesPerSecond: number): Throttle => {
  assert(Number.isFinite(bytesPerSecond) && bytesPerSecond > 0, () => `throttle rate ${bytesPerSecond}`)
  let tokens = bytesPerSecond
  let last: number | undefined
  return {
    take: (bytes) =>
      Effect.gen(function*() {
        const now = yield* clock.monotonicMs
        tokens = Math.min(bytesPerSecond, tokens + ((now - (last ?? now)) * bytesPerSecond) / 1000)
        last = now
        tokens -= bytes
        if (tokens < 0) yield* clock.sleep((-tokens * 1000) / bytesPerSecond)
      })
  }
}
