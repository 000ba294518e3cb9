/**
 * The Digest service: the hashes and the HMAC the S3 layer needs (ETags are
 * MD5, SigV4 is SHA-256 and HMAC-SHA256, clients send CRC32, CRC32C, SHA-1
 * or SHA-256 checksums). Core may not reach the platform's crypto, so the
 * runtime binds it (runtime-node with node:crypto and node:zlib); the
 * hashers are incremental so a body is hashed as it streams, never buffered.
 *
 * Hashers are plain synchronous objects: an update per body chunk must not
 * cost an Effect each.
 */
import { Context } from "effect"
import { type Crc32cShape, pureCrc32c } from "../checksum/crc32c-service.ts"

export type DigestAlgorithm = "md5" | "sha1" | "sha256" | "crc32" | "crc32c"

export interface Hasher {
  readonly update: (data: Uint8Array) => void
  /** The digest of everything given to `update`; call once. CRCs are 4 bytes, big-endian (as S3 encodes them). */
  readonly digest: () => Uint8Array
}

export interface DigestShape {
  readonly hasher: (algorithm: DigestAlgorithm) => Hasher
  readonly hmacSha256: (key: Uint8Array, data: Uint8Array) => Uint8Array
}

export class Digest extends Context.Service<Digest, DigestShape>()("cairn/s3/Digest") {}

const encoder = new TextEncoder()

export const utf8 = (s: string): Uint8Array => encoder.encode(s)

const HEX = "0123456789abcdef"

export const toHex = (bytes: Uint8Array): string => {
  let s = ""
  for (let i = 0; i < bytes.length; i++) s += HEX[bytes[i]! >> 4]! + HEX[bytes[i]! & 15]!
  return s
}

/** Big-endian 4 bytes of an unsigned 32-bit value: how S3 encodes a CRC before base64. */
export const uint32Bytes = (n: number): Uint8Array => new Uint8Array([(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255])

/** A CRC32C hasher over the Crc32c service's functions (core's pure ones by default); runtimes reuse it. */
export const crc32cHasher = (checksum: Crc32cShape = pureCrc32c): Hasher => {
  const { crc32cUpdate } = checksum
  let crc = 0
  return {
    update: (data) => {
      crc = crc32cUpdate(crc, data)
    },
    digest: () => uint32Bytes(crc)
  }
}

/** The digest of one whole buffer. */
export const digestOf = (digest: DigestShape, algorithm: DigestAlgorithm, data: Uint8Array): Uint8Array => {
  const h = digest.hasher(algorithm)
  h.update(data)
  return h.digest()
}

/** Hex SHA-256 of `data` (SigV4 hashes canonical requests and payloads this way). */
export const sha256Hex = (digest: DigestShape, data: Uint8Array | string): string =>
  toHex(digestOf(digest, "sha256", typeof data === "string" ? utf8(data) : data))

/** Compares two strings in time independent of where they differ (signatures; their length is public). */
export const constantTimeEqual = (a: string, b: string): boolean => {
  if (a.length !== b.length) return false
  let diff = 0
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i)
  return diff === 0
}
