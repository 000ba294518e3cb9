/**
 * Recovery's scanner: a pure walk over the segments' bytes that decides, for
 * every position, "record", "damage" or "end of log".
 *
 * The rule that tells a torn tail from corruption: the superblock records the
 * durable end, written (and synced) only after the records before it were
 * synced. Anything invalid BEFORE the durable end was acknowledged and has
 * since been damaged (bit rot, a misdirected or lost write, a latent sector
 * error): it is reported as damage, by sequence number and position, and the
 * scanner resynchronises on the next valid header. Anything invalid AFTER it
 * was never acknowledged: the log ends there (a torn or partial tail).
 *
 * Past the durable end only records of the superblock's generation count, so
 * records cut away by a suffix truncation or by an earlier recovery can never
 * come back.
 */
import { assert } from "../invariant/invariant.ts"
import {
  decodeHeader,
  type FrameHeader,
  HEADER_BYTES,
  KIND_DATA,
  KIND_SEAL,
  payloadIntact,
  type Position,
  type Superblock
} from "./format.ts"
import type { DamageReason, WalDamage } from "./wal-error.ts"

/** A located entry: where its frame is, and how long (-1 if unknown because its header is gone). */
export interface Slot {
  readonly segment: number
  readonly offset: number
  readonly frameBytes: number
}

/** One segment's bytes as read back; `unreadable(offset, length)` says whether any sector in the range failed to read. */
export interface SegmentImage {
  readonly segment: number
  readonly bytes: Uint8Array
  readonly unreadable: (offset: number, length: number) => boolean
}

export interface ScanResult {
  /** Slots of seq firstSeq .. lastSeq, in order. */
  readonly slots: ReadonlyArray<Slot>
  readonly lastSeq: number
  readonly damage: ReadonlyArray<WalDamage>
  /** Where the next record goes. */
  readonly end: Position
  /** Whether records past the durable end were found intact (a tail that landed). */
  readonly tailRecords: number
}

interface OpenDamage {
  readonly seq: number
  readonly segment: number
  readonly offset: number
  readonly reason: DamageReason
}

/** What the walk has found so far; the helpers below advance it. */
interface ScanState {
  readonly sb: Superblock
  readonly slots: Array<Slot>
  readonly damage: Array<WalDamage>
  /** The sequence number the next record must carry. */
  expected: number
  /** A damaged region entered but not yet closed by a valid record. */
  open: OpenDamage | undefined
  tailRecords: number
}

/** Returned by a step: keep going at this offset, go on with the next segment, or the log ends here. */
const NEXT_SEGMENT = -1
const END_OF_LOG = -2

const isDurable = (sb: Superblock, k: number, off: number) =>
  k < sb.durable.segment || (k === sb.durable.segment && off < sb.durable.offset)

/** Opens a damaged region at (k, off) unless one is open already. */
const openDamage = (st: ScanState, k: number, off: number, reason: DamageReason) => {
  st.open ??= { seq: st.expected, segment: k, offset: off, reason }
}

/** Marks expected .. upTo as damaged, all starting where the damage was first seen. */
const closeDamage = (st: ScanState, upTo: number, next: Position | undefined) => {
  assert(st.open !== undefined, "no open damage to close")
  const region = st.open
  const count = upTo - st.expected + 1
  for (let seq = st.expected; seq <= upTo; seq++) {
    st.damage.push({ seq, segment: region.segment, offset: region.offset, reason: region.reason })
    // A lone record whose header is gone still has a known slot if the next record is in the same segment.
    const frameBytes =
      count === 1 && next !== undefined && next.segment === region.segment ? next.offset - region.offset : -1
    st.slots.push({ segment: region.segment, offset: region.offset, frameBytes })
  }
  st.expected = upTo + 1
  st.open = undefined
}

const result = (st: ScanState, k: number, off: number): ScanResult => ({
  slots: st.slots,
  lastSeq: st.expected - 1,
  damage: st.damage,
  end: { segment: k, offset: off },
  tailRecords: st.tailRecords
})

/**
 * Scans the log described by `sb`. `segment(k)` returns the image of segment
 * k, or undefined if the file does not exist; `lastSegment` is the highest
 * segment file present.
 */
export const scanLog = (
  sb: Superblock,
  lastSegment: number,
  segment: (k: number) => SegmentImage | undefined
): ScanResult => {
  const st: ScanState = { sb, slots: [], damage: [], expected: sb.firstSeq, open: undefined, tailRecords: 0 }
  let k = sb.first.segment
  let off = sb.first.offset
  for (;;) {
    const image = k <= lastSegment ? segment(k) : undefined
    if (image === undefined) {
      if (!missingSegmentHeldDurable(st, k, off)) return result(st, k, off)
    } else {
      const end = scanSegment(st, image, k, off)
      if (end !== undefined) return result(st, k, end)
    }
    k++
    off = 0
  }
}

