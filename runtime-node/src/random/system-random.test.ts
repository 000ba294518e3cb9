import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import type { RandomShape } from "@cairn/core"
import { systemRandom } from "./system-random.ts"

const draw = (r: RandomShape, n: number): Array<number> =>
  Effect.runSync(Effect.forEach(Array.from({ length: n }), () => r.nextUint32))

describe("system random", () => {
  it("is reproducible from an explicit seed and differs between seeds", () => {
    expect(draw(systemRandom("a"), 8)).toEqual(draw(systemRandom("a"), 8))
    expect(draw(systemRandom("a"), 8)).not.toEqual(draw(systemRandom("b"), 8))
  })

  it("crypto-seeded streams differ from run to run", () => {
    expect(draw(systemRandom(), 4)).not.toEqual(draw(systemRandom(), 4))
  })

  it("split streams are independent of the parent's draws and of each other", () => {
    const a = systemRandom("seed")
    const childBefore = draw(a.split("raft"), 8)
    draw(a, 100) // drawing from the parent must not shift the child
    expect(draw(a.split("raft"), 8)).toEqual(childBefore)
    expect(draw(a.split("wal"), 8)).not.toEqual(childBefore)
    expect(draw(a, 8)).not.toEqual(childBefore)
  })

  it("nextIntBetween stays in range, hits both ends, and is roughly uniform", () => {
    const r = systemRandom("uniform")
    const counts = new Array<number>(6).fill(0)
    const n = 60_000
    for (let i = 0; i < n; i++) {
      const x = Effect.runSync(r.nextIntBetween(1, 6))
      expect(x >= 1 && x <= 6 && Number.isInteger(x)).toBe(true)
      counts[x - 1]!++
    }
    // Each face expects 10 000; 5 sigma is ~±450.
    for (const c of counts) expect(Math.abs(c - n / 6)).toBeLessThan(500)
    const wide = Effect.runSync(r.nextIntBetween(0, 2 ** 40))
    expect(wide >= 0 && wide <= 2 ** 40).toBe(true)
  })

  it("rejects an empty range", () => {
    expect(() => Effect.runSync(systemRandom("x").nextIntBetween(3, 2))).toThrow()
  })
})
