/**
 * A small line chart drawn by hand in SVG: no chart library (ADR 0010).
 * Time runs left to right over the range shown; values from 0 at the
 * bottom to the highest in range at the top; a gap where a figure is
 * unknown. The chart is an image whose label says what it shows in words.
 * `MultiLine` draws a figure split by a label (one line per value) the same way.
 */
import type { MetricSeries } from "../../../runtime-node/src/console/contract.ts"

const W = 240
const H = 56

/** The SVG path of the points, broken at each unknown value. */
export const pathOf = (points: MetricSeries["points"], fromMs: number, toMs: number, max: number): string => {
  let d = ""
  let drawing = false
  for (const [t, v] of points) {
    if (v === null) {
      drawing = false
      continue
    }
    const x = ((t - fromMs) / Math.max(1, toMs - fromMs)) * W
    const y = H - 2 - (max > 0 ? (v / max) * (H - 4) : 0)
    d += `${drawing ? "L" : "M"}${x.toFixed(1)},${y.toFixed(1)}`
    drawing = true
  }
  return d
}

export const Sparkline = ({ series, fromMs, toMs, label }: { readonly series: MetricSeries; readonly fromMs: number; readonly toMs: number; readonly label: string }) => {
  const values = series.points.map(([, v]) => v).filter((v): v is number => v !== null)
  const max = Math.max(0, ...values)
  return (
    <svg class="sparkline" viewBox={`0 0 ${W} ${H}`} preserveAspectRatio="none" role="img" aria-label={label}>
      <line x1="0" y1={H - 2} x2={W} y2={H - 2} class="axis" />
      <path d={pathOf(series.points, fromMs, toMs, max)} />
    </svg>
  )
}

/** Several lines over one scale (a figure split by a label): line i takes the colour `line-i` of the page's palette. */
export const MultiLine = ({ lines, fromMs, toMs, label }: { readonly lines: ReadonlyArray<MetricSeries>; readonly fromMs: number; readonly toMs: number; readonly label: string }) => {
  const values = lines.flatMap((l) => l.points.map(([, v]) => v)).filter((v): v is number => v !== null)
  const max = Math.max(0, ...values)
  return (
    <svg class="sparkline multi" viewBox={`0 0 ${W} ${H}`} preserveAspectRatio="none" role="img" aria-label={label}>
      <line x1="0" y1={H - 2} x2={W} y2={H - 2} class="axis" />
      {lines.map((l, i) => <path key={l.name} class={`line-${i}`} d={pathOf(l.points, fromMs, toMs, max)} />)}
    </svg>
  )
}
