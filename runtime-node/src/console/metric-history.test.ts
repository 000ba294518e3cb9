/**
 * The console's metric history: rates between samples, interval
 * percentiles as Prometheus's histogram_quantile computes them, the range
 * cut, the ring's bound, and the invariants it asserts.
 */
import { describe, expect, it } from "vitest"
import { intervalQuantile, makeRing, quantileOf, ratePerSecond, record, type Sample, seriesOf } from "./metric-history.ts"

const bounds = [0.01, 0.1, 1, Number.POSITIVE_INFINITY]
const sample = (atMs: number, requests: number, counts: ReadonlyArray<number>): Sample => ({
  atMs,
  totals: { requests },
  histograms: { latency: { bounds, counts } }
})

describe("metric history", () => {
  it("interpolates a quantile within the bucket that holds it, over the interval only", () => {
    const before = { bounds, counts: [100, 100, 100, 100] }
    // 10 new observations: 4 under 10 ms, 4 more under 100 ms, 2 more under 1 s.
    const after = { bounds, counts: [104, 108, 110, 110] }
    expect(intervalQuantile(before, after, 0.5)).toBeCloseTo(0.01 + 0.09 * (1 / 4))
    expect(intervalQuantile(before, after, 0.2)).toBeCloseTo(0.01 * (2 / 4))
    expect(intervalQuantile(before, after, 0.99)).toBeCloseTo(0.1 + 0.9 * (1.9 / 2))
    expect(intervalQuantile(before, before, 0.5)).toBeNull()
    // Past the last finite bound, the bound is all that is known.
    expect(intervalQuantile(before, { bounds, counts: [100, 100, 100, 110] }, 0.5)).toBe(1)
  })

  it("turns consecutive samples into per-second rates and percentiles within the range asked", () => {
    const ring = makeRing(10)
    record(ring, sample(0, 0, [0, 0, 0, 0]))
    record(ring, sample(5_000, 50, [10, 10, 10, 10]))
    record(ring, sample(10_000, 60, [10, 20, 20, 20]))
    const specs = [
      { name: "requests", unit: "per-second" as const, value: ratePerSecond("requests") },
      { name: "p50", unit: "seconds" as const, value: quantileOf("latency", 0.5) },
      { name: "missing", unit: "per-second" as const, value: ratePerSecond("nothing") }
    ]
    const all = seriesOf(ring, specs, 60_000, 10_000)
    expect(all[0]!.points).toEqual([[5_000, 10], [10_000, 2]])
    expect(all[1]!.points.map(([at]) => at)).toEqual([5_000, 10_000])
    expect(all[1]!.points[0]![1]).toBeCloseTo(0.005)
    expect(all[1]!.points[1]![1]).toBeCloseTo(0.01 + 0.09 * 0.5)
    expect(all[2]!.points).toEqual([[5_000, null], [10_000, null]])
    // The last 5 s: the interval that ended at 5 s and the one ending at 10 s both end within it.
    expect(seriesOf(ring, specs, 5_000, 10_000)[0]!.points).toEqual([[5_000, 10], [10_000, 2]])
    expect(seriesOf(ring, specs, 4_000, 10_000)[0]!.points).toEqual([[10_000, 2]])
    expect(seriesOf(ring, specs, 1_000, 20_000)[0]!.points).toEqual([])
  })

  it("counts a histogram first observed within the interval from zero, and leaves changed buckets unknown", () => {
    const p50 = quantileOf("latency", 0.5)
    const empty: Sample = { atMs: 0, totals: {}, histograms: { latency: { bounds: [], counts: [] } } }
    expect(p50(empty, sample(1000, 0, [2, 2, 2, 2]))).toBeCloseTo(0.005)
    expect(p50({ ...empty, histograms: {} }, sample(1000, 0, [2, 2, 2, 2]))).toBeCloseTo(0.005)
    const otherBuckets: Sample = { atMs: 0, totals: {}, histograms: { latency: { bounds: [1, Number.POSITIVE_INFINITY], counts: [0, 0] } } }
    expect(p50(otherBuckets, sample(1000, 0, [2, 2, 2, 2]))).toBeNull()
  })

  it("keeps only its capacity, refuses samples out of order, and shows a counter that went down as unknown", () => {
    const ring = makeRing(3)
    for (let i = 1; i <= 5; i++) record(ring, sample(i * 1000, i * 10, [0, 0, 0, 0]))
    expect(ring.samples.map((s) => s.atMs)).toEqual([3000, 4000, 5000])
    expect(() => record(ring, sample(5000, 0, [0, 0, 0, 0]))).toThrow(/time order/)
    expect(ratePerSecond("requests")(sample(0, 10, []), sample(1000, 5, []))).toBeNull()
    expect(() => makeRing(1)).toThrow()
  })
})
