/**
 * Which segments retention deletes: always whole segments, always the
 * oldest first (so the log stays one run of offsets from the log start
 * offset), never the active segment (so the log end offset never moves
 * back, and an empty partition keeps its place in offsets).
 *
 * - By time: a sealed segment goes when its largest batch timestamp is more
 *   than `retentionMs` before `nowMs` (Kafka's rule). The search stops at the
 *   first segment that is young enough: a segment whose batches carry no
 *   timestamp (-1) is never deleted by time.
 * - By bytes: the oldest sealed segments go while the log would still hold
 *   at least `retentionBytes` without them.
 *
 * Timestamps are the producers' (CreateTime) and `nowMs` the node's wall
 * clock, which may jump: a jump forward deletes early, as it would in Kafka.
 */
import { NO_TIMESTAMP } from "./time-index.ts"

export interface RetentionPolicy {
  /** Delete segments whose newest batch is older than this (undefined: keep regardless of age). */
  readonly retentionMs?: number | undefined
  /** Delete the oldest segments while the log stays at least this big (undefined: no size limit). */
  readonly retentionBytes?: number | undefined
}

export interface SegmentFacts {
  readonly baseOffset: number
  readonly size: number
  readonly maxTimestamp: number
}

/** How many of the oldest segments retention deletes (never the last, the active one). */
export const segmentsToDelete = (segments: ReadonlyArray<SegmentFacts>, policy: RetentionPolicy, nowMs: number): number => {
  const sealed = segments.length - 1
  let byTime = 0
  if (policy.retentionMs !== undefined) {
    while (byTime < sealed) {
      const t = segments[byTime]!.maxTimestamp
      if (t === NO_TIMESTAMP || nowMs - t <= policy.retentionMs) break
      byTime++
    }
  }
  let byBytes = 0
  if (policy.retentionBytes !== undefined) {
    let total = segments.reduce((n, s) => n + s.size, 0)
    while (byBytes < sealed && total - segments[byBytes]!.size >= policy.retentionBytes) {
      total -= segments[byBytes]!.size
      byBytes++
    }
  }
  return Math.max(byTime, byBytes)
}
