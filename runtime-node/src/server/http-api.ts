/**
 * The client-facing HTTP API on `--api-listen` (node:http): the KV store
 * under `/v1/kv`, membership under `/v1/admin/members`, S3 access keys under
 * `/v1/admin/s3/users` (501 unless the S3 layer is running), `/metrics`,
 * `/health`, `/ready` and `/v1/status`. See docs/server.md for the contract.
 *
 * Every handler answers: bad input is a 4xx with a JSON error body, an
 * unexpected failure a 500 (logged); nothing a client sends can throw out of
 * the handler. Writes are one session each (a fresh client id, seq 1): the
 * server never retries a write itself, so a write whose outcome is unknown
 * is a 504, never a guess.
 *
 * Every request but the open probes is authenticated first (api-auth.ts):
 * an unauthenticated one is answered 401 before its body is read or
 * anything is done; admin endpoints also need the admin's key (403).
 *
 * Each request runs in a server span named `<method> <route>` (OpenTelemetry's
 * convention), the parent of the KV call's span; see tracing.ts.
 */
import {
  type KvCommand,
  type KvResult,
  type KvServer,
  MAX_KEY_BYTES,
  MAX_RANGE_LIMIT,
  MAX_VALUE_BYTES,
  type NodeId,
  type SessionCommand,
  utf8Length,
  validateCommand
} from "@cairn/core"
import { type Context, Data, Effect, Result, type Tracer } from "effect"
import { randomBytes } from "node:crypto"
import type { IncomingMessage, ServerResponse } from "node:http"
import { nodeDigest } from "../s3/digest.ts"
import { type ApiPrincipal, bodyMatches, isPrincipal, makeApiAuthenticator, WWW_AUTHENTICATE } from "./api-auth.ts"
import type { ServerConfig } from "./config.ts"
import { log } from "../log/log.ts"
import type { Members } from "./members.ts"
import type { ServerMetrics } from "./metrics.ts"
import type { AdminCredentials } from "./secrets.ts"
import { ADMIN_USER, type Users } from "@cairn/core/s3/users"

export interface ApiContext {
  readonly config: ServerConfig
  readonly kv: KvServer
  readonly metrics: ServerMetrics
  readonly credentials: AdminCredentials
  readonly members: Members
  /** The server's services (the tracer among them, when tracing is on): KV calls run with these. */
  readonly services: Context.Context<never>
  /** The S3 user directory; without it the S3 user endpoints answer 503. */
  readonly s3Users?: Users
}

/** Keys starting with NUL are the server's own (membership records); clients may not touch them. */
export const RESERVED_PREFIX = "\u0000"

class HttpError {
  readonly status: number
  readonly code: string
  readonly message: string
  readonly extra: Record<string, unknown>
  readonly headers: Record<string, string>
  constructor(status: number, code: string, message: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}) {
    this.status = status
    this.code = code
    this.message = message
    this.extra = extra
    this.headers = headers
  }
}

const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): number => {
  const text = `${JSON.stringify(body)}\n`
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), ...headers })
  res.end(text)
  return Buffer.byteLength(text)
}

const etag = (revision: number) => `"${revision}"`

/** Spans here need no stack trace: capturing one (an Error per request) cost ~3 % of a loaded leader's CPU. */
const untraced = { captureStackTrace: false } as const

/** A 5xx answer: fails the request's span so that tracing shows it as an error. */
class ServerErrorStatus extends Data.TaggedError("ServerErrorStatus")<{ readonly message: string }> {}

const spanMethods = new Set(["GET", "HEAD", "PUT", "POST", "DELETE", "OPTIONS", "PATCH"])
/** Polled all the time by load balancers and Prometheus: their spans are not exported. */
const unsampledRoutes = new Set(["/health", "/ready", "/metrics"])

/** The smallest string greater than every string starting with `prefix` in code point order, or undefined (no bound). */
export const prefixEnd = (prefix: string): string | undefined => {
  const cps = [...prefix].map((c) => c.codePointAt(0)!)
  while (cps.length > 0) {
    const last = cps.pop()!
    if (last < 0x10ffff) {
      cps.push(last === 0xd7ff ? 0xe000 : last + 1)
      return String.fromCodePoint(...cps)
    }
  }
  return undefined
}

