/**
 * The KV HTTP API's node:http side: turns each exchange into core's
 * `KvApiRequest`, runs core's handler (core/src/kv-api/: every route but
 * the probes, every status code and error body) and writes its answer.
 * What is about this process stays here: the open probes `/health` and
 * `/ready`, `/metrics` (open with `--metrics-public`), the authentication
 * gate (api-auth.ts: every other request is checked before its body is
 * read), metrics, the request log line and the request's span.
 *
 * Nothing a client sends can throw out of the handler: core answers every
 * refusal, and a failure here (a probe, the gate) is a 500 `internal`,
 * logged. Each request runs in a server span named `<method> <route>`
 * (OpenTelemetry's convention), the parent of the KV call's span; see
 * tracing.ts.
 */
import { Clock, type KvServer } from "@cairn/core"
import type { KvApiMembers } from "@cairn/core/kv-api/context"
import type { NodeFacts } from "@cairn/core/kv-api/context"
import { METRIC_HISTORY_PATH, type MetricSampler, rangeOf } from "../console/metric-sampler.ts"
import { type KvApiHandler, makeKvApiHandler } from "@cairn/core/kv-api/handler"
import type { KvClient } from "@cairn/core/kv/client"
import type { LogClient } from "@cairn/core/log/client/log-client"
import { BodyReadError, isPrincipal, type KvApiRequest, requestUrl } from "@cairn/core/kv-api/request"
import { internalErrorResponse } from "@cairn/core/kv-api/errors"
import { jsonResponse, type KvApiResponseHead } from "@cairn/core/kv-api/response"
import { routeLabel } from "@cairn/core/kv-api/routes"
import { Digest } from "@cairn/core/s3/digest"
import { ADMIN_USER, type Users } from "@cairn/core/s3/users"
import { Cause, type Context, Data, Effect, Queue, Stream, type Tracer } from "effect"
import { randomBytes } from "node:crypto"
import type { IncomingMessage, ServerResponse } from "node:http"
import { type BackupRoutesContext, isBackupRoute, serveBackupRoute } from "../backup/backup-routes.ts"
import { systemClock } from "../clock/system-clock.ts"
import { log } from "../log/log.ts"
import { nodeDigest } from "../s3/digest.ts"
import { makeApiAuthenticator } from "./api-auth.ts"
import type { ServerConfig } from "./config.ts"
import type { Members } from "./members.ts"
import type { ServerMetrics } from "./metrics.ts"
import type { AdminCredentials } from "./secrets.ts"

export interface ApiContext {
  readonly config: ServerConfig
  readonly kv: KvServer
  readonly metrics: ServerMetrics
  readonly credentials: AdminCredentials
  readonly members: Members
  /** The server's services (the tracer among them, when tracing is on): requests run with these. */
  readonly services: Context.Context<never>
  /** The S3 user directory; without it the S3 user endpoints answer 501. */
  readonly s3Users?: Users
  /** The object layer's KV client: with it, `/v1/admin/backup` and `/restore` are served (backup-routes.ts). */
  readonly metadata?: KvClient
  /** The node's streaming log client; without it `/v1/log` answers 501 (the node runs with --no-log). */
  readonly log?: LogClient | undefined
  /** The console's sampled history of this node's metrics: `GET /v1/metrics/history?range=` serves it to other consoles. */
  readonly metricHistory?: MetricSampler
  /** The disk backend and Raft groups `/v1/status` adds (node-facts.ts). */
  readonly nodeFacts?: Effect.Effect<NodeFacts>
}

/** Spans here need no stack trace: capturing one (an Error per request) cost ~3 % of a loaded leader's CPU. */
const untraced = { captureStackTrace: false } as const

/** A 5xx answer: fails the request's span so that tracing shows it as an error. */
class ServerErrorStatus extends Data.TaggedError("ServerErrorStatus")<{ readonly message: string }> {}

const spanMethods = new Set(["GET", "HEAD", "PUT", "POST", "DELETE", "OPTIONS", "PATCH"])
/** Polled all the time by load balancers and Prometheus: their spans are not exported. */
const unsampledRoutes = new Set(["/health", "/ready", "/metrics"])

/** The membership records as core sees them (members.ts answers with promises). */
const kvApiMembers = (members: Members): KvApiMembers => ({
  apiAddress: members.apiAddress,
  list: Effect.promise(() => members.list()),
  add: (body) => Effect.promise(() => members.add(body)),
  remove: (id) => Effect.promise(() => members.remove(id)),
  drain: (id, draining) => Effect.promise(() => members.drain(id, draining)),
  promote: (id) => Effect.promise(() => members.promote(id))
})

/** An S3 key pair from the OS CSPRNG. */
const newKeyPair = Effect.sync(() => ({ accessKey: `CAIRN${randomBytes(10).toString("hex").toUpperCase()}`, secretKey: randomBytes(30).toString("base64url") }))

