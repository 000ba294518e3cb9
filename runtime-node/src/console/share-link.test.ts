/**
 * Where a share link points: the S3 listener's address, the console's host
 * name when S3 listens on a wildcard, or the public endpoint an operator
 * names (`--console-share-endpoint`) for a proxy or NAT in front of S3; and
 * a version chosen in the versions view travels in the link.
 */
import { S3Error } from "@cairn/core/s3/errors"
import { authenticate } from "@cairn/core/s3/sigv4"
import { Effect, Stream } from "effect"
import { describe, expect, it } from "vitest"
import { nodeDigest } from "../s3/digest.ts"
import { presignUrl } from "../s3/presign-url.ts"
import { s3EndpointOf, shareUrl } from "./share-link.ts"

const KEYS = { accessKey: "alice-key", secretKey: "alice-secret-0123", region: "us-east-1" }
const NOW = Date.UTC(2026, 11, 8)

/** What the S3 listener's verifier says of `url` arriving with this Host header (a proxy passes it on, or rewrites it). */
const verdict = (url: URL, host: string): string =>
  Effect.runSync(Effect.match(
    authenticate(
      { method: "GET", rawPath: url.pathname, rawQuery: url.search.slice(1), headers: new Map([["host", host]]), body: Stream.make(new Uint8Array()) },
      { region: "us-east-1", nowMs: NOW + 1000, digest: nodeDigest, lookup: (k) => Effect.succeed(k === KEYS.accessKey ? { user: "alice", secretKey: KEYS.secretKey } : undefined) }
    ),
    { onFailure: (e) => (e instanceof S3Error ? e.code : String(e)), onSuccess: (a) => `ok ${a.user}` }
  ))

const request = { bucket: "photos", key: "a dir/résumé+1.txt", expiresSeconds: 60 }

describe("share link address", () => {
  it("names the S3 listener, or the console's host name with S3's port when S3 listens on a wildcard", () => {
    expect(shareUrl(s3EndpointOf("http", { host: "10.0.0.5", port: 9000 }), "console.local", request).toString())
      .toBe("http://10.0.0.5:9000/photos/a%20dir/r%C3%A9sum%C3%A9%2B1.txt")
    expect(shareUrl(s3EndpointOf("https", { host: "0.0.0.0", port: 9000 }), "console.local", request).toString())
      .toBe("https://console.local:9000/photos/a%20dir/r%C3%A9sum%C3%A9%2B1.txt")
    expect(shareUrl(s3EndpointOf("http", { host: "::1", port: 9000 }), "x", request).host).toBe("[::1]:9000")
  })

  it("names the public endpoint instead when one is configured, with its own scheme and port", () => {
    const endpoint = s3EndpointOf("http", { host: "0.0.0.0", port: 9000 }, "https://s3.example.com")
    expect(shareUrl(endpoint, "console.local", request).toString()).toBe("https://s3.example.com/photos/a%20dir/r%C3%A9sum%C3%A9%2B1.txt")
    const withPort = s3EndpointOf("http", { host: "127.0.0.1", port: 9000 }, "http://203.0.113.7:8443")
    expect(shareUrl(withPort, "console.local", request).origin).toBe("http://203.0.113.7:8443")
  })

  it("signs the public host: a proxy that passes the Host header on is accepted, one that rewrites it is not", () => {
    const endpoint = s3EndpointOf("http", { host: "127.0.0.1", port: 9000 }, "https://s3.example.com")
    const url = presignUrl(KEYS, { method: "GET", url: shareUrl(endpoint, "x", request), expiresSeconds: 60, nowMs: NOW })
    expect(verdict(url, "s3.example.com")).toBe("ok alice")
    expect(verdict(url, "127.0.0.1:9000")).toBe("SignatureDoesNotMatch")
  })

  it("carries a chosen version", () => {
    const url = shareUrl(s3EndpointOf("http", { host: "127.0.0.1", port: 9000 }, "https://s3.example.com"), "x", { ...request, versionId: "v/1+2" })
    expect(url.searchParams.get("versionId")).toBe("v/1+2")
    expect(url.pathname).toBe("/photos/a%20dir/r%C3%A9sum%C3%A9%2B1.txt")
  })
})
