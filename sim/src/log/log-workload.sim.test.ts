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

  // A small campaign per planted bug: every seed fails by the rule that names the bug, and the same
  // seeds pass on the correct code. Crashes only, all enabled: the bugs show around leader changes and restarts.
  const campaign = { workload: "log", durationMs: 10_000, only: ["process.crash"], all: true } as const
  const rulesOf = (violations: ReadonlyArray<string>) => [...new Set(violations.map((v) => v.split(":").slice(0, 2).join(":")))]

  // The seeds are the ones that catch each bug on the current client (which node serves what shifts them).
  it("catches a planted bug: reads served above the high watermark (proposals not yet committed)", () => {
    for (const seed of [7, 15]) {
      const buggy = runSeed(seed, { ...campaign, plantedBug: "log-read-above-hw" })
      expect(buggy.result, `seed ${seed}`).toBe("fail")
      // A read returned a record that later vanished or was replaced at its offset: nothing else is wrong.
      expect(rulesOf(buggy.violations).every((r) => r === "log: inconsistent offset" || r === "log: read record vanished"), `seed ${seed}: ${buggy.violations}`).toBe(true)
      expect(runSeed(seed, campaign).violations, `seed ${seed} without the bug`).toEqual([])
    }
  }, 300_000)

  it("catches a planted bug: partition snapshots that forget the idempotent producers' sequences", () => {
    for (const seed of [3, 9]) {
      const buggy = runSeed(seed, { ...campaign, plantedBug: "log-forget-producer-seq" })
      expect(buggy.result, `seed ${seed}`).toBe("fail")
      expect(Number(buggy.stats.compactions)).toBeGreaterThan(0)
      // The restored replica refuses an idempotent batch its peers appended: a refusal the log contradicts.
      expect(buggy.violations.some((v) => v.startsWith("log: unexpected record") && v.endsWith("was refused, yet appended")), `seed ${seed}: ${buggy.violations}`).toBe(true)
      expect(runSeed(seed, campaign).violations, `seed ${seed} without the bug`).toEqual([])
    }
  }, 300_000)

  it("log seeds that campaigns once failed pass (a duplicated commit moving an offset back, an old entry answering a new append after an in-process restart, a send acknowledged after the final read began, a retry under a new request id appending a batch a duplicated copy had already appended, a final read that never finished: every operation tried the next node in turn, and one that never answered again cost each a whole attempt)", () => {
    for (const seed of [34, 82, 59, 124, 310]) {
      const result = runSeed(seed, { workload: "log" })
      expect(result.violations, `seed ${seed}`).toEqual([])
    }
  }, 300_000)
})
