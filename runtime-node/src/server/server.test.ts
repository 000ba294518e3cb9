/**
 * One `cairn server` in this process, over real HTTP on loopback: the KV
 * API's status codes, ETags and preconditions, listing, bad input, metrics,
 * health and the admin endpoint's authentication.
 */
import { Effect, Fiber } from "effect"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { rawFromFlags, resolveConfig, ServerConfigError } from "./config.ts"
import { setLogSink } from "../log/log.ts"
import { runServer } from "./server.ts"

const logs: Array<string> = []
let base = ""
let fiber: Fiber.Fiber<void, unknown> | undefined
let dir = ""
const auth = `Basic ${Buffer.from("admin-key:admin-secret-123").toString("base64")}`

beforeAll(async () => {
  setLogSink((line) => void logs.push(line))
  dir = mkdtempSync(join(tmpdir(), "cairn-server-"))
  const config = resolveConfig(rawFromFlags({ dataDir: dir, apiListen: "127.0.0.1:0", peerListen: "127.0.0.1:0", s3Listen: "127.0.0.1:0", accessKey: "admin-key", secretKey: "admin-secret-123" }))
  if (config instanceof ServerConfigError) throw new Error(config.message)
  const ready = new Promise<string>((resolve) => {
    fiber = Effect.runFork(runServer(config, ({ apiAddress }) => resolve(`http://127.0.0.1:${apiAddress.port}`)))
  })
  base = await ready
  // Wait for the single node to elect itself.
  for (;;) {
    const r = await fetch(`${base}/ready`)
    if (r.status === 200) break
    await new Promise((r) => setTimeout(r, 50))
  }
}, 30_000)

afterAll(async () => {
  if (fiber !== undefined) await Effect.runPromise(Fiber.interrupt(fiber))
  rmSync(dir, { recursive: true, force: true })
})

/** fetch with the admin's credentials (every route but /health and /ready needs some). */
const authed = (url: string, init: RequestInit = {}) => fetch(url, { ...init, headers: { authorization: auth, ...(init.headers as Record<string, string> | undefined) } })

const put = (key: string, body: string | Uint8Array, headers: Record<string, string> = {}) =>
  authed(`${base}/v1/kv/${key}`, { method: "PUT", body, headers })

