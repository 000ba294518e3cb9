/**
 * The production Clock: the operating system's clocks.
 *
 * - `monotonicMs` is `performance.now()`: CLOCK_MONOTONIC underneath, with
 *   sub-millisecond resolution, origin at process start. It never goes
 *   backwards and does not jump when an operator or NTP sets the date.
 * - `wallMs` is `Date.now()`: CLOCK_REALTIME, which may jump either way.
 * - `sleep` is Effect's own sleep (a libuv timer), so sleeps are interruptible
 *   and Effect's TestClock can still drive code that mixes both.
 */
import { Clock, type ClockShape } from "@cairn/core"
import { Effect, Layer } from "effect"
import { performance } from "node:perf_hooks"

export const systemClock: ClockShape = {
  monotonicMs: Effect.sync(() => performance.now()),
  wallMs: Effect.sync(() => Date.now()),
  sleep: (ms) => Effect.sleep(Math.max(0, ms))
}

/** The Clock service over the system clocks. */
export const SystemClockLive: Layer.Layer<Clock> = Layer.succeed(Clock, systemClock)
