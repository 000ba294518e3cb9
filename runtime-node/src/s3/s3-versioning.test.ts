/**
 * S3 versioning driven by the AWS SDK for JavaScript v3 against a real
 * one-node Cairn: enabling and suspending, version ids on every answer,
 * reads and deletes by version id, delete markers, ListObjectVersions with
 * its markers and delimiters, DeleteObjects of versions, copies of a
 * version, and the errors S3 gives.
 */
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  UploadPartCommand
} from "@aws-sdk/client-s3"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ADMIN, startTestS3, type TestS3 } from "./harness.test-support.ts"

let s3: TestS3
let client: S3Client

/** The S3 error a command fails with: code, HTTP status and the raw response headers. */
const failure = async (promise: Promise<unknown>) => {
  try {
    await promise
  } catch (e) {
    if (e instanceof S3ServiceException) {
      const headers = (e.$response as { headers?: Record<string, string> } | undefined)?.headers ?? {}
      return { code: e.name, status: e.$metadata.httpStatusCode, headers }
    }
    throw e
  }
  throw new Error("expected the command to fail")
}

const text = async (bucket: string, key: string, versionId?: string) =>
  (await client.send(new GetObjectCommand({ Bucket: bucket, Key: key, ...(versionId === undefined ? {} : { VersionId: versionId }) }))).Body!.transformToString()

beforeAll(async () => {
  s3 = await startTestS3()
  client = new S3Client({
    endpoint: s3.endpoint,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: { accessKeyId: ADMIN.accessKey, secretAccessKey: ADMIN.secretKey },
    maxAttempts: 1
  })
})

afterAll(async () => {
  client.destroy()
  await s3.close()
})

