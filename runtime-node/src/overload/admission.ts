/**
 * Admission control for one listener: at most `maxInflightRequests` requests
 * and `maxInflightBytes` declared body bytes served at once, at most
 * `maxClientInflight` requests and `maxClientInflightBytes` bytes of them
 * from one client (client-accounts.ts), and a bounded FIFO wait queue
 * (`maxQueuedRequests`, each waiting at most `queueTimeoutMs`). A request
 * that cannot be served or queued is shed at once, so that past its
 * sustainable rate a node answers "slow down" quickly instead of piling up
 * work, memory and sockets until it falls over.
 *
 * The client is whatever key the listener passes (request-shape.ts: the
 * access key, else the remote address), known before the body is read.
 */
import { assert } from "@cairn/core/invariant/invariant"
import { ClientAccounts } from "./client-accounts.ts"
import type { AdmissionLimits } from "./limits.ts"

/** Why a request was refused: the queue was full, it waited too long, or its client already has its share queued. */
export type ShedReason = "queue-full" | "queue-timeout" | "client-limit"
export const shedReasons: ReadonlyArray<ShedReason> = ["queue-full", "queue-timeout", "client-limit"]

export interface AdmissionStats {
  /** The requests served at once now: `maxInflightRequests`, or less while the node is late (adaptive-limit.ts). */
  readonly inflightLimit: number
  readonly inflightRequests: number
  readonly inflightBytes: number
  readonly queued: number
  readonly shed: Readonly<Record<ShedReason, number>>
}

/** Ends an admitted request's hold on the limits; calling it twice is harmless. */
export type Release = () => void

export interface Ticket {
  readonly client: string
  /** Declared body bytes (request-shape.ts `declaredBytes`). */
  readonly bytes: number
  readonly admit: (release: Release) => void
  readonly shed: (reason: ShedReason) => void
}

export interface Admission {
  /** Admits, queues or sheds the request; returns a cancel for a request whose client left while it waited. */
  readonly offer: (ticket: Ticket) => () => void
  /** Lowers (or raises back) the requests served at once, within 1..`maxInflightRequests` (adaptive-limit.ts); raising it serves waiters. */
  readonly setInflightLimit: (limit: number) => void
  readonly stats: () => AdmissionStats
}

interface Waiter {
  readonly ticket: Ticket
  readonly charge: number
  timer: ReturnType<typeof setTimeout> | undefined
}

export const makeAdmission = (limits: AdmissionLimits): Admission => {
  let inflight = 0
  let inflightLimit = limits.maxInflightRequests
  let bytes = 0
  const clients = new ClientAccounts(limits)
  const queue: Array<Waiter> = []
  const shed: Record<ShedReason, number> = { "queue-full": 0, "queue-timeout": 0, "client-limit": 0 }

  // A body larger than the whole budget is served when nothing else holds bytes, rather than never.
  const listenerFits = (charge: number) => inflight < inflightLimit && (bytes === 0 || bytes + charge <= limits.maxInflightBytes)
  const fits = (client: string, charge: number) => listenerFits(charge) && clients.fits(client, charge)

  const start = (ticket: Ticket, charge: number) => {
    inflight++
    bytes += charge
    clients.start(ticket.client, charge)
    let released = false
    ticket.admit(() => {
      if (released) return
      released = true
      inflight--
      bytes -= charge
      clients.finish(ticket.client, charge)
      drain()
    })
  }

  const unqueue = (waiter: Waiter): boolean => {
    const i = queue.indexOf(waiter)
    if (i < 0) return false
    queue.splice(i, 1)
    clients.dequeue(waiter.ticket.client)
    if (waiter.timer !== undefined) clearTimeout(waiter.timer)
    return true
  }

  /** Serves the waiters that now fit, oldest first. */
  function drain() {
    for (let i = 0; i < queue.length && inflight < inflightLimit;) {
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
  const othersWaiting = () => queue.length > 0 && queue.some((w) => clients.fits(w.ticket.client, w.charge))

  const refuse = (ticket: Ticket, reason: ShedReason) => {
    shed[reason]++
    ticket.shed(reason)
  }

  const offer = (ticket: Ticket): () => void => {
    const charge = Math.min(Math.max(0, ticket.bytes), limits.maxInflightBytes)
    if (fits(ticket.client, charge) && !othersWaiting()) {
      start(ticket, charge)
      return () => {}
    }
    if (!clients.mayQueue(ticket.client)) {
      refuse(ticket, "client-limit")
      return () => {}
    }
    if (queue.length >= limits.maxQueuedRequests) {
      refuse(ticket, "queue-full")
      return () => {}
    }
    const waiter: Waiter = { ticket, charge, timer: undefined }
    queue.push(waiter)
    clients.enqueue(ticket.client)
    waiter.timer = setTimeout(() => {
      if (unqueue(waiter)) refuse(ticket, "queue-timeout")
    }, limits.queueTimeoutMs)
    waiter.timer.unref()
    return () => void unqueue(waiter)
  }

  const setInflightLimit = (limit: number) => {
    assert(Number.isInteger(limit) && limit >= 1 && limit <= limits.maxInflightRequests, "an in-flight limit outside 1..maxInflightRequests")
    const raised = limit > inflightLimit
    inflightLimit = limit
    if (raised) drain()
  }

  return { offer, setInflightLimit, stats: () => ({ inflightLimit, inflightRequests: inflight, inflightBytes: bytes, queued: queue.length, shed: { ...shed } }) }
}
