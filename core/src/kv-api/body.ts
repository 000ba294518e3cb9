/**
 * Request bodies: read whole under a limit (refused from Content-Length
 * before a byte is read, or as soon as the bytes pass the limit), checked
 * against a signed SigV4 body hash before anything acts on them, and
 * parsed as JSON where a route takes JSON.
 */
import { Effect, Stream } from "effect"
import { concatBytes } from "../codec/concat.ts"
import { constantTimeEqual, Digest, sha256Hex } from "../s3/digest.ts"
import { InvalidRequestError, type TooLargeError } from "./errors.ts"
import type { BodyReadError, KvApiPrincipal, KvApiRequest } from "./request.ts"

/**
 * The whole body, or `tooLarge()` once it is known to exceed `limit` bytes (the rest is not read).
 * Made only then: an error captures a stack, which cost 3% of a small append's CPU when every request built one.
 */
export const readBody = (request: KvApiRequest, limit: number, tooLarge: () => TooLargeError): Effect.Effect<Uint8Array, TooLargeError | BodyReadError> =>
  Effect.suspend(() => {
    const declared = Number(request.headers.get("content-length"))
    if (Number.isFinite(declared) && declared > limit) return Effect.fail(tooLarge())
    const chunks: Array<Uint8Array> = []
    let size = 0
    return Stream.runForEachWhile(request.body, (chunk) =>
      Effect.sync(() => {
        size += chunk.length
        if (size > limit) return false
        chunks.push(chunk)
        return true
      })).pipe(Effect.flatMap(() => (size > limit ? Effect.fail(tooLarge()) : Effect.succeed(concatBytes(chunks, size)))))
  })

/** A body signed by its SigV4 hash is acted on only if it is that body. */
export const checkSignedBody = (principal: KvApiPrincipal, body: Uint8Array): Effect.Effect<void, InvalidRequestError, Digest> =>
  Effect.gen(function*() {
    if (principal.bodySha256 === undefined) return
    if (constantTimeEqual(sha256Hex(yield* Digest, body), principal.bodySha256)) return
    return yield* new InvalidRequestError({ code: "bad-body-hash", message: "the body's SHA-256 is not the x-amz-content-sha256 the request was signed with" })
  })

// A byte-order mark is kept (and so refused by JSON.parse), as Node's Buffer decoding did.
const decoder = new TextDecoder("utf-8", { ignoreBOM: true })

/** The body as JSON, or undefined when it is not JSON. */
export const parseJson = (body: Uint8Array): unknown => {
  try {
    return JSON.parse(decoder.decode(body)) as unknown
  } catch {
    return undefined
  }
}
