/**
 * The S3 endpoint driven by the AWS SDK for JavaScript v3 against a real
 * one-node Cairn (Raft KV + object layer): what an S3 client sees,
 * operation by operation, including the errors.
 */
import {
  CreateBucketCommand,
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
    expect(await errorCode(client.send(new CreateBucketCommand({ Bucket: "alpha" })))).toBe("BucketAlreadyOwnedByYou")
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
})
