/**
 * The S3 and KV listeners under overload, with tiny limits: saturated, they
 * shed with 503 (S3 `SlowDown` XML, KV `slow-down` JSON, both with
 * Retry-After) and serve again once the load is gone; `/health` answers
 * while the KV listener is saturated; a slowloris connection, an idle
 * kept-alive connection and a trickling body are closed; connections past
 * the cap are closed on arrival, or make an idle one close; the in-flight
 * limit drops while the event loop is held and climbs back. Every wait is for an event (a response, a
 * close, a counter), never for a duration.
 */
import { Effect, Exit, Scope } from "effect"
import type { IncomingMessage, ServerResponse } from "node:http"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ADMIN, startTestS3, type TestS3 } from "../s3/harness.test-support.ts"
import { signRequest } from "../s3/sign-request.ts"
import { startKvListener } from "../server/kv-listener.ts"
import { exchange, raw, trickle, until } from "./exchange.test-support.ts"
import type { GuardStats } from "./guard.ts"
import type { OverloadLimits } from "./limits.ts"

const closers: Array<() => Promise<void>> = []
afterAll(async () => {
  for (const close of closers) await close()
})

const limits = (overrides: Partial<OverloadLimits>): OverloadLimits => ({
  maxInflightRequests: 1,
  maxInflightBytes: 1 << 30,
  maxClientInflight: 4,
  maxClientInflightBytes: 1 << 30,
  maxQueuedRequests: 1,
  queueTimeoutMs: 60_000,
  maxConnections: 100,
  headerTimeoutMs: 60_000,
  idleTimeoutMs: 60_000,
  minBodyBytesPerSecond: 1,
  ...overrides
})

const signed = (port: number, method: string, path: string, extra: Record<string, string> = {}) =>
  signRequest({ ...ADMIN, region: "us-east-1" }, { method, url: new URL(`http://127.0.0.1:${port}${path}`), headers: extra, unsignedPayload: true })

describe("S3 listener under overload", () => {
  let s3: TestS3
  beforeAll(async () => {
    s3 = await startTestS3({ limits: limits({}) })
    closers.push(() => s3.close())
    expect(await exchange(s3.port, "PUT", "/bucket", signed(s3.port, "PUT", "/bucket"))).toMatchObject({ status: 200 })
  })

  it("sheds with 503 SlowDown and Retry-After when saturated, and serves again afterwards", async () => {
    const headers = { ...signed(s3.port, "PUT", "/bucket/k", { "content-length": "10" }) }
    let finish: () => void = () => {}
    const held = exchange(s3.port, "PUT", "/bucket/k", headers, (write, end) => {
      write("12345")
      finish = () => {
        write("67890")
        end()
      }
    })
    await until(() => s3.overload().inflightRequests === 1)
    const queued = exchange(s3.port, "GET", "/", signed(s3.port, "GET", "/"))
    await until(() => s3.overload().queued === 1)
    const shed = await exchange(s3.port, "GET", "/", signed(s3.port, "GET", "/"))
    expect(shed.status).toBe(503)
    expect(shed.headers["retry-after"]).toBe("1")
    expect(shed.body).toContain("<Code>SlowDown</Code>")
    finish()
    expect((await held).status).toBe(200)
    expect((await queued).status).toBe(200)
    expect((await exchange(s3.port, "GET", "/", signed(s3.port, "GET", "/"))).status).toBe(200)
    expect(s3.overload().shed["queue-full"]).toBe(1)
  })
})

describe("S3 listener and slow clients", () => {
  let s3: TestS3
  beforeAll(async () => {
    s3 = await startTestS3({ limits: limits({ maxInflightRequests: 8, headerTimeoutMs: 200, idleTimeoutMs: 100, minBodyBytesPerSecond: 1000 }) })
    closers.push(() => s3.close())
    expect(await exchange(s3.port, "PUT", "/bucket", signed(s3.port, "PUT", "/bucket"))).toMatchObject({ status: 200 })
  })

  it("closes a connection whose headers do not arrive in time (slowloris)", async () => {
    const c = raw(s3.port)
    await c.connected
    c.socket.write("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nx-slow: ")
    await c.closed
    expect(c.seen.data).toContain("<Code>RequestTimeout</Code>")
    expect(s3.overload().headerTimeouts).toBeGreaterThan(0)
  })

  it("cuts a body that trickles in below the minimum rate", async () => {
    let stop = () => {}
    const answer = await exchange(s3.port, "PUT", "/bucket/slow", signed(s3.port, "PUT", "/bucket/slow", { "content-length": "100000" }), (write) => {
      stop = trickle(write)
    })
    stop()
    expect(answer.status).toBe(400)
    expect(answer.body).toContain("<Code>RequestTimeout</Code>")
    expect(s3.overload().slowBodies).toBe(1)
  })
})

