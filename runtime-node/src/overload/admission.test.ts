/**
 * Admission control's rules, driven directly on a fake clock: requests are
 * served up to the limits, then queued up to the queue's bound, then shed;
 * a release serves the oldest waiter that fits; one client cannot take the
 * whole queue nor the whole byte budget; a waiter whose client leaves is
 * forgotten, one that waits too long is shed.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest"
import { makeAdmission, type Release, type ShedReason } from "./admission.ts"
import type { AdmissionLimits } from "./limits.ts"

const limits: AdmissionLimits = {
  maxInflightRequests: 2,
  maxInflightBytes: 100,
  maxClientInflight: 2,
  maxClientInflightBytes: 100,
  maxQueuedRequests: 2,
  queueTimeoutMs: 60_000
}

/** Offers a request and records what happened to it. */
const offer = (admission: ReturnType<typeof makeAdmission>, client: string, bytes = 0) => {
  const outcome: { admitted: boolean; shed: ShedReason | undefined; release: Release } = { admitted: false, shed: undefined, release: () => {} }
  const cancel = admission.offer({
    client,
    bytes,
    admit: (release) => {
      outcome.admitted = true
      outcome.release = release
    },
    shed: (reason) => {
      outcome.shed = reason
    }
  })
  return { outcome, cancel }
}

beforeEach(() => {
  vi.useFakeTimers()
})
afterEach(() => {
  vi.useRealTimers()
})

describe("admission", () => {
  it("serves up to the limit, queues up to the bound, then sheds; a release serves the oldest waiter", () => {
    const admission = makeAdmission(limits)
    const a = offer(admission, "a").outcome
    const b = offer(admission, "b").outcome
    const c = offer(admission, "c").outcome
    const d = offer(admission, "d").outcome
    const e = offer(admission, "e").outcome
    expect([a.admitted, b.admitted, c.admitted, d.admitted]).toEqual([true, true, false, false])
    expect(e.shed).toBe("queue-full")
    expect(admission.stats()).toMatchObject({ inflightRequests: 2, queued: 2, shed: { "queue-full": 1 } })
    a.release()
    a.release()
    expect(c.admitted).toBe(true)
    expect(d.admitted).toBe(false)
    expect(admission.stats()).toMatchObject({ inflightRequests: 2, queued: 1 })
  })

  it("bounds the declared body bytes in flight, but serves a body larger than the budget alone", () => {
    const admission = makeAdmission({ ...limits, maxClientInflightBytes: 1_000 })
    const big = offer(admission, "a", 1_000).outcome
    const small = offer(admission, "b", 10).outcome
    expect([big.admitted, small.admitted]).toEqual([true, false])
    expect(admission.stats().inflightBytes).toBe(100)
    big.release()
    expect(small.admitted).toBe(true)
    const other = offer(admission, "c", 95).outcome
    expect(other.admitted).toBe(false)
  })

  it("limits one client's requests in flight and in the queue", () => {
    const admission = makeAdmission({ ...limits, maxInflightRequests: 10, maxQueuedRequests: 10, maxClientInflight: 1 })
    const first = offer(admission, "greedy").outcome
    const second = offer(admission, "greedy").outcome
    const third = offer(admission, "greedy").outcome
    const polite = offer(admission, "polite").outcome
    expect([first.admitted, second.admitted, polite.admitted]).toEqual([true, false, true])
    expect(third.shed).toBe("client-limit")
    first.release()
    expect(second.admitted).toBe(true)
  })

  it("limits one client's body bytes in flight while another client's still fit", () => {
    const admission = makeAdmission({ ...limits, maxInflightRequests: 10, maxQueuedRequests: 10, maxInflightBytes: 1_000, maxClientInflightBytes: 50 })
    const first = offer(admission, "big", 40).outcome
    const second = offer(admission, "big", 40).outcome
    const other = offer(admission, "small", 40).outcome
    expect([first.admitted, second.admitted, other.admitted]).toEqual([true, false, true])
    first.release()
    expect(second.admitted).toBe(true)
  })

  it("forgets a waiter whose client left, and sheds one that waited too long", () => {
    const admission = makeAdmission({ ...limits, maxInflightRequests: 1, queueTimeoutMs: 5 })
    const held = offer(admission, "a").outcome
    const left = offer(admission, "b")
    left.cancel()
    expect(admission.stats().queued).toBe(0)
    const waits = offer(admission, "c").outcome
    vi.advanceTimersByTime(4)
    expect(waits.shed).toBeUndefined()
    vi.advanceTimersByTime(1)
    expect(waits.shed).toBe("queue-timeout")
    held.release()
    expect(left.outcome.admitted).toBe(false)
    expect(admission.stats()).toMatchObject({ inflightRequests: 0, queued: 0, shed: { "queue-timeout": 1 } })
  })

  it("a waiter served before its deadline is never shed by it", () => {
    const admission = makeAdmission({ ...limits, maxInflightRequests: 1, queueTimeoutMs: 5 })
    const held = offer(admission, "a").outcome
    const waits = offer(admission, "b").outcome
    held.release()
    vi.advanceTimersByTime(10)
    expect(waits).toMatchObject({ admitted: true, shed: undefined })
    expect(admission.stats().shed["queue-timeout"]).toBe(0)
  })
})

describe("admission under an adaptive limit", () => {
  it("serves no more than a lowered limit, and serves waiters as soon as it is raised", () => {
    const admission = makeAdmission({ ...limits, maxInflightRequests: 4, maxQueuedRequests: 4, maxClientInflight: 4 })
    admission.setInflightLimit(1)
    const a = offer(admission, "a").outcome
    const b = offer(admission, "b").outcome
    expect([a.admitted, b.admitted]).toEqual([true, false])
    admission.setInflightLimit(2)
    expect(b.admitted).toBe(true)
    expect(admission.stats()).toMatchObject({ inflightLimit: 2, inflightRequests: 2, queued: 0 })
    expect(() => admission.setInflightLimit(5)).toThrow()
    expect(() => admission.setInflightLimit(0)).toThrow()
  })
})