describe("cairn server, single node, HTTP API", () => {
  it("puts, gets and deletes with the revision as ETag", async () => {
    const p = await put("greeting", "hello")
    expect(p.status).toBe(200)
    const rev = Number(/^"(\d+)"$/.exec(p.headers.get("etag") ?? "")?.[1])
    expect(rev).toBeGreaterThan(0)
    expect(await p.json()).toEqual({ key: "greeting", revision: rev })
    const g = await authed(`${base}/v1/kv/greeting`)
    expect(g.status).toBe(200)
    expect(g.headers.get("etag")).toBe(`"${rev}"`)
    expect(await g.text()).toBe("hello")
    const s = await authed(`${base}/v1/kv/greeting?consistency=serializable`)
    expect(await s.text()).toBe("hello")
    const d = await authed(`${base}/v1/kv/greeting`, { method: "DELETE" })
    expect(d.status).toBe(200)
    expect(Number(/"(\d+)"/.exec(d.headers.get("etag") ?? "")?.[1])).toBeGreaterThan(rev)
    expect((await authed(`${base}/v1/kv/greeting`)).status).toBe(404)
    expect((await authed(`${base}/v1/kv/greeting`, { method: "DELETE" })).status).toBe(404)
  })

  it("stores bytes exactly, and keys with slashes and non-ASCII characters", async () => {
    const bytes = new Uint8Array([0, 255, 1, 128, 10])
    expect((await put("dir/sub/%C3%A9t%C3%A9", bytes)).status).toBe(200)
    const g = await authed(`${base}/v1/kv/dir/sub/%C3%A9t%C3%A9`)
    expect(new Uint8Array(await g.arrayBuffer())).toEqual(bytes)
  })

  it("compare-and-set: If-Match on the current revision succeeds, a stale one gets 412", async () => {
    const first = await put("cas", "v1")
    const rev1 = first.headers.get("etag")!
    const second = await put("cas", "v2", { "if-match": rev1 })
    expect(second.status).toBe(200)
    const rev2 = second.headers.get("etag")!
    expect(rev2).not.toBe(rev1)
    const stale = await put("cas", "v3", { "if-match": rev1 })
    expect(stale.status).toBe(412)
    expect(stale.headers.get("etag")).toBe(rev2)
    expect(await stale.json()).toMatchObject({ error: "precondition-failed", revision: Number(rev2.slice(1, -1)) })
    expect(await (await authed(`${base}/v1/kv/cas`)).text()).toBe("v2")
    // Conditional delete: stale fails, current succeeds.
    expect((await authed(`${base}/v1/kv/cas`, { method: "DELETE", headers: { "if-match": rev1 } })).status).toBe(412)
    expect((await authed(`${base}/v1/kv/cas`, { method: "DELETE", headers: { "if-match": rev2 } })).status).toBe(200)
    expect((await authed(`${base}/v1/kv/cas`)).status).toBe(404)
    expect((await put("cas-missing", "x", { "if-match": '"5"' })).status).toBe(412)
  })

  it("create-only: If-None-Match: * succeeds once, then 412", async () => {
    expect((await put("once", "a", { "if-none-match": "*" })).status).toBe(200)
    expect((await put("once", "b", { "if-none-match": "*" })).status).toBe(412)
    expect(await (await authed(`${base}/v1/kv/once`)).text()).toBe("a")
  })

  it("lists by prefix with start and limit, values as base64 or UTF-8", async () => {
    for (const k of ["list/a", "list/b", "list/c", "lisu", "lisz"]) expect((await put(k, `v-${k}`)).status).toBe(200)
    const all = await (await authed(`${base}/v1/kv?prefix=list/`)).json() as { items: Array<{ key: string; value: string }>; more: boolean }
    expect(all.items.map((i) => i.key)).toEqual(["list/a", "list/b", "list/c"])
    expect(Buffer.from(all.items[0]!.value, "base64").toString()).toBe("v-list/a")
    expect(all.more).toBe(false)
    const page = await (await authed(`${base}/v1/kv?prefix=list/&limit=2&encoding=utf8`)).json() as { items: Array<{ key: string; value: string }>; more: boolean; next: string }
    expect(page.items.map((i) => [i.key, i.value])).toEqual([["list/a", "v-list/a"], ["list/b", "v-list/b"]])
    expect(page.more).toBe(true)
    const rest = await (await authed(`${base}/v1/kv?prefix=list/&start=${encodeURIComponent(page.next)}`)).json() as { items: Array<{ key: string }> }
    expect(rest.items.map((i) => i.key)).toEqual(["list/c"])
  })

  it("answers bad input with a 4xx and a JSON error, never a crash", async () => {
    const huge = "k".repeat(5000)
    const big = await put(huge, "x")
    expect([400, 413, 414, 431]).toContain(big.status)
    expect((await big.json() as { error: string }).error).toBe("key-too-large")
    const value = await put("big-value", new Uint8Array(1024 * 1024 + 1))
    expect(value.status).toBe(413)
    const cases: Array<[string, RequestInit, number]> = [
      ["/v1/kv/x", { method: "PUT", body: "v", headers: { "if-match": "not-quoted" } }, 400],
      ["/v1/kv/x", { method: "PUT", body: "v", headers: { "if-none-match": '"3"' } }, 400],
      ["/v1/kv/x", { method: "PUT", body: "v", headers: { "if-match": '"1"', "if-none-match": "*" } }, 400],
      ["/v1/kv/%E0%A4%A", { method: "GET" }, 400],
      ["/v1/kv/%00secret", { method: "GET" }, 400],
      ["/v1/kv/x?consistency=eventual", { method: "GET" }, 400],
      ["/v1/kv?limit=0", { method: "GET" }, 400],
      ["/v1/kv?limit=abc", { method: "GET" }, 400],
      ["/v1/kv/x", { method: "POST", body: "v" }, 405],
      ["/nope", { method: "GET" }, 404]
    ]
    for (const [path, init, status] of cases) {
      const r = await authed(`${base}${path}`, init)
      expect([path, r.status]).toEqual([path, status])
      expect(typeof (await r.json() as { message: unknown }).message).toBe("string")
    }
    // The server is still serving.
    expect((await fetch(`${base}/health`)).status).toBe(200)
  })

  it("serves health, readiness, status and Prometheus metrics", async () => {
    expect(await (await fetch(`${base}/health`)).json()).toEqual({ status: "ok" })
    const ready = await (await fetch(`${base}/ready`)).json() as { ready: boolean; leader: string }
    expect(ready).toMatchObject({ ready: true, leader: "n1" })
    const status = await (await authed(`${base}/v1/status`)).json() as { role: string; commit: number; applied: number; disk: string; groups: Array<{ group: string; role: string }> }
    expect(status.role).toBe("leader")
    // The disk backend the node chose (io_uring where the kernel allows it, else libuv) and its Raft groups, the KV's first.
    expect(["io_uring", "libuv"]).toContain(status.disk)
    expect(status.groups[0]).toMatchObject({ group: "kv", role: "leader" })
    const metrics = await (await authed(`${base}/metrics`)).text()
    expect(metrics).toMatch(new RegExp(`^cairn_disk_backend\\{backend="${status.disk}"\\} 1$`, "m"))
    expect(metrics.match(/^cairn_disk_backend\{/gm)).toHaveLength(1)
    expect(metrics).toMatch(/^cairn_raft_term \d+$/m)
    expect(metrics).toMatch(new RegExp(`^cairn_raft_commit_index ${status.commit}$`, "m"))
    expect(metrics).toMatch(/^cairn_raft_role\{role="leader"\} 1$/m)
    expect(metrics).toMatch(/^cairn_raft_apply_lag 0$/m)
    expect(metrics).toMatch(/^cairn_disk_fsync_duration_seconds_count [1-9]\d*$/m)
    expect(metrics).toMatch(/^cairn_http_requests_total\{method="PUT",route="\/v1\/kv\/\{key\}",code="200"\} [1-9]/m)
    expect(metrics).toMatch(/^cairn_errors_total\{kind="bad_request"\} [1-9]/m)
  })

  it("protects the admin endpoint with the admin credentials", async () => {
    expect((await fetch(`${base}/v1/admin/members`)).status).toBe(401)
    const wrong = `Basic ${Buffer.from("admin-key:wrong").toString("base64")}`
    expect((await authed(`${base}/v1/admin/members`, { headers: { authorization: wrong } })).status).toBe(401)
    const list = await authed(`${base}/v1/admin/members`, { headers: { authorization: auth } })
    expect(list.status).toBe(200)
    expect((await list.json() as { members: Array<{ id: string }> }).members.map((m) => m.id)).toEqual(["n1"])
    const badBody = await authed(`${base}/v1/admin/members`, { method: "POST", headers: { authorization: auth }, body: "{" })
    expect(badBody.status).toBe(400)
    const badId = await authed(`${base}/v1/admin/members`, { method: "POST", headers: { authorization: auth }, body: JSON.stringify({ id: "n 4", peerAddress: "127.0.0.1:1" }) })
    expect(badId.status).toBe(400)
  })

  it("writes JSON log lines", () => {
    const started = logs.map((l) => JSON.parse(l) as { msg: string; level: string; time: string }).find((l) => l.msg === "cairn server started")
    expect(started).toMatchObject({ level: "info" })
    // The server binds the native CRC32C for the data path (objects, S3, peer frames), and says so.
    expect(started).toMatchObject({ crc32c: "native" })
    expect(logs.some((l) => JSON.parse(l).msg === "S3 API listening")).toBe(true)
  })
})
