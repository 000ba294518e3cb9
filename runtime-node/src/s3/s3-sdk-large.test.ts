/**
 * A multi-gigabyte object through a `cairn server` process: 2 GiB generated
 * on the fly (never whole in memory) and uploaded with @aws-sdk/lib-storage's
 * Upload as a multipart upload, then streamed back with GetObject and
 * checked against a running hash of what was sent. The server's peak
 * resident memory (VmHWM) must stay far below the object's size: bodies
 * stream through it, they are not buffered.
 */
import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, S3Client } from "@aws-sdk/client-s3"
import { Upload } from "@aws-sdk/lib-storage"
import { createHash } from "node:crypto"
import type { Readable } from "node:stream"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { patternStream } from "./pattern.test-support.ts"
import { PROCESS_ADMIN, startServerProcess, type ServerProcess } from "./server-process.test-support.ts"

const MiB = 1024 * 1024
const SIZE = 2048 * MiB
const PART = 64 * MiB

let server: ServerProcess
let client: S3Client

beforeAll(async () => {
  server = await startServerProcess()
  client = new S3Client({
    endpoint: server.endpoint,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: { accessKeyId: PROCESS_ADMIN.accessKey, secretAccessKey: PROCESS_ADMIN.secretKey },
    maxAttempts: 1,
    // Integrity is checked end to end below; per-request CRCs would only add CPU on a small machine.
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED"
  })
})

afterAll(async () => {
  client?.destroy()
  await server?.stop()
})

describe("a large object through a cairn server process", () => {
  it("uploads 2 GiB streamed through lib-storage's Upload (64 MiB parts), reads it back intact, and the server's peak RSS stays far below 2 GiB", async () => {
    const atStart = server.peakRssBytes()
    await client.send(new CreateBucketCommand({ Bucket: "large" }))
    const sent = createHash("sha256")
    let sentBytes = 0
    const body = patternStream(SIZE, 2024, (piece) => {
      sent.update(piece)
      sentBytes += piece.length
    })
    const upload = new Upload({ client, params: { Bucket: "large", Key: "2GiB.bin", Body: body, ContentType: "application/octet-stream" }, partSize: PART, queueSize: 2 })
    const done = await upload.done()
    expect(sentBytes).toBe(SIZE)
    expect(done.ETag).toMatch(new RegExp(`^"[0-9a-f]{32}-${SIZE / PART}"$`))
    const head = await client.send(new HeadObjectCommand({ Bucket: "large", Key: "2GiB.bin" }))
    expect([head.ContentLength, head.ETag]).toEqual([SIZE, done.ETag])

    const got = await client.send(new GetObjectCommand({ Bucket: "large", Key: "2GiB.bin" }))
    expect(got.ContentLength).toBe(SIZE)
    const received = createHash("sha256")
    let receivedBytes = 0
    for await (const chunk of got.Body as Readable) {
      received.update(chunk as Buffer)
      receivedBytes += (chunk as Buffer).length
    }
    expect(receivedBytes).toBe(SIZE)
    expect(received.digest("hex")).toBe(sent.digest("hex"))

    // The reading is real (it covers the startup's peak and more), and far below the object's size.
    const peak = server.peakRssBytes()
    expect(atStart).toBeGreaterThan(16 * MiB)
    expect(peak).toBeGreaterThanOrEqual(atStart)
    expect(peak, `the server's peak RSS was ${Math.round(peak / MiB)} MiB (${Math.round(atStart / MiB)} MiB after startup)`).toBeLessThan(SIZE / 3)
  }, 300_000)
})
