/**
 * A segment's sparse offset index: every `indexIntervalBytes` of batches,
 * one entry (first offset of a batch, its byte position), so a read by
 * offset seeks to the nearest entry at or below it and scans at most one
 * interval of batches. The first batch of a segment always has an entry.
 *
 * The active segment's index lives in memory only (recovery rebuilds it
 * from the segment it scans anyway); a sealed segment's is written once,
 * when the segment is sealed, as `<base>.index`, whole and checksummed:
 *
 *    0  u32 CRC32C over bytes 4 .. end
 *    4  u32 magic "CLI1" (the last byte is the format version)
 *    8  u64 the segment's base offset
 *   16  u64 the segment's next offset (one past its last record)
 *   24  u32 entry count
 *   28  u32 the segment file's size in bytes
 *   32  entries: u32 offset relative to the base, u32 byte position
 *
 * Little-endian, like the WAL. A file that fails any check is not an error:
 * the index is rebuilt from the segment.
 */
import { crc32c } from "../checksum/crc32c.ts"
import { assert } from "../invariant/invariant.ts"
import { getU64, lastWhere, setU64 } from "./index-file.ts"

export const OFFSET_INDEX_MAGIC = 0x31494c43 // "CLI1" little-endian
const HEADER = 32
const ENTRY = 8
const TWO_32 = 0x1_0000_0000

export interface OffsetIndexEntry {
  readonly offset: number
  readonly position: number
}

/** What a sealed segment's index file records besides its entries. */
export interface SealedFacts {
  readonly baseOffset: number
  readonly nextOffset: number
  readonly segmentBytes: number
}

export class OffsetIndex {
  private readonly offsets: Array<number> = []
  private readonly positions: Array<number> = []

  readonly baseOffset: number

  constructor(baseOffset: number) {
    this.baseOffset = baseOffset
  }

  get size(): number {
    return this.offsets.length
  }

  entries(): ReadonlyArray<OffsetIndexEntry> {
    return this.offsets.map((offset, i) => ({ offset, position: this.positions[i]! }))
  }

  /** Adds an entry; offsets and positions only grow, and relative offsets fit in 32 bits. */
  add(offset: number, position: number): void {
    const last = this.offsets.length - 1
    assert(last < 0 || (offset > this.offsets[last]! && position > this.positions[last]!), () => `index entry ${offset}@${position} is not past the last`)
    assert(offset - this.baseOffset >= 0 && offset - this.baseOffset < TWO_32, () => `offset ${offset} outside its segment's 32-bit range`)
    assert(position >= 0 && position < TWO_32, () => `position ${position} outside 32 bits`)
    this.offsets.push(offset)
    this.positions.push(position)
  }

  /** The entry with the largest offset at or below `offset`; the segment's start if none. */
  lookup(offset: number): OffsetIndexEntry {
    const found = lastWhere(this.offsets, (v) => v <= offset)
    return found < 0 ? { offset: this.baseOffset, position: 0 } : { offset: this.offsets[found]!, position: this.positions[found]! }
  }

}

export const encodeOffsetIndex = (index: OffsetIndex, facts: SealedFacts): Uint8Array => {
  assert(index.baseOffset === facts.baseOffset, "index of another segment")
  const entries = index.entries()
  const out = new Uint8Array(HEADER + entries.length * ENTRY)
  const view = new DataView(out.buffer)
  view.setUint32(4, OFFSET_INDEX_MAGIC, true)
  setU64(view, 8, facts.baseOffset)
  setU64(view, 16, facts.nextOffset)
  view.setUint32(24, entries.length, true)
  view.setUint32(28, facts.segmentBytes, true)
  entries.forEach((e, i) => {
    view.setUint32(HEADER + i * ENTRY, e.offset - facts.baseOffset, true)
    view.setUint32(HEADER + i * ENTRY + 4, e.position, true)
  })
  view.setUint32(0, crc32c(out, 4), true)
  return out
}

/**
 * Decodes an index file, or undefined if it is damaged or does not describe
 * `expected` (another base offset, another size or end: a stale file).
 */
export const decodeOffsetIndex = (bytes: Uint8Array, expected: SealedFacts): OffsetIndex | undefined => {
  if (bytes.length < HEADER) return undefined
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length)
  if (view.getUint32(4, true) !== OFFSET_INDEX_MAGIC || view.getUint32(0, true) !== crc32c(bytes, 4)) return undefined
  const count = view.getUint32(24, true)
  if (bytes.length !== HEADER + count * ENTRY) return undefined
  if (getU64(view, 8) !== expected.baseOffset || getU64(view, 16) !== expected.nextOffset) return undefined
  if (view.getUint32(28, true) !== expected.segmentBytes) return undefined
  const index = new OffsetIndex(expected.baseOffset)
  let lastOffset = -1
  let lastPosition = -1
  for (let i = 0; i < count; i++) {
    const offset = expected.baseOffset + view.getUint32(HEADER + i * ENTRY, true)
    const position = view.getUint32(HEADER + i * ENTRY + 4, true)
    // An intact checksum over nonsense (our own bug) must not become an assertion later.
    if (offset <= lastOffset || position <= lastPosition || offset >= expected.nextOffset || position >= expected.segmentBytes) return undefined
    index.add(offset, position)
    lastOffset = offset
    lastPosition = position
  }
  return index
}
