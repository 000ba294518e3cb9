/**
 * A request body on its way to the store: decoded from aws-chunked when it
 * is, hashed as it streams (MD5 for the ETag, SHA-256 when the signature
 * covers it, and the checksums the client sent in headers or in the
 * trailer), and checked at the end. `verify` runs in the store's `finish`,
 * after the last byte and before the commit, so a body that fails any check
 * never becomes visible.
 */
import { Effect, Result, Stream } from "effect"
import { Base64 } from "effect/encoding"
import { type DigestAlgorithm, type DigestShape, type Hasher, toHex } from "./digest.ts"
import { S3Error, s3Error } from "./errors.ts"
import { decodeChunked } from "./chunked.ts"
import type { S3Request } from "./request.ts"
import type { Payload } from "./sigv4.ts"

export type ChecksumAlgorithm = "crc32" | "crc32c" | "sha1" | "sha256"
export const checksumAlgorithms: ReadonlyArray<ChecksumAlgorithm> = ["crc32", "crc32c", "sha1", "sha256"]
const checksumBytes: Record<ChecksumAlgorithm, number> = { crc32: 4, crc32c: 4, sha1: 20, sha256: 32 }

export interface VerifiedBody {
  readonly md5Hex: string
  /** The client's checksums (base64), each verified against the bytes. */
  readonly checksums: ReadonlyArray<readonly [ChecksumAlgorithm, string]>
}

export interface PreparedBody {
  readonly body: Stream.Stream<Uint8Array, S3Error>
  /** The decoded body's length, when the request announced it. */
  readonly size: number | undefined
  readonly verify: Effect.Effect<VerifiedBody, S3Error>
}

const decodeBase64 = (text: string): Uint8Array | undefined => {
  const r = Base64.decode(text.trim())
  return Result.isSuccess(r) ? r.success : undefined
}

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i])

/** Content-Length (or x-amz-decoded-content-length for aws-chunked) as a number. */
const declaredSize = (request: S3Request, chunked: boolean): number | undefined | S3Error => {
  const text = chunked ? request.headers.get("x-amz-decoded-content-length") : request.headers.get("content-length")
  if (text === undefined) return chunked ? s3Error("MissingContentLength", "aws-chunked uploads need x-amz-decoded-content-length") : undefined
  if (!/^\d{1,15}$/.test(text.trim())) return s3Error("InvalidArgument", `Bad content length "${text}"`)
  return Number(text.trim())
}

