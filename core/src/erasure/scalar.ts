/**
 * The scalar reference kernel: a matrix of GF(2^8) coefficients times a
 * column of shards, one table lookup per byte and coefficient. Slow (about
 * 0.1 GB/s) but obviously right; the SIMD kernel is tested against it and
 * falls back to it where WebAssembly SIMD is unavailable.
 */
import { MUL_TABLE } from "./galois.ts"

/**
 * For each row r: `outputs[r][b] = XOR_i coefficients[r * inputs.length + i] · inputs[i][b]`
 * for b in [start, end). Outputs are overwritten, not accumulated.
 */
export const mulMatrixScalar = (
  coefficients: Uint8Array,
  inputs: ReadonlyArray<Uint8Array>,
  outputs: ReadonlyArray<Uint8Array>,
  start: number,
  end: number
): void => {
  const k = inputs.length
  for (let r = 0; r < outputs.length; r++) {
    const out = outputs[r]!
    let first = true
    for (let i = 0; i < k; i++) {
      const c = coefficients[r * k + i]!
      if (c === 0) continue
      const input = inputs[i]!
      if (c === 1) {
        if (first) out.set(input.subarray(start, end), start)
        else for (let b = start; b < end; b++) out[b]! ^= input[b]!
      } else {
        const row = MUL_TABLE.subarray(c << 8, (c + 1) << 8)
        if (first) for (let b = start; b < end; b++) out[b] = row[input[b]!]!
        else for (let b = start; b < end; b++) out[b]! ^= row[input[b]!]!
      }
      first = false
    }
    if (first) out.fill(0, start, end)
  }
}
