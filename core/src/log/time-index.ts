/**
 * A segment's sparse time index: entries (largest batch timestamp so far,
 * the first offset of the batch that carries it), added with the offset
 * index's entries whenever the largest timestamp grew, so timestamps in it
 * strictly increase. It answers "the first offset whose batch timestamp is
 * at or after t" (Kafka's ListOffsets) and gives the segment's largest
 * timestamp, which retention by time compares against.
 *
 * Like the offset index, in memory for the active segment and written once
 * at seal as `<base>.timeindex`:
 *
 *    0  u32 CRC32C over bytes 4 .. end
 *    4  u32 magic "CLT1"
 *    8  u64 the segment's base offset
 *   16  i64 the segment's largest batch timestamp (-1: none)
 *   24  u32 entry count
 *   28  u32 reserved (0)
 *   32  entries: i64 timestamp, u32 offset relative to the base
 */
import { crc32c } from "../checksum/crc32c.ts"
import { assert } from "../invariant/invariant.ts"
import { getU64, lastWhere, setU64 } from "./index-file.ts"

export const TIME_INDEX_MAGIC = 0x31544c43 // "CLT1" little-endian
const HEADER = 32
const ENTRY = 12
/** Kafka's "no timestamp". */
export const NO_TIMESTAMP = -1

export interface TimeIndexEntry {
  readonly timestamp: number
  readonly offset: number
}

export class TimeIndex {
  private readonly timestamps: Array<number> = []
  private readonly offsets: Array<number> = []
  /** The largest batch timestamp seen in the segment, and the first offset of its batch. */
  maxTimestamp = NO_TIMESTAMP
  offsetOfMaxTimestamp: number
  readonly baseOffset: number

  constructor(baseOffset: number) {
    this.baseOffset = baseOffset
    this.offsetOfMaxTimestamp = baseOffset
  }

  get size(): number {
    return this.timestamps.length
  }

  entries(): ReadonlyArray<TimeIndexEntry> {
    return this.timestamps.map((timestamp, i) => ({ timestamp, offset: this.offsets[i]! }))
  }

  /** Notes a batch's largest timestamp (every batch goes through here, indexed or not). */
  observe(maxTimestamp: number, baseOffset: number): void {
    if (maxTimestamp > this.maxTimestamp) {
      this.maxTimestamp = maxTimestamp
      this.offsetOfMaxTimestamp = baseOffset
    }
  }

  /** Adds an entry for the largest timestamp so far, if it grew since the last entry. */
  mark(): void {
    const last = this.timestamps.length - 1
    if (this.maxTimestamp === NO_TIMESTAMP || (last >= 0 && this.timestamps[last]! >= this.maxTimestamp)) return
    assert(last < 0 || this.offsetOfMaxTimestamp > this.offsets[last]!, "time index offsets only grow")
    this.timestamps.push(this.maxTimestamp)
    this.offsets.push(this.offsetOfMaxTimestamp)
  }

  /**
   * Where a search for the first batch with timestamp >= `t` may start: the
   * offset of the last entry whose timestamp is below `t` (every batch before
   * it has a smaller timestamp), or the segment's start.
   */
  startFor(t: number): number {
    const found = lastWhere(this.timestamps, (v) => v < t)
    return found < 0 ? this.baseOffset : this.offsets[found]!
  }

}

export const encodeTimeIndex = (index: TimeIndex): Uint8Array => {
  const entries = index.entries()
  const out = new Uint8Array(HEADER + entries.length * ENTRY)
  const view = new DataView(out.buffer)
  view.setUint32(4, TIME_INDEX_MAGIC, true)
  setU64(view, 8, index.baseOffset)
  view.setBigInt64(16, BigInt(index.maxTimestamp), true)
  view.setUint32(24, entries.length, true)
  entries.forEach((e, i) => {
    view.setBigInt64(HEADER + i * ENTRY, BigInt(e.timestamp), true)
    view.setUint32(HEADER + i * ENTRY + 8, e.offset - index.baseOffset, true)
  })
  view.setUint32(0, crc32c(out, 4), true)
  return out
}

const safe = (v: bigint): number | undefined =>
  v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER) ? undefined : Number(v)

/** Decodes a time index file of the segment at `baseOffset` ending before `nextOffset`, or undefined if damaged or stale. */
export const decodeTimeIndex = (bytes: Uint8Array, baseOffset: number, nextOffset: number): TimeIndex | undefined => {
  if (bytes.length < HEADER) return undefined
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length)
  if (view.getUint32(4, true) !== TIME_INDEX_MAGIC || view.getUint32(0, true) !== crc32c(bytes, 4)) return undefined
  const count = view.getUint32(24, true)
  if (bytes.length !== HEADER + count * ENTRY || getU64(view, 8) !== baseOffset) return undefined
  const maxTimestamp = safe(view.getBigInt64(16, true))
  if (maxTimestamp === undefined) return undefined
  const index = new TimeIndex(baseOffset)
  let lastTimestamp = Number.NEGATIVE_INFINITY
  let lastOffset = -1
  for (let i = 0; i < count; i++) {
    const timestamp = safe(view.getBigInt64(HEADER + i * ENTRY, true))
    const offset = baseOffset + view.getUint32(HEADER + i * ENTRY + 8, true)
    if (timestamp === undefined || timestamp <= lastTimestamp || offset <= lastOffset || offset >= nextOffset || timestamp > maxTimestamp) return undefined
    index.observe(timestamp, offset)
    index.mark()
    lastTimestamp = timestamp
    lastOffset = offset
  }
  if (maxTimestamp > index.maxTimestamp) {
    // The segment's largest timestamp fell between entries: keep it, so retention sees it.
    index.maxTimestamp = maxTimestamp
  }
  return index
}
