/**
 * The field and matrix arithmetic against the values published in
 * klauspost/reedsolomon's galois_test.go and matrix_test.go (themselves
 * copied from Backblaze's Python prototype), plus the field axioms.
 */
import { describe, expect, it } from "vitest"
import { gfDiv, gfExp, gfInv, gfMul } from "./galois.ts"
import { encodingMatrix, identityMatrix, invertMatrix, makeMatrix, multiplyMatrices, vandermondeMatrix } from "./matrix.ts"

const rowsOf = (m: { rows: number; cols: number; data: Uint8Array }) =>
  Array.from({ length: m.rows }, (_, r) => [...m.data.subarray(r * m.cols, (r + 1) * m.cols)])

describe("GF(2^8) over 0x11D", () => {
  it("matches klauspost's published products and powers", () => {
    expect(gfMul(3, 4)).toBe(12)
    expect(gfMul(7, 7)).toBe(21)
    expect(gfMul(23, 45)).toBe(41)
    expect(gfExp(2, 2)).toBe(4)
    expect(gfExp(5, 20)).toBe(235)
    expect(gfExp(13, 7)).toBe(43)
    // A different polynomial (0x11B, AES) would give 3·0x80 = 0x9B, not 0x9D.
    expect(gfMul(3, 0x80)).toBe(0x9d)
  })

  it("every non-zero element has an inverse, and division undoes multiplication", () => {
    for (let a = 1; a < 256; a++) {
      expect(gfMul(a, gfInv(a))).toBe(1)
      for (let b = 1; b < 256; b += 17) expect(gfDiv(gfMul(a, b), b)).toBe(a)
    }
  })

  it("multiplication is commutative, distributes over XOR and has no zero divisors", () => {
    const failures: Array<string> = []
    for (let a = 0; a < 256; a++) {
      for (let b = 0; b < 256; b++) {
        if (gfMul(a, b) !== gfMul(b, a)) failures.push(`${a}·${b} not commutative`)
        if (a !== 0 && b !== 0 && gfMul(a, b) === 0) failures.push(`${a}·${b} = 0`)
        for (let c = 0; c < 256; c += 37) {
          if (gfMul(a, b ^ c) !== (gfMul(a, b) ^ gfMul(a, c))) failures.push(`${a}·(${b}^${c}) not distributive`)
        }
      }
    }
    expect(failures).toEqual([])
  })

  it("exponentiation is repeated multiplication, with 0^0 = 1", () => {
    const failures: Array<string> = []
    for (let a = 0; a < 256; a++) {
      let power = 1
      for (let n = 0; n < 300; n++) {
        if (gfExp(a, n) !== power) failures.push(`${a}^${n}`)
        power = gfMul(power, a)
      }
    }
    expect(failures).toEqual([])
    expect(gfExp(0, 0)).toBe(1)
  })
})

describe("matrices over GF(2^8)", () => {
  it("multiplies as klauspost's TestMatricMultiply", () => {
    const product = multiplyMatrices(makeMatrix(2, 2, Uint8Array.of(1, 2, 3, 4)), makeMatrix(2, 2, Uint8Array.of(5, 6, 7, 8)))
    expect(rowsOf(product)).toEqual([[11, 22], [19, 42]])
  })

  it("inverts as klauspost's TestMatrixInverse and TestMatrixInverse2", () => {
    const m = makeMatrix(3, 3, Uint8Array.of(56, 23, 98, 3, 100, 200, 45, 201, 123))
    expect(rowsOf(invertMatrix(m)!)).toEqual([[175, 133, 33], [130, 13, 245], [112, 35, 126]])
    const m2 = makeMatrix(5, 5, Uint8Array.of(1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 7, 7, 6, 6, 1))
    expect(rowsOf(invertMatrix(m2)!)).toEqual([
      [1, 0, 0, 0, 0],
      [0, 1, 0, 0, 0],
      [123, 123, 1, 122, 122],
      [0, 0, 1, 0, 0],
      [0, 0, 0, 1, 0]
    ])
  })

  it("reports a singular matrix instead of inverting it", () => {
    expect(invertMatrix(makeMatrix(2, 2, Uint8Array.of(1, 2, 1, 2)))).toBeUndefined()
    expect(invertMatrix(makeMatrix(2, 2, Uint8Array.of(0, 0, 0, 5)))).toBeUndefined()
  })

  it("builds klauspost's Vandermonde matrix with rows r^c", () => {
    expect(rowsOf(vandermondeMatrix(4, 3))).toEqual([
      [1, 0, 0],
      [1, 1, 1],
      [1, 2, 4],
      [1, 3, 5]
    ])
  })

  it("the encoding matrix is systematic and any k of its rows are invertible", () => {
    for (const [k, m] of [[2, 1], [5, 5], [10, 4], [16, 4]] as const) {
      const e = encodingMatrix(k, m)
      expect(rowsOf(e).slice(0, k)).toEqual(rowsOf(identityMatrix(k)))
      // Drop each window of m consecutive rows: the remaining k rows must invert.
      for (let start = 0; start + m <= k + m; start++) {
        const keep = Array.from({ length: k + m }, (_, i) => i).filter((i) => i < start || i >= start + m)
        const sub = makeMatrix(k, k)
        keep.forEach((r, i) => sub.data.set(e.data.subarray(r * k, (r + 1) * k), i * k))
        const inverse = invertMatrix(sub)
        expect(inverse).toBeDefined()
        expect(rowsOf(multiplyMatrices(sub, inverse!))).toEqual(rowsOf(identityMatrix(k)))
      }
    }
  })
})
