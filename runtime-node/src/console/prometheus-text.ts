/**
 * Reading figures out of a Prometheus text exposition (what `/metrics`
 * serves): enough for the console's cluster page, which asks each member
 * for its `/metrics` rather than adding a second way to learn the same
 * figures. Comments and malformed lines are skipped; label values are
 * unescaped.
 */

export interface PromSample {
  readonly name: string
  readonly labels: Readonly<Record<string, string>>
  readonly value: number
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\S+)?$/
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g

const unescape = (v: string): string => v.replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c))

const number = (text: string): number =>
  text === "+Inf" ? Number.POSITIVE_INFINITY : text === "-Inf" ? Number.NEGATIVE_INFINITY : text === "NaN" ? Number.NaN : Number(text)

export const parseExposition = (text: string): ReadonlyArray<PromSample> => {
  const out: Array<PromSample> = []
  for (const raw of text.split("\n")) {
    const line = raw.trim()
    if (line === "" || line.startsWith("#")) continue
    const m = LINE.exec(line)
    if (m === null) continue
    const labels: Record<string, string> = {}
    for (const l of (m[2] ?? "").matchAll(LABEL)) labels[l[1]!] = unescape(l[2]!)
    out.push({ name: m[1]!, labels, value: number(m[3]!) })
  }
  return out
}

/**
 * The sum of a metric's samples whose labels include `labels`; null when there is none, or when the figure is not
 * known (NaN: the server could not read it).
 */
export const figure = (samples: ReadonlyArray<PromSample>, name: string, labels: Readonly<Record<string, string>> = {}): number | null => {
  const matching = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
  if (matching.length === 0 || matching.some((s) => Number.isNaN(s.value))) return null
  return matching.reduce((sum, s) => sum + s.value, 0)
}
