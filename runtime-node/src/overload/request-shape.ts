/**
 * What admission control reads from a request before any byte of its body
 * is read or any signature is checked: who the client is, how many body
 * bytes it declares, and whether it is a probe.
 *
 * The client is the access key the request names (SigV4 in the
 * Authorization header or a presigned URL's X-Amz-Credential, or the KV
 * API's Basic and Bearer credentials), else the remote address. Keying by
 * access key keeps tenants apart behind one load balancer or NAT address;
 * it is read unverified, but a request that names a key it cannot sign for
 * fails authentication before its body is read, so a made-up key holds its
 * share only for that moment, and the listener's own limits bound the sum.
 */
import type { IncomingMessage } from "node:http"
import { UNKNOWN_LENGTH_CHARGE_BYTES } from "./limits.ts"

const SIGV4_CREDENTIAL = /Credential=([^/,\s]+)\//
const QUERY_CREDENTIAL = /[?&]X-Amz-Credential=([^%&/]+)(?:%2F|\/)/i
/** Access keys are short printable names; anything else is not taken as one. */
const ACCESS_KEY = /^[A-Za-z0-9_.-]{3,128}$/

const accessKeyOf = (req: IncomingMessage): string | undefined => {
  const auth = req.headers.authorization
  let key: string | undefined
  if (auth !== undefined) {
    if (auth.startsWith("AWS4-HMAC-SHA256")) key = SIGV4_CREDENTIAL.exec(auth)?.[1]
    else if (auth.startsWith("Bearer ")) key = auth.slice(7).split(":")[0]
    else if (auth.startsWith("Basic ")) key = Buffer.from(auth.slice(6), "base64").toString("utf8").split(":")[0]
  } else if (req.url !== undefined && req.url.includes("redential=")) key = QUERY_CREDENTIAL.exec(req.url)?.[1]
  return key !== undefined && ACCESS_KEY.test(key) ? key : undefined
}

/** The client a request is charged to: `key:<access key>` when it names one, else `addr:<remote address>`. */
export const clientOf = (req: IncomingMessage): string => {
  const key = accessKeyOf(req)
  return key !== undefined ? `key:${key}` : `addr:${req.socket.remoteAddress ?? "unknown"}`
}

/** Declared body bytes: Content-Length, a fixed charge for a chunked body, 0 for none. */
export const declaredBytes = (req: IncomingMessage): number => {
  const length = req.headers["content-length"]
  if (length === undefined) return req.headers["transfer-encoding"] === undefined ? 0 : UNKNOWN_LENGTH_CHARGE_BYTES
  const n = Number(length)
  return Number.isFinite(n) && n > 0 ? n : 0
}

/** Body bytes not read yet (an upper bound: the declared length, or unknown for chunked). */
export const unreadBodyBytes = (req: IncomingMessage): number => {
  if (req.complete) return 0
  if (req.headers["content-length"] === undefined) return req.headers["transfer-encoding"] === undefined ? 0 : Number.POSITIVE_INFINITY
  return declaredBytes(req)
}

const PROBES = new Set(["/health", "/ready", "/metrics"])

/** The probes and the scrape: never shed, so a busy node is neither taken for a dead one nor blind. */
export const isProbe = (req: IncomingMessage): boolean => {
  const url = req.url ?? "/"
  const q = url.indexOf("?")
  return (req.method === "GET" || req.method === "HEAD") && PROBES.has(q < 0 ? url : url.slice(0, q))
}
