/**
 * The KV routes: `/v1/kv/{key}` (GET and HEAD read, PUT writes — a
 * compare-and-set or create-only with If-Match / If-None-Match — DELETE
 * deletes) and `/v1/kv` (a page of keys by prefix). Each answers its
 * success; every refusal is a typed error (errors.ts).
 */
import { Effect } from "effect"
import { assert } from "../invariant/invariant.ts"
import { MAX_VALUE_BYTES, utf8Length } from "../kv/keys.ts"
import { Base64 } from "effect/encoding"
import type { Digest } from "../s3/digest.ts"
import { checkSignedBody, readBody } from "./body.ts"
import type { RequestContext } from "./context.ts"
import { etag, InvalidRequestError, type KvApiError, MethodNotAllowedError, NotFoundError, preconditionFailed, TooLargeError } from "./errors.ts"
import { read, write } from "./kv-calls.ts"
import { consistencyOf, keyOf, listQueryOf, preconditionOf } from "./params.ts"
import type { BodyReadError } from "./request.ts"
import { jsonResponse, type KvApiResponseHead, valueResponse } from "./response.ts"

type Served = Effect.Effect<KvApiResponseHead, KvApiError | BodyReadError, Digest>

/** A param parser's verdict as an effect: its value, or its 400. */
const valid = <A>(parsed: A | InvalidRequestError): Effect.Effect<A, InvalidRequestError> =>
  parsed instanceof InvalidRequestError ? Effect.fail(parsed) : Effect.succeed(parsed)

const notFound = (key: string) => new NotFoundError({ code: "not-found", message: `no key ${JSON.stringify(key)}` })

const written = (key: string, revision: number) => jsonResponse(200, { key, revision }, [["etag", etag(revision)]])

const getKey = (ctx: RequestContext, key: string): Served =>
  Effect.gen(function*() {
    const result = yield* read(ctx, { op: "get", key }, yield* valid(consistencyOf(ctx.url)))
    assert(result.type === "get", () => `a get answered ${result.type}`)
    if (!result.found) return yield* notFound(key)
    return valueResponse(result.value, etag(result.revision), ctx.request.method !== "HEAD")
  })

const putKey = (ctx: RequestContext, key: string): Served =>
  Effect.gen(function*() {
    const expected = yield* valid(preconditionOf(ctx.request.headers))
    const tooLarge = () => new TooLargeError({ code: "value-too-large", message: `values are at most ${MAX_VALUE_BYTES} bytes`, closeConnection: true })
    const value = yield* readBody(ctx.request, MAX_VALUE_BYTES, tooLarge)
    yield* checkSignedBody(ctx.principal, value)
    ctx.tally.bytesIn += value.length
    const result = yield* write(ctx, expected === undefined ? { op: "put", key, value } : { op: "cas", key, expected, value })
    if (result.type === "cas" && !result.ok) return yield* preconditionFailed(result.revision)
    assert(result.type === "put" || result.type === "cas", () => `a put answered ${result.type}`)
    return written(key, result.revision)
  })

const deleteKey = (ctx: RequestContext, key: string): Served =>
  Effect.gen(function*() {
    const expected = yield* valid(preconditionOf(ctx.request.headers))
    if (expected === "absent") return yield* new InvalidRequestError({ code: "bad-precondition", message: "If-None-Match: * makes no sense on DELETE" })
    if (expected === undefined) {
      const result = yield* write(ctx, { op: "delete", key })
      assert(result.type === "delete", () => `a delete answered ${result.type}`)
      if (!result.existed) return yield* notFound(key)
      return written(key, result.revision)
    }
    const result = yield* write(ctx, { op: "cas", key, expected, value: undefined })
    assert(result.type === "cas", () => `a conditional delete answered ${result.type}`)
    if (!result.ok) return yield* preconditionFailed(result.revision)
    return written(key, result.revision)
  })

/** `/v1/kv/{key}` with the key as sent (percent-encoded). */
export const keyOperation = (ctx: RequestContext, encodedKey: string): Served =>
  Effect.gen(function*() {
    const key = yield* valid(keyOf(encodedKey))
    yield* Effect.annotateCurrentSpan("cairn.key_length", utf8Length(key))
    switch (ctx.request.method) {
      case "GET":
      case "HEAD":
        return yield* getKey(ctx, key)
      case "PUT":
        return yield* putKey(ctx, key)
      case "DELETE":
        return yield* deleteKey(ctx, key)
      default:
        return yield* new MethodNotAllowedError({ message: `${ctx.request.method} is not supported on /v1/kv/{key}: use GET, PUT or DELETE`, allow: "GET, HEAD, PUT, DELETE" })
    }
  })

const utf8Strict = new TextDecoder("utf-8", { fatal: true })

/** A listed value in the page's encoding; under utf8 a value that is not UTF-8 comes as `valueBase64` (never lossy). */
const listedItem = (item: { readonly key: string; readonly value: Uint8Array; readonly revision: number }, encoding: "base64" | "utf8") => {
  if (encoding === "base64") return { key: item.key, value: Base64.encode(item.value), revision: item.revision }
  try {
    return { key: item.key, value: utf8Strict.decode(item.value), revision: item.revision }
  } catch {
    return { key: item.key, valueBase64: Base64.encode(item.value), revision: item.revision }
  }
}

/** `GET /v1/kv?prefix=&start=&limit=&encoding=`: a page of the client's keys (never the reserved ones). */
export const listOperation = (ctx: RequestContext): Served =>
  Effect.gen(function*() {
    if (ctx.request.method !== "GET") return yield* new MethodNotAllowedError({ message: "use GET /v1/kv?prefix=&start=&limit=", allow: "GET" })
    const query = yield* valid(listQueryOf(ctx.url))
    const result = yield* read(ctx, { op: "range", start: query.from, end: query.end, limit: query.limit }, yield* valid(consistencyOf(ctx.url)))
    assert(result.type === "range", () => `a range answered ${result.type}`)
    const last = result.items[result.items.length - 1]
    return jsonResponse(200, {
      items: result.items.map((item) => listedItem(item, query.encoding)),
      more: result.more,
      next: result.more && last !== undefined ? `${last.key}\u0000` : null,
      encoding: query.encoding
    })
  })
