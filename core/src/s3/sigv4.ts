/**
 * AWS Signature Version 4 verification, in the Authorization header or in a
 * presigned URL's query, for the S3 service.
 *
 * What the signature covers of the body is announced in
 * `x-amz-content-sha256`: a hex SHA-256 (checked once the body has streamed;
 * see payload.ts), `UNSIGNED-PAYLOAD`, or one of the aws-chunked forms whose
 * chunks carry their own signatures chained from this request's (the seed);
 * `authenticate` returns which, and the signing key the chunk checks need.
 *
 * Clocks: a request dated more than 15 minutes from this node's wall clock
 * is `RequestTimeTooSkewed`; a presigned URL is valid from its date for
 * X-Amz-Expires seconds (at most 7 days).
 */
import { Effect } from "effect"
import { constantTimeEqual, type DigestShape, sha256Hex, toHex, utf8 } from "./digest.ts"
import { S3Error, s3Error } from "./errors.ts"
import { parseQuery, type S3Request } from "./request.ts"
import { ALGORITHM, headerClaim, presignedClaim } from "./sigv4-claim.ts"
import { amzDate as formatAmzDate, parseAmzDate } from "./time.ts"

export { ALGORITHM, MAX_PRESIGN_EXPIRES_SECONDS } from "./sigv4-claim.ts"
export const MAX_SKEW_MS = 15 * 60 * 1000
export const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

export const UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
export const STREAMING_SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
export const STREAMING_SIGNED_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
export const STREAMING_UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"

/** What a request's signature needs to verify its chunks (aws-chunked). */
export interface ChunkSigning {
  readonly seedSignature: string
  readonly signingKey: Uint8Array
  readonly amzDate: string
  /** date/region/s3/aws4_request */
  readonly scope: string
}

export type Payload =
  | { readonly kind: "unsigned" }
  | { readonly kind: "sha256"; readonly hex: string }
  | { readonly kind: "chunked-signed"; readonly signing: ChunkSigning; readonly trailer: boolean }
  | { readonly kind: "chunked-unsigned-trailer" }

export interface Authenticated {
  readonly accessKey: string
  readonly user: string
  readonly payload: Payload
}

/** The secret of an access key and whose it is; undefined if unknown or revoked. */
export type SecretLookup = (accessKey: string) => Effect.Effect<{ readonly user: string; readonly secretKey: string } | undefined, S3Error>

export interface SigV4Context {
  readonly region: string
  readonly nowMs: number
  readonly lookup: SecretLookup
  readonly digest: DigestShape
}

/** RFC 3986 percent-encoding as SigV4 defines it (unreserved characters kept; "/" kept in paths). */
export const uriEncode = (s: string, keepSlash: boolean): string => {
  let out = ""
  for (const byte of utf8(s)) {
    const c = String.fromCharCode(byte)
    if (/[A-Za-z0-9\-_.~]/.test(c) || (keepSlash && c === "/")) out += c
    else out += `%${byte.toString(16).toUpperCase().padStart(2, "0")}`
  }
  return out
}

export const canonicalQuery = (pairs: ReadonlyArray<readonly [string, string]>): string =>
  pairs
    .map(([k, v]) => [uriEncode(k, false), uriEncode(v, false)] as const)
    .sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join("&")

const canonicalHeaderValue = (value: string): string => value.trim().replace(/\s+/g, " ")

export const canonicalRequest = (input: {
  readonly method: string
  readonly canonicalUri: string
  readonly canonicalQuery: string
  readonly headers: ReadonlyMap<string, string>
  readonly signedHeaders: ReadonlyArray<string>
  readonly payloadHash: string
}): string =>
  [
    input.method,
    input.canonicalUri,
    input.canonicalQuery,
    input.signedHeaders.map((h) => `${h}:${canonicalHeaderValue(input.headers.get(h) ?? "")}\n`).join(""),
    input.signedHeaders.join(";"),
    input.payloadHash
  ].join("\n")

export const signingKey = (digest: DigestShape, secretKey: string, date: string, region: string, service = "s3"): Uint8Array => {
  const kDate = digest.hmacSha256(utf8(`AWS4${secretKey}`), utf8(date))
  const kRegion = digest.hmacSha256(kDate, utf8(region))
  const kService = digest.hmacSha256(kRegion, utf8(service))
  return digest.hmacSha256(kService, utf8("aws4_request"))
}

export const stringToSign = (digest: DigestShape, amzDate: string, scope: string, canonical: string): string =>
  `${ALGORITHM}\n${amzDate}\n${scope}\n${sha256Hex(digest, canonical)}`

export const sign = (digest: DigestShape, key: Uint8Array, text: string): string => toHex(digest.hmacSha256(key, utf8(text)))

interface Credential {
  readonly accessKey: string
  readonly date: string
  readonly region: string
  readonly scope: string
}

