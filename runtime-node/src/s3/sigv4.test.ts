/**
 * SigV4 verification (core/src/s3/sigv4.ts, chunked.ts) with the production
 * Digest: the worked examples of the AWS S3 SigV4 documentation (header,
 * presigned and aws-chunked), and requests signed by the AWS SDK's own
 * signer and presigner; each also tampered with, to see it refused.
 */
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from "@aws-sdk/client-s3"
import { getSignedUrl } from "@aws-sdk/s3-request-presigner"
import { decodeChunked } from "@cairn/core/s3/chunked"
import { S3Error } from "@cairn/core/s3/errors"
import type { S3Request } from "@cairn/core/s3/request"
import { authenticate, type Authenticated, type ChunkSigning, EMPTY_SHA256, sign, signingKey, type SigV4Context } from "@cairn/core/s3/sigv4"
import { createHash } from "node:crypto"
import { parseAmzDate } from "@cairn/core/s3/time"
import { Effect, Stream } from "effect"
import { Readable } from "node:stream"
import { describe, expect, it } from "vitest"
import { crc32 } from "node:zlib"
import { nodeDigest } from "./digest.ts"

const crc32Base64 = (data: Uint8Array): string => {
  const b = Buffer.alloc(4)
  b.writeUInt32BE(crc32(data))
  return b.toString("base64")
}

const EXAMPLE = { accessKey: "AKIAIOSFODNN7EXAMPLE", secretKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" }
const EXAMPLE_NOW = parseAmzDate("20130524T000000Z")!

const context = (nowMs: number, secret = EXAMPLE.secretKey): SigV4Context => ({
  region: "us-east-1",
  nowMs,
  digest: nodeDigest,
  lookup: (accessKey) => Effect.succeed(accessKey === EXAMPLE.accessKey || accessKey === "SDKACCESSKEY00000001" ? { user: "alice", secretKey: secret } : undefined)
})

const request = (method: string, url: string, headers: Record<string, string>, body: Uint8Array = new Uint8Array()): S3Request => {
  const q = url.indexOf("?")
  return {
    method,
    rawPath: q < 0 ? url : url.slice(0, q),
    rawQuery: q < 0 ? "" : url.slice(q + 1),
    headers: new Map(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v])),
    body: Stream.make(body)
  }
}

const verify = (req: S3Request, ctx: SigV4Context): Authenticated | S3Error => Effect.runSync(Effect.catch(authenticate(req, ctx), (e) => Effect.succeed(e)))
const codeOf = (outcome: Authenticated | S3Error) => (outcome instanceof S3Error ? outcome.code : "ok")

