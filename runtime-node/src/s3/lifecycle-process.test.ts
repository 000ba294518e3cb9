/**
 * The lifecycle worker in a real `cairn server` process, with the
 * test-only `--lifecycle-day-seconds 2` (as Ceph RGW's
 * rgw_lc_debug_interval): the leader's worker expires an object a rule
 * matches within a few of those days, leaves the others, and counts it in
 * the metrics. The server's whole process is stopped after the test.
 */
import {
  CreateBucketCommand,
  ListObjectsV2Command,
  PutBucketLifecycleConfigurationCommand,
  PutObjectCommand,
  S3Client
} from "@aws-sdk/client-s3"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { apiHeaders } from "../server/api-credentials.ts"
import { PROCESS_ADMIN, startServerProcess, type ServerProcess } from "./server-process.test-support.ts"

let server: ServerProcess
let client: S3Client

beforeAll(async () => {
  server = await startServerProcess(["--lifecycle-day-seconds", "2"])
  client = new S3Client({
    endpoint: server.endpoint,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: { accessKeyId: PROCESS_ADMIN.accessKey, secretAccessKey: PROCESS_ADMIN.secretKey },
    maxAttempts: 1
  })
})

afterAll(async () => {
  client?.destroy()
  await server?.stop()
})

const keys = async (bucket: string) => ((await client.send(new ListObjectsV2Command({ Bucket: bucket }))).Contents ?? []).map((o) => o.Key)
const metric = async (name: string): Promise<number | undefined> => {
  const text = await (await fetch(`${server.api}/metrics`, { headers: apiHeaders(PROCESS_ADMIN) })).text()
  const line = text.split("\n").find((l) => l.startsWith(`${name} `))
  return line === undefined ? undefined : Number(line.slice(name.length + 1))
}

describe("lifecycle in a server process", () => {
  it("expires what a rule matches once its (shortened) days have passed, and counts it", async () => {
    await client.send(new CreateBucketCommand({ Bucket: "lc-process" }))
    await client.send(new PutBucketLifecycleConfigurationCommand({
      Bucket: "lc-process",
      LifecycleConfiguration: { Rules: [{ ID: "tmp", Filter: { Prefix: "tmp/" }, Status: "Enabled", Expiration: { Days: 1 } }] }
    }))
    await client.send(new PutObjectCommand({ Bucket: "lc-process", Key: "tmp/a", Body: "expires" }))
    await client.send(new PutObjectCommand({ Bucket: "lc-process", Key: "keep/b", Body: "stays" }))
    expect(await keys("lc-process")).toEqual(["keep/b", "tmp/a"])
    // A day is 2 s; passes run every 0.5 s. The bound is for a loaded machine, not a claim of speed.
    let left = await keys("lc-process")
    for (let tries = 0; tries < 120 && left.includes("tmp/a"); tries++) {
      await new Promise((resolve) => setTimeout(resolve, 500))
      left = await keys("lc-process")
    }
    expect(left).toEqual(["keep/b"])
    expect(await metric("cairn_lifecycle_objects_expired_total")).toBe(1)
    expect(await metric("cairn_lifecycle_pass")).toBeGreaterThanOrEqual(1)
  }, 120_000)
})
