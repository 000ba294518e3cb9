/**
 * The console's metric history: rates between samples, interval
 * percentiles as Prometheus's histogram_quantile computes them, the range
 * cut, the ring's bound, and the invariants it asserts.
 */
import { describe, expect, it } from "vitest"
import { intervalQuantile, labelledKey, makeRing, quantileOf, ratePerSecond, record, type Sample, seriesOf, splitSeriesOf } from "./metric-history.ts"

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

  it("splits a counter by operation: the busiest over the range first, the rest as other, a value first counted mid-range from zero", () => {
    const key = (op: string) => labelledKey("s3", "operation", op)
    const at = (atMs: number, counts: Record<string, number>): Sample => ({
      atMs,
      totals: { s3: Object.values(counts).reduce((a, b) => a + b, 0), ...Object.fromEntries(Object.entries(counts).map(([op, n]) => [key(op), n])) },
      histograms: {}
    })
    const ring = makeRing(10)
    record(ring, at(0, { GetObject: 1000, PutObject: 0 }))
    record(ring, at(5_000, { GetObject: 1000, PutObject: 50, HeadObject: 5 }))
    record(ring, at(10_000, { GetObject: 1010, PutObject: 60, HeadObject: 10, DeleteObject: 5 }))
    // Over the whole range GetObject counted 10, PutObject 60, HeadObject 10, DeleteObject 5: PutObject leads.
    const lines = splitSeriesOf(ring, "s3", "operation", 2, 60_000, 10_000)
    expect(lines.map((l) => l.name)).toEqual(["PutObject", "GetObject", "other (2)"])
    expect(lines[0]!.points).toEqual([[5_000, 10], [10_000, 2]])
    expect(lines[1]!.points).toEqual([[5_000, 0], [10_000, 2]])
    // HeadObject was first counted in the first interval (5 from nothing), DeleteObject in the second.
    expect(lines[2]!.points).toEqual([[5_000, 1], [10_000, 2]])
    // The last interval only (5 s to 10 s): 10 each for GetObject and PutObject, 5 each for the others, ties by name.
    expect(splitSeriesOf(ring, "s3", "operation", 5, 4_000, 10_000).map((l) => l.name)).toEqual(["GetObject", "PutObject", "DeleteObject", "HeadObject"])
    // Without the metric in a sample, the interval is unknown rather than zero.
    const gap = makeRing(4)
    record(gap, { atMs: 0, totals: {}, histograms: {} })
    record(gap, at(5_000, { PutObject: 5 }))
    expect(splitSeriesOf(gap, "s3", "operation", 5, 60_000, 5_000)[0]!.points).toEqual([[5_000, null]])
    expect(splitSeriesOf(makeRing(2), "s3", "operation", 5, 60_000, 5_000)).toEqual([])
    expect(() => splitSeriesOf(ring, "s3", "operation", 0, 60_000, 10_000)).toThrow()
  })
})