/** The body as it arrives; a handler that stops early leaves the rest to drain unread, so the answer still goes out. */
const bodyOf = (req: IncomingMessage): Stream.Stream<Uint8Array, BodyReadError> =>
  Stream.callback<Uint8Array, BodyReadError>((queue) =>
    Effect.acquireRelease(
      Effect.sync(() => {
        const listeners = {
          data: (chunk: Buffer) => void Queue.offerUnsafe(queue, chunk),
          end: () => void Queue.endUnsafe(queue),
          error: (e: Error) => void Queue.failCauseUnsafe(queue, Cause.fail(new BodyReadError({ message: e.message })))
        }
        req.on("data", listeners.data).on("end", listeners.end).on("error", listeners.error)
        return listeners
      }),
      (listeners) =>
        Effect.sync(() => {
          req.off("data", listeners.data).off("end", listeners.end).off("error", listeners.error)
          req.resume()
        })
    )
  )

/** Node's headers (repeated ones joined as Node joins them) as core's map. */
const headersOf = (req: IncomingMessage): ReadonlyMap<string, string> => {
  const headers = new Map<string, string>()
  for (const [name, value] of Object.entries(req.headers)) if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(", ") : value)
  return headers
}

/** Writes an answer; returns the body bytes sent. A refusal that closes the connection closes it once answered. */
const send = (req: IncomingMessage, res: ServerResponse, response: KvApiResponseHead): number => {
  // The listener's overload guard already answered (a body too slow), or the client is gone.
  if (res.headersSent || res.destroyed) return 0
  const headers: Record<string, string> = {}
  for (const [name, value] of response.headers) headers[name] = value
  res.writeHead(response.status, headers)
  res.end(response.body)
  if (headers.connection === "close") res.on("finish", () => req.socket.destroySoon())
  return response.body?.length ?? 0
}

const serveMetrics = (metrics: ServerMetrics, res: ServerResponse): Effect.Effect<number, unknown> =>
  Effect.tryPromise({ try: () => metrics.registry.metrics(), catch: (e) => e }).pipe(Effect.map((text) => {
    res.writeHead(200, { "content-type": metrics.registry.contentType })
    res.end(text)
    return text.length
  }))

/** Core's answer to a request that passed (or failed) the gate, its figures counted; returns the body bytes sent. */
const answer = (handler: KvApiHandler, metrics: ServerMetrics, req: IncomingMessage, res: ServerResponse, request: KvApiRequest, span: Tracer.Span): Effect.Effect<number> =>
  handler(request).pipe(
    Effect.withParentSpan(span, untraced),
    Effect.provideService(Clock, systemClock),
    Effect.provideService(Digest, nodeDigest),
    Effect.map((response) => {
      for (const kind of response.errorKinds) metrics.errors.inc({ kind })
      if (response.bytesIn > 0) metrics.bytesIn.inc(response.bytesIn)
      if (response.defect !== undefined) log("error", "request failed", { method: req.method, path: requestUrl(request.target).pathname, error: response.defect })
      return send(req, res, response)
    })
  )

/**
 * One exchange's bookkeeping: `finish` counts and logs the status sent (and
 * returns it); `failed` answers a failure outside core's handler (a probe,
 * the gate, the metrics registry) with a 500, or cuts the connection once
 * headers are out.
 */
const exchangeOf = (metrics: ServerMetrics, req: IncomingMessage, res: ServerResponse, url: URL, label: string) => {
  const end = metrics.requestSeconds.startTimer({ method: req.method ?? "?", route: label })
  const finish = (status: number, bytes: number): number => {
    const seconds = end()
    log("debug", "http request", { method: req.method, route: label, status, ms: Math.round(seconds * 1e4) / 10 })
    metrics.requests.inc({ method: req.method ?? "?", route: label, code: String(status) })
    metrics.bytesOut.inc(bytes)
    return status
  }
  const failed = (cause: Cause.Cause<unknown>): number => {
    if (res.headersSent) {
      res.destroy()
      return finish(res.statusCode, 0)
    }
    metrics.errors.inc({ kind: "internal" })
    log("error", "request failed", { method: req.method, path: url.pathname, error: Cause.pretty(cause) })
    return finish(500, send(req, res, internalErrorResponse()))
  }
  return { finish, failed }
}

