/**
 * The Reed-Solomon codec: k data shards, m parity shards, any k of the k+m
 * rebuild everything. Byte-compatible with klauspost/reedsolomon's default
 * `New(k, m)` (see `matrix.ts`). Plain synchronous functions, since this is
 * the data path; they throw the typed errors of `errors.ts`, and
 * `effect.ts` wraps them for Effect code.
 */
import { assert } from "../invariant/invariant.ts"
import { InvalidCodecParameters, ShardCountMismatch, ShardSizeMismatch, TooFewShards } from "./errors.ts"
import { encodingMatrix, invertMatrix, type Matrix, multiplyMatrices, selectRows } from "./matrix.ts"
import { mulMatrixScalar } from "./scalar.ts"
import { makeSimdKernel, type SimdKernel } from "./simd.ts"

/** Largest total shard count: a GF(2^8) Vandermonde matrix has 256 distinct rows. */
export const MAX_TOTAL_SHARDS = 256

export type KernelName = "scalar" | "wasm-simd"

export interface CodecOptions {
  /** "auto" (default): WebAssembly SIMD where available, else scalar. */
  readonly kernel?: "auto" | KernelName
}

export interface Codec {
  readonly dataShards: number
  readonly parityShards: number
  readonly totalShards: number
  /** The kernel actually in use. */
  readonly kernel: KernelName
  /** The (k+m)×k encoding matrix (identity on top). */
  readonly matrix: Matrix
}

interface CodecInternals extends Codec {
  readonly parityCoefficients: Uint8Array
  readonly mulMatrix: (
    coefficients: Uint8Array,
    inputs: ReadonlyArray<Uint8Array>,
    outputs: ReadonlyArray<Uint8Array>
  ) => void
  readonly simd: SimdKernel | undefined
  /** Reconstruction coefficients by erasure pattern: a pure function of the pattern, so safe to memoise. */
  readonly decodeCache: Map<string, Uint8Array>
}

const DECODE_CACHE_LIMIT = 256

let sharedSimd: SimdKernel | undefined | null = null
const defaultSimd = (): SimdKernel | undefined => {
  if (sharedSimd === null) sharedSimd = makeSimdKernel()
  return sharedSimd
}

const internals = (codec: Codec): CodecInternals => codec as CodecInternals

/**
 * A codec for `dataShards` + `parityShards`. Throws `InvalidCodecParameters`
 * unless both are positive integers with a sum of at most 256.
 */
export const makeCodec = (dataShards: number, parityShards: number, options: CodecOptions = {}): Codec => {
  const bad = (message: string) => new InvalidCodecParameters({ dataShards, parityShards, message })
  if (!Number.isInteger(dataShards) || dataShards < 1) throw bad(`dataShards must be a positive integer, got ${dataShards}`)
  if (!Number.isInteger(parityShards) || parityShards < 1) {
    throw bad(`parityShards must be a positive integer, got ${parityShards}`)
  }
  if (dataShards + parityShards > MAX_TOTAL_SHARDS) {
    throw bad(`dataShards + parityShards must be at most ${MAX_TOTAL_SHARDS}, got ${dataShards + parityShards}`)
  }
  const wanted = options.kernel ?? "auto"
  const simd = wanted === "scalar" ? undefined : defaultSimd()
  if (wanted === "wasm-simd" && simd === undefined) throw bad("WebAssembly SIMD is not available in this runtime")
  const matrix = encodingMatrix(dataShards, parityShards)
  const codec: CodecInternals = {
    dataShards,
    parityShards,
    totalShards: dataShards + parityShards,
    kernel: simd === undefined ? "scalar" : "wasm-simd",
    matrix,
    parityCoefficients: matrix.data.slice(dataShards * dataShards),
    mulMatrix:
      simd === undefined
        ? (coefficients, inputs, outputs) => mulMatrixScalar(coefficients, inputs, outputs, 0, inputs[0]!.length)
        : simd.mulMatrix,
    simd,
    decodeCache: new Map()
  }
  return codec
}

export type Shards = ReadonlyArray<Uint8Array | null | undefined>

