/**
 * The KV API handler over a real one-node KV server (runtime-test services:
 * instant clock, in-memory disk and network; no sockets): what each route
 * answers, and that bad input — a malformed key, header, parameter or JSON
 * body, an unknown route or method, a body over its limit, a refused
 * caller — gets a clear 4xx JSON error and changes nothing, never a crash.
 */
import { testServices } from "../index.ts"
import { Effect, Stream } from "effect"
import { describe, expect, it } from "vitest"
import type { Clock } from "@cairn/core/clock/clock"
import { makeLocalKvClient } from "@cairn/core/kv/local-client"
import { MAX_VALUE_BYTES } from "@cairn/core/kv/keys"
import { makeKvServer } from "@cairn/core/kv/server"
import { nodeId } from "@cairn/core/node/node-id"
import { Digest, type DigestShape, toHex } from "@cairn/core/s3/digest"
import { makeUsers } from "@cairn/core/s3/users"
import type { KvApiMembers } from "@cairn/core/kv-api/context"
import { makeKvApiHandler, type KvApiHandler } from "@cairn/core/kv-api/handler"
import { BodyReadError, type KvApiAuthFailure, type KvApiPrincipal, type KvApiRequest } from "@cairn/core/kv-api/request"
import type { KvApiResponse } from "@cairn/core/kv-api/response"

const n1 = nodeId("n1")
const n2 = nodeId("n2")
const ADMIN: KvApiPrincipal = { accessKey: "ADMINKEY", user: "admin", admin: true, bodySha256: undefined }
const BOB: KvApiPrincipal = { accessKey: "BOBKEY", user: "bob", admin: false, bodySha256: undefined }

/** A stand-in for SHA-256 (core has no crypto): the "hash" of a body is the body itself, so a signed hash still pins the body. */
const identityDigest: DigestShape = {
  hasher: () => {
    const parts: Array<number> = []
    return { update: (d) => void parts.push(...d), digest: () => new Uint8Array(parts) }
  },
  hmacSha256: () => new Uint8Array(32)
}

