import { describe, expect, it } from "vitest"
import { ClusterDamage, DamagedRanges, type DamageHolder } from "./disk-damage.ts"

describe("DamagedRanges", () => {
  it("a rewrite mends exactly the bytes it covers, splitting a range", () => {
    const ranges = new DamagedRanges()
    ranges.add(100, 200)
    ranges.mend(120, 150)
    expect(ranges.touches(100, 120)).toBe(true)
    expect(ranges.touches(120, 150)).toBe(false)
    expect(ranges.touches(150, 151)).toBe(true)
    expect(ranges.touches(200, 300)).toBe(false)
    ranges.truncate(160)
    expect(ranges.touches(160, 200)).toBe(false)
    expect(ranges.touches(155, 160)).toBe(true)
  })
})

describe("ClusterDamage", () => {
  it("names another node damaged at the place, never the asking one", () => {
    const holder = (label: string, path: string, sector: number): DamageHolder => ({
      label,
      damagedIn: (p, first, last) => p === path && sector >= first && sector <= last
    })
    const damage = new ClusterDamage()
    const n1 = holder("n1", "wal/1.seg", 7)
    const n2 = holder("n2", "wal/1.seg", 7)
    damage.join(n1)
    expect(damage.elsewhere(n1, "wal/1.seg", 7, 7)).toBeUndefined()
    damage.join(n2)
    expect(damage.elsewhere(n1, "wal/1.seg", 7, 7)).toBe("n2")
    expect(damage.elsewhere(n1, "wal/1.seg", 8, 9)).toBeUndefined()
    expect(damage.elsewhere(n1, "wal/2.seg", 7, 7)).toBeUndefined()
  })
})
