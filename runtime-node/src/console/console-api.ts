/**
 * The console's `/api/` routes. Its own are few: sign-in, sign-out and the
 * session (`/api/session`), and the cluster page's member table
 * (`/api/cluster`). Everything else is the node's real APIs, forwarded with
 * the signed-in user's own credentials, so the console has no permission
 * system of its own: `/api/s3/…` goes to the S3 listener signed with SigV4,
 * `/api/admin/…` to the KV API's `/v1/admin/…` with HTTP Basic. What the
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
import { memberRows, type MemberEntry, type StatusProbe } from "../cli/cluster-health.ts"
import { memberStatusOf, probeStatus } from "../cli/member-probe.ts"
import { signRequest } from "../s3/sign-request.ts"
import { apiAuthorization } from "../server/api-credentials.ts"
import { sameSecret } from "../server/api-auth.ts"
import { type ClusterView, CSRF_HEADER, type SessionInfo, type SignInRequest } from "./contract.ts"
import { clearedCookie, forwardedHeaders, json, readSmallBody, refuse, sessionCookie, sessionIdOf } from "./http-replies.ts"
import { type Session, type SessionStore, sameToken } from "./sessions.ts"
import { fetchJson, forward, type Upstream } from "./upstream.ts"

export interface ConsoleApiOptions {
  readonly nodeId: string
  readonly users: Users
  readonly region: string
  readonly sessions: SessionStore
  readonly sessionMaxAgeSeconds: number
  /** The console itself is served over HTTPS: the cookie is Secure. */
  readonly tls: boolean
  readonly s3: Upstream
  readonly api: Upstream
  /** The scheme of every member's KV API (the cluster page asks each for its status). */
  readonly apiScheme: "http" | "https"
}

