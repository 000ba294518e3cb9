/**
 * The console's sign-in limiter on a clock the test moves: an address that
 * keeps failing must wait until its oldest failure leaves the window, a key
 * guessed at from many addresses is limited too, a right secret forgives
 * the address, and the limiter never holds more counters than its bound.
 */
import { describe, expect, it } from "vitest"
import { makeSignInLimiter } from "./sign-in-limiter.ts"

const limits = { windowMs: 60_000, perAddress: 3, perKey: 5, maxTracked: 100 }

describe("console sign-in limiter", () => {
  it("makes an address that keeps failing wait until its oldest failure leaves the window", () => {
    let now = 0
    const limiter = makeSignInLimiter(() => now, limits)
    for (let i = 0; i < 3; i++) {
      expect(limiter.admit("10.0.0.1", "AK1")).toEqual({ ok: true })
      limiter.failed("10.0.0.1", "AK1")
      now += 10_000
    }
    // Failures at 0, 10 s and 20 s; now 30 s: the first leaves the window at 60 s.
    expect(limiter.admit("10.0.0.1", "AK1")).toEqual({ ok: false, retryAfterSeconds: 30 })
    expect(limiter.admit("10.0.0.1", "AK2")).toEqual({ ok: false, retryAfterSeconds: 30 })
    expect(limiter.admit("10.0.0.2", "AK1")).toEqual({ ok: true })
    now = 60_000
    expect(limiter.admit("10.0.0.1", "AK1")).toEqual({ ok: true })
  })

  it("limits one key guessed at from many addresses", () => {
    let now = 0
    const limiter = makeSignInLimiter(() => now, limits)
    for (let i = 0; i < 5; i++) {
      expect(limiter.admit(`10.0.1.${i}`, "AKVICTIM")).toEqual({ ok: true })
      limiter.failed(`10.0.1.${i}`, "AKVICTIM")
      now += 1_000
    }
    const refused = limiter.admit("10.0.2.1", "AKVICTIM")
    expect(refused).toEqual({ ok: false, retryAfterSeconds: 55 })
    expect(limiter.admit("10.0.2.1", "AKOTHER")).toEqual({ ok: true })
  })

  it("forgives an address its failures once it signs in, but not the key's failures from elsewhere", () => {
    let now = 0
    const limiter = makeSignInLimiter(() => now, { ...limits, perKey: 4 })
    limiter.failed("10.0.0.9", "AK1")
    limiter.failed("10.0.0.1", "AK1")
    limiter.failed("10.0.0.1", "AK1")
    limiter.failed("10.0.0.1", "AK1")
    expect(limiter.admit("10.0.0.1", "AK2").ok).toBe(false)
    limiter.succeeded("10.0.0.1")
    expect(limiter.admit("10.0.0.1", "AK2")).toEqual({ ok: true })
    // AK1 has 4 failures in the window, from two addresses: still limited.
    expect(limiter.admit("10.0.0.1", "AK1").ok).toBe(false)
  })

  it("never holds more counters than its bound", () => {
    const now = 0
    const limiter = makeSignInLimiter(() => now, { ...limits, maxTracked: 10 })
    for (let i = 0; i < 50; i++) limiter.failed(`10.0.3.${i}`, `AK${i}`)
    expect(limiter.tracked()).toBe(10)
    // The most recent failures are the ones kept.
    limiter.failed("10.0.3.49", "AK49")
    limiter.failed("10.0.3.49", "AK49")
    expect(limiter.admit("10.0.3.49", "AKX").ok).toBe(false)
  })
})