/** Runs `serve` (which answers and returns the status) in the request's server span; a 5xx fails the span. */
const inServerSpan = (req: IncomingMessage, label: string, serve: (span: Tracer.Span) => Effect.Effect<number>): Effect.Effect<void, ServerErrorStatus> => {
  const method = spanMethods.has(req.method ?? "") ? req.method! : "HTTP"
  return Effect.useSpan(
    `${method} ${label}`,
    {
      kind: "server",
      attributes: { "http.request.method": method === "HTTP" ? "_OTHER" : method, "http.route": label },
      ...(unsampledRoutes.has(label) ? { sampled: false } : {})
    },
    (span) =>
      Effect.flatMap(serve(span), (status) => {
        span.attribute("http.response.status_code", status)
        return status >= 500 ? Effect.fail(new ServerErrorStatus({ message: `answered ${status}` })) : Effect.void
      })
  )
}

export const makeApiHandler = (ctx: ApiContext) => {
  const { config, kv, metrics } = ctx
  const runFork = Effect.runForkWith(ctx.services)
  const handler = makeKvApiHandler({
    id: config.id,
    kv,
    members: kvApiMembers(ctx.members),
    ...(ctx.s3Users === undefined ? {} : { users: ctx.s3Users }),
    ...(ctx.log === undefined ? {} : { log: ctx.log }),
    ...(ctx.nodeFacts === undefined ? {} : { nodeFacts: ctx.nodeFacts }),
    requestTimeoutMs: config.requestTimeoutMs,
    // One session per HTTP write: unique for the life of the cluster (a boot nonce, then core's counter).
    sessionPrefix: `http-${config.id}-${randomBytes(6).toString("hex")}`,
    newKeyPair
  })
  const backup: BackupRoutesContext | undefined = ctx.metadata === undefined
    ? undefined
    : { id: config.id, kv, metadata: ctx.metadata, apiAddress: ctx.members.apiAddress, requestTimeoutMs: config.requestTimeoutMs }
  const authenticate = makeApiAuthenticator({
    // Without the S3 layer (some tests) only the admin's key exists.
    lookup: ctx.s3Users?.lookup ??
      ((accessKey) => Effect.succeed(accessKey === ctx.credentials.accessKey ? { user: ADMIN_USER, secretKey: ctx.credentials.secretKey } : undefined)),
    region: config.s3Region,
    digest: nodeDigest,
    now: () => Date.now()
  })

  /** Answers the request; returns the body bytes sent. */
  const route = (req: IncomingMessage, res: ServerResponse, url: URL, span: Tracer.Span): Effect.Effect<number, unknown> => {
    const path = url.pathname
    if (path === "/ready") {
      return Effect.map(kv.raft.status, (s) => {
        const ready = s.leader !== undefined && s.applied >= s.commit
        return send(req, res, jsonResponse(ready ? 200 : 503, { ready, leader: s.leader ?? null, commit: s.commit, applied: s.applied }))
      })
    }
    if (path === "/metrics" && config.metricsPublic) return serveMetrics(metrics, res)
    return Effect.gen(function*() {
      // The one gate: core refuses a caller without valid credentials before anything runs.
      const caller = yield* Effect.tryPromise({ try: () => authenticate(req), catch: (e) => e })
      if ("accessKey" in caller) {
        span.attribute("cairn.user", caller.user)
        if (path === "/metrics") return yield* serveMetrics(metrics, res)
        // The same figures as /metrics (to the same callers), as the console's charts draw them.
        if (path === METRIC_HISTORY_PATH && ctx.metricHistory !== undefined && req.method === "GET") {
          return send(req, res, jsonResponse(200, ctx.metricHistory.view(rangeOf(url))))
        }
      }
      const request: KvApiRequest = { method: req.method ?? "GET", target: req.url ?? "/", headers: headersOf(req), body: bodyOf(req), caller }
      if (backup !== undefined && isBackupRoute(path) && isPrincipal(caller)) {
        const response = yield* serveBackupRoute(backup, request, caller, path).pipe(Effect.withParentSpan(span, untraced), Effect.provideService(Digest, nodeDigest))
        return send(req, res, response)
      }
      return yield* answer(handler, metrics, req, res, request, span)
    })
  }

  return (req: IncomingMessage, res: ServerResponse): void => {
    const url = requestUrl(req.url ?? "/")
    const label = routeLabel(url.pathname)
    const { finish, failed } = exchangeOf(metrics, req, res, url, label)
    // The liveness probe is answered here, not on a fiber: under overload the Effect scheduler has thousands of
    // request fibers queued, and a probe waiting behind them would call a busy node dead (docs/server.md, "Under overload").
    if (url.pathname === "/health") return void finish(200, send(req, res, jsonResponse(200, { status: "ok" })))
    const serve = (span: Tracer.Span): Effect.Effect<number> =>
      route(req, res, url, span).pipe(
        Effect.map((bytes) => finish(res.statusCode, bytes)),
        Effect.catchCause((cause) => Effect.sync(() => failed(cause)))
      )
    // Everything is answered inside `serve`; the span's outcome is all that is left.
    runFork(Effect.exit(inServerSpan(req, label, serve)))
  }
}
