/**
 * The S3 endpoint driven by the AWS SDK for JavaScript v3 against a real
 * one-node Cairn (Raft KV + object layer): what an S3 client sees,
 * operation by operation, including the errors.
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectsCommand,
  GetBucketCorsCommand,
  GetBucketLocationCommand,
  GetBucketTaggingCommand,
  GetBucketVersioningCommand,
  GetObjectAttributesCommand,
  GetObjectTaggingCommand,
  ListMultipartUploadsCommand,
  ListObjectsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutBucketCorsCommand,
  PutBucketTaggingCommand,
  PutBucketVersioningCommand,
  PutObjectTaggingCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException
} from "@aws-sdk/client-s3"
import { getSignedUrl } from "@aws-sdk/s3-request-presigner"
import { createHash, randomBytes } from "node:crypto"
import { request as httpRequest } from "node:http"
import { Readable } from "node:stream"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ADMIN, startTestS3, type TestS3 } from "./harness.test-support.ts"

let s3: TestS3
let client: S3Client

const clientFor = (endpoint: string, credentials: { accessKeyId: string; secretAccessKey: string }, extra: Partial<ConstructorParameters<typeof S3Client>[0]> = {}) =>
  new S3Client({ endpoint, region: "us-east-1", forcePathStyle: true, credentials, maxAttempts: 1, ...extra })

/** The S3 error code a command fails with. */
const errorCode = async (promise: Promise<unknown>): Promise<string> => {
  try {
    await promise
  } catch (e) {
    if (e instanceof S3ServiceException) return e.name
    throw e
  }
  throw new Error("expected the command to fail")
}

/** The HTTP status a command ends with. */
const httpStatus = (promise: Promise<{ $metadata: { httpStatusCode?: number } }>): Promise<number | undefined> =>
  promise.then((r) => r.$metadata.httpStatusCode, (e: unknown) => {
    if (e instanceof S3ServiceException) return e.$metadata.httpStatusCode
    throw e
  })

beforeAll(async () => {
  s3 = await startTestS3()
  client = clientFor(s3.endpoint, { accessKeyId: ADMIN.accessKey, secretAccessKey: ADMIN.secretKey })
})

afterAll(async () => {
  client?.destroy()
  await s3?.close()
})