describe("SigV4: the AWS documentation's examples", () => {
  const getHeaders = {
    host: "examplebucket.s3.amazonaws.com",
    range: "bytes=0-9",
    "x-amz-content-sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "x-amz-date": "20130524T000000Z",
    authorization: "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
  }

  it("verifies GET Object with a signed Range header, and refuses it changed", () => {
    const ok = verify(request("GET", "/test.txt", getHeaders), context(EXAMPLE_NOW))
    expect(ok).toMatchObject({ accessKey: EXAMPLE.accessKey, user: "alice", payload: { kind: "sha256" } })
    expect(codeOf(verify(request("GET", "/test.txt", { ...getHeaders, range: "bytes=0-10" }), context(EXAMPLE_NOW)))).toBe("SignatureDoesNotMatch")
    expect(codeOf(verify(request("GET", "/test2.txt", getHeaders), context(EXAMPLE_NOW)))).toBe("SignatureDoesNotMatch")
    expect(codeOf(verify(request("GET", "/test.txt", getHeaders), context(EXAMPLE_NOW, "wrong")))).toBe("SignatureDoesNotMatch")
  })

  it("verifies PUT Object with an escaped path and a signed payload hash", () => {
    const headers = {
      host: "examplebucket.s3.amazonaws.com",
      date: "Fri, 24 May 2013 00:00:00 GMT",
      "x-amz-date": "20130524T000000Z",
      "x-amz-storage-class": "REDUCED_REDUNDANCY",
      "x-amz-content-sha256": "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072",
      authorization: "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class,Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"
    }
    expect(verify(request("PUT", "/test%24file.text", headers), context(EXAMPLE_NOW))).toMatchObject({ payload: { kind: "sha256", hex: headers["x-amz-content-sha256"] } })
    expect(codeOf(verify(request("PUT", "/test%24file.text", { ...headers, "x-amz-storage-class": "STANDARD" }), context(EXAMPLE_NOW)))).toBe("SignatureDoesNotMatch")
  })

  it("verifies a presigned URL within its expiry, and refuses it expired or too early", () => {
    const url = "/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
    const headers = { host: "examplebucket.s3.amazonaws.com" }
    expect(verify(request("GET", url, headers), context(EXAMPLE_NOW + 3600_000))).toMatchObject({ payload: { kind: "unsigned" } })
    const expired = verify(request("GET", url, headers), context(EXAMPLE_NOW + 86_401_000))
    expect(expired instanceof S3Error && [expired.code, expired.message]).toEqual(["AccessDenied", "Request has expired"])
    expect(codeOf(verify(request("GET", url, headers), context(EXAMPLE_NOW - 3600_000)))).toBe("AccessDenied")
    expect(codeOf(verify(request("GET", url.replace("X-Amz-Expires=86400", "X-Amz-Expires=86401"), headers), context(EXAMPLE_NOW)))).toBe("SignatureDoesNotMatch")
  })

  it("denies (403, not 400) a presigned URL whose X-Amz-Expires is zero, negative or past a week", () => {
    const url = "/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
    const headers = { host: "examplebucket.s3.amazonaws.com" }
    for (const expires of ["0", "-7", "604801", "609901"]) {
      expect([expires, codeOf(verify(request("GET", url.replace("X-Amz-Expires=86400", `X-Amz-Expires=${expires}`), headers), context(EXAMPLE_NOW)))]).toEqual([expires, "AccessDenied"])
    }
    expect(codeOf(verify(request("GET", url.replace("X-Amz-Expires=86400", "X-Amz-Expires=soon"), headers), context(EXAMPLE_NOW)))).toBe("AuthorizationQueryParametersError")
  })

  it("refuses requests dated more than 15 minutes from the server's clock", () => {
    expect(codeOf(verify(request("GET", "/test.txt", getHeaders), context(EXAMPLE_NOW + 14 * 60_000)))).toBe("ok")
    expect(codeOf(verify(request("GET", "/test.txt", getHeaders), context(EXAMPLE_NOW + 16 * 60_000)))).toBe("RequestTimeTooSkewed")
    expect(codeOf(verify(request("GET", "/test.txt", getHeaders), context(EXAMPLE_NOW - 16 * 60_000)))).toBe("RequestTimeTooSkewed")
  })

  it("names what is wrong with a malformed or anonymous request", () => {
    expect(codeOf(verify(request("GET", "/test.txt", { host: "h" }), context(EXAMPLE_NOW)))).toBe("AccessDenied")
    expect(codeOf(verify(request("GET", "/test.txt", { ...getHeaders, authorization: "AWS4-HMAC-SHA256 Credential=x" }), context(EXAMPLE_NOW)))).toBe("AuthorizationHeaderMalformed")
    expect(codeOf(verify(request("GET", "/test.txt", { ...getHeaders, authorization: getHeaders.authorization.replace("us-east-1", "eu-west-1") }), context(EXAMPLE_NOW)))).toBe("AuthorizationHeaderMalformed")
    expect(codeOf(verify(request("GET", "/test.txt", { ...getHeaders, authorization: getHeaders.authorization.replace("AKIAIOSFODNN7EXAMPLE", "AKIANOBODY0000000000") }), context(EXAMPLE_NOW)))).toBe("InvalidAccessKeyId")
    expect(codeOf(verify(request("GET", "/test.txt", { ...getHeaders, authorization: "AWS AKIAIOSFODNN7EXAMPLE:abc" }), context(EXAMPLE_NOW)))).toBe("InvalidRequest")
    // A SigV2 presigned URL is named as such; a stray Signature parameter alone is still anonymous.
    expect(codeOf(verify(request("GET", "/test.txt?AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Signature=abc%3D&Expires=1369353600", { host: "h" }), context(EXAMPLE_NOW)))).toBe("InvalidRequest")
    expect(codeOf(verify(request("GET", "/test.txt?Signature=abc%3D", { host: "h" }), context(EXAMPLE_NOW)))).toBe("AccessDenied")
    const { "x-amz-content-sha256": _, ...noHash } = getHeaders
    expect(codeOf(verify(request("GET", "/test.txt", noHash), context(EXAMPLE_NOW)))).toBe("InvalidRequest")
  })
})

