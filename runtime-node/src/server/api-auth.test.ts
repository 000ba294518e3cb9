/**
 * Authentication of the KV HTTP API (api-auth.ts through the real handler,
 * a one-node KV with the S3 user directory): a request without valid
 * credentials is refused with 401 before it does anything; the admin's key
 * and an S3 user's key work as HTTP Basic, Bearer and SigV4 (our signer and
 * curl's); a SigV4 body that is not the signed one is refused; a user's key
 * is not an admin's; the probes stay open and /metrics opens only on request.
 */
import { Context, Effect, Option } from "effect"
import { execFile } from "node:child_process"
import { createServer, type Server } from "node:http"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ADMIN, startTestS3, type TestS3 } from "../s3/harness.test-support.ts"
import { signRequest } from "../s3/sign-request.ts"
import { apiHeaders } from "./api-credentials.ts"
import { rawFromFlags, resolveConfig, type ServerConfig, ServerConfigError } from "./config.ts"
import { makeApiHandler } from "./http-api.ts"
import type { Members } from "./members.ts"
import { makeMetrics } from "./metrics.ts"

let s3: TestS3
const servers: Array<Server> = []
let base = ""
let publicBase = ""

const members: Members = {
  apiAddress: () => undefined,
  list: async () => ({ members: [], removed: [], rebalance: null }),
  add: async () => "not in this test",
  remove: async () => "not in this test",
  drain: async () => "not in this test",
  promote: async () => "not in this test",
  isDraining: () => false,
  sync: Effect.never
}

const serve = async (config: ServerConfig): Promise<string> => {
  const handler = makeApiHandler({ config, kv: s3.kv, metrics: makeMetrics(() => undefined), credentials: ADMIN, members, services: Context.empty(), s3Users: s3.users })
  const server = createServer(handler)
  servers.push(server)
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()))
  const address = server.address()
  return `http://127.0.0.1:${typeof address === "object" && address !== null ? address.port : 0}`
}

const configOf = (c: ServerConfig | ServerConfigError): ServerConfig => {
  if (c instanceof ServerConfigError) throw new Error(c.message)
  return c
}

beforeAll(async () => {
  s3 = await startTestS3()
  base = await serve(configOf(resolveConfig()))
  publicBase = await serve(configOf(resolveConfig(rawFromFlags({ metricsPublic: "true" }))))
  // The single node elects itself.
  for (;;) {
    if ((await fetch(`${base}/ready`)).status === 200) break
    await new Promise((r) => setTimeout(r, 50))
  }
})

afterAll(async () => {
  for (const server of servers) await new Promise((r) => server.close(r))
  await s3?.close()
})

const admin = apiHeaders(ADMIN)
const basic = (key: string, secret: string) => `Basic ${Buffer.from(`${key}:${secret}`).toString("base64")}`
const read = async (key: string) => {
  const r = await fetch(`${base}/v1/kv/${key}`, { headers: admin })
  return r.status === 200 ? r.text() : r.status
}
const sigv4 = (credentials: { readonly accessKey: string; readonly secretKey: string }, method: string, path: string, body?: string) =>
  signRequest({ ...credentials, region: "us-east-1" }, { method, url: new URL(`${base}${path}`), ...(body === undefined ? {} : { body }) })

