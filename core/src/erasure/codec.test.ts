/**
 * The codec: klauspost/Backblaze's published vectors, round trips with
 * erasures for every k+m from 2+1 to 16+4, and typed errors for bad input.
 * Each check runs on both kernels.
 */
import { Effect, Exit } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import {
  allocateShards,
  type Codec,
  encode,
  encodeEffect,
  InvalidCodecParameters,
  makeCodec,
  reconstruct,
  reconstructData,
  reconstructInPlace,
  ShardCountMismatch,
  ShardSizeMismatch,
  simdSupport,
  TooFewShards,
  verify
} from "./index.ts"
import { mulMatrixScalar } from "./scalar.ts"
import { makeSimdKernel } from "./simd.ts"

const simdKernel = makeSimdKernel()!

const kernels = ["scalar", "wasm-simd"] as const

const bytes = (...values: ReadonlyArray<number>) => Uint8Array.from(values)
const clone = (shards: ReadonlyArray<Uint8Array>) => shards.map((s) => s.slice())
const asArrays = (shards: ReadonlyArray<Uint8Array | null>) => shards.map((s) => (s === null ? null : [...s]))

/** "" when the shard lists are byte-identical, else where they first differ (fast on large shards). */
const difference = (actual: ReadonlyArray<Uint8Array | null>, expected: ReadonlyArray<Uint8Array | null>): string => {
  if (actual.length !== expected.length) return `${actual.length} shards, expected ${expected.length}`
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i]
    const e = expected[i]
    if (a == null || e == null) {
      if (a != e) return `shard ${i}: ${a == null ? "missing" : "unexpected"}`
      continue
    }
    if (a.length !== e.length) return `shard ${i}: ${a.length} bytes, expected ${e.length}`
    for (let b = 0; b < a.length; b++) if (a[b] !== e[b]) return `shard ${i} byte ${b}: ${a[b]}, expected ${e[b]}`
  }
  return ""
}

/** Deterministic filler (a 32-bit LCG) so failures reproduce. */
const filled = (length: number, seed: number): Uint8Array => {
  const out = new Uint8Array(length)
  let x = (seed * 2654435761 + 1) >>> 0
  for (let i = 0; i < length; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0
    out[i] = x >>> 24
  }
  return out
}

describe("the runtime under test", () => {
  it("has WebAssembly SIMD, so the wasm-simd cases below really run the fast path", () => {
    expect(simdSupport).toBeDefined()
    expect(makeCodec(4, 2).kernel).toBe("wasm-simd")
    expect(makeCodec(4, 2, { kernel: "scalar" }).kernel).toBe("scalar")
  })
})

