/**
 * Bucket lifecycle configuration through the AWS SDK for JavaScript v3
 * against a real one-node Cairn: put, get and delete as a client sees
 * them, AWS's validation errors, and the `x-amz-expiration` header (the
 * SDK's `Expiration`) on PutObject and HeadObject. What the rules do over
 * time is the worker's test (runtime-test/src/lifecycle/worker.test.ts).
 */
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketLifecycleCommand,
  GetBucketLifecycleConfigurationCommand,
  HeadObjectCommand,
  type LifecycleRule,
  PutBucketLifecycleConfigurationCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  UploadPartCommand
} from "@aws-sdk/client-s3"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ADMIN, startTestS3, type TestS3 } from "./harness.test-support.ts"

let s3: TestS3
let client: S3Client

const errorCode = async (promise: Promise<unknown>): Promise<string> => {
  try {
    await promise
  } catch (e) {
    if (e instanceof S3ServiceException) return e.name
    throw e
  }
  return "accepted"
}

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
  client?.destroy()
  await s3?.close()
})

const put = (Bucket: string, Rules: Array<LifecycleRule>) => client.send(new PutBucketLifecycleConfigurationCommand({ Bucket, LifecycleConfiguration: { Rules } }))
const get = (Bucket: string) => client.send(new GetBucketLifecycleConfigurationCommand({ Bucket }))

