/**
 * The pure parts of a partition log's storage: the scan recovery runs over a
 * segment's bytes, the sparse offset and time indexes and their files, and
 * the retention rule. No runtime: bytes in, decisions out.
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { decodeOffsetIndex, encodeOffsetIndex, OffsetIndex } from "./offset-index.ts"
import { encodeBatch, Field } from "./record-batch.ts"
import { segmentsToDelete } from "./retention.ts"
import { newSegmentState, parseSegmentFile, scanInto, logPath } from "./segment.ts"
import { decodeTimeIndex, encodeTimeIndex, TimeIndex } from "./time-index.ts"

interface Built {
  readonly bytes: Uint8Array
  /** Per batch: its base offset, position, size and timestamp. */
  readonly batches: ReadonlyArray<{ readonly offset: number; readonly position: number; readonly size: number; readonly timestamp: number }>
  readonly nextOffset: number
}

/** A segment image of batches with `counts[i]` records each and `sizes[i]` value bytes, from `base`. */
const build = (base: number, specs: ReadonlyArray<{ readonly records: number; readonly valueBytes: number; readonly timestamp: number }>): Built => {
  const parts: Array<Uint8Array> = []
  const batches: Array<Built["batches"][number]> = []
  let offset = base
  let position = 0
  for (const spec of specs) {
    const records = Array.from({ length: spec.records }, (_, i) => ({
      attributes: 0, timestampDelta: i, offsetDelta: i, key: null, value: new Uint8Array(spec.valueBytes).fill(i + 1), headers: []
    }))
    const b = encodeBatch({ baseOffset: offset, baseTimestamp: spec.timestamp, records })
    parts.push(b)
    batches.push({ offset, position, size: b.length, timestamp: spec.timestamp + Math.max(0, spec.records - 1) })
    offset += Math.max(1, spec.records)
    position += b.length
  }
  const bytes = new Uint8Array(position)
  let at = 0
  for (const p of parts) {
    bytes.set(p, at)
    at += p.length
  }
  return { bytes, batches, nextOffset: offset }
}

const specArb = fc.array(
  fc.record({ records: fc.integer({ min: 1, max: 4 }), valueBytes: fc.integer({ min: 0, max: 300 }), timestamp: fc.integer({ min: 0, max: 10_000 }) }),
  { minLength: 1, maxLength: 25 }
)

