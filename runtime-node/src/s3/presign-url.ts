/**
 * A SigV4 presigned URL (query-string authentication): whoever holds it may
 * make that one request (a GET of one object, say) until it expires, with
 * no key of their own. The signature covers the method, the path, the
 * X-Amz-* query and the `host` header, with `UNSIGNED-PAYLOAD`, as the AWS
 * SDKs' presigners make it; the server verifies it with
 * core/src/s3/sigv4.ts, whose pieces build it here. The web console's share
 * links use it.
 */
import type { DigestShape } from "@cairn/core/s3/digest"
import { ALGORITHM, canonicalQuery, canonicalRequest, MAX_PRESIGN_EXPIRES_SECONDS, sign, signingKey, stringToSign, UNSIGNED_PAYLOAD } from "@cairn/core/s3/sigv4"
import { amzDate } from "@cairn/core/s3/time"
import { assert } from "@cairn/core/invariant/invariant"
import { nodeDigest } from "./digest.ts"
import { canonicalPath, type SigningCredentials } from "./sign-request.ts"

export interface UrlToPresign {
  readonly method: string
  /** The URL as it will be used: scheme, host:port, path (and any query of its own, e.g. versionId). */
  readonly url: URL
  /** 1 s to a week (S3 refuses longer). */
  readonly expiresSeconds: number
  /** Signing time, ms since the epoch (default: now). */
  readonly nowMs?: number
}

/** The URL with X-Amz-Algorithm, -Credential, -Date, -Expires, -SignedHeaders and -Signature added to its query. */
export const presignUrl = (credentials: SigningCredentials, request: UrlToPresign, digest: DigestShape = nodeDigest): URL => {
  assert(Number.isInteger(request.expiresSeconds) && request.expiresSeconds >= 1 && request.expiresSeconds <= MAX_PRESIGN_EXPIRES_SECONDS, "a presigned URL's expiry is 1 s to a week")
  const date = amzDate(request.nowMs ?? Date.now())
  const day = date.slice(0, 8)
  const scope = `${day}/${credentials.region}/s3/aws4_request`
  const url = new URL(request.url)
  url.searchParams.set("X-Amz-Algorithm", ALGORITHM)
  url.searchParams.set("X-Amz-Credential", `${credentials.accessKey}/${scope}`)
  url.searchParams.set("X-Amz-Date", date)
  url.searchParams.set("X-Amz-Expires", String(request.expiresSeconds))
  url.searchParams.set("X-Amz-SignedHeaders", "host")
  const canonical = canonicalRequest({
    method: request.method,
    canonicalUri: canonicalPath(url.pathname),
    canonicalQuery: canonicalQuery([...url.searchParams.entries()]),
    headers: new Map([["host", url.host]]),
    signedHeaders: ["host"],
    payloadHash: UNSIGNED_PAYLOAD
  })
  const key = signingKey(digest, credentials.secretKey, day, credentials.region)
  url.searchParams.set("X-Amz-Signature", sign(digest, key, stringToSign(digest, date, scope, canonical)))
  return url
}