describe("aws-chunked: the AWS documentation's streaming example", () => {
  // PUT /examplebucket/chunkObject.txt: 66560 bytes of "a" in chunks of 65536, 1024 and 0 bytes.
  const headers = {
    host: "s3.amazonaws.com",
    "x-amz-date": "20130524T000000Z",
    "x-amz-storage-class": "REDUCED_REDUNDANCY",
    "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
    "content-encoding": "aws-chunked",
    "x-amz-decoded-content-length": "66560",
    "content-length": "66824",
    authorization: "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class,Signature=4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
  }
  const signatures = [
    "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
    "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
    "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"
  ]
  const encode = (sizes: ReadonlyArray<number>, sigs: ReadonlyArray<string>, fill = 0x61): Uint8Array => {
    const parts: Array<Buffer> = []
    sizes.forEach((size, i) => {
      parts.push(Buffer.from(`${size.toString(16)};chunk-signature=${sigs[i]}\r\n`), Buffer.alloc(size, fill), Buffer.from("\r\n"))
    })
    return new Uint8Array(Buffer.concat(parts))
  }
  const decode = (body: Uint8Array, pieces = 1000) => {
    const auth = verify(request("PUT", "/examplebucket/chunkObject.txt", headers), context(EXAMPLE_NOW))
    if (auth instanceof S3Error || auth.payload.kind !== "chunked-signed") throw new Error(`seed not verified: ${String(auth)}`)
    const input = Stream.fromIterable(Array.from({ length: Math.ceil(body.length / pieces) }, (_, i) => body.subarray(i * pieces, (i + 1) * pieces)))
    const out = decodeChunked(input, { digest: nodeDigest, signing: auth.payload.signing, trailer: false }, () => {})
    return Effect.runSync(Effect.catch(Effect.map(Stream.runCollect(out), (chunks) => Buffer.concat(chunks)), (e) => Effect.succeed(e)))
  }

  it("verifies the seed and every chunk signature, in any split of the input", () => {
    const body = encode([65536, 1024, 0], signatures)
    expect(body.length).toBe(66824)
    for (const pieces of [1, 7, 8192, 100_000]) {
      const out = decode(body, pieces)
      expect(out instanceof Buffer && out.length === 66560 && out.every((b) => b === 0x61)).toBe(true)
    }
  })

  it("refuses changed data, a changed or reordered signature, and a truncated body", () => {
    expect(codeOf(decode(encode([65536, 1024, 0], signatures, 0x62)) as S3Error)).toBe("SignatureDoesNotMatch")
    expect(codeOf(decode(encode([65536, 1024, 0], [signatures[1]!, signatures[0]!, signatures[2]!])) as S3Error)).toBe("SignatureDoesNotMatch")
    const body = encode([65536, 1024, 0], signatures)
    expect(codeOf(decode(body.subarray(0, body.length - 100)) as S3Error)).toBe("IncompleteBody")
    expect(codeOf(decode(new Uint8Array(Buffer.from("zz;chunk-signature=x\r\n"))) as S3Error)).toBe("InvalidRequest")
  })
})

