/**
 * A listener's defence against overload and slow clients, around a
 * node:http server, put together from one piece per idea:
 *
 * - admission (admission.ts, client-accounts.ts): each request is served,
 *   queued or shed by the listener's and its client's limits;
 * - the connection cap (connection-guard.ts): beyond `maxConnections` the
 *   oldest idle connection is closed, or else the newcomer;
 * - Node's own timeouts: `headersTimeout` (slowloris: the headers must
 *   arrive in time; the listener answers 408/RequestTimeout and closes) and
 *   `keepAliveTimeout` (an idle kept-alive connection closes);
 * - the body rate (body-rate.ts): a trickling body is cut;
 * - the adaptive limit (adaptive-limit.ts): while the event loop runs late
 *   the listener serves fewer requests at once.
 *
 * The listener keeps its protocol: it says how a refusal is written
 * (`GuardAnswers`) and which requests bypass admission (the probes).
 */
import type { IncomingMessage, Server, ServerResponse } from "node:http"
import type { Socket } from "node:net"
import { type LoopDelaySampler, nextLimit, sampleLoopDelay } from "./adaptive-limit.ts"
import { type AdmissionStats, makeAdmission, type Release, type ShedReason } from "./admission.ts"
import { watchBodyRate } from "./body-rate.ts"
import { ConnectionGuard, type ConnectionStats } from "./connection-guard.ts"
import type { OverloadLimits } from "./limits.ts"
import { clientOf, declaredBytes } from "./request-shape.ts"

export interface GuardStats extends AdmissionStats, ConnectionStats {
  /** The event loop's last sampled delay, ms. */
  readonly loopDelayMs: number
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
  /** Puts the connection cap on `server`, follows its connections from busy to idle, and samples the loop while it listens. */
  readonly attach: (server: Server) => void
  /** Runs `serve` once the request is admitted (its hold ends when the response closes), or sheds it. */
  readonly admit: (req: IncomingMessage, res: ServerResponse, serve: () => void) => void
  /** Counts a headers timeout (the listener sees it as a client error). */
  readonly countHeaderTimeout: () => void
  readonly stats: () => GuardStats
  /** Stops sampling the event loop (also done when the server closes). */
  readonly stop: () => void
}

export const makeListenerGuard = (limits: OverloadLimits, answers: GuardAnswers): ListenerGuard => {
  const admission = makeAdmission(limits)
  const connections = new ConnectionGuard<Socket>(limits.maxConnections)
  let slowBodies = 0
  let headerTimeouts = 0
  let inflightLimit = limits.maxInflightRequests
  let sampler: LoopDelaySampler | undefined
  const adapt = (delayMs: number) => {
    const next = nextLimit(inflightLimit, delayMs, limits.maxInflightRequests)
    if (next !== inflightLimit) admission.setInflightLimit(inflightLimit = next)
  }
  const stop = () => {
    sampler?.stop()
    sampler = undefined
  }

  const admit = (req: IncomingMessage, res: ServerResponse, serve: () => void) => {
    let release: Release | undefined
    let cancel = () => {}
    res.once("close", () => {
      cancel()
      release?.()
    })
    cancel = admission.offer({
      client: clientOf(req),
      bytes: declaredBytes(req),
      admit: (r) => {
        release = r
        // The client left while it waited: nothing to serve.
        if (res.destroyed || res.writableEnded) return r()
        watchBodyRate(limits, req, res, () => {
          slowBodies++
          answers.slowBody(req, res)
        })
        serve()
      },
      shed: (reason) => answers.shed(req, res, reason)
    })
  }

  const attach = (server: Server) => {
    // The loop is sampled while the server listens: a listener that failed to bind or closed leaves no timer behind.
    server.once("listening", () => void (sampler ??= sampleLoopDelay(adapt)))
    server.once("close", stop)
    server.on("connection", (socket: Socket) => {
      if (connections.opened(socket)) socket.once("close", () => connections.closed(socket))
    })
    // Requests in progress per connection (pipelining may overlap them): idle when none is.
    const busy = new WeakMap<Socket, number>()
    server.on("request", (req: IncomingMessage, res: ServerResponse) => {
      const socket = req.socket
      const n = busy.get(socket)
      // A TLS socket is not the TCP socket counted on "connection": forget it when it closes.
      if (n === undefined) socket.once("close", () => connections.becameBusy(socket))
      busy.set(socket, (n ?? 0) + 1)
      connections.becameBusy(socket)
      res.once("finish", () => {
        const left = (busy.get(socket) ?? 1) - 1
        busy.set(socket, left)
        if (left === 0 && res.shouldKeepAlive && !socket.destroyed) connections.becameIdle(socket)
      })
    })
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
    stats: () => ({ ...admission.stats(), ...connections.stats(), loopDelayMs: sampler?.delayMs() ?? 0, slowBodies, headerTimeouts }),
    stop
  }
}
