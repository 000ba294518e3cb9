/**
 * Tracing over OTLP: a fake collector (node:http on loopback) receives the
 * spans of a single-node server started with `otlpEndpoint` — the HTTP
 * request's server span, the KV call under it, the Raft persist and apply —
 * with the node id on the resource; the same server without the setting
 * sends nothing. Also: the endpoint's validation and sources.
 */
import { Effect, Fiber } from "effect"
import { mkdtempSync, rmSync } from "node:fs"
import { createServer, type Server } from "node:http"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { apiHeaders } from "./api-credentials.ts"
import { rawFromEnv, rawFromFile, rawFromFlags, resolveConfig, type ServerConfig, ServerConfigError } from "./config.ts"
import { setLogSink } from "../log/log.ts"
import { runServer } from "./server.ts"
import { tracesUrl } from "./tracing.ts"

interface AnyValue {
  readonly stringValue?: string
  readonly intValue?: string | number
  readonly boolValue?: boolean
}
interface KeyValue {
  readonly key: string
  readonly value: AnyValue
}
interface OtlpSpan {
  readonly name: string
  readonly spanId: string
  readonly parentSpanId?: string
  readonly traceId: string
  readonly kind: number
  readonly attributes: ReadonlyArray<KeyValue>
  readonly status: { readonly code: number }
}
interface ReceivedSpan extends OtlpSpan {
  readonly resource: ReadonlyArray<KeyValue>
}

const attr = (list: ReadonlyArray<KeyValue>, key: string): string | number | boolean | undefined => {
  const v = list.find((a) => a.key === key)?.value
  if (v === undefined) return undefined
  if (v.stringValue !== undefined) return v.stringValue
  if (v.intValue !== undefined) return Number(v.intValue)
  return v.boolValue
}

/** Every POST to /v1/traces, parsed; anything else is recorded as a wrong request. */
const collector = {
  server: undefined as Server | undefined,
  url: "",
  requests: 0,
  wrong: [] as Array<string>,
  spans: [] as Array<ReceivedSpan>
}

const dirs: Array<string> = []
/** fetch with the admin's credentials (configFor's): the KV API needs them. */
const authed = (url: string, init: RequestInit = {}) => fetch(url, { ...init, headers: apiHeaders({ accessKey: "admin-key", secretKey: "admin-secret-123" }) })

const startServer = async (config: ServerConfig, waitReady = true): Promise<{ base: string; stop: () => Promise<void> }> => {
  let fiber: Fiber.Fiber<void, unknown> | undefined
  const base = await new Promise<string>((resolve) => {
    fiber = Effect.runFork(runServer(config, ({ apiAddress }) => resolve(`http://127.0.0.1:${apiAddress.port}`), { exportIntervalMs: 100 }))
  })
  for (let i = 0; waitReady && i < 600; i++) {
    if ((await fetch(`${base}/ready`)).status === 200) break
    await new Promise((r) => setTimeout(r, 50))
  }
  return { base, stop: () => Effect.runPromise(Fiber.interrupt(fiber!)).then(() => undefined) }
}

const configFor = (id: string, extra: Partial<Record<"otlpEndpoint" | "peers" | "join" | "clusterSecret", string>>): ServerConfig => {
  const dir = mkdtempSync(join(tmpdir(), "cairn-tracing-"))
  dirs.push(dir)
  const config = resolveConfig(rawFromFlags({
    id,
    dataDir: dir,
    apiListen: "127.0.0.1:0",
    peerListen: "127.0.0.1:0",
    s3Listen: "127.0.0.1:0",
    accessKey: "admin-key",
    secretKey: "admin-secret-123",
    ...extra
  }))
  if (config instanceof ServerConfigError) throw new Error(config.message)
  return config
}

/** Polls until `found` holds (bounded: the export interval is 100 ms, so this is generous). */
const waitFor = async <A>(what: string, found: () => A | undefined): Promise<A> => {
  for (let i = 0; i < 200; i++) {
    const a = found()
    if (a !== undefined) return a
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`timed out waiting for ${what}; spans received: ${collector.spans.map((s) => s.name).join(", ")}`)
}

