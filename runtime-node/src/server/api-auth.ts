/**
 * Who is calling the KV HTTP API (`--api-listen`). Every request except the
 * open probes (`/health`, `/ready`, and `/metrics` with `--metrics-public`)
 * must carry the access key and secret of an S3 user or of the admin (the
 * same key pairs the S3 API accepts, `core/src/s3/users.ts`), in one of:
 *
 * - `Authorization: Basic base64(accessKey:secretKey)` (`curl -u`);
 * - `Authorization: Bearer accessKey:secretKey` (a Prometheus scrape
 *   config's `authorization.credentials`);
 * - AWS Signature Version 4, service `s3`, the S3 region (`--s3-region`):
 *   core's verifier, so any SigV4 signer works (`curl --aws-sigv4`, the
 *   AWS SDKs' signers), in the header or as a presigned URL.
 *
 * Secrets are compared as SHA-256 digests with `timingSafeEqual`, so neither
 * their content nor their length shows in the time taken. A SigV4 request
 * whose body hash is signed (`x-amz-content-sha256: <hex>`) carries that
 * hash in the principal: core's handler checks a body against it before
 * acting (core/src/kv-api/body.ts). aws-chunked bodies are refused (400).
 */
import type { DigestShape } from "@cairn/core/s3/digest"
import { S3Error } from "@cairn/core/s3/errors"
import type { KvApiAuthFailure, KvApiPrincipal } from "@cairn/core/kv-api/request"
import { authenticate, type SecretLookup } from "@cairn/core/s3/sigv4"
import { ADMIN_USER } from "@cairn/core/s3/users"
import { Effect, Result, Stream } from "effect"
import { createHash, timingSafeEqual } from "node:crypto"
import type { IncomingMessage } from "node:http"

/** An authenticated caller, and how it proved who it is. */
export interface ApiPrincipal extends KvApiPrincipal {
  readonly scheme: "basic" | "bearer" | "sigv4"
}

/** Why a request is not authenticated: the status, a stable code and a message for the client (core's handler answers it). */
export type ApiAuthFailure = KvApiAuthFailure

export interface ApiAuthOptions {
  /** The secret of an access key (admin or S3 user); `users.lookup` on a server. */
  readonly lookup: SecretLookup
  /** The region SigV4 requests sign for (the S3 region). */
  readonly region: string
  readonly digest: DigestShape
  /** Wall-clock milliseconds, for SigV4's 15-minute skew window. */
  readonly now: () => number
}

const unauthorized = (message: string): ApiAuthFailure => ({ status: 401, code: "unauthorized", message })
const WRONG = "the access key or the secret is wrong"

const digestOf = (s: string): Buffer => createHash("sha256").update(s, "utf8").digest()
/** Constant time in both content and length. */
export const sameSecret = (a: string, b: string): boolean => timingSafeEqual(digestOf(a), digestOf(b))

/** `accessKey:secretKey` → the pair; the secret may contain ':'. */
const splitPair = (text: string): { readonly accessKey: string; readonly secretKey: string } | undefined => {
  const colon = text.indexOf(":")
  return colon <= 0 ? undefined : { accessKey: text.slice(0, colon), secretKey: text.slice(colon + 1) }
}

const lookupFailure = (e: S3Error): ApiAuthFailure =>
  e.code === "ServiceUnavailable" ? { status: 503, code: "unavailable", message: e.message } : unauthorized(e.message)

export const makeApiAuthenticator = (options: ApiAuthOptions) => {
  const checkPair = async (pair: { readonly accessKey: string; readonly secretKey: string } | undefined, scheme: "basic" | "bearer"): Promise<ApiPrincipal | ApiAuthFailure> => {
    if (pair === undefined) return unauthorized(`a ${scheme === "basic" ? "Basic" : "Bearer"} credential must be accessKey:secretKey`)
    const found = await Effect.runPromise(Effect.result(options.lookup(pair.accessKey)))
    if (Result.isFailure(found)) return lookupFailure(found.failure)
    // An unknown key still costs a comparison, so it looks like a wrong secret.
    const expected = found.success?.secretKey ?? "\u0000no such key"
    if (!sameSecret(pair.secretKey, expected) || found.success === undefined) return unauthorized(WRONG)
    return { accessKey: pair.accessKey, user: found.success.user, admin: found.success.user === ADMIN_USER, scheme, bodySha256: undefined }
  }

  const checkSigV4 = async (req: IncomingMessage): Promise<ApiPrincipal | ApiAuthFailure> => {
    const headers = new Map<string, string>()
    for (const [name, values] of Object.entries(req.headersDistinct)) if (values !== undefined) headers.set(name.toLowerCase(), values.join(","))
    const url = req.url ?? "/"
    const q = url.indexOf("?")
    const request = {
      method: req.method ?? "GET",
      rawPath: q < 0 ? url : url.slice(0, q),
      rawQuery: q < 0 ? "" : url.slice(q + 1),
      headers,
      body: Stream.empty // authenticate never reads the body; core checks a signed hash before acting on one
    }
    const outcome = await Effect.runPromise(Effect.result(authenticate(request, { region: options.region, nowMs: options.now(), lookup: options.lookup, digest: options.digest })))
    if (Result.isFailure(outcome)) {
      const e = outcome.failure
      if (e instanceof S3Error && e.code === "ServiceUnavailable") return lookupFailure(e)
      return { status: 401, code: "unauthorized", message: `SigV4 (${e.code}): ${e.message}` }
    }
    const { accessKey, user, payload } = outcome.success
    if (payload.kind === "chunked-signed" || payload.kind === "chunked-unsigned-trailer")
      return { status: 400, code: "bad-request", message: "aws-chunked bodies are not accepted on the KV API: sign the body's SHA-256 or UNSIGNED-PAYLOAD" }
    return { accessKey, user, admin: user === ADMIN_USER, scheme: "sigv4", bodySha256: payload.kind === "sha256" ? payload.hex : undefined }
  }

  /** The caller, or why not. */
  return async (req: IncomingMessage): Promise<ApiPrincipal | ApiAuthFailure> => {
    const header = req.headers.authorization
    const presigned = /[?&]X-Amz-(Signature|Algorithm)=/.test(req.url ?? "")
    if (header === undefined && !presigned) return unauthorized("the KV API needs credentials: HTTP Basic or Bearer accessKey:secretKey, or AWS SigV4 (service s3); see docs/server.md")
    if (header === undefined || header.startsWith("AWS4-") || header.startsWith("AWS ")) return checkSigV4(req)
    const space = header.indexOf(" ")
    const scheme = (space < 0 ? header : header.slice(0, space)).toLowerCase()
    const value = space < 0 ? "" : header.slice(space + 1).trim()
    if (scheme === "basic") return checkPair(splitPair(Buffer.from(value, "base64").toString("utf8")), "basic")
    if (scheme === "bearer") return checkPair(splitPair(value), "bearer")
    return unauthorized(`unsupported Authorization scheme "${scheme}": use Basic, Bearer or AWS4-HMAC-SHA256`)
  }
}
