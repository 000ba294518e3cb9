/**
 * The S3 endpoint: a node:http (or, with a certificate, node:https) server
 * that turns each exchange into core's `S3Request`, runs the S3 handler, and
 * writes its `S3Response`. Bodies stream both ways with backpressure: a
 * request body is read only as fast as the store consumes it, and an object
 * is written only as fast as the client reads it; nothing is buffered whole.
 *
 * Every path answers with S3's error XML and nothing a client sends can
 * crash the process: malformed HTTP is a 400, headers larger than
 * `maxHeaderBytes` a 431, a client that goes away interrupts its request
 * (an unfinished upload commits nothing). A failure after the response
 * headers went out can only be signalled by cutting the connection, which
 * clients detect by the short body.
 */
import type { Clock, Random } from "@cairn/core"
import type { ObjectStore } from "@cairn/core/object/object-api"
import type { Digest } from "@cairn/core/s3/digest"
import { errorXml, S3Error, s3Error } from "@cairn/core/s3/errors"
import { makeS3Handler } from "@cairn/core/s3/handler"
import { s3Operation } from "@cairn/core/s3/operation"
import type { S3Request, S3Response } from "@cairn/core/s3/request"
import type { Users } from "@cairn/core/s3/users"
import { Data, Effect, Fiber, Scope, Stream } from "effect"
import { randomBytes } from "node:crypto"
import { readFileSync } from "node:fs"
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import { createServer as createTlsServer } from "node:https"
import type { Socket } from "node:net"
import { log } from "../log/log.ts"
import { type GuardStats, makeListenerGuard } from "../overload/guard.ts"
import { defaultOverloadLimits, LISTEN_BACKLOG, type OverloadLimits, RETRY_AFTER_SECONDS, SHED_KEEP_ALIVE_BODY_BYTES } from "../overload/limits.ts"
import { unreadBodyBytes } from "../overload/request-shape.ts"
import { logExchange, type S3Exchange } from "./exchange.ts"

export class S3ListenerError extends Data.TaggedError("S3ListenerError")<{ readonly message: string }> {}

export interface S3ListenerOptions {
  readonly store: ObjectStore
  readonly users: Users
  /** host and port to listen on; port 0 picks a free one. */
  readonly address: { readonly host: string; readonly port: number }
  /** The region clients sign for; default us-east-1. */
  readonly region?: string
  /** Serve HTTPS with this certificate and key (PEM files). */
  readonly tls?: { readonly certPath: string; readonly keyPath: string }
  /** Domains for virtual-host-style requests (`bucket.<domain>`); path style always works. */
  readonly baseDomains?: ReadonlyArray<string>
  /** Request header section limit (default 16 KiB): larger is a 431. */
  readonly maxHeaderBytes?: number
  /** In-flight requests get this long to finish at shutdown (default 10 s). */
  readonly drainMs?: number
  /** Told about every finished exchange (metrics, the access log); must not throw. */
  readonly onExchange?: (exchange: S3Exchange) => void
  /** Concurrency, queue and connection limits (default: `defaultOverloadLimits`). */
  readonly limits?: OverloadLimits
}

export interface S3Listener {
  /** The address bound (with the real port when 0 was asked for). */
  readonly address: { readonly host: string; readonly port: number }
  readonly scheme: "http" | "https"
  /** Requests being served now. */
  readonly inFlight: () => number
  /** The overload guard's figures (admitted, queued, shed, connections). */
  readonly overload: () => GuardStats
}

/** Body bytes counted each way for one exchange. */
interface Meter {
  bytesIn: number
  bytesOut: number
}

const requestOf = (req: IncomingMessage, meter: Meter): S3Request => {
  const headers = new Map<string, string>()
  for (const [name, values] of Object.entries(req.headersDistinct)) {
    if (values !== undefined) headers.set(name.toLowerCase(), values.join(","))
  }
  const url = req.url ?? "/"
  const q = url.indexOf("?")
  const body = Stream.fromAsyncIterable(req as AsyncIterable<Buffer>, (e): S3Error =>
    s3Error("IncompleteBody", `the request body could not be read: ${e instanceof Error ? e.message : String(e)}`)
  )
  return {
    method: req.method ?? "GET",
    rawPath: q < 0 ? url : url.slice(0, q),
    rawQuery: q < 0 ? "" : url.slice(q + 1),
    headers,
    body: Stream.map(body, (b): Uint8Array => {
      meter.bytesIn += b.length
      return b
    })
  }
}

