import { describe, expect, it } from "vitest"
import { runSeed } from "../run.ts"

describe("cairn sim --workload log", () => {
  it("passes a drawn seed and replays it event for event", () => {
    const first = runSeed(3, { workload: "log", durationMs: 10_000 })
    const again = runSeed(3, { workload: "log", durationMs: 10_000 })
    expect(first.violations).toEqual([])
    expect(first.stats.log).toBe("valid")
    expect(Number(first.stats.ok)).toBeGreaterThan(0)
    expect(again.traceHash).toBe(first.traceHash)
    expect(again.stats).toEqual(first.stats)
  }, 300_000)

  it("catches a planted bug: appends acknowledged before a quorum has them, at guessed offsets", () => {
    const result = runSeed(1, { workload: "log", durationMs: 8_000, only: ["process.crash"], all: true, plantedBug: "log-ack-before-commit" })
    expect(result.result).toBe("fail")
    expect(result.stats.log).toBe("invalid")
    expect(result.violations.some((v) => v.startsWith("log: lost acknowledged record"))).toBe(true)
  }, 300_000)

  it("log seeds that campaigns once failed pass (each a fixed bug: a duplicated commit moving an offset back, an old entry answering a new append after an in-process restart)", () => {
    for (const seed of [34, 82]) {
      const result = runSeed(seed, { workload: "log" })
      expect(result.violations, `seed ${seed}`).toEqual([])
    }
  }, 300_000)
})
