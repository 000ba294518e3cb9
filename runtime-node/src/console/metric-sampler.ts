/**
 * Samples a few of this node's metrics into the console's history
 * (metric-history.ts) every few seconds, straight from the server's
 * prom-client registry: only the series the charts draw are read (no
 * scrape of the whole registry, whose disk walks and catalog count cost
 * more), so the sampler costs a few microseconds a tick whether or not
 * anyone looks. The server starts it; its console draws it and its KV
 * API serves it (`/v1/metrics/history`) to the other members' consoles.
 * The history lives as long as the process: a restart starts it again.
 */
import { Effect, type Scope } from "effect"
import type { Registry } from "prom-client"
import { log } from "../log/log.ts"
import type { MetricsView } from "./contract.ts"
import {
  type HistogramSample,
  labelledKey,
  makeRing,
  quantileOf,
  ratePerSecond,
  record,
  type Sample,
  type SeriesSpec,
  seriesOf,
  splitSeriesOf
} from "./metric-history.ts"

export const SAMPLE_EVERY_MS = 5_000
/** Where a node's KV API serves its history (to any caller that may read /metrics), for other nodes' consoles. */
export const METRIC_HISTORY_PATH = "/v1/metrics/history"

/** `?range=` in seconds: 15 minutes unless a whole positive number says otherwise. */
export const rangeOf = (url: URL): number => {
  const asked = Number(url.searchParams.get("range") ?? "900")
  return Number.isInteger(asked) && asked > 0 ? asked : 900
}
/** One hour of samples. */
const KEPT = 720

const COUNTERS = ["cairn_s3_requests_total", "cairn_http_requests_total", "cairn_s3_request_bytes_total", "cairn_s3_response_bytes_total"] as const
const GAUGE_TOTALS = ["cairn_raft_commit_index"] as const
const HISTOGRAMS = ["cairn_s3_request_duration_seconds", "cairn_disk_fsync_duration_seconds"] as const

/** The charts, in the order the page shows them. */
export const CHARTS: ReadonlyArray<SeriesSpec> = [
  { name: "S3 requests/s", unit: "per-second", value: ratePerSecond("cairn_s3_requests_total") },
  { name: "S3 latency p50", unit: "seconds", value: quantileOf("cairn_s3_request_duration_seconds", 0.5) },
  { name: "S3 latency p99", unit: "seconds", value: quantileOf("cairn_s3_request_duration_seconds", 0.99) },
  { name: "Bytes in/s (S3 bodies)", unit: "bytes-per-second", value: ratePerSecond("cairn_s3_request_bytes_total") },
  { name: "Bytes out/s (S3 bodies)", unit: "bytes-per-second", value: ratePerSecond("cairn_s3_response_bytes_total") },
  { name: "fsync latency p99", unit: "seconds", value: quantileOf("cairn_disk_fsync_duration_seconds", 0.99) },
  { name: "Raft commits/s", unit: "per-second", value: ratePerSecond("cairn_raft_commit_index") },
  { name: "KV API requests/s", unit: "per-second", value: ratePerSecond("cairn_http_requests_total") }
]

/** The counters the page also splits by a label (the busiest values' rates on one chart). */
const SPLIT = [{ metric: "cairn_s3_requests_total", label: "operation", title: "S3 requests/s by operation" }] as const
/** Lines on a split chart; the rest are summed as "other". */
const TOP = 5

/** A counter's count per value of one label (every other label summed), keyed by `labelledKey`. */
const byLabel = async (registry: Registry, name: string, label: string): Promise<Record<string, number>> => {
  const metric = registry.getSingleMetric(name)
  if (metric === undefined) return {}
  const out: Record<string, number> = {}
  for (const v of (await metric.get()).values) {
    const value = (v.labels as Record<string, string | number | undefined>)[label]
    if (value === undefined) continue
    const key = labelledKey(name, label, String(value))
    out[key] = (out[key] ?? 0) + v.value
  }
  return out
}

/** A metric's values summed over its label sets (a counter's total, a gauge's value). */
const total = async (registry: Registry, name: string): Promise<number | undefined> => {
  const metric = registry.getSingleMetric(name)
  if (metric === undefined) return undefined
  return (await metric.get()).values.reduce((sum, v) => sum + v.value, 0)
}

/** A histogram's cumulative bucket counts, every label set summed, by bound. */
const histogram = async (registry: Registry, name: string): Promise<HistogramSample | undefined> => {
  const metric = registry.getSingleMetric(name)
  if (metric === undefined) return undefined
  const byBound = new Map<number, number>()
  for (const v of (await metric.get()).values) {
    const le = (v.labels as Record<string, string | number | undefined>)["le"]
    if (!("metricName" in v) || v.metricName !== `${name}_bucket` || le === undefined) continue
    const bound = le === "+Inf" ? Number.POSITIVE_INFINITY : Number(le)
    byBound.set(bound, (byBound.get(bound) ?? 0) + v.value)
  }
  const bounds = [...byBound.keys()].sort((a, b) => a - b)
  return { bounds, counts: bounds.map((b) => byBound.get(b)!) }
}

const sampleOf = async (registry: Registry, atMs: number): Promise<Sample> => {
  const totals: Record<string, number> = {}
  for (const name of [...COUNTERS, ...GAUGE_TOTALS]) {
    const v = await total(registry, name)
    if (v !== undefined) totals[name] = v
  }
  for (const split of SPLIT) Object.assign(totals, await byLabel(registry, split.metric, split.label))
  const histograms: Record<string, HistogramSample> = {}
  for (const name of HISTOGRAMS) {
    const h = await histogram(registry, name)
    if (h !== undefined) histograms[name] = h
  }
  return { atMs, totals, histograms }
}

export interface MetricSampler {
  /** The charts over the last `rangeSeconds` (capped to what is kept). */
  readonly view: (rangeSeconds: number) => MetricsView
}

/** Starts sampling; it stops when the scope closes. */
export const startMetricSampler = (nodeId: string, registry: Registry, everyMs = SAMPLE_EVERY_MS): Effect.Effect<MetricSampler, never, Scope.Scope> =>
  Effect.gen(function*() {
    const ring = makeRing(KEPT)
    let failing = false
    const tick = Effect.tryPromise(() => sampleOf(registry, Date.now())).pipe(
      Effect.map((s) => {
        failing = false
        // A wall clock set back skips samples until it passes the last one again, rather than breaking the order.
        if (s.atMs > (ring.samples.at(-1)?.atMs ?? Number.NEGATIVE_INFINITY)) record(ring, s)
      }),
      Effect.catch((e) =>
        Effect.sync(() => {
          if (!failing) log("warn", "console: cannot sample this node's metrics; the charts have a gap until it can", { error: String(e.cause) })
          failing = true
        })
      )
    )
    yield* Effect.forkScoped(Effect.forever(Effect.andThen(tick, Effect.sleep(everyMs))))
    const keptSeconds = (KEPT * everyMs) / 1000
    return {
      view: (rangeSeconds) => {
        const nowMs = Date.now()
        const rangeMs = Math.min(rangeSeconds, keptSeconds) * 1000
        return {
          node: nodeId,
          nowMs,
          stepMs: everyMs,
          keptSeconds,
          series: seriesOf(ring, CHARTS, rangeMs, nowMs),
          split: SPLIT.map((c) => ({ name: c.title, unit: "per-second", lines: splitSeriesOf(ring, c.metric, c.label, TOP, rangeMs, nowMs) }))
        }
      }
    }
  })
