/**
 * presignUrl against the AWS documentation's worked example (its signature,
 * to the digit) and against the server's own verifier (core's
 * authenticate): a URL for an awkward key with a versionId is accepted
 * within its expiry and refused after it, or changed, or for another key.
 */
import { S3Error } from "@cairn/core/s3/errors"
import type { S3Request } from "@cairn/core/s3/request"
import { authenticate, type SigV4Context } from "@cairn/core/s3/sigv4"
import { parseAmzDate } from "@cairn/core/s3/time"
import { Effect, Stream } from "effect"
import { describe, expect, it } from "vitest"
import { nodeDigest } from "./digest.ts"
import { presignUrl } from "./presign-url.ts"

const EXAMPLE = { accessKey: "AKIAIOSFODNN7EXAMPLE", secretKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", region: "us-east-1" }
const EXAMPLE_NOW = parseAmzDate("20130524T000000Z")!

const context = (nowMs: number): SigV4Context => ({
  region: "us-east-1",
  nowMs,
  digest: nodeDigest,
  lookup: (accessKey) => Effect.succeed(accessKey === EXAMPLE.accessKey ? { user: "alice", secretKey: EXAMPLE.secretKey } : undefined)
})

/** The request a client makes with the URL, as the S3 listener sees it. */
const requestOf = (url: URL, method = "GET"): S3Request => ({
  method,
  rawPath: url.pathname,
  rawQuery: url.search.slice(1),
  headers: new Map([["host", url.host]]),
  body: Stream.make(new Uint8Array())
})

const outcome = (req: S3Request, nowMs: number): string =>
  Effect.runSync(Effect.match(authenticate(req, context(nowMs)), { onFailure: (e) => (e instanceof S3Error ? e.code : String(e)), onSuccess: (a) => `ok ${a.user}` }))

describe("presignUrl", () => {
  it("makes the AWS documentation's presigned GET, signature and all", () => {
    const url = presignUrl(EXAMPLE, { method: "GET", url: new URL("https://examplebucket.s3.amazonaws.com/test.txt"), expiresSeconds: 86400, nowMs: EXAMPLE_NOW })
    expect(url.searchParams.get("X-Amz-Signature")).toBe("aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404")
    expect(url.searchParams.get("X-Amz-Credential")).toBe("AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request")
  })

  it("is accepted by the server's verifier until it expires, and only for what it names", () => {
    const url = presignUrl(EXAMPLE, { method: "GET", url: new URL("http://127.0.0.1:9000/photos/a dir/é x+y&z.txt?versionId=abc123"), expiresSeconds: 60, nowMs: EXAMPLE_NOW })
    expect(outcome(requestOf(url), EXAMPLE_NOW + 59_000)).toBe("ok alice")
    expect(outcome(requestOf(url), EXAMPLE_NOW + 61_000)).toBe("AccessDenied")
    expect(outcome(requestOf(url, "PUT"), EXAMPLE_NOW)).toBe("SignatureDoesNotMatch")
    const other = new URL(url)
    other.pathname = "/photos/a dir/other.txt"
    expect(outcome(requestOf(other), EXAMPLE_NOW)).toBe("SignatureDoesNotMatch")
    const longer = new URL(url)
    longer.searchParams.set("X-Amz-Expires", "600")
    expect(outcome(requestOf(longer), EXAMPLE_NOW + 61_000)).toBe("SignatureDoesNotMatch")
  })

  it("refuses an expiry S3 would refuse", () => {
    for (const expiresSeconds of [0, 7 * 24 * 3600 + 1, 1.5]) {
      expect(() => presignUrl(EXAMPLE, { method: "GET", url: new URL("http://h/b/k"), expiresSeconds })).toThrow(/expiry/)
    }
  })
})
