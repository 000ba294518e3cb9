/**
 * The generated WebAssembly SIMD kernel must agree with the scalar reference
 * on every input: random coefficient matrices (zeros and ones included),
 * shard lengths around the vector step and chunk size, every kernel variant,
 * through both the copying and the in-place (arena) paths.
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { mulMatrixScalar } from "./scalar.ts"
import { makeSimdKernel, simdSupport } from "./simd.ts"

const variants = [
  { vectors: 1, relaxed: false, rowsPerPass: 1 },
  { vectors: 1, relaxed: false, rowsPerPass: 4 },
  { vectors: 2, relaxed: false, rowsPerPass: 3 },
  { vectors: 2, relaxed: true, rowsPerPass: 4 },
  { vectors: 4, relaxed: true, rowsPerPass: 6 }
]

const problem = fc
  .record({ k: fc.integer({ min: 1, max: 20 }), o: fc.integer({ min: 1, max: 10 }), length: fc.integer({ min: 0, max: 300 }) })
  .chain(({ k, o, length }) =>
    fc.record({
      coefficients: fc.uint8Array({
        minLength: k * o,
        maxLength: k * o,
        // Bias towards 0 and 1, the coefficients with special cases in the scalar kernel.
        min: 0,
        max: 255
      }).map((c) => c.map((x) => (x < 24 ? x % 2 : x))),
      inputs: fc.array(fc.uint8Array({ minLength: length, maxLength: length }), { minLength: k, maxLength: k }),
      o: fc.constant(o),
      // Longer shards to cross the copy path's chunk boundary, decided per run.
      stretch: fc.constantFrom(1, 1, 1, 700)
    })
  )

const stretched = (inputs: ReadonlyArray<Uint8Array>, times: number): Array<Uint8Array> =>
  inputs.map((s) => {
    if (times === 1 || s.length === 0) return s
    const out = new Uint8Array(s.length * times + 5)
    for (let i = 0; i < out.length; i++) out[i] = s[i % s.length]! ^ (i >>> 8)
    return out
  })

const reference = (coefficients: Uint8Array, inputs: ReadonlyArray<Uint8Array>, o: number): Array<Uint8Array> => {
  const length = inputs[0]!.length
  const outputs = Array.from({ length: o }, () => new Uint8Array(length))
  mulMatrixScalar(coefficients, inputs, outputs, 0, length)
  return outputs
}

const firstDifference = (a: ReadonlyArray<Uint8Array>, b: ReadonlyArray<Uint8Array>): string => {
  for (let r = 0; r < a.length; r++) {
    for (let i = 0; i < a[r]!.length; i++) if (a[r]![i] !== b[r]![i]) return `row ${r} byte ${i}`
  }
  return ""
}

describe("wasm SIMD kernel", () => {
  it("is available here (so these properties do not pass vacuously)", () => {
    expect(simdSupport).toBeDefined()
    expect(makeSimdKernel()).toBeDefined()
  })

  it.each(variants)("agrees with the scalar reference (vectors $vectors, relaxed $relaxed, $rowsPerPass rows per pass)", (variant) => {
    const kernel = makeSimdKernel(variant)!
    fc.assert(
      fc.property(problem, ({ coefficients, inputs, o, stretch }) => {
        const shards = stretched(inputs, stretch)
        const length = shards[0]!.length
        const expected = reference(coefficients, shards, o)
        // Pre-fill outputs with junk: the kernel must overwrite, not accumulate.
        const outputs = Array.from({ length: o }, () => new Uint8Array(length).fill(0xa5))
        kernel.mulMatrix(coefficients, shards, outputs)
        expect(firstDifference(outputs, expected)).toBe("")
      }),
      { numRuns: 120, seed: 20260521 + variant.vectors * 10 + variant.rowsPerPass }
    )
  })

  it("agrees with the scalar reference on shards that live in its own memory", () => {
    const kernel = makeSimdKernel()!
    fc.assert(
      fc.property(problem, ({ coefficients, inputs, o }) => {
        const k = inputs.length
        const length = inputs[0]!.length
        const stride = Math.ceil(length / 16) * 16 + 16
        const arena = kernel.allocateArena(k, k * o * 32, stride * (k + o) + 64)
        // Odd offsets: the kernel must not assume aligned shards.
        const at = (i: number) => new Uint8Array(arena.buffer, arena.tableBytes + 3 + i * stride, length)
        const shards = inputs.map((s, i) => {
          const view = at(i)
          view.set(s)
          return view
        })
        const outputs = Array.from({ length: o }, (_, j) => at(k + j).fill(0x5a))
        kernel.mulMatrix(coefficients, shards, outputs)
        expect(firstDifference(outputs, reference(coefficients, inputs, o))).toBe("")
      }),
      { numRuns: 100, seed: 7 }
    )
  })

  it("the comparison catches one wrong bit in the vector part (the property is not vacuous)", () => {
    const kernel = makeSimdKernel()!
    const coefficients = Uint8Array.of(0x53, 0x8e, 0x01, 0x00)
    const inputs = [Uint8Array.from({ length: 100 }, (_, i) => i * 7), Uint8Array.from({ length: 100 }, (_, i) => 255 - i)]
    const outputs = [new Uint8Array(100), new Uint8Array(100)]
    kernel.mulMatrix(coefficients, inputs, outputs)
    const expected = reference(coefficients, inputs, 2)
    expect(firstDifference(outputs, expected)).toBe("")
    outputs[1]![40]! ^= 0x10
    expect(firstDifference(outputs, expected)).toBe("row 1 byte 40")
    // And a kernel given the wrong coefficients disagrees.
    kernel.mulMatrix(Uint8Array.of(0x53, 0x8f, 0x01, 0x00), inputs, outputs)
    expect(firstDifference(outputs, expected)).not.toBe("")
  })
})
