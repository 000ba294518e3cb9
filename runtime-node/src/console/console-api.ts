/**
 * The console's `/api/` routes. Its own are few: sign-in, sign-out and the
 * session (`/api/session`), the cluster page's member table
 * (`/api/cluster`), its membership changes (`/api/cluster/members`, sent
 * to the Raft leader), and storage figures (`/api/cluster/storage`), the
 * users with their buckets (`/api/users`), the simulation and Jepsen
 * reports found on this node (`/api/reports`, served sandboxed), this
 * node's or (`?node=`) another member's recent metrics (`/api/metrics`),
 * and share links (`/api/share`,
 * presigned with the user's key). Everything else is the node's real APIs, forwarded with
 * the signed-in user's own credentials, so the console has no permission
 * system of its own: `/api/s3/…` goes to the S3 listener signed with SigV4,
 * `/api/admin/…` and `/api/log/…` to the KV API's `/v1/admin/…` and
 * `/v1/log/…` (the streaming log's topics, records and consumer groups)
 * with HTTP Basic. What the
 * user may not do, those APIs refuse, and the page shows their message.
 *
 * Every request but a sign-in needs a live session (the HttpOnly cookie);
 * every request that is not GET or HEAD also needs the session's CSRF token
 * in the `x-cairn-csrf` header and, when the browser says where it comes
 * from (`Origin`), this very origin. A sign-in must be JSON (which a form on
 * another site cannot send without a CORS preflight this server never
 * grants) from this origin.
 */
import { ADMIN_USER, type Users } from "@cairn/core/s3/users"
import { Effect, Result } from "effect"
import type { IncomingMessage, ServerResponse } from "node:http"
import { sameSecret } from "../server/api-auth.ts"
import { serveClusterStorage } from "./cluster-storage.ts"
import { serveCluster } from "./cluster-view.ts"
import { CSRF_HEADER, type SessionInfo, type SignInRequest } from "./contract.ts"
import type { ReadScheme } from "./erasure-scheme.ts"
import { forwardKvApi, forwardS3 } from "./forwarding.ts"
import { clearedCookie, json, readSmallBody, refuse, sessionCookie, sessionIdOf } from "./http-replies.ts"
import { MEMBERS_PREFIX, serveMemberChange } from "./member-admin.ts"
import { type MetricSampler, rangeOf } from "./metric-sampler.ts"
import { serveMemberMetrics } from "./member-metrics.ts"
import { REPORTS_PREFIX, serveReports } from "./reports.ts"
import { type Session, type SessionStore, sameToken } from "./sessions.ts"
import type { SignInLimiter } from "./sign-in-limiter.ts"
import { type S3Endpoint, serveShareLink } from "./share-link.ts"
import type { Upstream } from "./upstream.ts"
import { serveUsers, type UserBucketsOptions } from "./user-buckets.ts"

export interface ConsoleApiOptions {
  readonly nodeId: string
  readonly users: Users
  readonly region: string
  readonly sessions: SessionStore
  /** Failed sign-ins per client address and per key: past the limits, 429 (sign-in-limiter.ts). */
  readonly signInLimiter: SignInLimiter
  readonly sessionMaxAgeSeconds: number
  /** The console itself is served over HTTPS: the cookie is Secure. */
  readonly tls: boolean
  readonly s3: Upstream
  /** Where browsers reach this node's S3 listener (share links name it). */
  readonly s3Endpoint: S3Endpoint
  readonly api: Upstream
  /** The scheme of every member's KV API (the cluster page asks each for its status). */
  readonly apiScheme: "http" | "https"
  /** This node's recent figures, for the charts. */
  readonly metrics: MetricSampler
  readonly erasureScheme: ReadScheme
  /** The folder of simulation and Jepsen reports the Reports page lists (reports.ts). */
  readonly reportsDir: string
  /** Every bucket with its owner, for the Users page. */
  readonly listBuckets: UserBucketsOptions["listBuckets"]
}

const WRONG_KEYS = "the access key or the secret is wrong"

const sessionInfo = (session: Session, nodeId: string, absoluteEndMs: number): SessionInfo => ({
  user: session.credentials.user,
  accessKey: session.credentials.accessKey,
  admin: session.credentials.admin,
  csrfToken: session.csrfToken,
  expiresMs: absoluteEndMs,
  node: nodeId
})

const parseSignIn = (text: string | undefined): SignInRequest | undefined => {
  if (text === undefined) return undefined
  try {
    const body = JSON.parse(text) as Partial<Record<keyof SignInRequest, unknown>>
    return typeof body.accessKey === "string" && typeof body.secretKey === "string" && body.accessKey !== "" && body.secretKey !== ""
      ? { accessKey: body.accessKey.trim(), secretKey: body.secretKey }
      : undefined
  } catch {
    return undefined
  }
}