describe("SigV4: requests signed by the AWS SDK", () => {
  const credentials = { accessKeyId: "SDKACCESSKEY00000001", secretAccessKey: "sdk-secret/with+chars" }
  /** Signs a command with the SDK and returns the request it would have sent. */
  const signed = async (send: (client: S3Client) => Promise<unknown>): Promise<{ req: S3Request; raw: Uint8Array }> => {
    let captured: { method: string; path: string; query: Record<string, string | Array<string> | null>; headers: Record<string, string>; body: unknown } | undefined
    const client = new S3Client({
      endpoint: "http://127.0.0.1:9000",
      region: "us-east-1",
      forcePathStyle: true,
      credentials,
      maxAttempts: 1,
      requestHandler: {
        handle: async (request: typeof captured) => {
          captured = request
          throw new Error("captured")
        }
      }
    })
    await send(client).catch(() => undefined)
    if (captured === undefined) throw new Error("nothing captured")
    const query = Object.entries(captured.query ?? {}).flatMap(([k, v]) => (v === null ? [k] : (Array.isArray(v) ? v : [v]).map((x) => `${encodeURIComponent(k)}=${encodeURIComponent(x)}`)))
    let raw: Uint8Array = new Uint8Array()
    const body = captured.body
    if (typeof body === "string") raw = new Uint8Array(Buffer.from(body))
    else if (body instanceof Uint8Array) raw = body
    else if (body instanceof Readable) {
      const chunks: Array<Buffer> = []
      for await (const c of body) chunks.push(Buffer.from(c as Uint8Array))
      raw = new Uint8Array(Buffer.concat(chunks))
    }
    return { req: request(captured.method, `${captured.path}${query.length > 0 ? `?${query.join("&")}` : ""}`, captured.headers, raw), raw }
  }
  const now = () => Date.now()
  const ctx = () => context(now(), credentials.secretAccessKey)

  it("verifies the SDK's signatures on listings with query strings and on keys that need escaping", async () => {
    const { req } = await signed((c) => c.send(new ListObjectsV2Command({ Bucket: "bucket", Prefix: "a b/ü+&=", Delimiter: "/", MaxKeys: 7 })))
    expect(codeOf(verify(req, ctx()))).toBe("ok")
    const tampered = { ...req, rawQuery: req.rawQuery.replace("max-keys=7", "max-keys=8") }
    expect(codeOf(verify(tampered, ctx()))).toBe("SignatureDoesNotMatch")
    const get = await signed((c) => c.send(new GetObjectCommand({ Bucket: "bucket", Key: "dir/a key ü (1)+!*'~.txt", Range: "bytes=1-2" })))
    expect(codeOf(verify(get.req, ctx()))).toBe("ok")
    expect(codeOf(verify({ ...get.req, headers: new Map([...get.req.headers, ["range", "bytes=1-3"]]) }, ctx()))).toBe("SignatureDoesNotMatch")
  })

  it("verifies the SDK's streamed upload (aws-chunked with a trailing checksum) and decodes its body", async () => {
    const data = Buffer.alloc(100_000, 7)
    const { req, raw } = await signed((c) => c.send(new PutObjectCommand({ Bucket: "bucket", Key: "k", Body: Readable.from([data.subarray(0, 60_000), data.subarray(60_000)]), ContentLength: data.length, ChecksumAlgorithm: "CRC32" })))
    const auth = verify(req, ctx())
    if (auth instanceof S3Error) throw new Error(auth.message)
    // Over plain HTTP the SDK streams aws-chunked with an unsigned payload and a CRC32 trailer.
    expect([auth.payload.kind, req.headers.get("x-amz-trailer")]).toEqual(["chunked-unsigned-trailer", "x-amz-checksum-crc32"])
    let trailer: ReadonlyMap<string, string> = new Map()
    const out = Effect.runSync(Stream.runCollect(decodeChunked(Stream.make(raw), { digest: nodeDigest, signing: undefined, trailer: true }, (t) => (trailer = t))))
    expect(Buffer.concat(out).equals(data)).toBe(true)
    expect(trailer.get("x-amz-checksum-crc32")).toBe(crc32Base64(data))
  })

  it("verifies presigned URLs from @aws-sdk/s3-request-presigner", async () => {
    const client = new S3Client({ endpoint: "http://127.0.0.1:9000", region: "us-east-1", forcePathStyle: true, credentials })
    const url = new URL(await getSignedUrl(client, new GetObjectCommand({ Bucket: "bucket", Key: "some key/ü", ResponseContentType: "text/x" }), { expiresIn: 900 }))
    const req = request("GET", `${url.pathname}${url.search}`, { host: url.host })
    expect(codeOf(verify(req, ctx()))).toBe("ok")
    expect(codeOf(verify(request("GET", `${url.pathname}${url.search.replace("text%2Fx", "text%2Fy")}`, { host: url.host }), ctx()))).toBe("SignatureDoesNotMatch")
    expect(codeOf(verify(request("GET", `${url.pathname}${url.search}`, { host: "127.0.0.1:9001" }), ctx()))).toBe("SignatureDoesNotMatch")
  })
})

