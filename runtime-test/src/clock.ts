/**
 * An instant Clock for unit tests: time is a number that only `sleep` moves.
 * A sleep advances the shared time by its duration and returns at once, so a
 * test of an hour-long timeout takes no wall time. Fibers sharing one clock see
 * one timeline; concurrent sleepers each advance it, which is fine for
 * fault-free unit tests (the simulator has a real virtual-time scheduler).
 */
import type { ClockShape } from "@cairn/core"
import { Effect } from "effect"

export interface InstantClock extends ClockShape {
  /** Moves time forward without sleeping. */
  readonly advance: (ms: number) => void
}

export const instantClock = (startMs = 0, wallEpochMs = 1_700_000_000_000): InstantClock => {
  let now = startMs
  return {
    monotonicMs: Effect.sync(() => now),
    wallMs: Effect.sync(() => wallEpochMs + now),
    sleep: (ms) =>
      Effect.andThen(
        Effect.yieldNow,
        Effect.sync(() => {
          now += Math.max(0, ms)
        })
      ),
    advance: (ms) => {
      now += Math.max(0, ms)
    }
  }
}
