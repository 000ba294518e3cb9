/**
 * Charts of this node's recent figures (GET /api/metrics): requests/s,
 * S3 latency percentiles, bytes in and out, fsync latency and Raft
 * commits/s, and S3 requests/s by operation (the busiest five, the rest as
 * "other"), sampled by the node every few seconds and kept for an hour,
 * over the range chosen; another member's, or every member's, on request
 * (NodeCharts).
 */
import { useState } from "preact/hooks"
import type { MetricSeries, MetricsView, SplitChart } from "../../../runtime-node/src/console/contract.ts"
import { callJson } from "../api/client.ts"
import { usePolling } from "../api/poll.ts"
import { formatBytes } from "../format.ts"
import { ErrorMessage } from "../messages.tsx"
import { MultiLine, Sparkline } from "./sparkline.tsx"

const RANGES: ReadonlyArray<readonly [string, number]> = [["5 minutes", 300], ["15 minutes", 900], ["1 hour", 3600]]

export const formatFigure = (v: number | null, unit: MetricSeries["unit"]): string => {
  if (v === null) return "—"
  if (unit === "seconds") return v < 1 ? `${(v * 1000).toPrecision(3)} ms` : `${v.toPrecision(3)} s`
  if (unit === "bytes-per-second") return `${formatBytes(Math.round(v))}/s`
  return `${v < 10 ? v.toFixed(1) : Math.round(v)}/s`
}

const Chart = ({ series, fromMs, toMs, range }: { readonly series: MetricSeries; readonly fromMs: number; readonly toMs: number; readonly range: string }) => {
  const known = series.points.filter(([, v]) => v !== null)
  const latest = known.at(-1)?.[1] ?? null
  const highest = known.length === 0 ? null : Math.max(...known.map(([, v]) => v!))
  const label = known.length === 0
    ? `${series.name}: nothing measured yet in the last ${range}`
    : `${series.name}: now ${formatFigure(latest, series.unit)}, highest ${formatFigure(highest, series.unit)} in the last ${range}`
  return (
    <figure class="chart" data-testid={`chart-${series.name}`}>
      <figcaption><span>{series.name}</span> <strong>{formatFigure(latest, series.unit)}</strong></figcaption>
      <Sparkline series={series} fromMs={fromMs} toMs={toMs} label={label} />
      <span class="detail">highest {formatFigure(highest, series.unit)}</span>
    </figure>
  )
}

/** A figure split by a label: a line per busiest value, with a legend that gives each value's latest figure in words. */
const SplitChartView = ({ chart, fromMs, toMs, range }: { readonly chart: SplitChart; readonly fromMs: number; readonly toMs: number; readonly range: string }) => {
  const latest = (l: MetricSeries) => l.points.filter(([, v]) => v !== null).at(-1)?.[1] ?? null
  const label = chart.lines.length === 0
    ? `${chart.name}: nothing counted in the last ${range}`
    : `${chart.name}, busiest first over the last ${range}: ${chart.lines.map((l) => `${l.name} now ${formatFigure(latest(l), l.unit)}`).join(", ")}`
  return (
    <figure class="chart wide" data-testid={`chart-${chart.name}`}>
      <figcaption><span>{chart.name}</span></figcaption>
      <MultiLine lines={chart.lines} fromMs={fromMs} toMs={toMs} label={label} />
      {chart.lines.length === 0 ? <span class="detail">nothing counted in the last {range}</span> : (
        <ul class="legend">
          {chart.lines.map((l, i) => <li key={l.name}><span class={`swatch line-${i}`} aria-hidden="true" />{l.name} <strong>{formatFigure(latest(l), l.unit)}</strong></li>)}
        </ul>
      )}
    </figure>
  )
}

/** One node's charts: this node's when `node` is undefined, another member's (asked through this console) otherwise. */
export const MetricCharts = ({ node }: { readonly node?: string }) => {
  const [range, setRange] = useState(900)
  const query = node === undefined ? `range=${range}` : `node=${encodeURIComponent(node)}&range=${range}`
  const polled = usePolling(() => callJson<MetricsView>("GET", `/api/metrics?${query}`), 5000, [query])
  const key = node ?? "self"
  const view = polled.value
  const toMs = view?.nowMs ?? 0
  const rangeName = RANGES.find(([, s]) => s === range)?.[0] ?? `${range} s`
  return (
    <section aria-labelledby={`charts-title-${key}`} data-testid={`charts-${node ?? "self"}`}>
      <h2 id={`charts-title-${key}`}>Metrics of node {view?.node ?? node ?? "…"}</h2>
      <div class="inline">
        <label for={`chart-range-${key}`}>Range</label>
        <select id={`chart-range-${key}`} value={String(range)} onChange={(e) => setRange(Number(e.currentTarget.value))}>
          {RANGES.map(([name, s]) => <option key={s} value={String(s)}>Last {name}</option>)}
        </select>
        {view === undefined ? null : <span class="detail">sampled every {view.stepMs / 1000} s since this node started, kept for {view.keptSeconds / 60} minutes</span>}
      </div>
      <ErrorMessage error={polled.error} />
      {view === undefined ? <p>Loading…</p> : (
        <div class="charts">
          {view.series.map((s) => <Chart key={s.name} series={s} fromMs={toMs - range * 1000} toMs={toMs} range={rangeName} />)}
          {view.split.map((c) => <SplitChartView key={c.name} chart={c} fromMs={toMs - range * 1000} toMs={toMs} range={rangeName} />)}
        </div>
      )}
    </section>
  )
}

/**
 * The cluster page's charts: this node's by default; another member's, or every member's one after another, on
 * request (each member keeps its own history; this console asks it for it).
 */
export const NodeCharts = ({ self, members }: { readonly self: string; readonly members: ReadonlyArray<string> }) => {
  const [shown, setShown] = useState<string>(self)
  const others = members.filter((m) => m !== self)
  return (
    <>
      <div class="inline">
        <label for="charts-of">Charts of</label>
        <select id="charts-of" value={shown} onChange={(e) => setShown(e.currentTarget.value)}>
          <option value={self}>this node ({self})</option>
          {others.map((m) => <option key={m} value={m}>{m}</option>)}
          <option value="*">every node</option>
        </select>
      </div>
      {shown === "*"
        ? members.map((m) => <MetricCharts key={m} {...(m === self ? {} : { node: m })} />)
        : <MetricCharts key={shown} {...(shown === self ? {} : { node: shown })} />}
    </>
  )
}