describe("scanning a segment", () => {
  it("walks every batch of an intact segment: end offset, size, an index entry at the start and then every interval", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 40 }), specArb, fc.integer({ min: 1, max: 2000 }), (base, specs, interval) => {
        const built = build(base, specs)
        const seg = newSegmentState(base)
        expect(scanInto(seg, built.bytes, interval)).toBeUndefined()
        expect(seg.nextOffset).toBe(built.nextOffset)
        expect(seg.size).toBe(built.bytes.length)
        const entries = seg.offsetIndex.entries()
        expect(entries[0]).toEqual({ offset: base, position: 0 })
        // Every entry is a batch boundary, and consecutive entries are at least an interval apart.
        for (const e of entries) expect(built.batches.some((b) => b.offset === e.offset && b.position === e.position)).toBe(true)
        for (let i = 1; i < entries.length; i++) expect(entries[i]!.position - entries[i - 1]!.position).toBeGreaterThanOrEqual(interval)
        // No stretch longer than an interval plus one batch goes unindexed.
        const largest = Math.max(...built.batches.map((b) => b.size))
        const gaps = [...entries.map((e) => e.position), built.bytes.length]
        for (let i = 1; i < gaps.length; i++) expect(gaps[i]! - gaps[i - 1]!).toBeLessThan(interval + largest + 1)
        expect(seg.timeIndex.maxTimestamp).toBe(Math.max(...built.batches.map((b) => b.timestamp)))
      }),
      { numRuns: 200 }
    )
  })

  it("stops at the first damaged batch and keeps every batch before it, whatever the damage", () => {
    fc.assert(
      fc.property(specArb, fc.nat(), fc.integer({ min: 1, max: 255 }), fc.constantFrom("flip", "zero-tail", "cut"), (specs, at, mask, kind) => {
        const built = build(0, specs)
        const start = at % built.bytes.length
        // Zeroing a tail that already ends in zero bytes changes nothing until its first non-zero byte:
        // the damage starts there, and a tail of zeros only is no damage at all.
        const firstNonZero = kind === "zero-tail" ? built.bytes.findIndex((b, i) => i >= start && b !== 0) : start
        fc.pre(firstNonZero !== -1)
        const position = firstNonZero
        const victim = built.batches.findIndex((b) => position >= b.position && position < b.position + b.size)
        const within = position - built.batches[victim]!.position
        // partitionLeaderEpoch is outside the CRC and not an offset: the one field no check can see.
        fc.pre(kind !== "flip" || within < Field.partitionLeaderEpoch || within >= Field.magic)
        let bytes = built.bytes.slice()
        if (kind === "flip") bytes[position] = bytes[position]! ^ mask
        if (kind === "zero-tail") bytes.fill(0, start)
        if (kind === "cut") bytes = bytes.subarray(0, position)
        const seg = newSegmentState(0)
        const stop = scanInto(seg, bytes, 4096)
        // A cut exactly at a batch boundary leaves a shorter intact log: nothing to stop at.
        const cleanCut = kind === "cut" && within === 0
        expect(stop?.position).toBe(cleanCut ? undefined : built.batches[victim]!.position)
        expect(seg.size).toBe(built.batches[victim]!.position)
        expect(seg.nextOffset).toBe(built.batches[victim]!.offset)
      }),
      { numRuns: 500 }
    )
  })

  it("a batch whose offset does not follow the previous one ends the scan (a stale batch behind a cut)", () => {
    const first = build(0, [{ records: 2, valueBytes: 10, timestamp: 1 }])
    const stale = build(7, [{ records: 1, valueBytes: 10, timestamp: 2 }])
    const bytes = new Uint8Array(first.bytes.length + stale.bytes.length)
    bytes.set(first.bytes)
    bytes.set(stale.bytes, first.bytes.length)
    const seg = newSegmentState(0)
    expect(scanInto(seg, bytes, 4096)?.reason).toMatch(/offset 7, expected 2/)
    expect(seg.nextOffset).toBe(2)
  })

  it("segment file names are twenty digits of base offset and parse back", () => {
    expect(logPath("log/t-0", 42)).toBe("log/t-0/00000000000000000042.log")
    expect(parseSegmentFile("00000000000000000042.timeindex")).toEqual({ baseOffset: 42, kind: "timeindex" })
    expect(parseSegmentFile("42.log")).toBeUndefined()
    expect(parseSegmentFile("00000000000000000042.log.tmp")).toBeUndefined()
  })
})

describe("the offset index", () => {
  const index = new OffsetIndex(100)
  index.add(100, 0)
  index.add(110, 5000)
  index.add(130, 9100)

  it("finds the last entry at or below an offset, or the segment start", () => {
    expect(index.lookup(100)).toEqual({ offset: 100, position: 0 })
    expect(index.lookup(129)).toEqual({ offset: 110, position: 5000 })
    expect(index.lookup(130)).toEqual({ offset: 130, position: 9100 })
    expect(index.lookup(10_000)).toEqual({ offset: 130, position: 9100 })
    expect(new OffsetIndex(7).lookup(50)).toEqual({ offset: 7, position: 0 })
  })

  it("refuses entries that do not grow (a bug, asserted)", () => {
    const i = new OffsetIndex(0)
    i.add(5, 100)
    expect(() => i.add(5, 200)).toThrow(/not past the last/)
    expect(() => i.add(6, 100)).toThrow(/not past the last/)
  })

  it("its file round-trips, and a damaged or stale file is refused (to be rebuilt)", () => {
    const facts = { baseOffset: 100, nextOffset: 140, segmentBytes: 12_000 }
    const file = encodeOffsetIndex(index, facts)
    expect(decodeOffsetIndex(file, facts)?.entries()).toEqual(index.entries())
    expect(decodeOffsetIndex(file, { ...facts, segmentBytes: 12_001 })).toBeUndefined()
    expect(decodeOffsetIndex(file, { ...facts, nextOffset: 141 })).toBeUndefined()
    expect(decodeOffsetIndex(file.subarray(0, file.length - 1), facts)).toBeUndefined()
    for (let at = 0; at < file.length; at++) {
      const damaged = file.slice()
      damaged[at] = damaged[at]! ^ 0x40
      expect(decodeOffsetIndex(damaged, facts)).toBeUndefined()
    }
  })
})

