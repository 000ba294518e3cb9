/**
 * One request frame in, what the connection does next out: the encoded
 * response frame, nothing (Produce with acks=0), or close the connection.
 *
 * - A frame that does not decode is a protocol violation: Kafka closes the
 *   connection, since nothing says where the client's state went wrong.
 * - An ApiVersions request in a version Cairn lacks gets the v0 answer with
 *   UNSUPPORTED_VERSION and the table (KIP-511), so the client retries.
 * - Any other unknown API key or unsupported version cannot be answered in a
 *   body the client would read (its schema is the version Cairn lacks):
 *   Kafka closes the connection then, and so does Cairn, with the reason for
 *   the log. A client asks ApiVersions first and never gets there.
 * - When the broker requires SASL, a request other than ApiVersions and the
 *   SASL APIs before authentication closes the connection, and a failed
 *   SaslAuthenticate is answered, then closed (`sasl.ts`).
 * - A response the broker cannot encode is a bug in a handler: the
 *   connection closes with the reason rather than sending a wrong frame.
 *
 * `startFrame` is the two-stage form a listener pipelines Produce requests
 * with (`dispatch.ts`); `pipelines` says which frames may overlap.
 */
import { Effect, Result } from "effect"
import type { Clock } from "../../clock/clock.ts"
import type { ApiName } from "../protocol/api-table.ts"
import type { DecodeLimits } from "../protocol/limits.ts"
import { decodeRequest, encodeResponse } from "../protocol/request.ts"
import { unsupportedApiVersionsResponse } from "../protocol/unsupported.ts"
import { API_VERSIONS_KEY } from "../protocol/header.ts"
import type { DecodedRequest } from "../protocol/request.ts"
import type { Broker, ConnectionContext } from "./broker-log.ts"
import { type Answer, startDispatch } from "./dispatch.ts"
import { SASL_ERRORS } from "./sasl.ts"

export type FrameOutcome =
  | { readonly _tag: "Respond"; readonly frame: Uint8Array }
  | { readonly _tag: "Silent" }
  | { readonly _tag: "Close"; readonly reason: string; readonly frame?: Uint8Array }

const close = (reason: string): FrameOutcome => ({ _tag: "Close", reason })

/** What a connection may send before it authenticated, when the broker requires SASL. */
const BEFORE_AUTHENTICATION: ReadonlySet<ApiName> = new Set(["ApiVersions", "SaslHandshake", "SaslAuthenticate"])

/** Produce's API key: the one request a connection may have several of in flight. */
const PRODUCE_KEY = 0

/** Whether the frame is a Produce request, which may start before the requests ahead of it are answered. */
export const pipelines = (frameBody: Uint8Array): boolean =>
  frameBody.length >= 2 && new DataView(frameBody.buffer, frameBody.byteOffset, 2).getInt16(0) === PRODUCE_KEY

const done = (outcome: FrameOutcome): Effect.Effect<FrameOutcome> => Effect.succeed(outcome)

/** Encodes a handler's answer; a failed SaslAuthenticate is answered, then the connection closes (as Kafka's broker does). */
const respond = (answer: Answer | undefined): FrameOutcome => {
  if (answer === undefined) return { _tag: "Silent" }
  const frame = encodeResponse(answer.api, answer.version, answer.correlationId, answer.body as never)
  if (Result.isFailure(frame)) return close(`cannot encode the ${answer.api} v${answer.version} response (a bug): ${frame.failure.message}`)
  if (answer.api === "SaslAuthenticate" && answer.body.errorCode === SASL_ERRORS.SASL_AUTHENTICATION_FAILED) {
    return { _tag: "Close", reason: `SASL authentication failed: ${answer.body.errorMessage ?? ""}`, frame: frame.success }
  }
  return { _tag: "Respond", frame: frame.success }
}

/** The decoded request, or the outcome of a frame that does not decode. */
const decodeFrame = (frameBody: Uint8Array, connection: ConnectionContext, limits?: DecodeLimits): DecodedRequest | FrameOutcome => {
  const decoded = decodeRequest(frameBody, limits)
  if (Result.isFailure(decoded)) {
    const e = decoded.failure
    if (e._tag === "KafkaDecodeError") return close(`malformed request: ${e.message}`)
    if (e.apiKey === API_VERSIONS_KEY) {
      const frame = unsupportedApiVersionsResponse(e.correlationId)
      return Result.isSuccess(frame) ? { _tag: "Respond", frame: frame.success } : close(`cannot encode ApiVersions: ${frame.failure.message}`)
    }
    return close(`${e.message} (correlation id ${e.correlationId}); a client asks ApiVersions for what Cairn speaks`)
  }
  const request = decoded.success
  if (connection.principal === undefined && !BEFORE_AUTHENTICATION.has(request.api)) {
    return close(`${request.api} before SASL authentication (the listener requires SASL PLAIN)`)
  }
  return request
}

/** A started frame: the effect that gives its outcome, and how many partition appends it sent. */
export interface StartedFrame {
  readonly finish: Effect.Effect<FrameOutcome>
  readonly appends: number
}

const appendsOf = (request: DecodedRequest): number =>
  request.api === "Produce" ? request.body.topicData.reduce((n, t) => n + t.partitionData.length, 0) : 0

/** First stage: the request decoded and dispatched (a Produce's appends sent); `finish` gives the outcome. */
export const startFrame = (broker: Broker, frameBody: Uint8Array, connection: ConnectionContext, limits?: DecodeLimits): Effect.Effect<StartedFrame, never, Clock> =>
  Effect.suspend(() => {
    const request = decodeFrame(frameBody, connection, limits)
    if ("_tag" in request) return Effect.succeed({ finish: done(request), appends: 0 })
    return Effect.map(startDispatch(broker, request, connection), (finish) => ({ finish: Effect.map(finish, respond), appends: appendsOf(request) }))
  })

export const handleFrame = (broker: Broker, frameBody: Uint8Array, connection: ConnectionContext, limits?: DecodeLimits): Effect.Effect<FrameOutcome, never, Clock> =>
  Effect.flatMap(startFrame(broker, frameBody, connection, limits), (started) => started.finish)