const members: KvApiMembers = {
  apiAddress: (id) => (id === n2 ? "10.0.0.2:9100" : undefined),
  list: Effect.succeed({ members: [{ id: "n1" }], removed: [] }),
  add: (body) => Effect.succeed(JSON.stringify(body).includes("busy") ? "busy: another change is in flight" : "bad peer address"),
  remove: (id) => Effect.succeed(id === "gone" ? "unknown member gone" : { removed: id }),
  drain: (id, draining) => Effect.succeed(id === "gone" ? "unknown member gone" : { id, draining }),
  promote: (id) => Effect.succeed(id === "gone" ? "unknown member gone" : id === "n1" ? "n1 is not a learner: it is already a voter" : { promoted: id, role: "voter" })
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

interface Call {
  readonly method?: string
  readonly headers?: Record<string, string>
  readonly body?: string | Uint8Array | Stream.Stream<Uint8Array, BodyReadError>
  readonly caller?: KvApiPrincipal | KvApiAuthFailure
}

const request = (target: string, call: Call = {}): KvApiRequest => {
  const headers = new Map(Object.entries(call.headers ?? {}))
  const body = typeof call.body === "string" ? encoder.encode(call.body) : call.body
  if (body instanceof Uint8Array && !headers.has("content-length")) headers.set("content-length", String(body.length))
  return {
    method: call.method ?? "GET",
    target,
    headers,
    body: body === undefined ? Stream.empty : body instanceof Uint8Array ? Stream.make(body) : body,
    caller: call.caller ?? ADMIN
  }
}

const header = (r: KvApiResponse, name: string) => r.headers.find(([n]) => n === name)?.[1]
const json = (r: KvApiResponse) => JSON.parse(decoder.decode(r.body)) as Record<string, unknown>

type Api = (target: string, call?: Call) => Effect.Effect<KvApiResponse, never, Clock | Digest>

/** Runs `test` against the handler of a one-node KV that leads (or, with `leader: false`, a two-voter node that never can). */
const withApi = (test: (api: Api, handler: KvApiHandler) => Effect.Effect<void, never, Clock | Digest>, options: { readonly leader?: boolean; readonly users?: boolean } = {}) =>
  Effect.runPromise(
    Effect.scoped(
      Effect.gen(function*() {
        const leads = options.leader ?? true
        const kv = yield* makeKvServer({ id: n1, voters: leads ? [n1] : [n1, n2], dataDir: "kv" })
        yield* Effect.forkScoped(kv.run)
        for (let i = 0; leads && i < 2_000 && (yield* kv.raft.status).role !== "leader"; i++) yield* Effect.yieldNow
        const users = options.users === false ? undefined : makeUsers(yield* makeLocalKvClient(kv, { clientId: "users" }), { accessKey: ADMIN.accessKey, secretKey: "admin-secret" })
        let pairs = 0
        const handler = makeKvApiHandler({
          id: n1,
          kv,
          members,
          ...(users === undefined ? {} : { users }),
          requestTimeoutMs: 1_000,
          sessionPrefix: "http-n1-test",
          newKeyPair: Effect.sync(() => ({ accessKey: `CAIRNTESTKEY${String(++pairs).padStart(8, "0")}`, secretKey: `secret-${pairs}` }))
        })
        yield* test((target, call) => handler(request(target, call)), handler).pipe(Effect.provideService(Digest, identityDigest))
      })
    ).pipe(Effect.provide(testServices(n1)))
  )

describe("the KV API handler: keys", () => {
  it("puts, reads, heads and deletes a key, with its revision as ETag", () =>
    withApi((api) =>
      Effect.gen(function*() {
        const put = yield* api("/v1/kv/greeting", { method: "PUT", body: "hello" })
        expect(put.status).toBe(200)
        const revision = json(put).revision as number
        expect(json(put)).toEqual({ key: "greeting", revision })
        expect(header(put, "etag")).toBe(`"${revision}"`)
        const get = yield* api("/v1/kv/greeting")
        expect([get.status, decoder.decode(get.body), header(get, "content-type"), header(get, "etag")]).toEqual([200, "hello", "application/octet-stream", `"${revision}"`])
        const head = yield* api("/v1/kv/greeting", { method: "HEAD" })
        expect([head.status, head.body, header(head, "content-length")]).toEqual([200, undefined, "5"])
        const deleted = yield* api("/v1/kv/greeting", { method: "DELETE" })
        expect(deleted.status).toBe(200)
        expect(json(deleted).revision as number).toBeGreaterThan(revision)
        const gone = yield* api("/v1/kv/greeting")
        expect([gone.status, json(gone).error]).toEqual([404, "not-found"])
        expect((yield* api("/v1/kv/greeting", { method: "DELETE" })).status).toBe(404)
      })))

  it("compare-and-set and create-only: a failed condition is a 412 with the current revision", () =>
    withApi((api) =>
      Effect.gen(function*() {
        const first = yield* api("/v1/kv/cas", { method: "PUT", body: "v1" })
        const rev1 = header(first, "etag")!
        const second = yield* api("/v1/kv/cas", { method: "PUT", body: "v2", headers: { "if-match": rev1 } })
        expect(second.status).toBe(200)
        const stale = yield* api("/v1/kv/cas", { method: "PUT", body: "v3", headers: { "if-match": rev1 } })
        expect([stale.status, json(stale).error, header(stale, "etag")]).toEqual([412, "precondition-failed", header(second, "etag")])
        expect(decoder.decode((yield* api("/v1/kv/cas")).body)).toBe("v2")
        const missing = yield* api("/v1/kv/nothing", { method: "PUT", body: "x", headers: { "if-match": '"5"' } })
        expect([missing.status, json(missing).revision, header(missing, "etag")]).toEqual([412, 0, undefined])
        expect((yield* api("/v1/kv/once", { method: "PUT", body: "a", headers: { "if-none-match": "*" } })).status).toBe(200)
        expect((yield* api("/v1/kv/once", { method: "PUT", body: "b", headers: { "if-none-match": "*" } })).status).toBe(412)
        expect((yield* api("/v1/kv/cas", { method: "DELETE", headers: { "if-match": rev1 } })).status).toBe(412)
        expect((yield* api("/v1/kv/cas", { method: "DELETE", headers: { "if-match": header(second, "etag")! } })).status).toBe(200)
      })))

  it("lists a prefix in pages, base64 by default, UTF-8 on request, never a reserved key", () =>
    withApi((api) =>
      Effect.gen(function*() {
        for (const [k, v] of [["l/a", "one"], ["l/b", "two"], ["lz", "z"]] as const) yield* api(`/v1/kv/${k}`, { method: "PUT", body: v })
        yield* api("/v1/kv/l/c", { method: "PUT", body: new Uint8Array([0xff, 0xfe]) })
        const page = yield* api("/v1/kv?prefix=l/&limit=2&encoding=utf8")
        expect(json(page)).toMatchObject({ items: [{ key: "l/a", value: "one" }, { key: "l/b", value: "two" }], more: true, next: "l/b\u0000", encoding: "utf8" })
        const rest = json(yield* api(`/v1/kv?prefix=l/&encoding=utf8&start=${encodeURIComponent("l/b\u0000")}`))
        expect(rest.items).toEqual([{ key: "l/c", valueBase64: "//4=", revision: expect.any(Number) }])
        const base64 = json(yield* api("/v1/kv?prefix=l/a"))
        expect(base64.items).toEqual([{ key: "l/a", value: "b25l", revision: expect.any(Number) }])
        // The user directory's records start with NUL: a list from the start never shows them.
        yield* api("/v1/admin/s3/users", { method: "POST", body: '{"user":"carol"}' })
        const all = json(yield* api("/v1/kv"))
        expect((all.items as Array<{ key: string }>).map((i) => i.key)).toEqual(["l/a", "l/b", "l/c", "lz"])
      })))
})

/** Every answer to bad input: its status, its code, a message, counted as a bad request. */
const refused = (r: KvApiResponse, status: number, code: string) => {
  expect([r.status, json(r).error, typeof json(r).message]).toEqual([status, code, "string"])
  expect(header(r, "content-type")).toBe("application/json")
  expect(r.errorKinds).toContain("bad_request")
}

describe("the KV API handler: bad input", () => {
  it("answers a bad key, header, parameter, route or method with a 4xx JSON error", () =>
    withApi((api) =>
      Effect.gen(function*() {
        const cases: ReadonlyArray<readonly [string, Call, number, string]> = [
          ["/v1/kv/%E0%A4%A", {}, 400, "bad-key"],
          ["/v1/kv/%00secret", {}, 400, "bad-key"],
          ["/v1/kv/", {}, 400, "bad-key"],
          [`/v1/kv/${"k".repeat(5000)}`, {}, 400, "key-too-large"],
          ["/v1/kv/x?consistency=eventual", {}, 400, "bad-consistency"],
          ["/v1/kv/x", { method: "PUT", body: "v", headers: { "if-match": "not-quoted" } }, 400, "bad-precondition"],
          ["/v1/kv/x", { method: "PUT", body: "v", headers: { "if-none-match": '"3"' } }, 400, "bad-precondition"],
          ["/v1/kv/x", { method: "PUT", body: "v", headers: { "if-match": '"1"', "if-none-match": "*" } }, 400, "bad-precondition"],
          ["/v1/kv/x", { method: "DELETE", headers: { "if-none-match": "*" } }, 400, "bad-precondition"],
          ["/v1/kv?limit=0", {}, 400, "bad-limit"],
          ["/v1/kv?limit=abc", {}, 400, "bad-limit"],
          ["/v1/kv?encoding=hex", {}, 400, "bad-encoding"],
          [`/v1/kv?prefix=${"p".repeat(5000)}`, {}, 400, "key-too-large"],
          ["/v1/kv/x", { method: "POST", body: "v" }, 405, "method-not-allowed"],
          ["/v1/kv", { method: "DELETE" }, 405, "method-not-allowed"],
          ["/nope", {}, 404, "no-route"],
          ["/v1/admin/members", { method: "PATCH" }, 405, "method-not-allowed"]
        ]
        for (const [target, call, status, code] of cases) {
          const r = yield* api(target, call)
          expect([target, r.status]).toEqual([target, status])
          refused(r, status, code)
        }
        expect(header(yield* api("/v1/kv/x", { method: "POST" }), "allow")).toBe("GET, HEAD, PUT, DELETE")
        // None of it wrote anything.
        expect((yield* api("/v1/kv/x")).status).toBe(404)
      })))

  it("refuses a value over 1 MiB from Content-Length without reading the body, and closes the connection", () =>
    withApi((api) =>
      Effect.gen(function*() {
        let pulled = 0
        const body = Stream.fromEffect(Effect.sync(() => ++pulled)).pipe(Stream.map(() => new Uint8Array(1)))
        const r = yield* api("/v1/kv/big", { method: "PUT", body, headers: { "content-length": String(MAX_VALUE_BYTES + 1) } })
        refused(r, 413, "value-too-large")
        expect(header(r, "connection")).toBe("close")
        expect(pulled).toBe(0)
        expect((yield* api("/v1/kv/big")).status).toBe(404)
      })))

  it("refuses an undeclared body as soon as it passes 1 MiB, reading no further", () =>
    withApi((api) =>
      Effect.gen(function*() {
        let pulled = 0
        const chunk = new Uint8Array(64 * 1024)
        const body = Stream.fromEffectRepeat(Effect.sync(() => (pulled++, chunk))).pipe(Stream.take(1_000))
        const r = yield* api("/v1/kv/big", { method: "PUT", body, headers: { "transfer-encoding": "chunked" } })
        refused(r, 413, "value-too-large")
        expect(pulled).toBeLessThan(40)
        const exact = yield* api("/v1/kv/exact", { method: "PUT", body: new Uint8Array(MAX_VALUE_BYTES) })
        expect([exact.status, exact.bytesIn]).toEqual([200, MAX_VALUE_BYTES])
      })))

  it("answers malformed JSON on the admin endpoints with 400 bad-json, and an oversized one with 413", () =>
    withApi((api) =>
      Effect.gen(function*() {
        refused(yield* api("/v1/admin/members", { method: "POST", body: "{" }), 400, "bad-json")
        refused(yield* api("/v1/admin/s3/users", { method: "POST", body: "{" }), 400, "bad-json")
        refused(yield* api("/v1/admin/s3/users", { method: "POST", body: '{"name":"x"}' }), 400, "bad-json")
        refused(yield* api("/v1/admin/s3/users", { method: "POST", body: "\uFEFF{\"user\":\"bom\"}" }), 400, "bad-json")
        refused(yield* api("/v1/admin/s3/users", { method: "POST", body: '{"user":"admin"}' }), 400, "bad-user")
        const big = yield* api("/v1/admin/s3/users", { method: "POST", body: "x".repeat(70_000) })
        refused(big, 413, "too-large")
        expect(header(big, "connection")).toBeUndefined()
        refused(yield* api("/v1/admin/members", { method: "POST", body: '{"id":"n4"}' }), 400, "bad-member")
        const busy = yield* api("/v1/admin/members", { method: "POST", body: '{"busy":true}' })
        expect([busy.status, json(busy).error]).toEqual([409, "busy"])
        expect([(yield* api("/v1/admin/members/gone", { method: "DELETE" })).status]).toEqual([404])
        // Draining: POST marks, DELETE unmarks; an unknown member is 404; GET on it is not a method there.
        expect(json(yield* api("/v1/admin/members/n2/drain", { method: "POST" }))).toEqual({ id: "n2", draining: true })
        expect(json(yield* api("/v1/admin/members/n2/drain", { method: "DELETE" }))).toEqual({ id: "n2", draining: false })
        expect([(yield* api("/v1/admin/members/gone/drain", { method: "POST" })).status]).toEqual([404])
        refused(yield* api("/v1/admin/members/n2/drain"), 405, "method-not-allowed")
        // Promoting: a learner becomes a voter; an unknown member is 404, a voter 400, GET not a method there.
        expect(json(yield* api("/v1/admin/members/n2/promote", { method: "POST" }))).toEqual({ promoted: "n2", role: "voter" })
        expect([(yield* api("/v1/admin/members/gone/promote", { method: "POST" })).status]).toEqual([404])
        refused(yield* api("/v1/admin/members/n1/promote", { method: "POST" }), 400, "bad-member")
        refused(yield* api("/v1/admin/members/n2/promote"), 405, "method-not-allowed")
        expect(json(yield* api("/v1/admin/s3/users")).keys).toEqual([])
      })))
})

describe("the KV API handler: callers", () => {
  it("answers a caller the gate refused with its status before reading or doing anything", () =>
    withApi((api) =>
      Effect.gen(function*() {
        let pulled = 0
        const body = Stream.fromEffect(Effect.sync(() => (pulled++, encoder.encode("sneaky"))))
        const caller: KvApiAuthFailure = { status: 401, code: "unauthorized", message: "no credentials" }
        const r = yield* api("/v1/kv/anon", { method: "PUT", body, headers: { "content-length": "6" }, caller })
        refused(r, 401, "unauthorized")
        expect(header(r, "www-authenticate")).toBe('Basic realm="cairn", Bearer realm="cairn"')
        expect(header(r, "connection")).toBe("close")
        expect(r.errorKinds).toEqual(["unauthorized", "bad_request"])
        expect(pulled).toBe(0)
        expect((yield* api("/v1/kv/anon")).status).toBe(404)
        const unavailable = yield* api("/v1/kv/anon", { caller: { status: 503, code: "unavailable", message: "directory down" } })
        expect([unavailable.status, header(unavailable, "www-authenticate"), header(unavailable, "connection")]).toEqual([503, undefined, undefined])
      })))

  it("keeps the admin endpoints from a user's key (403), not the KV", () =>
    withApi((api) =>
      Effect.gen(function*() {
        for (const target of ["/v1/admin/members", "/v1/admin/s3/users"]) {
          const r = yield* api(target, { caller: BOB })
          refused(r, 403, "forbidden")
          expect(r.errorKinds).toContain("unauthorized")
        }
        expect((yield* api("/v1/kv/bobs", { method: "PUT", body: "b", caller: BOB })).status).toBe(200)
      })))

  it("acts on a SigV4-signed body only if it is the signed one", () =>
    withApi((api) =>
      Effect.gen(function*() {
        const signed = { ...ADMIN, bodySha256: toHex(encoder.encode("good")) }
        refused(yield* api("/v1/kv/signed", { method: "PUT", body: "evil", caller: signed }), 400, "bad-body-hash")
        expect((yield* api("/v1/kv/signed")).status).toBe(404)
        expect((yield* api("/v1/kv/signed", { method: "PUT", body: "good", caller: signed })).status).toBe(200)
      })))

  it("creates, lists and revokes S3 keys; without the S3 layer those routes are 501", () =>
    withApi((api) =>
        Effect.gen(function*() {
          const created = json(yield* api("/v1/admin/s3/users", { method: "POST", body: '{"user":"carol"}' }))
          expect(created).toEqual({ accessKey: "CAIRNTESTKEY00000001", user: "carol", createdMs: expect.any(Number), secretKey: "secret-1" })
          expect(json(yield* api("/v1/admin/s3/users")).keys).toEqual([{ accessKey: "CAIRNTESTKEY00000001", user: "carol", createdMs: created.createdMs }])
          expect(json(yield* api("/v1/admin/s3/users/CAIRNTESTKEY00000001", { method: "DELETE" }))).toEqual({ accessKey: "CAIRNTESTKEY00000001", revoked: true })
          expect((yield* api("/v1/admin/s3/users/CAIRNTESTKEY00000001", { method: "DELETE" })).status).toBe(404)
        })).then(() =>
        withApi((api) =>
          Effect.gen(function*() {
            const r = yield* api("/v1/admin/s3/users")
            expect([r.status, json(r).error]).toEqual([501, "s3-not-running"])
          }), { users: false })))
})

describe("the KV API handler: failures", () => {
  it("without a leader, a write and a linearizable read are 503 with the hint, and nothing happened", () =>
    withApi((api) =>
      Effect.gen(function*() {
        const write = yield* api("/v1/kv/x", { method: "PUT", body: "v" })
        expect([write.status, json(write).error, json(write).leader, header(write, "retry-after")]).toEqual([503, "no-leader", null, "1"])
        expect(write.errorKinds).toEqual(["not_leader"])
        const read = yield* api("/v1/kv/x")
        expect([read.status, json(read).error]).toEqual([503, "no-leader"])
        const serializable = yield* api("/v1/kv/x?consistency=serializable")
        expect(serializable.status).toBe(404)
        const change = yield* api("/v1/admin/members/n2", { method: "DELETE" })
        expect([change.status, json(change).message]).toEqual([503, "membership changes go to the leader: no leader is known right now; retry shortly"])
        expect((yield* api("/v1/status")).status).toBe(200)
      }), { leader: false }))

  it("answers a bug with a 500 whose cause goes to the runtime, never a failure", () =>
    withApi((_api, handler) =>
      Effect.gen(function*() {
        const broken = request("/v1/kv/x", { method: "PUT", body: Stream.fail(new BodyReadError({ message: "connection reset" })), headers: { "transfer-encoding": "chunked" } })
        const r = yield* handler(broken)
        expect([r.status, json(r)]).toEqual([500, { error: "internal", message: "internal error; see the server log" }])
        expect(r.errorKinds).toEqual(["internal"])
        expect(r.defect).toContain("connection reset")
        const dying = yield* handler(request("/v1/kv/y", { method: "PUT", body: Stream.die(new Error("boom")), headers: { "transfer-encoding": "chunked" } }))
        expect([dying.status, dying.defect]).toEqual([500, expect.stringContaining("boom")])
      })))
})
