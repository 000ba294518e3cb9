import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { crc32c, crc32cBytewise, crc32cUpdate } from "./crc32c.ts"

const ascii = (s: string) => new TextEncoder().encode(s)
const filled = (n: number, f: (i: number) => number) => Uint8Array.from({ length: n }, (_, i) => f(i))

/** CRC32C one bit at a time, from the polynomial alone: a reference sharing nothing with the tables. */
const bitwiseUpdate = (crc: number, data: Uint8Array): number => {
  let c = ~crc
  for (const byte of data) {
    c ^= byte
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1
  }
  return ~c >>> 0
}

describe("crc32c", () => {
  it("matches the standard check value", () => {
    expect(crc32c(ascii("123456789"))).toBe(0xe3069283)
  })

  it("matches the RFC 3720 B.4 test patterns", () => {
    expect(crc32c(filled(32, () => 0))).toBe(0x8a9136aa)
    expect(crc32c(filled(32, () => 0xff))).toBe(0x62a8ab43)
    expect(crc32c(filled(32, (i) => i))).toBe(0x46dd794e)
    expect(crc32c(filled(32, (i) => 31 - i))).toBe(0x113fdb5c)
  })

  it("is the CRC of nothing for an empty input", () => {
    expect(crc32c(new Uint8Array(0))).toBe(0)
  })

  it("the sliced loop agrees with the bytewise loop at every length and alignment", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(40), (data, cut) => {
        const start = Math.min(cut, data.length)
        expect(crc32c(data, start)).toBe(crc32cBytewise(data.subarray(start)))
      })
    )
  })

  it("the word loop agrees with a bitwise CRC on long ranges, at every offset in the buffer", () => {
    // Ranges from 256 bytes are read as 32-bit words from a 4-byte boundary of the underlying buffer:
    // vary where the view starts in its buffer, where the range starts in the view, and its length.
    const buffer = filled(4200, (i) => (i * 131 + (i >> 7)) & 0xff)
    fc.assert(
      fc.property(fc.nat(7), fc.nat(9), fc.integer({ min: 200, max: 4000 }), fc.nat(0xffffffff), (viewAt, start, length, seed) => {
        const view = buffer.subarray(viewAt)
        const end = Math.min(view.length, start + length)
        expect(crc32cUpdate(seed, view, start, end)).toBe(bitwiseUpdate(seed, view.subarray(start, end)))
      })
    )
  })

  it("composes: the CRC of a then b is crc32cUpdate(crc(a), b)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), fc.uint8Array({ maxLength: 100 }), (a, b) => {
        const joined = new Uint8Array(a.length + b.length)
        joined.set(a)
        joined.set(b, a.length)
        expect(crc32cUpdate(crc32c(a), b)).toBe(crc32c(joined))
      })
    )
  })

  it("detects every single-bit flip", () => {
    const data = filled(64, (i) => (i * 37) & 0xff)
    const good = crc32c(data)
    for (let bit = 0; bit < data.length * 8; bit++) {
      const flipped = data.slice()
      flipped[bit >> 3]! ^= 1 << (bit & 7)
      expect(crc32c(flipped)).not.toBe(good)
    }
  })
})