describe("KV API authentication", () => {
  it("refuses a write without credentials with 401, a JSON error and a challenge, and the write leaves no trace", async () => {
    const r = await fetch(`${base}/v1/kv/anon`, { method: "PUT", body: "sneaky" })
    expect(r.status).toBe(401)
    expect(r.headers.get("www-authenticate")).toMatch(/^Basic realm="cairn"/)
    expect(await r.json()).toMatchObject({ error: "unauthorized", message: expect.stringContaining("credentials") })
    expect(await read("anon")).toBe(404)
    // Reads, lists, status and the admin endpoints are closed too.
    for (const path of ["/v1/kv/anon", "/v1/kv?prefix=", "/v1/status", "/v1/admin/members", "/v1/admin/s3/users", "/nope"]) {
      expect([path, (await fetch(`${base}${path}`)).status]).toEqual([path, 401])
    }
  })

  it("refuses a wrong secret, an unknown key and an unknown scheme, in every form", async () => {
    const attempts: Array<Record<string, string>> = [
      { authorization: basic(ADMIN.accessKey, `${ADMIN.secretKey}x`) },
      { authorization: basic(ADMIN.accessKey, ADMIN.secretKey.slice(0, -1)) },
      { authorization: basic("CAIRNNOSUCHKEY000000", ADMIN.secretKey) },
      { authorization: `Bearer ${ADMIN.accessKey}:wrong-secret` },
      { authorization: `Bearer ${ADMIN.accessKey}` },
      { authorization: `Digest username="${ADMIN.accessKey}"` },
      sigv4({ accessKey: ADMIN.accessKey, secretKey: "not-the-secret" }, "PUT", "/v1/kv/wrong", "v")
    ]
    for (const headers of attempts) {
      const r = await fetch(`${base}/v1/kv/wrong`, { method: "PUT", body: "v", headers })
      expect([headers.authorization?.slice(0, 16), r.status]).toEqual([headers.authorization?.slice(0, 16), 401])
      expect((await r.json() as { error: string }).error).toBe("unauthorized")
    }
    expect(await read("wrong")).toBe(404)
  })

  it("accepts the admin's key as Basic, as Bearer and as SigV4 (header and signed body)", async () => {
    expect((await fetch(`${base}/v1/kv/b`, { method: "PUT", body: "basic", headers: { authorization: basic(ADMIN.accessKey, ADMIN.secretKey) } })).status).toBe(200)
    expect(await read("b")).toBe("basic")
    expect((await fetch(`${base}/v1/kv/b`, { method: "PUT", body: "bearer", headers: { authorization: `Bearer ${ADMIN.accessKey}:${ADMIN.secretKey}` } })).status).toBe(200)
    expect(await read("b")).toBe("bearer")
    const put = await fetch(`${base}/v1/kv/b`, { method: "PUT", body: "sigv4", headers: sigv4(ADMIN, "PUT", "/v1/kv/b", "sigv4") })
    expect(put.status).toBe(200)
    const get = await fetch(`${base}/v1/kv/b`, { headers: sigv4(ADMIN, "GET", "/v1/kv/b") })
    expect([get.status, await get.text()]).toEqual([200, "sigv4"])
    const list = await fetch(`${base}/v1/kv?prefix=b&encoding=utf8`, { headers: sigv4(ADMIN, "GET", "/v1/kv?prefix=b&encoding=utf8") })
    expect((await list.json() as { items: Array<{ value: string }> }).items.map((i) => i.value)).toEqual(["sigv4"])
  })

  it("refuses a SigV4 request whose body is not the one signed, and writes nothing", async () => {
    const headers = sigv4(ADMIN, "PUT", "/v1/kv/swapped", "the signed body")
    const r = await fetch(`${base}/v1/kv/swapped`, { method: "PUT", body: "another body", headers })
    expect(r.status).toBe(400)
    expect((await r.json() as { error: string }).error).toBe("bad-body-hash")
    expect(await read("swapped")).toBe(404)
  })

  it("works with curl: -u (Basic) and --aws-sigv4", async () => {
    // Asynchronously: the server answers from this process's event loop.
    const curl = (...args: Array<string>) =>
      new Promise<string>((resolve, reject) =>
        execFile("curl", ["-s", "--max-time", "10", "-w", "\n%{http_code}", ...args], { encoding: "utf8" }, (e, out) => (e === null ? resolve(out) : reject(e)))
      )
    const user = `${ADMIN.accessKey}:${ADMIN.secretKey}`
    expect(await curl("-u", user, "-X", "PUT", "--data-binary", "from-curl", `${base}/v1/kv/curl`)).toMatch(/\n200$/)
    expect(await curl("-u", user, `${base}/v1/kv/curl`)).toBe("from-curl\n200")
    expect(await curl("--aws-sigv4", "aws:amz:us-east-1:s3", "-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD", "-u", user, `${base}/v1/kv/curl`)).toBe("from-curl\n200")
    expect(await curl(`${base}/v1/kv/curl`)).toMatch(/"unauthorized"[\s\S]*\n401$/)
  })

  it("accepts an S3 user's key, but not on the admin endpoints (403), and not once revoked", async () => {
    const alice = { accessKey: "CAIRNALICE0000000001", secretKey: "alice-secret-0123456789" }
    await s3.run(s3.users.addKey({ user: "alice", ...alice, createdMs: 0 }))
    expect((await fetch(`${base}/v1/kv/alice`, { method: "PUT", body: "hers", headers: apiHeaders(alice) })).status).toBe(200)
    expect((await fetch(`${base}/v1/kv/alice`, { headers: sigv4(alice, "GET", "/v1/kv/alice") })).status).toBe(200)
    const forbidden = await fetch(`${base}/v1/admin/s3/users`, { headers: apiHeaders(alice) })
    expect(forbidden.status).toBe(403)
    expect((await forbidden.json() as { error: string }).error).toBe("forbidden")
    expect((await fetch(`${base}/v1/admin/s3/users`, { headers: admin })).status).toBe(200)
    await s3.run(s3.users.revoke(alice.accessKey))
    expect((await fetch(`${base}/v1/kv/alice`, { headers: apiHeaders(alice) })).status).toBe(401)
  })

  it("leaves /health and /ready open, and /metrics open only with --metrics-public", async () => {
    expect((await fetch(`${base}/health`)).status).toBe(200)
    expect((await fetch(`${base}/ready`)).status).toBe(200)
    expect((await fetch(`${base}/metrics`)).status).toBe(401)
    const scraped = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${ADMIN.accessKey}:${ADMIN.secretKey}` } })
    expect([scraped.status, await scraped.text()]).toEqual([200, expect.stringContaining("cairn_http_requests_total")])
    expect((await fetch(`${publicBase}/metrics`)).status).toBe(200)
    // --metrics-public opens /metrics only.
    expect((await fetch(`${publicBase}/v1/status`)).status).toBe(401)
  })
})

describe("cairn cluster's request helper", () => {
  it("sends the credentials it is given", async () => {
    const { call } = await import("../cli/cluster-command.ts")
    const flags = (secret: string) => ({ endpoint: base, accessKey: Option.some(ADMIN.accessKey), secretKey: Option.some(secret), credentials: Option.none(), ca: Option.none() })
    const list = await Effect.runPromise(Effect.result(call(flags(ADMIN.secretKey), "GET", "/v1/admin/members")))
    expect(list._tag).toBe("Success")
    const wrong = await Effect.runPromise(Effect.result(call(flags("wrong-secret"), "GET", "/v1/admin/members")))
    expect(wrong._tag === "Failure" && wrong.failure.message).toMatch(/^401/)
  })
})
