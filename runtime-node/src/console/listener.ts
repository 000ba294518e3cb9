/**
 * The web console's listener (`--console-listen`, default 127.0.0.1:9001):
 * node:http, or node:https with the KV API's certificate when the API
 * serves HTTPS. It serves the built single-page console (static-assets.ts)
 * and its `/api/` routes (console-api.ts), which forward to this node's own
 * S3 and KV API listeners with the signed-in user's credentials.
 *
 * A failure inside a route answers 500 with a message and is logged; it
 * never reaches the process. The listener closes with its scope (idle
 * connections at once, in-flight requests get a few seconds).
 */
import type { Users } from "@cairn/core/s3/users"
import { Data, Effect, type Scope } from "effect"
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import { createServer as createTlsServer } from "node:https"
import { log } from "../log/log.ts"
import { API_PREFIX } from "./contract.ts"
import { makeConsoleApi } from "./console-api.ts"
import { refuse, securityHeaders } from "./http-replies.ts"
import { defaultSessionLimits, makeSessionStore } from "./sessions.ts"
import { makeSignInLimiter } from "./sign-in-limiter.ts"
import { type AssetTable, loadAssets } from "./static-assets.ts"
import type { ReadScheme } from "./erasure-scheme.ts"
import type { MetricSampler } from "./metric-sampler.ts"
import type { S3Endpoint } from "./share-link.ts"
import type { Upstream } from "./upstream.ts"
import type { OwnedBucket } from "./user-buckets.ts"

export class ConsoleListenerError extends Data.TaggedError("ConsoleListenerError")<{
  readonly message: string
  /** The address was taken by another process (the caller decides whether that is fatal). */
  readonly inUse: boolean
}> {}

export interface ConsoleListenerOptions {
  readonly nodeId: string
  readonly address: { readonly host: string; readonly port: number }
  readonly users: Users
  readonly region: string
  readonly s3: Upstream
  /** Where browsers reach this node's S3 listener (share links). */
  readonly s3Endpoint: S3Endpoint
  readonly api: Upstream
  readonly apiScheme: "http" | "https"
  /** Serve HTTPS with this certificate and key (PEM contents). */
  readonly tls?: { readonly cert: Buffer; readonly key: Buffer }
  /** This node's sampled metrics (the server starts the sampler: its KV API serves the same history to other consoles). */
  readonly metrics: MetricSampler
  /** The cluster's erasure scheme, as stored. */
  readonly erasureScheme: ReadScheme
  /** The folder whose simulation and Jepsen reports the Reports page lists. */
  readonly reportsDir: string
  /** Every bucket with its owner (the Users page). */
  readonly listBuckets: () => Promise<ReadonlyArray<OwnedBucket>>
  /** Where the built console is (default: console/dist of this checkout). */
  readonly assetDir?: string
}

export interface ConsoleListener {
  readonly address: { readonly host: string; readonly port: number }
  readonly url: string
  /** Whether the browser code was found (else every page says how to build it). */
  readonly built: boolean
}

const serveAsset = (assets: AssetTable, req: IncomingMessage, res: ServerResponse, path: string): void => {
  if (req.method !== "GET" && req.method !== "HEAD") return refuse(res, 405, "bad-request", "the console's pages are read with GET")
  if (!assets.built) {
    const text = `Cairn console unavailable: ${assets.problem}\n`
    res.writeHead(503, { ...securityHeaders, "content-type": "text/plain; charset=utf-8", "content-length": String(Buffer.byteLength(text)) })
    res.end(text)
    return
  }
  const asset = assets.get(path)
  res.writeHead(200, {
    ...securityHeaders,
    "content-type": asset.type,
    "content-length": String(asset.body.length),
    "cache-control": asset.immutable ? "public, max-age=31536000, immutable" : "no-cache"
  })
  res.end(req.method === "HEAD" ? undefined : asset.body)
}

const listen = (server: Server, address: ConsoleListenerOptions["address"]) =>
  Effect.callback<{ host: string; port: number }, ConsoleListenerError>((resume) => {
    const failed = (e: NodeJS.ErrnoException) =>
      resume(Effect.fail(new ConsoleListenerError({ message: `cannot listen on ${address.host}:${address.port} for the console: ${e.message}`, inUse: e.code === "EADDRINUSE" })))
    server.once("error", failed)
    server.listen(address.port, address.host, () => {
      server.off("error", failed)
      const bound = server.address()
      resume(Effect.succeed(typeof bound === "object" && bound !== null ? { host: address.host, port: bound.port } : { ...address }))
    })
  })

/** Starts the console; it stops when the scope closes. */
export const startConsoleListener = (options: ConsoleListenerOptions): Effect.Effect<ConsoleListener, ConsoleListenerError, Scope.Scope> =>
  Effect.gen(function*() {
    const assets = loadAssets(options.assetDir)
    const tls = options.tls !== undefined
    const metrics = options.metrics
    const api = makeConsoleApi({
      metrics,
      erasureScheme: options.erasureScheme,
      listBuckets: options.listBuckets,
      reportsDir: options.reportsDir,
      nodeId: options.nodeId,
      users: options.users,
      region: options.region,
      sessions: makeSessionStore(() => Date.now()),
      signInLimiter: makeSignInLimiter(() => Date.now()),
      sessionMaxAgeSeconds: defaultSessionLimits.absoluteMs / 1000,
      tls,
      s3: options.s3,
      s3Endpoint: options.s3Endpoint,
      api: options.api,
      apiScheme: options.apiScheme
    })
    const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
      let url: URL
      try {
        url = new URL(req.url ?? "/", "http://console")
      } catch {
        return refuse(res, 400, "bad-request", "malformed request target")
      }
      if (!url.pathname.startsWith(API_PREFIX)) return serveAsset(assets, req, res, url.pathname)
      api(req, res, url).catch((e: unknown) => {
        log("error", "console request failed", { method: req.method, path: url.pathname, error: String(e instanceof Error ? e.stack : e) })
        if (!res.headersSent) refuse(res, 500, "unavailable", `the console failed to answer: ${e instanceof Error ? e.message : String(e)}`)
        else res.destroy()
      })
    }
    const server: Server = options.tls === undefined ? createServer(onRequest) : (createTlsServer(options.tls, onRequest) as unknown as Server)
    const address = yield* Effect.acquireRelease(listen(server, options.address), () =>
      Effect.promise(async () => {
        const closed = new Promise<void>((r) => server.close(() => r()))
        server.closeIdleConnections()
        const timer = setTimeout(() => server.closeAllConnections(), 5000)
        await closed
        clearTimeout(timer)
      })
    )
    const scheme = tls ? "https" : "http"
    const url = `${scheme}://${address.host.includes(":") ? `[${address.host}]` : address.host}:${address.port}`
    if (assets.built) log("info", "console listening", { url })
    else log("warn", "console listening without its pages", { url, problem: assets.problem })
    return { address, url, built: assets.built }
  })
