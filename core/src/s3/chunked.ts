/**
 * The aws-chunked body encoding (`Content-Encoding: aws-chunked`), decoded
 * incrementally as the body streams:
 *
 *   hex-size[;chunk-signature=SIG]\r\n  data  \r\n   ...   0[;chunk-signature=SIG]\r\n
 *   [trailer-name:value\r\n ... [x-amz-trailer-signature:SIG\r\n]] \r\n
 *
 * Signed chunks chain: each chunk's signature covers the previous one (the
 * first, the request's seed signature) and the chunk's SHA-256, so bytes
 * cannot be changed, dropped or reordered. A chunk's bytes are passed on as
 * they arrive and its signature is checked at its end; a failure fails the
 * body stream, and a store commits nothing from a failed stream.
 */
import { Effect, Stream } from "effect"
import { constantTimeEqual, type DigestShape, type Hasher, toHex, utf8 } from "./digest.ts"
import { S3Error, s3Error } from "./errors.ts"
import { type ChunkSigning, EMPTY_SHA256, sign } from "./sigv4.ts"

/** Chunk header and trailer lines longer than this are refused (a signature line is ~90 bytes). */
const MAX_LINE = 4096
const MAX_TRAILER_LINES = 16

export interface ChunkedOptions {
  readonly digest: DigestShape
  /** Verify chunk signatures chained from this seed; undefined for an unsigned body. */
  readonly signing: ChunkSigning | undefined
  /** A trailer follows the last chunk. */
  readonly trailer: boolean
}

export interface ChunkedDecoder {
  /** The data bytes in `input`, in order; or the reason the encoding is broken. */
  readonly push: (input: Uint8Array) => ReadonlyArray<Uint8Array> | S3Error
  /** At the end of the input: the trailer (names lower case), or why the body is incomplete. */
  readonly end: () => ReadonlyMap<string, string> | S3Error
}

type State = "header" | "data" | "data-crlf" | "trailer" | "done"

const incomplete = () => s3Error("IncompleteBody", "The aws-chunked body ended before its last chunk")
const badEncoding = (why: string) => s3Error("InvalidRequest", `Invalid aws-chunked encoding: ${why}`)
const badSignature = () => s3Error("SignatureDoesNotMatch", "The chunk signature we calculated does not match the signature you provided.")

const decoder = new TextDecoder()

