/**
 * A small client-side AWS Signature Version 4 signer (Authorization header,
 * path-style S3 requests), built from the pieces the server verifies with
 * (core/src/s3/sigv4.ts) and the node:crypto Digest. For tools in the
 * runtime that talk S3 (the `cairn jepsen` S3 workload) without pulling the
 * AWS SDK, which is only a devDependency.
 *
 * Every header given is signed, plus `host`, `x-amz-date` and
 * `x-amz-content-sha256` (the body's SHA-256, or `UNSIGNED-PAYLOAD` when
 * asked). The caller sends the returned headers and nothing else that the
 * server might read as signed; `host` is the URL's `host:port`, which is
 * what `fetch` sends.
 */
import type { DigestShape } from "@cairn/core/s3/digest"
import { sha256Hex, utf8 } from "@cairn/core/s3/digest"
import {
  ALGORITHM,
  canonicalQuery,
  canonicalRequest,
  EMPTY_SHA256,
  sign,
  signingKey,
  stringToSign,
  UNSIGNED_PAYLOAD,
  uriEncode
} from "@cairn/core/s3/sigv4"
import { amzDate } from "@cairn/core/s3/time"
import { nodeDigest } from "./digest.ts"

export interface SigningCredentials {
  readonly accessKey: string
  readonly secretKey: string
  readonly region: string
}

export interface RequestToSign {
  readonly method: string
  readonly url: URL
  /** Extra headers to send and sign (names in any case). */
  readonly headers?: Readonly<Record<string, string>>
  readonly body?: Uint8Array | string
  /** Sign `UNSIGNED-PAYLOAD` instead of the body's SHA-256. */
  readonly unsignedPayload?: boolean
  /** Signing time, ms since the epoch (default: now). */
  readonly nowMs?: number
}

/** The canonical URI of a path as sent: each segment decoded, then encoded the strict SigV4 way. */
export const canonicalPath = (pathname: string): string =>
  pathname
    .split("/")
    .map((segment) => uriEncode(decodeURIComponent(segment), false))
    .join("/")

/** The headers to send: the given ones (lowercased) plus host, x-amz-date, x-amz-content-sha256 and authorization. */
export const signRequest = (credentials: SigningCredentials, request: RequestToSign, digest: DigestShape = nodeDigest): Record<string, string> => {
  const date = amzDate(request.nowMs ?? Date.now())
  const body = request.body === undefined ? undefined : typeof request.body === "string" ? utf8(request.body) : request.body
  const payloadHash = request.unsignedPayload === true ? UNSIGNED_PAYLOAD : body === undefined || body.length === 0 ? EMPTY_SHA256 : sha256Hex(digest, body)
  const headers = new Map<string, string>()
  for (const [name, value] of Object.entries(request.headers ?? {})) headers.set(name.toLowerCase(), value)
  headers.set("host", request.url.host)
  headers.set("x-amz-date", date)
  headers.set("x-amz-content-sha256", payloadHash)
  const signedHeaders = [...headers.keys()].sort()
  const canonical = canonicalRequest({
    method: request.method,
    canonicalUri: canonicalPath(request.url.pathname),
    canonicalQuery: canonicalQuery([...request.url.searchParams.entries()]),
    headers,
    signedHeaders,
    payloadHash
  })
  const day = date.slice(0, 8)
  const scope = `${day}/${credentials.region}/s3/aws4_request`
  const key = signingKey(digest, credentials.secretKey, day, credentials.region)
  const signature = sign(digest, key, stringToSign(digest, date, scope, canonical))
  const out: Record<string, string> = {}
  for (const [name, value] of headers) if (name !== "host") out[name] = value
  out.authorization = `${ALGORITHM} Credential=${credentials.accessKey}/${scope},SignedHeaders=${signedHeaders.join(";")},Signature=${signature}`
  return out
}