/** Sets up the body's decoding and checks for a request authenticated with `payload`. */
export const prepareBody = (request: S3Request, payload: Payload, digest: DigestShape): PreparedBody | S3Error => {
  const chunked = payload.kind === "chunked-signed" || payload.kind === "chunked-unsigned-trailer"
  const size = declaredSize(request, chunked)
  if (size instanceof S3Error) return size

  const contentMd5Text = request.headers.get("content-md5")
  const contentMd5 = contentMd5Text === undefined ? undefined : decodeBase64(contentMd5Text)
  if (contentMd5Text !== undefined && (contentMd5 === undefined || contentMd5.length !== 16)) {
    return s3Error("InvalidDigest", "The Content-MD5 you specified is not valid.")
  }

  // Checksums announced in headers (value now) or in the trailer (value at the end).
  const headerChecksums = new Map<ChecksumAlgorithm, string>()
  for (const algorithm of checksumAlgorithms) {
    const value = request.headers.get(`x-amz-checksum-${algorithm}`)
    if (value !== undefined) headerChecksums.set(algorithm, value)
  }
  const trailerNames = (request.headers.get("x-amz-trailer") ?? "").split(",").map((s) => s.trim().toLowerCase()).filter((s) => s !== "")
  const trailerChecksums: Array<ChecksumAlgorithm> = []
  for (const name of trailerNames) {
    const algorithm = checksumAlgorithms.find((a) => name === `x-amz-checksum-${a}`)
    if (algorithm === undefined) return s3Error("InvalidRequest", `The trailer ${name} is not supported`)
    trailerChecksums.push(algorithm)
  }
  if (trailerNames.length > 0 && !(payload.kind === "chunked-signed" && payload.trailer) && payload.kind !== "chunked-unsigned-trailer") {
    return s3Error("InvalidRequest", "x-amz-trailer needs an aws-chunked body with a trailer (STREAMING-...-TRAILER)")
  }
  const unknownChecksum = [...request.headers.keys()].find((h) => h.startsWith("x-amz-checksum-") && !checksumAlgorithms.some((a) => h === `x-amz-checksum-${a}`) && h !== "x-amz-checksum-type")
  if (unknownChecksum !== undefined) return s3Error("InvalidRequest", `The checksum ${unknownChecksum} is not supported: use CRC32, CRC32C, SHA1 or SHA256`)
  if (headerChecksums.size + trailerChecksums.length > 1) return s3Error("InvalidRequest", "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.")

  const hashers = new Map<DigestAlgorithm, Hasher>([["md5", digest.hasher("md5")]])
  const want = (algorithm: DigestAlgorithm) => {
    if (!hashers.has(algorithm)) hashers.set(algorithm, digest.hasher(algorithm))
  }
  for (const a of headerChecksums.keys()) want(a)
  for (const a of trailerChecksums) want(a)
  if (payload.kind === "sha256") want("sha256")
  let received = 0
  let trailer: ReadonlyMap<string, string> = new Map()

  const decoded: Stream.Stream<Uint8Array, S3Error> =
    payload.kind === "chunked-signed"
      ? decodeChunked(request.body, { digest, signing: payload.signing, trailer: payload.trailer }, (t) => {
        trailer = t
      })
      : payload.kind === "chunked-unsigned-trailer"
      ? decodeChunked(request.body, { digest, signing: undefined, trailer: true }, (t) => {
        trailer = t
      })
      : request.body
  const hashed = Stream.map(decoded, (bytes) => {
    received += bytes.length
    for (const h of hashers.values()) h.update(bytes)
    return bytes
  })

  // The digests are taken once, when the store has consumed the whole body.
  let finals: Map<DigestAlgorithm, Uint8Array> | undefined
  const final = (algorithm: DigestAlgorithm): Uint8Array => {
    if (finals === undefined) finals = new Map([...hashers].map(([a, h]) => [a, h.digest()]))
    return finals.get(algorithm)!
  }

  const verify = Effect.suspend((): Effect.Effect<VerifiedBody, S3Error> => {
    if (size !== undefined && received !== size) return Effect.fail(s3Error("IncompleteBody", `You did not provide the number of bytes specified by the Content-Length HTTP header (${received} of ${size})`))
    if (payload.kind === "sha256" && toHex(final("sha256")) !== payload.hex) {
      return Effect.fail(s3Error("XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' header does not match what was computed.", [["ClientComputedContentSHA256", payload.hex], ["S3ComputedContentSHA256", toHex(final("sha256"))]]))
    }
    if (contentMd5 !== undefined && !sameBytes(contentMd5, final("md5"))) return Effect.fail(s3Error("BadDigest", "The Content-MD5 you specified did not match what we received."))
    const checksums: Array<readonly [ChecksumAlgorithm, string]> = []
    const claimed: Array<readonly [ChecksumAlgorithm, string | undefined]> = [
      ...headerChecksums,
      ...trailerChecksums.map((a) => [a, trailer.get(`x-amz-checksum-${a}`)] as const)
    ]
    for (const [algorithm, text] of claimed) {
      if (text === undefined) return Effect.fail(s3Error("InvalidRequest", `The trailer x-amz-checksum-${algorithm} was announced but not sent`))
      const value = decodeBase64(text)
      // A value that is not even a checksum cannot match the body: BadDigest, as RGW and the s3-tests expect.
      if (value === undefined || value.length !== checksumBytes[algorithm]) return Effect.fail(s3Error("BadDigest", `Value for x-amz-checksum-${algorithm} header is invalid.`))
      if (!sameBytes(value, final(algorithm))) return Effect.fail(s3Error("BadDigest", `The ${algorithm.toUpperCase()} you specified did not match the calculated checksum.`))
      checksums.push([algorithm, Base64.encode(value)])
    }
    return Effect.succeed({ md5Hex: toHex(final("md5")), checksums })
  })

  return { body: hashed, size, verify }
}