/** Browser headers the S3 API reads; they are forwarded and signed. Authorization, cookies and the rest stay behind. */
const s3RequestHeaders = new Set([
  "content-type", "content-md5", "content-disposition", "content-encoding", "content-language", "cache-control", "expires",
  "range", "if-match", "if-none-match", "if-modified-since", "if-unmodified-since"
])
const unsignedAmzHeaders = new Set(["x-amz-date", "x-amz-content-sha256", "x-amz-security-token"])

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
    const found = await Effect.runPromise(Effect.result(options.users.lookup(input.accessKey)))
    if (Result.isFailure(found)) return refuse(res, 503, "unavailable", `the user directory cannot be read now (${found.failure.message}); try again in a moment`)
    // An unknown key still costs a comparison, so that it looks like a wrong secret.
    const matches = sameSecret(input.secretKey, found.success?.secretKey ?? "\u0000no such key")
    if (found.success === undefined || !matches) return refuse(res, 401, "unauthorized", WRONG_KEYS)
    const user = found.success.user
    const session = sessions.create({ accessKey: input.accessKey, secretKey: input.secretKey, user, admin: user === ADMIN_USER })
    json(res, 200, sessionInfo(session, options.nodeId, session.createdMs + options.sessionMaxAgeSeconds * 1000), {
      "set-cookie": sessionCookie(tls, session.id, options.sessionMaxAgeSeconds)
    })
  }

  const forwardS3 = (req: IncomingMessage, res: ServerResponse, url: URL, session: Session): void => {
    const target = `${url.pathname.slice("/api/s3".length) || "/"}${url.search}`
    const headers: Record<string, string> = {}
    for (const [name, value] of Object.entries(req.headers)) {
      if (typeof value !== "string") continue
      if (s3RequestHeaders.has(name) || (name.startsWith("x-amz-") && !unsignedAmzHeaders.has(name))) headers[name] = value
    }
    const { accessKey, secretKey } = session.credentials
    // The body streams through unhashed (UNSIGNED-PAYLOAD, which S3 allows); its integrity rides on TCP/TLS to this node's own listener.
    const signed = signRequest({ accessKey, secretKey, region: options.region }, { method: req.method ?? "GET", url: new URL(target, options.s3.origin), headers, unsignedPayload: true })
    const length = req.headers["content-length"]
    const chunked = req.headers["transfer-encoding"]
    const hasBody = (length !== undefined && length !== "0") || chunked !== undefined
    // A read of an object's bytes (any version), not of a subresource such as ?tagging or ?uploadId.
    const isObjectRead = req.method === "GET" && /^\/api\/s3\/[^/]+\/.+/.test(url.pathname) && [...url.searchParams.keys()].every((k) => k === "versionId")
    const name = decodeURIComponent(url.pathname.split("/").pop() ?? "download").replace(/["\\\r\n]/g, "_")
    forward({
      upstream: options.s3,
      method: req.method ?? "GET",
      target,
      headers: { ...signed, ...(length === undefined ? {} : { "content-length": length }), ...(chunked === undefined ? {} : { "transfer-encoding": chunked }) },
      body: hasBody ? req : undefined,
      // An object read is always a download: never rendered as a page of this origin.
      answerHeaders: (status) => ({ ...forwardedHeaders, ...(isObjectRead && status < 300 ? { "content-disposition": `attachment; filename="${name}"` } : {}) }),
      onUnreachable: (message) => refuse(res, 502, "upstream", message)
    }, res)
  }

  const forwardAdmin = (req: IncomingMessage, res: ServerResponse, url: URL, session: Session): void => {
    const length = req.headers["content-length"]
    forward({
      upstream: options.api,
      method: req.method ?? "GET",
      target: `/v1/admin/${url.pathname.slice("/api/admin/".length)}${url.search}`,
      headers: { authorization: apiAuthorization(session.credentials), ...(length === undefined ? {} : { "content-length": length, "content-type": "application/json" }) },
      body: length !== undefined && length !== "0" ? req : undefined,
      answerHeaders: () => ({ ...forwardedHeaders, "cache-control": "no-store" }),
      onUnreachable: (message) => refuse(res, 502, "upstream", message)
    }, res)
  }

  /**
   * A member's status. This node is asked through its own listener (its pinned certificate, whatever address it
   * advertises); the others at their advertised API address, trusted as Node.js trusts any https server.
   */
  const probe = async (m: MemberEntry, authorization: string): Promise<StatusProbe> => {
    if (m.id === options.nodeId) {
      try {
        const own = await fetchJson(options.api, "/v1/status", { authorization })
        if (own.status !== 200) return { ok: false, error: `this node's /v1/status: HTTP ${own.status}` }
        return { ok: true, status: memberStatusOf(own.body as Record<string, unknown>) }
      } catch (e) {
        return { ok: false, error: `this node's /v1/status: ${e instanceof Error ? e.message : String(e)}` }
      }
    }
    if (m.apiAddress === null) return { ok: false, error: "no API address known" }
    return probeStatus(authorization, `${options.apiScheme}://${m.apiAddress}/v1/status`)
  }

  const cluster = async (res: ServerResponse, session: Session): Promise<void> => {
    const authorization = apiAuthorization(session.credentials)
    const listed = await fetchJson(options.api, "/v1/admin/members", { authorization })
    // A user who is not the admin is refused by the admin API itself; its message is passed on.
    if (listed.status !== 200) return json(res, listed.status, listed.body)
    const body = listed.body as { readonly members?: unknown }
    const members = (Array.isArray(body.members) ? body.members : []) as ReadonlyArray<MemberEntry>
    const probes = new Map(await Promise.all(members.map(async (m) => [m.id, await probe(m, authorization)] as const)))
    json(res, 200, { node: options.nodeId, members: memberRows(members, probes) } satisfies ClusterView)
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
    if (path === "/api/cluster" && method === "GET") return cluster(res, session)
    if (path === "/api/s3" || path.startsWith("/api/s3/")) return forwardS3(req, res, url, session)
    if (path.startsWith("/api/admin/")) return forwardAdmin(req, res, url, session)
    return refuse(res, 404, "not-found", `no console route ${method} ${path}`)
  }
}
