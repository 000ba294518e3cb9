/**
 * Emits, as WebAssembly binary bytes, the SIMD kernel that multiplies a
 * GF(2^8) coefficient matrix by a column of shards. Written out here rather
 * than compiled from C or Rust so the build needs no toolchain and every
 * instruction of the hot loop is visible and reviewable.
 *
 * The technique is the split-nibble table shuffle (as in ISA-L, klauspost's
 * SSSE3/AVX2 code and Plank's "Screaming Fast Galois Field Arithmetic"):
 * c·x = c·(x & 0x0F) ⊕ c·(x & 0xF0), and each half has only 16 possible
 * values, so two 16-byte tables per coefficient and two byte shuffles
 * (`i8x16.swizzle`, which is `pshufb`/`tbl`) multiply 16 bytes at once.
 *
 * One module is generated per input count k, fully unrolled over the k
 * inputs, exporting functions `m1`…`mR` that each produce 1…R output rows in
 * one pass: every input vector is loaded and split into nibbles once and
 * reused for all R rows. Signature of `mr`:
 *
 *   (tables, length, in_0 … in_{k-1}, out_0 … out_{r-1}) -> ()
 *
 * - `tables`: address of k·r pairs of 16-byte tables; the pair for input i
 *   and row j is at `tables + (i·r + j)·32` (low-nibble products, then
 *   high-nibble products);
 * - `length`: bytes per shard to process, a multiple of `16 · vectors`;
 * - `in_i`, `out_j`: addresses of the shards in the imported memory `e.m`.
 */
import { assert } from "../invariant/invariant.ts"

export interface KernelShape {
  /** Number of input shards (k), unrolled. */
  readonly inputs: number
  /** Largest number of output rows produced in one pass. */
  readonly maxRows: number
  /** 16-byte vectors per input per loop step (1 or 2): more bytes per step, more registers. */
  readonly vectors: number
  /** Use `i8x16.relaxed_swizzle` (a bare `pshufb`); exact here because every index is in 0..15. */
  readonly relaxed: boolean
}

/** Bytes processed per loop step: `length` passed to a kernel must be a multiple of this. */
export const stepBytes = (shape: KernelShape): number => 16 * shape.vectors

// ---- binary encoding helpers ------------------------------------------------

const uleb = (value: number): Array<number> => {
  assert(Number.isInteger(value) && value >= 0 && value <= 0xffffffff, "uleb: value out of range")
  const out: Array<number> = []
  let v = value
  do {
    let byte = v & 0x7f
    v = Math.floor(v / 128)
    if (v !== 0) byte |= 0x80
    out.push(byte)
  } while (v !== 0)
  return out
}

const sleb = (value: number): Array<number> => {
  assert(Number.isInteger(value) && value >= -0x80000000 && value <= 0x7fffffff, "sleb: value out of range")
  const out: Array<number> = []
  let v = value
  for (;;) {
    const byte = v & 0x7f
    v >>= 7
    if ((v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0)) {
      out.push(byte)
      return out
    }
    out.push(byte | 0x80)
  }
}

const name = (s: string): Array<number> => [...uleb(s.length), ...Array.from(s, (ch) => ch.charCodeAt(0))]

const section = (id: number, body: ReadonlyArray<number>): Array<number> => [id, ...uleb(body.length), ...body]

const vector = (items: ReadonlyArray<ReadonlyArray<number>>): Array<number> => [...uleb(items.length), ...items.flat()]

// Opcodes used (core and SIMD).
const I32 = 0x7f
const V128 = 0x7b
const op = {
  block: 0x02,
  loop: 0x03,
  br: 0x0c,
  brIf: 0x0d,
  end: 0x0b,
  localGet: 0x20,
  localSet: 0x21,
  localTee: 0x22,
  i32Const: 0x41,
  i32GeU: 0x4f,
  i32Add: 0x6a
} as const
const simd = (code: number): Array<number> => [0xfd, ...uleb(code)]
const V128_LOAD = 0x00
const V128_STORE = 0x0b
const V128_CONST = 0x0c
const I8X16_SWIZZLE = 0x0e
const V128_AND = 0x4e
const V128_XOR = 0x51
const I16X8_SHR_U = 0x8d
const I8X16_RELAXED_SWIZZLE = 0x100

/** memarg: alignment hint 0 (shards may sit at any address) and a constant offset. */
const memarg = (offset: number): Array<number> => [0, ...uleb(offset)]

const header = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]

/** The import section entry for memory `e.m` with at least one page. */
const memoryImport = (): Array<number> => [...name("e"), ...name("m"), 0x02, 0x00, ...uleb(1)]

// ---- the kernel -------------------------------------------------------------

