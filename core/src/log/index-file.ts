/**
 * What the two sparse index files share: u64 fields (little-endian, as in
 * the WAL) and the binary search for the last entry that satisfies a
 * predicate which holds for a prefix of the entries.
 */

const TWO_32 = 0x1_0000_0000

export const setU64 = (view: DataView, at: number, v: number): void => {
  view.setUint32(at, v % TWO_32, true)
  view.setUint32(at + 4, Math.floor(v / TWO_32), true)
}

export const getU64 = (view: DataView, at: number): number => view.getUint32(at, true) + view.getUint32(at + 4, true) * TWO_32

/** The index of the last value for which `holds` is true (it must hold for a prefix), or -1. */
export const lastWhere = (values: ReadonlyArray<number>, holds: (v: number) => boolean): number => {
  let lo = 0
  let hi = values.length - 1
  let found = -1
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1
    if (holds(values[mid]!)) {
      found = mid
      lo = mid + 1
    } else hi = mid - 1
  }
  return found
}
