import fc from "fast-check"
import { describe, expect, it } from "vitest"
import * as Erasure from "../erasure/index.ts"
import {
  DEFAULT_SHARD_BYTES,
  joinStripes,
  makeGeometry,
  ObjectRangeError,
  shardSizeFor,
  spansForRange,
  splitObject,
  stripeCount,
  stripesForRange,
  type ShardSpan,
  type StripeGeometry
} from "./layout.ts"

const bytes = (n: number, seed = 1) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed * 7 + (i >> 8)) & 0xff)

/** Reference: locate every byte on its own, then merge neighbours in the same shard. */
const bruteSpans = (g: StripeGeometry, start: number, end: number): ReadonlyArray<ShardSpan> => {
  const out: Array<ShardSpan> = []
  for (let b = start; b < end; b++) {
    const stripe = Math.floor(b / (g.dataShards * g.shardSize))
    const shard = Math.floor((b % (g.dataShards * g.shardSize)) / g.shardSize)
    const offset = b % g.shardSize
    const last = out[out.length - 1]
    if (last !== undefined && last.stripe === stripe && last.shard === shard && last.offset + last.length === offset) {
      out[out.length - 1] = { ...last, length: last.length + 1 }
    } else {
      out.push({ stripe, shard, offset, length: 1, objectOffset: b })
    }
  }
  return out
}

const geometryArb = fc
  .record({ size: fc.integer({ min: 0, max: 600 }), k: fc.integer({ min: 1, max: 6 }), shard: fc.integer({ min: 1, max: 40 }) })
  .map(({ size, k, shard }) => makeGeometry(size, k, shard))

describe("splitObject / joinStripes", () => {
  it("round-trips sizes 0, 1, shard-1, shard, shard+1, one stripe ±1 and many stripes", () => {
    const k = 3
    const shard = 64
    for (const size of [0, 1, shard - 1, shard, shard + 1, k * shard - 1, k * shard, k * shard + 1, 10 * k * shard + 5]) {
      const g = makeGeometry(size, k, shard)
      const data = bytes(size)
      const stripes = splitObject(data, g)
      expect(stripes).toHaveLength(Math.ceil(size / (k * shard)))
      for (const s of stripes) {
        expect(s).toHaveLength(k)
        for (const piece of s) expect(piece.length).toBe(shard)
      }
      expect(joinStripes(stripes, g)).toEqual(data)
    }
  })

  it("pads the last stripe with zeros and keeps the real length", () => {
    const g = makeGeometry(5, 2, 4)
    const stripes = splitObject(Uint8Array.of(1, 2, 3, 4, 5), g)
    expect(stripes).toEqual([[Uint8Array.of(1, 2, 3, 4), Uint8Array.of(5, 0, 0, 0)]])
    expect(joinStripes(stripes, g)).toEqual(Uint8Array.of(1, 2, 3, 4, 5))
  })

  it("round-trips any object, also through the codec with m shards lost", () => {
    fc.assert(
      fc.property(geometryArb, fc.integer({ min: 1, max: 3 }), fc.integer(), (g, m, seed) => {
        const data = bytes(g.size, seed)
        const stripes = splitObject(data, g)
        expect(joinStripes(stripes, g)).toEqual(data)
        const codec = Erasure.makeCodec(g.dataShards, m, { kernel: "scalar" })
        const rebuilt = stripes.map((shards) => {
          const all = Erasure.encode(codec, [...shards, ...Array<null>(m).fill(null)])
          const lost = all.map((s, i) => (i < m ? null : s))
          return Erasure.reconstructData(codec, lost).slice(0, g.dataShards) as ReadonlyArray<Uint8Array>
        })
        expect(joinStripes(rebuilt, g)).toEqual(data)
      }),
      { numRuns: 200 }
    )
  })

  it("chooses shards no larger than the object needs, and full shards for large objects", () => {
    expect(shardSizeFor(0, 3)).toBe(1)
    expect(shardSizeFor(300 * 1024, 3)).toBe(100 * 1024)
    expect(shardSizeFor(300 * 1024 + 1, 3)).toBe(100 * 1024 + 1)
    expect(shardSizeFor(3 * DEFAULT_SHARD_BYTES, 3)).toBe(DEFAULT_SHARD_BYTES)
    expect(shardSizeFor(100 * DEFAULT_SHARD_BYTES, 10)).toBe(DEFAULT_SHARD_BYTES)
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 40 }), fc.integer({ min: 1, max: 20 }), (size, k) => {
        const g = makeGeometry(size, k)
        // Padding never exceeds one stripe, and a one-stripe object wastes less than k bytes.
        const waste = stripeCount(g) * k * g.shardSize - size
        expect(waste).toBeGreaterThanOrEqual(0)
        expect(waste).toBeLessThan(k * g.shardSize)
        if (size > 0 && size < k * DEFAULT_SHARD_BYTES) expect(waste).toBeLessThan(k)
      })
    )
  })
})

describe("range math", () => {
  it("matches the byte-by-byte reference for every range", () => {
    fc.assert(
      fc.property(geometryArb, fc.nat(), fc.nat(), (g, a, b) => {
        const start = g.size === 0 ? 0 : a % (g.size + 1)
        const end = start + (g.size === 0 ? 0 : b % (g.size - start + 1))
        const spans = spansForRange(g, start, end)
        expect(spans).toEqual(bruteSpans(g, start, end))
        const touched = new Set(spans.map((s) => s.stripe))
        const { first, end: last } = stripesForRange(g, start, end)
        expect([...touched]).toEqual(Array.from({ length: last - first }, (_, i) => first + i))
      }),
      { numRuns: 500 }
    )
  })

  it("the reference comparison catches an off-by-one", () => {
    const g = makeGeometry(100, 3, 7)
    const broken = spansForRange(g, 5, 40).map((s, i) => (i === 1 ? { ...s, length: s.length - 1 } : s))
    expect(broken).not.toEqual(bruteSpans(g, 5, 40))
    expect(spansForRange(g, 5, 40)).toEqual(bruteSpans(g, 5, 40))
  })

  it("reads a range back from the stripes", () => {
    const g = makeGeometry(1000, 4, 16)
    const data = bytes(1000, 3)
    const stripes = splitObject(data, g)
    const read = (start: number, end: number) => {
      const out = new Uint8Array(end - start)
      for (const s of spansForRange(g, start, end)) {
        out.set(stripes[s.stripe]![s.shard]!.subarray(s.offset, s.offset + s.length), s.objectOffset - start)
      }
      return out
    }
    for (const [start, end] of [[0, 1000], [0, 0], [999, 1000], [63, 65], [64, 128], [17, 901]] as const) {
      expect(read(start, end)).toEqual(data.subarray(start, end))
    }
  })

  it("rejects ranges outside the object with a typed error", () => {
    const g = makeGeometry(10, 2, 3)
    for (const [start, end] of [[-1, 2], [3, 2], [0, 11], [11, 11], [0.5, 2]] as const) {
      expect(() => spansForRange(g, start, end)).toThrow(ObjectRangeError)
      expect(() => stripesForRange(g, start, end)).toThrow(ObjectRangeError)
    }
    expect(spansForRange(g, 10, 10)).toEqual([])
  })
})