/** What the handler's answer tells the exchange record. */
type HandlerAnswer = { readonly requestId: string; readonly errorCode?: string; readonly principal?: { readonly user: string; readonly accessKey: string } }

class ClientGone extends Data.TaggedError("ClientGone")<{}> {}

/** Writes one chunk, waiting for the socket to drain when its buffer is full. */
const write = (res: ServerResponse, chunk: Uint8Array): Effect.Effect<void, ClientGone> =>
  Effect.callback<void, ClientGone>((resume) => {
    if (res.destroyed) return resume(Effect.fail(new ClientGone()))
    if (res.write(chunk)) return resume(Effect.void)
    const done = () => {
      res.off("drain", done)
      res.off("close", done)
      resume(res.destroyed ? Effect.fail(new ClientGone()) : Effect.void)
    }
    res.on("drain", done)
    res.on("close", done)
  })

const sendResponse = (req: IncomingMessage, res: ServerResponse, response: S3Response, meter: Meter): Effect.Effect<void> =>
  Effect.gen(function*() {
    // The overload guard already answered (a body too slow) or the connection is gone.
    if (res.headersSent || res.destroyed) return
    const headers: Record<string, string> = {}
    for (const [name, value] of response.headers) headers[name] = value
    // An unread request body (a refused upload) cannot be skipped on a kept-alive connection: close it.
    // (`complete` alone is not enough: a bodiless request answered synchronously is not complete yet.)
    const hasBody = req.headers["transfer-encoding"] !== undefined || Number(req.headers["content-length"] ?? "0") > 0
    if (hasBody && !req.complete) headers.connection = "close"
    res.writeHead(response.status, headers)
    const body = response.body
    if (body === undefined || req.method === "HEAD") {
      res.end()
      return
    }
    if (body instanceof Uint8Array) {
      meter.bytesOut += body.length
      res.end(body)
      return
    }
    const outcome = yield* Effect.exit(Stream.runForEach(body, (chunk) => Effect.map(write(res, chunk), () => void (meter.bytesOut += chunk.length))))
    if (outcome._tag === "Success") res.end()
    else {
      // Headers are out: the only honest signal left is a cut connection (the client sees a short body).
      log("warn", "s3 response body failed after the headers were sent", { path: req.url, error: String(outcome.cause) })
      res.destroy()
    }
  })

const rawError = (status: number, code: "RequestHeaderSectionTooLarge" | "InvalidRequest" | "IncompleteBody" | "RequestTimeout", message: string): string => {
  const requestId = randomBytes(8).toString("hex").toUpperCase()
  const xml = errorXml(s3Error(code, message), "/", requestId)
  const reason = status === 431 ? "Request Header Fields Too Large" : "Bad Request"
  return `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/xml\r\ncontent-length: ${Buffer.byteLength(xml)}\r\nx-amz-request-id: ${requestId}\r\nconnection: close\r\n\r\n${xml}`
}

/**
 * The guard's refusals, in S3's words: `SlowDown` (503, Retry-After) for a
 * shed request, `RequestTimeout` for a body that trickles. A refusal
 * closes the connection when more than a small body is left unread (Node
 * reads and drops a small one: cheaper than the client reconnecting).
 */
const guardRefusal = (req: IncomingMessage, res: ServerResponse, error: S3Error, status: number): void => {
  if (res.headersSent || res.destroyed) {
    res.destroy()
    return
  }
  const requestId = randomBytes(8).toString("hex").toUpperCase()
  const path = (req.url ?? "/").split("?")[0]!
  const xml = errorXml(error, path, requestId)
  const headers: Record<string, string> = { "content-type": "application/xml", "content-length": String(Buffer.byteLength(xml)), "x-amz-request-id": requestId }
  for (const [name, value] of error.headers ?? []) headers[name] = value
  const unread = unreadBodyBytes(req)
  if (unread > 0 && (status !== 503 || unread > SHED_KEEP_ALIVE_BODY_BYTES)) headers.connection = "close"
  res.writeHead(status, headers)
  res.end(xml)
  if (headers.connection === "close") res.once("finish", () => req.socket.destroySoon())
}

