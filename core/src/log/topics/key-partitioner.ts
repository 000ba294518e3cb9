/**
 * Kafka's default partitioner for records with a key: murmur2 of the key's
 * bytes, made positive, modulo the topic's partitions
 * (`Utils.toPositive(Utils.murmur2(key)) % numPartitions`). A record
 * produced by key through the log API lands where a Kafka client would put
 * it, so the two agree on which partition holds a key.
 */
import { assert } from "../../invariant/invariant.ts"

const SEED = 0x9747b28c
const M = 0x5bd1e995

/** Kafka's `Utils.murmur2`: a signed 32-bit hash. */
export const murmur2 = (data: Uint8Array): number => {
  const length = data.length
  let h = SEED ^ length
  const whole = length - (length % 4)
  for (let i = 0; i < whole; i += 4) {
    let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24)
    k = Math.imul(k, M)
    k ^= k >>> 24
    k = Math.imul(k, M)
    h = Math.imul(h, M) ^ k
  }
  const tail = length % 4
  if (tail === 3) h ^= data[whole + 2]! << 16
  if (tail >= 2) h ^= data[whole + 1]! << 8
  if (tail >= 1) h = Math.imul(h ^ data[whole]!, M)
  h ^= h >>> 13
  h = Math.imul(h, M)
  h ^= h >>> 15
  return h | 0
}

/** The partition a Kafka client's default partitioner gives `key` in a topic of `partitions`. */
export const partitionForKey = (key: Uint8Array, partitions: number): number => {
  assert(Number.isSafeInteger(partitions) && partitions >= 1, () => `partitioning over ${partitions} partitions`)
  return (murmur2(key) & 0x7fffffff) % partitions
}