describe("S3 versioning through the AWS SDK", () => {
  it("enables versioning, keeps and reads old versions, hides a key behind a delete marker and deletes versions for good", async () => {
    await client.send(new CreateBucketCommand({ Bucket: "ver" }))
    expect((await client.send(new GetBucketVersioningCommand({ Bucket: "ver" }))).Status).toBeUndefined()
    const before = await client.send(new PutObjectCommand({ Bucket: "ver", Key: "k", Body: "zero" }))
    expect(before.VersionId).toBeUndefined()
    await client.send(new PutBucketVersioningCommand({ Bucket: "ver", VersioningConfiguration: { Status: "Enabled" } }))
    expect((await client.send(new GetBucketVersioningCommand({ Bucket: "ver" }))).Status).toBe("Enabled")

    const v1 = (await client.send(new PutObjectCommand({ Bucket: "ver", Key: "k", Body: "one" }))).VersionId!
    const v2 = (await client.send(new PutObjectCommand({ Bucket: "ver", Key: "k", Body: "two" }))).VersionId!
    // A multipart upload makes a version too.
    const upload = await client.send(new CreateMultipartUploadCommand({ Bucket: "ver", Key: "mp" }))
    const part = await client.send(new UploadPartCommand({ Bucket: "ver", Key: "mp", UploadId: upload.UploadId!, PartNumber: 1, Body: "parts" }))
    const done = await client.send(new CompleteMultipartUploadCommand({ Bucket: "ver", Key: "mp", UploadId: upload.UploadId!, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag! }] } }))
    expect(done.VersionId).toBeDefined()
    expect((await client.send(new HeadObjectCommand({ Bucket: "ver", Key: "mp" }))).VersionId).toBe(done.VersionId)
    expect(v1).toBeDefined()
    expect(v2).not.toBe(v1)
    const got = await client.send(new GetObjectCommand({ Bucket: "ver", Key: "k" }))
    expect(got.VersionId).toBe(v2)
    expect(await got.Body!.transformToString()).toBe("two")
    expect(await text("ver", "k", v1)).toBe("one")
    expect(await text("ver", "k", "null")).toBe("zero")
    expect((await client.send(new HeadObjectCommand({ Bucket: "ver", Key: "k", VersionId: v1 }))).VersionId).toBe(v1)

    const listed = await client.send(new ListObjectVersionsCommand({ Bucket: "ver", Prefix: "k" }))
    expect(listed.Versions?.map((v) => [v.Key, v.VersionId, v.IsLatest, v.Size])).toEqual([["k", v2, true, 3], ["k", v1, false, 3], ["k", "null", false, 4]])
    expect(listed.DeleteMarkers).toBeUndefined()

    // A delete without a version id writes a delete marker.
    const marker = await client.send(new DeleteObjectCommand({ Bucket: "ver", Key: "k" }))
    expect(marker.DeleteMarker).toBe(true)
    expect(marker.VersionId).toBeDefined()
    const hidden = await failure(client.send(new GetObjectCommand({ Bucket: "ver", Key: "k" })))
    expect(hidden.code).toBe("NoSuchKey")
    expect(hidden.headers["x-amz-delete-marker"]).toBe("true")
    expect(hidden.headers["x-amz-version-id"]).toBe(marker.VersionId)
    const headHidden = await failure(client.send(new HeadObjectCommand({ Bucket: "ver", Key: "k" })))
    expect(headHidden.status).toBe(404)
    expect(headHidden.headers["x-amz-delete-marker"]).toBe("true")
    const markerRead = await failure(client.send(new GetObjectCommand({ Bucket: "ver", Key: "k", VersionId: marker.VersionId! })))
    expect(markerRead.code).toBe("MethodNotAllowed")
    expect(markerRead.status).toBe(405)
    expect(markerRead.headers["x-amz-delete-marker"]).toBe("true")
    expect((await client.send(new ListObjectsV2Command({ Bucket: "ver" }))).Contents?.map((o) => o.Key)).toEqual(["mp"])
    const withMarker = await client.send(new ListObjectVersionsCommand({ Bucket: "ver", Prefix: "k" }))
    expect(withMarker.DeleteMarkers?.map((m) => [m.Key, m.VersionId, m.IsLatest])).toEqual([["k", marker.VersionId, true]])
    expect(withMarker.Versions?.map((v) => v.IsLatest)).toEqual([false, false, false])

    // Deleting the marker by id brings v2 back; deleting v1 by id removes it for good.
    const unmark = await client.send(new DeleteObjectCommand({ Bucket: "ver", Key: "k", VersionId: marker.VersionId! }))
    expect(unmark.DeleteMarker).toBe(true)
    expect(unmark.VersionId).toBe(marker.VersionId)
    expect(await text("ver", "k")).toBe("two")
    const dropped = await client.send(new DeleteObjectCommand({ Bucket: "ver", Key: "k", VersionId: v1 }))
    expect(dropped.VersionId).toBe(v1)
    expect(dropped.DeleteMarker).toBeUndefined()
    expect((await failure(client.send(new GetObjectCommand({ Bucket: "ver", Key: "k", VersionId: v1 })))).code).toBe("NoSuchVersion")
    expect((await failure(client.send(new GetObjectCommand({ Bucket: "ver", Key: "k", VersionId: "not-a-version" })))).code).toBe("InvalidArgument")
    expect((await failure(client.send(new DeleteObjectCommand({ Bucket: "ver", Key: "k", VersionId: "not-a-version" })))).code).toBe("InvalidArgument")

    // Copy of an old version; the copy answers both version ids.
    const copy = await client.send(new CopyObjectCommand({ Bucket: "ver", Key: "copy", CopySource: `ver/k?versionId=null` }))
    expect(copy.CopySourceVersionId).toBe("null")
    expect(copy.VersionId).toBeDefined()
    expect(await text("ver", "copy")).toBe("zero")
    const copy2 = await client.send(new CopyObjectCommand({ Bucket: "ver", Key: "copy", CopySource: `ver/k?versionId=${v2}` }))
    expect(copy2.CopySourceVersionId).toBe(v2)
    expect(await text("ver", "copy")).toBe("two")
    expect((await failure(client.send(new CopyObjectCommand({ Bucket: "ver", Key: "copy", CopySource: `ver/k?versionId=${v1}` })))).code).toBe("NoSuchVersion")

    // A non-empty versioned bucket cannot go; DeleteObjects of every version empties it.
    expect((await failure(client.send(new DeleteBucketCommand({ Bucket: "ver" })))).code).toBe("BucketNotEmpty")
    const all = await client.send(new ListObjectVersionsCommand({ Bucket: "ver" }))
    const entries = [...(all.Versions ?? []), ...(all.DeleteMarkers ?? [])].map((v) => ({ Key: v.Key!, VersionId: v.VersionId! }))
    const deleted = await client.send(new DeleteObjectsCommand({ Bucket: "ver", Delete: { Objects: [...entries, { Key: "k", VersionId: "bad" }] } }))
    expect(deleted.Deleted?.map((d) => [d.Key, d.VersionId]).sort()).toEqual(entries.map((e) => [e.Key, e.VersionId]).sort())
    expect(deleted.Errors?.map((e) => [e.Key, e.VersionId, e.Code])).toEqual([["k", "bad", "InvalidArgument"]])
    expect((await client.send(new ListObjectVersionsCommand({ Bucket: "ver" }))).Versions).toBeUndefined()
    await client.send(new DeleteBucketCommand({ Bucket: "ver" }))
  })

  it("suspended: puts and deletes replace the null version and keep the others", async () => {
    await client.send(new CreateBucketCommand({ Bucket: "susp" }))
    await client.send(new PutBucketVersioningCommand({ Bucket: "susp", VersioningConfiguration: { Status: "Enabled" } }))
    const v1 = (await client.send(new PutObjectCommand({ Bucket: "susp", Key: "k", Body: "one" }))).VersionId!
    await client.send(new PutBucketVersioningCommand({ Bucket: "susp", VersioningConfiguration: { Status: "Suspended" } }))
    expect((await client.send(new GetBucketVersioningCommand({ Bucket: "susp" }))).Status).toBe("Suspended")
    // A write to a suspended bucket names no version (it replaces the "null" one), as S3 answers.
    expect((await client.send(new PutObjectCommand({ Bucket: "susp", Key: "k", Body: "a" }))).VersionId).toBeUndefined()
    expect((await client.send(new PutObjectCommand({ Bucket: "susp", Key: "k", Body: "b" }))).VersionId).toBeUndefined()
    const listed = await client.send(new ListObjectVersionsCommand({ Bucket: "susp" }))
    expect(listed.Versions?.map((v) => [v.VersionId, v.IsLatest])).toEqual([["null", true], [v1, false]])
    expect(await text("susp", "k")).toBe("b")
    const marker = await client.send(new DeleteObjectCommand({ Bucket: "susp", Key: "k" }))
    expect([marker.DeleteMarker, marker.VersionId]).toEqual([true, "null"])
    const after = await client.send(new ListObjectVersionsCommand({ Bucket: "susp" }))
    expect(after.DeleteMarkers?.map((m) => [m.VersionId, m.IsLatest])).toEqual([["null", true]])
    expect(after.Versions?.map((v) => [v.VersionId, v.IsLatest])).toEqual([[v1, false]])
    expect(await text("susp", "k", v1)).toBe("one")
  })

  it("pages ListObjectVersions with key and version-id markers, and rolls up common prefixes", async () => {
    await client.send(new CreateBucketCommand({ Bucket: "pages" }))
    await client.send(new PutBucketVersioningCommand({ Bucket: "pages", VersioningConfiguration: { Status: "Enabled" } }))
    for (const [key, n] of [["a", 3], ["d/1", 2], ["d/2", 1], ["z", 2]] as const) {
      for (let i = 0; i < n; i++) await client.send(new PutObjectCommand({ Bucket: "pages", Key: key, Body: `${key}${i}` }))
    }
    await client.send(new DeleteObjectCommand({ Bucket: "pages", Key: "z" }))
    const full = await client.send(new ListObjectVersionsCommand({ Bucket: "pages" }))
    const entriesOf = (r: typeof full) =>
      [...(r.Versions ?? []).map((v) => ({ k: v.Key!, v: v.VersionId!, t: v.LastModified!.getTime(), m: false })), ...(r.DeleteMarkers ?? []).map((d) => ({ k: d.Key!, v: d.VersionId!, t: d.LastModified!.getTime(), m: true }))]
    const all = entriesOf(full)
    expect(all.length).toBe(9)
    const seen: Array<string> = []
    let keyMarker: string | undefined
    let versionIdMarker: string | undefined
    for (let page = 0; page < 20; page++) {
      const r = await client.send(new ListObjectVersionsCommand({ Bucket: "pages", MaxKeys: 2, ...(keyMarker === undefined ? {} : { KeyMarker: keyMarker }), ...(versionIdMarker === undefined ? {} : { VersionIdMarker: versionIdMarker }) }))
      seen.push(...entriesOf(r).map((e) => `${e.k}@${e.v}`))
      if (r.IsTruncated !== true) break
      expect(r.NextKeyMarker).toBeDefined()
      keyMarker = r.NextKeyMarker
      versionIdMarker = r.NextVersionIdMarker
    }
    expect(seen.sort()).toEqual(all.map((e) => `${e.k}@${e.v}`).sort())
    expect(new Set(seen).size).toBe(9)
    const rolled = await client.send(new ListObjectVersionsCommand({ Bucket: "pages", Delimiter: "/" }))
    expect(rolled.CommonPrefixes?.map((p) => p.Prefix)).toEqual(["d/"])
    expect(rolled.Versions?.map((v) => v.Key)).toEqual(["a", "a", "a", "z", "z"])
    const under = await client.send(new ListObjectVersionsCommand({ Bucket: "pages", Prefix: "d/" }))
    expect(under.Versions?.map((v) => v.Key)).toEqual(["d/1", "d/1", "d/2"])
    expect((await failure(client.send(new ListObjectVersionsCommand({ Bucket: "pages", VersionIdMarker: "null" })))).code).toBe("InvalidArgument")
  })
})
