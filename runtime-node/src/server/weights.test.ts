import { describe, expect, it } from "vitest"
import { fakeKv, runRounds } from "./node-records.test-support.ts"
import { makeWeights, WEIGHT_PREFIX } from "./weights.ts"

describe("capacity weights", () => {
  it("publishes this node's weight, reads everyone's, and weighs members without a record (or an unreadable one) 1", async () => {
    const store = new Map([[`${WEIGHT_PREFIX}n2`, new TextEncoder().encode("0.5")], [`${WEIGHT_PREFIX}n3`, new TextEncoder().encode("lots")]])
    const weights = makeWeights({ self: "n1", weight: 3, requestTimeoutMs: 100 }, fakeKv(store))
    await runRounds(weights.sync, 2)
    expect(new TextDecoder().decode(store.get(`${WEIGHT_PREFIX}n1`))).toBe("3")
    expect(weights.weightOf("n1")).toBe(3)
    expect(weights.weightOf("n2")).toBe(0.5)
    expect(weights.weightOf("n3")).toBe(1)
    expect(weights.weightOf("n4")).toBe(1)
  })

  it("removes its record when the node runs with the default weight 1", async () => {
    const store = new Map([[`${WEIGHT_PREFIX}n1`, new TextEncoder().encode("2")]])
    const weights = makeWeights({ self: "n1", weight: 1, requestTimeoutMs: 100 }, fakeKv(store))
    await runRounds(weights.sync, 2)
    expect(store.has(`${WEIGHT_PREFIX}n1`)).toBe(false)
    expect(weights.weightOf("n1")).toBe(1)
  })
})
