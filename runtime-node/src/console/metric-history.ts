/**
 * A short history of a few of this node's metrics, for the console's
 * charts without a Prometheus: a ring of samples of cumulative figures
 * (counters, histogram buckets, the Raft commit index), and the series the
 * page draws, computed from consecutive samples: rates per second and
 * latency percentiles of each interval (Prometheus's histogram_quantile,
 * over the interval's bucket counts), and one counter split by a label
 * (S3 requests by operation) into the busiest values' rates. Pure: the
 * sampler (metric-sampler.ts) fills it from the registry.
 */
import { assert } from "@cairn/core/invariant/invariant"
import type { MetricSeries } from "./contract.ts"

/** A histogram at one instant: cumulative counts by upper bound (ascending, +Inf last), all label sets summed. */
export interface HistogramSample {
  readonly bounds: ReadonlyArray<number>
  readonly counts: ReadonlyArray<number>
}

export interface Sample {
  readonly atMs: number
  /** Cumulative counters (and the commit index, which only grows). */
  readonly totals: Readonly<Record<string, number>>
  readonly histograms: Readonly<Record<string, HistogramSample>>
}

export interface Ring {
  readonly capacity: number
  readonly samples: Array<Sample>
}

export const makeRing = (capacity: number): Ring => {
  assert(Number.isInteger(capacity) && capacity >= 2, "a history keeps at least two samples")
  return { capacity, samples: [] }
}

export const record = (ring: Ring, sample: Sample): void => {
  const last = ring.samples.at(-1)
  assert(last === undefined || sample.atMs > last.atMs, "samples are recorded in time order")
  ring.samples.push(sample)
  if (ring.samples.length > ring.capacity) ring.samples.shift()
}

/**
 * The q-quantile (0..1) of the observations that fell between two samples of a histogram, by linear interpolation
 * within the bucket that holds it, as Prometheus's histogram_quantile; null when none fell. A quantile in the +Inf
 * bucket is the highest finite bound (nothing better is known).
 */
export const intervalQuantile = (before: HistogramSample, after: HistogramSample, q: number): number | null => {
  assert(q > 0 && q < 1, "a quantile is between 0 and 1")
  assert(before.bounds.length === after.bounds.length, "a histogram keeps its buckets")
  const counts = after.counts.map((c, i) => c - (before.counts[i] ?? 0))
  const total = counts.at(-1) ?? 0
  if (total <= 0) return null
  const rank = q * total
  for (let i = 0; i < counts.length; i++) {
    if (counts[i]! < rank) continue
    const upper = after.bounds[i]!
    if (upper === Number.POSITIVE_INFINITY) return after.bounds[i - 1] ?? null
    const lower = i === 0 ? 0 : after.bounds[i - 1]!
    const below = i === 0 ? 0 : counts[i - 1]!
    const inBucket = counts[i]! - below
    return inBucket <= 0 ? upper : lower + (upper - lower) * ((rank - below) / inBucket)
  }
  return null
}

/** What the page draws, each from two consecutive samples. */
export interface SeriesSpec {
  readonly name: string
  readonly unit: MetricSeries["unit"]
  readonly value: (before: Sample, after: Sample) => number | null
}

/** Per second between two samples; null when the figure is missing or went down (a counter never does in one process). */
export const ratePerSecond = (total: string) => (before: Sample, after: Sample): number | null => {
  const a = before.totals[total]
  const b = after.totals[total]
  if (a === undefined || b === undefined || b < a) return null
  return (b - a) / ((after.atMs - before.atMs) / 1000)
}

/**
 * A histogram with no observations yet has no buckets at all (prom-client lists a label set once it is observed):
 * against a later sample that has them, it counts as zeros. Buckets that otherwise differ make the interval unknown.
 */
