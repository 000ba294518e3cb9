/**
 * The leader's view of one follower (etcd's `tracker.Progress`): how much of
 * the log it is known to hold (`match`), what to send it next (`next`), and
 * which of three states the replication to it is in:
 *
 * - probe: the follower's log is not known to match ours at `next - 1`; one
 *   append at a time, until an answer says where the logs agree;
 * - replicate: the logs agree; appends are pipelined up to the in-flight
 *   window (messages and bytes), `next` moving ahead optimistically;
 * - snapshot: the follower needs entries we compacted away; a snapshot is
 *   being sent in chunks.
 *
 * Invariants (asserted after every transition): `match < next`; `match` only
 * moves back when the follower reports an entry it acknowledged damaged
 * (Protocol-Aware Recovery, `lowerMatchForDamage`); the window never holds
 * more appends than allowed, and its byte count is never negative.
 */
import { assert } from "../invariant/invariant.ts"

export type ProgressState = "probe" | "replicate" | "snapshot"

export interface Progress {
  match: number
  next: number
  state: ProgressState
  /** Probe: one append outstanding. */
  probeSent: boolean
  /** Replicate: last index and entry bytes of each append in flight. */
  inflight: Array<{ readonly last: number; readonly bytes: number }>
  inflightBytes: number
  recentActive: boolean
  snapshotIndex: number
  snapshotOffset: number
  /**
   * The follower held back fills of lost-term holes until a batch reaches this index (0: none):
   * the next appends to it carry entries through here in one message, past the byte limit.
   */
  fillThrough: number
}

/** The in-flight window's bounds (from RaftOptions). */
export interface InflightLimits {
  readonly maxInflightMessages: number
  readonly maxInflightBytes: number
}

const check = (pr: Progress, limits?: InflightLimits): void => {
  assert(pr.match >= 0 && pr.match < pr.next, () => `progress: match ${pr.match} not below next ${pr.next}`)
  assert(pr.inflightBytes >= 0, () => `progress: ${pr.inflightBytes} bytes in flight`)
  if (limits !== undefined) {
    assert(pr.inflight.length <= limits.maxInflightMessages, () => `progress: ${pr.inflight.length} appends in flight`)
  }
}

/** A follower we know nothing of yet: probe from just past our last entry. */
export const newProgress = (lastIndex: number): Progress => {
  const pr: Progress = {
    match: 0,
    next: lastIndex + 1,
    state: "probe",
    probeSent: false,
    inflight: [],
    inflightBytes: 0,
    recentActive: true,
    snapshotIndex: 0,
    snapshotOffset: 0,
    fillThrough: 0
  }
  check(pr)
  return pr
}

/** The window is full: as many appends, or as many bytes, in flight as allowed. */
export const inflightFull = (pr: Progress, limits: InflightLimits): boolean =>
  pr.inflight.length >= limits.maxInflightMessages || pr.inflightBytes >= limits.maxInflightBytes

/** Appends up to `index` were answered: their slots and bytes are free. */
export const freeInflight = (pr: Progress, index: number): void => {
  pr.inflight = pr.inflight.filter((append) => append.last > index)
  pr.inflightBytes = pr.inflight.reduce((n, append) => n + append.bytes, 0)
}

/** Frees the oldest slot of the window (an answer to it was lost: see `handleHeartbeatResponse`). */
export const freeOldestInflight = (pr: Progress): void => {
  pr.inflightBytes -= pr.inflight.shift()?.bytes ?? 0
  check(pr)
}

/** Back to probing from `next`: the window empties, one append goes out at a time. */
export const becomeProbe = (pr: Progress, next: number): void => {
  freeInflight(pr, Number.MAX_SAFE_INTEGER)
  pr.state = "probe"
  pr.next = next
  pr.probeSent = false
  check(pr)
}

/** The logs agree up to `match`: pipeline appends from `next` on. */
export const becomeReplicate = (pr: Progress): void => {
  pr.state = "replicate"
  pr.next = Math.max(pr.next, pr.match + 1)
  check(pr)
}

/** Send snapshot `index` from its first byte. (The window is left as it was.) */
export const becomeSnapshot = (pr: Progress, index: number): void => {
  pr.state = "snapshot"
  pr.snapshotIndex = index
  pr.snapshotOffset = 0
  check(pr)
}

/** The follower installed (or already had) a snapshot through `index`: probe after it. */
export const snapshotDone = (pr: Progress, index: number): void => {
  pr.match = Math.max(pr.match, index)
  pr.next = pr.match + 1
  pr.state = "probe"
  pr.probeSent = false
  check(pr)
}

/** The follower acknowledged holding our log through `index`, past its known match. */
export const acknowledged = (pr: Progress, index: number): void => {
  assert(index > pr.match, () => `progress: match would move back from ${pr.match} to ${index}`)
  pr.match = index
  pr.next = Math.max(pr.next, index + 1)
  if (pr.fillThrough <= pr.match) pr.fillThrough = 0
  check(pr)
}

/**
 * The follower rejects an entry it once acknowledged: it found it damaged on its disk
 * (Protocol-Aware Recovery). The only way `match` moves back.
 */
export const lowerMatchForDamage = (pr: Progress, index: number): void => {
  assert(index < pr.match, () => `progress: damage at ${index} does not lower match ${pr.match}`)
  pr.match = index
  check(pr)
}

/**
 * An append went out: in replicate, it takes a slot of the window (`last` and `bytes`
 * of its entries; `next` moves past them); in probe, it is the one outstanding.
 */
export const appendSent = (pr: Progress, entries: { readonly last: number; readonly bytes: number } | undefined, limits: InflightLimits): void => {
  if (entries !== undefined && pr.state === "replicate") {
    pr.inflight.push(entries)
    pr.inflightBytes += entries.bytes
    pr.next = entries.last + 1
  } else if (entries !== undefined || pr.state === "probe") {
    pr.probeSent = true
  }
  check(pr, limits)
}