const parseCredential = (text: string, malformed: (m: string) => S3Error, region: string): Credential | S3Error => {
  const parts = text.split("/")
  if (parts.length !== 5) return malformed("the Credential must be ACCESS_KEY/DATE/REGION/SERVICE/aws4_request")
  const [accessKey, date, credRegion, service, terminator] = parts as [string, string, string, string, string]
  if (!/^\d{8}$/.test(date)) return malformed(`the credential date "${date}" is not in the format yyyyMMdd`)
  if (service !== "s3") return malformed(`the credential's service must be s3, not "${service}"`)
  if (terminator !== "aws4_request") return malformed("the credential must end with aws4_request")
  if (credRegion !== region) {
    return new S3Error({
      code: "AuthorizationHeaderMalformed",
      message: `The authorization header is malformed; the region '${credRegion}' is wrong; expecting '${region}'`,
      details: [["Region", region]]
    })
  }
  return { accessKey, date, region: credRegion, scope: `${date}/${credRegion}/s3/aws4_request` }
}

const payloadOf = (hashHeader: string | undefined, presigned: boolean): string | S3Error => {
  if (hashHeader === undefined) {
    return presigned ? UNSIGNED_PAYLOAD : s3Error("InvalidRequest", "Missing required header for this request: x-amz-content-sha256")
  }
  if (
    hashHeader === UNSIGNED_PAYLOAD || hashHeader === STREAMING_SIGNED || hashHeader === STREAMING_SIGNED_TRAILER ||
    hashHeader === STREAMING_UNSIGNED_TRAILER || /^[0-9a-f]{64}$/.test(hashHeader)
  ) return hashHeader
  return s3Error("InvalidArgument", "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER], STREAMING-UNSIGNED-PAYLOAD-TRAILER or a hex SHA-256")
}

/**
 * The canonical URIs to try: the path as sent (what SDKs sign, since they
 * send the path they signed) and, if different, the decoded path encoded
 * the strict SigV4 way (clients that send some characters unescaped).
 */
const canonicalUris = (rawPath: string): ReadonlyArray<string> => {
  let decoded: string | undefined
  try {
    decoded = decodeURIComponent(rawPath)
  } catch {
    decoded = undefined
  }
  const strict = decoded === undefined ? undefined : uriEncode(decoded, true)
  return strict === undefined || strict === rawPath ? [rawPath] : [rawPath, strict]
}

/** The first error a request that carries no SigV4 signature gets. */
const unsigned = (query: ReadonlyArray<readonly [string, string]>): S3Error => {
  // A SigV2 presigned URL (older boto3 presigns that way by default) is not anonymous: say what to change.
  if (query.some(([k]) => k === "AWSAccessKeyId") && query.some(([k]) => k === "Signature")) {
    return s3Error("InvalidRequest", "Signature Version 2 is not supported; presign with AWS4-HMAC-SHA256 (X-Amz-Algorithm)")
  }
  return s3Error("AccessDenied", "Anonymous access is not allowed: sign the request with AWS Signature Version 4")
}

/** Whether the request's date is close enough to this node's clock (or, presigned, within its validity); the error if not. */
const timeProblem = (nowMs: number, requestMs: number, dateText: string, expiresSeconds: number | undefined): S3Error | undefined => {
  if (expiresSeconds === undefined) {
    if (Math.abs(nowMs - requestMs) > MAX_SKEW_MS) {
      return new S3Error({
        code: "RequestTimeTooSkewed",
        message: "The difference between the request time and the current time is too large.",
        details: [["RequestTime", dateText], ["ServerTime", formatAmzDate(nowMs)], ["MaxAllowedSkewMilliseconds", String(MAX_SKEW_MS)]]
      })
    }
  } else {
    if (requestMs - nowMs > MAX_SKEW_MS) return s3Error("AccessDenied", "Request is not valid yet")
    if (nowMs > requestMs + expiresSeconds * 1000) {
      return s3Error("AccessDenied", "Request has expired", [["X-Amz-Expires", String(expiresSeconds)], ["Expires", dateText], ["ServerTime", formatAmzDate(nowMs)]])
    }
  }
  return undefined
}

/** SignedHeaders as a list: lower case, sorted, unique, and covering host. */
const parseSignedHeaders = (text: string, malformed: (m: string) => S3Error): Array<string> | S3Error => {
  const signedHeaders = text.split(";").map((h) => h.trim().toLowerCase())
  if (!signedHeaders.includes("host")) return malformed("the signed headers must include host")
  for (let i = 1; i < signedHeaders.length; i++) {
    if (signedHeaders[i - 1]! >= signedHeaders[i]!) return malformed("SignedHeaders must be sorted and without duplicates")
  }
  return signedHeaders
}