export const quantileOf = (histogram: string, q: number) => (before: Sample, after: Sample): number | null => {
  const b = after.histograms[histogram]
  if (b === undefined) return null
  const found = before.histograms[histogram]
  const a = found === undefined || found.bounds.length === 0 ? { bounds: b.bounds, counts: b.bounds.map(() => 0) } : found
  const same = a.bounds.length === b.bounds.length && a.bounds.every((x, i) => x === b.bounds[i])
  return same ? intervalQuantile(a, b, q) : null
}

/** The series over the last `rangeMs` before `nowMs`: one point per interval, at its end. */
export const seriesOf = (ring: Ring, specs: ReadonlyArray<SeriesSpec>, rangeMs: number, nowMs: number): ReadonlyArray<MetricSeries> => {
  const samples = ring.samples
  const first = samples.findIndex((s) => s.atMs >= nowMs - rangeMs)
  // An interval needs the sample before it, so the first point is the second sample at the earliest.
  const start = first === -1 ? samples.length : Math.max(1, first)
  return specs.map((spec) => {
    const points: Array<readonly [number, number | null]> = []
    for (let i = start; i < samples.length; i++) points.push([samples[i]!.atMs, spec.value(samples[i - 1]!, samples[i]!)])
    return { name: spec.name, unit: spec.unit, points }
  })
}

/** The key under which a sample keeps one label value's count of a counter: `name{label="value"}`, as Prometheus writes it. */
export const labelledKey = (name: string, label: string, value: string): string => `${name}{${label}=${JSON.stringify(value)}}`

const labelledValue = (key: string, prefix: string): string | undefined => {
  if (!key.startsWith(prefix) || !key.endsWith("}")) return undefined
  const quoted = key.slice(prefix.length, -1)
  try {
    const v: unknown = JSON.parse(quoted)
    return typeof v === "string" ? v : undefined
  } catch {
    return undefined
  }
}

/**
 * Per second between two samples of one label value's count. A value absent from the earlier sample counted 0 there
 * (prom-client lists a label set once it is first counted), unless the whole metric is missing from either sample.
 */
const labelRate = (keys: ReadonlyArray<string>, metric: string) => (before: Sample, after: Sample): number | null => {
  if (after.totals[metric] === undefined || before.totals[metric] === undefined) return null
  const count = (s: Sample) => keys.reduce((sum, k) => sum + (s.totals[k] ?? 0), 0)
  const a = count(before)
  const b = count(after)
  return b < a ? null : (b - a) / ((after.atMs - before.atMs) / 1000)
}

/**
 * One rate series per label value of a counter (`totals` keyed by `labelledKey`; the metric's own total under its
 * name), for the `top` values that counted most over the range, busiest first, and the rest summed as "other".
 */
export const splitSeriesOf = (ring: Ring, metric: string, label: string, top: number, rangeMs: number, nowMs: number): ReadonlyArray<MetricSeries> => {
  assert(Number.isInteger(top) && top >= 1, "at least one value is shown")
  const prefix = `${metric}{${label}=`
  const inRange = ring.samples.filter((s) => s.atMs >= nowMs - rangeMs)
  const first = ring.samples[Math.max(0, ring.samples.length - inRange.length - 1)]
  const last = ring.samples.at(-1)
  if (first === undefined || last === undefined) return []
  const counted = Object.keys(last.totals)
    .flatMap((key) => {
      const value = labelledValue(key, prefix)
      return value === undefined ? [] : [{ key, value, count: last.totals[key]! - (first.totals[key] ?? 0) }]
    })
    .filter((v) => v.count > 0)
    .sort((a, b) => b.count - a.count || a.value.localeCompare(b.value))
  const shown = counted.slice(0, top)
  const rest = counted.slice(top)
  const specs: Array<SeriesSpec> = shown.map((v) => ({ name: v.value, unit: "per-second", value: labelRate([v.key], metric) }))
  if (rest.length > 0) specs.push({ name: `other (${rest.length})`, unit: "per-second", value: labelRate(rest.map((v) => v.key), metric) })
  return seriesOf(ring, specs, rangeMs, nowMs)
}
