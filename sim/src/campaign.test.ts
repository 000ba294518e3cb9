import { describe, expect, it } from "vitest"
import { runCampaign } from "./campaign.ts"

const collect = async (workers: number) => {
  const out: Array<{ seed: number; traceHash: string; result: string }> = []
  for await (const r of runCampaign({ from: 1, to: 4 }, { durationMs: 3_000 }, workers)) out.push({ seed: r.seed, traceHash: r.traceHash, result: r.result })
  return out
}

describe("campaigns", () => {
  it("worker threads give the same results, in seed order, as one thread", async () => {
    const inline = await collect(1)
    const parallel = await collect(2)
    expect(inline.map((r) => r.seed)).toEqual([1, 2, 3, 4])
    expect(parallel).toEqual(inline)
  })
})
