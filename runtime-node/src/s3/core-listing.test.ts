import { useOperationTestS3 } from "./harness.test-support.ts"
import { Stream } from "effect"
import { describe, expect, it } from "vitest"
import * as Buckets from "@cairn/core/s3/bucket-operations"
import { listObjectsV1, listObjectsV2 } from "@cairn/core/s3/listing"
import * as Objects from "@cairn/core/s3/object-operations"
import { bodyText, headerOf, outcome } from "@cairn/core/s3/operations.test-support"
import type { S3Response } from "@cairn/core/s3/request"

const { s3, ctx } = useOperationTestS3()
const ok = (r: S3Response | string): S3Response => {
  if (typeof r === "string") throw new Error(`expected success, got ${r}`)
  return r
}
const text = async (r: S3Response | string) => s3.run(bodyText(ok(r)))
const createBucket = async (bucket: string, user = "alice") => ok(await s3.run(outcome(Buckets.createBucket(ctx({ method: "PUT", path: `/${bucket}`, user }), bucket))))
const put = async (bucket: string, key: string, headers: Record<string, string> = {}, body = "x") =>
  s3.run(outcome(Objects.putObject(ctx({ method: "PUT", path: `/${bucket}/${key}`, body, headers }), bucket, key)))

describe("listings", () => {
  it("ListObjectsV2 takes an empty continuation token as none and echoes it", async () => {
    await createBucket("list-v2")
    for (const k of ["a", "b"]) ok(await put("list-v2", k))
    const xml = await text(await s3.run(outcome(listObjectsV2(ctx({ method: "GET", path: "/list-v2", query: "list-type=2&continuation-token=" }), "list-v2"))))
    expect(xml).toContain("<ContinuationToken></ContinuationToken>")
    expect(xml).toContain("<Key>a</Key>")
    expect(await s3.run(outcome(listObjectsV2(ctx({ method: "GET", path: "/list-v2", query: "list-type=2&continuation-token=%21%21" }), "list-v2")))).toBe("InvalidArgument")
  })

  it("ListObjects (V1) answers its Prefix as given under encoding-type=url, and still encodes keys", async () => {
    await createBucket("list-v1")
    ok(await put("list-v1", "\na"))
    const xml = await text(await s3.run(outcome(listObjectsV1(ctx({ method: "GET", path: "/list-v1", query: "prefix=%0A&encoding-type=url" }), "list-v1"))))
    expect(xml).toContain("<Prefix>\n</Prefix>")
    expect(xml).toContain("<Key>%0Aa</Key>")
  })

  it("ListBuckets pages by name with max-buckets and a continuation token, and shows only the caller's buckets", async () => {
    for (const b of ["page-c", "page-a", "page-b"]) await createBucket(b, "pager")
    await createBucket("page-other", "someone")
    const list = async (query: string) => text(await s3.run(outcome(Buckets.listBuckets(ctx({ method: "GET", path: "/", query, user: "pager" })))))
    const names = (xml: string) => [...xml.matchAll(/<Name>([^<]*)<\/Name>/g)].map((m) => m[1])
    const first = await list("max-buckets=2")
    expect(names(first)).toEqual(["page-a", "page-b"])
    const token = /<ContinuationToken>([^<]*)<\/ContinuationToken>/.exec(first)![1]!
    const second = await list(`max-buckets=2&continuation-token=${token}`)
    expect(names(second)).toEqual(["page-c"])
    expect(second).not.toContain("ContinuationToken")
    expect(names(await list(""))).toEqual(["page-a", "page-b", "page-c"])
  })
})

describe("object headers on PutObject", () => {
  it("keeps a Content-Encoding list as sent, less aws-chunked", async () => {
    await createBucket("enc")
    const encodingAfter = async (sent: string) => {
      ok(await put("enc", "k", { "content-encoding": sent }))
      return headerOf(ok(await s3.run(outcome(Objects.getObject(ctx({ method: "HEAD", path: "/enc/k" }), "enc", "k", false)))), "content-encoding")
    }
    expect(await encodingAfter("deflate, gzip")).toBe("deflate, gzip")
    expect(await encodingAfter("aws-chunked, gzip")).toBe("gzip")
    expect(await encodingAfter("aws-chunked")).toBeUndefined()
  })

  it("keeps x-amz-tagging's tags in key order, a bare name being an empty value", async () => {
    await createBucket("tags")
    ok(await put("tags", "k", { "x-amz-tagging": "foo=bar&bar" }))
    const xml = await text(await s3.run(outcome(Objects.getObjectTagging(ctx({ method: "GET", path: "/tags/k", query: "tagging" }), "tags", "k"))))
    expect(xml).toContain("<TagSet><Tag><Key>bar</Key><Value></Value></Tag><Tag><Key>foo</Key><Value>bar</Value></Tag></TagSet>")
  })

  it("takes a body of HTTP chunked transfer coding without Content-Length; refuses a body with neither", async () => {
    await createBucket("chunked")
    const request = (headers: Record<string, string>) => {
      const c = ctx({ method: "PUT", path: "/chunked/k", headers })
      return { ...c, request: { ...c.request, body: Stream.make(new TextEncoder().encode("bar")) } }
    }
    expect(await s3.run(outcome(Objects.putObject(request({}), "chunked", "k")))).toBe("MissingContentLength")
    expect(ok(await s3.run(outcome(Objects.putObject(request({ "transfer-encoding": "chunked" }), "chunked", "k")))).status).toBe(200)
    expect(await text(await s3.run(outcome(Objects.getObject(ctx({ method: "GET", path: "/chunked/k" }), "chunked", "k", true))))).toBe("bar")
  })

  it("answers a malformed x-amz-checksum value with BadDigest", async () => {
    await createBucket("sums")
    expect(await put("sums", "k", { "x-amz-checksum-sha256": "bad" })).toBe("BadDigest")
  })
})
