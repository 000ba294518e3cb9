/**
 * A segment of a partition log: one file of record batches stored back to
 * back exactly as received (only baseOffset rewritten, which lies outside
 * the CRC), named by the offset of its first record, with its sparse offset
 * and time indexes.
 *
 *   <dir>/00000000000000000000.log        the batches
 *   <dir>/00000000000000000000.index      offset index, sealed segments only
 *   <dir>/00000000000000000000.timeindex  time index, sealed segments only
 *
 * The highest-named segment is the active one, the only one appended to;
 * the others are sealed, synced and never change until retention removes
 * them whole. This file holds the names, the in-memory record of a segment,
 * and the pure scan that recovery and index rebuilds run over its bytes.
 */
import { Result } from "effect"
import type { DiskFile } from "../disk/disk.ts"
import { assert } from "../invariant/invariant.ts"
import { batchSize, lastOffsetOf, LOG_OVERHEAD, verifyBatchAt, type BatchHeader } from "./record-batch.ts"
import { OffsetIndex } from "./offset-index.ts"
import { TimeIndex } from "./time-index.ts"

const NAME_DIGITS = 20

const stem = (dir: string, baseOffset: number) => `${dir}/${String(baseOffset).padStart(NAME_DIGITS, "0")}`
export const logPath = (dir: string, baseOffset: number): string => `${stem(dir, baseOffset)}.log`
export const indexPath = (dir: string, baseOffset: number): string => `${stem(dir, baseOffset)}.index`
export const timeIndexPath = (dir: string, baseOffset: number): string => `${stem(dir, baseOffset)}.timeindex`

/** A file name of a segment directory: which segment, and which of its files. */
export const parseSegmentFile = (name: string): { readonly baseOffset: number; readonly kind: "log" | "index" | "timeindex" } | undefined => {
  const m = /^(\d{20})\.(log|index|timeindex)$/.exec(name)
  if (m === null) return undefined
  const baseOffset = Number(m[1])
  return Number.isSafeInteger(baseOffset) ? { baseOffset, kind: m[2] as "log" | "index" | "timeindex" } : undefined
}

/** A segment's bookkeeping, apart from its file: what the scan and appends maintain. */
export interface SegmentState {
  readonly baseOffset: number
  /** Bytes of batches in the file (what reads may touch). */
  size: number
  /** One past the last offset stored. */
  nextOffset: number
  readonly offsetIndex: OffsetIndex
  readonly timeIndex: TimeIndex
  /** Bytes appended since the last index entry. */
  bytesSinceIndex: number
  /**
   * The node's wall clock at the segment's first append (at open, for a
   * recovered active segment): roll-by-time measures the age from here, not
   * from producer timestamps, so old timestamps cannot make every append roll.
   */
  rollTimestamp: number | undefined
}

/** A segment as the log keeps it in memory. Mutable: only the active one changes. */
export interface Segment extends SegmentState {
  readonly file: DiskFile
}

export const newSegmentState = (baseOffset: number): SegmentState => ({
  baseOffset,
  size: 0,
  nextOffset: baseOffset,
  offsetIndex: new OffsetIndex(baseOffset),
  timeIndex: new TimeIndex(baseOffset),
  bytesSinceIndex: 0,
  rollTimestamp: undefined
})

export const newSegment = (baseOffset: number, file: DiskFile): Segment => ({ ...newSegmentState(baseOffset), file })

/**
 * Records a batch just placed at `position` (the end of the segment): sizes,
 * next offset, and an index entry for the first batch and then whenever
 * `indexIntervalBytes` have passed since the last one.
 */
export const noteBatch = (seg: SegmentState, h: BatchHeader, position: number, indexIntervalBytes: number): void => {
  assert(position === seg.size, () => `batch at ${position}, segment ends at ${seg.size}`)
  assert(h.baseOffset === seg.nextOffset, () => `batch at offset ${h.baseOffset}, segment expects ${seg.nextOffset}`)
  seg.timeIndex.observe(h.maxTimestamp, h.baseOffset)
  if (seg.offsetIndex.size === 0 || seg.bytesSinceIndex >= indexIntervalBytes) {
    seg.offsetIndex.add(h.baseOffset, position)
    seg.timeIndex.mark()
    seg.bytesSinceIndex = 0
  }
  seg.bytesSinceIndex += batchSize(h)
  seg.size = position + batchSize(h)
  seg.nextOffset = lastOffsetOf(h) + 1
}

/** Why a scan stopped before the end of the bytes. */
export interface ScanStop {
  readonly position: number
  readonly reason: string
}

/**
 * Walks the batches of `bytes` (a segment's file read whole) into `seg`,
 * from its start: each must be intact and start at the offset the previous
 * one ended at. Returns where and why it stopped early, or undefined if
 * every byte was a valid batch.
 */
export const scanInto = (seg: SegmentState, bytes: Uint8Array, indexIntervalBytes: number): ScanStop | undefined => {
  assert(seg.size === 0, "scan into an empty segment")
  let at = 0
  while (at < bytes.length) {
    if (bytes.length - at < LOG_OVERHEAD) return { position: at, reason: `${bytes.length - at} stray bytes at the end` }
    const r = verifyBatchAt(bytes, at, bytes.length)
    if (Result.isFailure(r)) return { position: at, reason: `${r.failure.fault}: ${r.failure.message}` }
    const h = r.success
    if (h.baseOffset !== seg.nextOffset) return { position: at, reason: `batch at offset ${h.baseOffset}, expected ${seg.nextOffset}` }
    noteBatch(seg, h, at, indexIntervalBytes)
    at += batchSize(h)
  }
  return undefined
}