const checkCount = (codec: Codec, shards: Shards): void => {
  if (shards.length !== codec.totalShards) {
    throw new ShardCountMismatch({
      expected: codec.totalShards,
      actual: shards.length,
      message: `expected ${codec.totalShards} shards (null for missing ones), got ${shards.length}`
    })
  }
}

/** The common length of the present shards; throws `ShardSizeMismatch` if they differ. */
const commonSize = (shards: Shards): number | undefined => {
  let size: number | undefined
  shards.forEach((shard, index) => {
    if (shard == null) return
    if (size === undefined) size = shard.length
    else if (shard.length !== size) {
      throw new ShardSizeMismatch({
        index,
        expected: size,
        actual: shard.length,
        message: `shard ${index} has ${shard.length} bytes, the others ${size}`
      })
    }
  })
  return size
}

const missingDataShards = (codec: Codec, shards: Shards, what: string): TooFewShards => {
  const available = shards.slice(0, codec.dataShards).filter((s) => s != null).length
  return new TooFewShards({
    required: codec.dataShards,
    available,
    message: `${what} needs all ${codec.dataShards} data shards, got ${available}`
  })
}

/**
 * Computes the parity shards from the data shards. `shards` has k+m entries;
 * the first k must be present. Parity entries that are present are
 * overwritten in place, missing ones are allocated. Returns all k+m shards.
 */
export const encode = (codec: Codec, shards: Shards): Array<Uint8Array> => {
  const c = internals(codec)
  checkCount(c, shards)
  const size = commonSize(shards)
  const data = shards.slice(0, c.dataShards)
  if (data.some((s) => s == null) || size === undefined) throw missingDataShards(c, shards, "encode")
  const present = data as ReadonlyArray<Uint8Array>
  const parity = shards.slice(c.dataShards).map((s) => s ?? new Uint8Array(size))
  c.mulMatrix(c.parityCoefficients, present, parity)
  return [...present, ...parity]
}

/**
 * Whether the parity shards match the data shards. Every shard must be
 * present (throws `TooFewShards` otherwise) and of one size.
 */
export const verify = (codec: Codec, shards: Shards): boolean => {
  const c = internals(codec)
  checkCount(c, shards)
  const size = commonSize(shards)
  const available = shards.filter((s) => s != null).length
  if (available !== c.totalShards || size === undefined) {
    throw new TooFewShards({
      required: c.totalShards,
      available,
      message: `verify needs all ${c.totalShards} shards, got ${available}`
    })
  }
  const all = shards as ReadonlyArray<Uint8Array>
  const expected = Array.from({ length: c.parityShards }, () => new Uint8Array(size))
  c.mulMatrix(c.parityCoefficients, all.slice(0, c.dataShards), expected)
  return expected.every((p, j) => equalBytes(p, all[c.dataShards + j]!))
}

