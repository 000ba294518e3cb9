/**
 * What admission reads from a request's head: the client (access key named
 * by SigV4, a presigned URL or Basic/Bearer credentials, else the address),
 * the declared body bytes, and the probes.
 */
import type { IncomingMessage } from "node:http"
import { describe, expect, it } from "vitest"
import { UNKNOWN_LENGTH_CHARGE_BYTES } from "./limits.ts"
import { clientOf, declaredBytes, isProbe, unreadBodyBytes } from "./request-shape.ts"

const request = (headers: Record<string, string>, url = "/b/k", method = "PUT", complete = false): IncomingMessage =>
  ({ headers, url, method, complete, socket: { remoteAddress: "10.0.0.7" } }) as unknown as IncomingMessage

describe("request shape", () => {
  it("charges a request to the access key it names, else to its address", () => {
    const sigv4 = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261207/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=ab"
    expect(clientOf(request({ authorization: sigv4 }))).toBe("key:AKIDEXAMPLE")
    expect(clientOf(request({}, "/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=PRESIGNED1%2F20261207%2Fus-east-1%2Fs3%2Faws4_request"))).toBe("key:PRESIGNED1")
    expect(clientOf(request({ authorization: `Basic ${Buffer.from("basic-user:secret").toString("base64")}` }))).toBe("key:basic-user")
    expect(clientOf(request({ authorization: "Bearer bearer-user:secret" }))).toBe("key:bearer-user")
    expect(clientOf(request({}))).toBe("addr:10.0.0.7")
    // Not a credential: the address is the client.
    expect(clientOf(request({ authorization: "AWS4-HMAC-SHA256 Credential=a b/x" }))).toBe("addr:10.0.0.7")
    expect(clientOf(request({ authorization: "Bearer " }))).toBe("addr:10.0.0.7")
  })

  it("declares Content-Length bytes, a fixed charge for a chunked body, none without a body", () => {
    expect(declaredBytes(request({ "content-length": "4096" }))).toBe(4096)
    expect(declaredBytes(request({ "transfer-encoding": "chunked" }))).toBe(UNKNOWN_LENGTH_CHARGE_BYTES)
    expect(declaredBytes(request({}))).toBe(0)
    expect(declaredBytes(request({ "content-length": "nonsense" }))).toBe(0)
    expect(unreadBodyBytes(request({ "content-length": "4096" }))).toBe(4096)
    expect(unreadBodyBytes(request({ "content-length": "4096" }, "/", "PUT", true))).toBe(0)
    expect(unreadBodyBytes(request({ "transfer-encoding": "chunked" }))).toBe(Number.POSITIVE_INFINITY)
  })

  it("knows the probes and the scrape, and nothing else", () => {
    for (const path of ["/health", "/ready", "/metrics", "/health?x=1"]) expect(isProbe(request({}, path, "GET"))).toBe(true)
    expect(isProbe(request({}, "/v1/kv/health", "GET"))).toBe(false)
    expect(isProbe(request({}, "/health", "PUT"))).toBe(false)
  })
})