beforeAll(async () => {
  setLogSink(() => {})
  const server = createServer((req, res) => {
    const chunks: Array<Buffer> = []
    req.on("data", (c: Buffer) => chunks.push(c))
    req.on("end", () => {
      collector.requests++
      if (req.method !== "POST" || req.url !== "/v1/traces" || !String(req.headers["content-type"]).startsWith("application/json")) {
        collector.wrong.push(`${req.method} ${req.url} ${req.headers["content-type"]}`)
      } else {
        const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as {
          resourceSpans: Array<{ resource: { attributes: Array<KeyValue> }; scopeSpans: Array<{ spans: Array<OtlpSpan> }> }>
        }
        for (const rs of body.resourceSpans) {
          for (const ss of rs.scopeSpans) for (const span of ss.spans) collector.spans.push({ ...span, resource: rs.resource.attributes })
        }
      }
      res.writeHead(200, { "content-type": "application/json" })
      res.end("{}")
    })
  })
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()))
  const address = server.address()
  if (address === null || typeof address === "string") throw new Error("no collector address")
  collector.server = server
  collector.url = `http://127.0.0.1:${address.port}`
})

afterAll(async () => {
  await new Promise<void>((r) => (collector.server === undefined ? r() : collector.server.close(() => r())))
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

describe("tracing over OTLP", () => {
  it("sends nothing without an endpoint", async () => {
    const config = configFor("quiet", {})
    expect(config.otlpEndpoint).toBeUndefined()
    const { base, stop } = await startServer(config)
    expect((await authed(`${base}/v1/kv/quiet-key`, { method: "PUT", body: "v" })).status).toBe(200)
    expect((await authed(`${base}/v1/kv/quiet-key`)).status).toBe(200)
    // Stopping would flush any buffered spans: after it, nothing can still be on its way.
    await stop()
    expect(collector.requests).toBe(0)
  }, 30_000)

  it("exports the HTTP request, KV and Raft spans with the node id on the resource", async () => {
    const { base, stop } = await startServer(configFor("traced", { otlpEndpoint: collector.url }))
    try {
      const put = await authed(`${base}/v1/kv/traced-key`, { method: "PUT", body: "hello" })
      expect(put.status).toBe(200)
      const get = await authed(`${base}/v1/kv/traced-key?consistency=linearizable`)
      expect(get.status).toBe(200)

      const named = (name: string) => () => collector.spans.find((s) => s.name === name)
      const putSpan = await waitFor("the PUT span", named("PUT /v1/kv/{key}"))
      const getSpan = await waitFor("the GET span", named("GET /v1/kv/{key}"))
      const submit = await waitFor("kv.submit", named("kv.submit"))
      const query = await waitFor("kv.query of the GET", () => collector.spans.find((s) => s.name === "kv.query" && attr(s.attributes, "kv.op") === "get"))
      // The first entry persisted is the new leader's empty one; the PUT's carries the value.
      const persist = await waitFor("raft.persist of the PUT's entry", () =>
        collector.spans.find((s) => s.name === "raft.persist" && Number(attr(s.attributes, "raft.bytes")) >= "hello".length))
      const apply = await waitFor("raft.apply", named("raft.apply"))

      for (const span of [putSpan, getSpan, submit, query, persist, apply]) {
        expect([span.name, attr(span.resource, "cairn.node.id")]).toEqual([span.name, "traced"])
        expect(attr(span.resource, "service.name")).toBe("cairn")
      }
      expect(putSpan.kind).toBe(2) // SERVER
      expect(attr(putSpan.attributes, "http.request.method")).toBe("PUT")
      expect(attr(putSpan.attributes, "http.route")).toBe("/v1/kv/{key}")
      expect(attr(putSpan.attributes, "http.response.status_code")).toBe(200)
      expect(attr(putSpan.attributes, "cairn.key_length")).toBe("traced-key".length)
      expect(attr(getSpan.attributes, "cairn.consistency")).toBe("linearizable")
      // The KV calls are children of their requests.
      expect([submit.traceId, submit.parentSpanId]).toEqual([putSpan.traceId, putSpan.spanId])
      expect([query.traceId, query.parentSpanId]).toEqual([getSpan.traceId, getSpan.spanId])
      expect(attr(submit.attributes, "kv.op")).toBe("put")
      expect(Number(attr(persist.attributes, "raft.entries"))).toBeGreaterThan(0)
      expect(typeof attr(persist.attributes, "raft.hard_state_changed")).toBe("boolean")
      expect(Number(attr(apply.attributes, "raft.entries"))).toBeGreaterThan(0)
      expect(collector.wrong).toEqual([])
    } finally {
      await stop()
    }
    // Polled routes and the membership sync's reads (twice a second) are not exported.
    expect(collector.spans.some((s) => s.name.endsWith(" /ready"))).toBe(false)
    expect(collector.spans.filter((s) => s.name === "kv.query").map((s) => attr(s.attributes, "kv.op"))).toEqual(["get"])
  }, 30_000)

  it("marks a 5xx answer as an error and a 4xx as not", async () => {
    // A joining node that no cluster has added knows no leader: its writes are 503s.
    const config = configFor("errors", {
      otlpEndpoint: `${collector.url}/`,
      peers: "errors=127.0.0.1:0,absent=127.0.0.1:1",
      join: "true",
      clusterSecret: "tracing-test-secret"
    })
    const { base, stop } = await startServer(config, false)
    try {
      expect((await authed(`${base}/v1/kv/x?consistency=eventual`)).status).toBe(400)
      expect((await authed(`${base}/v1/kv/x`, { method: "PUT", body: "v" })).status).toBe(503)
      const status = (code: number) => () =>
        collector.spans.find((s) => attr(s.resource, "cairn.node.id") === "errors" && attr(s.attributes, "http.response.status_code") === code)
      const bad = await waitFor("the 400 span", status(400))
      const unavailable = await waitFor("the 503 span", status(503))
      const submit = await waitFor("the refused kv.submit", () =>
        collector.spans.find((s) => s.name === "kv.submit" && s.parentSpanId === unavailable.spanId))
      expect(bad.status.code).toBe(1) // OK: the client's mistake, not the server's
      expect(unavailable.status.code).toBe(2) // ERROR
      expect(submit.status.code).toBe(2) // NotLeaderError
    } finally {
      await stop()
    }
  }, 30_000)
})

describe("the OTLP endpoint setting", () => {
  const bad = (c: ServerConfig | ServerConfigError): string => {
    if (!(c instanceof ServerConfigError)) throw new Error("expected a configuration error")
    return c.message
  }
  it("is off by default and comes from the flag, CAIRN_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_ENDPOINT or the file", () => {
    const endpoint = (...sources: Array<ReturnType<typeof rawFromEnv>>) => {
      const c = resolveConfig(...sources)
      if (c instanceof ServerConfigError) throw new Error(c.message)
      return c.otlpEndpoint
    }
    expect(endpoint()).toBeUndefined()
    expect(endpoint(rawFromFlags({ otlpEndpoint: "http://collector:4318" }))).toBe("http://collector:4318")
    expect(endpoint(rawFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://otel:4318" }))).toBe("http://otel:4318")
    expect(endpoint(rawFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://otel:4318", CAIRN_OTLP_ENDPOINT: "http://cairn:4318" }))).toBe("http://cairn:4318")
    const file = rawFromFile("c.json", JSON.stringify({ otlpEndpoint: "https://file:4318" }))
    if (file instanceof ServerConfigError) throw new Error(file.message)
    expect(endpoint(file)).toBe("https://file:4318")
    // An empty value switches off what a lower source turned on.
    expect(endpoint(file, rawFromEnv({ CAIRN_OTLP_ENDPOINT: "" }))).toBeUndefined()
  })

  it("refuses what is not an http(s) URL, naming the source", () => {
    expect(bad(resolveConfig(rawFromFlags({ otlpEndpoint: "localhost:4318" })))).toMatch(/flag --otlp-endpoint: the OTLP endpoint must be http:\/\/ or https:\/\//)
    expect(bad(resolveConfig(rawFromFlags({ otlpEndpoint: "not a url" })))).toMatch(/flag --otlp-endpoint: expected an http:\/\/ or https:\/\/ URL/)
    expect(bad(resolveConfig(rawFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: "grpc://x:4317" })))).toMatch(/environment variable OTEL_EXPORTER_OTLP_ENDPOINT: /)
    expect(bad(resolveConfig(rawFromEnv({ CAIRN_OTLP_ENDPOINT: "http://x:4318/?a=1" })))).toMatch(/CAIRN_OTLP_ENDPOINT: the OTLP endpoint takes no query/)
  })

  it("sends spans to <endpoint>/v1/traces", () => {
    expect(tracesUrl("http://c:4318")).toBe("http://c:4318/v1/traces")
    expect(tracesUrl("http://c:4318/")).toBe("http://c:4318/v1/traces")
    expect(tracesUrl("http://c:4318/otlp")).toBe("http://c:4318/otlp/v1/traces")
    expect(tracesUrl("http://c:4318/v1/traces")).toBe("http://c:4318/v1/traces")
  })
})
