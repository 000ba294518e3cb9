/**
 * Reed-Solomon erasure coding over GF(2^8), byte-compatible with
 * klauspost/reedsolomon's default matrix. See docs/erasure-coding.md.
 */
export {
  allocateShards,
  type Codec,
  type CodecOptions,
  encode,
  type KernelName,
  makeCodec,
  MAX_TOTAL_SHARDS,
  reconstruct,
  reconstructData,
  reconstructInPlace,
  type Shards,
  verify
} from "./codec.ts"
export { encodeEffect, isErasureError, reconstructDataEffect, reconstructEffect, verifyEffect } from "./effect.ts"
export {
  type ErasureError,
  InvalidCodecParameters,
  ShardCountMismatch,
  ShardSizeMismatch,
  TooFewShards
} from "./errors.ts"
export { FIELD_POLYNOMIAL, gfDiv, gfExp, gfInv, gfMul } from "./galois.ts"
export { encodingMatrix, type Matrix } from "./matrix.ts"
export { simdSupport } from "./simd.ts"
