/**
 * Per-client accounting: a client's share of requests and bytes, queued
 * requests bounded as in-flight ones are, and a client with nothing left is
 * forgotten (the table cannot grow with the number of clients ever seen).
 */
import { describe, expect, it } from "vitest"
import { ClientAccounts } from "./client-accounts.ts"
import type { AdmissionLimits } from "./limits.ts"

const limits: AdmissionLimits = { maxInflightRequests: 100, maxInflightBytes: 1_000, maxClientInflight: 2, maxClientInflightBytes: 100, maxQueuedRequests: 100, queueTimeoutMs: 1 }

describe("client accounts", () => {
  it("bounds a client's requests and bytes, and lets a client with nothing in flight start one of any size", () => {
    const accounts = new ClientAccounts(limits)
    expect(accounts.fits("a", 500)).toBe(true)
    accounts.start("a", 60)
    expect(accounts.fits("a", 50)).toBe(false)
    expect(accounts.fits("a", 40)).toBe(true)
    accounts.start("a", 40)
    expect(accounts.fits("a", 0)).toBe(false)
    expect(accounts.fits("b", 0)).toBe(true)
    accounts.finish("a", 60)
    expect(accounts.fits("a", 60)).toBe(true)
  })

  it("bounds a client's queued requests and forgets clients with nothing left", () => {
    const accounts = new ClientAccounts(limits)
    accounts.enqueue("a")
    accounts.enqueue("a")
    expect(accounts.mayQueue("a")).toBe(false)
    expect(accounts.mayQueue("b")).toBe(true)
    accounts.start("b", 1)
    expect(accounts.size()).toBe(2)
    accounts.dequeue("a")
    accounts.dequeue("a")
    accounts.finish("b", 1)
    expect(accounts.size()).toBe(0)
  })

  it("rejects a release it never charged (an accounting bug, not a client's)", () => {
    const accounts = new ClientAccounts(limits)
    expect(() => accounts.finish("ghost", 0)).toThrow()
    accounts.start("a", 10)
    expect(() => accounts.finish("a", 11)).toThrow()
    expect(() => accounts.dequeue("a")).toThrow()
  })
})