const equalBytes = (a: Uint8Array, b: Uint8Array): boolean => {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/**
 * The coefficients (|targets| × k) that compute shards `targets` from the
 * shards `sources` (the first k present, in index order, as klauspost picks
 * them): rows of the inverse of the sources' encoding rows, times the
 * encoding matrix for parity targets.
 */
const decodeCoefficients = (c: CodecInternals, sources: ReadonlyArray<number>, targets: ReadonlyArray<number>): Uint8Array => {
  const key = `${sources.join(",")}>${targets.join(",")}`
  const cached = c.decodeCache.get(key)
  if (cached !== undefined) return cached
  const inverse = invertMatrix(selectRows(c.matrix, sources))
  assert(inverse !== undefined, "any k rows of the encoding matrix are invertible")
  const coefficients = multiplyMatrices(selectRows(c.matrix, targets), inverse).data
  if (c.decodeCache.size >= DECODE_CACHE_LIMIT) c.decodeCache.clear()
  c.decodeCache.set(key, coefficients)
  return coefficients
}

/**
 * Rebuilds shards `targets` (sorted indices) from the present shards into
 * `outputs` (one buffer per target). `present` tells which shards are usable.
 */
const rebuildInto = (
  c: CodecInternals,
  shards: ReadonlyArray<Uint8Array | null | undefined>,
  present: (index: number) => boolean,
  targets: ReadonlyArray<number>,
  outputs: ReadonlyArray<Uint8Array>
): void => {
  if (targets.length === 0) return
  const sources: Array<number> = []
  for (let i = 0; i < c.totalShards && sources.length < c.dataShards; i++) if (present(i)) sources.push(i)
  c.mulMatrix(
    decodeCoefficients(c, sources, targets),
    sources.map((i) => shards[i]!),
    outputs
  )
}

const tooFew = (c: Codec, available: number): TooFewShards =>
  new TooFewShards({
    required: c.dataShards,
    available,
    message: `reconstruction needs ${c.dataShards} shards, got ${available}`
  })

const rebuild = (codec: Codec, shards: Shards, dataOnly: boolean): Array<Uint8Array | null> => {
  const c = internals(codec)
  checkCount(c, shards)
  const size = commonSize(shards)
  const available = shards.filter((s) => s != null).length
  if (available < c.dataShards || size === undefined) throw tooFew(c, available)
  const limit = dataOnly ? c.dataShards : c.totalShards
  const targets: Array<number> = []
  for (let i = 0; i < limit; i++) if (shards[i] == null) targets.push(i)
  const outputs = targets.map(() => new Uint8Array(size))
  rebuildInto(c, shards, (i) => shards[i] != null, targets, outputs)
  const result: Array<Uint8Array | null> = shards.map((s) => s ?? null)
  targets.forEach((t, j) => {
    result[t] = outputs[j]!
  })
  return result
}

/**
 * Rebuilds, in place, the shards whose `present` flag is false: every entry
 * of `shards` is an allocated buffer of one size, and the missing ones are
 * overwritten (Backblaze's `decodeMissing`). Allocates nothing, and with
 * shards from `allocateShards` copies nothing either.
 */
export const reconstructInPlace = (codec: Codec, shards: ReadonlyArray<Uint8Array>, present: ReadonlyArray<boolean>): void => {
  const c = internals(codec)
  checkCount(c, shards)
  checkCount(c, present.map(() => null))
  if (shards.some((s) => s == null)) throw tooFew(c, shards.filter((s) => s != null).length)
  commonSize(shards)
  const available = present.filter((p) => p).length
  if (available < c.dataShards) throw tooFew(c, available)
  const targets: Array<number> = []
  for (let i = 0; i < c.totalShards; i++) if (!present[i]) targets.push(i)
  rebuildInto(c, shards, (i) => present[i] === true, targets, targets.map((t) => shards[t]!))
}

/**
 * Rebuilds every missing shard (null or undefined entries) from any k present
 * ones. Returns a new array of all k+m shards: the present ones as given, the
 * missing ones newly allocated. Throws `TooFewShards` with fewer than k.
 */
export const reconstruct = (codec: Codec, shards: Shards): Array<Uint8Array> =>
  rebuild(codec, shards, false) as Array<Uint8Array>

/**
 * Rebuilds only the missing data shards; missing parity shards stay null.
 * Cheaper than `reconstruct` when the caller only wants the data back.
 */
export const reconstructData = (codec: Codec, shards: Shards): Array<Uint8Array | null> =>
  rebuild(codec, shards, true)

/**
 * k+m shards of `shardSize` bytes each, allocated where the SIMD kernel reads
 * them in place (its WebAssembly memory), so `encode`, `verify` and
 * `reconstruct` on them copy nothing. Plain arrays with the scalar kernel.
 * The views stay valid for as long as they are referenced.
 */
export const allocateShards = (codec: Codec, shardSize: number): Array<Uint8Array> => {
  const c = internals(codec)
  assert(Number.isInteger(shardSize) && shardSize >= 0, "allocateShards: shardSize must be a non-negative integer")
  if (c.simd === undefined) return Array.from({ length: c.totalShards }, () => new Uint8Array(shardSize))
  // Shards start 64-byte aligned after the tables; the tables fit any output count up to m.
  const stride = Math.ceil(shardSize / 64) * 64
  const arena = c.simd.allocateArena(c.dataShards, c.dataShards * c.parityShards * 32, stride * c.totalShards)
  return Array.from(
    { length: c.totalShards },
    (_, i) => new Uint8Array(arena.buffer, arena.tableBytes + i * stride, shardSize)
  )
}
