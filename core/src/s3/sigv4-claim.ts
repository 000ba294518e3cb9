/**
 * What a SigV4 request claims: the credential, the signed headers, the
 * signature and the date, read either from the Authorization header or from
 * a presigned URL's X-Amz-* query parameters. Only the shape is checked here;
 * sigv4.ts checks the claim itself (scope, clock, signature).
 */
import { S3Error, s3Error } from "./errors.ts"
import type { S3Request } from "./request.ts"

export const ALGORITHM = "AWS4-HMAC-SHA256"
export const MAX_PRESIGN_EXPIRES_SECONDS = 7 * 24 * 3600

export interface SignatureClaim {
  readonly credential: string
  readonly signedHeaders: string
  readonly signature: string
  readonly dateText: string | undefined
  /** The query pairs the signature covers (a presigned URL's signature does not cover itself). */
  readonly signedQuery: ReadonlyArray<readonly [string, string]>
  /** A presigned URL's X-Amz-Expires; undefined for a signed header. */
  readonly expiresSeconds: number | undefined
}

/** Name=value pairs of the Authorization header after the algorithm. */
const parseAuthorization = (header: string): { readonly credential: string; readonly signedHeaders: string; readonly signature: string } | S3Error => {
  const malformed = (m: string) => s3Error("AuthorizationHeaderMalformed", `The authorization header is malformed; ${m}`)
  if (!header.startsWith(`${ALGORITHM} `)) {
    if (header.startsWith("AWS ")) return s3Error("InvalidRequest", "Signature Version 2 is not supported; sign requests with AWS4-HMAC-SHA256")
    return malformed(`the algorithm must be ${ALGORITHM}`)
  }
  const fields = new Map<string, string>()
  for (const part of header.slice(ALGORITHM.length + 1).split(",")) {
    const eq = part.indexOf("=")
    if (eq < 0) return malformed(`"${part.trim()}" is not Name=Value`)
    fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim())
  }
  const credential = fields.get("Credential")
  const signedHeaders = fields.get("SignedHeaders")
  const signature = fields.get("Signature")
  if (credential === undefined || signedHeaders === undefined || signature === undefined) return malformed("it needs Credential, SignedHeaders and Signature")
  return { credential, signedHeaders, signature }
}

/** The claim of a request signed in its Authorization header. */
export const headerClaim = (request: S3Request, header: string, query: ReadonlyArray<readonly [string, string]>): SignatureClaim | S3Error => {
  const parsed = parseAuthorization(header)
  if (parsed instanceof S3Error) return parsed
  return {
    credential: parsed.credential,
    signedHeaders: parsed.signedHeaders,
    signature: parsed.signature,
    dateText: request.headers.get("x-amz-date"),
    signedQuery: query,
    expiresSeconds: undefined
  }
}

/** The claim of a presigned URL, from its query; an expiry out of range is a denial. */
export const presignedClaim = (query: ReadonlyArray<readonly [string, string]>, malformed: (m: string) => S3Error): SignatureClaim | S3Error => {
  const get = (name: string) => query.find(([k]) => k === name)?.[1]
  if (get("X-Amz-Algorithm") !== ALGORITHM) return malformed(`X-Amz-Algorithm only supports "${ALGORITHM}"`)
  const c = get("X-Amz-Credential")
  const h = get("X-Amz-SignedHeaders")
  const s = get("X-Amz-Signature")
  const e = get("X-Amz-Expires")
  const dateText = get("X-Amz-Date")
  if (c === undefined || h === undefined || s === undefined || dateText === undefined || e === undefined) {
    return malformed("Query-string authentication requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.")
  }
  if (!/^-?\d{1,15}$/.test(e)) return malformed("X-Amz-Expires should be a number")
  const expiresSeconds = Number(e)
  // An expiry of zero or less has passed, one past a week is refused: both are denials (403), as S3 answers, not malformed requests.
  if (expiresSeconds < 1) return s3Error("AccessDenied", "Request has expired", [["X-Amz-Expires", e]])
  if (expiresSeconds > MAX_PRESIGN_EXPIRES_SECONDS) return s3Error("AccessDenied", "X-Amz-Expires must be less than a week (in seconds) that is 604800", [["X-Amz-Expires", e]])
  return {
    credential: c,
    signedHeaders: h,
    signature: s,
    dateText,
    signedQuery: query.filter(([k]) => k !== "X-Amz-Signature"),
    expiresSeconds
  }
}
