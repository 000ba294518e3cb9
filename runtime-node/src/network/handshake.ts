/**
 * Mutual authentication of a new connection with the cluster secret, by an
 * HMAC-SHA256 challenge–response in which the secret never crosses the wire:
 *
 *   dialer → listener  Hello     { from, to, dialerNonce }
 *   listener → dialer  Challenge { listenerNonce, listenerProof }
 *   dialer → listener  Auth      { dialerProof }
 *   listener → dialer  AuthOk    {}
 *
 *   listenerProof = HMAC(secret, "cairn/v1/listener" | from | to | dialerNonce | listenerNonce)
 *   dialerProof   = HMAC(secret, "cairn/v1/dialer"   | from | to | dialerNonce | listenerNonce)
 *
 * Each side proves knowledge of the secret over a nonce the other side just
 * chose, so a recorded handshake cannot be replayed; the two proofs carry
 * different labels, so a listener's answer is no use to an impostor dialer.
 * Both proofs bind the two node ids, so a connection cannot be redirected to
 * another node. Proofs are compared with `timingSafeEqual`.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto"

export const NONCE_BYTES = 32
const encoder = new TextEncoder()
const decoder = new TextDecoder()

export interface Hello {
  readonly from: string
  readonly to: string
  readonly nonce: Uint8Array
}

export const newNonce = (): Uint8Array => new Uint8Array(randomBytes(NONCE_BYTES))

const ids = (from: string, to: string): Uint8Array => {
  const f = encoder.encode(from)
  const t = encoder.encode(to)
  const out = new Uint8Array(2 + f.length + t.length)
  out[0] = f.length
  out.set(f, 1)
  out[1 + f.length] = t.length
  out.set(t, 2 + f.length)
  return out
}

export const encodeHello = (hello: Hello): Uint8Array => {
  const head = ids(hello.from, hello.to)
  const out = new Uint8Array(head.length + NONCE_BYTES)
  out.set(head, 0)
  out.set(hello.nonce, head.length)
  return out
}

export const decodeHello = (bytes: Uint8Array): Hello | undefined => {
  if (bytes.length < 2) return undefined
  const fromLen = bytes[0]!
  if (bytes.length < 2 + fromLen) return undefined
  const toLen = bytes[1 + fromLen]!
  if (bytes.length !== 2 + fromLen + toLen + NONCE_BYTES) return undefined
  return {
    from: decoder.decode(bytes.subarray(1, 1 + fromLen)),
    to: decoder.decode(bytes.subarray(2 + fromLen, 2 + fromLen + toLen)),
    nonce: bytes.slice(2 + fromLen + toLen)
  }
}

export type Role = "listener" | "dialer"

/** The proof `role` sends for the handshake identified by hello and listenerNonce. */
export const proof = (secret: Uint8Array, role: Role, hello: Hello, listenerNonce: Uint8Array): Uint8Array =>
  new Uint8Array(
    createHmac("sha256", secret)
      .update(`cairn/v1/${role}`)
      .update(ids(hello.from, hello.to))
      .update(hello.nonce)
      .update(listenerNonce)
      .digest()
  )

export const proofMatches = (expected: Uint8Array, got: Uint8Array): boolean =>
  expected.length === got.length && timingSafeEqual(expected, got)

/** Challenge payload: listenerNonce followed by the listener's proof. */
export const encodeChallenge = (listenerNonce: Uint8Array, listenerProof: Uint8Array): Uint8Array => {
  const out = new Uint8Array(listenerNonce.length + listenerProof.length)
  out.set(listenerNonce, 0)
  out.set(listenerProof, listenerNonce.length)
  return out
}

export const decodeChallenge = (
  bytes: Uint8Array
): { readonly nonce: Uint8Array; readonly proof: Uint8Array } | undefined =>
  bytes.length === NONCE_BYTES + 32
    ? { nonce: bytes.slice(0, NONCE_BYTES), proof: bytes.slice(NONCE_BYTES) }
    : undefined
