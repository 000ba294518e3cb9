/**
 * The HTML report: one self-contained file (inline CSS and SVG, no scripts
 * from anywhere) that opens offline. It shows the verdicts, the command that
 * reproduces the run, a per-process timeline of operations with the
 * counterexample highlighted (in the manner of Porcupine's visualisation),
 * latency and throughput over time with fault intervals shaded, and the
 * counterexample step by step. Pure: returns a string.
 */
import type { Counterexample } from "../checker/linearizability.ts"
import type { Op } from "../history/op.ts"
import { isClientProcess, pairOps } from "../history/op.ts"
import type { FaultInterval } from "../nemesis/fault.ts"

export interface ReportVerdict {
  readonly checker: string
  readonly verdict: "valid" | "invalid" | "unknown"
  readonly detail?: string
}

export interface ReportInput {
  readonly title: string
  readonly history: ReadonlyArray<Op>
  readonly verdicts: ReadonlyArray<ReportVerdict>
  readonly counterexample?: Counterexample | undefined
  /** Fault intervals in the history's time unit (op.time, or the index when ops have no time). */
  readonly faults?: ReadonlyArray<FaultInterval>
  readonly reproduce?: string
  /** Most ops drawn on the timeline; a window around the counterexample is kept. */
  readonly maxTimelineOps?: number
}

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
const fmt = (v: unknown) => (v === undefined ? "" : typeof v === "string" ? v : JSON.stringify(v))
const colour = { ok: "#2e8540", fail: "#888", info: "#e08a00", open: "#e08a00" } as const
const faultColour = (kind: string) =>
  ({ partition: "#f4cccc", kill: "#d9d2e9", pause: "#cfe2f3", "clock-skew": "#fff2cc", "disk-fault": "#ead1dc", membership: "#d9ead3" })[kind] ?? "#eee"

/** Fault intervals read from nemesis ops: `start*` opens one, `stop*` closes the latest of that name. */
export const nemesisIntervals = (history: ReadonlyArray<Op>): Array<FaultInterval> => {
  const t = (op: Op) => op.time ?? op.index
  const open = new Map<string, Op>()
  const out: Array<FaultInterval> = []
  for (const op of history) {
    if (isClientProcess(op.process) || op.type === "invoke") continue
    const m = /^(start|stop)-?(.*)$/.exec(op.f)
    if (m === null) continue
    const kind = m[2] || "fault"
    if (m[1] === "start") open.set(kind, op)
    else {
      const s = open.get(kind)
      if (s) out.push({ kind, start: t(s), end: t(op), label: `${kind} ${fmt(s.value)}` })
      open.delete(kind)
    }
  }
  const end = history.length > 0 ? t(history[history.length - 1]!) : 0
  for (const [kind, s] of open) out.push({ kind, start: t(s), end, label: `${kind} ${fmt(s.value)} (never stopped)` })
  return out
}

interface Bar {
  readonly id: number
  readonly process: number | string
  readonly start: number
  readonly end: number
  readonly type: "ok" | "fail" | "info" | "open"
  readonly label: string
  readonly latency: number | undefined
}

const bars = (history: ReadonlyArray<Op>, endTime: number): Array<Bar> => {
  const t = (op: Op) => op.time ?? op.index
  return pairOps(history).map((p) => {
    const c = p.completion
    const type = c === undefined ? "open" : c.type === "invoke" ? "open" : c.type
    return {
      id: p.invoke.index,
      process: p.invoke.process,
      start: t(p.invoke),
      end: c === undefined || c.type === "info" ? endTime : t(c),
      type,
      label: `${p.invoke.f} ${fmt(p.invoke.value)}${c ? ` → ${c.type} ${fmt(c.value)}` : " (no completion)"}`,
      latency: c === undefined || c.type === "info" ? undefined : t(c) - t(p.invoke)
    }
  })
}

const shade = (faults: ReadonlyArray<FaultInterval>, x: (t: number) => number, y0: number, h: number) =>
  faults
    .map(
      (f) =>
        `<rect x="${x(f.start).toFixed(1)}" y="${y0}" width="${Math.max(1, x(f.end) - x(f.start)).toFixed(1)}" height="${h}" fill="${faultColour(f.kind)}" opacity="0.6"><title>${esc(f.label ?? f.kind)}</title></rect>`
    )
    .join("")