export const makeChunkedDecoder = (options: ChunkedOptions): ChunkedDecoder => {
  const { digest, signing } = options
  let state: State = "header"
  let line: Array<number> = []
  let remaining = 0
  let chunkSignature: string | undefined
  let previousSignature = signing?.seedSignature ?? ""
  let chunkHash: Hasher | undefined
  let crlfSeen = 0
  const trailers = new Map<string, string>()
  let trailerText = ""
  let trailerSignature: string | undefined

  const verifyChunk = (dataHashHex: string): S3Error | undefined => {
    if (signing === undefined) return undefined
    if (chunkSignature === undefined) return badEncoding("a chunk has no chunk-signature")
    const text = `AWS4-HMAC-SHA256-PAYLOAD\n${signing.amzDate}\n${signing.scope}\n${previousSignature}\n${EMPTY_SHA256}\n${dataHashHex}`
    const expected = sign(digest, signing.signingKey, text)
    if (!constantTimeEqual(expected, chunkSignature)) return badSignature()
    previousSignature = chunkSignature
    return undefined
  }

  const headerLine = (text: string): S3Error | undefined => {
    const [sizeText, ...extensions] = text.split(";")
    if (sizeText === undefined || !/^[0-9a-fA-F]{1,12}$/.test(sizeText.trim())) return badEncoding(`bad chunk size "${sizeText ?? ""}"`)
    remaining = parseInt(sizeText.trim(), 16)
    chunkSignature = undefined
    for (const ext of extensions) {
      const eq = ext.indexOf("=")
      if (eq > 0 && ext.slice(0, eq).trim() === "chunk-signature") chunkSignature = ext.slice(eq + 1).trim()
    }
    if (remaining === 0) {
      const problem = verifyChunk(EMPTY_SHA256)
      if (problem !== undefined) return problem
      state = "trailer"
      return undefined
    }
    chunkHash = signing === undefined ? undefined : digest.hasher("sha256")
    state = "data"
    return undefined
  }

  const trailerLine = (text: string): S3Error | undefined => {
    // The empty line ends the body (right after the last chunk when there is no trailer).
    if (text === "") return finishTrailer()
    if (!options.trailer) return badEncoding("unexpected trailer")
    const colon = text.indexOf(":")
    if (colon <= 0) return badEncoding(`bad trailer line "${text.slice(0, 64)}"`)
    const name = text.slice(0, colon).trim().toLowerCase()
    const value = text.slice(colon + 1).trim()
    if (name === "x-amz-trailer-signature") trailerSignature = value
    else {
      if (trailers.size >= MAX_TRAILER_LINES) return badEncoding("too many trailers")
      trailers.set(name, value)
      trailerText += `${name}:${value}\n`
    }
    return undefined
  }

  const finishTrailer = (): S3Error | undefined => {
    if (signing !== undefined && options.trailer) {
      if (trailerSignature === undefined) return badEncoding("the trailer has no x-amz-trailer-signature")
      const hash = toHex(digestOfText(digest, trailerText))
      const text = `AWS4-HMAC-SHA256-TRAILER\n${signing.amzDate}\n${signing.scope}\n${previousSignature}\n${hash}`
      if (!constantTimeEqual(sign(digest, signing.signingKey, text), trailerSignature)) return badSignature()
    }
    state = "done"
    return undefined
  }

  const push = (input: Uint8Array): ReadonlyArray<Uint8Array> | S3Error => {
    const out: Array<Uint8Array> = []
    let i = 0
    while (i < input.length) {
      switch (state) {
        case "header":
        case "trailer": {
          const byte = input[i++]!
          if (byte === 0x0a) {
            if (line[line.length - 1] !== 0x0d) return badEncoding("lines must end with CRLF")
            const text = decoder.decode(new Uint8Array(line.slice(0, -1)))
            line = []
            const problem = state === "header" ? headerLine(text) : trailerLine(text)
            if (problem !== undefined) return problem
          } else {
            line.push(byte)
            if (line.length > MAX_LINE) return badEncoding("a chunk header or trailer line is too long")
          }
          break
        }
        case "data": {
          const n = Math.min(remaining, input.length - i)
          const piece = input.subarray(i, i + n)
          chunkHash?.update(piece)
          out.push(piece)
          remaining -= n
          i += n
          if (remaining === 0) {
            const problem = chunkHash === undefined ? undefined : verifyChunk(toHex(chunkHash.digest()))
            if (problem !== undefined) return problem
            state = "data-crlf"
            crlfSeen = 0
          }
          break
        }
        case "data-crlf": {
          const byte = input[i++]!
          if (byte !== (crlfSeen === 0 ? 0x0d : 0x0a)) return badEncoding("chunk data must be followed by CRLF")
          crlfSeen++
          if (crlfSeen === 2) state = "header"
          break
        }
        case "done":
          return badEncoding("data after the end of the body")
      }
    }
    return out
  }

  const end = (): ReadonlyMap<string, string> | S3Error => {
    // Some clients omit the final empty line: a trailer section cut right at a line end is complete.
    if (state === "trailer" && line.length === 0) {
      const problem = finishTrailer()
      if (problem !== undefined) return problem
    }
    return state === "done" ? trailers : incomplete()
  }

  return { push, end }
}

const digestOfText = (digest: DigestShape, text: string): Uint8Array => {
  const h = digest.hasher("sha256")
  h.update(utf8(text))
  return h.digest()
}

/** Decodes an aws-chunked stream; `onTrailer` receives the trailer once the body has ended well. */
export const decodeChunked = <E>(
  body: Stream.Stream<Uint8Array, E>,
  options: ChunkedOptions,
  onTrailer: (trailer: ReadonlyMap<string, string>) => void
): Stream.Stream<Uint8Array, E | S3Error> => {
  const decoder = makeChunkedDecoder(options)
  const data = body.pipe(
    Stream.mapEffect((bytes) => {
      const out = decoder.push(bytes)
      return out instanceof S3Error ? Effect.fail(out) : Effect.succeed(out)
    }),
    Stream.flattenIterable
  )
  const ending = Stream.fromEffect(
    Effect.suspend(() => {
      const trailer = decoder.end()
      if (trailer instanceof S3Error) return Effect.fail(trailer)
      onTrailer(trailer)
      return Effect.void
    })
  ).pipe(Stream.drain)
  return Stream.concat(data, ending)
}