describe("bucket lifecycle through @aws-sdk/client-s3", () => {
  it("puts, gets and deletes a configuration, as written", async () => {
    await client.send(new CreateBucketCommand({ Bucket: "lc-config" }))
    expect(await errorCode(get("lc-config"))).toBe("NoSuchLifecycleConfiguration")
    const rules: Array<LifecycleRule> = [
      {
        ID: "logs",
        Filter: { And: { Prefix: "logs/", Tags: [{ Key: "class", Value: "debug" }], ObjectSizeGreaterThan: 10, ObjectSizeLessThan: 1000 } },
        Status: "Enabled",
        Expiration: { Days: 30 }
      },
      { ID: "versions", Filter: { Prefix: "" }, Status: "Enabled", NoncurrentVersionExpiration: { NoncurrentDays: 7, NewerNoncurrentVersions: 3 } },
      { ID: "markers", Filter: {}, Status: "Disabled", Expiration: { ExpiredObjectDeleteMarker: true } },
      { ID: "uploads", Filter: { Prefix: "tmp/" }, Status: "Enabled", AbortIncompleteMultipartUpload: { DaysAfterInitiation: 2 } },
      { ID: "dated", Filter: { Prefix: "old/" }, Status: "Enabled", Expiration: { Date: new Date("2030-01-01T00:00:00Z") } }
    ]
    expect((await put("lc-config", rules)).$metadata.httpStatusCode).toBe(200)
    const got = await get("lc-config")
    expect(got.Rules).toEqual(rules)
    // A second put replaces the whole configuration.
    await put("lc-config", [{ ID: "only", Filter: { Prefix: "x/" }, Status: "Enabled", Expiration: { Days: 1 } }])
    expect((await get("lc-config")).Rules?.map((r) => r.ID)).toEqual(["only"])
    expect((await client.send(new DeleteBucketLifecycleCommand({ Bucket: "lc-config" }))).$metadata.httpStatusCode).toBe(204)
    expect(await errorCode(get("lc-config"))).toBe("NoSuchLifecycleConfiguration")
    // Deleting none is fine too, as S3 answers.
    expect((await client.send(new DeleteBucketLifecycleCommand({ Bucket: "lc-config" }))).$metadata.httpStatusCode).toBe(204)
    expect(await errorCode(get("no-such-lc-bucket"))).toBe("NoSuchBucket")
  })

  it("refuses what AWS refuses, leaving the configuration as it was", async () => {
    await client.send(new CreateBucketCommand({ Bucket: "lc-invalid" }))
    await put("lc-invalid", [{ ID: "keep", Filter: { Prefix: "a/" }, Status: "Enabled", Expiration: { Days: 5 } }])
    const rule = (extra: Partial<LifecycleRule>): LifecycleRule => ({ ID: "r", Filter: { Prefix: "" }, Status: "Enabled", Expiration: { Days: 1 }, ...extra })
    expect(await errorCode(put("lc-invalid", [rule({ Expiration: { Days: 0 } })]))).toBe("InvalidArgument")
    expect(await errorCode(put("lc-invalid", [rule({ ID: "a".repeat(256) })]))).toBe("InvalidArgument")
    expect(await errorCode(put("lc-invalid", [rule({}), rule({ Filter: { Prefix: "b" } })]))).toBe("InvalidArgument")
    expect(await errorCode(put("lc-invalid", [rule({ Expiration: { Date: new Date("2030-01-01T12:00:00Z") } })]))).toBe("InvalidArgument")
    expect(await errorCode(put("lc-invalid", [rule({ Status: "enabled" as LifecycleRule["Status"] })]))).toBe("MalformedXML")
    expect(await errorCode(put("lc-invalid", [rule({ Transitions: [{ Days: 30, StorageClass: "GLACIER" }] })]))).toBe("NotImplemented")
    expect((await get("lc-invalid")).Rules?.map((r) => [r.ID, r.Expiration?.Days])).toEqual([["keep", 5]])
  })

  it("names the rule that will expire an object, and when, on PutObject, HeadObject, CopyObject and CompleteMultipartUpload", async () => {
    await client.send(new CreateBucketCommand({ Bucket: "lc-header" }))
    await put("lc-header", [
      { ID: "soon", Filter: { Prefix: "tmp/" }, Status: "Enabled", Expiration: { Days: 1 } },
      { ID: "later", Filter: { Prefix: "" }, Status: "Enabled", Expiration: { Days: 30 } },
      { ID: "tagged", Filter: { Tag: { Key: "x", Value: "y" } }, Status: "Disabled", Expiration: { Days: 1 } }
    ])
    const written = await client.send(new PutObjectCommand({ Bucket: "lc-header", Key: "tmp/a", Body: "data", Tagging: "x=y" }))
    const match = /^expiry-date="([^"]+)", rule-id="([^"]+)"$/.exec(written.Expiration ?? "")
    expect(match?.[2]).toBe("soon")
    const head = await client.send(new HeadObjectCommand({ Bucket: "lc-header", Key: "tmp/a" }))
    expect(head.Expiration).toBe(written.Expiration)
    // Creation (Last-Modified, to the second) + 1 day, rounded up to the next midnight UTC.
    const day = 86_400_000
    expect(Date.parse(match![1]!)).toBe(Math.ceil((head.LastModified!.getTime() + day) / day) * day)
    // CopyObject and CompleteMultipartUpload name it too, as S3's do.
    const copied = await client.send(new CopyObjectCommand({ Bucket: "lc-header", Key: "tmp/copy", CopySource: "lc-header/tmp/a" }))
    expect(copied.Expiration).toMatch(/rule-id="soon"$/)
    const upload = await client.send(new CreateMultipartUploadCommand({ Bucket: "lc-header", Key: "tmp/multi" }))
    const part = await client.send(new UploadPartCommand({ Bucket: "lc-header", Key: "tmp/multi", UploadId: upload.UploadId, PartNumber: 1, Body: "one part" }))
    const completed = await client.send(new CompleteMultipartUploadCommand({
      Bucket: "lc-header",
      Key: "tmp/multi",
      UploadId: upload.UploadId,
      MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] }
    }))
    expect(completed.Expiration).toMatch(/rule-id="soon"$/)
    await client.send(new PutObjectCommand({ Bucket: "lc-header", Key: "keep/b", Body: "data" }))
    expect((await client.send(new HeadObjectCommand({ Bucket: "lc-header", Key: "keep/b" }))).Expiration).toMatch(/rule-id="later"$/)
    await client.send(new DeleteBucketLifecycleCommand({ Bucket: "lc-header" }))
    expect((await client.send(new HeadObjectCommand({ Bucket: "lc-header", Key: "tmp/a" }))).Expiration).toBeUndefined()
  })
})
