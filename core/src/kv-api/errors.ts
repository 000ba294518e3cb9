/**
 * Every way a KV API request can be refused, as typed errors, and the one
 * place they become HTTP: a status, a JSON body
 * `{"error": "<code>", "message": "...", ...extra}` and headers. The codes
 * are the API's contract (docs/server.md, "Status codes"); a handler fails
 * with one of these and never writes a response of its own for a refusal.
 */
import { Data } from "effect"
import type { NodeId } from "../node/node-id.ts"
import { jsonResponse, type KvApiResponseHead } from "./response.ts"

/** 400: the request itself is wrong (a bad key, header, parameter or body). */
export class InvalidRequestError extends Data.TaggedError("InvalidRequestError")<{ readonly code: string; readonly message: string }> {}

/** 400, 401 or 503 from the authentication gate (the runtime's): no caller, or the key directory is unreachable. */
export class AuthenticationError extends Data.TaggedError("AuthenticationError")<{
  readonly status: 400 | 401 | 503
  readonly code: string
  readonly message: string
  /** The request carries a body that was not read: the connection must close rather than drain it. */
  readonly unreadBody: boolean
}> {}

/** 403: an admin endpoint called with a key that is not the admin's. */
export class ForbiddenError extends Data.TaggedError("ForbiddenError")<{ readonly message: string }> {}

/** 404: no such key, route or member. */
export class NotFoundError extends Data.TaggedError("NotFoundError")<{ readonly code: string; readonly message: string }> {}

/** 405: the route exists but not for this method; `allow` lists the methods it takes, when the route says. */
export class MethodNotAllowedError extends Data.TaggedError("MethodNotAllowedError")<{ readonly message: string; readonly allow?: string }> {}

/** 409: another membership change is in flight. */
export class ConflictError extends Data.TaggedError("ConflictError")<{ readonly code: string; readonly message: string }> {}

/** 412: If-Match / If-None-Match did not hold; `revision` is the key's current one (0: absent). */
export class PreconditionFailedError extends Data.TaggedError("PreconditionFailedError")<{ readonly revision: number }> {}

/** 413: a body over its limit; a value refused while still arriving closes the connection. */
export class TooLargeError extends Data.TaggedError("TooLargeError")<{ readonly code: string; readonly message: string; readonly closeConnection: boolean }> {}

/** 416: a log offset outside the partition's bounds (below its log start or above its high watermark). */
export class OffsetOutOfRangeError extends Data.TaggedError("OffsetOutOfRangeError")<{
  readonly message: string
  readonly logStartOffset: number
  readonly highWatermark: number
}> {}

/** 501: a layer this node does not run. */
export class NotImplementedError extends Data.TaggedError("NotImplementedError")<{ readonly code: string; readonly message: string }> {}

/** 503 with the leader hint: no leader known, or this node is not it. Nothing happened. */
export class LeaderUnavailableError extends Data.TaggedError("LeaderUnavailableError")<{
  readonly what: string
  readonly leader: NodeId | undefined
  readonly leaderApi: string | undefined
}> {}

/** 503 without a leader hint: a dependency (the S3 user directory) is unavailable; retry. */
export class UnavailableError extends Data.TaggedError("UnavailableError")<{ readonly message: string }> {}

/** 503 "slow-down": the node is past its sustainable rate and shed the request before running it; retry after `retryAfterSeconds`. */
export class OverloadedError extends Data.TaggedError("OverloadedError")<{ readonly retryAfterSeconds: number; readonly closeConnection: boolean }> {}

/** 408: the request's body arrived too slowly; the connection closes. */
export class RequestTimeoutError extends Data.TaggedError("RequestTimeoutError")<{ readonly message: string }> {}

/** 504: a write was proposed and no answer came in time: it may or may not apply. */
export class OutcomeUnknownError extends Data.TaggedError("OutcomeUnknownError")<{ readonly message: string }> {}

/** 500: the state machine answered with an error the API has no better status for. */
export class StateMachineError extends Data.TaggedError("StateMachineError")<{ readonly code: string; readonly message: string }> {}

export type KvApiError =
  | InvalidRequestError
  | AuthenticationError
  | ForbiddenError
  | NotFoundError
  | MethodNotAllowedError
  | ConflictError
  | PreconditionFailedError
  | TooLargeError
  | OffsetOutOfRangeError
  | NotImplementedError
  | LeaderUnavailableError
  | UnavailableError
  | OverloadedError
  | RequestTimeoutError
  | OutcomeUnknownError
  | StateMachineError

/** The WWW-Authenticate challenge sent with every 401. */
export const WWW_AUTHENTICATE = 'Basic realm="cairn", Bearer realm="cairn"'

