/**
 * Version ranges as Kafka's message definitions write them: "0+", "3-7",
 * "5" or "none". A range is inclusive at both ends; "+" is open above.
 */
import { assert } from "../../invariant/invariant.ts"

export interface VersionRange {
  readonly lo: number
  readonly hi: number
}

export const NO_VERSIONS: VersionRange = { lo: 1, hi: 0 }

/** Parses a range; a malformed one is a bug in a schema file. */
export const versions = (spec: string): VersionRange => {
  if (spec === "none") return NO_VERSIONS
  const open = /^(\d+)\+$/.exec(spec)
  if (open) return { lo: Number(open[1]), hi: Number.POSITIVE_INFINITY }
  const closed = /^(\d+)-(\d+)$/.exec(spec)
  if (closed) {
    const range = { lo: Number(closed[1]), hi: Number(closed[2]) }
    assert(range.lo <= range.hi, `empty version range "${spec}"`)
    return range
  }
  const single = /^(\d+)$/.exec(spec)
  assert(single !== null, `bad version range "${spec}"`)
  return { lo: Number(single[1]), hi: Number(single[1]) }
}

export const inRange = (range: VersionRange, version: number): boolean => version >= range.lo && version <= range.hi
