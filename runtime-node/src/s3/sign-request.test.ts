/**
 * The client-side SigV4 signer (sign-request.ts) against a real S3
 * listener: what it signs is accepted (bucket and object writes, reads,
 * conditional writes with signed If-Match / If-None-Match, keys that need
 * escaping), and the same request tampered with after signing is refused.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ADMIN, startTestS3, type TestS3 } from "./harness.test-support.ts"
import { signRequest, type SigningCredentials } from "./sign-request.ts"

let s3: TestS3
const credentials: SigningCredentials = { ...ADMIN, region: "us-east-1" }

beforeAll(async () => {
  s3 = await startTestS3()
})

afterAll(async () => {
  await s3?.close()
})

const send = async (
  method: string,
  path: string,
  options: { readonly body?: string; readonly headers?: Record<string, string>; readonly creds?: SigningCredentials; readonly tamper?: (h: Record<string, string>) => { path?: string; body?: string; headers?: Record<string, string> } } = {}
) => {
  const url = new URL(`${s3.endpoint}${path}`)
  const headers = signRequest(options.creds ?? credentials, { method, url, headers: options.headers ?? {}, ...(options.body === undefined ? {} : { body: options.body }) })
  const t = options.tamper?.(headers) ?? {}
  const body = t.body ?? options.body
  const r = await fetch(t.path === undefined ? url : new URL(`${s3.endpoint}${t.path}`), {
    method,
    headers: t.headers ?? headers,
    ...(body === undefined ? {} : { body })
  })
  return { status: r.status, body: await r.text(), etag: r.headers.get("etag") ?? undefined }
}

describe("signRequest against the S3 listener", () => {
  it("is accepted: create a bucket, put, get, conditional puts, an escaped key", async () => {
    expect((await send("PUT", "/signed-bucket")).status).toBe(200)
    const put = await send("PUT", "/signed-bucket/k0", { body: "1000001" })
    expect(put.status).toBe(200)
    const get = await send("GET", "/signed-bucket/k0")
    expect(get).toMatchObject({ status: 200, body: "1000001", etag: put.etag })
    // If-Match on the ETag read: the compare-and-set wins once, then loses (412) on the old ETag.
    expect((await send("PUT", "/signed-bucket/k0", { body: "1000002", headers: { "If-Match": get.etag! } })).status).toBe(200)
    expect((await send("PUT", "/signed-bucket/k0", { body: "1000003", headers: { "If-Match": get.etag! } })).status).toBe(412)
    expect((await send("PUT", "/signed-bucket/k0", { body: "1000004", headers: { "If-None-Match": "*" } })).status).toBe(412)
    expect((await send("PUT", "/signed-bucket/k1", { body: "1000005", headers: { "If-None-Match": "*" } })).status).toBe(200)
    expect((await send("GET", "/signed-bucket/k0")).body).toBe("1000002")
    const missing = await send("GET", "/signed-bucket/nothing-here")
    expect(missing.status).toBe(404)
    expect(missing.body).toContain("<Code>NoSuchKey</Code>")
    expect((await send("PUT", `/signed-bucket/${encodeURIComponent("a key with spaces+ünïcode")}`, { body: "x" })).status).toBe(200)
    expect((await send("GET", "/signed-bucket?list-type=2&prefix=k")).body).toContain("<Key>k0</Key>")
  })

  it("is refused when tampered with after signing", async () => {
    expect((await send("PUT", "/tamper-bucket")).status).toBe(200)
    expect((await send("PUT", "/tamper-bucket/k0", { body: "1" })).status).toBe(200)
    // Another key than the one signed.
    const path = await send("GET", "/tamper-bucket/k0", { tamper: () => ({ path: "/tamper-bucket/k1" }) })
    expect(path.status).toBe(403)
    expect(path.body).toContain("SignatureDoesNotMatch")
    // A signed header changed.
    const header = await send("PUT", "/tamper-bucket/k0", { body: "2", headers: { "If-Match": '"0"' }, tamper: (h) => ({ headers: { ...h, "if-match": '"1"' } }) })
    expect(header.status).toBe(403)
    // Another body than the one whose hash was signed: refused, and nothing written.
    const body = await send("PUT", "/tamper-bucket/k0", { body: "3", tamper: () => ({ body: "4" }) })
    expect(body.status).toBe(400)
    expect(body.body).toContain("XAmzContentSHA256Mismatch")
    // The wrong secret.
    expect((await send("GET", "/tamper-bucket/k0", { creds: { ...credentials, secretKey: "not-the-secret-key-000" } })).status).toBe(403)
    expect((await send("GET", "/tamper-bucket/k0")).body).toBe("1")
  })
})