const kernelBody = (shape: KernelShape, rows: number): Array<number> => {
  const { inputs: k, vectors: V } = shape
  // Parameters: 0 tables, 1 length, 2.. inputs, then outputs.
  const P_TABLES = 0
  const P_LENGTH = 1
  const pIn = (i: number) => 2 + i
  const pOut = (r: number) => 2 + k + r
  let next = 2 + k + rows
  // Locals: one i32 (offset), then v128s.
  const L_OFF = next++
  const L_MASK = next++
  const L_RAW = next++
  const L_TLO = next++
  const L_THI = next++
  const lLo = (v: number) => next + v
  const lHi = (v: number) => next + V + v
  const lAcc = (r: number, v: number) => next + 2 * V + r * V + v
  const v128Locals = 4 + 2 * V + rows * V

  const swizzle = simd(shape.relaxed ? I8X16_RELAXED_SWIZZLE : I8X16_SWIZZLE)
  const code: Array<number> = []
  const emit = (...bytes: ReadonlyArray<number>) => {
    for (const b of bytes) code.push(b)
  }

  emit(...simd(V128_CONST), ...new Array<number>(16).fill(0x0f), op.localSet, ...uleb(L_MASK))
  emit(op.i32Const, ...sleb(0), op.localSet, ...uleb(L_OFF))
  emit(op.block, 0x40, op.loop, 0x40)
  // while (off < length)
  emit(op.localGet, ...uleb(L_OFF), op.localGet, ...uleb(P_LENGTH), op.i32GeU, op.brIf, 1)
  for (let i = 0; i < k; i++) {
    for (let v = 0; v < V; v++) {
      // raw = load(in_i + off + 16v); lo = raw & 0x0F; hi = (raw >> 4) & 0x0F
      emit(op.localGet, ...uleb(pIn(i)), op.localGet, ...uleb(L_OFF), op.i32Add)
      emit(...simd(V128_LOAD), ...memarg(16 * v), op.localTee, ...uleb(L_RAW))
      emit(op.localGet, ...uleb(L_MASK), ...simd(V128_AND), op.localSet, ...uleb(lLo(v)))
      emit(op.localGet, ...uleb(L_RAW), op.i32Const, ...sleb(4), ...simd(I16X8_SHR_U))
      emit(op.localGet, ...uleb(L_MASK), ...simd(V128_AND), op.localSet, ...uleb(lHi(v)))
    }
    for (let r = 0; r < rows; r++) {
      const tableOffset = (i * rows + r) * 32
      emit(op.localGet, ...uleb(P_TABLES), ...simd(V128_LOAD), ...memarg(tableOffset), op.localSet, ...uleb(L_TLO))
      emit(op.localGet, ...uleb(P_TABLES), ...simd(V128_LOAD), ...memarg(tableOffset + 16), op.localSet, ...uleb(L_THI))
      for (let v = 0; v < V; v++) {
        emit(op.localGet, ...uleb(L_TLO), op.localGet, ...uleb(lLo(v)), ...swizzle)
        emit(op.localGet, ...uleb(L_THI), op.localGet, ...uleb(lHi(v)), ...swizzle)
        emit(...simd(V128_XOR))
        if (i > 0) emit(op.localGet, ...uleb(lAcc(r, v)), ...simd(V128_XOR))
        emit(op.localSet, ...uleb(lAcc(r, v)))
      }
    }
  }
  for (let r = 0; r < rows; r++) {
    for (let v = 0; v < V; v++) {
      emit(op.localGet, ...uleb(pOut(r)), op.localGet, ...uleb(L_OFF), op.i32Add)
      emit(op.localGet, ...uleb(lAcc(r, v)), ...simd(V128_STORE), ...memarg(16 * v))
    }
  }
  emit(op.localGet, ...uleb(L_OFF), op.i32Const, ...sleb(16 * V), op.i32Add, op.localSet, ...uleb(L_OFF))
  emit(op.br, 0, op.end, op.end, op.end)

  const locals = vector([
    [...uleb(1), I32],
    [...uleb(v128Locals), V128]
  ])
  const body = [...locals, ...code]
  return [...uleb(body.length), ...body]
}

/** The binary of the kernel module for `shape`. */
export const kernelModuleBytes = (shape: KernelShape): Uint8Array => {
  assert(shape.inputs >= 1 && shape.inputs <= 256, "kernel: inputs must be in 1..256")
  assert(shape.maxRows >= 1 && shape.maxRows <= 16, "kernel: maxRows must be in 1..16")
  assert(shape.vectors === 1 || shape.vectors === 2 || shape.vectors === 4, "kernel: vectors must be 1, 2 or 4")
  const rowCounts = Array.from({ length: shape.maxRows }, (_, j) => j + 1)
  const types = rowCounts.map((rows) => [0x60, ...vector(new Array(2 + shape.inputs + rows).fill([I32])), ...uleb(0)])
  const bytes = [
    ...header,
    ...section(1, vector(types)),
    ...section(2, vector([memoryImport()])),
    ...section(3, vector(rowCounts.map((_, j) => uleb(j)))),
    ...section(7, vector(rowCounts.map((rows, j) => [...name(`m${rows}`), 0x00, ...uleb(j)]))),
    ...section(10, vector(rowCounts.map((rows) => kernelBody(shape, rows))))
  ]
  return Uint8Array.from(bytes)
}

/** A minimal module using plain SIMD (`v128.const`, `i8x16.swizzle`): validates only where SIMD is supported. */
export const simdProbeBytes = (relaxed: boolean): Uint8Array => {
  const body = [
    0x00, // no locals
    ...simd(V128_CONST),
    ...new Array<number>(16).fill(1),
    ...simd(V128_CONST),
    ...new Array<number>(16).fill(2),
    ...simd(relaxed ? I8X16_RELAXED_SWIZZLE : I8X16_SWIZZLE),
    0x1a, // drop
    op.end
  ]
  return Uint8Array.from([
    ...header,
    ...section(1, vector([[0x60, 0x00, 0x00]])),
    ...section(3, vector([uleb(0)])),
    ...section(10, vector([[...uleb(body.length), ...body]]))
  ])
}
