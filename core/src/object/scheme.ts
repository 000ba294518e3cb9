/**
 * The cluster's erasure scheme (k data + m parity shards per stripe) as a
 * validated value, its default for a cluster size, and the size thresholds
 * that decide how one object is stored: inlined in its metadata, replicated
 * as m+1 full copies, or striped.
 */
import { Data } from "effect"

/** k data shards and m parity shards: any k of the k+m rebuild the stripe, so it survives losing m nodes. */
export interface ErasureScheme {
  readonly dataShards: number
  readonly parityShards: number
}

/** The codec's limit (GF(2^8) has 256 Vandermonde rows); clusters this large would place fewer. */
export const MAX_TOTAL_SHARDS = 256

export class SchemeError extends Data.TaggedError("SchemeError")<{
  readonly reason: "syntax" | "no-data-shards" | "no-parity-shards" | "too-many-shards" | "more-shards-than-nodes"
  readonly message: string
}> {}

/**
 * A scheme after checking it: k ≥ 1, m ≥ 1 (a scheme that survives no loss
 * is not erasure coding), k+m ≤ 256, and, when `nodes` is given, k+m ≤ nodes
 * (each shard of a stripe on its own node, so one node's loss costs at most
 * one shard).
 */
export const makeScheme = (dataShards: number, parityShards: number, nodes?: number): ErasureScheme => {
  if (!Number.isSafeInteger(dataShards) || dataShards < 1) {
    throw new SchemeError({ reason: "no-data-shards", message: `data shards must be an integer ≥ 1, got ${dataShards}` })
  }
  if (!Number.isSafeInteger(parityShards) || parityShards < 1) {
    throw new SchemeError({
      reason: "no-parity-shards",
      message: `parity shards must be an integer ≥ 1, got ${parityShards} (with none, losing one node loses data)`
    })
  }
  const total = dataShards + parityShards
  if (total > MAX_TOTAL_SHARDS) {
    throw new SchemeError({ reason: "too-many-shards", message: `${total} shards, at most ${MAX_TOTAL_SHARDS}` })
  }
  if (nodes !== undefined && total > nodes) {
    throw new SchemeError({
      reason: "more-shards-than-nodes",
      message: `${dataShards}+${parityShards} puts ${total} shards on distinct nodes, the cluster has ${nodes}`
    })
  }
  return { dataShards, parityShards }
}

/** Parses "K+M" (e.g. "3+2", "16+4"; spaces around the numbers allowed), then validates as `makeScheme`. */
export const parseScheme = (text: string, nodes?: number): ErasureScheme => {
  const match = /^\s*(\d{1,6})\s*\+\s*(\d{1,6})\s*$/.exec(text)
  if (match === null) {
    throw new SchemeError({ reason: "syntax", message: `expected K+M such as 3+2, got ${JSON.stringify(text)}` })
  }
  return makeScheme(Number(match[1]), Number(match[2]), nodes)
}

export const formatScheme = (scheme: ErasureScheme): string => `${scheme.dataShards}+${scheme.parityShards}`

/**
 * The default for a cluster of `nodes` nodes: as many parity shards as the
 * cluster size justifies, then as many data shards as fit (wide stripes cost
 * less space), capped at 12 data shards.
 *
 * | nodes | scheme | survives | space |
 * |---|---|---|---|
 * | 2 | 1+1 | 1 node | 2× |
 * | 3 | 2+1 | 1 node | 1.5× |
 * | 4 | 3+1 | 1 node | 1.33× |
 * | 5–9 | (n−2)+2 | 2 nodes | 1.67× to 1.29× |
 * | 10–15 | min(n−3, 12)+3 | 3 nodes | 1.43× to 1.25× |
 * | 16+ | 12+4 | 4 nodes | 1.33× |
 *
 * One parity shard below five nodes (2+2 on four nodes would cost 2×, as
 * much as mirroring, for the second loss), two from five (a five-node cluster
 * survives any two losses, like its Raft group), three from ten, four from
 * sixteen. The data-shard cap keeps a stripe's read fan-out and a repair's
 * reads (k shards per lost one) bounded. A one-node cluster has no scheme:
 * `SchemeError` "more-shards-than-nodes".
 */
export const defaultScheme = (nodes: number): ErasureScheme => {
  if (!(nodes >= 2)) {
    throw new SchemeError({
      reason: "more-shards-than-nodes",
      message: `no erasure scheme fits ${nodes} node(s): surviving a node's loss needs at least 2`
    })
  }
  const parity = nodes < 5 ? 1 : nodes < 10 ? 2 : nodes < 16 ? 3 : 4
  return makeScheme(Math.min(nodes - parity, MAX_DEFAULT_DATA_SHARDS), parity, nodes)
}

const MAX_DEFAULT_DATA_SHARDS = 12

/** How one object's bytes are stored. */
export type StorageClass = "inline" | "replicated" | "striped"

/**
 * Objects of at most this many bytes (4 KiB) live inside their metadata
 * record, in the Raft log. They are then exactly as durable as the metadata
 * (which the object cannot outlive anyway: a lost record loses the object),
 * cost one Raft commit instead of a shard write per node plus that commit,
 * and a 4 KiB entry stays small next to the KV's 1 MiB value limit and the
 * log's batching.
 */
export const INLINE_MAX_BYTES = 4 * 1024

/**
 * Below k × 64 KiB (shards under 64 KiB each), objects are stored as m+1
 * full copies on the stripe's first m+1 nodes instead of striped: they
 * survive the same m losses, a read is one request instead of k, a write is
 * m+1 fsyncs instead of k+m, and per-shard costs (a file, a header, a
 * request, an fsync) that dwarf a small shard's bytes are paid fewer times.
 * The extra space is bounded: at most (m+1 − (k+m)/k) × k × 64 KiB per
 * object, 320 KiB for 3+2.
 */
export const REPLICATE_BELOW_SHARD_BYTES = 64 * 1024

/** Which storage class an object of `size` bytes gets under `scheme`. */
export const storageClassFor = (size: number, scheme: ErasureScheme): StorageClass =>
  size <= INLINE_MAX_BYTES
    ? "inline"
    : size < scheme.dataShards * REPLICATE_BELOW_SHARD_BYTES
      ? "replicated"
      : "striped"
