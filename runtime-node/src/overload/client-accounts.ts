/**
 * Per-client accounting for one listener: each client's requests and
 * declared body bytes being served, and its requests waiting. A client
 * with nothing in flight and nothing queued has no entry, so the table
 * holds at most as many clients as the listener holds requests: a flood
 * from many addresses cannot grow it past the listener's own limits.
 */
import { assert } from "@cairn/core/invariant/invariant"
import type { AdmissionLimits } from "./limits.ts"

interface Account {
  inflight: number
  bytes: number
  queued: number
}

export class ClientAccounts {
  private readonly accounts = new Map<string, Account>()
  private readonly limits: AdmissionLimits
  constructor(limits: AdmissionLimits) {
    this.limits = limits
  }

  /** Whether `client` may start one more request of `bytes` (a client with nothing in flight may always start one). */
  fits(client: string, bytes: number): boolean {
    const a = this.accounts.get(client)
    if (a === undefined || a.inflight === 0) return true
    return a.inflight < this.limits.maxClientInflight && a.bytes + bytes <= this.limits.maxClientInflightBytes
  }

  /** Whether `client` may queue one more request. */
  mayQueue(client: string): boolean {
    return (this.accounts.get(client)?.queued ?? 0) < this.limits.maxClientInflight
  }

  start(client: string, bytes: number): void {
    const a = this.account(client)
    a.inflight++
    a.bytes += bytes
  }

  finish(client: string, bytes: number): void {
    const a = this.accounts.get(client)
    assert(a !== undefined && a.inflight > 0 && a.bytes >= bytes, "a client finished a request it was not charged for")
    a.inflight--
    a.bytes -= bytes
    this.forgetIfIdle(client, a)
  }

  enqueue(client: string): void {
    this.account(client).queued++
  }

  dequeue(client: string): void {
    const a = this.accounts.get(client)
    assert(a !== undefined && a.queued > 0, "a client left a queue it was not in")
    a.queued--
    this.forgetIfIdle(client, a)
  }

  /** Clients with an entry (for tests and the invariant that idle clients are forgotten). */
  size(): number {
    return this.accounts.size
  }

  private account(client: string): Account {
    let a = this.accounts.get(client)
    if (a === undefined) this.accounts.set(client, a = { inflight: 0, bytes: 0, queued: 0 })
    return a
  }

  private forgetIfIdle(client: string, a: Account): void {
    if (a.inflight === 0 && a.queued === 0) this.accounts.delete(client)
  }
}