const timeline = (input: ReportInput, all: ReadonlyArray<Bar>, t0: number, t1: number): string => {
  const cx = input.counterexample
  const inPrefix = new Map((cx?.linearized ?? []).map((s, i) => [s.id, i + 1]))
  const blocked = cx?.blocked?.id
  const candidates = new Set((cx?.candidates ?? []).map((c) => c.id))
  const max = input.maxTimelineOps ?? 1500
  let shown = all
  let note = ""
  if (all.length > max) {
    // Keep a window around the failure (or the start).
    const focus = blocked !== undefined ? all.findIndex((b) => b.id === blocked) : 0
    const from = Math.max(0, Math.min(all.length - max, focus - Math.floor(max * 0.8)))
    shown = all.slice(from, from + max)
    note = `<p class="note">Showing ${max} of ${all.length} operations${blocked !== undefined ? ", around the failure" : ""}.</p>`
  }
  const lo = shown.length ? Math.min(...shown.map((b) => b.start)) : t0
  const hi = shown.length ? Math.max(...shown.map((b) => Math.min(b.end, t1))) : t1
  const procs = [...new Set(shown.map((b) => String(b.process)))].sort((a, b) => Number(a) - Number(b) || a.localeCompare(b))
  const lane = new Map(procs.map((p, i) => [p, i]))
  const W = 1100
  const left = 60
  const laneH = 18
  const H = procs.length * laneH + 30
  const x = (t: number) => left + ((t - lo) / Math.max(1, hi - lo)) * (W - left - 10)
  const rects = shown
    .map((b) => {
      const y = lane.get(String(b.process))! * laneH + 20
      const cls = b.id === blocked ? "blocked" : candidates.has(b.id) ? "candidate" : inPrefix.has(b.id) ? "linearized" : ""
      const w = Math.max(2, x(Math.min(b.end, hi)) - x(b.start))
      const order = inPrefix.get(b.id)
      return (
        `<g class="op ${cls}"><rect x="${x(b.start).toFixed(1)}" y="${y}" width="${w.toFixed(1)}" height="${laneH - 4}" rx="2" fill="${colour[b.type]}"${b.type === "info" || b.type === "open" ? ' fill-opacity="0.45" stroke-dasharray="3 2"' : ""}>` +
        `<title>#${b.id} p${esc(String(b.process))}: ${esc(b.label)}${order ? ` — linearized #${order}` : ""}${b.id === blocked ? " — could not be linearized" : ""}</title></rect>` +
        (w > 30 ? `<text x="${(x(b.start) + 3).toFixed(1)}" y="${y + 11}">${esc(b.label.slice(0, Math.floor(w / 6)))}</text>` : "") +
        `</g>`
      )
    })
    .join("")
  const labels = procs.map((p, i) => `<text class="lane" x="4" y="${i * laneH + 32}">p${esc(p)}</text>`).join("")
  return `${note}<svg viewBox="0 0 ${W} ${H}" width="100%" class="timeline">${shade(input.faults ?? [], x, 14, H - 14)}${labels}${rects}</svg>`
}

const chart = (title: string, points: ReadonlyArray<readonly [number, number, string]>, faults: ReadonlyArray<FaultInterval>, t0: number, t1: number, line: boolean): string => {
  const W = 1100
  const H = 200
  const left = 60
  const ymax = points.reduce((m, p) => Math.max(m, p[1]), 1)
  const x = (t: number) => left + ((t - t0) / Math.max(1, t1 - t0)) * (W - left - 10)
  const y = (v: number) => H - 20 - (v / ymax) * (H - 40)
  const body = line
    ? `<polyline fill="none" stroke="#1f5fa8" stroke-width="1.5" points="${points.map((p) => `${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join(" ")}"/>`
    : points.map((p) => `<circle cx="${x(p[0]).toFixed(1)}" cy="${y(p[1]).toFixed(1)}" r="1.6" fill="${p[2]}"/>`).join("")
  return (
    `<h3>${esc(title)}</h3><svg viewBox="0 0 ${W} ${H}" width="100%" class="chart">${shade(faults, x, 10, H - 30)}` +
    `<line x1="${left}" y1="${H - 20}" x2="${W - 10}" y2="${H - 20}" stroke="#444"/><line x1="${left}" y1="10" x2="${left}" y2="${H - 20}" stroke="#444"/>` +
    `<text x="4" y="18">${esc(fmtNum(ymax))}</text><text x="4" y="${H - 22}">0</text>${body}</svg>`
  )
}

const fmtNum = (v: number) => (v >= 100 ? Math.round(v).toString() : v.toPrecision(3))

const counterexampleTable = (cx: Counterexample): string => {
  const tail = cx.linearized.slice(-25)
  const skipped = cx.linearized.length - tail.length
  return (
    `<h2>Counterexample${cx.partition !== undefined ? ` (key ${esc(fmt(cx.partition))})` : ""}</h2>` +
    `<p>The longest linearizable prefix has ${cx.linearized.length} operations${skipped ? ` (last ${tail.length} shown)` : ""}. After it the state is <code>${esc(cx.state)}</code>.</p>` +
    `<table><tr><th>#</th><th>op</th><th>process</th><th>operation</th><th>state after</th></tr>` +
    tail.map((s, i) => `<tr class="linearized"><td>${skipped + i + 1}</td><td>${s.id}</td><td>${esc(String(s.process))}</td><td>${esc(s.description)}</td><td><code>${esc(s.stateAfter)}</code></td></tr>`).join("") +
    `</table>` +
    (cx.blocked ? `<p class="blocked-text">Operation ${cx.blocked.id} (process ${esc(String(cx.blocked.process))}, <code>${esc(cx.blocked.description)}</code>) completed here but cannot be linearized next.</p>` : "") +
    (cx.candidates.length
      ? `<p>Candidates at that point:</p><ul>${cx.candidates.map((c) => `<li>op ${c.id} (process ${esc(String(c.process))}): <code>${esc(c.description)}</code> — ${c.legal ? "legal here, but every continuation fails" : "impossible in this state"}</li>`).join("")}</ul>`
      : "")
  )
}

