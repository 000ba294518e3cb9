import { type TestS3, useOperationTestS3 } from "./harness.test-support.ts"
import { createHash } from "node:crypto"
import { describe, expect, it } from "vitest"
import { NoSuchKeyError } from "@cairn/core/object/object-api"
import * as Buckets from "@cairn/core/s3/bucket-operations"
import { fromStoreError } from "@cairn/core/s3/errors"
import * as Multipart from "@cairn/core/s3/multipart-operations"
import * as Objects from "@cairn/core/s3/object-operations"
import { encodePartSizes, partRange, partSizesOf, PART_SIZES_ATTRIBUTE } from "@cairn/core/s3/object-parts"
import { bodyText, headerOf, outcome } from "@cairn/core/s3/operations.test-support"
import type { S3Response } from "@cairn/core/s3/request"

describe("part sizes in attributes", () => {
  it("round-trips run-length encoded sizes and rejects malformed ones", () => {
    const sizes = [5, 5, 5, 7, 5, 1]
    expect(encodePartSizes(sizes)).toBe("5*3,7,5,1")
    expect(partSizesOf([[PART_SIZES_ATTRIBUTE, encodePartSizes(sizes)]])).toEqual(sizes)
    expect(partSizesOf([[PART_SIZES_ATTRIBUTE, "5*x"]])).toBeUndefined()
    expect(partSizesOf([])).toBeUndefined()
  })

  it("finds each part's bytes; part 1 of a single-part object is all of it; past the end is InvalidPart", () => {
    const info = { parts: 3, attributes: [[PART_SIZES_ATTRIBUTE, "10*2,4"]] as const }
    expect([1, 2, 3].map((n) => partRange(info, n))).toEqual([{ start: 0, end: 10 }, { start: 10, end: 20 }, { start: 20, end: 24 }])
    expect(partRange(info, 4)).toMatchObject({ code: "InvalidPart" })
    expect(partRange({ parts: 0, attributes: [] }, 1)).toBeUndefined()
    expect(partRange({ parts: 0, attributes: [] }, 2)).toMatchObject({ code: "InvalidPart" })
  })
})

const { s3, ctx } = useOperationTestS3()
const run: TestS3["run"] = (e) => s3.run(e)
const ok = (r: S3Response | string): S3Response => {
  if (typeof r === "string") throw new Error(`expected success, got ${r}`)
  return r
}
const text = (r: S3Response | string) => run(bodyText(ok(r)))
const MiB = 1024 * 1024

/** A completed two-part upload: part 1 is 5 MiB of "a", part 2 three bytes "xyz". */
const twoPartObject = async (bucket: string, key: string) => {
  ok(await run(outcome(Buckets.createBucket(ctx({ method: "PUT", path: `/${bucket}` }), bucket))))
  ok(await run(outcome(Multipart.createUpload(ctx({ method: "POST", path: `/${bucket}/${key}`, query: "uploads" }), bucket, key))))
  const uploadId = (await run(s3.store.listUploads(bucket)))[0]!.uploadId
  const etags: Array<string> = []
  for (const [n, body] of [[1, "a".repeat(5 * MiB)], [2, "xyz"]] as const) {
    const r = ok(await run(outcome(Multipart.uploadPart(ctx({ method: "PUT", path: `/${bucket}/${key}`, query: `partNumber=${n}&uploadId=${uploadId}`, body }), bucket, key, uploadId))))
    etags.push(headerOf(r, "etag")!)
  }
  const complete = () =>
    run(outcome(Multipart.completeUpload(
      ctx({ method: "POST", path: `/${bucket}/${key}`, query: `uploadId=${uploadId}`, body: `<CompleteMultipartUpload>${etags.map((e, i) => `<Part><PartNumber>${i + 1}</PartNumber><ETag>${e}</ETag></Part>`).join("")}</CompleteMultipartUpload>` }),
      bucket,
      key,
      uploadId
    )))
  return { uploadId, complete }
}

