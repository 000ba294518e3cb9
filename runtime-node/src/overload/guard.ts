/**
 * A listener's defence against overload and slow clients, around a
 * node:http server: admission (admission.ts) for each request, and for
 * connections Node's own limits — `maxConnections` (beyond it a new
 * connection is closed at once), `headersTimeout` (slowloris: the headers
 * must arrive in time; Node answers 408 and closes), `keepAliveTimeout` (an
 * idle kept-alive connection closes) — plus a check Node lacks: a request
 * body that trickles in slower than `minBodyBytesPerSecond` over a window of
 * `headerTimeoutMs` is cut with the listener's error. The body rate is only
 * judged while the server is waiting for it (its buffer empty), so a server
 * slow to consume never blames the client.
 */
import type { IncomingMessage, Server, ServerResponse } from "node:http"
import type { Socket } from "node:net"
import { type AdmissionLimits, type AdmissionStats, makeAdmission, type Release, type ShedReason } from "./admission.ts"

export interface OverloadLimits extends AdmissionLimits {
  /** Open connections per listener; more are closed as they arrive. */
  readonly maxConnections: number
  /** A request's headers must arrive within this; also the window the body rate is judged over. */
  readonly headerTimeoutMs: number
  /** An idle kept-alive connection is closed after this. */
  readonly idleTimeoutMs: number
  /** A body arriving slower than this (bytes per second, over a header-timeout window) is cut. */
  readonly minBodyBytesPerSecond: number
}

/** The defaults (docs/server.md, "Under overload"). */
export const defaultOverloadLimits: OverloadLimits = {
  maxInflightRequests: 512,
  maxInflightBytes: 1024 * 1024 * 1024,
  maxClientInflight: 128,
  maxQueuedRequests: 1024,
  queueTimeoutMs: 2000,
  maxConnections: 10_000,
  headerTimeoutMs: 10_000,
  idleTimeoutMs: 30_000,
  minBodyBytesPerSecond: 1024
}

export interface GuardStats extends AdmissionStats {
  readonly connections: number
  readonly connectionsRefused: number
  readonly slowBodies: number
  readonly headerTimeouts: number
}

/** How a listener answers what the guard refuses (in its own protocol's error format). */
export interface GuardAnswers {
  /** 503 with Retry-After: the request was shed. */
  readonly shed: (req: IncomingMessage, res: ServerResponse, reason: ShedReason) => void
  /** The body trickled too slowly: answer (when headers are not out) and close. */
  readonly slowBody: (req: IncomingMessage, res: ServerResponse) => void
}

export interface ListenerGuard {
  /** Options for `createServer`: Node's own timeouts. */
  readonly serverOptions: { readonly headersTimeout: number; readonly keepAliveTimeout: number; readonly connectionsCheckingInterval: number }
  /** Sets the connection cap and counts connections on `server`. */
  readonly attach: (server: Server) => void
  /** Runs `serve` once the request is admitted (its hold ends when the response closes), or sheds it. */
  readonly admit: (req: IncomingMessage, res: ServerResponse, serve: () => void) => void
  /** Counts a headers timeout (the listener sees it as a client error). */
  readonly countHeaderTimeout: () => void
  readonly stats: () => GuardStats
}

/** The seconds a shed client is told to wait. */
export const RETRY_AFTER_SECONDS = 1

const declaredBytes = (req: IncomingMessage): number => {
  const n = Number(req.headers["content-length"] ?? "0")
  return Number.isFinite(n) && n > 0 ? n : 0
}

export const makeListenerGuard = (limits: OverloadLimits, answers: GuardAnswers): ListenerGuard => {
  const admission = makeAdmission(limits)
  let connections = 0
  let connectionsRefused = 0
  let slowBodies = 0
  let headerTimeouts = 0

  /** Cuts a body that arrives too slowly while the server waits for it; stops when the request ends. */
  const watchBody = (req: IncomingMessage, res: ServerResponse) => {
    if (req.complete || (declaredBytes(req) === 0 && req.headers["transfer-encoding"] === undefined)) return
    const socket: Socket = req.socket
    const floor = (limits.minBodyBytesPerSecond * limits.headerTimeoutMs) / 1000
    let seen = socket.bytesRead
    const timer = setInterval(() => {
      const now = socket.bytesRead
      const waiting = req.readableLength === 0
      if (!req.complete && waiting && now - seen < floor) {
        slowBodies++
        clearInterval(timer)
        answers.slowBody(req, res)
        return
      }
      seen = now
    }, limits.headerTimeoutMs)
    timer.unref()
    const stop = () => clearInterval(timer)
    req.once("end", stop)
    res.once("close", stop)
  }

  const admit = (req: IncomingMessage, res: ServerResponse, serve: () => void) => {
    let release: Release | undefined
    let cancel = () => {}
    res.once("close", () => {
      cancel()
      release?.()
    })
    cancel = admission.offer({
      client: req.socket.remoteAddress ?? "unknown",
      bytes: declaredBytes(req),
      admit: (r) => {
        release = r
        // The client left while it waited: nothing to serve.
        if (res.destroyed || res.writableEnded) return r()
        watchBody(req, res)
        serve()
      },
      shed: (reason) => answers.shed(req, res, reason)
    })
  }

  const attach = (server: Server) => {
    server.maxConnections = limits.maxConnections
    server.on("connection", (socket: Socket) => {
      connections++
      socket.once("close", () => connections--)
    })
    server.on("drop", () => connectionsRefused++)
  }

  return {
    serverOptions: {
      headersTimeout: limits.headerTimeoutMs,
      keepAliveTimeout: limits.idleTimeoutMs,
      // Node checks the header deadline on this period (30 s by default): often enough for the deadline to mean something.
      connectionsCheckingInterval: Math.max(10, Math.min(1000, Math.floor(limits.headerTimeoutMs / 4)))
    },
    attach,
    admit,
    countHeaderTimeout: () => void headerTimeouts++,
    stats: () => ({ ...admission.stats(), connections, connectionsRefused, slowBodies, headerTimeouts })
  }
}
