/**
 * Admission control for one listener: at most `maxInflightRequests` requests
 * and `maxInflightBytes` declared body bytes served at once, at most
 * `maxClientInflight` of them from one client, and a bounded FIFO wait queue
 * (`maxQueuedRequests`, each waiting at most `queueTimeoutMs`). A request
 * that cannot be served or queued is shed at once, so that past its
 * sustainable rate a node answers "slow down" quickly instead of piling up
 * work, memory and sockets until it falls over.
 *
 * A client is whatever key the listener passes (the remote address): it is
 * known before any byte of the body is read or any signature is checked, and
 * cannot be forged over TCP, so an unauthenticated flood cannot spend another
 * client's share.
 */
import { assert } from "@cairn/core/invariant/invariant"

export interface AdmissionLimits {
  readonly maxInflightRequests: number
  readonly maxInflightBytes: number
  readonly maxClientInflight: number
  readonly maxQueuedRequests: number
  readonly queueTimeoutMs: number
}

/** Why a request was refused: the queue was full, it waited too long, or its client already has its share queued. */
export type ShedReason = "queue-full" | "queue-timeout" | "client-limit"
export const shedReasons: ReadonlyArray<ShedReason> = ["queue-full", "queue-timeout", "client-limit"]

export interface AdmissionStats {
  readonly inflightRequests: number
  readonly inflightBytes: number
  readonly queued: number
  readonly shed: Readonly<Record<ShedReason, number>>
}

/** Ends an admitted request's hold on the limits; calling it twice is harmless. */
export type Release = () => void

export interface Ticket {
  readonly client: string
  /** Declared body bytes (Content-Length; 0 when none). */
  readonly bytes: number
  readonly admit: (release: Release) => void
  readonly shed: (reason: ShedReason) => void
}

export interface Admission {
  /** Admits, queues or sheds the request; returns a cancel for a request whose client left while it waited. */
  readonly offer: (ticket: Ticket) => () => void
  readonly stats: () => AdmissionStats
}

interface Waiter {
  readonly ticket: Ticket
  readonly charge: number
  timer: ReturnType<typeof setTimeout> | undefined
}

export const makeAdmission = (limits: AdmissionLimits): Admission => {
  let inflight = 0
  let bytes = 0
  const clientInflight = new Map<string, number>()
  const clientQueued = new Map<string, number>()
  const queue: Array<Waiter> = []
  const shed: Record<ShedReason, number> = { "queue-full": 0, "queue-timeout": 0, "client-limit": 0 }

  const bump = (map: Map<string, number>, client: string, by: 1 | -1) => {
    const n = (map.get(client) ?? 0) + by
    assert(n >= 0, "a client's admission count went negative")
    if (n === 0) map.delete(client)
    else map.set(client, n)
  }
  // A body larger than the whole budget is served when nothing else holds bytes, rather than never.
  const fits = (client: string, charge: number) =>
    inflight < limits.maxInflightRequests && (bytes === 0 || bytes + charge <= limits.maxInflightBytes) &&
    (clientInflight.get(client) ?? 0) < limits.maxClientInflight

  const start = (ticket: Ticket, charge: number) => {
    inflight++
    bytes += charge
    bump(clientInflight, ticket.client, 1)
    let released = false
    ticket.admit(() => {
      if (released) return
      released = true
      inflight--
      bytes -= charge
      bump(clientInflight, ticket.client, -1)
      drain()
    })
  }

  const unqueue = (waiter: Waiter): boolean => {
    const i = queue.indexOf(waiter)
    if (i < 0) return false
    queue.splice(i, 1)
    bump(clientQueued, waiter.ticket.client, -1)
    if (waiter.timer !== undefined) clearTimeout(waiter.timer)
    return true
  }

  /** Serves the waiters that now fit, oldest first. */
  function drain() {
    for (let i = 0; i < queue.length && inflight < limits.maxInflightRequests;) {
      const waiter = queue[i]!
      if (!fits(waiter.ticket.client, waiter.charge)) {
        i++
        continue
      }
      unqueue(waiter)
      start(waiter.ticket, waiter.charge)
    }
  }

  // Waiters held back by the listener's limits (not just by their own client's) go before a newcomer.
  const othersWaiting = () => queue.some((w) => (clientInflight.get(w.ticket.client) ?? 0) < limits.maxClientInflight)

  const offer = (ticket: Ticket): () => void => {
    const charge = Math.min(Math.max(0, ticket.bytes), limits.maxInflightBytes)
    if (fits(ticket.client, charge) && !othersWaiting()) {
      start(ticket, charge)
      return () => {}
    }
    const refuse = (reason: ShedReason) => {
      shed[reason]++
      ticket.shed(reason)
      return () => {}
    }
    if ((clientQueued.get(ticket.client) ?? 0) >= limits.maxClientInflight) return refuse("client-limit")
    if (queue.length >= limits.maxQueuedRequests) return refuse("queue-full")
    const waiter: Waiter = { ticket, charge, timer: undefined }
    queue.push(waiter)
    bump(clientQueued, ticket.client, 1)
    waiter.timer = setTimeout(() => {
      if (unqueue(waiter)) refuse("queue-timeout")
    }, limits.queueTimeoutMs)
    waiter.timer.unref()
    return () => void unqueue(waiter)
  }

  return { offer, stats: () => ({ inflightRequests: inflight, inflightBytes: bytes, queued: queue.length, shed: { ...shed } }) }
}
