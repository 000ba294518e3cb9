/**
 * What every S3 operation gets: the store, the authenticated user, the
 * parsed request; and the helpers they share (access checks, XML and empty
 * responses, reading a small XML body).
 */
import { Effect, Stream } from "effect"
import { concatBytes } from "../codec/concat.ts"
import type { BucketInfo, ObjectStore } from "../object/object-api.ts"
import type { DigestShape } from "./digest.ts"
import { fromStoreError, S3Error, s3Error } from "./errors.ts"
import { prepareBody } from "./payload.ts"
import { queryValue, type Query, type S3Request, type S3Response } from "./request.ts"
import type { Payload } from "./sigv4.ts"
import type { Users } from "./users.ts"
import { type Xml, xmlDocument } from "./xml-render.ts"

export interface OperationContext {
  readonly store: ObjectStore
  readonly users: Users
  readonly region: string
  readonly digest: DigestShape
  readonly request: S3Request
  readonly query: Query
  readonly user: string
  readonly payload: Payload
  /** Wall-clock epoch ms of this node when the request arrived. */
  readonly nowMs: number
}

const encoder = new TextEncoder()

export const xmlResponse = (root: Xml, headers: ReadonlyArray<readonly [string, string]> = [], status = 200): S3Response => {
  const body = encoder.encode(xmlDocument(root))
  return { status, headers: [["content-type", "application/xml"], ["content-length", String(body.length)], ...headers], body }
}

export const emptyResponse = (status: number, headers: ReadonlyArray<readonly [string, string]> = []): S3Response => ({
  status,
  headers: [...headers, ["content-length", "0"]]
})

export const header = (ctx: OperationContext, name: string): string | undefined => ctx.request.headers.get(name)
export const param = (ctx: OperationContext, name: string): string | undefined => queryValue(ctx.query, name)

/** The bucket, if this user may use it: its owner, or the admin. */
export const accessBucket = (ctx: OperationContext, bucket: string): Effect.Effect<BucketInfo, S3Error> =>
  ctx.store.headBucket(bucket).pipe(
    Effect.mapError(fromStoreError),
    Effect.flatMap((info) =>
      info.owner === ctx.user || ctx.users.isAdmin(ctx.user) ? Effect.succeed(info) : Effect.fail(s3Error("AccessDenied", "Access Denied", [["BucketName", bucket]]))
    )
  )

/** A small request body (an XML document), decoded and verified like any body, at most `limit` bytes. */
export const readSmallBody = (ctx: OperationContext, limit: number): Effect.Effect<Uint8Array, S3Error> =>
  Effect.gen(function*() {
    const prepared = prepareBody(ctx.request, ctx.payload, ctx.digest)
    if (prepared instanceof S3Error) return yield* prepared
    if (prepared.size !== undefined && prepared.size > limit) return yield* s3Error("MaxMessageLengthExceeded", `Your request was too big (at most ${limit} bytes).`)
    const chunks: Array<Uint8Array> = []
    let total = 0
    yield* Stream.runForEach(prepared.body, (chunk) => {
      total += chunk.length
      if (total > limit) return Effect.fail(s3Error("MaxMessageLengthExceeded", `Your request was too big (at most ${limit} bytes).`))
      chunks.push(chunk)
      return Effect.void
    })
    yield* prepared.verify
    return concatBytes(chunks, total)
  })

/** A whole number query parameter in [min, max]; `fallback` when absent. */
export const intParam = (ctx: OperationContext, name: string, fallback: number, min: number, max: number): number | S3Error => {
  const text = param(ctx, name)
  if (text === undefined || text === "") return fallback
  if (!/^-?\d{1,10}$/.test(text) || Number(text) < min) return s3Error("InvalidArgument", `Argument ${name} must be an integer between ${min} and ${max}`, [["ArgumentName", name], ["ArgumentValue", text]])
  return Math.min(Number(text), max)
}
