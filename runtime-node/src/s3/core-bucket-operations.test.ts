import { useOperationTestS3 } from "./harness.test-support.ts"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import * as Buckets from "@cairn/core/s3/bucket-operations"
import * as Multipart from "@cairn/core/s3/multipart-operations"
import * as Objects from "@cairn/core/s3/object-operations"
import { outcome } from "@cairn/core/s3/operations.test-support"

const { s3, ctx } = useOperationTestS3()
const status = (r: Awaited<ReturnType<typeof call>>) => typeof r === "string" ? r : r.status
const call = (effect: Parameters<typeof outcome<never>>[0]) => s3.run(outcome(effect))

const createBucket = (bucket: string) => call(Buckets.createBucket(ctx({ method: "PUT", path: `/${bucket}` }), bucket))
const deleteBucket = (bucket: string) => call(Buckets.deleteBucket(ctx({ method: "DELETE", path: `/${bucket}` }), bucket))
const putObject = (bucket: string, key: string) => call(Objects.putObject(ctx({ method: "PUT", path: `/${bucket}/${key}`, body: "hello" }), bucket, key))
const startUpload = async (bucket: string, key: string) => {
  const created = await s3.run(Multipart.createUpload(ctx({ method: "POST", path: `/${bucket}/${key}`, query: "uploads" }), bucket, key))
  expect(created.status).toBe(200)
  const upload = (await s3.run(s3.store.listUploads(bucket))).find((u) => u.key === key)
  if (upload === undefined) throw new Error("the upload was not recorded")
  const part = await call(Multipart.uploadPart(ctx({ method: "PUT", path: `/${bucket}/${key}`, query: `partNumber=1&uploadId=${upload.uploadId}`, body: "part one" }), bucket, key, upload.uploadId))
  expect(status(part)).toBe(200)
  return upload.uploadId
}

describe("DeleteBucket", () => {
  it("deletes a bucket holding only unfinished multipart uploads, discarding them and their parts", async () => {
    expect(status(await createBucket("uploads-only"))).toBe(200)
    const first = await startUpload("uploads-only", "a")
    await startUpload("uploads-only", "b/c")
    expect(status(await deleteBucket("uploads-only"))).toBe(204)
    expect((await s3.run(Effect.flip(s3.store.headBucket("uploads-only"))))._tag).toBe("NoSuchBucketError")
    // The upload is gone with its parts, not merely hidden behind a missing bucket.
    expect((await s3.run(Effect.flip(s3.store.listParts("uploads-only", "a", first))))._tag).toBe("NoSuchUploadError")
    // The name is free again, and the new bucket starts with no uploads.
    expect(status(await createBucket("uploads-only"))).toBe(200)
    expect(await s3.run(s3.store.listUploads("uploads-only"))).toEqual([])
  })

  it("still refuses a bucket with an object, and then aborts none of its uploads", async () => {
    expect(status(await createBucket("has-object"))).toBe(200)
    expect(status(await putObject("has-object", "kept"))).toBe(200)
    const upload = await startUpload("has-object", "pending")
    expect(await deleteBucket("has-object")).toBe("BucketNotEmpty")
    expect((await s3.run(s3.store.listUploads("has-object"))).map((u) => u.uploadId)).toEqual([upload])
    expect((await s3.run(s3.store.listParts("has-object", "pending", upload))).parts.map((p) => p.partNumber)).toEqual([1])
  })

  it("still refuses a versioned bucket whose only content is a delete marker", async () => {
    expect(status(await createBucket("has-marker"))).toBe(200)
    await s3.run(s3.store.setBucketVersioning("has-marker", "enabled"))
    await s3.run(s3.store.deleteObject("has-marker", "gone"))
    expect((await s3.run(s3.store.listObjects({ bucket: "has-marker", maxKeys: 10 }))).objects).toEqual([])
    await startUpload("has-marker", "pending")
    expect(await deleteBucket("has-marker")).toBe("BucketNotEmpty")
    expect(await s3.run(s3.store.listUploads("has-marker"))).toHaveLength(1)
  })

  it("deletes an empty bucket and refuses a missing or foreign one", async () => {
    expect(status(await createBucket("empty"))).toBe(200)
    expect(await call(Buckets.deleteBucket(ctx({ method: "DELETE", path: "/empty", user: "mallory" }), "empty"))).toBe("AccessDenied")
    expect(status(await deleteBucket("empty"))).toBe(204)
    expect(await deleteBucket("empty")).toBe("NoSuchBucket")
  })
})