/** Recomputes the signature over each candidate canonical request; SignatureDoesNotMatch (with what was signed) if none matches. */
const signatureMismatch = (
  request: S3Request,
  digest: DigestShape,
  key: Uint8Array,
  signed: { readonly signature: string; readonly dateText: string; readonly scope: string; readonly accessKey: string },
  signedQuery: ReadonlyArray<readonly [string, string]>,
  signedHeaders: ReadonlyArray<string>,
  payloadHash: string
): S3Error | undefined => {
  const cq = canonicalQuery(signedQuery)
  let lastCanonical = ""
  for (const uri of canonicalUris(request.rawPath)) {
    lastCanonical = canonicalRequest({ method: request.method, canonicalUri: uri, canonicalQuery: cq, headers: request.headers, signedHeaders, payloadHash })
    if (constantTimeEqual(sign(digest, key, stringToSign(digest, signed.dateText, signed.scope, lastCanonical)), signed.signature)) return undefined
  }
  return s3Error("SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided. Check your key and signing method.", [
    ["AWSAccessKeyId", signed.accessKey],
    ["StringToSign", stringToSign(digest, signed.dateText, signed.scope, lastCanonical)],
    ["CanonicalRequest", lastCanonical]
  ])
}

/** What the verified signature says about the body. */
const payloadOfHash = (payloadHash: string, signing: ChunkSigning): Payload =>
  payloadHash === UNSIGNED_PAYLOAD ? { kind: "unsigned" }
  : payloadHash === STREAMING_SIGNED ? { kind: "chunked-signed", signing, trailer: false }
  : payloadHash === STREAMING_SIGNED_TRAILER ? { kind: "chunked-signed", signing, trailer: true }
  : payloadHash === STREAMING_UNSIGNED_TRAILER ? { kind: "chunked-unsigned-trailer" }
  : { kind: "sha256", hex: payloadHash }

/** Verifies the request's signature; fails with the S3 error a client should see. */
export const authenticate = (request: S3Request, ctx: SigV4Context): Effect.Effect<Authenticated, S3Error> =>
  Effect.gen(function*() {
    const query = parseQuery(request.rawQuery)
    if (query instanceof S3Error) return yield* query
    const header = request.headers.get("authorization")
    const presigned = query.some(([k]) => k === "X-Amz-Algorithm" || k === "X-Amz-Signature")
    if (header !== undefined && presigned) return yield* s3Error("InvalidArgument", "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter or the Authorization header should be specified")
    if (header === undefined && !presigned) return yield* unsigned(query)

    const malformed = (m: string) =>
      presigned ? s3Error("AuthorizationQueryParametersError", m) : s3Error("AuthorizationHeaderMalformed", `The authorization header is malformed; ${m}`)
    const claim = header !== undefined ? headerClaim(request, header, query) : presignedClaim(query, malformed)
    if (claim instanceof S3Error) return yield* claim
    const { signature, dateText } = claim

    const credential = parseCredential(claim.credential, malformed, ctx.region)
    if (credential instanceof S3Error) return yield* credential
    if (dateText === undefined) return yield* s3Error("AccessDenied", "AWS authentication requires a valid Date or x-amz-date header")
    const requestMs = parseAmzDate(dateText)
    if (requestMs === undefined) return yield* s3Error("AccessDenied", "AWS authentication requires a valid Date or x-amz-date header")
    if (dateText.slice(0, 8) !== credential.date) return yield* malformed(`Invalid credential date "${credential.date}". This date is not the same as X-Amz-Date: "${dateText.slice(0, 8)}".`)
    const late = timeProblem(ctx.nowMs, requestMs, dateText, claim.expiresSeconds)
    if (late !== undefined) return yield* late

    const signedHeaders = parseSignedHeaders(claim.signedHeaders, malformed)
    if (signedHeaders instanceof S3Error) return yield* signedHeaders
    const payloadHash = payloadOf(request.headers.get("x-amz-content-sha256"), presigned)
    if (payloadHash instanceof S3Error) return yield* payloadHash

    const secret = yield* ctx.lookup(credential.accessKey)
    if (secret === undefined) return yield* s3Error("InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.", [["AWSAccessKeyId", credential.accessKey]])

    const key = signingKey(ctx.digest, secret.secretKey, credential.date, credential.region)
    const signed = { signature, dateText, scope: credential.scope, accessKey: credential.accessKey }
    const mismatch = signatureMismatch(request, ctx.digest, key, signed, claim.signedQuery, signedHeaders, payloadHash)
    if (mismatch !== undefined) return yield* mismatch

    const signing: ChunkSigning = { seedSignature: signature, signingKey: key, amzDate: dateText, scope: credential.scope }
    return { accessKey: credential.accessKey, user: secret.user, payload: payloadOfHash(payloadHash, signing) }
  })
