/**
 * The adaptive in-flight limit: cut by a quarter on each late sample of the
 * event loop, down to its floor; raised on each prompt one, up to the
 * configured maximum; and the sampler measures how late its timer fired
 * (on a fake clock).
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest"
import { ADAPTIVE_MIN_INFLIGHT, LOOP_DELAY_TARGET_MS, LOOP_SAMPLE_MS, nextLimit, sampleLoopDelay } from "./adaptive-limit.ts"

beforeEach(() => {
  vi.useFakeTimers()
})
afterEach(() => {
  vi.useRealTimers()
})

describe("adaptive limit", () => {
  it("falls fast while the loop is late, never below its floor, and climbs back to the maximum when it is not", () => {
    let limit = 512
    const seen: Array<number> = []
    for (let i = 0; i < 20; i++) seen.push(limit = nextLimit(limit, LOOP_DELAY_TARGET_MS + 1, 512))
    expect(seen.slice(0, 3)).toEqual([384, 288, 216])
    expect(limit).toBe(ADAPTIVE_MIN_INFLIGHT)
    let samples = 0
    while (limit < 512) {
      limit = nextLimit(limit, 0, 512)
      samples++
    }
    expect(limit).toBe(512)
    // Back within a few seconds of sampling: bounded, not one step per sample.
    expect(samples).toBeLessThan(100)
    expect(nextLimit(512, LOOP_DELAY_TARGET_MS, 512)).toBe(512)
  })

  it("keeps a tiny configured maximum and refuses a limit outside its bounds", () => {
    expect(nextLimit(1, 1000, 1)).toBe(1)
    expect(nextLimit(3, 1000, 3)).toBe(3)
    expect(nextLimit(ADAPTIVE_MIN_INFLIGHT + 10, 1000, 1024)).toBe(ADAPTIVE_MIN_INFLIGHT)
    expect(() => nextLimit(600, 0, 512)).toThrow()
  })

  it("samples how late its timer fires", () => {
    let now = 0
    const delays: Array<number> = []
    const sampler = sampleLoopDelay((d) => delays.push(d), () => now)
    now = LOOP_SAMPLE_MS
    vi.advanceTimersByTime(LOOP_SAMPLE_MS)
    // The next tick fires 300 ms late (a busy loop): the clock moved further than the timer's period.
    now += LOOP_SAMPLE_MS + 300
    vi.advanceTimersByTime(LOOP_SAMPLE_MS)
    expect(delays).toEqual([0, 300])
    expect(sampler.delayMs()).toBe(300)
    sampler.stop()
    vi.advanceTimersByTime(LOOP_SAMPLE_MS * 4)
    expect(delays).toHaveLength(2)
  })
})
