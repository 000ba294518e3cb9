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
 */
import { Effect, Result } from "effect"
import type { Clock } from "../../clock/clock.ts"
import type { ApiName } from "../protocol/api-table.ts"
import type { DecodeLimits } from "../protocol/limits.ts"
import { decodeRequest, encodeResponse } from "../protocol/request.ts"
import { unsupportedApiVersionsResponse } from "../protocol/unsupported.ts"
import { API_VERSIONS_KEY } from "../protocol/header.ts"
import type { Broker, ConnectionContext } from "./broker-log.ts"
import { dispatch } from "./dispatch.ts"
import { SASL_ERRORS } from "./sasl.ts"

export type FrameOutcome =
  | { readonly _tag: "Respond"; readonly frame: Uint8Array }
  | { readonly _tag: "Silent" }
  | { readonly _tag: "Close"; readonly reason: string; readonly frame?: Uint8Array }

const close = (reason: string): FrameOutcome => ({ _tag: "Close", reason })

/** What a connection may send before it authenticated, when the broker requires SASL. */
const BEFORE_AUTHENTICATION: ReadonlySet<ApiName> = new Set(["ApiVersions", "SaslHandshake", "SaslAuthenticate"])

export const handleFrame = (broker: Broker, frameBody: Uint8Array, connection: ConnectionContext, limits?: DecodeLimits): Effect.Effect<FrameOutcome, never, Clock> =>
  Effect.gen(function*() {
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
    const answer = yield* dispatch(broker, request, connection)
    if (answer === undefined) return { _tag: "Silent" }
    const frame = encodeResponse(answer.api, answer.version, answer.correlationId, answer.body as never)
    if (Result.isFailure(frame)) return close(`cannot encode the ${answer.api} v${answer.version} response (a bug): ${frame.failure.message}`)
    // A failed authentication is answered, then the connection closes (as Kafka's broker does).
    if (answer.api === "SaslAuthenticate" && answer.body.errorCode === SASL_ERRORS.SASL_AUTHENTICATION_FAILED) {
      return { _tag: "Close", reason: `SASL authentication failed: ${answer.body.errorMessage ?? ""}`, frame: frame.success }
    }
    return { _tag: "Respond", frame: frame.success }
  })