/**
 * Segment k does not exist. If it held acknowledged records, they are damage
 * until something valid turns up (true: go on with the next segment);
 * otherwise the log ends here, and acknowledged records not yet found are damage.
 */
const missingSegmentHeldDurable = (st: ScanState, k: number, off: number): boolean => {
  const sb = st.sb
  const holdsDurable =
    k < sb.durable.segment || (k === sb.durable.segment && sb.durable.offset > (k === sb.first.segment ? sb.first.offset : 0))
  if (holdsDurable) {
    openDamage(st, k, off, "header")
    return true
  }
  if (st.open === undefined && st.expected <= sb.durableSeq) st.open = { seq: st.expected, segment: k, offset: off, reason: "header" }
  if (st.open !== undefined) closeDamage(st, sb.durableSeq, undefined)
  return false
}

/** Walks segment k from `start`; returns the offset where the log ends in it, or undefined to go on with the next segment. */
const scanSegment = (st: ScanState, image: SegmentImage, k: number, start: number): number | undefined => {
  let off = start
  for (;;) {
    const next = stepAt(st, image, k, off)
    if (next === END_OF_LOG) return off
    if (next === NEXT_SEGMENT) return undefined
    off = next
  }
}

/** Decides what lies at (k, off): returns the offset to look at next, NEXT_SEGMENT or END_OF_LOG. */
const stepAt = (st: ScanState, image: SegmentImage, k: number, off: number): number => {
  const sb = st.sb
  const bytes = image.bytes
  const durable = isDurable(sb, k, off)
  // Leaving the durable region with acknowledged records still unaccounted for (the scan followed a
  // misplaced copy past the durable end): they are damage, not tail.
  if (!durable && st.open === undefined && st.expected <= sb.durableSeq) {
    st.open = { seq: st.expected, segment: k, offset: off, reason: "header" }
  }
  if (off + HEADER_BYTES > bytes.length) {
    if (durable) {
      openDamage(st, k, off, "header")
      return NEXT_SEGMENT
    }
    if (st.open !== undefined) {
      closeDamage(st, sb.durableSeq, undefined)
      return off
    }
    return END_OF_LOG
  }
  const unreadableHeader = image.unreadable(off, HEADER_BYTES)
  const h = unreadableHeader ? undefined : decodeHeader(bytes, off)
  if (h !== undefined && (durable ? h.generation <= sb.generation : h.generation === sb.generation)) {
    const next = recordAt(st, image, k, off, durable, h)
    if (next !== undefined) return next
  }
  if (durable) {
    // Acknowledged bytes are damaged: remember where, and look for the next valid header.
    openDamage(st, k, off, unreadableHeader ? "unreadable" : "header")
    return off + 8
  }
  if (st.open !== undefined) {
    // Resynchronisation ran past the durable end: everything up to it is damaged; the tail starts here.
    closeDamage(st, sb.durableSeq, undefined)
    return off
  }
  return END_OF_LOG
}

/**
 * A valid header of this log at (k, off): the expected record (or a seal).
 * Returns what stepAt returns, or undefined if the header is not one the
 * scan is waiting for (it is then treated as damaged bytes).
 */
const recordAt = (st: ScanState, image: SegmentImage, k: number, off: number, durable: boolean, h: FrameHeader): number | undefined => {
  const bytes = image.bytes
  if (h.kind === KIND_DATA && (h.seq === st.expected || (st.open !== undefined && h.seq > st.expected))) {
    if (st.open !== undefined) closeDamage(st, h.seq - 1, { segment: k, offset: off })
    const fits = off + h.frameBytes <= bytes.length
    const unreadablePayload = fits && image.unreadable(off, h.frameBytes)
    if (fits && !unreadablePayload && payloadIntact(bytes, off, h)) {
      st.slots.push({ segment: k, offset: off, frameBytes: h.frameBytes })
      if (!durable) st.tailRecords++
      st.expected++
      return off + h.frameBytes
    }
    if (durable) {
      st.damage.push({ seq: st.expected, segment: k, offset: off, reason: unreadablePayload ? "unreadable" : "payload-checksum" })
      st.slots.push({ segment: k, offset: off, frameBytes: h.frameBytes })
      st.expected++
      return off + h.frameBytes
    }
    return END_OF_LOG
  }
  if (h.kind === KIND_SEAL && (h.seq === st.expected - 1 || (st.open !== undefined && h.seq >= st.expected))) {
    if (st.open !== undefined) closeDamage(st, h.seq, undefined)
    return NEXT_SEGMENT
  }
  return undefined
}
