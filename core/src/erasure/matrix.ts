/**
 * Small dense matrices over GF(2^8), row-major in one Uint8Array, and the
 * klauspost/Backblaze encoding matrix: the (k+m)×k Vandermonde matrix with
 * entry (r, c) = r^c, multiplied on the right by the inverse of its top k×k
 * square so that its top is the identity (a systematic code). Any k of its
 * rows stay invertible, so any k shards rebuild the data.
 */
import { assert } from "../invariant/invariant.ts"
import { gfExp, gfInv, gfMul } from "./galois.ts"

export interface Matrix {
  readonly rows: number
  readonly cols: number
  /** Row-major entries: (r, c) is at `r * cols + c`. */
  readonly data: Uint8Array
}

export const makeMatrix = (rows: number, cols: number, data?: Uint8Array): Matrix => {
  assert(rows > 0 && cols > 0, "matrix dimensions must be positive")
  const entries = data ?? new Uint8Array(rows * cols)
  assert(entries.length === rows * cols, "matrix data length must be rows * cols")
  return { rows, cols, data: entries }
}

export const identityMatrix = (size: number): Matrix => {
  const m = makeMatrix(size, size)
  for (let i = 0; i < size; i++) m.data[i * size + i] = 1
  return m
}

export const matrixEntry = (m: Matrix, r: number, c: number): number => m.data[r * m.cols + c]!

export const multiplyMatrices = (left: Matrix, right: Matrix): Matrix => {
  assert(left.cols === right.rows, "matrix product: left columns must equal right rows")
  const out = makeMatrix(left.rows, right.cols)
  for (let r = 0; r < left.rows; r++) {
    for (let c = 0; c < right.cols; c++) {
      let v = 0
      for (let i = 0; i < left.cols; i++) v ^= gfMul(left.data[r * left.cols + i]!, right.data[i * right.cols + c]!)
      out.data[r * out.cols + c] = v
    }
  }
  return out
}

/** The rows listed in `rows` (in that order), as a new matrix. */
export const selectRows = (m: Matrix, rows: ReadonlyArray<number>): Matrix => {
  const out = makeMatrix(rows.length, m.cols)
  rows.forEach((r, i) => {
    assert(r >= 0 && r < m.rows, "selectRows: row out of range")
    out.data.set(m.data.subarray(r * m.cols, (r + 1) * m.cols), i * m.cols)
  })
  return out
}

/** The inverse of a square matrix by Gauss-Jordan elimination, or `undefined` if it is singular. */
export const invertMatrix = (m: Matrix): Matrix | undefined => {
  assert(m.rows === m.cols, "only square matrices can be inverted")
  const n = m.rows
  const width = 2 * n
  // The augmented matrix [m | I], reduced in place to [I | m^-1].
  const work = new Uint8Array(n * width)
  for (let r = 0; r < n; r++) {
    work.set(m.data.subarray(r * n, (r + 1) * n), r * width)
    work[r * width + n + r] = 1
  }
  for (let col = 0; col < n; col++) {
    let pivot = col
    while (pivot < n && work[pivot * width + col] === 0) pivot++
    if (pivot === n) return undefined
    if (pivot !== col) {
      const tmp = work.slice(col * width, (col + 1) * width)
      work.copyWithin(col * width, pivot * width, (pivot + 1) * width)
      work.set(tmp, pivot * width)
    }
    const scale = gfInv(work[col * width + col]!)
    if (scale !== 1) for (let c = 0; c < width; c++) work[col * width + c] = gfMul(work[col * width + c]!, scale)
    for (let r = 0; r < n; r++) {
      const factor = r === col ? 0 : work[r * width + col]!
      if (factor === 0) continue
      for (let c = 0; c < width; c++) work[r * width + c]! ^= gfMul(factor, work[col * width + c]!)
    }
  }
  const out = makeMatrix(n, n)
  for (let r = 0; r < n; r++) out.data.set(work.subarray(r * width + n, (r + 1) * width), r * n)
  return out
}

/** The rows×cols Vandermonde matrix with entry (r, c) = r^c (klauspost's `vandermonde`). */
export const vandermondeMatrix = (rows: number, cols: number): Matrix => {
  assert(rows <= 256, "a GF(2^8) Vandermonde matrix has at most 256 distinct rows")
  const m = makeMatrix(rows, cols)
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) m.data[r * cols + c] = gfExp(r, c)
  return m
}

/**
 * The systematic (k+m)×k encoding matrix of klauspost/reedsolomon's default
 * `New(k, m)`: V · (V_top)^-1 where V is the (k+m)×k Vandermonde matrix.
 * Rows 0..k-1 are the identity; rows k..k+m-1 produce the parity shards.
 */
export const encodingMatrix = (dataShards: number, parityShards: number): Matrix => {
  const total = dataShards + parityShards
  const v = vandermondeMatrix(total, dataShards)
  const topInverse = invertMatrix(selectRows(v, Array.from({ length: dataShards }, (_, i) => i)))
  assert(topInverse !== undefined, "the top square of a Vandermonde matrix is invertible")
  return multiplyMatrices(v, topInverse)
}