const slowDown = new S3Error({ code: "SlowDown", message: "Please reduce your request rate.", headers: [["retry-after", String(RETRY_AFTER_SECONDS)]] })
const bodyTooSlow = (limits: OverloadLimits) =>
  new S3Error({ code: "RequestTimeout", message: `Your socket connection to the server was not read from or written to within the timeout period (the body arrived slower than ${limits.minBodyBytesPerSecond} bytes/s).` })

const listen = (server: Server, address: S3ListenerOptions["address"]): Effect.Effect<{ host: string; port: number }, S3ListenerError> =>
  Effect.callback<{ host: string; port: number }, S3ListenerError>((resume) => {
    const failed = (e: Error) => resume(Effect.fail(new S3ListenerError({ message: `cannot listen on ${address.host}:${address.port} for S3: ${e.message}` })))
    server.once("error", failed)
    server.listen(address.port, address.host, LISTEN_BACKLOG, () => {
      server.off("error", failed)
      const bound = server.address()
      resume(Effect.succeed(typeof bound === "object" && bound !== null ? { host: address.host, port: bound.port } : { ...address }))
    })
  })

/**
 * Starts the S3 endpoint; it stops (draining in-flight requests) when the
 * scope closes. Needs the Digest, Clock and Random services.
 */
export const startS3Listener = (options: S3ListenerOptions): Effect.Effect<S3Listener, S3ListenerError, Digest | Clock | Random | Scope.Scope> =>
  Effect.gen(function*() {
    const baseDomains = options.baseDomains ?? []
    const handler = makeS3Handler({ store: options.store, users: options.users, region: options.region ?? "us-east-1", baseDomains })
    const services = yield* Effect.context<Digest | Clock | Random>()
    const runFork = Effect.runForkWith(services)
    const inFlight = new Set<Fiber.Fiber<void>>()
    // Sockets whose current request's body is still arriving: the parser's error when such a socket ends is a short body.
    const readingBody = new WeakSet<Socket>()

    const report = (exchange: S3Exchange): void => {
      logExchange(exchange)
      try {
        options.onExchange?.(exchange)
      } catch (e) {
        log("error", "s3 exchange observer failed", { error: String(e instanceof Error ? e.stack : e) })
      }
    }

    const serve = (req: IncomingMessage, res: ServerResponse): void => {
      const started = performance.now()
      // Read now: a destroyed socket no longer knows its peer.
      const remote = req.socket.remoteAddress
      const meter: Meter = { bytesIn: 0, bytesOut: 0 }
      let named: ReturnType<typeof s3Operation> | undefined
      let answer: HandlerAnswer | undefined
      res.once("close", () =>
        report({
          operation: named?.operation ?? "Unknown",
          method: req.method ?? "?",
          bucket: named?.bucket,
          key: named?.key,
          status: res.headersSent ? res.statusCode : 499,
          errorCode: answer?.errorCode,
          requestId: answer?.requestId,
          user: answer?.principal?.user,
          accessKey: answer?.principal?.accessKey,
          bytesIn: meter.bytesIn,
          bytesOut: meter.bytesOut,
          seconds: (performance.now() - started) / 1000,
          complete: res.writableFinished,
          remote
        }))
      try {
        if (!req.complete) {
          const socket = req.socket
          readingBody.add(socket)
          req.once("end", () => readingBody.delete(socket))
        }
        const request = requestOf(req, meter)
        named = s3Operation(request, baseDomains)
        const program = Effect.flatMap(handler(request), (response) => {
          answer = response
          if (response.status >= 500 && response.status !== 501 && response.status !== 503) {
            log("error", "s3 request failed", { method: req.method, path: req.url, operation: named?.operation, status: response.status, requestId: response.requestId, ...(response.defect === undefined ? {} : { defect: response.defect }) })
          }
          return sendResponse(req, res, response, meter)
        })
        const fiber = runFork(program)
        inFlight.add(fiber)
        fiber.addObserver(() => inFlight.delete(fiber))
        // A client that goes away stops its request: an upload in progress commits nothing.
        res.on("close", () => {
          if (!res.writableFinished) runFork(Fiber.interrupt(fiber))
        })
      } catch (e) {
        log("error", "s3 request could not start", { error: String(e instanceof Error ? e.stack : e) })
        if (!res.headersSent) res.writeHead(500, { "content-type": "application/xml", connection: "close" })
        res.end()
      }
    }

    const limits = options.limits ?? defaultOverloadLimits
    const refused = (req: IncomingMessage, status: number, errorCode: string) =>
      report({ operation: "Unknown", method: req.method ?? "?", bucket: undefined, key: undefined, status, errorCode, requestId: undefined, user: undefined, accessKey: undefined, bytesIn: 0, bytesOut: 0, seconds: 0, complete: true, remote: req.socket.remoteAddress })
    const guard = makeListenerGuard(limits, {
      shed: (req, res) => {
        guardRefusal(req, res, slowDown, 503)
        refused(req, 503, "SlowDown")
      },
      slowBody: (req, res) => guardRefusal(req, res, bodyTooSlow(limits), 400)
    })
    const onRequest = (req: IncomingMessage, res: ServerResponse): void => guard.admit(req, res, () => serve(req, res))

    const serverOptions = {
      maxHeaderSize: options.maxHeaderBytes ?? 16 * 1024,
      // Uploads of gigabytes take long: no whole-request deadline; a trickling body is cut by the guard instead.
      requestTimeout: 0,
      ...guard.serverOptions
    }
    let server: Server
    let scheme: "http" | "https" = "http"
    if (options.tls === undefined) server = createServer(serverOptions, onRequest)
    else {
      const tls = options.tls
      const files = yield* Effect.try({
        try: () => ({ cert: readFileSync(tls.certPath), key: readFileSync(tls.keyPath) }),
        catch: (e) => new S3ListenerError({ message: `cannot read the S3 TLS certificate or key: ${(e as Error).message}` })
      })
      server = yield* Effect.try({
        try: () => createTlsServer({ ...serverOptions, ...files }, onRequest) as unknown as Server,
        catch: (e) => new S3ListenerError({ message: `bad S3 TLS certificate or key: ${(e as Error).message}` })
      })
      scheme = "https"
    }
    server.setTimeout(120_000, (socket: Socket) => socket.destroy())
    guard.attach(server)
    server.on("clientError", (e: NodeJS.ErrnoException, socket: Socket) => {
      if (!socket.writable || e.code === "ECONNRESET") {
        socket.destroy()
        return
      }
      // Slowloris: the headers did not arrive within --header-timeout-ms.
      if (e.code === "ERR_HTTP_REQUEST_TIMEOUT") {
        guard.countHeaderTimeout()
        socket.end(rawError(400, "RequestTimeout", "Your request headers did not arrive within the timeout period."))
        return
      }
      // The client ended its side (and still reads) before sending the whole body: S3's IncompleteBody, not a
      // malformed request (and that request's own exchange is reported when its response closes).
      if (e.code === "HPE_INVALID_EOF_STATE" && readingBody.has(socket)) {
        socket.end(rawError(400, "IncompleteBody", "You did not provide the number of bytes specified by the Content-Length HTTP header."))
        return
      }
      const [status, code] = e.code === "HPE_HEADER_OVERFLOW" ? [431, "RequestHeaderSectionTooLarge"] as const : [400, "InvalidRequest"] as const
      const message = status === 431 ? `Your request header section exceeds the maximum allowed size (${serverOptions.maxHeaderSize} bytes).` : "Malformed HTTP request"
      socket.end(rawError(status, code, message))
      report({ operation: "Unknown", method: "?", bucket: undefined, key: undefined, status, errorCode: code, requestId: undefined, user: undefined, accessKey: undefined, bytesIn: 0, bytesOut: 0, seconds: 0, complete: true, remote: socket.remoteAddress })
    })

    const address = yield* Effect.acquireRelease(listen(server, options.address), () =>
      Effect.promise(async () => {
        guard.stop()
        const closed = new Promise<void>((r) => server.close(() => r()))
        server.closeIdleConnections()
        const deadline = Date.now() + (options.drainMs ?? 10_000)
        while (inFlight.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
        server.closeAllConnections()
        await closed
      })
    )
    log("info", "S3 API listening", { url: `${scheme}://${address.host}:${address.port}`, region: options.region ?? "us-east-1" })
    return { address, scheme, inFlight: () => inFlight.size, overload: guard.stats }
  })
