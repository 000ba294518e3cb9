/**
 * The Clock service: the only way core code learns the time or waits.
 *
 * Two readings, because they answer different questions:
 * - `monotonicMs` never goes backwards on one node and measures intervals
 *   (election timeouts, leases, latency). Different nodes' readings are not
 *   comparable: each node's clock may be skewed and drift.
 * - `wallMs` is the node's idea of calendar time (epoch milliseconds), used
 *   only for things a human reads (object Last-Modified, request signing). It
 *   may jump in either direction.
 *
 * The simulator gives every node its own clock with skew, drift and jumps;
 * nothing in core may assume two nodes agree on the time.
 */
import { Context, type Effect } from "effect"

export interface ClockShape {
  /** Monotonic milliseconds since an arbitrary per-node origin. */
  readonly monotonicMs: Effect.Effect<number>
  /** Wall-clock epoch milliseconds; may jump. */
  readonly wallMs: Effect.Effect<number>
  /** Waits `ms` milliseconds of this node's monotonic time. */
  readonly sleep: (ms: number) => Effect.Effect<void>
}

export class Clock extends Context.Service<Clock, ClockShape>()("cairn/Clock") {}