export const renderReport = (input: ReportInput): string => {
  const times = input.history.map((op) => op.time ?? op.index)
  const t0 = times.reduce((a, b) => Math.min(a, b), times.length ? Infinity : 0)
  const t1 = times.reduce((a, b) => Math.max(a, b), times.length ? -Infinity : 1)
  const all = bars(input.history, t1)
  const faults = input.faults ?? []
  const unit = input.history.some((op) => op.time !== undefined) ? "time" : "history index"
  const latency = all.filter((b) => b.latency !== undefined).map((b) => [b.start, b.latency!, colour[b.type]] as const)
  const buckets = 100
  const width = Math.max(1, (t1 - t0) / buckets)
  const counts = new Array<number>(buckets + 1).fill(0)
  for (const b of all) if (b.type === "ok") counts[Math.min(buckets, Math.floor((b.end - t0) / width))]!++
  const throughput = counts.map((c, i) => [t0 + i * width, c, ""] as const)
  const overall = input.verdicts.some((v) => v.verdict === "invalid") ? "invalid" : input.verdicts.some((v) => v.verdict === "unknown") ? "unknown" : "valid"
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(input.title)}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;max-width:1200px}
h1{font-size:22px} h2{font-size:18px;margin-top:28px} h3{font-size:15px;margin:16px 0 4px}
.verdict{display:inline-block;padding:2px 10px;border-radius:4px;color:#fff;font-weight:600}
.valid{background:#2e8540}.invalid{background:#c62828}.unknown{background:#e08a00}
table{border-collapse:collapse} td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}
pre{background:#f4f4f4;padding:8px;overflow-x:auto} code{background:#f4f4f4;padding:0 3px}
svg text{font:10px monospace;fill:#111} svg text.lane{font-weight:600}
g.linearized rect{stroke:#1f5fa8;stroke-width:2} g.candidate rect{stroke:#c62828;stroke-width:1.5;stroke-dasharray:2 2}
g.blocked rect{stroke:#c62828;stroke-width:3;fill:#c62828}
.legend span{display:inline-block;margin-right:14px} .legend i{display:inline-block;width:12px;height:10px;margin-right:4px;vertical-align:middle}
.note,.blocked-text{color:#c62828}
</style></head><body>
<h1>${esc(input.title)} <span class="verdict ${overall}">${overall}</span></h1>
<table><tr><th>checker</th><th>verdict</th><th>detail</th></tr>${input.verdicts.map((v) => `<tr><td>${esc(v.checker)}</td><td><span class="verdict ${v.verdict}">${v.verdict}</span></td><td>${esc(v.detail ?? "")}</td></tr>`).join("")}</table>
${input.reproduce ? `<h2>Reproduce</h2><pre>${esc(input.reproduce)}</pre>` : ""}
<h2>Timeline</h2>
<p class="legend"><span><i style="background:${colour.ok}"></i>ok</span><span><i style="background:${colour.fail}"></i>fail</span><span><i style="background:${colour.info};opacity:.5"></i>info / open (until the end)</span><span><i style="border:2px solid #1f5fa8"></i>in the longest linearizable prefix</span><span><i style="background:#c62828"></i>could not be linearized</span>${[...new Set(faults.map((f) => f.kind))].map((k) => `<span><i style="background:${faultColour(k)}"></i>${esc(k)}</span>`).join("")}</p>
${timeline(input, all, t0, t1)}
${input.counterexample ? counterexampleTable(input.counterexample) : ""}
<h2>Latency and throughput</h2>
<p>x axis: ${unit}; faults shaded.</p>
${chart(`latency (${unit} units) by invocation`, latency, faults, t0, t1, false)}
${chart(`completed ok operations per ${fmtNum(width)} ${unit} units`, throughput, faults, t0, t1, true)}
${faults.length ? `<h2>Faults</h2><table><tr><th>kind</th><th>start</th><th>end</th><th>what</th></tr>${faults.map((f) => `<tr><td>${esc(f.kind)}</td><td>${f.start}</td><td>${f.end}</td><td>${esc(f.label ?? "")}</td></tr>`).join("")}</table>` : ""}
<p class="footer">${input.history.length} events, ${all.length} client operations. Generated by Cairn's jepsen checker.</p>
</body></html>
`
}