describe.each(kernels)("Reed-Solomon with the %s kernel", (kernel) => {
  const codec = (k: number, m: number): Codec => makeCodec(k, m, { kernel })

  it("reproduces klauspost's and Backblaze's TestOneEncode (5+5)", () => {
    const c = codec(5, 5)
    const data = [bytes(0, 1), bytes(4, 5), bytes(2, 3), bytes(6, 7), bytes(8, 9)]
    const shards = encode(c, [...data, null, null, null, null, null])
    expect(asArrays(shards.slice(5))).toEqual([[12, 13], [10, 11], [14, 15], [90, 91], [94, 95]])
    expect(verify(c, shards)).toBe(true)
    shards[8]![0]! += 1
    expect(verify(c, shards)).toBe(false)
  })

  it("writes parity into the buffers given and leaves the data untouched", () => {
    const c = codec(5, 5)
    const data = [bytes(0, 1), bytes(4, 5), bytes(2, 3), bytes(6, 7), bytes(8, 9)]
    const parity = Array.from({ length: 5 }, () => bytes(0xaa, 0x55))
    const shards = encode(c, [...data, ...parity])
    expect(shards[5]).toBe(parity[0])
    expect([...parity[3]!]).toEqual([90, 91])
    expect(asArrays(shards.slice(0, 5))).toEqual([[0, 1], [4, 5], [2, 3], [6, 7], [8, 9]])
  })

  it("rebuilds TestOneEncode's shards from every choice of 5 survivors (Backblaze's runEncodeDecode)", () => {
    const c = codec(5, 5)
    const full = encode(c, [bytes(0, 1), bytes(1, 2), bytes(1, 3), bytes(2, 4), bytes(3, 5), null, null, null, null, null])
    let patterns = 0
    for (let mask = 0; mask < 1 << 10; mask++) {
      const missing = Array.from({ length: 10 }, (_, i) => (mask >> i) & 1)
      const lost = missing.reduce((a, b) => a + b, 0)
      if (lost > 5) continue
      const damaged = full.map((s, i) => (missing[i] ? null : s))
      expect(asArrays(reconstruct(c, damaged))).toEqual(asArrays(full))
      patterns++
    }
    expect(patterns).toBe(638) // sum of C(10, j) for j = 0..5
  })

  it("agrees with klauspost's galMulSlice vectors (34 bytes: a whole SIMD step plus a tail)", () => {
    // galMulSlice(c, in) is a 1×1 matrix; galMulSliceXor adds a second input, here the same slice.
    const input = bytes(0, 1, 2, 3, 4, 5, 6, 10, 50, 100, 150, 174, 201, 255, 99, 32, 67, 85, 200, 199, 198, 197, 196, 195, 194, 193, 192, 191, 190, 189, 188, 187, 186, 185)
    const times25 = [0x0, 0x19, 0x32, 0x2b, 0x64, 0x7d, 0x56, 0xfa, 0xb8, 0x6d, 0xc7, 0x85, 0xc3, 0x1f, 0x22, 0x7, 0x25, 0xfe, 0xda, 0x5d, 0x44, 0x6f, 0x76, 0x39, 0x20, 0xb, 0x12, 0x11, 0x8, 0x23, 0x3a, 0x75, 0x6c, 0x47]
    const times25xor52 = [0x0, 0x2d, 0x5a, 0x77, 0xb4, 0x99, 0xee, 0x2f, 0x79, 0xf2, 0x7, 0x51, 0xd4, 0x19, 0x31, 0xc9, 0xf8, 0xfc, 0xf9, 0x4f, 0x62, 0x15, 0x38, 0xfb, 0xd6, 0xa1, 0x8c, 0x96, 0xbb, 0xcc, 0xe1, 0x22, 0xf, 0x78]
    const times177 = [0x0, 0xb1, 0x7f, 0xce, 0xfe, 0x4f, 0x81, 0x9e, 0x3, 0x6, 0xe8, 0x75, 0xbd, 0x40, 0x36, 0xa3, 0x95, 0xcb, 0xc, 0xdd, 0x6c, 0xa2, 0x13, 0x23, 0x92, 0x5c, 0xed, 0x1b, 0xaa, 0x64, 0xd5, 0xe5, 0x54, 0x9a]
    const times177xor117 = [0x0, 0xc4, 0x95, 0x51, 0x37, 0xf3, 0xa2, 0xfb, 0xec, 0xc5, 0xd0, 0xc7, 0x53, 0x88, 0xa3, 0xa5, 0x6, 0x78, 0x97, 0x9f, 0x5b, 0xa, 0xce, 0xa8, 0x6c, 0x3d, 0xf9, 0xdf, 0x1b, 0x4a, 0x8e, 0xe8, 0x2c, 0x7d]
    const mul = matrixProduct(kernel)
    expect([...mul(bytes(25), [input])]).toEqual(times25)
    expect([...mul(bytes(25, 52), [input, input])]).toEqual(times25xor52)
    expect([...mul(bytes(177), [input])]).toEqual(times177)
    expect([...mul(bytes(177, 117), [input, input])]).toEqual(times177xor117)
  })

  it("round-trips every k+m from 2+1 to 16+4 with random erasures of up to m shards", () => {
    let cases = 0
    for (let k = 2; k <= 16; k++) {
      for (let m = 1; m <= 4; m++) {
        const c = codec(k, m)
        // Sizes around the SIMD step (32 bytes) and across chunk boundaries.
        for (const size of [1, 31, 32, 33, 1000, 70_001]) {
          if (size > 1000 && (k + m) % 5 !== 0) continue
          const data = Array.from({ length: k }, (_, i) => filled(size, k * 1000 + m * 100 + i + size))
          const full = encode(c, [...data, ...new Array<null>(m).fill(null)])
          expect(verify(c, full)).toBe(true)
          fc.assert(
            fc.property(fc.shuffledSubarray([...Array(k + m).keys()], { minLength: 1, maxLength: m }), (lost) => {
              const damaged = full.map((s, i) => (lost.includes(i) ? null : s))
              const rebuilt = reconstruct(c, damaged)
              expect(difference(rebuilt, full)).toBe("")
              const dataOnly = reconstructData(c, damaged)
              expect(difference(dataOnly.slice(0, k), full.slice(0, k))).toBe("")
              for (const i of lost) if (i >= k) expect(dataOnly[i]).toBeNull()
            }),
            { numRuns: size > 1000 ? 3 : 8, seed: k * 31 + m }
          )
          cases++
        }
      }
    }
    expect(cases).toBeGreaterThan(15 * 4 * 5)
  })

  it("rebuilds a 64+64 code (Backblaze's testBigEncodeDecode) with 64 shards lost", () => {
    const c = codec(64, 64)
    const data = Array.from({ length: 64 }, (_, i) => filled(200, i))
    const full = encode(c, [...data, ...new Array<null>(64).fill(null)])
    for (const lost of [
      [...Array(64).keys()], // every data shard
      [...Array(64).keys()].map((i) => i * 2), // every other shard
      [...Array(64).keys()].map((i) => 127 - i) // every parity shard
    ]) {
      const damaged = full.map((s, i) => (lost.includes(i) ? null : s))
      expect(asArrays(reconstruct(c, damaged))).toEqual(asArrays(full))
    }
  })

  it("works at the edges of the shard counts: 1+1, 1+255, 255+1, 200+56", () => {
    for (const [k, m] of [[1, 1], [1, 255], [255, 1], [200, 56]] as const) {
      const c = codec(k, m)
      const data = Array.from({ length: k }, (_, i) => filled(100, i + k))
      const full = encode(c, [...data, ...new Array<null>(m).fill(null)])
      const lost = Array.from({ length: m }, (_, i) => (i * 37) % (k + m))
      expect(new Set(lost).size).toBe(m)
      expect(difference(reconstruct(c, full.map((s, i) => (lost.includes(i) ? null : s))), full)).toBe("")
      if (kernel === "wasm-simd") {
        const scalar = encode(makeCodec(k, m, { kernel: "scalar" }), [...data, ...new Array<null>(m).fill(null)])
        expect(difference(full, scalar)).toBe("")
      }
    }
  })

  it("verify catches a change in any shard, data or parity", () => {
    const c = codec(10, 4)
    const full = encode(c, [...Array.from({ length: 10 }, (_, i) => filled(4097, i)), null, null, null, null])
    expect(verify(c, full)).toBe(true)
    for (let i = 0; i < 14; i++) {
      const bad = clone(full)
      bad[i]![4096 - i * 100]! ^= 1
      expect(verify(c, bad)).toBe(false)
    }
  })

  it("codes shards allocated in the kernel's memory in place, with the same bytes", () => {
    const c = codec(10, 4)
    const shards = allocateShards(c, 5000)
    expect(shards).toHaveLength(14)
    for (let i = 0; i < 10; i++) shards[i]!.set(filled(5000, 77 + i))
    const parityBuffers = shards.slice(10)
    const encoded = encode(c, shards)
    expect(encoded[10]).toBe(parityBuffers[0])
    const reference = encode(makeCodec(10, 4, { kernel: "scalar" }), [...clone(shards.slice(0, 10)), null, null, null, null])
    expect(asArrays(encoded)).toEqual(asArrays(reference))
    expect(verify(c, encoded)).toBe(true)
    const rebuilt = reconstruct(c, encoded.map((s, i) => (i === 3 || i === 12 ? null : s)))
    expect(asArrays(rebuilt)).toEqual(asArrays(reference))
    // In place: scribble over two shards, then rebuild them where they are.
    shards[3]!.fill(0xee)
    shards[12]!.fill(0x11)
    reconstructInPlace(c, shards, shards.map((_, i) => i !== 3 && i !== 12))
    expect(difference(shards, reference)).toBe("")
  })

  it("reconstructs in place into ordinary buffers, touching only the missing ones", () => {
    const c = codec(6, 3)
    const full = encode(c, [...Array.from({ length: 6 }, (_, i) => filled(999, 40 + i)), null, null, null])
    const work = clone(full)
    for (const i of [0, 4, 7]) work[i]!.fill(i)
    const untouched = work[1]!
    reconstructInPlace(c, work, work.map((_, i) => ![0, 4, 7].includes(i)))
    expect(difference(work, full)).toBe("")
    expect(work[1]).toBe(untouched)
    // Nothing marked missing: nothing changes, even if a "present" shard is wrong.
    work[2]![0]! ^= 0xff
    reconstructInPlace(c, work, work.map(() => true))
    expect(work[2]![0]).toBe(full[2]![0]! ^ 0xff)
  })

  it("handles empty shards", () => {
    const c = codec(2, 1)
    const full = encode(c, [new Uint8Array(0), new Uint8Array(0), null])
    expect(full[2]).toHaveLength(0)
    expect(verify(c, full)).toBe(true)
    expect(reconstruct(c, [null, full[1]!, full[2]!])[0]).toHaveLength(0)
  })
})

