/**
 * `cairn admin user add|list|revoke` end to end: the CLI's request helper,
 * the admin endpoint `/v1/admin/s3/users` of the HTTP API, the user
 * directory in the Raft KV, and an S3 client using the key it printed.
 */
import { CreateBucketCommand, ListBucketsCommand, S3Client, S3ServiceException } from "@aws-sdk/client-s3"
import { Context, Effect, Option } from "effect"
import { createServer, type Server } from "node:http"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { call } from "../cli/cluster-command.ts"
import { resolveConfig } from "../server/config.ts"
import { makeApiHandler } from "../server/http-api.ts"
import type { Members } from "../server/members.ts"
import { makeMetrics } from "../server/metrics.ts"
import { ADMIN, startTestS3, type TestS3 } from "./harness.test-support.ts"

let s3: TestS3
let api: Server
let endpoint: string

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

beforeAll(async () => {
  s3 = await startTestS3()
  const config = resolveConfig()
  if (!("id" in config)) throw new Error(String(config))
  const handler = makeApiHandler({ config, kv: s3.kv, metrics: makeMetrics(() => undefined), credentials: ADMIN, members, services: Context.empty(), s3Users: s3.users })
  api = createServer(handler)
  await new Promise<void>((r) => api.listen(0, "127.0.0.1", () => r()))
  const address = api.address()
  endpoint = `http://127.0.0.1:${typeof address === "object" && address !== null ? address.port : 0}`
})

afterAll(async () => {
  await new Promise((r) => api?.close(r))
  await s3?.close()
})

const flags = (secret = ADMIN.secretKey) => ({ endpoint, accessKey: Option.some(ADMIN.accessKey), secretKey: Option.some(secret), credentials: Option.none(), ca: Option.none() })
const cli = (method: string, path: string, body?: unknown, secret?: string) =>
  Effect.runPromise(Effect.match(call(flags(secret), method, path, body), { onFailure: (e) => ({ error: e.message }), onSuccess: (r) => r }))

describe("cairn admin user", () => {
  it("adds a user whose key works over S3, lists it, and revokes it", async () => {
    const created = await cli("POST", "/v1/admin/s3/users", { user: "carol" }) as { accessKey: string; secretKey: string; user: string }
    expect(created.user).toBe("carol")
    expect(created.accessKey).toMatch(/^CAIRN[0-9A-F]{20}$/)
    const carol = new S3Client({ endpoint: s3.endpoint, region: "us-east-1", forcePathStyle: true, maxAttempts: 1, credentials: { accessKeyId: created.accessKey, secretAccessKey: created.secretKey } })
    await carol.send(new CreateBucketCommand({ Bucket: "carols" }))
    expect((await carol.send(new ListBucketsCommand({}))).Buckets?.map((b) => b.Name)).toEqual(["carols"])
    const listed = await cli("GET", "/v1/admin/s3/users") as { keys: Array<{ accessKey: string; user: string }> }
    expect(listed.keys.map((k) => [k.user, k.accessKey])).toEqual([["carol", created.accessKey]])
    expect(JSON.stringify(listed)).not.toContain(created.secretKey)
    expect(await cli("DELETE", `/v1/admin/s3/users/${created.accessKey}`)).toEqual({ accessKey: created.accessKey, revoked: true })
    const denied = await carol.send(new ListBucketsCommand({})).then(() => "ok", (e: S3ServiceException) => e.name)
    expect(denied).toBe("InvalidAccessKeyId")
    expect(await cli("DELETE", `/v1/admin/s3/users/${created.accessKey}`)).toMatchObject({ error: expect.stringContaining("404") })
  })

  it("refuses bad names and callers without the admin secret", async () => {
    expect(await cli("POST", "/v1/admin/s3/users", { user: "admin" })).toMatchObject({ error: expect.stringContaining("400") })
    expect(await cli("POST", "/v1/admin/s3/users", { user: "no spaces" })).toMatchObject({ error: expect.stringContaining("400") })
    expect(await cli("GET", "/v1/admin/s3/users", undefined, "wrong")).toMatchObject({ error: expect.stringContaining("401") })
  })
})
