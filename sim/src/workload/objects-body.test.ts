import { describe, expect, it } from "vitest"
import { attributesFor, bodyOf, RecentBodies, valueOfBody } from "./objects.ts"

describe("object workload bodies", () => {
  const sizes = new Map<number, number>([[1, 0], [2, 5], [3, 8], [4, 9], [5, 70_000], [4_000_000_000, 1_300_000]])

  it("bodies keep the bytes they had when the workload was written (seeds replay only with the same bytes)", () => {
    // FNV-1a of the bytes, computed with the original bodyOf (commit 4505539).
    const fnv = (b: Uint8Array) => b.reduce((h, x) => Math.imul(h ^ x, 0x01000193), 0x811c9dc5) >>> 0
    expect([fnv(bodyOf(7, 1000)), fnv(bodyOf(4_000_000_000, 300_000)), fnv(bodyOf(3, 5))]).toEqual([0x38de8707, 0x90a2073a, 0xa00960d4])
  })

  it("a body written for a value reads back as that value, for every size class", () => {
    for (const [v, size] of sizes) expect(valueOfBody(bodyOf(v, size), sizes, attributesFor(v, size))).toBe(v)
  })

  it("bodies too short for the header are told apart by the value their attributes name (objects seed 932)", () => {
    // Seed 932: value 340's 1-byte body ([0], as every small value's) read back as value 86, the first
    // value ever written with 1 byte, and the checker saw a stale read of another key's old value.
    const tiny = new Map<number, number>([[86, 1], [340, 1], [7, 0], [9, 0]])
    for (const [v, size] of tiny) expect(valueOfBody(bodyOf(v, size), tiny, attributesFor(v, size))).toBe(v)
    // Without the attribute, or naming a value of another size, the bytes name nothing for sure.
    expect(valueOfBody(bodyOf(340, 1), tiny)).toBeUndefined()
    expect(valueOfBody(bodyOf(340, 1), tiny, attributesFor(7, 0))).toBeUndefined()
    // The bytes must still be the named value's.
    expect(valueOfBody(Uint8Array.of(1), tiny, attributesFor(340, 1))).toBeUndefined()
    // Bodies long enough for the header need no attribute.
    expect(attributesFor(5, 8)).toEqual([])
  })

  it("one wrong byte anywhere, a wrong length or an unknown value is no body at all", () => {
    for (const [v, size] of sizes) {
      if (size === 0) continue
      for (const at of [0, 4, Math.min(8, size - 1), size >> 1, size - 1]) {
        const body = bodyOf(v, size)
        body[at]! ^= 0x10
        expect(valueOfBody(body, sizes, attributesFor(v, size))).toBeUndefined()
      }
    }
    expect(valueOfBody(bodyOf(5, 70_000).subarray(0, 69_999), sizes)).toBeUndefined()
    expect(valueOfBody(bodyOf(6, 70_000), sizes)).toBeUndefined()
    // Another value's bytes under this value's header.
    const mixed = bodyOf(5, 70_000)
    mixed.set(bodyOf(4, 9).subarray(0, 8))
    expect(valueOfBody(mixed, sizes)).toBeUndefined()
  })

  it("reads a body inside a larger buffer, as a collected stream may hand it over", () => {
    const body = bodyOf(5, 70_000)
    const framed = new Uint8Array(body.length + 16)
    framed.set(body, 16)
    expect(valueOfBody(framed.subarray(16), sizes)).toBe(5)
  })

  it("checked against the remembered bodies of recent puts, every answer is the same as without them", () => {
    const recent = new RecentBodies(1_000_000)
    const handed = new Map<number, Uint8Array>()
    for (const [v, size] of sizes) if (size < 1_000_000) handed.set(v, recent.put(v, size))
    // The store gets a copy: changing it leaves the remembered body (the expected bytes) as generated.
    handed.get(5)!.fill(0)
    expect(recent.get(5)).toEqual(bodyOf(5, 70_000))
    for (const [v, size] of sizes) {
      expect(valueOfBody(bodyOf(v, size), sizes, attributesFor(v, size), recent)).toBe(v)
      if (size < 9) continue
      for (const at of [8, size >> 1, size - 1]) {
        const body = bodyOf(v, size)
        body[at]! ^= 0x01
        expect(valueOfBody(body, sizes, attributesFor(v, size), recent)).toBeUndefined()
      }
    }
    // Another value's remembered bytes never vouch for a body: the header names the value whose bytes are compared.
    recent.put(6, 70_000)
    const other = bodyOf(5, 70_000)
    other.set(bodyOf(6, 70_000).subarray(0, 8))
    expect(valueOfBody(other, new Map([[5, 70_000], [6, 70_000]]), [], recent)).toBeUndefined()
    expect(valueOfBody(bodyOf(6, 70_000), new Map([[6, 70_000]]), [], recent)).toBe(6)
  })

  it("keeps recent bodies up to its budget, the oldest dropped first", () => {
    const recent = new RecentBodies(250_000)
    recent.put(1, 100_000)
    recent.put(2, 100_000)
    recent.put(3, 100_000)
    expect([recent.get(1), recent.get(2)?.length, recent.get(3)?.length]).toEqual([undefined, 100_000, 100_000])
    // A forgotten body is generated again for the check.
    expect(valueOfBody(bodyOf(1, 100_000), new Map([[1, 100_000]]), [], recent)).toBe(1)
  })
})
