import fc from "fast-check"
import { describe, expect, it } from "vitest"
import {
  defaultScheme,
  formatScheme,
  INLINE_MAX_BYTES,
  makeScheme,
  parseScheme,
  REPLICATE_BELOW_SHARD_BYTES,
  SchemeError,
  storageClassFor
} from "./scheme.ts"

const reasonOf = (f: () => unknown): string | undefined => {
  try {
    f()
    return undefined
  } catch (error) {
    expect(error).toBeInstanceOf(SchemeError)
    return (error as SchemeError).reason
  }
}

describe("parseScheme", () => {
  it("parses K+M and round-trips through formatScheme", () => {
    expect(parseScheme("3+2")).toEqual({ dataShards: 3, parityShards: 2 })
    expect(parseScheme(" 16 + 4 ")).toEqual({ dataShards: 16, parityShards: 4 })
    expect(parseScheme("200+56")).toEqual({ dataShards: 200, parityShards: 56 })
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 128 }), fc.integer({ min: 1, max: 128 }), (k, m) => {
        expect(parseScheme(formatScheme({ dataShards: k, parityShards: m }))).toEqual({ dataShards: k, parityShards: m })
      })
    )
  })

  it("rejects malformed text, k < 1, m < 1 and too many shards with typed reasons", () => {
    for (const text of ["", "3", "3+", "+2", "3-2", "3+2+1", "a+b", "3.5+2", "-1+2", "1234567+1", "3 2"]) {
      expect(reasonOf(() => parseScheme(text)), text).toBe("syntax")
    }
    expect(reasonOf(() => parseScheme("0+2"))).toBe("no-data-shards")
    expect(reasonOf(() => parseScheme("3+0"))).toBe("no-parity-shards")
    expect(reasonOf(() => parseScheme("200+57"))).toBe("too-many-shards")
    expect(reasonOf(() => parseScheme("1000+1"))).toBe("too-many-shards")
    expect(reasonOf(() => makeScheme(2.5, 1))).toBe("no-data-shards")
    expect(reasonOf(() => makeScheme(2, Number.NaN))).toBe("no-parity-shards")
  })

  it("requires k+m distinct nodes when the cluster size is given", () => {
    expect(parseScheme("3+2", 5)).toEqual({ dataShards: 3, parityShards: 2 })
    expect(reasonOf(() => parseScheme("3+2", 4))).toBe("more-shards-than-nodes")
    expect(parseScheme("16+4", 20)).toEqual({ dataShards: 16, parityShards: 4 })
    expect(reasonOf(() => parseScheme("16+4", 19))).toBe("more-shards-than-nodes")
  })
})

describe("defaultScheme", () => {
  it("survives any one loss on three nodes and any two on five", () => {
    expect(defaultScheme(3)).toEqual({ dataShards: 2, parityShards: 1 })
    expect(defaultScheme(5)).toEqual({ dataShards: 3, parityShards: 2 })
    expect(formatScheme(defaultScheme(2))).toBe("1+1")
    expect(formatScheme(defaultScheme(4))).toBe("3+1")
    expect(formatScheme(defaultScheme(10))).toBe("7+3")
    expect(formatScheme(defaultScheme(16))).toBe("12+4")
    expect(formatScheme(defaultScheme(1000))).toBe("12+4")
  })

  it("is valid for every cluster size, never tolerates fewer losses as the cluster grows, and refuses one node", () => {
    let previous = 0
    for (let n = 2; n <= 300; n++) {
      const s = defaultScheme(n)
      expect(makeScheme(s.dataShards, s.parityShards, n)).toEqual(s)
      expect(s.parityShards).toBeGreaterThanOrEqual(previous)
      expect(s.parityShards).toBeGreaterThanOrEqual(n >= 5 ? 2 : 1)
      previous = s.parityShards
    }
    expect(reasonOf(() => defaultScheme(1))).toBe("more-shards-than-nodes")
    expect(reasonOf(() => defaultScheme(0))).toBe("more-shards-than-nodes")
  })
})

describe("storageClassFor", () => {
  it("inlines up to 4 KiB, replicates below k × 64 KiB, stripes from there", () => {
    const s = makeScheme(3, 2)
    expect(storageClassFor(0, s)).toBe("inline")
    expect(storageClassFor(INLINE_MAX_BYTES, s)).toBe("inline")
    expect(storageClassFor(INLINE_MAX_BYTES + 1, s)).toBe("replicated")
    expect(storageClassFor(3 * REPLICATE_BELOW_SHARD_BYTES - 1, s)).toBe("replicated")
    expect(storageClassFor(3 * REPLICATE_BELOW_SHARD_BYTES, s)).toBe("striped")
    expect(storageClassFor(10 * REPLICATE_BELOW_SHARD_BYTES - 1, makeScheme(10, 4))).toBe("replicated")
    expect(storageClassFor(2 ** 40, s)).toBe("striped")
  })
})
