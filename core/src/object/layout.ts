/**
 * How an object's bytes map onto stripes and shards.
 *
 * An object of `size` bytes is cut into stripes of k data shards of one
 * fixed `shardSize`: byte b is in stripe ⌊b / (k·shardSize)⌋, data shard
 * ⌊(b mod k·shardSize) / shardSize⌋, at offset b mod shardSize. The last
 * stripe is zero-padded to full shards (the codec needs equal lengths); the
 * real size is recorded, so padding is never served. The shard size is
 * chosen per object (`shardSizeFor`): an object smaller than one full stripe
 * gets shards just large enough, so a 300 KiB object under 3+2 is not
 * padded to three 256 KiB shards.
 */
import { Data } from "effect"
import { assert } from "../invariant/invariant.ts"

/** The shard size of objects that fill at least one stripe: a 10+4 stripe holds 2.5 MiB. */
export const DEFAULT_SHARD_BYTES = 256 * 1024

export interface StripeGeometry {
  /** The object's real length in bytes. */
  readonly size: number
  readonly dataShards: number
  /** Bytes per shard, padding included; ≥ 1. */
  readonly shardSize: number
}

/** A byte range outside the object (S3's 416). */
export class ObjectRangeError extends Data.TaggedError("ObjectRangeError")<{
  readonly start: number
  readonly end: number
  readonly size: number
  readonly message: string
}> {}

/** The shard size for an object: `maxShard`, or less when the object does not fill one stripe. */
export const shardSizeFor = (size: number, dataShards: number, maxShard = DEFAULT_SHARD_BYTES): number =>
  size >= dataShards * maxShard ? maxShard : Math.max(1, Math.ceil(size / dataShards))

/** Why a geometry is impossible, or undefined when it is sound (used by the metadata decoder). */
export const geometryProblem = (g: StripeGeometry): string | undefined => {
  if (!Number.isSafeInteger(g.size) || g.size < 0) return `bad size ${g.size}`
  if (!Number.isSafeInteger(g.dataShards) || g.dataShards < 1 || g.dataShards > 256) {
    return `bad data shard count ${g.dataShards}`
  }
  if (!Number.isSafeInteger(g.shardSize) || g.shardSize < 1 || g.shardSize > 2 ** 32) {
    return `bad shard size ${g.shardSize}`
  }
  return undefined
}

export const makeGeometry = (size: number, dataShards: number, shardSize = shardSizeFor(size, dataShards)) => {
  const g: StripeGeometry = { size, dataShards, shardSize }
  const problem = geometryProblem(g)
  assert(problem === undefined, () => `geometry: ${problem}`)
  return g
}

/** Data bytes per stripe. */
export const stripeBytes = (g: StripeGeometry): number => g.dataShards * g.shardSize

/** Stripes the object occupies (0 for an empty object). */
export const stripeCount = (g: StripeGeometry): number => Math.ceil(g.size / stripeBytes(g))

/**
 * The object cut into stripes of k data shards of `shardSize` bytes each.
 * Shards wholly inside `data` are views of it (no copy); the last stripe's
 * shards are copies, zero-padded.
 */
export const splitObject = (data: Uint8Array, g: StripeGeometry): ReadonlyArray<ReadonlyArray<Uint8Array>> => {
  assert(data.length === g.size, () => `object is ${data.length} bytes, geometry says ${g.size}`)
  const stripes: Array<ReadonlyArray<Uint8Array>> = []
  const n = stripeCount(g)
  for (let s = 0; s < n; s++) {
    const shards: Array<Uint8Array> = []
    for (let i = 0; i < g.dataShards; i++) {
      const from = s * stripeBytes(g) + i * g.shardSize
      const to = from + g.shardSize
      if (to <= data.length) {
        shards.push(data.subarray(from, to))
      } else {
        const padded = new Uint8Array(g.shardSize)
        if (from < data.length) padded.set(data.subarray(from))
        shards.push(padded)
      }
    }
    stripes.push(shards)
  }
  return stripes
}

/** The inverse of `splitObject`: the data shards of every stripe, concatenated and cut to the real size. */
export const joinStripes = (stripes: ReadonlyArray<ReadonlyArray<Uint8Array>>, g: StripeGeometry): Uint8Array => {
  assert(stripes.length === stripeCount(g), () => `${stripes.length} stripes, geometry says ${stripeCount(g)}`)
  const out = new Uint8Array(g.size)
  stripes.forEach((shards, s) => {
    for (let i = 0; i < g.dataShards; i++) {
      const shard = shards[i]
      assert(shard !== undefined && shard.length === g.shardSize, () => `stripe ${s} shard ${i} missing or wrong size`)
      const from = s * stripeBytes(g) + i * g.shardSize
      if (from >= g.size) break
      out.set(shard.subarray(0, Math.min(g.shardSize, g.size - from)), from)
    }
  })
  return out
}

/** One contiguous piece of a byte range inside one data shard. */
export interface ShardSpan {
  readonly stripe: number
  /** Data shard index within the stripe, 0..k−1. */
  readonly shard: number
  /** Offset of the piece within the shard. */
  readonly offset: number
  readonly length: number
  /** Where the piece starts in the object. */
  readonly objectOffset: number
}

const checkRange = (g: StripeGeometry, start: number, end: number): void => {
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || start > end || end > g.size) {
    throw new ObjectRangeError({ start, end, size: g.size, message: `range [${start}, ${end}) of a ${g.size}-byte object` })
  }
}

/**
 * The pieces of data shards that hold bytes [start, end), in object order;
 * empty for an empty range. A degraded read needs, for each stripe touched,
 * k shards of it instead.
 */
export const spansForRange = (g: StripeGeometry, start: number, end: number): ReadonlyArray<ShardSpan> => {
  checkRange(g, start, end)
  const spans: Array<ShardSpan> = []
  const perStripe = stripeBytes(g)
  let pos = start
  while (pos < end) {
    const stripe = Math.floor(pos / perStripe)
    const within = pos - stripe * perStripe
    const shard = Math.floor(within / g.shardSize)
    const offset = within - shard * g.shardSize
    const length = Math.min(g.shardSize - offset, end - pos)
    spans.push({ stripe, shard, offset, length, objectOffset: pos })
    pos += length
  }
  return spans
}

/** The stripes that hold bytes [start, end): `first` up to but not including `end` (equal for an empty range). */
export const stripesForRange = (g: StripeGeometry, start: number, end: number): { readonly first: number; readonly end: number } => {
  checkRange(g, start, end)
  if (start === end) return { first: 0, end: 0 }
  const perStripe = stripeBytes(g)
  return { first: Math.floor(start / perStripe), end: Math.floor((end - 1) / perStripe) + 1 }
}
