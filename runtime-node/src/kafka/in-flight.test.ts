import type { FrameOutcome } from "@cairn/core/kafka/broker/handle-frame"
import { describe, expect, it } from "vitest"
import { InFlight } from "./in-flight.ts"

/** A request frame body whose API key is `apiKey` (0: Produce), `bytes` long. */
const frame = (apiKey: number, bytes = 16) => {
  const body = new Uint8Array(bytes)
  new DataView(body.buffer).setInt16(0, apiKey)
  return body
}
const pending = () => new Promise<FrameOutcome>(() => undefined)

describe("InFlight", () => {
  it("lets anything start alone, and only Produce requests start behind others", () => {
    const inFlight = new InFlight({ appends: 16, requests: 32, bytes: 1 << 20 })
    expect(inFlight.mayStart(frame(3))).toBe(true)
    inFlight.add(pending(), 16, 0)
    expect(inFlight.mayStart(frame(3))).toBe(false) // Metadata waits
    expect(inFlight.mayStart(frame(0))).toBe(true) // Produce overlaps
  })

  it("stops overlapping at each bound, and frees what an answered request held", () => {
    const inFlight = new InFlight({ appends: 16, requests: 3, bytes: 100 })
    inFlight.add(pending(), 10, 16)
    expect(inFlight.mayStart(frame(0))).toBe(false) // appends
    inFlight.shift()
    inFlight.add(pending(), 60, 1)
    expect(inFlight.mayStart(frame(0, 50))).toBe(false) // bytes
    expect(inFlight.mayStart(frame(0, 40))).toBe(true)
    inFlight.add(pending(), 10, 1)
    inFlight.add(pending(), 10, 1)
    expect(inFlight.mayStart(frame(0, 2))).toBe(false) // requests
    inFlight.shift()
    expect(inFlight.size).toBe(2)
    expect(inFlight.mayStart(frame(0, 2))).toBe(true)
  })

  it("answers the oldest first, settled or not", async () => {
    const inFlight = new InFlight({ appends: 16, requests: 32, bytes: 1 << 20 })
    const silent: FrameOutcome = { _tag: "Silent" }
    inFlight.add(Promise.resolve(silent), 1, 1)
    inFlight.add(pending(), 1, 1)
    expect(inFlight.oldest()).toBeInstanceOf(Promise)
    await Promise.resolve()
    expect(inFlight.oldest()).toBe(silent)
  })
})