const readBody = (req: IncomingMessage, limit: number): Promise<Buffer | "too-large"> =>
  new Promise((resolve, reject) => {
    const declared = Number(req.headers["content-length"])
    if (Number.isFinite(declared) && declared > limit) return resolve("too-large")
    const chunks: Array<Buffer> = []
    let size = 0
    let done = false
    req.on("data", (chunk: Buffer) => {
      if (done) return
      size += chunk.length
      if (size > limit) {
        done = true
        resolve("too-large")
        return
      }
      chunks.push(chunk)
    })
    req.on("end", () => {
      if (!done) resolve(Buffer.concat(chunks))
    })
    req.on("error", (e) => {
      if (!done) reject(e)
    })
  })

export const makeApiHandler = (ctx: ApiContext) => {
  const { config, kv, metrics } = ctx
  const runPromise = Effect.runPromiseWith(ctx.services)
  const runFork = Effect.runForkWith(ctx.services)
  const boot = randomBytes(6).toString("hex")
  let counter = 0
  /** One session per HTTP write: unique for the life of the cluster (boot nonce + counter). */
  const newSession = (command: KvCommand): SessionCommand => ({ clientId: `http-${config.id}-${boot}-${++counter}`, seq: 1, command })
  const timeout = config.requestTimeoutMs

  const leaderError = (leader: NodeId | undefined, what: string): HttpError => {
    const api = leader === undefined ? undefined : ctx.members.apiAddress(leader)
    const headers: Record<string, string> = { "retry-after": "1" }
    if (leader !== undefined) headers["x-cairn-leader"] = leader
    if (api !== undefined) headers["x-cairn-leader-api"] = api
    return new HttpError(
      503,
      leader === undefined ? "no-leader" : "not-leader",
      leader === undefined ? `${what}: no leader is known right now; retry shortly` : `${what}: the leader is ${leader}; retry there or here`,
      { leader: leader ?? null, leaderApi: api ?? null },
      headers
    )
  }

  const write = async (command: KvCommand, span: Tracer.Span): Promise<KvResult> => {
    const invalid = validateCommand(command)
    if (invalid !== undefined) throw resultError(invalid)
    const outcome = await runPromise(Effect.result(kv.submit(newSession(command), timeout)).pipe(Effect.withParentSpan(span, untraced)))
    if (Result.isSuccess(outcome)) {
      if (outcome.success.type === "error") throw resultError(outcome.success)
      return outcome.success
    }
    const error = outcome.failure
    if (error._tag === "NotLeaderError") {
      metrics.errors.inc({ kind: "not_leader" })
      throw leaderError(error.leader, "write not accepted")
    }
    metrics.errors.inc({ kind: "timeout" })
    throw new HttpError(504, "outcome-unknown", `the write was proposed but no result arrived within ${timeout} ms: it may or may not have been applied; read the key to find out`)
  }

  const read = async (command: Extract<KvCommand, { readonly op: "get" | "range" }>, consistency: "linearizable" | "serializable", span: Tracer.Span) => {
    const invalid = validateCommand(command)
    if (invalid !== undefined) throw resultError(invalid)
    span.attribute("cairn.consistency", consistency)
    const outcome = await runPromise(Effect.result(kv.query(command, consistency, timeout)).pipe(Effect.withParentSpan(span, untraced)))
    if (Result.isSuccess(outcome)) {
      if (outcome.success.type === "error") throw resultError(outcome.success)
      return outcome.success
    }
    metrics.errors.inc({ kind: "not_leader" })
    // A linearizable read is never answered from a node that could not confirm it is up to date.
    const status = Effect.runSync(kv.raft.status)
    throw leaderError(outcome.failure.leader ?? status.leader, "linearizable read not confirmed by a leader")
  }

  const consistencyOf = (url: URL): "linearizable" | "serializable" => {
    const c = url.searchParams.get("consistency") ?? "linearizable"
    if (c !== "linearizable" && c !== "serializable") throw new HttpError(400, "bad-consistency", `consistency must be linearizable or serializable, got "${c}"`)
    return c
  }

  const keyOf = (encoded: string): string => {
    let key: string
    try {
      key = decodeURIComponent(encoded)
    } catch {
      throw new HttpError(400, "bad-key", "the key is not valid percent-encoded UTF-8")
    }
    if (key.length === 0) throw new HttpError(400, "bad-key", "the key is empty: use /v1/kv/{key}")
    if (key.startsWith(RESERVED_PREFIX)) throw new HttpError(400, "bad-key", "keys may not start with a NUL character (reserved)")
    if (key.length * 3 > MAX_KEY_BYTES && utf8Length(key) > MAX_KEY_BYTES)
      throw new HttpError(400, "key-too-large", `the key is longer than ${MAX_KEY_BYTES} bytes`)
    return key
  }

  /** If-Match: "<rev>" → cas on that revision; If-None-Match: * → create-only. */
  const precondition = (req: IncomingMessage): number | "absent" | undefined => {
    const ifMatch = req.headers["if-match"]
    const ifNoneMatch = req.headers["if-none-match"]
    if (ifMatch !== undefined && ifNoneMatch !== undefined) throw new HttpError(400, "bad-precondition", "give If-Match or If-None-Match, not both")
    if (ifNoneMatch !== undefined) {
      if (ifNoneMatch.trim() !== "*") throw new HttpError(400, "bad-precondition", `If-None-Match on a write must be *, got ${ifNoneMatch}`)
      return "absent"
    }
    if (ifMatch !== undefined) {
      const m = /^\s*(?:W\/)?"(\d{1,15})"\s*$/.exec(ifMatch)
      if (m === null) throw new HttpError(400, "bad-precondition", `If-Match must be one quoted revision like "42", got ${ifMatch}`)
      return Number(m[1])
    }
    return undefined
  }

  const preconditionFailed = (revision: number) =>
    new HttpError(412, "precondition-failed", revision === 0 ? "the key does not exist" : `the key's revision is ${revision}`, { revision }, revision === 0 ? {} : { etag: etag(revision) })

  const handleKey = async (req: IncomingMessage, res: ServerResponse, url: URL, encodedKey: string, span: Tracer.Span, principal: ApiPrincipal): Promise<number> => {
    const key = keyOf(encodedKey)
    span.attribute("cairn.key_length", utf8Length(key))
    switch (req.method) {
      case "GET":
      case "HEAD": {
        const result = await read({ op: "get", key }, consistencyOf(url), span)
        if (result.type !== "get") throw new Error(`unexpected result ${result.type}`)
        if (!result.found) throw new HttpError(404, "not-found", `no key ${JSON.stringify(key)}`)
        res.writeHead(200, { "content-type": "application/octet-stream", "content-length": result.value.length, etag: etag(result.revision) })
        res.end(req.method === "HEAD" ? undefined : result.value)
        return req.method === "HEAD" ? 0 : result.value.length
      }
      case "PUT": {
        const expected = precondition(req)
        const body = await readBody(req, MAX_VALUE_BYTES)
        if (body === "too-large") throw new HttpError(413, "value-too-large", `values are at most ${MAX_VALUE_BYTES} bytes`, {}, { connection: "close" })
        checkBody(principal, body)
        metrics.bytesIn.inc(body.length)
        const value = new Uint8Array(body.buffer, body.byteOffset, body.length)
        const result = await write(expected === undefined ? { op: "put", key, value } : { op: "cas", key, expected, value }, span)
        if (result.type === "cas" && !result.ok) throw preconditionFailed(result.revision)
        if (result.type !== "put" && result.type !== "cas") throw new Error(`unexpected result ${result.type}`)
        return json(res, 200, { key, revision: result.revision }, { etag: etag(result.revision) })
      }
      case "DELETE": {
        const expected = precondition(req)
        if (expected === "absent") throw new HttpError(400, "bad-precondition", "If-None-Match: * makes no sense on DELETE")
        if (expected === undefined) {
          const result = await write({ op: "delete", key }, span)
          if (result.type !== "delete") throw new Error(`unexpected result ${result.type}`)
          if (!result.existed) throw new HttpError(404, "not-found", `no key ${JSON.stringify(key)}`)
          return json(res, 200, { key, revision: result.revision }, { etag: etag(result.revision) })
        }
        const result = await write({ op: "cas", key, expected, value: undefined }, span)
        if (result.type !== "cas") throw new Error(`unexpected result ${result.type}`)
        if (!result.ok) throw preconditionFailed(result.revision)
        return json(res, 200, { key, revision: result.revision }, { etag: etag(result.revision) })
      }
      default:
        throw new HttpError(405, "method-not-allowed", `${req.method} is not supported on /v1/kv/{key}: use GET, PUT or DELETE`, {}, { allow: "GET, HEAD, PUT, DELETE" })
    }
  }

  const handleList = async (req: IncomingMessage, res: ServerResponse, url: URL, span: Tracer.Span): Promise<number> => {
    if (req.method !== "GET") throw new HttpError(405, "method-not-allowed", "use GET /v1/kv?prefix=&start=&limit=", {}, { allow: "GET" })
    const prefix = url.searchParams.get("prefix") ?? ""
    const start = url.searchParams.get("start") ?? ""
    const limitText = url.searchParams.get("limit") ?? "100"
    const encoding = url.searchParams.get("encoding") ?? "base64"
    if (encoding !== "base64" && encoding !== "utf8") throw new HttpError(400, "bad-encoding", `encoding must be base64 or utf8, got "${encoding}"`)
    if (!/^\d{1,6}$/.test(limitText) || Number(limitText) < 1 || Number(limitText) > MAX_RANGE_LIMIT)
      throw new HttpError(400, "bad-limit", `limit must be a whole number from 1 to ${MAX_RANGE_LIMIT}, got "${limitText}"`)
    for (const [name, v] of [["prefix", prefix], ["start", start]] as const) {
      if (utf8Length(v) > MAX_KEY_BYTES) throw new HttpError(400, "key-too-large", `${name} is longer than ${MAX_KEY_BYTES} bytes`)
    }
    // Never list the reserved keys: start at or after the first key that is not reserved.
    const from = [prefix, start, "\u0001"].reduce((a, b) => (a > b ? a : b))
    const end = prefix === "" ? undefined : prefixEnd(prefix)
    const result = await read({ op: "range", start: from, end, limit: Number(limitText) }, consistencyOf(url), span)
    if (result.type !== "range") throw new Error(`unexpected result ${result.type}`)
    const decoder = new TextDecoder("utf-8", { fatal: true })
    const items = result.items.map((item) => {
      if (encoding === "base64") return { key: item.key, value: Buffer.from(item.value).toString("base64"), revision: item.revision }
      try {
        return { key: item.key, value: decoder.decode(item.value), revision: item.revision }
      } catch {
        return { key: item.key, valueBase64: Buffer.from(item.value).toString("base64"), revision: item.revision }
      }
    })
    const last = result.items[result.items.length - 1]
    return json(res, 200, { items, more: result.more, next: result.more && last !== undefined ? `${last.key}\u0000` : null, encoding })
  }

  const authenticateRequest = makeApiAuthenticator({
    // Without the S3 layer (some tests) only the admin's key exists.
    lookup: ctx.s3Users?.lookup ??
      ((accessKey) => Effect.succeed(accessKey === ctx.credentials.accessKey ? { user: ADMIN_USER, secretKey: ctx.credentials.secretKey } : undefined)),
    region: config.s3Region,
    digest: nodeDigest,
    now: () => Date.now()
  })
  const requireAdmin = (principal: ApiPrincipal) => {
    if (principal.admin) return
    metrics.errors.inc({ kind: "unauthorized" })
    throw new HttpError(403, "forbidden", `admin endpoints need the admin's access key; ${principal.accessKey} belongs to user ${principal.user}`)
  }

  /** A body signed by its SigV4 hash is acted on only if it is that body. */
  const checkBody = (principal: ApiPrincipal, body: Buffer) => {
    if (!bodyMatches(principal, body)) throw new HttpError(400, "bad-body-hash", "the body's SHA-256 is not the x-amz-content-sha256 the request was signed with")
  }

  const handleAdmin = async (req: IncomingMessage, res: ServerResponse, rest: string, principal: ApiPrincipal): Promise<number> => {
    requireAdmin(principal)
    if (rest === "" && req.method === "GET") return json(res, 200, await ctx.members.list())
    const status = Effect.runSync(kv.raft.status)
    if (req.method !== "GET" && status.role !== "leader") throw leaderError(status.leader === config.id ? undefined : status.leader, "membership changes go to the leader")
    if (rest === "" && req.method === "POST") {
      const body = await readBody(req, 64 * 1024)
      if (body === "too-large") throw new HttpError(413, "too-large", "the request body is too large")
      checkBody(principal, body)
      let parsed: unknown
      try {
        parsed = JSON.parse(body.toString("utf8"))
      } catch {
        throw new HttpError(400, "bad-json", 'expected a JSON body {"id": "n4", "peerAddress": "host:port", "apiAddress": "host:port", "learner": false}')
      }
      const outcome = await ctx.members.add(parsed)
      if (typeof outcome === "string") throw new HttpError(outcome.startsWith("busy") ? 409 : 400, outcome.startsWith("busy") ? "busy" : "bad-member", outcome)
      return json(res, 200, outcome)
    }
    if (rest.startsWith("/") && req.method === "DELETE") {
      const outcome = await ctx.members.remove(decodeURIComponent(rest.slice(1)))
      if (typeof outcome === "string") throw new HttpError(outcome.startsWith("busy") ? 409 : outcome.startsWith("unknown") ? 404 : 400, "bad-member", outcome)
      return json(res, 200, outcome)
    }
    throw new HttpError(405, "method-not-allowed", "use GET or POST /v1/admin/members, DELETE /v1/admin/members/{id}")
  }

  /** S3 access keys: GET lists, POST {"user"} creates a key pair (the secret is shown only here), DELETE /{accessKey} revokes. */
  const handleS3Users = async (req: IncomingMessage, res: ServerResponse, rest: string, principal: ApiPrincipal): Promise<number> => {
    requireAdmin(principal)
    const users = ctx.s3Users
    // Not a 503: nothing will change by retrying until the server runs the S3 layer.
    if (users === undefined) throw new HttpError(501, "s3-not-running", "the S3 layer is not running on this node")
    const run = async <A>(effect: Effect.Effect<A, { readonly _tag: string; readonly message: string }>): Promise<A> => {
      const outcome = await runPromise(Effect.result(effect))
      if (Result.isSuccess(outcome)) return outcome.success
      const failure = outcome.failure
      if (failure._tag === "InvalidUserError") throw new HttpError(400, "bad-user", failure.message)
      if ("ambiguous" in failure && failure.ambiguous === true) throw new HttpError(504, "outcome-unknown", `${failure.message}; list the keys to find out whether it took effect`)
      throw new HttpError(503, "unavailable", failure.message, {}, { "retry-after": "1" })
    }
    if (rest === "" && req.method === "GET") return json(res, 200, { keys: await run(users.listKeys) })
    if (rest === "" && req.method === "POST") {
      const body = await readBody(req, 64 * 1024)
      if (body === "too-large") throw new HttpError(413, "too-large", "the request body is too large")
      checkBody(principal, body)
      let user: unknown
      try {
        user = (JSON.parse(body.toString("utf8")) as { user?: unknown }).user
      } catch {
        user = undefined
      }
      if (typeof user !== "string") throw new HttpError(400, "bad-json", 'expected a JSON body {"user": "NAME"}')
      const accessKey = `CAIRN${randomBytes(10).toString("hex").toUpperCase()}`
      const secretKey = randomBytes(30).toString("base64url")
      const created = await run(users.addKey({ user, accessKey, secretKey, createdMs: Date.now() }))
      return json(res, 200, { ...created, secretKey })
    }
    if (rest.startsWith("/") && req.method === "DELETE") {
      const accessKey = decodeURIComponent(rest.slice(1))
      if (!(await run(users.revoke(accessKey)))) throw new HttpError(404, "not-found", `no access key ${accessKey}`)
      return json(res, 200, { accessKey, revoked: true })
    }
    throw new HttpError(405, "method-not-allowed", "use GET or POST /v1/admin/s3/users, DELETE /v1/admin/s3/users/{accessKey}")
  }

  const serveMetrics = async (res: ServerResponse): Promise<number> => {
    const text = await metrics.registry.metrics()
    res.writeHead(200, { "content-type": metrics.registry.contentType })
    res.end(text)
    return text.length
  }

  /** The caller of a request that needs one; throws the 401 (or 400, 503) otherwise. */
  const principalOf = async (req: IncomingMessage): Promise<ApiPrincipal> => {
    const outcome = await authenticateRequest(req)
    if (isPrincipal(outcome)) return outcome
    if (outcome.status === 401) metrics.errors.inc({ kind: "unauthorized" })
    const headers: Record<string, string> = {}
    if (outcome.status === 401) headers["www-authenticate"] = WWW_AUTHENTICATE
    // The body was not read: close rather than drain whatever an unauthenticated client sends.
    if (req.headers["content-length"] !== undefined || req.headers["transfer-encoding"] !== undefined) headers.connection = "close"
    throw new HttpError(outcome.status, outcome.code, outcome.message, {}, headers)
  }

  const route = async (req: IncomingMessage, res: ServerResponse, url: URL, span: Tracer.Span): Promise<number> => {
    const path = url.pathname
    if (path === "/health") return json(res, 200, { status: "ok" })
    if (path === "/ready") {
      const s = Effect.runSync(kv.raft.status)
      const ready = s.leader !== undefined && s.applied >= s.commit
      return json(res, ready ? 200 : 503, { ready, leader: s.leader ?? null, commit: s.commit, applied: s.applied })
    }
    if (path === "/metrics" && config.metricsPublic) return serveMetrics(res)
    // The one gate: nothing below runs for a caller without valid credentials.
    const principal = await principalOf(req)
    span.attribute("cairn.user", principal.user)
    if (path.startsWith("/v1/kv/")) return handleKey(req, res, url, path.slice("/v1/kv/".length), span, principal)
    if (path === "/v1/kv" || path === "/v1/kv/") return handleList(req, res, url, span)
    if (path === "/v1/status") {
      const s = Effect.runSync(kv.raft.status)
      return json(res, 200, { id: config.id, ...s, leader: s.leader ?? null, leaderApi: s.leader === undefined ? null : ctx.members.apiAddress(s.leader) ?? null })
    }
    if (path === "/metrics") return serveMetrics(res)
    if (path === "/v1/admin/members" || path.startsWith("/v1/admin/members/")) return handleAdmin(req, res, path.slice("/v1/admin/members".length), principal)
    if (path === "/v1/admin/s3/users" || path.startsWith("/v1/admin/s3/users/")) return handleS3Users(req, res, path.slice("/v1/admin/s3/users".length), principal)
    throw new HttpError(404, "no-route", `no route ${path}: see docs/server.md`)
  }

  const routeLabel = (path: string) =>
    path.startsWith("/v1/kv/") ? "/v1/kv/{key}" : path.startsWith("/v1/admin/s3/") ? "/v1/admin/s3/users" : path.startsWith("/v1/admin/") ? "/v1/admin/members" : ["/v1/kv", "/health", "/ready", "/metrics", "/v1/status"].includes(path) ? path : "other"

  return (req: IncomingMessage, res: ServerResponse): void => {
    let url: URL
    try {
      url = new URL(req.url ?? "/", "http://localhost")
    } catch {
      url = new URL("http://localhost/bad-url")
    }
    const label = routeLabel(url.pathname)
    const end = metrics.requestSeconds.startTimer({ method: req.method ?? "?", route: label })
    /** The status sent. */
    const finish = (status: number, bytes: number): number => {
      const seconds = end()
      log("debug", "http request", { method: req.method, route: label, status, ms: Math.round(seconds * 1e4) / 10 })
      metrics.requests.inc({ method: req.method ?? "?", route: label, code: String(status) })
      metrics.bytesOut.inc(bytes)
      return status
    }
    const serve = (span: Tracer.Span): Promise<number> =>
      route(req, res, url, span).then(
        (bytes) => finish(res.statusCode, bytes),
        (error: unknown) => {
          if (res.headersSent) {
            res.destroy()
            return finish(res.statusCode, 0)
          }
          if (error instanceof HttpError) {
            if (error.status >= 400 && error.status < 500) metrics.errors.inc({ kind: "bad_request" })
            const bytes = json(res, error.status, { error: error.code, message: error.message, ...error.extra }, error.headers)
            if (error.headers.connection === "close") res.on("finish", () => req.socket.destroySoon())
            return finish(error.status, bytes)
          }
          metrics.errors.inc({ kind: "internal" })
          log("error", "request failed", { method: req.method, path: url.pathname, error: String(error instanceof Error ? error.stack : error) })
          return finish(500, json(res, 500, { error: "internal", message: "internal error; see the server log" }))
        }
      )
    const method = spanMethods.has(req.method ?? "") ? req.method! : "HTTP"
    const request = Effect.useSpan(
      `${method} ${label}`,
      {
        kind: "server",
        attributes: { "http.request.method": method === "HTTP" ? "_OTHER" : method, "http.route": label },
        ...(unsampledRoutes.has(label) ? { sampled: false } : {})
      },
      (span) =>
        Effect.flatMap(Effect.promise(() => serve(span)), (status) => {
          span.attribute("http.response.status_code", status)
          return status >= 500 ? Effect.fail(new ServerErrorStatus({ message: `answered ${status}` })) : Effect.void
        })
    )
    // Everything is answered inside `serve`; the span's outcome is all that is left.
    runFork(Effect.exit(request))
  }
}

const resultError = (result: { readonly code: string; readonly message: string }): HttpError => {
  switch (result.code) {
    case "key-too-large":
      return new HttpError(400, "key-too-large", result.message)
    case "value-too-large":
      return new HttpError(413, "value-too-large", result.message)
    case "bad-command":
      return new HttpError(400, "bad-command", result.message)
    default:
      return new HttpError(500, result.code, result.message)
  }
}