/** The request comes from a page of this console (or says nothing about where it comes from). */
const sameOrigin = (req: IncomingMessage): boolean => {
  const origin = req.headers.origin
  if (origin === undefined) return true
  try {
    return new URL(origin).host === req.headers.host
  } catch {
    return false
  }
}

export const makeConsoleApi = (options: ConsoleApiOptions) => {
  const { sessions, tls } = options

  const signIn = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (!(req.headers["content-type"] ?? "").startsWith("application/json") || !sameOrigin(req)) {
      return refuse(res, 403, "csrf", "sign in from the console's own page")
    }
    const input = parseSignIn(await readSmallBody(req, 8192))
    if (input === undefined) return refuse(res, 400, "bad-request", "give an access key and a secret key")
    const address = req.socket.remoteAddress ?? "unknown"
    const admission = options.signInLimiter.admit(address, input.accessKey)
    if (!admission.ok) {
      const message = `too many failed sign-ins: try again in ${admission.retryAfterSeconds} s`
      return json(res, 429, { error: "too-many-attempts", message }, { "retry-after": String(admission.retryAfterSeconds) })
    }
    const found = await Effect.runPromise(Effect.result(options.users.lookup(input.accessKey)))
    if (Result.isFailure(found)) return refuse(res, 503, "unavailable", `the user directory cannot be read now (${found.failure.message}); try again in a moment`)
    // An unknown key still costs a comparison, so that it looks like a wrong secret.
    const matches = sameSecret(input.secretKey, found.success?.secretKey ?? "\u0000no such key")
    if (found.success === undefined || !matches) {
      options.signInLimiter.failed(address, input.accessKey)
      return refuse(res, 401, "unauthorized", WRONG_KEYS)
    }
    options.signInLimiter.succeeded(address)
    const user = found.success.user
    const session = sessions.create({ accessKey: input.accessKey, secretKey: input.secretKey, user, admin: user === ADMIN_USER })
    json(res, 200, sessionInfo(session, options.nodeId, session.createdMs + options.sessionMaxAgeSeconds * 1000), {
      "set-cookie": sessionCookie(tls, session.id, options.sessionMaxAgeSeconds)
    })
  }

  /** Routes a request under /api/; every path answers. */
  return async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> => {
    const method = req.method ?? "GET"
    const path = url.pathname
    if (path === "/api/session" && method === "POST") return signIn(req, res)
    const id = sessionIdOf(req, tls)
    const found = sessions.lookup(id)
    if (!found.ok) {
      const cookie: Record<string, string> = id === undefined ? {} : { "set-cookie": clearedCookie(tls) }
      if (found.reason === "expired") return json(res, 401, { error: "session-expired", message: "your session expired: sign in again" }, cookie)
      return json(res, 401, { error: "unauthorized", message: "sign in first" }, cookie)
    }
    const session = found.session
    if (method !== "GET" && method !== "HEAD") {
      const token = req.headers[CSRF_HEADER]
      if (typeof token !== "string" || !sameToken(token, session.csrfToken) || !sameOrigin(req)) {
        return refuse(res, 403, "csrf", "this change did not come from the console's page (missing or wrong CSRF token): reload the page")
      }
    }
    if (path === "/api/session" && method === "GET") return json(res, 200, sessionInfo(session, options.nodeId, session.createdMs + options.sessionMaxAgeSeconds * 1000))
    if (path === "/api/session" && method === "DELETE") {
      sessions.end(session.id)
      return json(res, 200, { signedOut: true }, { "set-cookie": clearedCookie(tls) })
    }
    if (path === "/api/cluster" && method === "GET") return serveCluster(options, res, session)
    if (path === "/api/cluster/storage" && method === "GET") return serveClusterStorage(options, res, session)
    if (path === MEMBERS_PREFIX || path.startsWith(`${MEMBERS_PREFIX}/`)) return serveMemberChange(options, req, res, url, session)
    if ((path === REPORTS_PREFIX || path.startsWith(`${REPORTS_PREFIX}/`)) && method === "GET") return serveReports(options, res, url, session)
    if (path === "/api/users" && method === "GET") return serveUsers(options, res, session)
    if (path === "/api/metrics" && method === "GET") {
      const node = url.searchParams.get("node")
      if (node === null || node === options.nodeId) return json(res, 200, options.metrics.view(rangeOf(url)))
      return serveMemberMetrics(options, res, session, node, rangeOf(url))
    }
    if (path === "/api/share" && method === "POST") return serveShareLink(options, req, res, session)
    if (path === "/api/s3" || path.startsWith("/api/s3/")) return forwardS3(options, req, res, url, session)
    if (path.startsWith("/api/admin/")) return forwardKvApi("admin", options, req, res, url, session)
    if (path === "/api/log" || path.startsWith("/api/log/")) return forwardKvApi("log", options, req, res, url, session)
    return refuse(res, 404, "not-found", `no console route ${method} ${path}`)
  }
}
