/**
 * `POST /api/share`: a share link for one object, a SigV4 presigned GET
 * (s3/presign-url.ts) signed with the signed-in user's own key, so it
 * grants no more than that key may read, and it stops working when it
 * expires or when the key is revoked. The secret stays on the node; the
 * browser gets only the URL.
 *
 * The link names this node's S3 listener as a browser elsewhere reaches it:
 * the address S3 listens on, or, when that is a wildcard (0.0.0.0, ::), the
 * host name the browser used for the console (the same machine), with S3's
 * port. Behind a proxy or NAT, `--console-share-endpoint` names the origin
 * browsers elsewhere reach S3 at instead. The signature covers that host,
 * so the URL works only as given (a proxy must pass the Host header on
 * unchanged).
 */
import { MAX_PRESIGN_EXPIRES_SECONDS } from "@cairn/core/s3/sigv4"
import type { IncomingMessage, ServerResponse } from "node:http"
import { presignUrl } from "../s3/presign-url.ts"
import type { ShareLink, ShareRequest } from "./contract.ts"
import { json, readSmallBody, refuse } from "./http-replies.ts"
import type { Session } from "./sessions.ts"

/** Where browsers reach this node's S3 listener. */
export interface S3Endpoint {
  readonly scheme: "http" | "https"
  /** undefined when S3 listens on a wildcard address: the console request's host name is used. */
  readonly host: string | undefined
  readonly port: number
  /** `--console-share-endpoint` (`https://s3.example.com`): links name this origin instead of the listener. */
  readonly publicOrigin: string | undefined
}

export const s3EndpointOf = (scheme: "http" | "https", address: { readonly host: string; readonly port: number }, publicOrigin?: string): S3Endpoint => ({
  scheme,
  host: address.host === "0.0.0.0" || address.host === "::" ? undefined : address.host,
  port: address.port,
  publicOrigin
})

const parseShare = (text: string | undefined): ShareRequest | string => {
  let body: Partial<Record<keyof ShareRequest, unknown>>
  try {
    body = JSON.parse(text ?? "") as typeof body
  } catch {
    return "the request must be JSON: { bucket, key, versionId?, expiresSeconds }"
  }
  const { bucket, key, versionId, expiresSeconds } = body
  if (typeof bucket !== "string" || bucket === "" || typeof key !== "string" || key === "") return "name the bucket and the key to share"
  if (versionId !== undefined && (typeof versionId !== "string" || versionId === "")) return "versionId, when given, is a version id"
  if (typeof expiresSeconds !== "number" || !Number.isInteger(expiresSeconds) || expiresSeconds < 1 || expiresSeconds > MAX_PRESIGN_EXPIRES_SECONDS) {
    return `a link expires after 1 second to 7 days (${MAX_PRESIGN_EXPIRES_SECONDS} s): S3 refuses longer`
  }
  return { bucket, key, expiresSeconds, ...(versionId === undefined ? {} : { versionId }) }
}

/** The host name the browser used for the console (without its port). */
const requestHostName = (req: IncomingMessage): string => {
  const host = req.headers.host ?? "127.0.0.1"
  return host.startsWith("[") ? host.slice(0, host.indexOf("]") + 1) : host.replace(/:\d+$/, "")
}

export const shareUrl = (endpoint: S3Endpoint, hostName: string, request: ShareRequest): URL => {
  const host = endpoint.host === undefined ? hostName : endpoint.host.includes(":") ? `[${endpoint.host}]` : endpoint.host
  const url = new URL(endpoint.publicOrigin ?? `${endpoint.scheme}://${host}:${endpoint.port}/`)
  url.pathname = `/${encodeURIComponent(request.bucket)}/${request.key.split("/").map(encodeURIComponent).join("/")}`
  if (request.versionId !== undefined) url.searchParams.set("versionId", request.versionId)
  return url
}

export const serveShareLink = async (
  options: { readonly region: string; readonly s3Endpoint: S3Endpoint },
  req: IncomingMessage,
  res: ServerResponse,
  session: Session
): Promise<void> => {
  const input = parseShare(await readSmallBody(req, 8192))
  if (typeof input === "string") return refuse(res, 400, "bad-request", input)
  const nowMs = Date.now()
  const { accessKey, secretKey } = session.credentials
  const url = presignUrl({ accessKey, secretKey, region: options.region }, { method: "GET", url: shareUrl(options.s3Endpoint, requestHostName(req), input), expiresSeconds: input.expiresSeconds, nowMs })
  json(res, 200, { url: url.toString(), expiresMs: nowMs + input.expiresSeconds * 1000 } satisfies ShareLink)
}
