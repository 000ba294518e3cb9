/**
 * The console's way into the node's own APIs: a browser request under
 * `/api/s3/` goes to the S3 listener signed with SigV4 with the session's
 * key, one under `/api/admin/` or `/api/log/` to the KV API's `/v1/admin/`
 * or `/v1/log/` with that key in HTTP Basic. Only the headers S3 reads are passed up (never the cookie);
 * answers come back with headers that keep an object's bytes from ever
 * running as a page of the console's origin.
 */
import type { IncomingMessage, ServerResponse } from "node:http"
import { signRequest } from "../s3/sign-request.ts"
import { apiAuthorization } from "../server/api-credentials.ts"
import { forwardedHeaders, refuse } from "./http-replies.ts"
import type { Session } from "./sessions.ts"
import { forward, type Upstream } from "./upstream.ts"

export interface ForwardOptions {
  readonly region: string
  readonly s3: Upstream
  readonly api: Upstream
}

/** Browser headers the S3 API reads; they are forwarded and signed. Authorization, cookies and the rest stay behind. */
const s3RequestHeaders = new Set([
  "content-type", "content-md5", "content-disposition", "content-encoding", "content-language", "cache-control", "expires",
  "range", "if-match", "if-none-match", "if-modified-since", "if-unmodified-since"
])
const unsignedAmzHeaders = new Set(["x-amz-date", "x-amz-content-sha256", "x-amz-security-token"])

export const forwardS3 = (options: ForwardOptions, req: IncomingMessage, res: ServerResponse, url: URL, session: Session): void => {
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

/** The KV API's route families the console passes on: `/api/<family>/…` to `/v1/<family>/…`. */
export type KvApiFamily = "admin" | "log"

export const forwardKvApi = (family: KvApiFamily, options: ForwardOptions, req: IncomingMessage, res: ServerResponse, url: URL, session: Session): void => {
  const length = req.headers["content-length"]
  forward({
    upstream: options.api,
    method: req.method ?? "GET",
    target: `/v1/${family}${url.pathname.slice(`/api/${family}`.length)}${url.search}`,
    headers: { authorization: apiAuthorization(session.credentials), ...(length === undefined ? {} : { "content-length": length, "content-type": "application/json" }) },
    body: length !== undefined && length !== "0" ? req : undefined,
    answerHeaders: () => ({ ...forwardedHeaders, "cache-control": "no-store" }),
    onUnreachable: (message) => refuse(res, 502, "upstream", message)
  }, res)
}
