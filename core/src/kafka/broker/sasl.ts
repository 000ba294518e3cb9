/**
 * SASL PLAIN on a Kafka connection (KIP-84, KIP-152): SaslHandshake v1
 * names the mechanism, then one SaslAuthenticate carries the client's
 * `authzid NUL user NUL password`. Users are Cairn's S3 users: the access
 * key is the username, its secret the password, so the keys `cairn admin
 * user add` makes work for Kafka too.
 *
 * The connection's state lives in `ConnectionState`. When the broker
 * requires SASL, a connection may send only ApiVersions and the SASL APIs
 * until it has authenticated (`handle-frame.ts` closes it otherwise, as
 * Kafka does), and a failed authentication is answered and then closed.
 * When it does not, every connection is "anonymous" and SASL requests are
 * refused with UNSUPPORTED_SASL_MECHANISM / ILLEGAL_SASL_STATE.
 */
import { Effect } from "effect"
import type { RequestOf, ResponseOf } from "../protocol/api-table.ts"
import type { Broker } from "./broker-log.ts"

export const SASL_ERRORS = { UNSUPPORTED_SASL_MECHANISM: 33, ILLEGAL_SASL_STATE: 34, SASL_AUTHENTICATION_FAILED: 58 } as const
export const PLAIN = "PLAIN"
export const ANONYMOUS = "anonymous"

/** Finds an access key's user and secret; undefined when no such key exists. */
export type SaslUsers = (accessKey: string) => Effect.Effect<{ readonly user: string; readonly secretKey: string } | undefined, { readonly message: string }>

/** One connection's authentication state (the listener makes one per connection). */
export class ConnectionState {
  readonly clientHost: string
  /** The authenticated user; "anonymous" when the broker requires no SASL; undefined until authenticated. */
  principal: string | undefined
  /** The mechanism a SaslHandshake chose. */
  mechanism: string | undefined = undefined
  constructor(clientHost: string, requiresSasl: boolean) {
    this.clientHost = clientHost
    this.principal = requiresSasl ? undefined : ANONYMOUS
  }
}

/** `version`: a v0 handshake is followed by raw tokens outside Kafka's framing, which Cairn does not read. */
export const handleSaslHandshake = (broker: Broker, request: RequestOf<"SaslHandshake">, version: number, state: ConnectionState): ResponseOf<"SaslHandshake"> => {
  const mechanisms = broker.saslUsers === undefined ? [] : [PLAIN]
  if (version === 0 || !mechanisms.includes(request.mechanism)) return { errorCode: SASL_ERRORS.UNSUPPORTED_SASL_MECHANISM, mechanisms }
  if (state.principal !== undefined || state.mechanism !== undefined) return { errorCode: SASL_ERRORS.ILLEGAL_SASL_STATE, mechanisms }
  state.mechanism = request.mechanism
  return { errorCode: 0, mechanisms }
}

/** PLAIN's message: `[authzid] NUL authcid NUL passwd` (RFC 4616), or undefined if malformed. */
export const parsePlain = (bytes: Uint8Array): { readonly user: string; readonly password: string } | undefined => {
  const parts: Array<Uint8Array> = []
  let from = 0
  for (let i = 0; i <= bytes.length; i++) {
    if (i === bytes.length || bytes[i] === 0) {
      parts.push(bytes.subarray(from, i))
      from = i + 1
    }
  }
  if (parts.length !== 3) return undefined
  const decoder = new TextDecoder("utf-8", { fatal: true })
  try {
    const [authzid, user, password] = parts.map((p) => decoder.decode(p)) as [string, string, string]
    // An authorization id other than the user itself would be acting as someone else: not offered.
    if (user === "" || (authzid !== "" && authzid !== user)) return undefined
    return { user, password }
  } catch {
    return undefined
  }
}

/** Compares secrets in time that depends only on their lengths. */
const sameSecret = (a: string, b: string): boolean => {
  let diff = a.length ^ b.length
  for (let i = 0; i < Math.max(a.length, b.length); i++) diff |= (a.charCodeAt(i) | 0) ^ (b.charCodeAt(i) | 0)
  return diff === 0
}

export const handleSaslAuthenticate = (broker: Broker, request: RequestOf<"SaslAuthenticate">, state: ConnectionState): Effect.Effect<ResponseOf<"SaslAuthenticate">> =>
  Effect.gen(function*() {
    const answer = (errorCode: number, errorMessage: string | null) => ({ errorCode, errorMessage, authBytes: new Uint8Array(0), sessionLifetimeMs: 0n })
    if (broker.saslUsers === undefined || state.mechanism !== PLAIN || state.principal !== undefined) {
      return answer(SASL_ERRORS.ILLEGAL_SASL_STATE, "SaslAuthenticate needs a SaslHandshake for PLAIN first, once per connection, on a listener with SASL on")
    }
    const plain = parsePlain(request.authBytes)
    if (plain === undefined) return answer(SASL_ERRORS.SASL_AUTHENTICATION_FAILED, "malformed PLAIN message")
    const found = yield* Effect.result(broker.saslUsers(plain.user))
    if (found._tag === "Failure") return answer(SASL_ERRORS.SASL_AUTHENTICATION_FAILED, `the user store could not answer: ${found.failure.message}`)
    const key = found.success
    // One message for an unknown key and a wrong secret: the answer does not tell which keys exist.
    if (key === undefined || !sameSecret(key.secretKey, plain.password)) return answer(SASL_ERRORS.SASL_AUTHENTICATION_FAILED, "authentication failed: invalid username or password")
    state.principal = key.user
    return answer(0, null)
  })