describe("multipart objects", () => {
  it("serves each part by ?partNumber with the parts count, and refuses a part past the end", async () => {
    const { complete } = await twoPartObject("parts", "obj")
    const before = await run(outcome(Objects.getObject(ctx({ method: "GET", path: "/parts/obj", query: "partNumber=1" }), "parts", "obj", true)))
    expect(before).toBe("NoSuchKey")
    const etag = (await text(ok(await complete()))).match(/<ETag>(.*)<\/ETag>/)![1]
    const get = (n: number) => run(outcome(Objects.getObject(ctx({ method: "GET", path: "/parts/obj", query: `partNumber=${n}` }), "parts", "obj", true)))
    const second = ok(await get(2))
    expect([second.status, headerOf(second, "content-length"), headerOf(second, "x-amz-mp-parts-count"), headerOf(second, "etag")?.replaceAll("&quot;", "\"")]).toEqual([206, "3", "2", etag!.replaceAll("&quot;", "\"")])
    expect(await text(second)).toBe("xyz")
    expect(headerOf(ok(await get(1)), "content-length")).toBe(String(5 * MiB))
    expect(await get(3)).toBe("InvalidPart")
  })

  it("answers a repeated complete of a completed upload with the same result, and no other upload id", async () => {
    const { complete } = await twoPartObject("retry", "obj")
    const first = await text(ok(await complete()))
    expect(await text(ok(await complete()))).toBe(first)
    const other = await run(outcome(Multipart.completeUpload(ctx({ method: "POST", path: "/retry/obj", query: "uploadId=someotherupload", body: "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>x</ETag></Part></CompleteMultipartUpload>" }), "retry", "obj", "someotherupload")))
    expect(other).toBe("NoSuchUpload")
  })

  it("lists the parts in GetObjectAttributes, a page at a time", async () => {
    const { complete } = await twoPartObject("attrs", "obj")
    ok(await complete())
    const attributes = (headers: Record<string, string>) =>
      run(outcome(Objects.getObjectAttributes(ctx({ method: "GET", path: "/attrs/obj", query: "attributes", headers: { "x-amz-object-attributes": "ObjectParts,ObjectSize", ...headers } }), "attrs", "obj")))
    const all = await text(ok(await attributes({})))
    expect(all).toContain("<Part><PartNumber>1</PartNumber><Size>5242880</Size></Part><Part><PartNumber>2</PartNumber><Size>3</Size></Part>")
    expect(all).toContain("<IsTruncated>false</IsTruncated>")
    const page = await text(ok(await attributes({ "x-amz-max-parts": "1" })))
    expect(page).toContain("<NextPartNumberMarker>1</NextPartNumberMarker>")
    expect(page).toContain("<IsTruncated>true</IsTruncated>")
    expect(page).not.toContain("<PartNumber>2</PartNumber>")
    const rest = await text(ok(await attributes({ "x-amz-part-number-marker": "1" })))
    expect(rest).toContain("<Part><PartNumber>2</PartNumber><Size>3</Size></Part>")
    expect(rest).not.toContain("<PartNumber>1</PartNumber>")
  })

  it("treats part 1 of a single-part object as the whole object and part 2 as InvalidPart", async () => {
    ok(await run(outcome(Buckets.createBucket(ctx({ method: "PUT", path: "/single" }), "single"))))
    ok(await run(outcome(Objects.putObject(ctx({ method: "PUT", path: "/single/k", body: "body" }), "single", "k"))))
    const get = (n: number) => run(outcome(Objects.getObject(ctx({ method: "GET", path: "/single/k", query: `partNumber=${n}` }), "single", "k", true)))
    expect(await text(ok(await get(1)))).toBe("body")
    expect(await get(2)).toBe("InvalidPart")
  })
})

