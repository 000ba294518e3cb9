import { crc32c, crc32cUpdate } from "@cairn/core/checksum/crc32c"
import { Crc32c, pureCrc32c } from "@cairn/core/checksum/crc32c-service"
import { crc32c as addonCrc32c } from "@node-rs/crc32"
import { Effect } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { crc32cOver, NATIVE_FROM_BYTES, nativeCrc32c, NativeCrc32cLive } from "./native-crc32c.ts"

const ascii = (s: string) => new TextEncoder().encode(s)
/** The addon on every length, with no pure short cut: what the properties below must hold for. */
const alwaysNative = (() => {
  const shape = crc32cOver(addonCrc32c)
  return {
    update: (crc: number, data: Uint8Array, start = 0, end = data.length) => addonCrc32c(data.subarray(start, end), crc >>> 0),
    shape
  }
})()

/** A buffer with `start` bytes before and `tail` after `body`, so ranges start at any alignment. */
const framed = fc.record({ body: fc.uint8Array({ maxLength: 3000 }), start: fc.nat(17), tail: fc.nat(9) }).map(({ body, start, tail }) => {
  const data = new Uint8Array(start + body.length + tail).fill(0xa5)
  data.set(body, start)
  return { data, start, end: start + body.length }
})

describe("native CRC32C", () => {
  it("is the addon on this machine, not the fallback", () => {
    expect(nativeCrc32c.implementation).toBe("native")
  })

  it("matches the standard check value, whole and as a sub-range", () => {
    expect(nativeCrc32c.crc32c(ascii("123456789"))).toBe(0xe3069283)
    expect(alwaysNative.update(0, ascii("123456789"))).toBe(0xe3069283)
    const padded = ascii("xx123456789yyy")
    expect(alwaysNative.update(0, padded, 2, 11)).toBe(0xe3069283)
    expect(nativeCrc32c.crc32c(padded, 2, 11)).toBe(0xe3069283)
  })

  it("the addon agrees with the pure loop at every length, alignment and seed", () => {
    fc.assert(
      fc.property(framed, fc.integer({ min: 0, max: 0xffffffff }), ({ data, start, end }, seed) => {
        expect(alwaysNative.update(seed, data, start, end)).toBe(crc32cUpdate(seed, data, start, end))
        expect(alwaysNative.update(0, data, start, end)).toBe(crc32c(data, start, end))
      }),
      { numRuns: 500 }
    )
  })

  it("the service shape agrees with the pure one on both sides of the native threshold", () => {
    const lengths = fc.integer({ min: 0, max: 4 * NATIVE_FROM_BYTES })
    fc.assert(
      fc.property(lengths, fc.nat(15), fc.integer({ min: 0, max: 0xffffffff }), fc.integer(), (n, start, seed, fill) => {
        const data = Uint8Array.from({ length: start + n + 3 }, (_, i) => (i * 31 + fill) & 255)
        for (const shape of [nativeCrc32c, alwaysNative.shape]) {
          expect(shape.crc32cUpdate(seed, data, start, start + n)).toBe(pureCrc32c.crc32cUpdate(seed, data, start, start + n))
          expect(shape.crc32c(data, start, start + n)).toBe(pureCrc32c.crc32c(data, start, start + n))
        }
        expect(nativeCrc32c.crc32c(data)).toBe(crc32c(data))
      }),
      { numRuns: 500 }
    )
  })

  it("a running seed composes: update(update(0, a), b) is the CRC of a then b", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), fc.uint8Array({ maxLength: 2000 }), (a, b) => {
        const joined = new Uint8Array(a.length + b.length)
        joined.set(a)
        joined.set(b, a.length)
        expect(nativeCrc32c.crc32cUpdate(nativeCrc32c.crc32c(a), b)).toBe(crc32c(joined))
        expect(alwaysNative.update(alwaysNative.update(0, a), b)).toBe(crc32c(joined))
      }),
      { numRuns: 200 }
    )
  })

  it("detects a flipped bit (so the agreement above is not two broken functions agreeing)", () => {
    const data = Uint8Array.from({ length: 4096 }, (_, i) => i & 255)
    const before = nativeCrc32c.crc32c(data)
    data[1234]! ^= 0x10
    expect(nativeCrc32c.crc32c(data)).not.toBe(before)
    expect(nativeCrc32c.crc32c(data)).toBe(crc32c(data))
  })

  it("the layer binds it, and without the layer the service is the pure default", () => {
    const read = Crc32c.useSync((checksum) => checksum.implementation)
    expect(Effect.runSync(Effect.provide(read, NativeCrc32cLive))).toBe("native")
    expect(Effect.runSync(read)).toBe("pure")
  })
})