describe("the time index", () => {
  const index = new TimeIndex(0)
  for (const [t, offset] of [[10, 0], [5, 3], [20, 6], [20, 9], [35, 12]] as const) {
    index.observe(t, offset)
    index.mark()
  }

  it("keeps strictly increasing timestamps and the segment's largest", () => {
    expect(index.entries()).toEqual([{ timestamp: 10, offset: 0 }, { timestamp: 20, offset: 6 }, { timestamp: 35, offset: 12 }])
    expect(index.maxTimestamp).toBe(35)
  })

  it("starts a search for t at the last entry below t", () => {
    expect(index.startFor(5)).toBe(0)
    expect(index.startFor(10)).toBe(0)
    expect(index.startFor(11)).toBe(0)
    expect(index.startFor(21)).toBe(6)
    expect(index.startFor(1000)).toBe(12)
  })

  it("its file round-trips, and a damaged or stale file is refused", () => {
    const file = encodeTimeIndex(index)
    const back = decodeTimeIndex(file, 0, 20)
    expect(back?.entries()).toEqual(index.entries())
    expect(back?.maxTimestamp).toBe(35)
    expect(decodeTimeIndex(file, 1, 20)).toBeUndefined()
    expect(decodeTimeIndex(file, 0, 12)).toBeUndefined()
    for (let at = 0; at < file.length; at++) {
      const damaged = file.slice()
      damaged[at] = damaged[at]! ^ 0x04
      expect(decodeTimeIndex(damaged, 0, 20)).toBeUndefined()
    }
  })
})

describe("retention", () => {
  const segs = [
    { baseOffset: 0, size: 100, maxTimestamp: 1_000 },
    { baseOffset: 10, size: 100, maxTimestamp: 2_000 },
    { baseOffset: 20, size: 100, maxTimestamp: -1 },
    { baseOffset: 30, size: 100, maxTimestamp: 4_000 },
    { baseOffset: 40, size: 50, maxTimestamp: 9_000 }
  ]

  it("by time: the oldest segments past the age, stopping at a young one or one without timestamps", () => {
    expect(segmentsToDelete(segs, { retentionMs: 500 }, 1_400)).toBe(0)
    expect(segmentsToDelete(segs, { retentionMs: 500 }, 1_501)).toBe(1)
    expect(segmentsToDelete(segs, { retentionMs: 500 }, 100_000)).toBe(2)
  })

  it("by bytes: the oldest segments while what stays is at least the limit", () => {
    expect(segmentsToDelete(segs, { retentionBytes: 450 }, 0)).toBe(0)
    expect(segmentsToDelete(segs, { retentionBytes: 350 }, 0)).toBe(1)
    expect(segmentsToDelete(segs, { retentionBytes: 151 }, 0)).toBe(2)
    expect(segmentsToDelete(segs, { retentionBytes: 0 }, 0)).toBe(4)
  })

  it("never the active segment, and nothing without a policy", () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ baseOffset: fc.nat(), size: fc.nat(1000), maxTimestamp: fc.integer({ min: -1, max: 1000 }) }), { minLength: 1, maxLength: 8 }),
        fc.option(fc.nat(2000), { nil: undefined }),
        fc.option(fc.nat(2000), { nil: undefined }),
        fc.nat(5000),
        (s, retentionMs, retentionBytes, now) => {
          const n = segmentsToDelete(s, { retentionMs, retentionBytes }, now)
          expect(n).toBeLessThanOrEqual(s.length - 1)
          if (retentionMs === undefined && retentionBytes === undefined) expect(n).toBe(0)
          if (retentionBytes !== undefined && retentionMs === undefined && n > 0) {
            expect(s.slice(n).reduce((a, x) => a + x.size, 0)).toBeGreaterThanOrEqual(retentionBytes)
          }
        }
      )
    )
  })
})
