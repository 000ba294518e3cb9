/**
 * Side-by-side timings for `npm run bench -- sim`: the simulator's hot
 * functions as they were before issue 21's speed-ups (frozen copies of
 * commit 4505539 for the trace and the body check, of commit 0a73696 for the
 * codec's strings; kept only here, as the baseline) against the current
 * ones, on the same inputs in the same run. Every pair is checked to give the
 * same result before its time counts.
 */
import { Reader } from "@cairn/core/codec/reader"
import { Writer } from "@cairn/core/codec/writer"
import { Trace } from "@cairn/sim"
import { bodyOf, RecentBodies, valueOfBody } from "@cairn/sim/workload/objects"

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

const encoder = new TextEncoder()
const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true })

/** Writer.string before (commit 0a73696): every string through the TextEncoder, then copied in. */
const writeStringBefore = (w: Writer, v: string): void => w.raw(encoder.encode(v))

/** Reader.string before: the bytes copied out, then the fatal decoder. */
const readStringBefore = (r: Reader): string => decoder.decode(r.raw())

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
  // Node ids and keys, as Raft messages and KV commands carry them.
  const strings = Array.from({ length: 50_000 }, (_, i) => (i % 3 === 0 ? `n${i % 5}` : `key-${i % 977}`))
  const writeAll = (write: (w: Writer, v: string) => void): Uint8Array => {
    const w = new Writer()
    for (const v of strings) write(w, v)
    return w.finish()
  }
  const encoded = writeAll((w, v) => w.string(v))
  if (!Buffer.from(encoded).equals(Buffer.from(writeAll(writeStringBefore)))) throw new Error("string encodings disagree")
  const readAll = (read: (r: Reader) => string): Array<string> => {
    const r = new Reader(encoded)
    return strings.map(() => read(r))
  }
  if (readAll((r) => r.string()).join() !== readAll(readStringBefore).join()) throw new Error("string decodings disagree")
  // The objects workload's read check: the body regenerated (before) or the remembered put body (after).
  const recent = new RecentBodies(64 * 1024 * 1024)
  for (const [v, size] of sizes) recent.put(v, size)
  return [
    compare("codec Writer.string", "4 × 50,000 short ASCII strings", () => {
      for (let k = 0; k < 4; k++) writeAll(writeStringBefore)
    }, () => {
      for (let k = 0; k < 4; k++) writeAll((w, v) => w.string(v))
    }),
    compare("codec Reader.string", "4 × 50,000 short ASCII strings", () => {
      for (let k = 0; k < 4; k++) readAll(readStringBefore)
    }, () => {
      for (let k = 0; k < 4; k++) readAll((r) => r.string())
    }),
    compare("objects read check, remembered body", "20 × 3 bodies (70 KB, 300 KB, 1.1 MB)", () => {
      for (let k = 0; k < 20; k++) for (const body of bodies) valueOfBody(body, sizes)
    }, () => {
      for (let k = 0; k < 20; k++) for (const body of bodies) valueOfBody(body, sizes, [], recent)
    }),
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
