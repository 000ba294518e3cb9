/**
 * The KV HTTP API's endpoint on `--api-listen`: a node:http (or, with
 * `--api-tls-*`, node:https) server around the API handler (http-api.ts,
 * over core's handler), stopped gracefully when its scope closes: it stops
 * accepting, in-flight requests get up to 10 s to finish, idle keep-alive
 * connections close.
 *
 * Malformed HTTP (the parser's errors) is a 400 with a JSON error body and a
 * closed connection; a request must finish within 30 s. Overload (the guard,
 * ../overload/guard.ts): past the limits a request is shed with 503
 * `slow-down` and Retry-After, headers late past `--header-timeout-ms` get a
 * 408, a trickling body a 408 `request-timeout`; `/health` and `/ready`
 * bypass the limits so that an orchestrator never kills a node for being busy.
 */
import { errorResponse, OverloadedError, RequestTimeoutError } from "@cairn/core/kv-api/errors"
import type { KvApiResponseHead } from "@cairn/core/kv-api/response"
import { Data, Effect, type Scope } from "effect"
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import { createServer as createHttpsServer } from "node:https"
import { log } from "../log/log.ts"
import { type GuardStats, makeListenerGuard } from "../overload/guard.ts"
import { defaultOverloadLimits, LISTEN_BACKLOG, type OverloadLimits, RETRY_AFTER_SECONDS, SHED_KEEP_ALIVE_BODY_BYTES } from "../overload/limits.ts"
import { isProbe, unreadBodyBytes } from "../overload/request-shape.ts"
import type { PeerAddress } from "../network/tcp-network.ts"
import { formatHostPort } from "./config.ts"

export class KvListenerError extends Data.TaggedError("KvListenerError")<{ readonly message: string }> {}

export interface KvListenerOptions {
  readonly handler: (req: IncomingMessage, res: ServerResponse) => void
  /** host and port to listen on; port 0 picks a free one. */
  readonly address: PeerAddress
  /** Serve HTTPS with this certificate and key (PEM contents, read and checked at start-up). */
  readonly tls?: { readonly cert: string | Buffer; readonly key: string | Buffer }
  /** Concurrency, queue and connection limits (default: `defaultOverloadLimits`). */
  readonly limits?: OverloadLimits
  /** Given the guard's figures once the listener runs (for the metrics). */
  readonly watchOverload?: (stats: () => GuardStats) => void
}

const MALFORMED = "HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n{\"error\":\"bad-request\",\"message\":\"malformed HTTP request\"}\n"

const TIMEOUT = "HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n{\"error\":\"request-timeout\",\"message\":\"the request headers did not arrive in time\"}\n"

/** A shed request keeps its connection unless a large body is still to come (Node reads and drops a small one). */
const closesAfterShed = (req: IncomingMessage): boolean => unreadBodyBytes(req) > SHED_KEEP_ALIVE_BODY_BYTES

/** Writes one of the guard's refusals (core's error table); one that says `connection: close` closes the connection. */
const refuse = (req: IncomingMessage, res: ServerResponse, response: KvApiResponseHead): void => {
  if (res.headersSent || res.destroyed) {
    res.destroy()
    return
  }
  const headers: Record<string, string> = {}
  for (const [name, value] of response.headers) headers[name] = value
  res.writeHead(response.status, headers)
  res.end(response.body)
  if (headers.connection === "close") res.once("finish", () => req.socket.destroySoon())
}

const listen = (server: Server, address: PeerAddress): Effect.Effect<PeerAddress, KvListenerError> =>
  Effect.callback<PeerAddress, KvListenerError>((resume) => {
    const failed = (e: Error) => resume(Effect.fail(new KvListenerError({ message: `cannot listen on --api-listen ${formatHostPort(address)}: ${e.message}` })))
    server.once("error", failed)
    server.listen(address.port, address.host, LISTEN_BACKLOG, () => {
      server.off("error", failed)
      const bound = server.address()
      resume(Effect.succeed(typeof bound === "object" && bound !== null ? { host: address.host, port: bound.port } : address))
    })
  })

/** Starts the endpoint; returns the address bound (the real port when 0 was asked for). */
export const startKvListener = (options: KvListenerOptions): Effect.Effect<PeerAddress, KvListenerError, Scope.Scope> => {
  const inFlight = new Set<object>()
  const limits = options.limits ?? defaultOverloadLimits
  const guard = makeListenerGuard(limits, {
    shed: (req, res) => refuse(req, res, errorResponse(new OverloadedError({ retryAfterSeconds: RETRY_AFTER_SECONDS, closeConnection: closesAfterShed(req) }))),
    slowBody: (req, res) =>
      refuse(req, res, errorResponse(new RequestTimeoutError({ message: `the request body arrived slower than ${limits.minBodyBytesPerSecond} bytes/s` })))
  })
  options.watchOverload?.(guard.stats)
  const serve = (req: IncomingMessage, res: ServerResponse) => {
    const token = {}
    inFlight.add(token)
    res.on("close", () => inFlight.delete(token))
    options.handler(req, res)
  }
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    if (isProbe(req)) serve(req, res)
    else guard.admit(req, res, () => serve(req, res))
  }
  const httpOptions = { ...guard.serverOptions, requestTimeout: Math.max(30_000, limits.headerTimeoutMs) }
  // https.Server has the same request and connection API as http.Server.
  const http = options.tls === undefined ? createServer(httpOptions, onRequest) : createHttpsServer({ ...httpOptions, ...options.tls }, onRequest) as unknown as Server
  guard.attach(http)
  http.on("clientError", (e: NodeJS.ErrnoException, socket) => {
    if (!socket.writable) return void socket.destroy()
    if (e.code === "ERR_HTTP_REQUEST_TIMEOUT") guard.countHeaderTimeout()
    socket.end(e.code === "ERR_HTTP_REQUEST_TIMEOUT" ? TIMEOUT : MALFORMED)
  })
  return Effect.acquireRelease(listen(http, options.address), () =>
    Effect.promise(async () => {
      log("info", "shutting down: no new requests", { inFlight: inFlight.size })
      guard.stop()
      const closed = new Promise<void>((r) => http.close(() => r()))
      http.closeIdleConnections()
      const deadline = performance.now() + 10_000
      while (inFlight.size > 0 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20))
      http.closeAllConnections()
      await closed
      log("info", "HTTP API closed; stopping Raft and closing the WAL")
    }))
}
