/**
 * The sustainable concurrency, found from the event loop's delay. A node
 * past its sustainable rate shows it first as a late event loop: every
 * admitted request adds callbacks to each turn, turns grow long, and
 * everything waits, probes included. So the in-flight limit a listener
 * applies moves between `ADAPTIVE_MIN_INFLIGHT` and `--max-inflight-requests`
 * (additive increase, multiplicative decrease, as TCP does with its window
 * and Netflix's concurrency-limits with latency): a sample of the loop later
 * than `LOOP_DELAY_TARGET_MS` cuts it by a quarter, a prompt one raises it
 * by a sixteenth (at least one), so it is back at the maximum within
 * seconds of the load going. Requests over the lowered limit wait in the queue or are shed,
 * which keeps turns short enough for the node to answer its probes and the
 * requests it took.
 */
import { assert } from "@cairn/core/invariant/invariant"

/** A loop turn later than this means the node is doing more than it sustains. */
export const LOOP_DELAY_TARGET_MS = 100
/**
 * The limit is never cut below this. Raft batches the writes in flight into
 * one fsync, and a node starved of CPU by its neighbours is late whatever it
 * takes on, yet serves more the more it batches when it runs: in the
 * overload test on a shared machine a floor of 16 acknowledged 184 writes/s
 * under load against 968 with no adaptive limit; 128 gave 477, with /health
 * p50 at 95 ms against 224 ms without.
 */
export const ADAPTIVE_MIN_INFLIGHT = 128
/** The event loop's delay is sampled this often. */
export const LOOP_SAMPLE_MS = 50
const DECREASE = 0.75

/** The next in-flight limit after one sample of the loop's delay. */
export const nextLimit = (limit: number, delayMs: number, max: number): number => {
  const min = Math.min(ADAPTIVE_MIN_INFLIGHT, max)
  assert(limit >= min && limit <= max, "the adaptive limit left its bounds")
  return delayMs > LOOP_DELAY_TARGET_MS ? Math.max(min, Math.floor(limit * DECREASE)) : Math.min(max, limit + Math.max(1, Math.floor(limit / 16)))
}

export interface LoopDelaySampler {
  /** The last sampled delay, ms. */
  readonly delayMs: () => number
  readonly stop: () => void
}

/**
 * Samples how late a timer fires (the loop's delay) every `LOOP_SAMPLE_MS`
 * and tells `onSample`; the timer does not keep the process alive.
 */
export const sampleLoopDelay = (onSample: (delayMs: number) => void, now: () => number = () => performance.now()): LoopDelaySampler => {
  let last = 0
  let expected = now() + LOOP_SAMPLE_MS
  const timer = setInterval(() => {
    const t = now()
    last = Math.max(0, t - expected)
    expected = t + LOOP_SAMPLE_MS
    onSample(last)
  }, LOOP_SAMPLE_MS)
  timer.unref()
  return { delayMs: () => last, stop: () => clearInterval(timer) }
}
