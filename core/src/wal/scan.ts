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
  const slots: Array<Slot> = []
  const damage: Array<WalDamage> = []
  let expected = sb.firstSeq
  let open: OpenDamage | undefined
  let tailRecords = 0

  const isDurable = (k: number, off: number) =>
    k < sb.durable.segment || (k === sb.durable.segment && off < sb.durable.offset)

  /** Marks expected .. upTo as damaged, all starting where the damage was first seen. */
  const closeDamage = (upTo: number, next: Position | undefined) => {
    assert(open !== undefined, "no open damage to close")
    const region = open
    const count = upTo - expected + 1
    for (let seq = expected; seq <= upTo; seq++) {
      damage.push({ seq, segment: region.segment, offset: region.offset, reason: region.reason })
      // A lone record whose header is gone still has a known slot if the next record is in the same segment.
      const frameBytes =
        count === 1 && next !== undefined && next.segment === region.segment ? next.offset - region.offset : -1
      slots.push({ segment: region.segment, offset: region.offset, frameBytes })
    }
    expected = upTo + 1
    open = undefined
  }

  let k = sb.first.segment
  let off = sb.first.offset
  for (;;) {
    const image = k <= lastSegment ? segment(k) : undefined
    if (image === undefined) {
      const holdsDurable =
        k < sb.durable.segment || (k === sb.durable.segment && sb.durable.offset > (k === sb.first.segment ? sb.first.offset : 0))
      if (holdsDurable) {
        // A segment that held acknowledged records is missing: damage until something valid turns up.
        open ??= { seq: expected, segment: k, offset: off, reason: "header" }
        k++
        off = 0
        continue
      }
      if (open === undefined && expected <= sb.durableSeq) open = { seq: expected, segment: k, offset: off, reason: "header" }
      if (open !== undefined) closeDamage(sb.durableSeq, undefined)
      return { slots, lastSeq: expected - 1, damage, end: { segment: k, offset: off }, tailRecords }
    }
    const bytes = image.bytes
    let nextSegment = false
    for (;;) {
      const durable = isDurable(k, off)
      // Leaving the durable region with acknowledged records still unaccounted for (the scan followed a
      // misplaced copy past the durable end): they are damage, not tail.
      if (!durable && open === undefined && expected <= sb.durableSeq) {
        open = { seq: expected, segment: k, offset: off, reason: "header" }
      }
      if (off + HEADER_BYTES > bytes.length) {
        if (durable) {
          open ??= { seq: expected, segment: k, offset: off, reason: "header" }
          nextSegment = true
          break
        }
        if (open !== undefined) {
          closeDamage(sb.durableSeq, undefined)
          continue
        }
        return { slots, lastSeq: expected - 1, damage, end: { segment: k, offset: off }, tailRecords }
      }
      const unreadableHeader = image.unreadable(off, HEADER_BYTES)
      const h = unreadableHeader ? undefined : decodeHeader(bytes, off)
      if (h !== undefined && (durable ? h.generation <= sb.generation : h.generation === sb.generation)) {
        if (h.kind === KIND_DATA && (h.seq === expected || (open !== undefined && h.seq > expected))) {
          if (open !== undefined) closeDamage(h.seq - 1, { segment: k, offset: off })
          const fits = off + h.frameBytes <= bytes.length
          const unreadablePayload = fits && image.unreadable(off, h.frameBytes)
          if (fits && !unreadablePayload && payloadIntact(bytes, off, h)) {
            slots.push({ segment: k, offset: off, frameBytes: h.frameBytes })
            if (!durable) tailRecords++
            expected++
            off += h.frameBytes
            continue
          }
          if (durable) {
            damage.push({ seq: expected, segment: k, offset: off, reason: unreadablePayload ? "unreadable" : "payload-checksum" })
            slots.push({ segment: k, offset: off, frameBytes: h.frameBytes })
            expected++
            off += h.frameBytes
            continue
          }
          return { slots, lastSeq: expected - 1, damage, end: { segment: k, offset: off }, tailRecords }
        }
        if (h.kind === KIND_SEAL && (h.seq === expected - 1 || (open !== undefined && h.seq >= expected))) {
          if (open !== undefined) closeDamage(h.seq, undefined)
          nextSegment = true
          break
        }
      }
      if (durable) {
        // Acknowledged bytes are damaged: remember where, and look for the next valid header.
        open ??= { seq: expected, segment: k, offset: off, reason: unreadableHeader ? "unreadable" : "header" }
        off += 8
        continue
      }
      if (open !== undefined) {
        // Resynchronisation ran past the durable end: everything up to it is damaged; the tail starts here.
        closeDamage(sb.durableSeq, undefined)
        continue
      }
      return { slots, lastSeq: expected - 1, damage, end: { segment: k, offset: off }, tailRecords }
    }
    if (nextSegment) {
      k++
      off = 0
    }
  }
}