describe("S3 API through @aws-sdk/client-s3", () => {
  it("creates, lists, heads and deletes buckets", async () => {
    await client.send(new CreateBucketCommand({ Bucket: "alpha" }))
    const listed = await client.send(new ListBucketsCommand({}))
    expect(listed.Buckets?.map((b) => b.Name)).toContain("alpha")
    await client.send(new HeadBucketCommand({ Bucket: "alpha" }))
    // us-east-1: the owner's re-create succeeds and changes nothing (core's bucket-operations test covers other regions).
    await client.send(new CreateBucketCommand({ Bucket: "alpha" }))
    expect(await errorCode(client.send(new CreateBucketCommand({ Bucket: "Bad_Name" })))).toBe("InvalidBucketName")
    await client.send(new DeleteBucketCommand({ Bucket: "alpha" }))
    expect(await errorCode(client.send(new HeadBucketCommand({ Bucket: "alpha" })))).toBe("NotFound")
  })

  it("puts, gets, heads and deletes an object", async () => {
    await client.send(new CreateBucketCommand({ Bucket: "objects" }))
    const put = await client.send(new PutObjectCommand({ Bucket: "objects", Key: "dir/hello.txt", Body: "hello world", ContentType: "text/plain", Metadata: { color: "blue" } }))
    expect(put.ETag).toBe('"5eb63bbbe01eeed093cb22bb8f5acdc3"')
    const got = await client.send(new GetObjectCommand({ Bucket: "objects", Key: "dir/hello.txt" }))
    expect(await got.Body?.transformToString()).toBe("hello world")
    expect(got.ContentType).toBe("text/plain")
    expect(got.Metadata).toEqual({ color: "blue" })
    const head = await client.send(new HeadObjectCommand({ Bucket: "objects", Key: "dir/hello.txt" }))
    expect(head.ContentLength).toBe(11)
    await client.send(new DeleteObjectCommand({ Bucket: "objects", Key: "dir/hello.txt" }))
    expect(await errorCode(client.send(new GetObjectCommand({ Bucket: "objects", Key: "dir/hello.txt" })))).toBe("NoSuchKey")
  })

  it("serves ranges, suffix ranges and answers 416 past the end", async () => {
    await client.send(new CreateBucketCommand({ Bucket: "ranges" }))
    const data = randomBytes(100_000)
    await client.send(new PutObjectCommand({ Bucket: "ranges", Key: "r", Body: data }))
    const part = await client.send(new GetObjectCommand({ Bucket: "ranges", Key: "r", Range: "bytes=10-19" }))
    expect(Buffer.from(await part.Body!.transformToByteArray())).toEqual(data.subarray(10, 20))
    expect(part.ContentRange).toBe("bytes 10-19/100000")
    const suffix = await client.send(new GetObjectCommand({ Bucket: "ranges", Key: "r", Range: "bytes=-5" }))
    expect(Buffer.from(await suffix.Body!.transformToByteArray())).toEqual(data.subarray(99_995))
    const open = await client.send(new GetObjectCommand({ Bucket: "ranges", Key: "r", Range: "bytes=99990-" }))
    expect(Buffer.from(await open.Body!.transformToByteArray())).toEqual(data.subarray(99_990))
    expect(await errorCode(client.send(new GetObjectCommand({ Bucket: "ranges", Key: "r", Range: "bytes=100000-" })))).toBe("InvalidRange")
  })

  it("evaluates conditional reads and writes", async () => {
    await client.send(new CreateBucketCommand({ Bucket: "cond" }))
    const put = await client.send(new PutObjectCommand({ Bucket: "cond", Key: "k", Body: "v1" }))
    const etag = put.ETag!
    const same = await client.send(new GetObjectCommand({ Bucket: "cond", Key: "k", IfMatch: etag }))
    expect(await same.Body!.transformToString()).toBe("v1")
    expect(await errorCode(client.send(new GetObjectCommand({ Bucket: "cond", Key: "k", IfMatch: '"0123"' })))).toBe("PreconditionFailed")
    // A 304 has no body, so the SDK cannot name it: check the status.
    expect(await httpStatus(client.send(new GetObjectCommand({ Bucket: "cond", Key: "k", IfNoneMatch: etag })))).toBe(304)
    expect(await httpStatus(client.send(new HeadObjectCommand({ Bucket: "cond", Key: "k", IfNoneMatch: etag })))).toBe(304)
    expect(await httpStatus(client.send(new HeadObjectCommand({ Bucket: "cond", Key: "k", IfModifiedSince: new Date(Date.now() + 3600_000) })))).toBe(304)
    expect(await httpStatus(client.send(new HeadObjectCommand({ Bucket: "cond", Key: "k", IfModifiedSince: new Date(Date.now() - 3600_000) })))).toBe(200)
    expect(await errorCode(client.send(new GetObjectCommand({ Bucket: "cond", Key: "k", IfUnmodifiedSince: new Date(Date.now() - 3600_000) })))).toBe("PreconditionFailed")
    // Writes: create-only and compare-and-set on the ETag.
    expect(await errorCode(client.send(new PutObjectCommand({ Bucket: "cond", Key: "k", Body: "x", IfNoneMatch: "*" })))).toBe("PreconditionFailed")
    await client.send(new PutObjectCommand({ Bucket: "cond", Key: "new", Body: "x", IfNoneMatch: "*" }))
    const v2 = await client.send(new PutObjectCommand({ Bucket: "cond", Key: "k", Body: "v2", IfMatch: etag }))
    expect(await errorCode(client.send(new PutObjectCommand({ Bucket: "cond", Key: "k", Body: "v3", IfMatch: etag })))).toBe("PreconditionFailed")
    const now = await client.send(new GetObjectCommand({ Bucket: "cond", Key: "k" }))
    expect(now.ETag).toBe(v2.ETag)
    expect(await now.Body!.transformToString()).toBe("v2")
  })

  it("verifies the checksums the SDK sends, in headers and in aws-chunked trailers", async () => {
    await client.send(new CreateBucketCommand({ Bucket: "sums" }))
    for (const algorithm of ["CRC32", "CRC32C", "SHA1", "SHA256"] as const) {
      const body = randomBytes(200_000)
      const put = await client.send(new PutObjectCommand({ Bucket: "sums", Key: algorithm, Body: body, ChecksumAlgorithm: algorithm }))
      expect(put.ETag).toBe(`"${createHash("md5").update(body).digest("hex")}"`)
      const head = await client.send(new HeadObjectCommand({ Bucket: "sums", Key: algorithm, ChecksumMode: "ENABLED" }))
      const field = `Checksum${algorithm}` as const
      expect(head[field]).toBe(put[field])
      expect(head[field]).toBeDefined()
    }
    // A wrong Content-MD5 is refused and nothing is stored.
    expect(await errorCode(client.send(new PutObjectCommand({ Bucket: "sums", Key: "md5", Body: "abc", ContentMD5: createHash("md5").update("abd").digest("base64") })))).toBe("BadDigest")
    expect(await errorCode(client.send(new HeadObjectCommand({ Bucket: "sums", Key: "md5" })))).toBe("NotFound")
    await client.send(new PutObjectCommand({ Bucket: "sums", Key: "md5", Body: "abc", ContentMD5: createHash("md5").update("abc").digest("base64") }))
    // A wrong SHA-256 checksum: BadDigest.
    expect(await errorCode(client.send(new PutObjectCommand({ Bucket: "sums", Key: "bad", Body: "abc", ChecksumSHA256: createHash("sha256").update("abd").digest("base64") })))).toBe("BadDigest")
  })

  it("copies objects, keeping or replacing metadata", async () => {
    await client.send(new CreateBucketCommand({ Bucket: "copy" }))
    await client.send(new PutObjectCommand({ Bucket: "copy", Key: "src", Body: "payload", ContentType: "text/a", Metadata: { a: "1" }, Tagging: "t=1" }))
    const kept = await client.send(new CopyObjectCommand({ Bucket: "copy", Key: "kept", CopySource: "copy/src" }))
    expect(kept.CopyObjectResult?.ETag).toBe(`"${createHash("md5").update("payload").digest("hex")}"`)
    const k = await client.send(new HeadObjectCommand({ Bucket: "copy", Key: "kept" }))
    expect([k.ContentType, k.Metadata]).toEqual(["text/a", { a: "1" }])
    expect((await client.send(new GetObjectTaggingCommand({ Bucket: "copy", Key: "kept" }))).TagSet).toEqual([{ Key: "t", Value: "1" }])
    await client.send(new CopyObjectCommand({ Bucket: "copy", Key: "replaced", CopySource: "/copy/src", MetadataDirective: "REPLACE", ContentType: "text/b", Metadata: { b: "2" } }))
    const r = await client.send(new GetObjectCommand({ Bucket: "copy", Key: "replaced" }))
    expect([r.ContentType, r.Metadata, await r.Body!.transformToString()]).toEqual(["text/b", { b: "2" }, "payload"])
    expect(await errorCode(client.send(new CopyObjectCommand({ Bucket: "copy", Key: "src", CopySource: "copy/src" })))).toBe("InvalidRequest")
    expect(await errorCode(client.send(new CopyObjectCommand({ Bucket: "copy", Key: "x", CopySource: "copy/missing" })))).toBe("NoSuchKey")
  })

  it("lists with prefix, delimiter, pagination and url encoding (V2 and V1)", async () => {
    await client.send(new CreateBucketCommand({ Bucket: "list" }))
    const keys = ["a/1", "a/2", "a/b/3", "b/1", "c", "d e+f", "z"]
    for (const key of keys) await client.send(new PutObjectCommand({ Bucket: "list", Key: key, Body: key }))
    const all = await client.send(new ListObjectsV2Command({ Bucket: "list" }))
    expect(all.Contents?.map((o) => o.Key)).toEqual(keys)
    expect(all.KeyCount).toBe(keys.length)
    const rolled = await client.send(new ListObjectsV2Command({ Bucket: "list", Delimiter: "/" }))
    expect(rolled.CommonPrefixes?.map((p) => p.Prefix)).toEqual(["a/", "b/"])
    expect(rolled.Contents?.map((o) => o.Key)).toEqual(["c", "d e+f", "z"])
    const inA = await client.send(new ListObjectsV2Command({ Bucket: "list", Prefix: "a/", Delimiter: "/" }))
    expect([inA.Contents?.map((o) => o.Key), inA.CommonPrefixes?.map((p) => p.Prefix)]).toEqual([["a/1", "a/2"], ["a/b/"]])
    const pages: Array<string> = []
    let token: string | undefined
    do {
      const page = await client.send(new ListObjectsV2Command({ Bucket: "list", MaxKeys: 2, ...(token === undefined ? {} : { ContinuationToken: token }) }))
      pages.push(...(page.Contents ?? []).map((o) => o.Key!))
      expect(page.IsTruncated).toBe(page.NextContinuationToken !== undefined)
      token = page.NextContinuationToken
    } while (token !== undefined)
    expect(pages).toEqual(keys)
    const after = await client.send(new ListObjectsV2Command({ Bucket: "list", StartAfter: "c" }))
    expect(after.Contents?.map((o) => o.Key)).toEqual(["d e+f", "z"])
    const encoded = await client.send(new ListObjectsV2Command({ Bucket: "list", Prefix: "d", EncodingType: "url" }))
    expect(encoded.Contents?.map((o) => o.Key)).toEqual(["d%20e%2Bf"])
    const v1 = await client.send(new ListObjectsCommand({ Bucket: "list", Marker: "a/b/3", MaxKeys: 2 }))
    expect([v1.Contents?.map((o) => o.Key), v1.IsTruncated]).toEqual([["b/1", "c"], true])
    expect(await errorCode(client.send(new ListObjectsV2Command({ Bucket: "list", ContinuationToken: "!!" })))).toBe("InvalidArgument")
  })

  it("deletes many objects at once and refuses to delete a non-empty bucket", async () => {
    await client.send(new CreateBucketCommand({ Bucket: "many" }))
    for (const key of ["x", "y"]) await client.send(new PutObjectCommand({ Bucket: "many", Key: key, Body: key }))
    expect(await errorCode(client.send(new DeleteBucketCommand({ Bucket: "many" })))).toBe("BucketNotEmpty")
    const deleted = await client.send(new DeleteObjectsCommand({ Bucket: "many", Delete: { Objects: [{ Key: "x" }, { Key: "y" }, { Key: "never" }] } }))
    expect(deleted.Deleted?.map((d) => d.Key).sort()).toEqual(["never", "x", "y"])
    await client.send(new DeleteBucketCommand({ Bucket: "many" }))
  })

  it("assembles multipart uploads and enforces part order, size and ETags", async () => {
    await client.send(new CreateBucketCommand({ Bucket: "multi" }))
    const MiB = 1024 * 1024
    const parts = [randomBytes(5 * MiB), randomBytes(5 * MiB), randomBytes(1234)]
    const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: "multi", Key: "big", ContentType: "application/x-big", Metadata: { m: "1" } }))
    const etags: Array<string> = []
    for (const [i, body] of parts.entries()) {
      const r = await client.send(new UploadPartCommand({ Bucket: "multi", Key: "big", UploadId, PartNumber: i + 1, Body: body }))
      expect(r.ETag).toBe(`"${createHash("md5").update(body).digest("hex")}"`)
      etags.push(r.ETag!)
    }
    const listedParts = await client.send(new ListPartsCommand({ Bucket: "multi", Key: "big", UploadId }))
    expect(listedParts.Parts?.map((p) => [p.PartNumber, p.Size])).toEqual([[1, 5 * MiB], [2, 5 * MiB], [3, 1234]])
    const uploads = await client.send(new ListMultipartUploadsCommand({ Bucket: "multi" }))
    expect(uploads.Uploads?.map((u) => [u.Key, u.UploadId])).toEqual([["big", UploadId]])
    const complete = (list: Array<{ PartNumber: number; ETag: string }>) =>
      client.send(new CompleteMultipartUploadCommand({ Bucket: "multi", Key: "big", UploadId, MultipartUpload: { Parts: list } }))
    expect(await errorCode(complete([{ PartNumber: 2, ETag: etags[1]! }, { PartNumber: 1, ETag: etags[0]! }]))).toBe("InvalidPartOrder")
    expect(await errorCode(complete([{ PartNumber: 1, ETag: etags[0]! }, { PartNumber: 2, ETag: etags[0]! }]))).toBe("InvalidPart")
    expect(await errorCode(complete([{ PartNumber: 3, ETag: etags[2]! }, { PartNumber: 4, ETag: etags[2]! }]))).toBe("InvalidPart")
    const done = await complete(parts.map((_, i) => ({ PartNumber: i + 1, ETag: etags[i]! })))
    const md5s = Buffer.concat(parts.map((p) => createHash("md5").update(p).digest()))
    expect(done.ETag).toBe(`"${createHash("md5").update(md5s).digest("hex")}-3"`)
    const got = await client.send(new GetObjectCommand({ Bucket: "multi", Key: "big" }))
    expect(got.ContentType).toBe("application/x-big")
    expect(got.Metadata).toEqual({ m: "1" })
    const whole = Buffer.from(await got.Body!.transformToByteArray())
    expect(whole.equals(Buffer.concat(parts))).toBe(true)
    const attributes = await client.send(new GetObjectAttributesCommand({ Bucket: "multi", Key: "big", ObjectAttributes: ["ETag", "ObjectSize", "ObjectParts"] }))
    expect([attributes.ObjectSize, attributes.ObjectParts?.TotalPartsCount, attributes.ETag]).toEqual([10 * MiB + 1234, 3, done.ETag!.replace(/"/g, "")])
  })

  it("refuses a small non-last part, copies parts from ranges, and aborts", async () => {
    await client.send(new CreateBucketCommand({ Bucket: "multi2" }))
    const source = randomBytes(300_000)
    await client.send(new PutObjectCommand({ Bucket: "multi2", Key: "source", Body: source }))
    const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: "multi2", Key: "small" }))
    const a = await client.send(new UploadPartCopyCommand({ Bucket: "multi2", Key: "small", UploadId, PartNumber: 1, CopySource: "multi2/source", CopySourceRange: "bytes=0-99999" }))
    const b = await client.send(new UploadPartCommand({ Bucket: "multi2", Key: "small", UploadId, PartNumber: 2, Body: "tail" }))
    expect(a.CopyPartResult?.ETag).toBe(`"${createHash("md5").update(source.subarray(0, 100_000)).digest("hex")}"`)
    const code = await errorCode(client.send(new CompleteMultipartUploadCommand({
      Bucket: "multi2", Key: "small", UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: a.CopyPartResult!.ETag! }, { PartNumber: 2, ETag: b.ETag! }] }
    })))
    expect(code).toBe("EntityTooSmall")
    await client.send(new AbortMultipartUploadCommand({ Bucket: "multi2", Key: "small", UploadId }))
    expect(await errorCode(client.send(new ListPartsCommand({ Bucket: "multi2", Key: "small", UploadId })))).toBe("NoSuchUpload")
  })

  it("keeps object and bucket tags, CORS rules and reports location and versioning", async () => {
    await client.send(new CreateBucketCommand({ Bucket: "meta" }))
    await client.send(new PutObjectCommand({ Bucket: "meta", Key: "k", Body: "v" }))
    await client.send(new PutObjectTaggingCommand({ Bucket: "meta", Key: "k", Tagging: { TagSet: [{ Key: "a", Value: "1" }, { Key: "b", Value: "" }] } }))
    expect((await client.send(new GetObjectTaggingCommand({ Bucket: "meta", Key: "k" }))).TagSet).toEqual([{ Key: "a", Value: "1" }, { Key: "b", Value: "" }])
    const tooMany = Array.from({ length: 11 }, (_, i) => ({ Key: `t${i}`, Value: "v" }))
    expect(await errorCode(client.send(new PutObjectTaggingCommand({ Bucket: "meta", Key: "k", Tagging: { TagSet: tooMany } })))).toBe("InvalidTag")
    expect(await errorCode(client.send(new GetBucketTaggingCommand({ Bucket: "meta" })))).toBe("NoSuchTagSet")
    await client.send(new PutBucketTaggingCommand({ Bucket: "meta", Tagging: { TagSet: [{ Key: "team", Value: "storage" }] } }))
    expect((await client.send(new GetBucketTaggingCommand({ Bucket: "meta" }))).TagSet).toEqual([{ Key: "team", Value: "storage" }])
    await client.send(new PutBucketCorsCommand({ Bucket: "meta", CORSConfiguration: { CORSRules: [{ AllowedOrigins: ["https://*.example.com"], AllowedMethods: ["GET", "PUT"], AllowedHeaders: ["*"], ExposeHeaders: ["ETag"], MaxAgeSeconds: 60 }] } }))
    const cors = await client.send(new GetBucketCorsCommand({ Bucket: "meta" }))
    expect(cors.CORSRules?.[0]?.AllowedOrigins).toEqual(["https://*.example.com"])
    const allowed = await fetch(`${s3.endpoint}/meta/k`, { method: "OPTIONS", headers: { origin: "https://app.example.com", "access-control-request-method": "PUT", "access-control-request-headers": "content-type" } })
    expect(allowed.status).toBe(200)
    expect(allowed.headers.get("access-control-allow-origin")).toBe("https://app.example.com")
    expect(allowed.headers.get("access-control-max-age")).toBe("60")
    const refused = await fetch(`${s3.endpoint}/meta/k`, { method: "OPTIONS", headers: { origin: "https://evil.test", "access-control-request-method": "PUT" } })
    expect(refused.status).toBe(403)
    expect(await refused.text()).toContain("<Code>CORSResponse</Code>")
    expect((await client.send(new GetBucketLocationCommand({ Bucket: "meta" }))).LocationConstraint).toBeUndefined()
    expect((await client.send(new GetBucketVersioningCommand({ Bucket: "meta" }))).Status).toBeUndefined()
    // Versioning itself: s3-versioning.test.ts. MFA delete is refused.
    expect(await errorCode(client.send(new PutBucketVersioningCommand({ Bucket: "meta", VersioningConfiguration: { Status: "Enabled", MFADelete: "Enabled" } })))).toBe("NotImplemented")
  })

  it("accepts presigned URLs until they expire", async () => {
    await client.send(new CreateBucketCommand({ Bucket: "presign" }))
    const putUrl = await getSignedUrl(client, new PutObjectCommand({ Bucket: "presign", Key: "p k" }), { expiresIn: 60 })
    const put = await fetch(putUrl, { method: "PUT", body: "presigned body" })
    expect(put.status).toBe(200)
    const getUrl = await getSignedUrl(client, new GetObjectCommand({ Bucket: "presign", Key: "p k" }), { expiresIn: 60 })
    const got = await fetch(getUrl)
    expect([got.status, await got.text()]).toEqual([200, "presigned body"])
    const tampered = await fetch(getUrl.replace("p%20k", "other"))
    expect(tampered.status).toBe(403)
    expect(await tampered.text()).toContain("SignatureDoesNotMatch")
    const expired = await getSignedUrl(client, new GetObjectCommand({ Bucket: "presign", Key: "p k" }), { expiresIn: 1, signingDate: new Date(Date.now() - 10_000) })
    const late = await fetch(expired)
    expect(late.status).toBe(403)
    expect(await late.text()).toContain("Request has expired")
  })

  it("denies anonymous requests, wrong secrets, skewed clocks and other users' buckets", async () => {
    const anonymous = await fetch(`${s3.endpoint}/`)
    expect(anonymous.status).toBe(403)
    expect(await anonymous.text()).toMatch(/<Code>AccessDenied<\/Code>[\s\S]*<RequestId>[0-9A-F]{16}<\/RequestId>/)
    const wrong = clientFor(s3.endpoint, { accessKeyId: ADMIN.accessKey, secretAccessKey: "not-the-secret" })
    expect(await errorCode(wrong.send(new ListBucketsCommand({})))).toBe("SignatureDoesNotMatch")
    const unknown = clientFor(s3.endpoint, { accessKeyId: "AKIAUNKNOWNUNKNOWN01", secretAccessKey: "x" })
    expect(await errorCode(unknown.send(new ListBucketsCommand({})))).toBe("InvalidAccessKeyId")
    const skewed = clientFor(s3.endpoint, { accessKeyId: ADMIN.accessKey, secretAccessKey: ADMIN.secretKey }, { systemClockOffset: 20 * 60 * 1000 })
    expect(await errorCode(skewed.send(new ListBucketsCommand({})))).toBe("RequestTimeTooSkewed")

    await s3.run(s3.users.addKey({ user: "bob", accessKey: "BOBACCESSKEY00000001", secretKey: "bob-secret", createdMs: 0 }))
    const bob = clientFor(s3.endpoint, { accessKeyId: "BOBACCESSKEY00000001", secretAccessKey: "bob-secret" })
    await client.send(new CreateBucketCommand({ Bucket: "admins-only" }))
    expect(await errorCode(bob.send(new GetObjectCommand({ Bucket: "admins-only", Key: "k" })))).toBe("AccessDenied")
    expect(await errorCode(bob.send(new PutObjectCommand({ Bucket: "admins-only", Key: "k", Body: "x" })))).toBe("AccessDenied")
    await bob.send(new CreateBucketCommand({ Bucket: "bobs" }))
    await bob.send(new PutObjectCommand({ Bucket: "bobs", Key: "k", Body: "bob's" }))
    expect((await bob.send(new ListBucketsCommand({}))).Buckets?.map((b) => b.Name)).toEqual(["bobs"])
    // The admin may use every bucket.
    expect(await (await client.send(new GetObjectCommand({ Bucket: "bobs", Key: "k" }))).Body!.transformToString()).toBe("bob's")
    expect(await errorCode(client.send(new CreateBucketCommand({ Bucket: "bobs" })))).toBe("BucketAlreadyExists")
    await s3.run(s3.users.revoke("BOBACCESSKEY00000001"))
    expect(await errorCode(bob.send(new ListBucketsCommand({})))).toBe("InvalidAccessKeyId")
  })

  it("answers oversized headers and malformed requests with S3 error XML and keeps serving", async () => {
    const status = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest({ host: "127.0.0.1", port: s3.port, path: "/", headers: { "x-big": "a".repeat(20_000) } }, (res) => {
        let body = ""
        res.on("data", (c: Buffer) => (body += c.toString()))
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }))
      })
      req.on("error", reject)
      req.end()
    })
    expect(status.status).toBe(431)
    expect(status.body).toContain("<Code>RequestHeaderSectionTooLarge</Code>")
    const malformed = await client.send(new ListBucketsCommand({}))
    expect(malformed.Buckets).toBeDefined()
  })

  it("streams an upload of unknown chunking (aws-chunked with a CRC32 trailer) and refuses one whose trailer does not match", async () => {
    await client.send(new CreateBucketCommand({ Bucket: "stream" }))
    const data = randomBytes(3 * 1024 * 1024 + 17)
    const pieces = [data.subarray(0, 1_000_000), data.subarray(1_000_000, 2_000_001), data.subarray(2_000_001)]
    const put = await client.send(new PutObjectCommand({ Bucket: "stream", Key: "s", Body: Readable.from(pieces), ContentLength: data.length, ChecksumAlgorithm: "CRC32" }))
    expect(put.ETag).toBe(`"${createHash("md5").update(data).digest("hex")}"`)
    const got = await client.send(new GetObjectCommand({ Bucket: "stream", Key: "s" }))
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(data)).toBe(true)

    // The same kind of request, captured from the SDK, with the trailer's checksum changed on the wire.
    let captured: { method: string; path: string; query: Record<string, string>; headers: Record<string, string>; body: unknown } | undefined
    const capture = clientFor(s3.endpoint, { accessKeyId: ADMIN.accessKey, secretAccessKey: ADMIN.secretKey }, {
      requestHandler: {
        handle: async (request: typeof captured) => {
          captured = request
          throw new Error("captured")
        }
      }
    })
    await capture.send(new PutObjectCommand({ Bucket: "stream", Key: "tampered", Body: Readable.from([Buffer.from("hello trailer")]), ContentLength: 13, ChecksumAlgorithm: "CRC32" })).catch(() => undefined)
    const chunks: Array<Buffer> = []
    for await (const c of captured!.body as Readable) chunks.push(Buffer.from(c as Uint8Array))
    const wire = Buffer.concat(chunks).toString("latin1")
    expect(wire).toMatch(/x-amz-checksum-crc32:[A-Za-z0-9+/=]{8}/)
    const tampered = Buffer.from(wire.replace(/x-amz-checksum-crc32:[A-Za-z0-9+/=]{8}/, "x-amz-checksum-crc32:AAAAAA=="), "latin1")
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest({ host: "127.0.0.1", port: s3.port, method: captured!.method, path: `${captured!.path}?${new URLSearchParams(captured!.query).toString()}`, headers: { ...Object.fromEntries(Object.entries(captured!.headers).filter(([k]) => k.toLowerCase() !== "transfer-encoding")), "content-length": String(tampered.length) } }, (res) => {
        let body = ""
        res.on("data", (c: Buffer) => (body += c.toString()))
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }))
      })
      req.on("error", reject)
      req.end(tampered)
    })
    expect(answer.status).toBe(400)
    expect(answer.body).toContain("<Code>BadDigest</Code>")
    expect(await errorCode(client.send(new HeadObjectCommand({ Bucket: "stream", Key: "tampered" })))).toBe("NotFound")
  })

  it("commits nothing when the client goes away in the middle of an upload", async () => {
    await client.send(new CreateBucketCommand({ Bucket: "aborted" }))
    const url = await getSignedUrl(client, new PutObjectCommand({ Bucket: "aborted", Key: "half" }), { expiresIn: 60 })
    const target = new URL(url)
    await new Promise<void>((resolve) => {
      const req = httpRequest({ host: "127.0.0.1", port: s3.port, method: "PUT", path: `${target.pathname}${target.search}`, headers: { "content-length": "1000000" } })
      req.on("error", () => resolve())
      req.write(Buffer.alloc(300_000, 1), () => setTimeout(() => {
        req.destroy()
        resolve()
      }, 100))
    })
    await new Promise((r) => setTimeout(r, 200))
    expect(await errorCode(client.send(new HeadObjectCommand({ Bucket: "aborted", Key: "half" })))).toBe("NotFound")
    // The server is still serving.
    await client.send(new PutObjectCommand({ Bucket: "aborted", Key: "whole", Body: "ok" }))
  })

  it("pages through a delimited listing without repeating a common prefix", async () => {
    await client.send(new CreateBucketCommand({ Bucket: "pages" }))
    const keys = ["a/1", "a/2", "b", "c/1", "c/2", "c/3", "d"]
    for (const key of keys) await client.send(new PutObjectCommand({ Bucket: "pages", Key: key, Body: key }))
    const seen: Array<string> = []
    let token: string | undefined
    for (let page = 0; page < 10; page++) {
      const r = await client.send(new ListObjectsV2Command({ Bucket: "pages", Delimiter: "/", MaxKeys: 1, ...(token === undefined ? {} : { ContinuationToken: token }) }))
      seen.push(...(r.CommonPrefixes ?? []).map((p) => p.Prefix!), ...(r.Contents ?? []).map((o) => o.Key!))
      token = r.NextContinuationToken
      if (token === undefined) break
    }
    expect(seen).toEqual(["a/", "b", "c/", "d"])
  })

  it("deletes a bucket whose only contents are uploads in progress, discarding them, but not one with an object", async () => {
    await client.send(new CreateBucketCommand({ Bucket: "pending" }))
    const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: "pending", Key: "k" }))
    await client.send(new PutObjectCommand({ Bucket: "pending", Key: "o", Body: "x" }))
    expect(await errorCode(client.send(new DeleteBucketCommand({ Bucket: "pending" })))).toBe("BucketNotEmpty")
    await client.send(new DeleteObjectCommand({ Bucket: "pending", Key: "o" }))
    await client.send(new DeleteBucketCommand({ Bucket: "pending" }))
    await client.send(new CreateBucketCommand({ Bucket: "pending" }))
    expect(await errorCode(client.send(new AbortMultipartUploadCommand({ Bucket: "pending", Key: "k", UploadId })))).toBe("NoSuchUpload")
  })
})
