/**
 * Side-by-side timings for `npm run bench -- sim`: the simulator's hot
 * functions as they were before issue 21's first speed-ups (frozen copies of
 * commit 4505539, kept only here, as the baseline) against the current ones,
 * on the same inputs in the same run.
 */
import { Trace } from "@cairn/sim"
import { bodyOf, valueOfBody } from "@cairn/sim/workload/objects"

/** The trace recorder before: built the hashed text and formatted a ring entry for every event. */
class TraceBefore {
  private hashA = 0x811c9dc5
  private hashB = 0x01000193 ^ 0x5bd1e995
  private readonly ring: Array<string> = []

  record(timeNs: number, event: string): void {
    let a = this.hashA
    let b = this.hashB
    const text = `${timeNs}|${event}`
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i)
      a = Math.imul(a ^ c, 0x01000193)
      b = Math.imul(b ^ c, 0x0100019d) ^ (b >>> 15)
    }
    this.hashA = a
    this.hashB = b
    if (this.ring.length === 64) this.ring.shift()
    this.ring.push(`t=${(timeNs / 1e6).toFixed(3)}ms ${event}`)
  }

  get hash(): string {
    return (this.hashA >>> 0).toString(16).padStart(8, "0") + (this.hashB >>> 0).toString(16).padStart(8, "0")
  }
}

/** The body check before: built the expected body, then compared with `every`. */
const valueOfBodyBefore = (body: Uint8Array, sizes: ReadonlyMap<number, number>): number | undefined => {
  const view = new DataView(body.buffer, body.byteOffset, 8)
  const v = view.getUint32(0)
  if (view.getUint32(4) !== body.length || sizes.get(v) !== body.length) return undefined
  const expected = bodyOf(v, body.length)
  return expected.every((b, i) => b === body[i]) ? v : undefined
}

const cpuMs = (f: () => void): number => {
  const start = process.cpuUsage()
  f()
  const used = process.cpuUsage(start)
  return (used.user + used.system) / 1000
}

export type HotPathRow = {
  readonly function: string
  readonly work: string
  readonly beforeCpuMs: number
  readonly afterCpuMs: number
  readonly speedup: number
}


/** Times `before` and `after` alternately, five times each after a warm-up, and keeps each one's fastest run. */
const compare = (name: string, work: string, before: () => unknown, after: () => unknown): HotPathRow => {
  before()
  after()
  let beforeCpuMs = Number.POSITIVE_INFINITY
  let afterCpuMs = Number.POSITIVE_INFINITY
  for (let round = 0; round < 5; round++) {
    beforeCpuMs = Math.min(beforeCpuMs, cpuMs(before))
    afterCpuMs = Math.min(afterCpuMs, cpuMs(after))
  }
  return { function: name, work, beforeCpuMs: Math.round(beforeCpuMs), afterCpuMs: Math.round(afterCpuMs), speedup: Math.round((beforeCpuMs / afterCpuMs) * 10) / 10 }
}

/** Trace events shaped like a run's (disk and network descriptions, growing virtual times). */
const traceEvents = Array.from({ length: 200_000 }, (_, i) => [
  1_000_000_000 + i * 37_123,
  i % 2 === 0 ? `n${i % 5} write wal/segment-${i % 9} ${i * 512}+${200 + (i % 300)}` : `net send n${i % 5}>n${(i + 1) % 5} ${i % 4000} copy=0`
] as const)

/** Runs both comparisons; every pair is checked to agree before its time counts. */
export const hotPaths = (): ReadonlyArray<HotPathRow> => {
  const sizes = new Map<number, number>([[11, 70_000], [12, 300_000], [13, 1_100_000]])
  const bodies = [...sizes].map(([v, size]) => bodyOf(v, size))
  for (const body of bodies) if (valueOfBody(body, sizes) !== valueOfBodyBefore(body, sizes)) throw new Error("body checks disagree")
  const before = new TraceBefore()
  const after = new Trace()
  for (const [t, e] of traceEvents) {
    before.record(t, e)
    after.record(t, e)
  }
  if (before.hash !== after.hash) throw new Error("trace hashes disagree")
  return [
    compare("objects valueOfBody", "20 × 3 bodies (70 KB, 300 KB, 1.1 MB)", () => {
      for (let k = 0; k < 20; k++) for (const body of bodies) valueOfBodyBefore(body, sizes)
    }, () => {
      for (let k = 0; k < 20; k++) for (const body of bodies) valueOfBody(body, sizes)
    }),
    compare("Trace.record", "5 × 200,000 events", () => {
      for (let k = 0; k < 5; k++) {
        const trace = new TraceBefore()
        for (const [t, e] of traceEvents) trace.record(t, e)
      }
    }, () => {
      for (let k = 0; k < 5; k++) {
        const trace = new Trace()
        for (const [t, e] of traceEvents) trace.record(t, e)
      }
    })
  ]
}
