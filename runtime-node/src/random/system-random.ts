/**
 * The production Random: a fast non-cryptographic generator (xoshiro128**)
 * seeded from the operating system's CSPRNG.
 *
 * Every stream is identified by a 32-byte key. Its generator state is
 * HMAC-SHA256(key, "state"); `split(label)` derives the child's key as
 * HMAC-SHA256(key, "split:" + label). Child streams are therefore
 * independent of the parent's draws and of each other (different labels give
 * unrelated keys), and splitting the same label twice gives the same stream,
 * as in the simulator. Not for secrets: use node:crypto for those.
 *
 * `systemRandom(seed)` takes an explicit seed so a production run can be
 * reproduced; without one the seed comes from `crypto.randomBytes`.
 */
import { assert, Random, type RandomShape } from "@cairn/core"
import { Effect, Layer } from "effect"
import { createHmac, randomBytes } from "node:crypto"

const derive = (key: Uint8Array, info: string): Uint8Array =>
  new Uint8Array(createHmac("sha256", key).update(info).digest())

/** xoshiro128** (Blackman & Vigna): 128 bits of state, period 2^128 - 1. */
const xoshiro128ss = (seed: Uint8Array): (() => number) => {
  const view = new DataView(seed.buffer, seed.byteOffset, seed.byteLength)
  let a = view.getUint32(0, true)
  let b = view.getUint32(4, true)
  let c = view.getUint32(8, true)
  let d = view.getUint32(12, true)
  if ((a | b | c | d) === 0) a = 1 // the all-zero state is a fixed point
  return () => {
    const r = Math.imul(rotl(Math.imul(b, 5), 7), 9) >>> 0
    const t = b << 9
    c ^= a
    d ^= b
    b ^= c
    a ^= d
    c ^= t
    d = rotl(d, 11)
    return r
  }
}
const rotl = (x: number, k: number): number => (x << k) | (x >>> (32 - k))

/** Uniform in [0, n) for 1 <= n <= 2^32, by rejection (no modulo bias). */
const below = (next: () => number, n: number): number => {
  const limit = 2 ** 32 - (2 ** 32 % n)
  for (;;) {
    const x = next()
    if (x < limit) return x % n
  }
}

/** Uniform in [0, n) for 1 <= n <= 2^53. */
const belowWide = (next: () => number, n: number): number => {
  if (n <= 2 ** 32) return below(next, n)
  // 53 random bits, rejected above the largest multiple of n.
  const span = 2 ** 53
  const limit = span - (span % n)
  for (;;) {
    const x = (next() >>> 11) * 2 ** 32 + next()
    if (x < limit) return x % n
  }
}

const fromKey = (key: Uint8Array): RandomShape => {
  const next = xoshiro128ss(derive(key, "state"))
  return {
    nextUint32: Effect.sync(next),
    nextIntBetween: (min, max) =>
      Effect.sync(() => {
        assert(Number.isSafeInteger(min) && Number.isSafeInteger(max) && min <= max, `nextIntBetween(${min}, ${max})`)
        const n = max - min + 1
        assert(n <= 2 ** 53, `nextIntBetween range too wide: ${min}..${max}`)
        return min + belowWide(next, n)
      }),
    split: (label) => fromKey(derive(key, `split:${label}`))
  }
}

/** A Random stream from `seed` (any bytes or string), or from the OS CSPRNG. */
export const systemRandom = (seed?: Uint8Array | string): RandomShape => {
  if (seed === undefined) return fromKey(new Uint8Array(randomBytes(32)))
  const text = typeof seed === "string" ? `s:${seed}` : `b:${Buffer.from(seed).toString("hex")}`
  return fromKey(derive(rootKey, text))
}
const rootKey = new TextEncoder().encode("cairn-random")

/** The Random service seeded from the OS CSPRNG. */
export const SystemRandomLive: Layer.Layer<Random> = Layer.sync(Random, () => systemRandom())