describe("multipart checksums", () => {
  it("keeps the upload's algorithm, checks and answers the composite checksum, and lists each part's", async () => {
    const sha = (body: string) => createHash("sha256").update(body).digest()
    const bodies = ["a".repeat(5 * MiB), "tail"]
    ok(await run(outcome(Buckets.createBucket(ctx({ method: "PUT", path: "/sums" }), "sums"))))
    const created = ok(await run(outcome(Multipart.createUpload(ctx({ method: "POST", path: "/sums/obj", query: "uploads", headers: { "x-amz-checksum-algorithm": "SHA256" } }), "sums", "obj"))))
    expect(headerOf(created, "x-amz-checksum-algorithm")).toBe("SHA256")
    const uploadId = (await run(s3.store.listUploads("sums")))[0]!.uploadId
    const etags: Array<string> = []
    for (const [i, body] of bodies.entries()) {
      const headers = { "x-amz-checksum-sha256": sha(body).toString("base64") }
      const r = ok(await run(outcome(Multipart.uploadPart(ctx({ method: "PUT", path: "/sums/obj", query: `partNumber=${i + 1}&uploadId=${uploadId}`, body, headers }), "sums", "obj", uploadId))))
      etags.push(headerOf(r, "etag")!)
    }
    const composite = `${createHash("sha256").update(Buffer.concat(bodies.map(sha))).digest("base64")}-2`
    const complete = (claimed: string) =>
      run(outcome(Multipart.completeUpload(
        ctx({ method: "POST", path: "/sums/obj", query: `uploadId=${uploadId}`, headers: { "x-amz-checksum-sha256": claimed }, body: `<CompleteMultipartUpload>${etags.map((e, i) => `<Part><PartNumber>${i + 1}</PartNumber><ETag>${e}</ETag></Part>`).join("")}</CompleteMultipartUpload>` }),
        "sums",
        "obj",
        uploadId
      )))
    expect(await complete("bad")).toBe("BadDigest")
    expect(await text(ok(await complete(composite)))).toContain(`<ChecksumSHA256>${composite}</ChecksumSHA256>`)
    const attrs = await text(ok(await run(outcome(Objects.getObjectAttributes(ctx({ method: "GET", path: "/sums/obj", query: "attributes", headers: { "x-amz-object-attributes": "Checksum,ObjectParts" } }), "sums", "obj")))))
    expect(attrs).toContain(`<Checksum><ChecksumSHA256>${composite}</ChecksumSHA256></Checksum>`)
    expect(attrs).toContain(`<Part><PartNumber>2</PartNumber><Size>4</Size><ChecksumSHA256>${sha("tail").toString("base64")}</ChecksumSHA256></Part>`)
  })
})

describe("bucket re-create and version headers", () => {
  it("lets the owner re-create a bucket in us-east-1 (keeping it), refuses elsewhere, and refuses other users", async () => {
    const create = (user: string, region?: string) => run(outcome(Buckets.createBucket(ctx({ method: "PUT", path: "/mine", user, ...(region === undefined ? {} : { region }) }), "mine")))
    expect(ok(await create("alice")).status).toBe(200)
    ok(await run(outcome(Objects.putObject(ctx({ method: "PUT", path: "/mine/k", body: "kept" }), "mine", "k"))))
    expect(ok(await create("alice")).status).toBe(200)
    expect((await run(s3.store.listObjects({ bucket: "mine", maxKeys: 10 }))).objects.map((o) => o.key)).toEqual(["k"])
    expect(await create("alice", "eu-west-1")).toBe("BucketAlreadyOwnedByYou")
    expect(await create("bob")).toBe("BucketAlreadyExists")
  })

  it("names no version for a write to an unversioned or suspended bucket, and the version for an enabled one", async () => {
    const put = async (bucket: string) => headerOf(ok(await run(outcome(Objects.putObject(ctx({ method: "PUT", path: `/${bucket}/k`, body: "v" }), bucket, "k")))), "x-amz-version-id")
    for (const [bucket, state] of [["plain", undefined], ["suspended", "suspended"], ["enabled", "enabled"]] as const) {
      ok(await run(outcome(Buckets.createBucket(ctx({ method: "PUT", path: `/${bucket}` }), bucket))))
      if (state !== undefined) await run(s3.store.setBucketVersioning(bucket, state))
    }
    expect(await put("plain")).toBeUndefined()
    expect(await put("suspended")).toBeUndefined()
    expect(await put("enabled")).toMatch(/.+/)
  })

  it("tells a HEAD of a missing key that no delete marker hides it", () => {
    expect(fromStoreError(new NoSuchKeyError({ bucket: "b", key: "k" })).headers).toEqual([["x-amz-delete-marker", "false"]])
  })
})
