/**
 * Per-node simulated clocks over the scheduler's virtual time.
 *
 * A node's monotonic clock runs at rate (1 + drift) from its own origin, so
 * two nodes never agree on an interval; its wall clock adds a skew and may
 * jump in either direction. Sleeps are measured on the node's own clock: a
 * node whose clock runs fast wakes early in true (virtual) time.
 */
import { assert, type ClockShape } from "@cairn/core"
import { Clock as EffectClock, Duration, Effect } from "effect"
import type { SimProcess } from "./process.ts"

export interface ClockConfig {
  /** Offset of the wall clock from true time, in milliseconds. */
  readonly skewMs: number
  /** Rate error in parts per million (positive: the clock runs fast). */
  readonly driftPpm: number
}

/** Simulated calendar start: 2026-01-01T00:00:00Z, so that wall times look real. */
export const simulationEpochMs = 1_767_225_600_000

export class SimClock {
  private readonly process: SimProcess
  private readonly rate: number
  private wallOffsetMs: number
  private readonly originNs: number

  constructor(process: SimProcess, config: ClockConfig, originNs: number) {
    assert(Math.abs(config.driftPpm) < 100_000, "drift must stay below 10%")
    this.process = process
    this.rate = 1 + config.driftPpm / 1e6
    this.wallOffsetMs = config.skewMs
    this.originNs = originNs
  }

  /** This node's monotonic reading, in milliseconds. */
  monotonicMs(): number {
    return ((this.process.scheduler.now - this.originNs) * this.rate) / 1e6
  }

  wallMs(): number {
    return simulationEpochMs + this.process.scheduler.now / 1e6 * this.rate + this.wallOffsetMs
  }

  /** Jumps the wall clock by `ms` (either sign); the monotonic clock is untouched. */
  jump(ms: number): void {
    this.wallOffsetMs += ms
  }

  /** Waits `ms` of this node's time. */
  sleep(ms: number): Effect.Effect<void> {
    return Effect.callback<void>((resume) => {
      const cancel = this.process.schedule(Math.max(0, ms) * 1e6 / this.rate, () => resume(Effect.void))
      return Effect.sync(cancel)
    })
  }

  service(): ClockShape {
    return {
      monotonicMs: Effect.sync(() => this.monotonicMs()),
      wallMs: Effect.sync(() => this.wallMs()),
      sleep: (ms) => this.sleep(ms)
    }
  }

  /** The same clock as Effect's own Clock, so `Effect.sleep` and timeouts run on virtual time. */
  effectClock(): EffectClock.Clock {
    const nanos = () => BigInt(Math.round(this.monotonicMs() * 1e6))
    return {
      currentTimeMillisUnsafe: () => this.wallMs(),
      currentTimeMillis: Effect.sync(() => this.wallMs()),
      currentTimeNanosUnsafe: () => BigInt(Math.round(this.wallMs() * 1e6)),
      currentTimeNanos: Effect.sync(() => BigInt(Math.round(this.wallMs() * 1e6))),
      monotonicTimeNanosUnsafe: nanos,
      monotonicTimeNanos: Effect.sync(nanos),
      sleep: (duration) => this.sleep(Duration.toMillis(duration))
    }
  }
}