describe("KV listener under overload", () => {
  let port = 0
  let stats: () => GuardStats = () => { throw new Error("not started") }
  const gates: Array<() => void> = []
  /** A stand-in for the API: /hold answers when released, /health at once, anything else once its body is read. */
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const answer = (text: string) => {
      if (!res.headersSent) res.end(text)
    }
    if (req.url === "/health") return answer("ok")
    if (req.url === "/hold") return void gates.push(() => answer("released"))
    req.resume().on("end", () => answer("read"))
  }
  const start = async (overrides: Partial<OverloadLimits>) => {
    const scope = await Effect.runPromise(Scope.make())
    closers.push(() => Effect.runPromise(Scope.close(scope, Exit.void)))
    const address = await Effect.runPromise(
      startKvListener({ handler, address: { host: "127.0.0.1", port: 0 }, limits: limits(overrides), watchOverload: (s) => (stats = s) }).pipe(Scope.provide(scope))
    )
    port = address.port
  }

  it("sheds with 503 slow-down and Retry-After, answers /health meanwhile, and serves again afterwards", async () => {
    await start({})
    const held = exchange(port, "GET", "/hold", {})
    await until(() => stats().inflightRequests === 1)
    const queued = exchange(port, "GET", "/other", {})
    await until(() => stats().queued === 1)
    const shed = await exchange(port, "PUT", "/v1/kv/a", { "content-length": "1" }, (write, end) => {
      write("x")
      end()
    })
    expect(shed.status).toBe(503)
    expect(shed.headers["retry-after"]).toBe("1")
    expect(JSON.parse(shed.body)).toMatchObject({ error: "slow-down" })
    const health = await exchange(port, "GET", "/health", {})
    expect(health).toMatchObject({ status: 200, body: "ok" })
    gates.shift()!()
    expect((await held).body).toBe("released")
    expect((await queued).body).toBe("read")
    expect((await exchange(port, "GET", "/other", {})).status).toBe(200)
  })

  it("keeps the connection of a shed request with a small body, closes it when a large body is still to come", async () => {
    await start({ maxQueuedRequests: 0 })
    const held = exchange(port, "GET", "/hold", {})
    await until(() => stats().inflightRequests === 1)
    const small = raw(port)
    small.socket.write("PUT /v1/kv/a HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 3\r\n\r\nabc")
    await until(() => small.seen.data.includes("slow-down"))
    expect(small.seen.data).toMatch(/^HTTP\/1.1 503/)
    small.socket.write("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    await until(() => small.seen.data.endsWith("ok"))
    const large = raw(port)
    large.socket.write(`PUT /v1/kv/b HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ${1 << 20}\r\n\r\n`)
    await large.closed
    expect(large.seen.data).toMatch(/^HTTP\/1.1 503/)
    expect(small.socket.destroyed).toBe(false)
    small.socket.destroy()
    gates.shift()!()
    await held
  })

  it("closes an idle kept-alive connection, a slowloris one, and a trickling body", async () => {
    await start({ maxInflightRequests: 8, headerTimeoutMs: 200, idleTimeoutMs: 100, minBodyBytesPerSecond: 1000 })
    const idle = raw(port)
    idle.socket.write("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    await idle.closed
    expect(idle.seen.data).toMatch(/^HTTP\/1.1 200/)

    const loris = raw(port)
    loris.socket.write("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    await loris.closed
    expect(loris.seen.data).toMatch(/^HTTP\/1.1 408/)
    expect(stats().headerTimeouts).toBeGreaterThan(0)

    let stop = () => {}
    const cut = await exchange(port, "PUT", "/v1/kv/slow", { "content-length": "100000" }, (write) => {
      stop = trickle(write)
    })
    stop()
    expect(cut.status).toBe(408)
    expect(JSON.parse(cut.body)).toMatchObject({ error: "request-timeout" })
    expect(stats().slowBodies).toBe(1)
  }, 4_000)

  it("serves fewer at once while the event loop runs late, and climbs back once it does not", async () => {
    await start({ maxInflightRequests: 256 })
    await until(() => stats().inflightLimit === 256)
    // Hold the loop far past the adaptive limit's target, as a node doing more than it sustains does.
    const until300 = performance.now() + 300
    while (performance.now() < until300);
    await until(() => stats().inflightLimit < 256)
    expect(stats().loopDelayMs).toBeGreaterThan(0)
    await until(() => stats().inflightLimit === 256)
  })

  it("closes connections beyond --max-connections as they arrive", async () => {
    await start({ maxConnections: 2 })
    const kept = [raw(port), raw(port)]
    await until(() => stats().connections === 2)
    const extra = raw(port)
    await extra.closed
    expect(extra.seen.data).toBe("")
    expect(stats().connectionsRefused).toBe(1)
    for (const c of kept) c.socket.destroy()
  })

  it("at --max-connections closes the oldest idle kept-alive connection to let a newcomer in", async () => {
    await start({ maxConnections: 2 })
    const idle = raw(port)
    idle.socket.write("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    await until(() => idle.seen.data.includes("ok"))
    const busy = raw(port)
    await until(() => stats().connections === 2)
    const probe = await exchange(port, "GET", "/health", {})
    expect(probe).toMatchObject({ status: 200, body: "ok" })
    await idle.closed
    expect(stats()).toMatchObject({ idleEvicted: 1, connectionsRefused: 0 })
    busy.socket.destroy()
  })
})