/** A revision as the API's ETag. */
export const etag = (revision: number): string => `"${revision}"`

/** A 412 for a key whose revision is `revision`. */
export const preconditionFailed = (revision: number): PreconditionFailedError => new PreconditionFailedError({ revision })

/** A state machine's error result (validateCommand's or an applied command's) as the API's error. */
export const resultError = (result: { readonly code: string; readonly message: string }): KvApiError => {
  switch (result.code) {
    case "key-too-large":
    case "bad-command":
      return new InvalidRequestError({ code: result.code, message: result.message })
    case "value-too-large":
      return new TooLargeError({ code: result.code, message: result.message, closeConnection: false })
    default:
      return new StateMachineError({ code: result.code, message: result.message })
  }
}

interface Refusal {
  readonly status: number
  readonly code: string
  readonly message: string
  readonly extra?: Record<string, unknown>
  readonly headers?: ReadonlyArray<readonly [string, string]>
}

const leaderRefusal = (e: LeaderUnavailableError): Refusal => {
  const headers: Array<readonly [string, string]> = [["retry-after", "1"]]
  if (e.leader !== undefined) headers.push(["x-cairn-leader", e.leader])
  if (e.leaderApi !== undefined) headers.push(["x-cairn-leader-api", e.leaderApi])
  return {
    status: 503,
    code: e.leader === undefined ? "no-leader" : "not-leader",
    message: e.leader === undefined ? `${e.what}: no leader is known right now; retry shortly` : `${e.what}: the leader is ${e.leader}; retry there or here`,
    extra: { leader: e.leader ?? null, leaderApi: e.leaderApi ?? null },
    headers
  }
}

/** The status, code, message, extra body fields and headers of each error: the API's error table. */
const refusalOf = (e: KvApiError): Refusal => {
  switch (e._tag) {
    case "InvalidRequestError":
      return { status: 400, code: e.code, message: e.message }
    case "AuthenticationError": {
      const headers: Array<readonly [string, string]> = []
      if (e.status === 401) headers.push(["www-authenticate", WWW_AUTHENTICATE])
      if (e.unreadBody) headers.push(["connection", "close"])
      return { status: e.status, code: e.code, message: e.message, headers }
    }
    case "ForbiddenError":
      return { status: 403, code: "forbidden", message: e.message }
    case "NotFoundError":
      return { status: 404, code: e.code, message: e.message }
    case "MethodNotAllowedError":
      return { status: 405, code: "method-not-allowed", message: e.message, headers: e.allow === undefined ? [] : [["allow", e.allow]] }
    case "ConflictError":
      return { status: 409, code: e.code, message: e.message }
    case "PreconditionFailedError":
      return {
        status: 412,
        code: "precondition-failed",
        message: e.revision === 0 ? "the key does not exist" : `the key's revision is ${e.revision}`,
        extra: { revision: e.revision },
        headers: e.revision === 0 ? [] : [["etag", etag(e.revision)]]
      }
    case "TooLargeError":
      return { status: 413, code: e.code, message: e.message, headers: e.closeConnection ? [["connection", "close"]] : [] }
    case "OffsetOutOfRangeError":
      return { status: 416, code: "offset-out-of-range", message: e.message, extra: { logStartOffset: e.logStartOffset, highWatermark: e.highWatermark } }
    case "NotImplementedError":
      return { status: 501, code: e.code, message: e.message }
    case "LeaderUnavailableError":
      return leaderRefusal(e)
    case "UnavailableError":
      return { status: 503, code: "unavailable", message: e.message, headers: [["retry-after", "1"]] }
    case "OverloadedError": {
      const headers: Array<readonly [string, string]> = [["retry-after", String(e.retryAfterSeconds)]]
      if (e.closeConnection) headers.push(["connection", "close"])
      return { status: 503, code: "slow-down", message: "the node is overloaded and did not run the request; retry after the Retry-After delay", headers }
    }
    case "RequestTimeoutError":
      return { status: 408, code: "request-timeout", message: e.message, headers: [["connection", "close"]] }
    case "OutcomeUnknownError":
      return { status: 504, code: "outcome-unknown", message: e.message }
    case "StateMachineError":
      return { status: 500, code: e.code, message: e.message }
  }
}

/** The response that refuses a request with `e`. */
export const errorResponse = (e: KvApiError): KvApiResponseHead => {
  const r = refusalOf(e)
  return jsonResponse(r.status, { error: r.code, message: r.message, ...r.extra }, r.headers ?? [])
}

/** The answer to a bug (a defect while serving): the client learns only that; the cause goes to the log. */
export const internalErrorResponse = (): KvApiResponseHead =>
  jsonResponse(500, { error: "internal", message: "internal error; see the server log" })
