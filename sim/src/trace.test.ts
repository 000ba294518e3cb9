import { describe, expect, it } from "vitest"
import { Trace } from "./trace.ts"

/** The hash as first defined: both FNV-1a lanes over the text `${timeNs}|${event}` of every event. */
const referenceHash = (events: ReadonlyArray<readonly [number, string]>): string => {
  let a = 0x811c9dc5
  let b = 0x01000193 ^ 0x5bd1e995
  for (const [timeNs, event] of events) {
    const text = `${timeNs}|${event}`
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i)
      a = Math.imul(a ^ c, 0x01000193)
      b = Math.imul(b ^ c, 0x0100019d) ^ (b >>> 15)
    }
  }
  return (a >>> 0).toString(16).padStart(8, "0") + (b >>> 0).toString(16).padStart(8, "0")
}

const sampleEvents = (n: number): Array<readonly [number, string]> =>
  Array.from({ length: n }, (_, i) => [i * 1_234_567 + (i % 3 === 0 ? 0.5 : 0), `n${i % 5} write shards/${i} ${i * 4096}+${i % 7} é|${i}`] as const)

describe("Trace", () => {
  it("hashes exactly the text `${timeNs}|${event}` of every event, in order", () => {
    const events = sampleEvents(300)
    const trace = new Trace()
    for (const [t, e] of events) trace.record(t, e)
    expect(trace.hash).toBe(referenceHash(events))
    expect(trace.events).toBe(300)
    const swapped = [events[1]!, events[0]!, ...events.slice(2)]
    expect(trace.hash).not.toBe(referenceHash(swapped))
  })

  it("keeps the last 64 events, oldest first, formatted with their time in ms", () => {
    const trace = new Trace()
    expect(trace.recent()).toEqual([])
    trace.record(1_500_000, "first")
    expect(trace.recent()).toEqual(["t=1.500ms first"])
    const events = sampleEvents(200)
    for (const [t, e] of events) trace.record(t, e)
    expect(trace.recent()).toEqual(events.slice(-64).map(([t, e]) => `t=${(t / 1e6).toFixed(3)}ms ${e}`))
  })
})
