/**
 * The S3 API over an `ObjectStore`: authenticates every request (SigV4;
 * anonymous requests are refused), routes it to its operation, and turns
 * every failure into S3's error document. The handler itself never fails:
 * a defect becomes a 500 InternalError, and the response always carries the
 * request id that the error document and the logs share.
 *
 * Access: a bucket belongs to the user who created it; only that user and
 * the admin may use it or its objects. CORS preflights (OPTIONS) are
 * answered without authentication, from the bucket's CORS rules, as in S3.
 */
import { Cause, Effect } from "effect"
import { Clock } from "../clock/clock.ts"
import type { ObjectStore } from "../object/object-api.ts"
import { Random } from "../random/random.ts"
import { type OperationContext, emptyResponse } from "./context.ts"
import { corsHeaders, corsRulesOf, matchCorsRule } from "./cors.ts"
import { Digest } from "./digest.ts"
import { errorXml, S3Error, s3Error, statusOf } from "./errors.ts"
import { parseQuery, type Query, resolveTarget, type S3Request, type S3Response, type Target } from "./request.ts"
import { methodNotAllowed, route } from "./routes.ts"
import { authenticate } from "./sigv4.ts"
import type { Users } from "./users.ts"

export interface S3HandlerConfig {
  readonly store: ObjectStore
  readonly users: Users
  /** The region clients sign for (e.g. "us-east-1"). */
  readonly region: string
  /** Host names under which virtual-host-style requests arrive (`bucket.<domain>`), e.g. ["s3.example.com", "localhost"]. */
  readonly baseDomains?: ReadonlyArray<string>
}

export type S3Handler = (request: S3Request) => Effect.Effect<
  S3Response & {
    readonly requestId: string
    /** A bug's cause, for the server log (the client sees only InternalError and the request id). */
    readonly defect?: string
    /** Who the request was authenticated as (for the access log); absent when it was not. */
    readonly principal?: { readonly user: string; readonly accessKey: string }
    /** The S3 error code answered, if any (for logs). */
    readonly errorCode?: string
  },
  never,
  Digest | Clock | Random
>

/** The preflight answer: 200 with the matching rule's headers, or 403 CORSResponse. */
const preflight = (config: S3HandlerConfig, request: S3Request, target: Target): Effect.Effect<S3Response, S3Error> =>
  Effect.gen(function*() {
    const origin = request.headers.get("origin")
    const method = request.headers.get("access-control-request-method")
    if (target.bucket === undefined) return yield* methodNotAllowed("OPTIONS", "the service")
    if (origin === undefined || method === undefined) return yield* s3Error("InvalidRequest", "Insufficient information. Origin and Access-Control-Request-Method request headers needed.")
    const info = yield* config.store.headBucket(target.bucket).pipe(Effect.mapError((e) => e._tag === "NoSuchBucketError" ? s3Error("NoSuchBucket", "The specified bucket does not exist", [["BucketName", target.bucket!]]) : s3Error("ServiceUnavailable", e.message)))
    const requestHeaders = (request.headers.get("access-control-request-headers") ?? "").split(",").map((h) => h.trim().toLowerCase()).filter((h) => h !== "")
    const rule = matchCorsRule(corsRulesOf(info.attributes) ?? [], origin, method, requestHeaders)
    if (rule === undefined) return yield* s3Error("CORSResponse", "This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec.")
    return emptyResponse(200, corsHeaders(rule, origin, { requestHeaders }))
  })

/** CORS headers for an actual (non-preflight) request from a browser. */
const actualCors = (config: S3HandlerConfig, request: S3Request, target: Target | undefined): Effect.Effect<ReadonlyArray<readonly [string, string]>> => {
  const origin = request.headers.get("origin")
  if (origin === undefined || target?.bucket === undefined) return Effect.succeed([])
  return config.store.headBucket(target.bucket).pipe(
    Effect.map((info) => {
      const rule = matchCorsRule(corsRulesOf(info.attributes) ?? [], origin, request.method === "HEAD" ? "HEAD" : request.method, [])
      return rule === undefined ? [] : corsHeaders(rule, origin, undefined)
    }),
    // A failed lookup only means no CORS headers: the response itself stands.
    Effect.catch(() => Effect.succeed([]))
  )
}

const encoder = new TextEncoder()

const errorResponse = (error: S3Error, request: S3Request, requestId: string): S3Response => {
  const status = statusOf(error)
  const headers: Array<readonly [string, string]> = [...(error.headers ?? [])]
  if (request.method === "HEAD" || status === 304) return { status, headers: [...headers, ["content-length", "0"]] }
  const body = encoder.encode(errorXml(error, request.rawPath, requestId))
  return { status, headers: [...headers, ["content-type", "application/xml"], ["content-length", String(body.length)]], body }
}

export const makeS3Handler = (config: S3HandlerConfig): S3Handler => (request) =>
  Effect.gen(function*() {
    const random = yield* Random
    const clock = yield* Clock
    const digest = yield* Digest
    const requestId = `${(yield* random.nextUint32).toString(16).padStart(8, "0")}${(yield* random.nextUint32).toString(16).padStart(8, "0")}`.toUpperCase()
    const nowMs = yield* clock.wallMs
    let target: Target | undefined
    let principal: { readonly user: string; readonly accessKey: string } | undefined
    let errorCode: string | undefined

    const serve = Effect.gen(function*() {
      const query: Query | S3Error = parseQuery(request.rawQuery)
      if (query instanceof S3Error) return yield* query
      const resolved = resolveTarget(request.rawPath, request.headers.get("host"), config.baseDomains ?? [])
      if (resolved instanceof S3Error) return yield* resolved
      target = resolved
      if (request.method === "OPTIONS") return yield* preflight(config, request, resolved)
      const auth = yield* authenticate(request, { region: config.region, nowMs, lookup: config.users.lookup, digest })
      principal = { user: auth.user, accessKey: auth.accessKey }
      const ctx: OperationContext = { store: config.store, users: config.users, region: config.region, digest, request, query, user: auth.user, payload: auth.payload, nowMs }
      return yield* route(ctx, resolved)
    })

    let defect: string | undefined
    const response = yield* serve.pipe(
      Effect.catch((error: S3Error) => {
        errorCode = error.code
        return Effect.succeed(errorResponse(error, request, requestId))
      }),
      Effect.catchCause((cause) => {
        defect = Cause.pretty(cause)
        errorCode = "InternalError"
        return Effect.succeed(errorResponse(s3Error("InternalError", "We encountered an internal error. Please try again."), request, requestId))
      })
    )
    const cors = request.method === "OPTIONS" ? [] : yield* actualCors(config, request, target)
    return {
      ...response,
      headers: [...response.headers, ...cors, ["x-amz-request-id", requestId], ["x-amz-id-2", requestId], ["server", "Cairn"]],
      requestId,
      ...(defect === undefined ? {} : { defect }),
      ...(principal === undefined ? {} : { principal }),
      ...(errorCode === undefined ? {} : { errorCode })
    }
  })
