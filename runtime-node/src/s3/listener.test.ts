/**
 * The listener's edges: HTTPS, and what clients see when the store fails —
 * a typed outage is a retryable 503 with Retry-After, a bug a 500 with the
 * request id (the cause goes to the log, not to the client), and the
 * process keeps serving either way.
 */
import { ListBucketsCommand, ListObjectsV2Command, S3Client, S3ServiceException } from "@aws-sdk/client-s3"
import type { KvClient } from "@cairn/core/kv/client"
import { ObjectStoreUnavailableError, type ObjectStore } from "@cairn/core/object/object-api"
import { makeUsers } from "@cairn/core/s3/users"
import { Effect, Exit, Layer, Scope } from "effect"
import { execFileSync } from "node:child_process"
import { mkdtempSync, readFileSync } from "node:fs"
import { Agent } from "node:https"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { SystemClockLive } from "../clock/system-clock.ts"
import { SystemRandomLive } from "../random/system-random.ts"
import { setLogLevel, setLogSink } from "../log/log.ts"
import { NodeDigestLive } from "./digest.ts"
import { ADMIN, startTestS3 } from "./harness.test-support.ts"
import { startS3Listener } from "./listener.ts"

const credentials = { accessKeyId: ADMIN.accessKey, secretAccessKey: ADMIN.secretKey }
const closers: Array<() => Promise<void>> = []
afterAll(async () => {
  for (const close of closers) await close()
})

const noKv: KvClient = {
  clientId: "none",
  write: () => Effect.die("the admin key needs no KV"),
  read: () => Effect.die("the admin key needs no KV")
}

/** A store whose every call fails with `failure`. */
const failingStore = (failure: Effect.Effect<never, ObjectStoreUnavailableError>): ObjectStore => ({
  createBucket: () => failure,
  headBucket: () => failure,
  updateBucket: () => failure,
  setBucketVersioning: () => failure,
  listBuckets: failure,
  deleteBucket: () => failure,
  putObject: () => failure,
  headObject: () => failure,
  getObject: () => failure,
  updateObject: () => failure,
  deleteObject: () => failure,
  listObjects: () => failure,
  listVersions: () => failure,
  createUpload: () => failure,
  uploadPart: () => failure,
  completeUpload: () => failure,
  abortUpload: () => failure,
  listParts: () => failure,
  listUploads: () => failure
})

const listen = async (store: ObjectStore) => {
  const scope = await Effect.runPromise(Scope.make())
  const listener = await Effect.runPromise(
    startS3Listener({ store, users: makeUsers(noKv, ADMIN), address: { host: "127.0.0.1", port: 0 }, drainMs: 100 }).pipe(
      Scope.provide(scope),
      Effect.provide(Layer.mergeAll(SystemClockLive, SystemRandomLive, NodeDigestLive))
    )
  )
  closers.push(() => Effect.runPromise(Scope.close(scope, Exit.void)))
  return new S3Client({ endpoint: `http://127.0.0.1:${listener.address.port}`, region: "us-east-1", forcePathStyle: true, credentials, maxAttempts: 1 })
}

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (e: unknown) => (e instanceof S3ServiceException ? { name: e.name, status: e.$metadata.httpStatusCode, requestId: e.$metadata.requestId, message: e.message } : { name: String(e) })
  )

describe("S3 listener", () => {
  it("answers a store outage with a retryable 503 ServiceUnavailable", async () => {
    const client = await listen(failingStore(Effect.fail(new ObjectStoreUnavailableError({ message: "no leader", ambiguous: false }))))
    expect(await failure(client.send(new ListBucketsCommand({})))).toMatchObject({ name: "ServiceUnavailable", status: 503 })
  })

  it("answers a bug with 500 InternalError and the request id, logs the cause, and keeps serving", async () => {
    const lines: Array<string> = []
    setLogSink((line) => lines.push(line))
    setLogLevel("error")
    try {
      const client = await listen(failingStore(Effect.die(new Error("boom in the store"))))
      for (let i = 0; i < 3; i++) {
        const e = await failure(client.send(new ListObjectsV2Command({ Bucket: "bucket" })))
        expect(e).toMatchObject({ name: "InternalError", status: 500 })
        expect(e?.message).not.toContain("boom")
      }
      const logged = lines.filter((l) => l.includes("s3 request failed"))
      expect(logged.length).toBe(3)
      expect(logged[0]).toContain("boom in the store")
    } finally {
      setLogSink((line) => process.stdout.write(`${line}\n`))
    }
  })

  it("serves HTTPS with the configured certificate", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cairn-s3-tls-"))
    const certPath = join(dir, "cert.pem")
    const keyPath = join(dir, "key.pem")
    execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-days", "1", "-keyout", keyPath, "-out", certPath], { stdio: "ignore" })
    const s3 = await startTestS3({ tls: { certPath, keyPath } })
    closers.push(s3.close)
    expect(s3.endpoint.startsWith("https://")).toBe(true)
    const client = new S3Client({
      endpoint: s3.endpoint,
      region: "us-east-1",
      forcePathStyle: true,
      credentials,
      maxAttempts: 1,
      requestHandler: { httpsAgent: new Agent({ ca: readFileSync(certPath) }) }
    })
    const listed = await client.send(new ListBucketsCommand({}))
    expect(listed.Buckets).toEqual([])
    // A client that does not trust the certificate cannot talk to it.
    const untrusting = new S3Client({ endpoint: s3.endpoint, region: "us-east-1", forcePathStyle: true, credentials, maxAttempts: 1 })
    expect((await failure(untrusting.send(new ListBucketsCommand({}))))?.name).toMatch(/self.signed|certificate/i)
  })

  it("keeps a connection alive after a bodiless request, and closes one whose upload body was left unread", async () => {
    const s3 = await startTestS3()
    closers.push(s3.close)
    const anonymousGet = await fetch(`${s3.endpoint}/`)
    expect([anonymousGet.status, anonymousGet.headers.get("connection")]).toEqual([403, "keep-alive"])
    const refusedPut = await fetch(`${s3.endpoint}/b/k`, { method: "PUT", body: "x".repeat(100_000) })
    expect([refusedPut.status, refusedPut.headers.get("connection")]).toEqual([403, "close"])
  })
})
