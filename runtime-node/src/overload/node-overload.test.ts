/**
 * A real `cairn server` process started with tiny limits on its flags
 * (`--max-inflight-requests 1 --max-queued-requests 1 --idle-timeout-ms
 * 300`): with one S3 upload held open and one request queued, the next S3
 * request gets 503 `SlowDown` XML with Retry-After, the KV API's `/health`,
 * `/ready` and `/metrics` still answer while its own limit is full (and a KV
 * write gets 503 `slow-down`), both listeners serve again once the held
 * requests finish, and an idle kept-alive connection is closed by the node.
 * The node's metrics count what was shed. Waits are for events, never for
 * durations.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { PROCESS_ADMIN, type ServerProcess, startServerProcess } from "../s3/server-process.test-support.ts"
import { signRequest } from "../s3/sign-request.ts"
import { apiHeaders } from "../server/api-credentials.ts"
import { type Answer, exchange, raw, until } from "./exchange.test-support.ts"

let node: ServerProcess
let apiPort = 0

beforeAll(async () => {
  node = await startServerProcess([
    "--max-inflight-requests", "1",
    "--max-queued-requests", "1",
    "--idle-timeout-ms", "300",
    "--min-body-bytes-per-second", "1",
    "--header-timeout-ms", "60000",
    "--metrics-public"
  ])
  apiPort = Number(new URL(node.api).port)
}, 60_000)
afterAll(async () => {
  await node?.stop()
})

const signed = (method: string, path: string, extra: Record<string, string> = {}) =>
  signRequest({ ...PROCESS_ADMIN, region: "us-east-1" }, { method, url: new URL(`${node.endpoint}${path}`), headers: extra, unsignedPayload: true })

/** One overload series of the node's /metrics for `listener`. */
const series = async (name: string, listener: "s3" | "kv", extra = ""): Promise<number> => {
  const text = (await exchange(apiPort, "GET", "/metrics", {})).body
  const m = new RegExp(`^${name}\\{listener="${listener}"${extra}\\} (\\S+)$`, "m").exec(text)
  return m === null ? Number.NaN : Number(m[1])
}

/** A request whose body is held back (half sent) until `finish` is called: it holds its admission. */
const held = (port: number, method: string, path: string, headers: Record<string, string>) => {
  let finish = () => {}
  const answer: Promise<Answer> = exchange(port, method, path, { ...headers, "content-length": "10" }, (write, end) => {
    write("12345")
    finish = () => {
      write("67890")
      end()
    }
  })
  return { answer, finish: () => finish() }
}

describe("a node with tiny overload limits", () => {
  it("sheds S3 with 503 SlowDown XML and Retry-After when full, and serves again after", async () => {
    expect((await exchange(node.port, "PUT", "/overload", signed("PUT", "/overload"))).status).toBe(200)
    const upload = held(node.port, "PUT", "/overload/held", signed("PUT", "/overload/held", { "content-length": "10" }))
    await until(async () => (await series("cairn_overload_inflight_requests", "s3")) === 1)
    const queued = exchange(node.port, "GET", "/overload", signed("GET", "/overload"))
    await until(async () => (await series("cairn_overload_queued_requests", "s3")) === 1)
    const shed = await exchange(node.port, "GET", "/overload", signed("GET", "/overload"))
    expect(shed.status).toBe(503)
    expect(shed.headers["retry-after"]).toBe("1")
    expect(shed.headers["content-type"]).toBe("application/xml")
    expect(shed.body).toMatch(/<Error>\s*<Code>SlowDown<\/Code>/)
    upload.finish()
    expect((await upload.answer).status).toBe(200)
    expect((await queued).status).toBe(200)
    expect((await exchange(node.port, "GET", "/overload/held", signed("GET", "/overload/held"))).body).toBe("1234567890")
    expect(await series("cairn_overload_shed_total", "s3", ',reason="queue-full"')).toBe(1)
  })

  it("answers /health, /ready and /metrics while the KV API's limit is full, and sheds a KV write with 503 and Retry-After", async () => {
    const auth = apiHeaders(PROCESS_ADMIN)
    const write = held(apiPort, "PUT", "/v1/kv/held", auth)
    await until(async () => (await series("cairn_overload_inflight_requests", "kv")) === 1)
    const queued = exchange(apiPort, "GET", "/v1/kv/held", auth)
    await until(async () => (await series("cairn_overload_queued_requests", "kv")) === 1)
    expect(await exchange(apiPort, "GET", "/health", {})).toMatchObject({ status: 200 })
    expect(await exchange(apiPort, "GET", "/ready", {})).toMatchObject({ status: 200 })
    const shed = await exchange(apiPort, "PUT", "/v1/kv/shed", { ...auth, "content-length": "1" }, (w, end) => {
      w("x")
      end()
    })
    expect(shed.status).toBe(503)
    expect(shed.headers["retry-after"]).toBe("1")
    expect(JSON.parse(shed.body)).toMatchObject({ error: "slow-down" })
    write.finish()
    expect((await write.answer).status).toBe(200)
    expect(await queued).toMatchObject({ status: 200, body: "1234567890" })
    expect(await series("cairn_overload_shed_total", "kv", ',reason="queue-full"')).toBe(1)
  })

  it("closes an idle kept-alive connection after --idle-timeout-ms", async () => {
    for (const port of [apiPort, node.port]) {
      const idle = raw(port)
      const path = port === apiPort ? "/health" : "/"
      const headers = port === apiPort ? "" : Object.entries(signed("GET", "/")).map(([k, v]) => `${k}: ${v}\r\n`).join("")
      idle.socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n${headers}\r\n`)
      await idle.closed
      expect(idle.seen.data).toMatch(/^HTTP\/1.1 200/)
      expect(idle.seen.data.toLowerCase()).toContain("keep-alive")
    }
  })
})