describe("aws-chunked with a signed trailer (STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER)", () => {
  // No published vector covers the signed trailer: the body is built from the documented string-to-sign formats.
  const signing: ChunkSigning = {
    seedSignature: "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9",
    signingKey: signingKey(nodeDigest, EXAMPLE.secretKey, "20130524", "us-east-1"),
    amzDate: "20130524T000000Z",
    scope: "20130524/us-east-1/s3/aws4_request"
  }
  const hex = (data: Uint8Array | string) => createHash("sha256").update(data).digest("hex")
  const build = (chunks: ReadonlyArray<Buffer>, trailerValue: string, tamper: "none" | "trailer-signature" = "none") => {
    let previous = signing.seedSignature
    const parts: Array<Buffer> = []
    for (const chunk of [...chunks, Buffer.alloc(0)]) {
      const sig = sign(nodeDigest, signing.signingKey, `AWS4-HMAC-SHA256-PAYLOAD\n${signing.amzDate}\n${signing.scope}\n${previous}\n${EMPTY_SHA256}\n${hex(chunk)}`)
      parts.push(Buffer.from(`${chunk.length.toString(16)};chunk-signature=${sig}\r\n`), chunk)
      if (chunk.length > 0) parts.push(Buffer.from("\r\n"))
      previous = sig
    }
    const trailer = `x-amz-checksum-crc32:${trailerValue}`
    const trailerSig = sign(nodeDigest, signing.signingKey, `AWS4-HMAC-SHA256-TRAILER\n${signing.amzDate}\n${signing.scope}\n${previous}\n${hex(`${trailer}\n`)}`)
    parts.push(Buffer.from(`${trailer}\r\nx-amz-trailer-signature:${tamper === "trailer-signature" ? trailerSig.replace(/^./, (c) => (c === "0" ? "1" : "0")) : trailerSig}\r\n\r\n`))
    return new Uint8Array(Buffer.concat(parts))
  }
  const decode = (body: Uint8Array) => {
    let trailer: ReadonlyMap<string, string> | undefined
    const out = Effect.runSync(Effect.catch(Effect.map(Stream.runCollect(decodeChunked(Stream.make(body), { digest: nodeDigest, signing, trailer: true }, (t) => (trailer = t))), (c) => Buffer.concat(c)), (e) => Effect.succeed(e)))
    return { out, trailer }
  }

  it("decodes the data and returns the trailer once its signature checks", () => {
    const data = [Buffer.alloc(70_000, 3), Buffer.alloc(5, 4)]
    const { out, trailer } = decode(build(data, "AAAAAA=="))
    expect(out instanceof Buffer && out.equals(Buffer.concat(data))).toBe(true)
    expect(trailer?.get("x-amz-checksum-crc32")).toBe("AAAAAA==")
  })

  it("refuses a trailer whose value or signature was changed", () => {
    const body = Buffer.from(build([Buffer.alloc(10, 1)], "AAAAAA=="))
    const changed = new Uint8Array(Buffer.from(body.toString("latin1").replace("AAAAAA==", "BBBBBB=="), "latin1"))
    expect(codeOf(decode(changed).out as S3Error)).toBe("SignatureDoesNotMatch")
    expect(codeOf(decode(build([Buffer.alloc(10, 1)], "AAAAAA==", "trailer-signature")).out as S3Error)).toBe("SignatureDoesNotMatch")
    expect(decode(changed).trailer).toBeUndefined()
  })
})
