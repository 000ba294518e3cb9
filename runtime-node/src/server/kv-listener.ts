/**
 * The KV HTTP API's endpoint on `--api-listen`: a node:http (or, with
 * `--api-tls-*`, node:https) server around the API handler (http-api.ts,
 * over core's handler), stopped gracefully when its scope closes: it stops
 * accepting, in-flight requests get up to 10 s to finish, idle keep-alive
 * connections close.
 *
 * Malformed HTTP (the parser's errors) is a 400 with a JSON error body and a
 * closed connection; a request must send its headers within 10 s and finish
 * within 30 s.
 */
import { Data, Effect, type Scope } from "effect"
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import { createServer as createHttpsServer } from "node:https"
import { log } from "../log/log.ts"
import type { PeerAddress } from "../network/tcp-network.ts"
import { formatHostPort } from "./config.ts"

export class KvListenerError extends Data.TaggedError("KvListenerError")<{ readonly message: string }> {}

export interface KvListenerOptions {
  readonly handler: (req: IncomingMessage, res: ServerResponse) => void
  /** host and port to listen on; port 0 picks a free one. */
  readonly address: PeerAddress
  /** Serve HTTPS with this certificate and key (PEM contents, read and checked at start-up). */
  readonly tls?: { readonly cert: string | Buffer; readonly key: string | Buffer }
}

const MALFORMED = "HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n{\"error\":\"bad-request\",\"message\":\"malformed HTTP request\"}\n"

const listen = (server: Server, address: PeerAddress): Effect.Effect<PeerAddress, KvListenerError> =>
  Effect.callback<PeerAddress, KvListenerError>((resume) => {
    const failed = (e: Error) => resume(Effect.fail(new KvListenerError({ message: `cannot listen on --api-listen ${formatHostPort(address)}: ${e.message}` })))
    server.once("error", failed)
    server.listen(address.port, address.host, () => {
      server.off("error", failed)
      const bound = server.address()
      resume(Effect.succeed(typeof bound === "object" && bound !== null ? { host: address.host, port: bound.port } : address))
    })
  })

/** Starts the endpoint; returns the address bound (the real port when 0 was asked for). */
export const startKvListener = (options: KvListenerOptions): Effect.Effect<PeerAddress, KvListenerError, Scope.Scope> => {
  const inFlight = new Set<object>()
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    const token = {}
    inFlight.add(token)
    res.on("close", () => inFlight.delete(token))
    options.handler(req, res)
  }
  const httpOptions = { requestTimeout: 30_000, headersTimeout: 10_000 }
  // https.Server has the same request and connection API as http.Server.
  const http = options.tls === undefined ? createServer(httpOptions, onRequest) : createHttpsServer({ ...httpOptions, ...options.tls }, onRequest) as unknown as Server
  http.on("clientError", (_e, socket) => {
    if (socket.writable) socket.end(MALFORMED)
    else socket.destroy()
  })
  return Effect.acquireRelease(listen(http, options.address), () =>
    Effect.promise(async () => {
      log("info", "shutting down: no new requests", { inFlight: inFlight.size })
      const closed = new Promise<void>((r) => http.close(() => r()))
      http.closeIdleConnections()
      const deadline = performance.now() + 10_000
      while (inFlight.size > 0 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20))
      http.closeAllConnections()
      await closed
      log("info", "HTTP API closed; stopping Raft and closing the WAL")
    }))
}