/** out = Σ coefficients[i] · inputs[i] through the named kernel. */
const matrixProduct = (kernel: (typeof kernels)[number]) => (coefficients: Uint8Array, inputs: ReadonlyArray<Uint8Array>) => {
  const out = new Uint8Array(inputs[0]!.length)
  if (kernel === "scalar") mulMatrixScalar(coefficients, inputs, [out], 0, out.length)
  else simdKernel.mulMatrix(coefficients, inputs, [out])
  return out
}

describe("bad input gives typed errors", () => {
  it("rejects bad shard counts when making a codec", () => {
    for (const [k, m] of [[0, 1], [1, 0], [-1, 2], [2.5, 1], [4, Number.NaN], [200, 57], [256, 1]]) {
      expect(() => makeCodec(k!, m!)).toThrow(InvalidCodecParameters)
    }
    expect(makeCodec(255, 1).totalShards).toBe(256)
    expect(makeCodec(2, 1).totalShards).toBe(3)
  })

  it("rejects the wrong number of shards", () => {
    const c = makeCodec(4, 2)
    const shards = Array.from({ length: 5 }, () => new Uint8Array(8))
    expect(() => encode(c, shards)).toThrow(ShardCountMismatch)
    expect(() => verify(c, shards)).toThrow(ShardCountMismatch)
    expect(() => reconstruct(c, shards)).toThrow(ShardCountMismatch)
    expect(() => reconstructData(c, [...shards, new Uint8Array(8), null])).toThrow(ShardCountMismatch)
  })

  it("rejects shards of different sizes, naming the odd one", () => {
    const c = makeCodec(4, 2)
    const shards: Array<Uint8Array | null> = [8, 8, 9, 8, 8, 8].map((n) => new Uint8Array(n))
    expect(() => encode(c, shards)).toThrow(ShardSizeMismatch)
    try {
      reconstruct(c, shards)
      expect.unreachable()
    } catch (error) {
      expect(error).toBeInstanceOf(ShardSizeMismatch)
      expect((error as ShardSizeMismatch).index).toBe(2)
    }
    // A parity buffer of the wrong size is rejected too, not silently resized.
    expect(() => encode(c, [...[8, 8, 8, 8].map((n) => new Uint8Array(n)), new Uint8Array(7), null])).toThrow(ShardSizeMismatch)
  })

  it("rejects too few shards", () => {
    const c = makeCodec(4, 2)
    const full = encode(c, [...Array.from({ length: 4 }, (_, i) => filled(16, i)), null, null])
    expect(() => reconstruct(c, [null, null, null, full[3]!, full[4]!, full[5]!])).toThrow(TooFewShards)
    expect(() => reconstructData(c, [null, full[1]!, null, full[3]!, null, full[5]!])).toThrow(TooFewShards)
    expect(() => encode(c, [full[0]!, null, full[2]!, full[3]!, null, null])).toThrow(TooFewShards)
    expect(() => verify(c, [...full.slice(0, 5), null])).toThrow(TooFewShards)
    expect(() => reconstructInPlace(c, full, [true, true, true, false, false, false])).toThrow(TooFewShards)
    expect(() => reconstructInPlace(c, full, [true, true, true, true, true])).toThrow(ShardCountMismatch)
    // Exactly k survivors is enough.
    expect(asArrays(reconstruct(c, [null, full[1]!, null, full[3]!, full[4]!, full[5]!]))).toEqual(asArrays(full))
  })

  it("the Effect wrapper puts typed errors in the error channel", () => {
    const c = makeCodec(2, 1)
    const exit = Effect.runSyncExit(encodeEffect(c, [new Uint8Array(1), null, null]))
    expect(Exit.isFailure(exit)).toBe(true)
    if (Exit.isFailure(exit)) expect(JSON.stringify(exit.cause)).toContain("TooFewShards")
    const ok = Effect.runSync(encodeEffect(c, [bytes(1), bytes(2), null]))
    // klauspost's 2+1 parity row is [3, 2] (not plain XOR): 3·1 ⊕ 2·2 = 3 ⊕ 4.
    expect([...ok[2]!]).toEqual([7])
  })
})
