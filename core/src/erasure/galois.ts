/**
 * Arithmetic in GF(2^8) with the reducing polynomial x^8+x^4+x^3+x^2+1
 * (0x11D) and generator 2: the field of Backblaze's JavaReedSolomon and
 * klauspost/reedsolomon, so that matrices and shards match theirs byte for
 * byte. Addition is XOR; multiplication goes through log/exp tables, built
 * once at load (pure computation).
 */
import { assert } from "../invariant/invariant.ts"

/** The reducing polynomial, with the x^8 term. */
export const FIELD_POLYNOMIAL = 0x11d

/** `EXP[i] = 2^i` for i in [0, 510): doubled so `EXP[log a + log b]` needs no modulo. */
const EXP = new Uint8Array(510)
/** `LOG[a]` for a in [1, 256); `LOG[0]` is unused (log 0 is undefined). */
const LOG = new Uint8Array(256)

{
  let x = 1
  for (let i = 0; i < 255; i++) {
    EXP[i] = x
    EXP[i + 255] = x
    LOG[x] = i
    x <<= 1
    if (x & 0x100) x ^= FIELD_POLYNOMIAL
  }
  assert(x === 1, "2 must generate the multiplicative group of GF(2^8)/0x11D")
}

/**
 * The full 256×256 product table: row `a` (256 bytes from `a * 256`) maps
 * every byte `b` to `a·b`. The scalar kernel multiplies a shard by a constant
 * with one lookup per byte through such a row.
 */
export const MUL_TABLE: Uint8Array = (() => {
  const table = new Uint8Array(256 * 256)
  for (let a = 1; a < 256; a++) {
    const logA = LOG[a]!
    for (let b = 1; b < 256; b++) table[a * 256 + b] = EXP[logA + LOG[b]!]!
  }
  return table
})()

/** a·b in GF(2^8). */
export const gfMul = (a: number, b: number): number => MUL_TABLE[((a & 0xff) << 8) | (b & 0xff)]!

/** a/b in GF(2^8); b must not be 0. */
export const gfDiv = (a: number, b: number): number => {
  assert(b !== 0, "division by zero in GF(2^8)")
  if (a === 0) return 0
  return EXP[LOG[a]! + 255 - LOG[b]!]!
}

/** The multiplicative inverse of a (a ≠ 0). */
export const gfInv = (a: number): number => gfDiv(1, a)

/**
 * a^n for n ≥ 0, with klauspost's convention `0^0 = 1` (it sets the first
 * column of the Vandermonde matrix to ones, including row 0).
 */
export const gfExp = (a: number, n: number): number => {
  assert(Number.isInteger(n) && n >= 0, "gfExp: exponent must be a non-negative integer")
  if (n === 0) return 1
  if (a === 0) return 0
  return EXP[(LOG[a]! * n) % 255]!
}
