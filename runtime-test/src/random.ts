/**
 * A seeded Random service over seedrandom's Alea generator. Splitting derives
 * a child stream from the parent's seed and a label, so streams are
 * independent of the order in which components draw.
 */
import type { RandomShape } from "@cairn/core"
import { Effect } from "effect"
import seedrandom from "seedrandom"

/** A synchronous seeded source, for runtimes that draw outside Effect. */
export interface SeededSource {
  readonly seed: string
  /** Uniform in [0, 1). */
  readonly float: () => number
  /** Uniform integer in [0, 2^32). */
  readonly uint32: () => number
  /** Uniform integer in [min, max], both inclusive. */
  readonly intBetween: (min: number, max: number) => number
  /** True with probability `p`. */
  readonly chance: (p: number) => boolean
  readonly split: (label: string) => SeededSource
}

export const seededSource = (seed: string): SeededSource => {
  const prng = seedrandom.alea(seed)
  const uint32 = () => prng.int32() >>> 0
  return {
    seed,
    float: () => prng.quick(),
    uint32,
    intBetween: (min, max) => min + Math.floor(prng.quick() * (max - min + 1)),
    chance: (p) => p > 0 && prng.quick() < p,
    split: (label) => seededSource(`${seed}/${label}`)
  }
}

/** The core Random service backed by a seeded source. */
export const seededRandom = (source: SeededSource): RandomShape => ({
  nextUint32: Effect.sync(source.uint32),
  nextIntBetween: (min, max) => Effect.sync(() => source.intBetween(min, max)),
  split: (label) => seededRandom(source.split(label))
})
