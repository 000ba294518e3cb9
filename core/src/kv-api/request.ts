/**
 * The KV API's request as the handler sees it, independent of node:http
 * (the runtime's listener converts): method, target, headers, a body that
 * is read only if the route needs it, and who the runtime's authentication
 * gate says is calling; and the request's URL as the API reads it.
 */
import { Data, type Stream } from "effect"

/** An authenticated caller (the runtime checks the credentials; runtime-node/src/server/api-auth.ts). */
export interface KvApiPrincipal {
  readonly accessKey: string
  readonly user: string
  readonly admin: boolean
  /** SigV4 with a signed body hash: a body is acted on only if it hashes to this (lower-case hex). */
  readonly bodySha256: string | undefined
}

/** Why the gate refused the caller: answered with this status and code, before anything is done. */
export interface KvApiAuthFailure {
  readonly status: 400 | 401 | 503
  readonly code: string
  readonly message: string
}

/** The request body could not be read (the client went away): a bug-class failure for the API, answered 500. */
export class BodyReadError extends Data.TaggedError("BodyReadError")<{ readonly message: string }> {}

export interface KvApiRequest {
  readonly method: string
  /** The request target as sent (path and query, percent-encoded). */
  readonly target: string
  /** Header names in lower case. */
  readonly headers: ReadonlyMap<string, string>
  /** Read only by the routes that take a body; stopping early must leave the connection able to answer. */
  readonly body: Stream.Stream<Uint8Array, BodyReadError>
  /** The authentication gate's verdict. */
  readonly caller: KvApiPrincipal | KvApiAuthFailure
}

export const isPrincipal = (caller: KvApiPrincipal | KvApiAuthFailure): caller is KvApiPrincipal => "accessKey" in caller

/** The target as a URL (WHATWG rules: dot segments resolved, a query split off); an unparsable one is `/bad-url`. */
export const requestUrl = (target: string): URL => {
  try {
    return new URL(target, "http://localhost")
  } catch {
    return new URL("http://localhost/bad-url")
  }
}

/** Whether the request carries a body (declared by length or chunked). */
export const hasBody = (headers: ReadonlyMap<string, string>): boolean => headers.has("content-length") || headers.has("transfer-encoding")
